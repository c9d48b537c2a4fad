//! `arena-bench`: how many players, at what tick rate, with how much CPU, memory and bandwidth, and does
//! the tick stay on time? Starts a release `arena-server` as its own process, fills it with fighting
//! bots (in this process: a task per bot, no thread per bot), holds, and reports a table,
//! `--json`, and an SVG plot of tick duration and players over time.
//!
//! The server and the bots run on disjoint cores (by default the server on the first allowed CPU, the
//! bots on the rest), so the bots cannot take the server's core and the server's CPU figures are its
//! own; every result names the machine and the pinning, and counts the work really done (inputs the
//! server applied, snapshots the bots received), so a starved load generator cannot flatter the server.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use arena_server::conditioner::LinkConditioner;
use arena_tests::bench::{self, BenchResult, Sample, Scrape, TickStats};
use arena_tests::bot::{self, BotConfig, BotReport};
use arena_tests::brain::Behavior;
use arena_tests::machine::{CpuList, Machine, Pinning};
use arena_tests::server::ServerProcess;
use clap::{Parser, ValueEnum};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep};

/// Benchmark a release arena-server with fighting bots.
#[derive(Debug, Parser)]
#[command(name = "arena-bench", version, about, long_about)]
struct Args {
    /// `standard`: 64 rooms × 16 fighting players, 60 Hz ticks, 30 Hz snapshots, 60 s held.
    /// `smoke`: 8 rooms × 16 for 10 s (what CI runs). `ramp`: add rooms until the quality bar breaks
    /// and report the knee. `soak`: 32 rooms for 30 min while a tenth of the bots leave and rejoin
    /// every minute; reports memory and open files over time.
    #[arg(long, value_enum, default_value_t = Preset::Standard)]
    preset: Preset,

    /// Rooms (overrides the preset).
    #[arg(long)]
    rooms: Option<usize>,

    /// Players per room.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    room_size: u16,

    /// Server tick rate, Hz.
    #[arg(long, default_value_t = 60)]
    tick_rate: u16,

    /// Server snapshot rate, Hz.
    #[arg(long, default_value_t = 30)]
    snapshot_rate: u16,

    /// How long to hold the full load and measure (overrides the preset; e.g. `60s`).
    #[arg(long, value_parser = humantime::parse_duration)]
    duration: Option<Duration>,

    /// Ramp: rooms added per step.
    #[arg(long, default_value_t = 16)]
    step_rooms: usize,

    /// Ramp: stop at this many rooms even if the bar still holds.
    #[arg(long, default_value_t = 400)]
    max_rooms: usize,

    /// What the bots do.
    #[arg(long, value_enum, default_value_t = Behavior::Fight)]
    behavior: Behavior,

    /// The arena-server binary (default: the one beside this binary).
    #[arg(long)]
    server_bin: Option<PathBuf>,

    /// An extra flag for the server, e.g. `--server-arg=--game-threads=2` (repeatable).
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    server_args: Vec<String>,

    /// CPUs for the server process, e.g. `0` or `0-1` (default: the first CPU this process may use,
    /// when it may use two or more).
    #[arg(long, value_name = "LIST")]
    server_cpus: Option<CpuList>,

    /// CPUs for the bots (default: the allowed CPUs the server does not have).
    #[arg(long, value_name = "LIST")]
    bot_cpus: Option<CpuList>,

    /// Pin nothing: the server and the bots share every CPU (results then depend on how the machine
    /// shares them).
    #[arg(long, conflicts_with_all = ["server_cpus", "bot_cpus"])]
    no_pin: bool,

    /// Cluster mode: start a redis-server and this many nodes (2 to 8) joined to it, on the server's
    /// CPUs, and send every bot through the first node. Measures correctness and hand-off cost (how
    /// long from asking for a room to playing in it on another node, and how players spread over the
    /// nodes), not capacity. Rooms default to 2 per node, the hold to 20 s.
    #[arg(long, value_parser = clap::value_parser!(u16).range(2..=8))]
    nodes: Option<u16>,

    /// Print exactly one JSON object on stdout instead of the table.
    #[arg(long)]
    json: bool,

