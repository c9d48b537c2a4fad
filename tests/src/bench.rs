//! The benchmark's measurements: the server process's CPU and memory from `/proc`, its `/metrics`, and
//! the bots' window statistics, folded into one [`BenchResult`] with a table, JSON and an SVG plot.

use std::net::SocketAddr;
use std::path::Path;

use serde::Serialize;

use crate::bot::BotReport;
use crate::http;
use crate::report::quantile;

/// CPU time (user + system) of a process, seconds, from `/proc/PID/stat`.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> f64 {
    // USER_HZ is 100 on every Linux the project runs on; `getconf CLK_TCK` would say so too.
    100.0
}

/// Resident set size of a process, bytes, from `/proc/PID/status`.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// The system calls and context switches of a process over a window: from `perf stat` when it works on
/// this machine (every system call, every thread), else from `/proc` (`/proc/PID/io` counts only the
/// read- and write-type calls; context switches are summed over `/proc/PID/task/*/status`).
#[derive(Debug)]
pub enum KernelCounter {
    /// A running `perf stat -p PID`, stopped with SIGINT at the end of the window.
    Perf(tokio::process::Child),
    /// The `/proc` counts at the start of the window.
    Proc {
        /// The process.
        pid: u32,
        /// Read and write calls so far.
        syscalls: u64,
        /// Context switches so far.
        switches: u64,
    },
}

/// What [`KernelCounter::finish`] counted.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct KernelCounts {
    /// System calls in the window.
    pub syscalls: u64,
    /// Context switches in the window.
    pub context_switches: u64,
    /// `"perf"` (every system call) or `"proc"` (read and write calls only).
    pub source: &'static str,
}

impl KernelCounter {
    /// Starts counting for `pid`.
    pub async fn start(pid: u32) -> Self {
        let perf = tokio::process::Command::new("perf")
            .args([
                "stat",
                "-x",
                ",",
                "-e",
                "raw_syscalls:sys_enter,context-switches",
                "-p",
                &pid.to_string(),
            ])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn();
        if let Ok(child) = perf {
            // perf exits at once when it cannot attach (not permitted, no tracepoints).
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            let mut child = child;
            if matches!(child.try_wait(), Ok(None)) {
                return Self::Perf(child);
            }
        }
        let (syscalls, switches) = proc_kernel_counts(pid);
        Self::Proc { pid, syscalls, switches }
    }

    /// Stops counting and returns the counts.
    pub async fn finish(self) -> KernelCounts {
        match self {
            Self::Perf(child) => {
                if let Some(id) = child.id() {
                    let _ =
                        tokio::process::Command::new("kill").args(["-INT", &id.to_string()]).status().await;
                }
                let out =
                    child.wait_with_output().await.map(|o| String::from_utf8_lossy(&o.stderr).into_owned());
                let text = out.unwrap_or_default();
                let count = |event: &str| {
                    text.lines()
                        .find(|l| l.contains(event))
                        .and_then(|l| l.split(',').next())
                        .and_then(|n| n.trim().parse::<u64>().ok())
                        .unwrap_or(0)
                };
                KernelCounts {
                    syscalls: count("raw_syscalls:sys_enter"),
                    context_switches: count("context-switches"),
                    source: "perf",
                }
            }
            Self::Proc { pid, syscalls, switches } => {
                let (s1, c1) = proc_kernel_counts(pid);
                KernelCounts {
                    syscalls: s1.saturating_sub(syscalls),
                    context_switches: c1.saturating_sub(switches),
                    source: "proc",
                }
            }
        }
    }
}

/// Read and write system calls (`/proc/PID/io`) and context switches (summed over the threads).
fn proc_kernel_counts(pid: u32) -> (u64, u64) {
    let field = |text: &str, name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim_start_matches(':').trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap_or_default();
    let syscalls = field(&io, "syscr") + field(&io, "syscw");
    let switches = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|task| {
            let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
            field(&status, "voluntary_ctxt_switches") + field(&status, "nonvoluntary_ctxt_switches")
        })
        .sum();
    (syscalls, switches)
}

/// CPU time (user + system) of this process, seconds.
pub fn own_cpu_seconds() -> Option<f64> {
    cpu_seconds(std::process::id())
}

/// The server's metrics, as name → value (labels kept in the name, e.g. `x{quantile="0.99"}`).
#[derive(Debug, Clone, Default)]
pub struct Scrape(pub Vec<(String, f64)>);

impl Scrape {
    /// Fetches `/metrics`.
    pub async fn fetch(addr: SocketAddr) -> std::io::Result<Self> {
        let res = http::get(addr, "/metrics").await?;
        Ok(Self(
            res.body
                .lines()
                .filter(|l| !l.starts_with('#'))
                .filter_map(|l| {
                    let (name, value) = l.rsplit_once(' ')?;
                    Some((name.to_owned(), value.parse().ok()?))
                })
                .collect(),
        ))
    }

    /// A value, or 0.
    pub fn get(&self, name: &str) -> f64 {
        self.0.iter().find(|(n, _)| n == name).map_or(0.0, |(_, v)| *v)
    }
}

