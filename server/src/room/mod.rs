//! A match room: one task that owns a [`Simulation`], advances it on a fixed tick, and broadcasts one
//! encoded snapshot to all its players.
//!
//! The room never waits on a socket. Connections hand it inputs through per-player bounded channels that
//! it drains with `try_recv`; it hands them snapshots through their [`Outbox`] slot, which never blocks.
//! Each room is its own tokio task, so rooms tick concurrently on the runtime's worker threads (one per
//! core) and a slow room does not hold up the others.

pub mod clock;

use std::sync::Arc;
use std::time::Duration;

use arena_protocol::{ErrorCode, Input, Joined, PlayerInfo, ServerMsg, Snapshot};
use bevy_ecs::entity::Entity;
use bytes::Bytes;
use tokio::sync::mpsc::{self, error::TryRecvError};
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::assets::ArenaConfig;
use crate::lobby::Lobby;
use crate::outbox::{Offer, Outbox};
use crate::sim::Simulation;
use clock::TickClock;

/// Depth of a room's command channel (join requests). Joins are rare; a full channel means the room is
/// stuck, and the join fails with `room_closed` rather than waiting.
pub const ROOM_COMMAND_QUEUE: usize = 64;

/// Depth of each player's input channel. One input per tick is normal; this absorbs a few ticks of
/// network bunching. Inputs beyond it are dropped at the connection and counted.
pub const INPUT_QUEUE: usize = 32;

/// How long a player may go without taking a snapshot before the room disconnects it with `too_slow`.
pub const SLOW_CLIENT_GRACE: Duration = Duration::from_secs(3);

/// A request to a room.
#[derive(Debug)]
pub enum RoomCommand {
    /// Seat a player (its seat is already reserved in the lobby).
    Join(JoinRequest),
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
    /// Snapshots replaced unsent in a row: how far behind the client's reading is.
    missed_in_a_row: u32,
}

/// A room and everything its task owns.
#[derive(Debug)]
pub struct Room {
    spec: RoomSpec,
    sim: Simulation,
    seats: Vec<Seat>,
    commands: mpsc::Receiver<RoomCommand>,
    lobby: Arc<Lobby>,
    tick_rate: u64,
    snapshot_rate: u64,
    capacity: u16,
    /// Reused every snapshot so that, once grown, building one allocates nothing.
    snapshot: Snapshot,
    encoded: Vec<u8>,
}

impl Room {
    /// A room that will take its settings from the lobby's configuration.
    pub fn new(
        spec: RoomSpec,
        arena: Arc<ArenaConfig>,
        lobby: Arc<Lobby>,
        commands: mpsc::Receiver<RoomCommand>,
    ) -> Self {
        let config = lobby.config();
        let dt = 1.0 / f32::from(config.tick_rate);
        Self {
            sim: Simulation::new(arena, dt, spec.seed),
            spec,
            seats: Vec::new(),
            commands,
            tick_rate: u64::from(config.tick_rate),
            snapshot_rate: u64::from(config.snapshot_rate),
            capacity: config.room_capacity,
            snapshot: Snapshot::default(),
            encoded: Vec::with_capacity(1024),
            lobby,
        }
    }

    /// Runs the room until it closes (empty past its grace period) or `shutdown` is cancelled.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let config = self.lobby.config();
        let grace = config.empty_room_grace;
        let mut clock = TickClock::new(Instant::now(), config.tick_interval());
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
            let mut snapshot_due = false;
            for _ in 0..plan.run {
                snapshot_due |= self.tick();
            }
            if snapshot_due {
                self.broadcast_snapshot();
            }