    /// Write an SVG plot of tick duration and players over time here.
    #[arg(long)]
    plot: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Preset {
    Standard,
    Smoke,
    Ramp,
    Soak,
}

impl Preset {
    fn name(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Smoke => "smoke",
            Self::Ramp => "ramp",
            Self::Soak => "soak",
        }
    }

    /// Rooms and the measured window (for `ramp`: rooms added per step, and each step's window).
    fn defaults(self, step_rooms: usize) -> (usize, Duration) {
        match self {
            Self::Standard => (64, Duration::from_secs(60)),
            Self::Smoke => (8, Duration::from_secs(10)),
            Self::Ramp => (step_rooms, Duration::from_secs(5)),
            Self::Soak => (32, Duration::from_secs(30 * 60)),
        }
    }
}

/// The quality bar: the targets for a room's tick and a player's snapshots.
const MAX_LATE_RATIO: f64 = 0.001;
const MAX_TICK_P99_MS: f64 = 0.5;
/// The `arena_tick_seconds` bucket whose bound is [`MAX_TICK_P99_MS`].
const TICK_BAR_BUCKET: &str = "arena_tick_seconds_bucket{le=\"0.0005\"}";
const MAX_DROPPED_RATIO: f64 = 0.005;

struct Load {
    tasks: Vec<JoinHandle<Vec<BotReport>>>,
    window: Arc<AtomicBool>,
    players: usize,
}

impl Load {
    /// Starts `rooms` rooms' worth of bots, a task each (a task polls only its own bot when woken; a
    /// room's bots joined in one future were all polled whenever any of them was woken), a room's worth
    /// at a time, staggered so the server is not hit by every handshake at once.
    async fn add(&mut self, url: &str, rooms: usize, room_size: u16, behavior: Behavior, play_for: Duration) {
        for _ in 0..rooms {
            for (_, config) in self.next_room(url, room_size, behavior, play_for) {
                self.tasks.push(tokio::spawn(async { vec![bot::run(config).await] }));
            }
            sleep(Duration::from_millis(40)).await;
        }
    }

    /// The next room's worth of bots, each with its number among all the bots started (its name and
    /// seed), counted as players from now on.
    fn next_room(
        &mut self,
        url: &str,
        room_size: u16,
        behavior: Behavior,
        duration: Duration,
    ) -> Vec<(usize, BotConfig)> {
        let first = self.players;
        self.players += usize::from(room_size);
        (first..self.players)
            .map(|n| {
                let config = BotConfig {
                    url: url.to_owned(),
                    name: format!("bench-{n}"),
                    room: None,
                    duration,
                    seed: n as u64,
                    behavior,
                    link: LinkConditioner::default(),
                    window: Some(Arc::clone(&self.window)),
                    chat_every: None,
                };
                (n, config)
            })
            .collect()
    }
}

async fn wait_for_players(addr: std::net::SocketAddr, players: usize, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        let seated = Scrape::fetch(addr).await?.get("arena_players") as usize;
        if seated >= players {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("only {seated} of {players} players seated after {limit:?}");
        }
        sleep(Duration::from_millis(200)).await;
    }
}

fn tick_stats(scrape: &Scrape) -> TickStats {
    let q = |q: &str| scrape.get(&format!("arena_tick_duration_seconds{{quantile=\"{q}\"}}")) * 1000.0;
    TickStats { p50: q("0.5"), p99: q("0.99"), max: q("1") }
}

/// One point of the over-time plot.
fn sample(scrape: &Scrape, started: Instant) -> Sample {
    let tick = tick_stats(scrape);
    Sample {
        t: started.elapsed().as_secs_f64(),
        players: scrape.get("arena_players"),
        tick_p99_ms: tick.p99,
        tick_max_ms: tick.max,
    }
}