/// One benchmark run's results.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BenchResult {
    /// Preset name.
    pub preset: String,
    /// Players connected and playing.
    pub players: usize,
    /// Rooms.
    pub rooms: usize,
    /// Tick rate, Hz.
    pub tick_rate: u16,
    /// Snapshot rate, Hz.
    pub snapshot_rate: u16,
    /// Length of the measured window, seconds.
    pub window_s: f64,
    /// Room tick duration quantiles over the last minute, milliseconds.
    pub tick_ms: TickStats,
    /// Ticks in the window.
    pub ticks: u64,
    /// Late ticks in the window.
    pub late_ticks: u64,
    /// Late ticks as a fraction of all ticks.
    pub late_ratio: f64,
    /// Skipped ticks in the window.
    pub skipped_ticks: u64,
    /// Delivered / expected snapshots: the worst bot, and the median bot.
    pub snapshots_delivered: Ratio,
    /// Snapshot inter-arrival p99 over all bots, milliseconds.
    pub snapshot_gap_p99_ms: f64,
    /// Input-to-acknowledgement latency, milliseconds.
    pub input_ack_ms: P50P99,
    /// Bytes per player per second received (down) and sent (up).
    pub bytes_per_player_per_s: DownUp,
    /// Server CPU, cores (user + system seconds per wall second).
    pub server_cpu_cores: f64,
    /// Server resident memory, MiB, at the end of the window.
    pub server_rss_mib: f64,
    /// Server resident memory before any player connected, MiB.
    pub server_idle_rss_mib: f64,
    /// (RSS − idle RSS) / players, KiB.
    pub rss_per_player_kib: f64,
    /// Bots that failed (could not join, got an error, lost the connection).
    pub bot_errors: usize,
    /// The machine and the pinning (CPU model, cores, which cores the server and the bots had).
    pub machine: String,
    /// Inputs the server applied per player per second (its `arena_inputs_applied_total`): the work it
    /// really did. One per tick per player when the bots keep up.
    pub inputs_applied_per_player_s: f64,
    /// WebSocket messages per player per second, as the server counted them.
    pub messages_per_player_s: DownUp,
    /// The server's system calls and context switches per WebSocket message (in and out together).
    pub server_kernel_per_message: KernelPerMessage,
    /// Server CPU per player-second, milliseconds.
    pub server_ms_per_player_s: f64,
    /// The bots' CPU (this process), cores.
    pub bot_cpu_cores: f64,
    /// The bots' CPU per bot-second, milliseconds.
    pub bot_ms_per_bot_s: f64,
}

/// System calls and context switches per message, and where the counts came from.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct KernelPerMessage {
    /// System calls per message.
    pub syscalls: f64,
    /// Context switches per message.
    pub context_switches: f64,
    /// `"perf"` (every system call) or `"proc"` (read and write calls only).
    pub source: &'static str,
}

/// Tick duration quantiles, milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct TickStats {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

/// Worst and median of a per-bot ratio.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Ratio {
    /// The worst bot.
    pub min: f64,
    /// The median bot.
    pub median: f64,
}

/// Median and 99th percentile.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct P50P99 {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// Per-player bandwidth.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct DownUp {
    /// Server to player.
    pub down: f64,
    /// Player to server.
    pub up: f64,
}

/// Folds the bots' window statistics; the server-side fields are filled by the caller.
pub fn fold_bots(result: &mut BenchResult, reports: &[BotReport]) {
    let expected = result.window_s * f64::from(result.snapshot_rate);
    let mut ratios: Vec<f64> = reports
        .iter()
        .filter(|r| r.connected)
        .map(|r| r.window.snapshots as f64 / expected.max(1.0))
        .collect();
    ratios.sort_by(f64::total_cmp);
    result.snapshots_delivered =
        Ratio { min: ratios.first().copied().unwrap_or(0.0), median: quantile(&ratios, 0.5) };
    let mut gaps: Vec<f64> =
        reports.iter().flat_map(|r| r.window.gaps_ms.iter().map(|g| f64::from(*g))).collect();
    gaps.sort_by(f64::total_cmp);
    result.snapshot_gap_p99_ms = quantile(&gaps, 0.99);
    let mut acks: Vec<f64> =
        reports.iter().flat_map(|r| r.window.ack_ms.iter().map(|g| f64::from(*g))).collect();
    acks.sort_by(f64::total_cmp);
    result.input_ack_ms = P50P99 { p50: quantile(&acks, 0.5), p99: quantile(&acks, 0.99) };
    let players = reports.iter().filter(|r| r.connected).count().max(1) as f64;
    let per = |f: fn(&BotReport) -> u64| {
        reports.iter().map(f).sum::<u64>() as f64 / players / result.window_s.max(1e-9)
    };
    result.bytes_per_player_per_s =
        DownUp { down: per(|r| r.window.bytes_in), up: per(|r| r.window.bytes_out) };
    result.bot_errors = reports.iter().filter(|r| r.error.is_some()).count();
}

