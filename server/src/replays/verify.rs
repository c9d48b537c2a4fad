//! Re-simulating a replay and checking it against itself: from the capture in its header, the calls
//! of each tick are made again on a fresh simulation, and every snapshot and events message it
//! recorded must come out byte for byte the same (keyframes and deltas alike).
//!
//! This is what `arena-replay verify` runs, and what keeps the simulation deterministic: any change
//! that makes the same inputs play out differently fails it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arena_protocol::replay::{Record, Replay};
use arena_protocol::{GameEvent, PROTOCOL_VERSION, ServerMsg};
use thiserror::Error;

use crate::assets::{AssetsError, GameData};
use crate::ids::RoomCode;
use crate::room::Broadcast;
use crate::sim::capture::WorldState;
use crate::sim::journal::Replayer;

/// What a replay that re-simulates exactly showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Ticks re-simulated.
    pub ticks: u64,
    /// Snapshots compared (keyframes among them).
    pub snapshots: u64,
    /// Keyframes compared.
    pub keyframes: u64,
    /// Events messages compared.
    pub events: u64,
    /// Kills re-simulated.
    pub kills: u64,
}

/// Why a replay did not verify.
#[derive(Debug, Error)]
pub enum VerifyError {
    /// The replay's messages are of another protocol version than this build's simulation makes.
    #[error(
        "the replay was recorded with protocol {found}; this build speaks {PROTOCOL_VERSION}: verify it with the Arena version that recorded it ({server})"
    )]
    Protocol {
        /// The replay's protocol version.
        found: u16,
        /// The server version that wrote it.
        server: String,
    },
    /// The game data in the header does not load.
    #[error("the replay's game data does not load: {0}")]
    GameData(#[from] AssetsError),
    /// The capture in the header does not decode.
    #[error("the replay's starting state does not decode: {0}")]
    State(String),
    /// A record is out of order or names a player with no ship.
    #[error("record {index} (tick {tick}) does not follow: {detail}")]
    Broken {
        /// The record's position.
        index: usize,
        /// Its tick.
        tick: u64,
        /// What is wrong.
        detail: String,
    },
    /// The re-simulation differs from the recording.
    #[error("the re-simulation differs from the recording at tick {tick}: {detail}")]
    Diverged {
        /// The first tick whose recorded output differs.
        tick: u64,
        /// What differs.
        detail: String,
    },
    /// The replay has no end record (it was cut off).
    #[error("the replay has no end (it was cut off); everything up to tick {tick} verified")]
    NoEnd {
        /// The last tick checked.
        tick: u64,
    },
}

/// The game data a replay ran on, from its header.
pub fn game_data(replay: &Replay) -> Result<GameData, AssetsError> {
    let sources = &replay.header.game_data;
    GameData::from_sources(
        &replay.header.map.name,
        sources.tuning_toml.clone(),
        sources.map_toml.clone(),
        Path::new("<replay>/tuning.toml"),
        Path::new(&format!("<replay>/maps/{}.toml", replay.header.map.name)),
    )
}

/// Re-simulates `replay` and compares every message it recorded.
pub fn verify(replay: &Replay) -> Result<Verified, VerifyError> {
    let header = &replay.header;
    if header.protocol != PROTOCOL_VERSION {
        return Err(VerifyError::Protocol { found: header.protocol, server: header.server_version.clone() });
    }
    let game = Arc::new(game_data(replay)?);
    let state: WorldState = arena_protocol::codec::decode_with_limit(&header.state, usize::MAX)
        .map_err(|e| VerifyError::State(e.to_string()))?;
    let max_rewind = Duration::from_micros(header.max_rewind_us);
    let mut replayer = Replayer::from_state(game, header.tick_rate, max_rewind, &state);
    // Only the logs of the encoder use the code; a damaged one is no reason to stop.
    let code = RoomCode::parse(&header.room).unwrap_or_else(|| RoomCode::random(&mut rand::rng()));
    let mut broadcast = Broadcast::default();
    let mut done = Verified { ticks: 0, snapshots: 0, keyframes: 0, events: 0, kills: 0 };
    let mut events_checked_at = None;
    let start = header.start_tick;
    let mut ended = false;
    for (index, record) in replay.records.iter().enumerate() {
        let tick = record.tick();
        let broken = |detail: String| VerifyError::Broken { index, tick, detail };
        let now = replayer.sim().tick();
        let step_to = match record {
            Record::Tick { .. } => tick.checked_sub(1),
            _ => Some(tick),
        };
        let Some(step_to) = step_to.filter(|&t| t >= now) else {
            return Err(broken(format!("the simulation is already at tick {now}")));
        };
        while replayer.sim().tick() < step_to {
            replayer.step();
        }
        match record {
            Record::Tick { ops, .. } => {
                for op in ops {
                    replayer.apply(op).map_err(|e| broken(e.to_string()))?;
                }
                replayer.step();
            }
            Record::Events { bytes, .. } => {
                let ours = broadcast.events(code, replayer.sim());
                if ours.as_deref() != Some(&bytes[..]) {
                    return Err(VerifyError::Diverged {
                        tick,
                        detail: events_difference(bytes, ours.as_deref()),
                    });
                }
                done.kills += count_kills(broadcast.last_events());
                done.events += 1;
                events_checked_at = Some(tick);
            }
            Record::Snapshot { keyframe, bytes, .. } => {
                if events_checked_at != Some(tick)
                    && let Some(ours) = broadcast.events(code, replayer.sim())
                {
                    return Err(VerifyError::Diverged {
                        tick,
                        detail: format!(
                            "the re-simulation has events the recording lacks: {}",
                            describe(&ours)
                        ),
                    });
                }
                let ours = broadcast.snapshot(code, replayer.sim(), header.tick_rate);
                let ours = ours.as_ref().and_then(|s| {
                    if *keyframe { Some(&s.keyframe[..]) } else { s.delta.as_ref().map(|(_, d)| &d[..]) }
                });
                if ours != Some(&bytes[..]) {
                    let kind = if *keyframe { "keyframe" } else { "delta" };
                    return Err(VerifyError::Diverged {
                        tick,
                        detail: format!(
                            "the snapshot ({kind}) differs: recorded {} bytes, re-simulated {}",
                            bytes.len(),
                            ours.map_or_else(|| "none".to_owned(), |o| format!("{} bytes", o.len()))
                        ),
                    });
                }
                done.snapshots += 1;
                done.keyframes += u64::from(*keyframe);
            }
            Record::End(_) => ended = true,
        }
        done.ticks = replayer.sim().tick() - start;
    }
    if !ended {
        return Err(VerifyError::NoEnd { tick: replayer.sim().tick() });
    }
    Ok(done)
}

fn count_kills(events: &[GameEvent]) -> u64 {
    events.iter().filter(|e| matches!(e, GameEvent::Kill { .. })).count() as u64
}

/// The events of a message, for an error.
fn describe(bytes: &[u8]) -> String {
    match arena_protocol::decode_server(bytes) {
        Ok(ServerMsg::Events { events, .. }) => format!("{events:?}"),
        _ => format!("{} bytes", bytes.len()),
    }
}

fn events_difference(recorded: &[u8], ours: Option<&[u8]>) -> String {
    format!(
        "the events differ: recorded {}, re-simulated {}",
        describe(recorded),
        ours.map_or_else(|| "none".to_owned(), describe)
    )
}