/// The share of `tick rate × players` inputs the server must have applied for a result to count: below
/// it the bots did not keep up, and the server's figures would flatter it.
const MIN_INPUTS_APPLIED: f64 = 0.99;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let allowed = CpuList::allowed().context("read this process's CPU affinity")?;
    let pinning = if args.no_pin {
        Pinning { server: None, bots: None }
    } else {
        Pinning::choose(&allowed, args.server_cpus.clone(), args.bot_cpus.clone())
    };
    pinning.check(&allowed).map_err(anyhow::Error::msg)?;
    let machine = Machine::describe(allowed.clone(), pinning.clone());

    // The server child inherits this thread's CPU mask when it is started; then this thread (and the
    // runtime's threads it starts) take the bots' CPUs.
    if let Some(cpus) = &pinning.server {
        cpus.pin_this_thread().with_context(|| format!("pin to CPUs {cpus}"))?;
    }
    if let Some(nodes) = args.nodes {
        let rooms = args.rooms.unwrap_or(2 * usize::from(nodes));
        let hold = args.duration.unwrap_or(Duration::from_secs(20));
        let redis = arena_tests::cluster::RedisServer::start().context("start redis-server")?;
        let cluster = (1..=nodes)
            .map(|i| {
                let (bin, server_args) = server_command(&args, rooms);
                let url = redis.url();
                let mut all = vec!["--redis", url.as_str(), "--node-id"];
                let id = format!("n{i}");
                all.push(&id);
                all.extend(server_args.iter().map(String::as_str));
                ServerProcess::start_with(&bin, &all).with_context(|| format!("start node {id}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let runtime = bots_runtime(pinning.bots.clone().unwrap_or_else(|| allowed.clone()))?;
        let result = runtime.block_on(cluster_bench(&args, &cluster, &machine, rooms, hold));
        drop(cluster);
        drop(redis);
        return result;
    }
    let (rooms, hold) = args.preset.defaults(args.step_rooms);
    let (rooms, hold) = (args.rooms.unwrap_or(rooms), args.duration.unwrap_or(hold));
    let server = start_server(&args, rooms)?;
    let runtime = bots_runtime(pinning.bots.clone().unwrap_or_else(|| allowed.clone()))?;
    runtime.block_on(bench(args, server, machine, rooms, hold))
}

/// Pins this thread to the bots' CPUs and starts the bots' runtime there (a worker per CPU; its
/// threads inherit the pinning).
fn bots_runtime(bot_cpus: CpuList) -> anyhow::Result<tokio::runtime::Runtime> {
    bot_cpus.pin_this_thread().with_context(|| format!("pin to CPUs {bot_cpus}"))?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(bot_cpus.len().max(1))
        .enable_all()
        .build()
        .context("start the bots' runtime")
}

/// The server binary and its flags for `rooms` rooms.
fn server_command(args: &Args, rooms: usize) -> (PathBuf, Vec<String>) {
    let server_bin = args.server_bin.clone().unwrap_or_else(arena_tests::server::server_binary);
    let mut server_args: Vec<String> = [
        "--tick-rate",
        &args.tick_rate.to_string(),
        "--snapshot-rate",
        &args.snapshot_rate.to_string(),
        "--room-capacity",
        &args.room_size.to_string(),
        "--max-rooms",
        &(args.max_rooms.max(rooms) * 2).to_string(),
        "--empty-room-grace",
        "1h",
    ]
    .map(String::from)
    .to_vec();
    server_args.extend(args.server_args.iter().cloned());
    (server_bin, server_args)
}

fn start_server(args: &Args, rooms: usize) -> anyhow::Result<ServerProcess> {
    let (bin, server_args) = server_command(args, rooms);
    let server_args: Vec<&str> = server_args.iter().map(String::as_str).collect();
    ServerProcess::start_with(&bin, &server_args)
        .context("start arena-server (build it with `cargo build --release -p arena-server`)")
}

/// What `--nodes` measures.
#[derive(Debug, serde::Serialize)]
struct ClusterResult {
    nodes: usize,
    bots: usize,
    connected: usize,
    bot_errors: usize,
    handed_off: usize,
    /// From asking for a room to `joined` on another node, ms.
    handoff_ms: Quantiles,
    /// From connecting to `joined`, for bots whose room was on the entry node, ms.
    direct_join_ms: Quantiles,
    /// Players and rooms per node, as `GET /api/nodes` said during the hold.
    per_node: Vec<(String, u64, u64)>,
    /// Snapshots per second per bot over the hold: the lowest.
    snapshots_per_s_min: f64,
    machine: String,
}

#[derive(Debug, Default, serde::Serialize)]
struct Quantiles {
    count: usize,
    p50: f64,
    p99: f64,
    max: f64,
}

impl Quantiles {
    fn of(mut ms: Vec<f64>) -> Self {
        ms.sort_by(f64::total_cmp);
        let at = |q: f64| ms.get(((ms.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or(0.0);
        Self { count: ms.len(), p50: at(0.5), p99: at(0.99), max: ms.last().copied().unwrap_or(0.0) }
    }
}

/// Bots through the first node of a cluster: hand-off latency and the spread over the nodes.
async fn cluster_bench(
    args: &Args,
    cluster: &[ServerProcess],
    machine: &Machine,
    rooms: usize,
    hold: Duration,
) -> anyhow::Result<()> {
    let entry = &cluster[0];
    if !args.json {
        eprintln!("arena-bench cluster of {} nodes: {machine}", cluster.len());
    }
    // Every node sees every other before the bots come.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let body = arena_tests::http::get(entry.addr, "/api/nodes").await?.body;
        let seen: Vec<serde_json::Value> = serde_json::from_str(&body)?;
        if seen.len() == cluster.len() {
            break;
        }
        if Instant::now() > deadline {
            bail!("the first node sees {} of {} nodes after 10 s", seen.len(), cluster.len());
        }
        sleep(Duration::from_millis(200)).await;
    }
    let mut load = Load { tasks: Vec::new(), window: Arc::new(AtomicBool::new(false)), players: 0 };
    let play_for = Duration::from_secs(5) + Duration::from_millis(40 * rooms as u64) + hold;
    load.add(&entry.ws_url(), rooms, args.room_size, args.behavior, play_for).await;
    sleep(Duration::from_secs(3)).await;
    let body = arena_tests::http::get(cluster[cluster.len() - 1].addr, "/api/nodes").await?.body;
    let seen: Vec<serde_json::Value> = serde_json::from_str(&body)?;
    let per_node = seen
        .iter()
        .map(|n| {
            let id = n["id"].as_str().unwrap_or_default().to_owned();
            (id, n["players"].as_u64().unwrap_or(0), n["rooms"].as_u64().unwrap_or(0))
        })
        .collect();
    let mut reports = Vec::with_capacity(load.players);
    for task in load.tasks {
        reports.extend(task.await.context("a bot task panicked")?);
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let result = ClusterResult {
        nodes: cluster.len(),
        bots: reports.len(),
        connected: reports.iter().filter(|r| r.connected).count(),
        bot_errors: reports.iter().filter(|r| r.error.is_some()).count(),
        handed_off: reports.iter().filter(|r| r.handoff.is_some()).count(),
        handoff_ms: Quantiles::of(
            reports.iter().filter_map(|r| r.handoff.as_ref()).map(|h| ms(h.took)).collect(),
        ),
        direct_join_ms: Quantiles::of(
            reports.iter().filter(|r| r.handoff.is_none()).filter_map(|r| r.join_time).map(ms).collect(),
        ),
        per_node,
        snapshots_per_s_min: reports
            .iter()
            .filter_map(BotReport::snapshots_per_sec)
            .fold(f64::INFINITY, f64::min),
        machine: machine.to_string(),
    };
    if args.json {
        println!("{}", serde_json::to_string(&result)?);
    } else {
        println!("cluster: {} nodes, {} bots through node n1", result.nodes, result.bots);
        println!("  connected {} of {}, {} with errors", result.connected, result.bots, result.bot_errors);
        let (h, d) = (&result.handoff_ms, &result.direct_join_ms);
        println!(
            "  handed off: {} ({:.0}%)",
            result.handed_off,
            100.0 * result.handed_off as f64 / result.bots.max(1) as f64
        );
        println!(
            "  hand-off, ask to joined on the other node: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            h.p50, h.p99, h.max
        );
        println!(
            "  join on the entry node (for comparison): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            d.p50, d.p99, d.max
        );
        for (id, players, rooms) in &result.per_node {
            println!("  node {id}: {players} players in {rooms} rooms");
        }
        println!("  snapshots/s per bot, lowest: {:.2}", result.snapshots_per_s_min);
        println!("  machine: {}", result.machine);
    }
    if result.bot_errors > 0 || result.connected < result.bots {
        eprintln!(
            "FAILED: {} bot errors, {} of {} connected",
            result.bot_errors, result.connected, result.bots
        );
        std::process::exit(1);
    }
    Ok(())
}

/// What the server and this process did over one measured window.
struct Window {
    before: Scrape,
    after: Scrape,
    seconds: f64,
    server_cpu: f64,
    bot_cpu: f64,
    kernel: bench::KernelCounts,
}

impl Window {
    /// Opens the window (and the bots' own, when given), waits `hold` (calling `each_second`), closes it.
    async fn measure(
        addr: std::net::SocketAddr,
        pid: u32,
        hold: Duration,
        bots_window: Option<&AtomicBool>,
        mut each_second: impl FnMut(&Scrape),
    ) -> anyhow::Result<Self> {
        let kernel = bench::KernelCounter::start(pid).await;
        let before = Scrape::fetch(addr).await?;
        let (cpu0, own0) = (bench::cpu_seconds(pid).unwrap_or(0.0), bench::own_cpu_seconds().unwrap_or(0.0));
        let t0 = Instant::now();
        if let Some(w) = bots_window {
            w.store(true, Ordering::Relaxed);
        }
        while t0.elapsed() < hold {
            sleep(Duration::from_secs(1).min(hold)).await;
            each_second(&Scrape::fetch(addr).await?);
        }
        if let Some(w) = bots_window {
            w.store(false, Ordering::Relaxed);
        }
        let seconds = t0.elapsed().as_secs_f64();
        let (cpu1, own1) = (bench::cpu_seconds(pid).unwrap_or(0.0), bench::own_cpu_seconds().unwrap_or(0.0));
        let after = Scrape::fetch(addr).await?;
        let kernel = kernel.finish().await;
        Ok(Self { before, after, seconds, server_cpu: cpu1 - cpu0, bot_cpu: own1 - own0, kernel })
    }

    fn delta(&self, name: &str) -> f64 {
        (self.after.get(name) - self.before.get(name)).max(0.0)
    }

    /// Fills the server-side and per-player figures of `result` for `players` players.
    fn fill(&self, result: &mut BenchResult, players: usize) {
        let per_player_s = (players.max(1) as f64) * self.seconds.max(1e-9);
        let (msgs_in, msgs_out) =
            (self.delta("arena_messages_in_total"), self.delta("arena_messages_out_total"));
        let messages = (msgs_in + msgs_out).max(1.0);
        result.window_s = self.seconds;
        result.tick_ms = tick_stats(&self.after);
        result.ticks = self.delta("arena_ticks_total") as u64;
        result.late_ticks = self.delta("arena_ticks_late_total") as u64;
        result.skipped_ticks = self.delta("arena_ticks_skipped_total") as u64;
        result.late_ratio = result.late_ticks as f64 / result.ticks.max(1) as f64;
        result.server_cpu_cores = self.server_cpu / self.seconds.max(1e-9);
        result.server_ms_per_player_s = self.server_cpu * 1000.0 / per_player_s;
        result.bot_cpu_cores = self.bot_cpu / self.seconds.max(1e-9);
        result.bot_ms_per_bot_s = self.bot_cpu * 1000.0 / per_player_s;
        result.inputs_applied_per_player_s = self.delta("arena_inputs_applied_total") / per_player_s;
        result.messages_per_player_s =
            bench::DownUp { down: msgs_out / per_player_s, up: msgs_in / per_player_s };
        result.server_kernel_per_message = bench::KernelPerMessage {
            syscalls: self.kernel.syscalls as f64 / messages,
            context_switches: self.kernel.context_switches as f64 / messages,
            source: self.kernel.source,
        };
    }
}

/// `rooms` and `hold` as the preset and the flags make them (for `ramp`: rooms per step, time per step).
async fn bench(
    args: Args,
    server: ServerProcess,
    machine: Machine,
    rooms: usize,
    hold: Duration,
) -> anyhow::Result<()> {
    let (addr, pid, url) = (server.addr, server.pid(), server.ws_url());
    sleep(Duration::from_millis(500)).await;
    let idle_rss = bench::rss_bytes(pid).unwrap_or(0);
    let started = Instant::now();
    let mut samples = Vec::new();
    let mut load = Load { tasks: Vec::new(), window: Arc::new(AtomicBool::new(false)), players: 0 };
    if !args.json {
        eprintln!("arena-bench {}: {machine}", args.preset.name());
    }

    match args.preset {
        Preset::Ramp => return ramp(&args, &server, &mut load, &machine, hold, idle_rss, started).await,
        Preset::Soak => return soak(&args, &server, &mut load, &machine, rooms, hold).await,
        Preset::Standard | Preset::Smoke => {}
    }

    // Bots play through the ramp-in, the settle time and the window, then stop by themselves.
    let play_for =
        Duration::from_secs(5) + Duration::from_millis(40 * rooms as u64) + Duration::from_secs(3) + hold;
    load.add(&url, rooms, args.room_size, args.behavior, play_for).await;
    wait_for_players(addr, load.players, Duration::from_secs(60)).await?;
    sleep(Duration::from_secs(2)).await;

    let window = Window::measure(addr, pid, hold, Some(&load.window), |scrape| {
        samples.push(sample(scrape, started));
    })
    .await?;
    let rss = bench::rss_bytes(pid).unwrap_or(0);

    let mut reports = Vec::with_capacity(load.players);
    for task in load.tasks {
        reports.extend(task.await.context("a bot task panicked")?);
    }
    let mut result = BenchResult {
        preset: args.preset.name().into(),
        players: load.players,
        rooms: window.after.get("arena_rooms") as usize,
        tick_rate: args.tick_rate,
        snapshot_rate: args.snapshot_rate,
        server_rss_mib: rss as f64 / 1048576.0,
        server_idle_rss_mib: idle_rss as f64 / 1048576.0,
        rss_per_player_kib: rss.saturating_sub(idle_rss) as f64 / 1024.0 / load.players.max(1) as f64,
        machine: machine.to_string(),
        ..Default::default()
    };
    window.fill(&mut result, load.players);
    bench::fold_bots(&mut result, &reports);
    if args.json {
        println!("{}", serde_json::to_string(&result)?);
    } else {
        print!("{}", result.to_table());
    }
    if let Some(path) = &args.plot {
        let title = format!("{} players, {} Hz ticks", result.players, result.tick_rate);
        bench::plot(&samples, &title, path).map_err(anyhow::Error::msg)?;
    }
    drop(server);
    if result.bot_errors > 0 || result.skipped_ticks > 0 {
        eprintln!("FAILED: {} bot errors, {} skipped ticks", result.bot_errors, result.skipped_ticks);
        std::process::exit(1);
    }
    let applied = result.inputs_applied_per_player_s / f64::from(args.tick_rate);
    if applied < MIN_INPUTS_APPLIED {
        eprintln!(
            "note: the server applied {:.1}% of one input per tick per player: the bots did not keep up, so \
             the server's figures are for less work than the preset asks",
            applied * 100.0
        );
    }
    Ok(())
}

/// Starts one bot that leaves and rejoins: first after `first`, then every `every`, until `until`.
async fn churning_bot(config: BotConfig, first: Duration, every: Duration, until: Instant) -> Vec<BotReport> {
    let mut reports = Vec::new();
    let mut stint = first;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return reports;
        }
        let report = bot::run(BotConfig { duration: stint.min(left), ..config.clone() }).await;
        let failed = report.error.is_some();
        reports.push(report);
        if failed {
            // Counted; a short pause so a refusing server is not hammered.
            sleep(Duration::from_secs(1)).await;
        }
        stint = every;
    }
}

/// Entries in `/proc/PID/fd`.
fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

/// Fighting bots for `hold` while a tenth of them leave and rejoin every minute (each bot plays ten
/// minutes at a stretch, the cohorts staggered by a minute); memory and open files are sampled every
/// minute. Passes when RSS at the end is within 10% of its value at minute 5 and the open files did not
/// grow.
async fn soak(
    args: &Args,
    server: &ServerProcess,
    load: &mut Load,
    machine: &Machine,
    rooms: usize,
    hold: Duration,
) -> anyhow::Result<()> {
    const COHORTS: u32 = 10;
    let minute = Duration::from_secs(60);
    let (addr, pid, url) = (server.addr, server.pid(), server.ws_url());
    let until = Instant::now() + hold;
    for _ in 0..rooms {
        // The soak never opens the bots' measurement window: they count nothing but their sessions.
        for (n, config) in load.next_room(&url, args.room_size, args.behavior, minute) {
            let cohort = (n % COHORTS as usize) as u32;
            load.tasks.push(tokio::spawn(churning_bot(
                config,
                minute * (cohort + 1),
                minute * COHORTS,
                until,
            )));
        }
        sleep(Duration::from_millis(40)).await;
    }
    wait_for_players(addr, load.players, Duration::from_secs(60)).await?;
    let t0 = Instant::now();
    let mut minutes = Vec::new();
    let first = Scrape::fetch(addr).await?;
    while t0.elapsed() + minute <= hold {
        sleep(minute).await;
        let scrape = Scrape::fetch(addr).await?;
        let line = serde_json::json!({
            "minute": minutes.len() + 1,
            "players": scrape.get("arena_players"),
            "rooms": scrape.get("arena_rooms"),
            "rss_mib": bench::rss_bytes(pid).unwrap_or(0) as f64 / 1048576.0,
            "open_files": open_files(pid),
            "late_ticks": scrape.get("arena_ticks_late_total") - first.get("arena_ticks_late_total"),
            "skipped_ticks": scrape.get("arena_ticks_skipped_total") - first.get("arena_ticks_skipped_total"),
        });
        if !args.json {
            eprintln!("{line}");
        }
        minutes.push(line);
    }
    let last = Scrape::fetch(addr).await?;
    let mut reports = Vec::new();
    for task in std::mem::take(&mut load.tasks) {
        reports.extend(task.await.context("a bot task panicked")?);
    }
    let at =
        |m: usize, key: &str| minutes.get(m.saturating_sub(1)).and_then(|l| l[key].as_f64()).unwrap_or(0.0);
    let end = minutes.len();
    let (rss5, rss_end) = (at(5.min(end), "rss_mib"), at(end, "rss_mib"));
    let (files5, files_end) = (at(5.min(end), "open_files"), at(end, "open_files"));
    let rss_growth = rss_end / rss5.max(1e-9) - 1.0;
    let failures: Vec<String> = [
        (end < 6, format!("only {end} minutes measured; the soak needs more than 5")),
        (rss_growth > 0.10, format!("RSS grew {:.1}% after minute 5", rss_growth * 100.0)),
        (files_end > files5, format!("open files grew from {files5} to {files_end}")),
    ]
    .into_iter()
    .filter_map(|(failed, why)| failed.then_some(why))
    .collect();
    let sessions = reports.len();
    let errors = reports.iter().filter(|r| r.error.is_some()).count();
    let summary = serde_json::json!({
        "preset": "soak",
        "machine": machine.to_string(),
        "players": load.players,
        "minutes": end,
        "bot_sessions": sessions,
        "bot_errors": errors,
        "rss_mib_minute_5": rss5,
        "rss_mib_end": rss_end,
        "rss_growth_after_minute_5": rss_growth,
        "open_files_minute_5": files5,
        "open_files_end": files_end,
        "late_ticks": last.get("arena_ticks_late_total") - first.get("arena_ticks_late_total"),
        "skipped_ticks": last.get("arena_ticks_skipped_total") - first.get("arena_ticks_skipped_total"),
        "passed": failures.is_empty(),
        "failures": failures,
        "per_minute": minutes,
    });
    if args.json {
        println!("{summary}");
    } else {
        println!(
            "arena-bench soak: {} players for {end} min, {sessions} bot sessions ({errors} failed); RSS {rss5:.1} MiB at minute 5, {rss_end:.1} MiB at the end ({:+.1}%); open files {files5} → {files_end}; {}",
            load.players,
            rss_growth * 100.0,
            if failures.is_empty() {
                "passed".to_owned()
            } else {
                format!("FAILED: {}", failures.join(", "))
            }
        );
    }
    if !failures.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}

/// Adds rooms step by step; each step settles, then is measured against the quality bar. The knee is
/// the last step that held it.
async fn ramp(
    args: &Args,
    server: &ServerProcess,
    load: &mut Load,
    machine: &Machine,
    step_time: Duration,
    idle_rss: u64,
    started: Instant,
) -> anyhow::Result<()> {
    let (addr, pid, url) = (server.addr, server.pid(), server.ws_url());
    let mut knee: Option<(usize, f64)> = None;
    let mut samples = Vec::new();
    let mut steps = Vec::new();
    let mut limit = String::from("the --max-rooms cap");
    let mut rooms = 0;
    while rooms < args.max_rooms {
        let add = args.step_rooms.min(args.max_rooms - rooms);
        load.add(&url, add, args.room_size, args.behavior, Duration::from_secs(3600)).await;
        rooms += add;
        if let Err(err) = wait_for_players(addr, load.players, Duration::from_secs(30)).await {
            limit = format!("players could not even be seated: {err}");
            break;
        }
        sleep(Duration::from_secs(3)).await;
        let window = Window::measure(addr, pid, step_time, None, |_| {}).await?;
        let mut step = BenchResult::default();
        window.fill(&mut step, load.players);
        let ticks = window.delta("arena_ticks_total").max(1.0);
        let late = window.delta("arena_ticks_late_total") / ticks;
        let skipped = window.delta("arena_ticks_skipped_total");
        let dropped = window.delta("arena_snapshots_dropped_total")
            / window.delta("arena_snapshots_sent_total").max(1.0);
        // The tick p99 of exactly this step's window, from the cumulative histogram: p99 <= 0.5 ms means
        // at most 1% of the step's ticks took longer. (The rolling summary would also count the slower
        // ticks that seated the step's new players.)
        let over_bar = (window.delta("arena_tick_seconds_count") - window.delta(TICK_BAR_BUCKET)).max(0.0)
            / window.delta("arena_tick_seconds_count").max(1.0);
        let applied = step.inputs_applied_per_player_s / f64::from(args.tick_rate);
        samples.push(sample(&window.after, started));
        let failures: Vec<String> = [
            (skipped > 0.0, format!("{skipped} skipped ticks")),
            (late > MAX_LATE_RATIO, format!("late ticks {:.2}%", late * 100.0)),
            (over_bar > 0.01, format!("{:.2}% of ticks over {MAX_TICK_P99_MS} ms", over_bar * 100.0)),
            (dropped > MAX_DROPPED_RATIO, format!("snapshots dropped {:.2}%", dropped * 100.0)),
            (
                applied < MIN_INPUTS_APPLIED,
                format!("inputs applied {:.1}% of one per tick per player", applied * 100.0),
            ),
        ]
        .into_iter()
        .filter_map(|(failed, why)| failed.then_some(why))
        .collect();
        let rss = bench::rss_bytes(pid).unwrap_or(0) as f64 / 1048576.0;
        let line = serde_json::json!({
            "players": load.players, "rooms": rooms, "tick_p99_ms_last_minute": step.tick_ms.p99,
            "ticks_over_bar_ratio": over_bar, "late_ratio": late,
            "skipped": skipped, "dropped_ratio": dropped, "inputs_applied_ratio": applied,
            "server_cpu_cores": step.server_cpu_cores, "server_ms_per_player_s": step.server_ms_per_player_s,
            "bot_cpu_cores": step.bot_cpu_cores, "bot_ms_per_bot_s": step.bot_ms_per_bot_s,
            "syscalls_per_message": step.server_kernel_per_message.syscalls,
            "server_rss_mib": rss,
            "passed": failures.is_empty(), "failures": failures,
        });
        if !args.json {
            eprintln!("{line}");
        }
        steps.push(line);
        if failures.is_empty() {
            knee = Some((load.players, step.server_cpu_cores));
        } else {
            limit = failures.join(", ");
            break;
        }
    }
    let summary = serde_json::json!({
        "preset": "ramp",
        "machine": machine.to_string(),
        "knee_players": knee.map_or(0, |k| k.0),
        "limited_by": limit,
        "room_size": args.room_size,
        "tick_rate": args.tick_rate,
        "snapshot_rate": args.snapshot_rate,
        "idle_rss_mib": idle_rss as f64 / 1048576.0,
        "steps": steps,
    });
    if args.json {
        println!("{summary}");
    } else {
        println!(
            "arena-bench ramp: knee at {} players (bar: no skipped ticks, late < 0.1%, tick p99 <= 0.5 ms, dropped snapshots < 0.5%, inputs applied >= 99%); stopped by: {}\n  machine: {machine}",
            knee.map_or(0, |k| k.0),
            limit
        );
    }
    if let Some(path) = &args.plot {
        bench::plot(&samples, "ramp: tick duration and players", path).map_err(anyhow::Error::msg)?;
    }
    for task in &load.tasks {
        task.abort();
    }
    Ok(())
}
