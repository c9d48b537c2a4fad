//! `arena-lagcomp`: does a shot aimed well on screen hit over a slow link? Starts a release
//! `arena-server` on the `duel` map for each condition (a link latency, lag compensation on or off),
//! plays duels in it (a marksman that aims at a strafing target where the web client would draw it;
//! see `arena_tests::duel`), and reports the marksmen's hit rates against the reference `H0`, the
//! rate over a link of 0 ms with compensation on.
//!
//! With `--quick` (what CI runs) it plays 100 ms ± 20 ms with compensation on and off, shorter, and
//! fails when compensation no longer makes the difference it should.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use arena_server::conditioner::LinkConditioner;
use arena_tests::bench::Scrape;
use arena_tests::duel::{self, DuelConfig, DuelReport};
use arena_tests::machine::{CpuList, Machine, Pinning};
use arena_tests::report::{hit_rate, quantile, sorted};
use arena_tests::server::ServerProcess;
use clap::Parser;
use serde::Serialize;

/// Measure the hit rate of well-aimed shots over slow links, with lag compensation on and off.
///
/// Each condition starts its own arena-server (the binary beside this one) on the `duel` map and plays
/// duels in it, each in its own room: a strafing target and a marksman that aims where the web client
/// would draw the target. Links are conditioned on the players' side, each way.
#[derive(Debug, Parser)]
#[command(name = "arena-lagcomp", version, about, long_about)]
struct Args {
    /// How long each condition plays (default 40s; 12s with --quick).
    #[arg(long, value_parser = humantime::parse_duration)]
    duration: Option<Duration>,

    /// Duels per range, all at once, each in its own room.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=64))]
    duels_per_range: u16,

    /// Distances from marksman to target, arena units (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [150.0f32, 250.0, 350.0])]
    ranges: Vec<f32>,

    /// The short form (what CI runs): play only 100 ms ± 20 ms, compensation on and off, and fail
    /// unless on hits at least 10 points more often than off, and 1.5 times as often. (The full run
    /// also plays 0 ms, the reference H0, and 200 ms ± 40 ms, and fails when 100 ms with compensation
    /// hits less than 0.9 × H0.)
    #[arg(long)]
    quick: bool,

    /// An extra flag for every server, e.g. `--server-arg=--max-rewind=400ms` (repeatable).
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    server_args: Vec<String>,

    /// The arena-server binary (default: the one beside this binary).
    #[arg(long)]
    server_bin: Option<PathBuf>,

    /// Print exactly one JSON object on stdout instead of the table.
    #[arg(long)]
    json: bool,
}

/// How much more often compensated shots must hit than uncompensated ones at 100 ms in `--quick`.
const MIN_QUICK_GAIN: f64 = 0.10;
/// The target: compensated shots at 100 ms ± 20 ms hit at least this share of `H0`.
const MIN_SHARE_OF_H0: f64 = 0.9;
/// Shots in the first seconds are not counted: the players take their places.
const SETTLE: Duration = Duration::from_secs(3);

/// One condition: the link each way and whether the server compensates.
#[derive(Debug, Clone, Copy, Serialize)]
struct Condition {
    latency_ms: u64,
    jitter_ms: u64,
    compensation: bool,
}

impl Condition {
    const fn new(latency_ms: u64, jitter_ms: u64, compensation: bool) -> Self {
        Self { latency_ms, jitter_ms, compensation }
    }

    fn link(self) -> LinkConditioner {
        LinkConditioner {
            latency: Duration::from_millis(self.latency_ms),
            jitter: Duration::from_millis(self.jitter_ms),
        }
    }

    fn label(self) -> String {
        let link = match (self.latency_ms, self.jitter_ms) {
            (0, 0) => "0 ms".to_owned(),
            (l, j) => format!("{l} ± {j} ms"),
        };
        format!("{link:<13} {:<3}", if self.compensation { "on" } else { "off" })
    }
}

/// The hit rate at one range.
#[derive(Debug, Clone, Serialize)]
struct RangeResult {
    range: f32,
    shots: u64,
    hits: u64,
    hit_rate: f64,
}

