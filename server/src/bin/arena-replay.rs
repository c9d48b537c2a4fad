//! `arena-replay`: read, check and export recorded matches (the files under the server's `--replays`
//! folder, or downloaded from `/replays/ID`).

use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use arena_protocol::replay::{ChunkBuilder, FORMAT_VERSION, Record, Replay, ReplayReader, ReplayWriter};
use arena_protocol::{GameEvent, ServerMsg};
use arena_server::replays::verify::{VerifyError, verify};
use clap::{Parser, Subcommand};

/// Read, check and export Arena replays.
///
/// Exit status: 0 when the command did what it says; 1 when `verify` finds the re-simulation differs
/// (or the replay was cut off); 2 when the file cannot be read (not a replay, a newer format,
/// truncated or damaged).
#[derive(Debug, Parser)]
#[command(name = "arena-replay", version, about, long_about)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The header, length, players and kills of a replay.
    Info {
        /// The replay file.
        file: PathBuf,
    },
    /// Re-simulates the match from its recorded start, joins, leaves and inputs, and checks every
    /// recorded snapshot and events message against the re-simulation, byte for byte.
    Verify {
        /// The replay file.
        file: PathBuf,
    },
    /// Prints the match's events and final scores.
    Export {
        /// The replay file.
        file: PathBuf,
        /// As JSON (the only format so far).
        #[arg(long)]
        json: bool,
    },
    /// Rewrites a replay in this version's format (a format 1 file takes about half the room), chunk
    /// for chunk, and says how long the chunks took to encode and compress.
    Convert {
        /// The replay file.
        file: PathBuf,
        /// Where the rewritten replay goes (not the same file).
        output: PathBuf,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    let file = match &args.command {
        Command::Info { file } | Command::Verify { file } | Command::Export { file, .. } => file,
        Command::Convert { file, output } => {
            return match convert(file, output) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("arena-replay: {err:#}");
                    ExitCode::from(2)
                }
            };
        }
    };
    let replay = match read(file) {
        Ok(replay) => replay,
        Err(err) => {
            eprintln!("arena-replay: {err:#}");
            return ExitCode::from(2);
        }
    };
    let result = match args.command {
        Command::Info { .. } => info(&replay),
        Command::Export { .. } => export(&replay),
        Command::Convert { .. } => unreachable!("converted above"),
        Command::Verify { .. } => match verify(&replay) {
            Ok(done) => {
                println!(
                    "ok: {} ticks re-simulated; {} snapshots ({} keyframes) and {} events messages identical; {} kills",
                    done.ticks, done.snapshots, done.keyframes, done.events, done.kills
                );
                Ok(())
            }
            Err(err) => {
                eprintln!("arena-replay: {}: {err}", file.display());
                return ExitCode::from(match err {
                    VerifyError::Diverged { .. } | VerifyError::NoEnd { .. } | VerifyError::Broken { .. } => {
                        1
                    }
                    _ => 2,
                });
            }
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("arena-replay: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// Reads `path` chunk by chunk and writes each chunk again to `output`, in this version's format.
fn convert(path: &Path, output: &Path) -> anyhow::Result<()> {
    let same =
        std::fs::canonicalize(output).ok().zip(std::fs::canonicalize(path).ok()).is_some_and(|(a, b)| a == b);
    anyhow::ensure!(!same, "{} is the file to convert; write it elsewhere", output.display());
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader =
        ReplayReader::new(BufReader::new(file)).with_context(|| format!("{}", path.display()))?;
    let mut header = reader.header().clone();
    let from = header.format;
    header.format = FORMAT_VERSION;
    let out = std::fs::File::create(output).with_context(|| format!("cannot create {}", output.display()))?;
    let mut writer = ReplayWriter::new(BufWriter::new(out), &header)?;
    let (mut records, mut chunk) = (Vec::new(), ChunkBuilder::default());
    let (mut chunks, mut busy) = (0u32, Duration::ZERO);
    while reader.next_chunk(&mut records).with_context(|| format!("{}", path.display()))? {
        for record in records.drain(..) {
            chunk.push(record.as_ref())?;
        }
        let started = Instant::now();
        writer.write_chunk(&chunk)?;
        busy += started.elapsed();
        chunks += 1;
        chunk.clear();
    }
    let written = writer.written();
    writer.finish()?.flush()?;
    let read = std::fs::metadata(path)?.len();
    println!(
        "{}: format {from}, {read} bytes -> {}: format {FORMAT_VERSION}, {written} bytes ({:.1}%); {chunks} chunks, {:.2} ms each to encode and compress",
        path.display(),
        output.display(),
        written as f64 * 100.0 / read.max(1) as f64,
        busy.as_secs_f64() * 1000.0 / f64::from(chunks.max(1)),
    );
    Ok(())
}

fn read(path: &Path) -> anyhow::Result<Replay> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Replay::read(BufReader::new(file)).with_context(|| format!("{}", path.display()))
}

/// Every event with its tick, from the recorded events messages.
fn events(replay: &Replay) -> anyhow::Result<Vec<(u64, GameEvent)>> {
    let mut out = Vec::new();
    for record in &replay.records {
        if let Record::Events { tick, bytes } = record {
            match arena_protocol::decode_server(bytes) {
                Ok(ServerMsg::Events { events, .. }) => out.extend(events.into_iter().map(|e| (*tick, e))),
                Ok(other) => {
                    anyhow::bail!("the events record of tick {tick} holds another message: {other:?}")
                }
                Err(err) => anyhow::bail!("the events record of tick {tick} does not decode: {err}"),
            }
        }
    }
    Ok(out)
}

fn info(replay: &Replay) -> anyhow::Result<()> {
    let h = &replay.header;
    let last = replay.records.last().map_or(h.start_tick, Record::tick);
    let seconds = last.saturating_sub(h.start_tick) as f64 / f64::from(h.tick_rate.max(1));
    let started = std::time::UNIX_EPOCH + std::time::Duration::from_millis(h.started_at_ms);
    println!("replay    {}", h.id);
    println!(
        "format    {} (protocol {}, written by arena-server {})",
        h.format, h.protocol, h.server_version
    );
    println!("room      {} ({})", h.room, if h.public { "public" } else { "private" });
    println!("started   {}", humantime::format_rfc3339_seconds(started));
    println!("map       {} ({} x {})", h.map.name, h.map.size[0], h.map.size[1]);
    println!(
        "rates     {} Hz ticks, {} Hz snapshots, max rewind {} ms",
        h.tick_rate,
        h.snapshot_rate,
        h.max_rewind_us / 1000
    );
    println!("length    {seconds:.1} s (ticks {} to {last})", h.start_tick);
    let snapshots = replay.records.iter().filter(|r| matches!(r, Record::Snapshot { .. })).count();
    let keyframes =
        replay.records.iter().filter(|r| matches!(r, Record::Snapshot { keyframe: true, .. })).count();
    println!("records   {} ({snapshots} snapshots, {keyframes} keyframes)", replay.records.len());
    match replay.end() {
        Some(end) => {
            println!("ended     {:?}, {} kills", end.reason, end.kills);
            println!("players   {}", end.players.len());
            for p in &end.players {
                println!("  {:>4}  {:<24} {:>3} kills {:>3} deaths", p.id, p.name, p.kills, p.deaths);
            }
        }
        None => {
            let kills = events(replay)?.iter().filter(|(_, e)| matches!(e, GameEvent::Kill { .. })).count();
            println!("ended     never: the recording was cut off; {kills} kills so far");
        }
    }
    Ok(())
}

fn export(replay: &Replay) -> anyhow::Result<()> {
    let h = &replay.header;
    let events: Vec<serde_json::Value> = events(replay)?
        .into_iter()
        .map(|(tick, event)| {
            let mut value = serde_json::to_value(&event).unwrap_or_default();
            if let Some(map) = value.as_object_mut() {
                map.insert("at_tick".into(), tick.into());
                map.insert(
                    "at_s".into(),
                    ((tick - h.start_tick) as f64 / f64::from(h.tick_rate.max(1))).into(),
                );
            }
            value
        })
        .collect();
    let out = serde_json::json!({
        "id": h.id,
        "room": h.room,
        "map": h.map.name,
        "started_at_ms": h.started_at_ms,
        "tick_rate": h.tick_rate,
        "start_tick": h.start_tick,
        "end": replay.end(),
        "events": events,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
