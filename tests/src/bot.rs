//! One headless bot: connects, joins a room, sends an input every server tick (chosen by its
//! [`Brain`]), pings once a second (as the web client does), and counts the snapshots, kills and bytes it sees.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arena_protocol::{ClientMsg, Input, InputBatch, InputList, Joined, ServerMsg, Welcome};
use arena_server::conditioner::LinkConditioner;
use tokio::time::{Instant, MissedTickBehavior, interval, interval_at, sleep_until};

use crate::brain::{Behavior, Brain, View};
use crate::client::{Client, ClientError};

/// How many recent inputs' send times a bot keeps for timing their acknowledgement.
const ACK_HISTORY: usize = 256;

/// How often a bot measures its round-trip time.
pub const PING_INTERVAL: Duration = Duration::from_secs(1);

/// What a bot does.
#[derive(Debug, Clone)]
pub struct BotConfig {
    /// The game WebSocket URL.
    pub url: String,
    /// The bot's display name.
    pub name: String,
    /// A room code to join, or `None` for quick play.
    pub room: Option<String>,
    /// How long to play after joining.
    pub duration: Duration,
    /// Seed for the bot's randomness.
    pub seed: u64,
    /// How it plays.
    pub behavior: Behavior,
    /// Simulated latency and jitter on the bot's link (off when zero).
    pub link: LinkConditioner,
    /// A measurement window opened and closed by the caller (the benchmark); `None` for none.
    pub window: Option<Arc<AtomicBool>>,
    /// Say a line to the room this often (load tests with chat); `None` for a quiet bot.
    pub chat_every: Option<Duration>,
}

/// What a bot saw while the measurement window was open.
#[derive(Debug, Clone, Default)]
pub struct WindowStats {
    /// Snapshots received.
    pub snapshots: u64,
    /// Payload bytes received.
    pub bytes_in: u64,
    /// Payload bytes sent.
    pub bytes_out: u64,
    /// Time between consecutive snapshots, milliseconds.
    pub gaps_ms: Vec<f32>,
    /// Time from sending an input until a snapshot acknowledged it, milliseconds (every input).
    pub ack_ms: Vec<f32>,
}

/// What one bot saw.
#[derive(Debug, Clone, Default)]
pub struct BotReport {
    /// The bot's display name.
    pub name: String,
    /// Whether it got into a room.
    pub connected: bool,
    /// The first error it met, if any (a failed connect, an error message, a lost connection).
    pub error: Option<String>,
    /// The room it played in.
    pub room: Option<String>,
    /// In a cluster, the hand-off it followed to another node (none when its room was on the node it
    /// reached first).
    pub handoff: Option<crate::client::HandoffTaken>,
    /// From connecting to `joined` (following a hand-off, when there was one).
    pub join_time: Option<Duration>,
    /// Snapshots received.
    pub snapshots: u64,
    /// Arrival time and tick of the first and the last snapshot.
    pub first_snapshot: Option<(Instant, u64)>,
    /// See `first_snapshot`.
    pub last_snapshot: Option<(Instant, u64)>,
    /// Round-trip times measured with ping, milliseconds.
    pub rtts_ms: Vec<f64>,
    /// Payload bytes received while in the room.
    pub bytes_in: u64,
    /// Payload bytes sent while in the room.
    pub bytes_out: u64,
    /// Time spent in the room.
    pub played: Duration,
    /// Ships this bot destroyed.
    pub kills: u64,
    /// Projectiles this bot fired (seen in a snapshot or a `hit`).
    pub shots: u64,
    /// Of those, the ones that hit a ship.
    pub hits: u64,
    /// Chat lines it said.
    pub chat_sent: u64,
    /// Chat lines it heard (its own included).
    pub chat_heard: u64,
    /// Measurements inside the caller's window.
    pub window: WindowStats,
}

impl BotReport {
    /// Snapshots per second over the span between the first and the last snapshot.
    pub fn snapshots_per_sec(&self) -> Option<f64> {
        let ((t0, _), (t1, _)) = (self.first_snapshot?, self.last_snapshot?);
        let span = (t1 - t0).as_secs_f64();
        (span > 0.0).then(|| (self.snapshots - 1) as f64 / span)
    }

    /// Server ticks per second, from the snapshots' tick numbers.
    pub fn ticks_per_sec(&self) -> Option<f64> {
        let ((t0, k0), (t1, k1)) = (self.first_snapshot?, self.last_snapshot?);
        let span = (t1 - t0).as_secs_f64();
        (span > 0.0).then(|| k1.saturating_sub(k0) as f64 / span)
    }
}