/// What one condition gave.
#[derive(Debug, Clone, Serialize)]
struct ConditionResult {
    condition: Condition,
    shots: u64,
    hits: u64,
    hit_rate: f64,
    /// `hit_rate / H0`.
    share_of_h0: Option<f64>,
    rtt_ms_median: f64,
    render_delay_ms_median: f64,
    /// The server's count of shots whose shooter's delay was over `--max-rewind`, as a share of shots.
    capped_share: f64,
    ranges: Vec<RangeResult>,
}

#[derive(Debug, Serialize)]
struct Output {
    machine: String,
    duration_s: f64,
    duels: usize,
    results: Vec<ConditionResult>,
    verdicts: Vec<String>,
    passed: bool,
}

fn median(v: Vec<f64>) -> f64 {
    quantile(&sorted(v), 0.5)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let allowed = CpuList::allowed().context("read this process's CPU affinity")?;
    let machine = Machine::describe(allowed, Pinning { server: None, bots: None });
    let duration = args.duration.unwrap_or(Duration::from_secs(if args.quick { 12 } else { 40 }));
    if duration <= SETTLE + Duration::from_secs(3) {
        bail!(
            "--duration must be over {}s: the first {}s are not counted",
            SETTLE.as_secs() + 3,
            SETTLE.as_secs()
        );
    }
    let conditions: &[Condition] = if args.quick {
        &[Condition::new(100, 20, true), Condition::new(100, 20, false)]
    } else {
        &[
            Condition::new(0, 0, true),
            Condition::new(0, 0, false),
            Condition::new(100, 20, true),
            Condition::new(100, 20, false),
            Condition::new(200, 40, true),
        ]
    };
    if !args.json {
        eprintln!("arena-lagcomp: {machine}");
        eprintln!(
            "{} duels per condition ({} per range at {:?}), {} s each, the first {} s not counted",
            args.ranges.len() * usize::from(args.duels_per_range),
            args.duels_per_range,
            args.ranges,
            duration.as_secs(),
            SETTLE.as_secs()
        );
    }
    let mut results = Vec::new();
    for &condition in conditions {
        let (reports, capped_share) = play(&args, condition, duration).await?;
        let failed: Vec<&String> = reports.iter().filter_map(|r| r.error.as_ref()).collect();
        if let Some(first) = failed.first() {
            bail!(
                "{} of {} duels failed ({}); first: {first}",
                failed.len(),
                reports.len(),
                condition.label()
            );
        }
        let shots = reports.iter().map(|r| r.shots).sum();
        let hits = reports.iter().map(|r| r.hits).sum();
        let ranges = args
            .ranges
            .iter()
            .map(|&range| {
                let at: Vec<&DuelReport> = reports.iter().filter(|r| r.range == range).collect();
                let (shots, hits) = (at.iter().map(|r| r.shots).sum(), at.iter().map(|r| r.hits).sum());
                RangeResult { range, shots, hits, hit_rate: hit_rate(hits, shots) }
            })
            .collect();
        let result = ConditionResult {
            condition,
            shots,
            hits,
            hit_rate: hit_rate(hits, shots),
            share_of_h0: None,
            rtt_ms_median: median(reports.iter().flat_map(|r| r.rtt_ms.iter().copied()).collect()),
            render_delay_ms_median: median(
                reports.iter().flat_map(|r| r.render_delay_ms.iter().copied()).collect(),
            ),
            capped_share,
            ranges,
        };
        if !args.json {
            eprintln!("  {}: {} shots, {:.1}% hit", condition.label(), shots, result.hit_rate * 100.0);
        }
        results.push(result);
    }

    let find = |results: &[ConditionResult], latency: u64, on: bool| {
        results
            .iter()
            .find(|r| r.condition.latency_ms == latency && r.condition.compensation == on)
            .map(|r| r.hit_rate)
    };
    let h0 = find(&results, 0, true);
    if let Some(h0) = h0.filter(|h| *h > 0.0) {
        for r in &mut results {
            r.share_of_h0 = Some(r.hit_rate / h0);
        }
    }
    let mut verdicts = Vec::new();
    let mut passed = true;
    if let (Some(on), Some(off)) = (find(&results, 100, true), find(&results, 100, false)) {
        let ok = on - off >= MIN_QUICK_GAIN && on >= 1.5 * off;
        passed &= ok;
        verdicts.push(format!(
            "100 ms: compensation on hits {:.1}%, off {:.1}% ({}: on must beat off by {:.0} points and 1.5×)",
            on * 100.0,
            off * 100.0,
            if ok { "ok" } else { "FAILED" },
            MIN_QUICK_GAIN * 100.0
        ));
        if let Some(h0) = h0 {
            let ok = on >= MIN_SHARE_OF_H0 * h0;
            passed &= ok;
            verdicts.push(format!(
                "100 ms with compensation: {:.2} × H0 ({:.1}% vs {:.1}%; target ≥ {MIN_SHARE_OF_H0}: {})",
                on / h0.max(f64::MIN_POSITIVE),
                on * 100.0,
                h0 * 100.0,
                if ok { "met" } else { "MISSED" }
            ));
        }
    }
    let output = Output {
        machine: machine.to_string(),
        duration_s: duration.as_secs_f64(),
        duels: args.ranges.len() * usize::from(args.duels_per_range),
        results,
        verdicts,
        passed,
    };
    if args.json {
        println!("{}", serde_json::to_string(&output)?);
    } else {
        print!("{}", table(&output, &args.ranges));
    }
    if !output.passed {
        std::process::exit(1);
    }
    Ok(())
}

