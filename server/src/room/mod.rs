//! A match room: one task that owns a [`Simulation`], advances it on a fixed tick, and broadcasts one
//! encoded snapshot (and one encoded event message, when something happened) to all its players.
//!
//! The room never waits on a socket. Connections hand it inputs through per-player bounded channels that
//! it drains with `try_recv`; it hands them snapshots through their [`Outbox`] slot and events through
//! their control lane, neither of which blocks. Each room is its own tokio task, so rooms tick
//! concurrently on the runtime's worker threads (one per core) and a slow room does not hold up the
//! others.

pub mod clock;

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use arena_protocol::snapshot::sort_by_id;
use arena_protocol::{
    ErrorCode, GameEvent, Input, Joined, MapInfo, PlayerInfo, ServerMsg, Snapshot, SnapshotFrame,
};
use bevy_ecs::entity::Entity;
use bytes::Bytes;
use tokio::sync::mpsc::{self, error::TryRecvError};
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::assets::GameData;
use crate::lobby::Lobby;
use crate::outbox::{Offer, Outbox, SnapshotBytes};
use crate::sim::Simulation;
use clock::TickClock;

/// Depth of a room's command channel (join requests). Joins are rare; a full channel means the room is
/// stuck, and the join fails with `room_closed` rather than waiting.
pub const ROOM_COMMAND_QUEUE: usize = 64;

/// Depth of each player's input channel. One input per tick is normal; this absorbs a few ticks of
/// network bunching. Inputs beyond it are dropped at the connection.
pub const INPUT_QUEUE: usize = 32;

/// How long a player may go without taking a snapshot before the room disconnects it with `too_slow`.
pub const SLOW_CLIENT_GRACE: Duration = Duration::from_secs(3);

/// A request to a room.
#[derive(Debug)]
pub enum RoomCommand {
    /// Seat a player (its seat is already reserved in the lobby).
    Join(JoinRequest),
}

/// How a player's connection gave up its seat. The connection records it before it drops its input
/// sender, so when the room sees the channel close it knows whether to hold the seat for a reconnect.
#[derive(Debug, Default)]
pub struct Departure(AtomicU8);

impl Departure {
    const STAYING: u8 = 0;
    const LEFT: u8 = 1;
    const DROPPED: u8 = 2;

    /// The player left on purpose (`leave`, or no reconnecting on this server).
    pub fn left(&self) {
        self.0.store(Self::LEFT, Ordering::Release);
    }

    /// The connection was lost; the lobby holds the seat for the reconnect grace period.
    pub fn dropped(&self) {
        self.0.store(Self::DROPPED, Ordering::Release);
    }

    fn is_dropped(&self) -> bool {
        self.0.load(Ordering::Acquire) == Self::DROPPED
    }
}

impl Departure {
    /// A fresh record for a seated player.
    pub fn staying() -> Arc<Self> {
        Arc::new(Self(AtomicU8::new(Self::STAYING)))
    }
}

/// A player joining a room.
#[derive(Debug)]
pub struct JoinRequest {
    /// The player's id.
    pub player: u32,
    /// The player's display name.
    pub name: String,
    /// The membership id snapshots are offered under.
    pub membership: u64,
    /// The player's inputs. The connection drops the sender when the player leaves; the room notices
    /// and frees the ship.
    pub inputs: mpsc::Receiver<Input>,
    /// Where the room sends this player's messages.
    pub outbox: Arc<Outbox>,
    /// How the player leaves, once they do.
    pub departure: Arc<Departure>,
}

/// What a room is, fixed at creation.
#[derive(Debug, Clone)]
pub struct RoomSpec {
    /// The room's code.
    pub code: String,
    /// Listed publicly and filled by quick play.
    pub public: bool,
    /// The simulation seed.
    pub seed: u64,
}

#[derive(Debug)]
struct Seat {
    player: u32,
    name: String,
    entity: Entity,
    membership: u64,
    inputs: mpsc::Receiver<Input>,
    outbox: Arc<Outbox>,
    departure: Arc<Departure>,
    /// Snapshots replaced unsent in a row: how far behind the client's reading is.
    missed_in_a_row: u32,
    /// Counts this seat in `arena_players` for as long as it exists, however the room ends.
    _counted: SeatGauge,
}

/// Adds one to the players gauge while it lives, so no exit path (a panicking room included) can leave
/// the gauge counting seats that are gone.
#[derive(Debug)]
struct SeatGauge(metrics::Gauge);

impl SeatGauge {
    fn new(gauge: &metrics::Gauge) -> Self {
        gauge.increment(1.0);
        Self(gauge.clone())
    }
}