/// Gathers inputs into messages as the server asks (`welcome.input_batch` ticks to a message).
#[derive(Debug)]
pub struct InputBatcher {
    len: usize,
    inputs: InputList,
}

impl InputBatcher {
    /// A batcher of `input_batch` inputs per message (clamped to 1..=the protocol's limit).
    pub fn new(input_batch: u8) -> Self {
        Self {
            len: usize::from(input_batch).clamp(1, arena_protocol::MAX_INPUTS_PER_MESSAGE),
            inputs: InputList::new(),
        }
    }

    /// Adds this tick's input; gives the message to send once the batch is full.
    pub fn push(&mut self, input: Input) -> Option<ClientMsg> {
        let _ = self.inputs.push(input);
        if self.inputs.as_slice().len() < self.len {
            return None;
        }
        let msg = match self.inputs.as_slice() {
            [one] => ClientMsg::Input(*one),
            _ => ClientMsg::Inputs(InputBatch { inputs: self.inputs }),
        };
        self.inputs = InputList::new();
        Some(msg)
    }
}

/// Counts one player's shots from what the server tells it: each own projectile seen in a snapshot or
/// in a `hit`, once. Projectile ids rise in a room's firing order, and one player's shots are a
/// cooldown apart (never two between snapshots), so an own id above the highest seen is a new shot.
/// Shots seen while not counting (outside a measurement window) are passed over, and so are their hits.
#[derive(Debug, Default)]
pub struct ShotTally {
    last_seen: u32,
    /// The ids of the first and the last counted shot.
    counted: Option<(u32, u32)>,
}

impl ShotTally {
    /// Own projectile `id` was seen; whether it is a new shot, counted.
    pub fn shot(&mut self, id: u32, counting: bool) -> bool {
        if id <= self.last_seen {
            return false;
        }
        self.last_seen = id;
        if counting {
            self.counted = Some((self.counted.map_or(id, |(first, _)| first), id));
        }
        counting
    }

    /// Own projectile `id` hit a ship (call [`ShotTally::shot`] for it first); whether the hit counts:
    /// its shot was counted.
    pub fn hit_counts(&self, id: u32) -> bool {
        self.counted.is_some_and(|(first, last)| (first..=last).contains(&id))
    }
}

/// Runs one bot to the end of its duration (or its first error).
pub async fn run(config: BotConfig) -> BotReport {
    let mut report = BotReport { name: config.name.clone(), ..BotReport::default() };
    let request = match &config.room {
        Some(code) => ClientMsg::JoinRoom { code: code.clone() },
        None => ClientMsg::QuickPlay,
    };
    let asked = Instant::now();
    let (mut client, welcome, joined) =
        match Client::join_with(&config.url, &config.name, &request, config.link).await {
            Ok(joined) => joined,
            Err(err) => {
                report.error = Some(format!("join: {err}"));
                return report;
            }
        };
    report.connected = true;
    report.room = Some(joined.room.clone());
    report.handoff = client.handoff.clone();
    report.join_time = Some(asked.elapsed());
    let (in0, out0) = (client.bytes_in, client.bytes_out);
    if let Err(err) = play(&mut client, &config, &welcome, &joined, &mut report).await {
        report.error = Some(err.to_string());
    }
    report.bytes_in = client.bytes_in - in0;
    report.bytes_out = client.bytes_out - out0;
    // A bot whose time is up leaves as a player does, so its seat frees at once rather than being
    // held for a reconnect that will not come.
    if report.error.is_none() {
        let _ = client.send(&ClientMsg::Leave).await;
    }
    client.close().await;
    report
}