            if self.seats.is_empty() {
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
    fn tick(&mut self) -> bool {
        self.admit_players();
        self.collect_inputs();
        self.sim.step();
        // A snapshot after every tick where floor(tick * snapshot_rate / tick_rate) steps up: exactly
        // `snapshot_rate` per second, evenly spread, whether or not the rates divide.
        let tick = self.sim.tick();
        (tick * self.snapshot_rate) / self.tick_rate != ((tick - 1) * self.snapshot_rate) / self.tick_rate
    }

    fn admit_players(&mut self) {
        while let Ok(RoomCommand::Join(req)) = self.commands.try_recv() {
            if req.outbox.is_closed() {
                // Gone before we got to it; its seat was released by the connection.
                continue;
            }
            let entity = self.sim.spawn_ship(req.player);
            self.seats.push(Seat {
                player: req.player,
                name: req.name,
                entity,
                membership: req.membership,
                inputs: req.inputs,
                outbox: req.outbox,
                missed_in_a_row: 0,
            });
            let players =
                self.seats.iter().map(|s| PlayerInfo { id: s.player, name: s.name.clone() }).collect();
            let size = self.sim.arena_size();
            let joined = Joined {
                room: self.spec.code.clone(),
                public: self.spec.public,
                capacity: self.capacity,
                arena: size.to_array(),
                players,
            };
            if let Some(seat) = self.seats.last() {
                // A failure here means the connection is closing; the seat goes at the next tick.
                let _ = seat.outbox.send(ServerMsg::Joined(joined));
                info!(room = %self.spec.code, player = seat.player, players = self.seats.len(), "player joined");
            }
        }
    }

    fn collect_inputs(&mut self) {
        let sim = &mut self.sim;
        let code = &self.spec.code;
        self.seats.retain_mut(|seat| {
            let connected = loop {
                match seat.inputs.try_recv() {
                    Ok(input) => {
                        sim.push_input(seat.entity, input);
                    }
                    Err(TryRecvError::Empty) => break !seat.outbox.is_closed(),
                    Err(TryRecvError::Disconnected) => break false,
                }
            };
            if !connected {
                sim.despawn(seat.entity);
                info!(room = %code, player = seat.player, "player left");
            }
            connected
        });
    }

    fn broadcast_snapshot(&mut self) {
        if self.seats.is_empty() {
            return;
        }
        self.sim.write_snapshot(&mut self.snapshot);
        self.encoded.clear();
        // `ServerMsg::Snapshot` borrows nothing, so encode a view with the same shape instead of moving
        // the reusable snapshot in and out of an enum.
        if let Err(err) = arena_protocol::encode_into(&SnapshotMsg(&self.snapshot), &mut self.encoded) {
            warn!(room = %self.spec.code, %err, "could not encode snapshot");
            return;
        }
        // One copy per room per snapshot; every player gets a handle to the same bytes.
        let bytes = Bytes::copy_from_slice(&self.encoded);
        let slow_limit = (SLOW_CLIENT_GRACE.as_secs_f64() * self.snapshot_rate as f64).ceil() as u32;
        for seat in &mut self.seats {
            match seat.outbox.offer_snapshot(seat.membership, bytes.clone()) {
                Offer::Queued => seat.missed_in_a_row = 0,
                Offer::Replaced => {
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

/// Serializes exactly as `ServerMsg::Snapshot(snapshot)` does, from a borrow.
struct SnapshotMsg<'a>(&'a Snapshot);

impl serde::Serialize for SnapshotMsg<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Snapshot", 4)?;
        s.serialize_field("t", "snapshot")?;
        s.serialize_field("tick", &self.0.tick)?;
        s.serialize_field("acks", &self.0.acks)?;
        s.serialize_field("entities", &self.0.entities)?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arena_protocol::examples;

    #[test]
    fn borrowed_snapshot_encodes_like_the_message() {
        for (_, msg) in examples::server_messages() {
            if let ServerMsg::Snapshot(snap) = &msg {
                let mut borrowed = Vec::new();
                arena_protocol::encode_into(&SnapshotMsg(snap), &mut borrowed).expect("encode");
                assert_eq!(borrowed, arena_protocol::encode(&msg).expect("encode"));
                return;
            }
        }
        panic!("no snapshot example");
    }
}