impl Drop for SeatGauge {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// A player who lost the connection and may come back.
#[derive(Debug)]
struct Held {
    player: u32,
    name: String,
    last_seq: u32,
    until: Instant,
    /// Whether the lobby already said the seat was reclaimed once (a join is on its way).
    reclaimed: bool,
}

/// A room and everything its task owns.
#[derive(Debug)]
pub struct Room {
    spec: RoomSpec,
    sim: Simulation,
    map: MapInfo,
    seats: Vec<Seat>,
    held: Vec<Held>,
    commands: mpsc::Receiver<RoomCommand>,
    lobby: Arc<Lobby>,
    tick_rate: u64,
    snapshot_rate: u64,
    capacity: u16,
    /// Reused every snapshot so that, once grown, building one allocates nothing.
    snapshot: Snapshot,
    /// The last snapshot broadcast (sorted by id): the base of the next delta.
    base: Option<Snapshot>,
    frame: SnapshotFrame,
    encoded: Vec<u8>,
    events: Vec<GameEvent>,
    metrics: RoomMetrics,
    /// The scores last sent, and snapshots since: scores go out when they change, and once a second.
    last_scores: Vec<[u32; 3]>,
    snapshots_since_scores: u64,
}

/// The metric handles a room updates (cheap clones of the server's).
#[derive(Debug)]
struct RoomMetrics {
    tick_duration: metrics::Histogram,
    tick_histogram: metrics::Histogram,
    ticks: metrics::Counter,
    ticks_late: metrics::Counter,
    ticks_skipped: metrics::Counter,
    players: metrics::Gauge,
    snapshots_dropped: metrics::Counter,
    inputs_applied: metrics::Counter,
    inputs_discarded: metrics::Counter,
}

impl Room {
    /// A room that takes its settings from the lobby's configuration.
    pub fn new(
        spec: RoomSpec,
        game: Arc<GameData>,
        lobby: Arc<Lobby>,
        commands: mpsc::Receiver<RoomCommand>,
    ) -> Self {
        let config = lobby.config();
        Self {
            map: game.map_info(),
            sim: Simulation::new(game, config.tick_rate, spec.seed),
            spec,
            seats: Vec::new(),
            held: Vec::new(),
            commands,
            tick_rate: u64::from(config.tick_rate),
            snapshot_rate: u64::from(config.snapshot_rate),
            capacity: config.room_capacity,
            snapshot: Snapshot::default(),
            base: None,
            frame: SnapshotFrame::default(),
            encoded: Vec::with_capacity(2048),
            events: Vec::new(),
            last_scores: Vec::new(),
            snapshots_since_scores: 0,
            metrics: {
                let m = lobby.metrics();
                RoomMetrics {
                    tick_duration: m.tick_duration.clone(),
                    tick_histogram: m.tick_histogram.clone(),
                    ticks: m.ticks.clone(),
                    ticks_late: m.ticks_late.clone(),
                    ticks_skipped: m.ticks_skipped.clone(),
                    players: m.players.clone(),
                    snapshots_dropped: m.snapshots_dropped.clone(),
                    inputs_applied: m.inputs_applied.clone(),
                    inputs_discarded: m.inputs_discarded.clone(),
                }
            },
            lobby,
        }
    }

    /// Runs the room until it closes (empty past its grace period) or `shutdown` is cancelled.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let config = self.lobby.config();
        let grace = config.empty_room_grace;
        let mut clock = TickClock::new(Instant::now(), config.tick_interval());
        let late_after = config.tick_interval() / 2;
        let mut empty_since: Option<Instant> = None;
        loop {
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                () = sleep_until(clock.next_deadline()) => {}
            }
            let now = Instant::now();
            let plan = clock.plan(now);
            if plan.skipped > 0 {
                warn!(
                    room = %self.spec.code,
                    behind_ms = plan.behind.as_millis() as u64,
                    skipped = plan.skipped,
                    "room fell behind; skipped ticks"
                );
            }
            self.metrics.ticks.increment(plan.run);
            self.metrics.ticks_skipped.increment(plan.skipped);
            if plan.behind > late_after {
                self.metrics.ticks_late.increment(plan.run);
            }
            let mut snapshot_due = false;
            for i in 0..plan.run {
                let started = std::time::Instant::now();
                snapshot_due |= self.tick(now);
                if snapshot_due && i + 1 == plan.run {
                    // Events go out with the snapshot, batched: at most one control message per snapshot,
                    // handed to each player together with the snapshot so its writer sends both at once.
                    let events = self.encode_events();
                    self.broadcast_snapshot(events);
                }
                let took = started.elapsed().as_secs_f64();
                self.metrics.tick_duration.record(took);
                self.metrics.tick_histogram.record(took);
            }