/// Starts a server for `condition`, plays every duel in it at once, and stops it.
async fn play(
    args: &Args,
    condition: Condition,
    duration: Duration,
) -> anyhow::Result<(Vec<DuelReport>, f64)> {
    let bin = args.server_bin.clone().unwrap_or_else(arena_tests::server::server_binary);
    let mut flags = vec![
        "--map",
        "duel",
        "--lag-compensation",
        if condition.compensation { "on" } else { "off" },
        "--empty-room-grace",
        "1s",
    ];
    flags.extend(args.server_args.iter().map(String::as_str));
    let server = ServerProcess::start_with(&bin, &flags)
        .context("start arena-server (build it with `cargo build --release -p arena-server`)")?;
    let url = server.ws_url();
    let mut tasks = Vec::new();
    for (r, &range) in args.ranges.iter().enumerate() {
        for i in 0..args.duels_per_range {
            let config = DuelConfig {
                url: url.clone(),
                range,
                link: condition.link(),
                duration,
                settle: SETTLE,
                seed: (r as u64) << 16 | u64::from(i),
            };
            tasks.push(tokio::spawn(duel::duel(config)));
        }
    }
    let mut reports = Vec::with_capacity(tasks.len());
    for task in tasks {
        reports.push(task.await.context("a duel panicked")?);
    }
    let scrape = Scrape::fetch(server.addr).await.context("read the server's /metrics")?;
    let capped = scrape.get("arena_shots_rewind_capped_total") / scrape.get("arena_shots_total").max(1.0);
    drop(server);
    Ok((reports, capped))
}

fn table(output: &Output, ranges: &[f32]) -> String {
    let mut out = format!("arena-lagcomp: {}\n", output.machine);
    let range_heads: Vec<String> = ranges.iter().map(|r| format!("@{r:.0}")).collect();
    out.push_str(&format!(
        "{:<13} {:<3} {:>6} {:>6} {:>8} {:>6} {:>8} {:>8} {:>7}  {}\n",
        "link each way",
        "lc",
        "shots",
        "hits",
        "hit rate",
        "× H0",
        "rtt p50",
        "render",
        "capped",
        range_heads.join("  ")
    ));
    for r in &output.results {
        let by_range: Vec<String> =
            r.ranges.iter().map(|x| format!("{:>5.1}%", x.hit_rate * 100.0)).collect();
        out.push_str(&format!(
            "{} {:>6} {:>6} {:>7.1}% {:>6} {:>5.0} ms {:>5.0} ms {:>6.1}%  {}\n",
            r.condition.label(),
            r.shots,
            r.hits,
            r.hit_rate * 100.0,
            r.share_of_h0.map_or("—".to_owned(), |s| format!("{s:.2}")),
            r.rtt_ms_median,
            r.render_delay_ms_median,
            r.capped_share * 100.0,
            by_range.join("  ")
        ));
    }
    for v in &output.verdicts {
        out.push_str(v);
        out.push('\n');
    }
    out
}