async fn play(
    client: &mut Client,
    config: &BotConfig,
    welcome: &Welcome,
    joined: &Joined,
    report: &mut BotReport,
) -> Result<(), ClientError> {
    let start = Instant::now();
    let deadline = start + config.duration;
    let mut inputs = interval(Duration::from_secs_f64(1.0 / f64::from(welcome.tick_rate.max(1))));
    inputs.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut pings = interval(PING_INTERVAL);
    pings.set_missed_tick_behavior(MissedTickBehavior::Skip);
    // Without chat, a timer that never fires before the bot's time is up.
    let chat_period = config.chat_every.unwrap_or(config.duration * 2).max(Duration::from_millis(100));
    let mut chat = interval_at(start + chat_period, chat_period);
    chat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut brain = Brain::new(config.behavior, config.seed);
    let mut seq = 0u32;
    // Inputs decided but not sent: the server asks for `input_batch` ticks' inputs per message.
    let mut batch = InputBatcher::new(welcome.input_batch);
    // Send times of recent inputs, by seq, for input-to-acknowledgement latency.
    let mut sent_at = [start; ACK_HISTORY];
    let mut last_ack = 0u32;
    let mut last_arrival: Option<Instant> = None;
    let (mut seen_in, mut seen_out) = (client.bytes_in, client.bytes_out);
    let mut tally = ShotTally::default();
    let me = welcome.player_id;
    let result = loop {
        tokio::select! {
            () = sleep_until(deadline) => break Ok(()),
            _ = inputs.tick() => {
                seq += 1;
                let view = View {
                    me: welcome.player_id,
                    snapshot: client.snapshot(),
                    map: &joined.map,
                    tuning: &welcome.tuning,
                    tick_rate: welcome.tick_rate,
                };
                let input = brain.decide(seq, view);
                // Timed from the moment it was decided, so the batching delay counts.
                sent_at[seq as usize % ACK_HISTORY] = Instant::now();
                if let Some(msg) = batch.push(input) {
                    client.send(&msg).await?;
                }
            }
            _ = pings.tick() => {
                let client_time = start.elapsed().as_secs_f64() * 1000.0;
                client.send(&ClientMsg::Ping { client_time }).await?;
            }
            _ = chat.tick() => {
                report.chat_sent += 1;
                let text = format!("{} says hello #{}", config.name, report.chat_sent);
                client.send(&ClientMsg::Chat { text, to: None }).await?;
            }
            msg = client.recv() => match msg? {
                Some(ServerMsg::Chat { .. }) => report.chat_heard += 1,
                Some(ServerMsg::Snapshot(_)) => {
                    let Some(snap) = client.snapshot() else { continue };
                    let now = Instant::now();
                    for p in snap.projectiles.iter().filter(|p| p.owner == me) {
                        report.shots += u64::from(tally.shot(p.id, true));
                    }
                    report.snapshots += 1;
                    report.first_snapshot.get_or_insert((now, snap.tick));
                    report.last_snapshot = Some((now, snap.tick));
                    let measuring = config.window.as_ref().is_some_and(|w| w.load(Ordering::Relaxed));
                    let ack = snap.ack_for(welcome.player_id).unwrap_or(0);
                    if measuring {
                        let w = &mut report.window;
                        w.snapshots += 1;
                        if let Some(prev) = last_arrival {
                            w.gaps_ms.push((now - prev).as_secs_f32() * 1000.0);
                        }
                        // Inputs older than the history are too old to time; skip them.
                        for acked in ack.saturating_sub(ACK_HISTORY as u32 - 1).max(last_ack + 1)..=ack {
                            w.ack_ms.push((now - sent_at[acked as usize % ACK_HISTORY]).as_secs_f32() * 1000.0);
                        }
                    }
                    last_ack = last_ack.max(ack);
                    last_arrival = Some(now);
                }
                Some(ServerMsg::Events { events, .. }) => {
                    for event in events {
                        match event {
                            arena_protocol::GameEvent::Kill { killer, .. } if killer == me => report.kills += 1,
                            arena_protocol::GameEvent::Hit { shooter, shot, .. } if shooter == me => {
                                report.shots += u64::from(tally.shot(shot, true));
                                report.hits += u64::from(tally.hit_counts(shot));
                            }
                            _ => {}
                        }
                    }
                }
                Some(ServerMsg::Pong { client_time, .. }) => {
                    report.rtts_ms.push(start.elapsed().as_secs_f64() * 1000.0 - client_time);
                }
                Some(ServerMsg::Error { code, message }) => break Err(ClientError::Server { code, message }),
                Some(_) => {}
                None => break Err(ClientError::Closed(client.close_reason.clone())),
            },
        }
        if config.window.as_ref().is_some_and(|w| w.load(Ordering::Relaxed)) {
            report.window.bytes_in += client.bytes_in - seen_in;
            report.window.bytes_out += client.bytes_out - seen_out;
        }
        (seen_in, seen_out) = (client.bytes_in, client.bytes_out);
    };
    report.played = start.elapsed();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shot_counts_once_and_its_hit_only_when_the_shot_was_counted() {
        let mut tally = ShotTally::default();
        assert!(!tally.shot(3, false), "before the window: not counted");
        assert!(!tally.hit_counts(3));
        assert!(tally.shot(7, true));
        assert!(!tally.shot(7, true), "seen again in the next snapshot");
        assert!(tally.shot(9, true), "first seen through its hit");
        assert!(tally.hit_counts(9) && tally.hit_counts(7));
        assert!(!tally.shot(12, false), "after the window");
        assert!(!tally.hit_counts(12) && !tally.hit_counts(3));
    }
}