            if self.seats.is_empty() && self.held.is_empty() {
                let since = *empty_since.get_or_insert(now);
                if now - since >= grace {
                    if self.lobby.close_if_empty(&self.spec.code) {
                        break;
                    }
                    empty_since = None;
                }
            } else {
                empty_since = None;
            }
        }
        debug!(room = %self.spec.code, "room task ended");
    }

    /// Runs one tick; returns whether a snapshot is due after it.
    fn tick(&mut self, now: Instant) -> bool {
        // Departures first: a player who left and came straight back must lose the old seat before
        // taking the new one.
        self.collect_inputs(now);
        self.admit_players();
        self.expire_holds(now);
        self.sim.step();
        self.metrics.inputs_applied.increment(self.sim.take_inputs_applied());
        // A snapshot after every tick where floor(tick * snapshot_rate / tick_rate) steps up: exactly
        // `snapshot_rate` per second, evenly spread, whether or not the rates divide.
        let tick = self.sim.tick();
        (tick * self.snapshot_rate) / self.tick_rate != ((tick - 1) * self.snapshot_rate) / self.tick_rate
    }

    fn admit_players(&mut self) {
        while let Ok(RoomCommand::Join(req)) = self.commands.try_recv() {
            fault_hook(&req.name);
            // Defensive: a seat of the same player still here is stale; retire it without a word.
            if let Some(i) = self.seats.iter().position(|s| s.player == req.player) {
                let stale = self.seats.swap_remove(i);
                self.sim.despawn_ship(stale.entity);
            }
            let resumed =
                self.held.iter().position(|h| h.player == req.player).map(|i| self.held.swap_remove(i));
            let entity = match &resumed {
                Some(held) => self.sim.spawn_ship(req.player, held.last_seq),
                None => self.sim.add_player(req.player),
            };
            self.sim.push_event(GameEvent::Join { id: req.player, name: req.name.clone() });
            self.seats.push(Seat {
                _counted: SeatGauge::new(&self.metrics.players),
                player: req.player,
                name: req.name,
                entity,
                membership: req.membership,
                inputs: req.inputs,
                outbox: req.outbox,
                departure: req.departure,
                missed_in_a_row: 0,
            });
            let players =
                self.seats.iter().map(|s| PlayerInfo { id: s.player, name: s.name.clone() }).collect();
            let joined = Joined {
                room: self.spec.code.clone(),
                public: self.spec.public,
                capacity: self.capacity,
                map: self.map.clone(),
                players,
            };
            if let Some(seat) = self.seats.last() {
                // A failure here means the connection is closing; the seat goes at the next tick.
                let _ = seat.outbox.send_for(seat.membership, &ServerMsg::Joined(joined));
                info!(
                    room = %self.spec.code,
                    player = seat.player,
                    resumed = resumed.is_some(),
                    players = self.seats.len(),
                    "player joined"
                );
            }
        }
    }

    fn collect_inputs(&mut self, now: Instant) {
        let mut gone = Vec::new();
        for (i, seat) in self.seats.iter_mut().enumerate() {
            let connected = loop {
                match seat.inputs.try_recv() {
                    Ok(input) => {
                        if self.sim.push_input(seat.entity, input) != crate::sim::InputOutcome::Queued {
                            self.metrics.inputs_discarded.increment(1);
                        }
                    }
                    Err(TryRecvError::Empty) => break true,
                    Err(TryRecvError::Disconnected) => break false,
                }
            };
            if !connected {
                gone.push(i);
            }
        }
        let grace = self.lobby.config().reconnect_grace;
        for i in gone.into_iter().rev() {
            let seat = self.seats.swap_remove(i);
            let last_seq = self.sim.despawn_ship(seat.entity);
            if seat.departure.is_dropped() {
                info!(room = %self.spec.code, player = seat.player, "player disconnected; seat held");
                self.held.push(Held {
                    player: seat.player,
                    name: seat.name,
                    last_seq,
                    until: now + grace,
                    reclaimed: false,
                });
            } else {
                info!(room = %self.spec.code, player = seat.player, "player left");
                self.sim.remove_score(seat.player);
                self.sim.push_event(GameEvent::Leave { id: seat.player });
            }
        }
    }

    /// Gives up on disconnected players whose grace period ran out.
    fn expire_holds(&mut self, now: Instant) {
        let mut i = 0;
        while i < self.held.len() {
            let held = &mut self.held[i];
            if now < held.until {
                i += 1;
                continue;
            }
            // If the lobby no longer holds it, the player is on the way back in: wait a little longer once.
            if !self.lobby.expire_hold(&self.spec.code, held.player) && !held.reclaimed {
                held.reclaimed = true;
                held.until = now + Duration::from_secs(5);
                i += 1;
                continue;
            }
            let held = self.held.swap_remove(i);
            info!(room = %self.spec.code, player = held.player, name = %held.name, "reconnect grace ran out");
            self.sim.remove_score(held.player);
            self.sim.push_event(GameEvent::Leave { id: held.player });
        }
    }

    /// Takes the events since the last snapshot and encodes them as one message, if there were any.
    fn encode_events(&mut self) -> Option<Bytes> {
        self.sim.take_events(&mut self.events);
        if self.events.is_empty() || self.seats.is_empty() {
            self.events.clear();
            return None;
        }
        let msg = ServerMsg::Events { tick: self.sim.tick(), events: std::mem::take(&mut self.events) };
        let encoded = arena_protocol::encode(&msg);
        if let ServerMsg::Events { events, .. } = msg {
            self.events = events;
        }
        match encoded {
            Ok(bytes) => Some(Bytes::from(bytes)),
            Err(err) => {
                warn!(room = %self.spec.code, %err, "could not encode events");
                None
            }
        }
    }

    /// Encodes `self.frame` as a snapshot message (one copy, shared by every player who gets it).
    fn encode_frame(&mut self) -> Option<Bytes> {
        let msg = ServerMsg::Snapshot(std::mem::take(&mut self.frame));
        self.encoded.clear();
        let encoded = arena_protocol::encode_into(&msg, &mut self.encoded);
        if let ServerMsg::Snapshot(frame) = msg {
            self.frame = frame;
        }
        match encoded {
            Ok(()) => Some(Bytes::copy_from_slice(&self.encoded)),
            Err(err) => {
                warn!(room = %self.spec.code, %err, "could not encode snapshot");
                None
            }
        }
    }

    /// Sends every player the events (reliable, first) and the snapshot (latest wins): a keyframe, and
    /// a delta against the previous snapshot for the players who got that one.
    fn broadcast_snapshot(&mut self, events: Option<Bytes>) {
        if self.seats.is_empty() {
            return;
        }
        self.sim.write_snapshot(&mut self.snapshot);
        self.snapshots_since_scores += 1;
        if self.snapshot.scores == self.last_scores && self.snapshots_since_scores < self.snapshot_rate {
            self.snapshot.scores.clear();
        } else {
            self.last_scores.clone_from(&self.snapshot.scores);
            self.snapshots_since_scores = 0;
        }
        sort_by_id(&mut self.snapshot);
        self.frame.keyframe(&self.snapshot);
        let keyframe = self.encode_frame();
        let tick_rate = u16::try_from(self.tick_rate).unwrap_or(u16::MAX);
        let delta_base = match &self.base {
            Some(base) => self.frame.delta(base, &self.snapshot, tick_rate).then_some(base.tick),
            None => None,
        };
        let delta = delta_base.and_then(|base| Some((base, self.encode_frame()?)));
        // The snapshot becomes the next base; the old base's buffers are reused for the next snapshot.
        let next_buffers = self.base.replace(std::mem::take(&mut self.snapshot));
        self.snapshot = next_buffers.unwrap_or_default();
        let tick = self.sim.tick();
        // No snapshot only if its encoding failed (a bug, logged); the events still go.
        let snapshot = keyframe.map(|keyframe| Arc::new(SnapshotBytes { tick, keyframe, delta }));
        let slow_limit = (SLOW_CLIENT_GRACE.as_secs_f64() * self.snapshot_rate as f64).ceil() as u32;
        for seat in &mut self.seats {
            if let Some(events) = &events {
                let _ = seat.outbox.send_events_for(seat.membership, tick, events.clone());
            }
            let Some(bytes) = &snapshot else { continue };
            match seat.outbox.offer_snapshot(seat.membership, bytes.clone()) {
                Offer::Queued => seat.missed_in_a_row = 0,
                Offer::Replaced => {
                    self.metrics.snapshots_dropped.increment(1);
                    seat.missed_in_a_row += 1;
                    if seat.missed_in_a_row >= slow_limit {
                        warn!(room = %self.spec.code, player = seat.player, "client too slow; disconnecting");
                        seat.outbox.close(
                            ErrorCode::TooSlow,
                            format!(
                                "no snapshot was read for {} s; the connection is too slow",
                                SLOW_CLIENT_GRACE.as_secs()
                            ),
                        );
                    }
                }
                Offer::Gone => {}
            }
        }
    }
}

/// A test-only fault hook: in debug builds, a player named as `ARENA_TEST_PANIC_ON_JOIN` says makes
/// the room panic, to test that one room's failure stays in that room. Release builds compile it out,
/// and without the variable it does nothing.
#[cfg(debug_assertions)]
fn fault_hook(name: &str) {
    if std::env::var("ARENA_TEST_PANIC_ON_JOIN").is_ok_and(|trigger| trigger == name) {
        panic!("fault hook: {name} joined");
    }
}

#[cfg(not(debug_assertions))]
fn fault_hook(_: &str) {}
