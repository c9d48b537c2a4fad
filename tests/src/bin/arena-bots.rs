//! `arena-bots`: headless players for load and smoke tests. Each bot connects, joins (quick play or a
//! given room), sends an input every server tick, pings, and counts what arrives; at the end the tool
//! prints a summary, or exactly one JSON object with `--json`. Exits non-zero if any bot failed.

use std::time::Duration;

use anyhow::Context;
use arena_server::conditioner::LinkConditioner;
use arena_tests::bot::{self, BotConfig};
use arena_tests::brain::Behavior;
use arena_tests::report::Summary;
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// Headless Arena bots: connect N players to a server, play for a while, report what they saw.
#[derive(Debug, Parser)]
#[command(name = "arena-bots", version, about, long_about)]
struct Args {
    /// The server's game WebSocket URL.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    url: String,

    /// Number of bots (1 to 10000).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    count: u32,

    /// How long the bots play once joined (e.g. `30s`, `2m`).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    duration: Duration,

    /// Join this room code instead of quick play.
    #[arg(long)]
    room: Option<String>,

    /// Print exactly one JSON object on stdout instead of the text summary.
    #[arg(long)]
    json: bool,

    /// Seed for the bots' randomness (bot i uses seed + i).
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// How the bots play: `fight` chases, aims with lead, fires and picks up health; `wander` drifts
    /// about without firing.
    #[arg(long, value_enum, default_value_t = Behavior::Fight)]
    behavior: Behavior,

    /// Link conditioner: latency added to every message in each direction (e.g. `80ms`).
    #[arg(long, default_value = "0ms", value_parser = humantime::parse_duration)]
    sim_latency: Duration,

    /// Link conditioner: random jitter around `--sim-latency` (order is kept).
    #[arg(long, default_value = "0ms", value_parser = humantime::parse_duration)]
    sim_jitter: Duration,

    /// Each bot says a line to its room this often (e.g. `5s`), so a load test includes chat; the
    /// server allows 5 lines in 10 s, so below `2s` bots get `slow_down`. Quiet when not given.
    #[arg(long, value_parser = humantime::parse_duration)]
    chat_every: Option<Duration>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")))
        .with_writer(std::io::stderr)
        .init();

    let tasks: Vec<_> = (0..args.count)
        .map(|i| {
            let config = BotConfig {
                url: args.url.clone(),
                name: format!("bot-{i}"),
                room: args.room.clone(),
                duration: args.duration,
                seed: args.seed.wrapping_add(u64::from(i)),
                behavior: args.behavior,
                link: LinkConditioner { latency: args.sim_latency, jitter: args.sim_jitter },
                window: None,
                chat_every: args.chat_every,
            };
            tokio::spawn(bot::run(config))
        })
        .collect();
    let mut reports = Vec::with_capacity(tasks.len());
    for task in tasks {
        reports.push(task.await.context("bot task panicked")?);
    }
    for (i, r) in reports.iter().enumerate() {
        if let Some(err) = &r.error {
            eprintln!("bot-{i}: {err}");
        }
    }
    let summary = Summary::new(&reports);
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print!("{}", summary.to_text());
    }
    if summary.errors > 0 || summary.connected < summary.bots {
        std::process::exit(1);
    }
    Ok(())
}