impl BenchResult {
    /// A readable table.
    pub fn to_table(&self) -> String {
        let rows = [
            ("players / rooms", format!("{} / {}", self.players, self.rooms)),
            ("tick / snapshot rate", format!("{} Hz / {} Hz", self.tick_rate, self.snapshot_rate)),
            ("measured window", format!("{:.0} s", self.window_s)),
            (
                "room tick p50 / p99 / max",
                format!("{:.3} / {:.3} / {:.3} ms", self.tick_ms.p50, self.tick_ms.p99, self.tick_ms.max),
            ),
            (
                "late ticks",
                format!("{} of {} ({:.3}%)", self.late_ticks, self.ticks, self.late_ratio * 100.0),
            ),
            ("skipped ticks", self.skipped_ticks.to_string()),
            (
                "snapshots delivered (worst / median bot)",
                format!(
                    "{:.2}% / {:.2}%",
                    self.snapshots_delivered.min * 100.0,
                    self.snapshots_delivered.median * 100.0
                ),
            ),
            ("snapshot inter-arrival p99", format!("{:.1} ms", self.snapshot_gap_p99_ms)),
            (
                "input-to-ack p50 / p99",
                format!("{:.1} / {:.1} ms", self.input_ack_ms.p50, self.input_ack_ms.p99),
            ),
            (
                "bytes per player per second",
                format!(
                    "{:.0} down / {:.0} up",
                    self.bytes_per_player_per_s.down, self.bytes_per_player_per_s.up
                ),
            ),
            (
                "inputs applied per player per second",
                format!("{:.1} (of {} ticks)", self.inputs_applied_per_player_s, self.tick_rate),
            ),
            (
                "messages per player per second",
                format!(
                    "{:.1} down / {:.1} up",
                    self.messages_per_player_s.down, self.messages_per_player_s.up
                ),
            ),
            (
                "server syscalls / context switches per msg",
                format!(
                    "{:.2} / {:.3} ({})",
                    self.server_kernel_per_message.syscalls,
                    self.server_kernel_per_message.context_switches,
                    if self.server_kernel_per_message.source == "perf" {
                        "perf stat"
                    } else {
                        "/proc: reads and writes only"
                    }
                ),
            ),
            (
                "server CPU / per player-second",
                format!("{:.3} cores / {:.3} ms", self.server_cpu_cores, self.server_ms_per_player_s),
            ),
            (
                "bot CPU / per bot-second",
                format!("{:.3} cores / {:.3} ms", self.bot_cpu_cores, self.bot_ms_per_bot_s),
            ),
            (
                "server RSS (idle) / per player",
                format!(
                    "{:.1} MiB ({:.1}) / {:.1} KiB",
                    self.server_rss_mib, self.server_idle_rss_mib, self.rss_per_player_kib
                ),
            ),
            ("bot errors", self.bot_errors.to_string()),
        ];
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        let mut out = format!("arena-bench: {}\n  machine: {}\n", self.preset, self.machine);
        for (k, v) in rows {
            out.push_str(&format!("  {k:<width$}  {v}\n"));
        }
        out
    }
}

/// One sample of the over-time series.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sample {
    /// Seconds since the benchmark started.
    pub t: f64,
    /// Players connected.
    pub players: f64,
    /// Tick duration p99 over the last minute, milliseconds.
    pub tick_p99_ms: f64,
    /// Tick duration max over the last minute, milliseconds.
    pub tick_max_ms: f64,
}

/// Draws tick duration and players over time as an SVG.
pub fn plot(samples: &[Sample], title: &str, path: &Path) -> Result<(), String> {
    use plotters::prelude::*;
    let root = SVGBackend::new(path, (900, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let t_max = samples.last().map_or(1.0, |s| s.t).max(1.0);
    let ms_max = samples.iter().map(|s| s.tick_max_ms).fold(0.5f64, f64::max) * 1.1;
    let players_max = samples.iter().map(|s| s.players).fold(1.0f64, f64::max) * 1.1;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .right_y_label_area_size(56)
        .build_cartesian_2d(0.0..t_max, 0.0..ms_max)
        .map_err(|e| e.to_string())?
        .set_secondary_coord(0.0..t_max, 0.0..players_max);
    chart.configure_mesh().x_desc("seconds").y_desc("room tick (ms)").draw().map_err(|e| e.to_string())?;
    chart.configure_secondary_axes().y_desc("players").draw().map_err(|e| e.to_string())?;
    chart
        .draw_series(LineSeries::new(samples.iter().map(|s| (s.t, s.tick_p99_ms)), &RED))
        .map_err(|e| e.to_string())?
        .label("tick p99 (ms)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], RED));
    chart
        .draw_series(LineSeries::new(samples.iter().map(|s| (s.t, s.tick_max_ms)), &MAGENTA))
        .map_err(|e| e.to_string())?
        .label("tick max (ms)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], MAGENTA));
    chart
        .draw_secondary_series(LineSeries::new(samples.iter().map(|s| (s.t, s.players)), &BLUE))
        .map_err(|e| e.to_string())?
        .label("players")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLUE));
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}
