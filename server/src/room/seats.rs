//! Who is in a room: the seated players with their channels, the players away (dropped, their seat
//! held in the lobby until they come back or its time runs out), and the spectators.
//!
//! The room hands each seated player the same encoded messages; the slow-client policy lives here:
//! snapshots are latest-wins per player, and one who has not taken a snapshot for
//! [`SLOW_CLIENT_GRACE`] is disconnected with `too_slow`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use arena_protocol::{ErrorCode, Input, PlayerInfo};
use bevy_ecs::entity::Entity;
use bytes::Bytes;
use tokio::sync::mpsc;

use crate::ids::{Membership, PlayerId, RoomCode};
use crate::outbox::{Offer, Outbox, SnapshotBytes};

/// How long a player may go without taking a snapshot before the room disconnects it with `too_slow`.
pub(crate) const SLOW_CLIENT_GRACE: Duration = Duration::from_secs(3);

/// How a player's connection gave up its seat. The connection records it before it drops its input
/// sender, so when the room sees the channel close it knows whether the seat is held for a reconnect.
#[derive(Debug, Default)]
pub(crate) struct Departure(AtomicU8);

impl Departure {
    const STAYING: u8 = 0;
    const LEFT: u8 = 1;
    const DROPPED: u8 = 2;

    /// A fresh record for a seated player.
    pub(crate) fn staying() -> Arc<Self> {
        Arc::new(Self(AtomicU8::new(Self::STAYING)))
    }

    /// The player left on purpose (`leave`, or no reconnecting on this server).
    pub(crate) fn left(&self) {
        self.0.store(Self::LEFT, Ordering::Release);
    }

    /// The connection was lost; the lobby holds the seat for the reconnect grace period.
    pub(crate) fn dropped(&self) {
        self.0.store(Self::DROPPED, Ordering::Release);
    }

    fn is_dropped(&self) -> bool {
        self.0.load(Ordering::Acquire) == Self::DROPPED
    }
}

/// A player joining a room.
#[derive(Debug)]
pub(crate) struct JoinRequest {
    /// The player's id.
    pub(crate) player: PlayerId,
    /// The player's display name.
    pub(crate) name: String,
    /// The membership the room's messages to this player are tagged with.
    pub(crate) membership: Membership,
    /// The player's inputs. The connection drops the sender when the player leaves; the room notices
    /// and frees the ship.
    pub(crate) inputs: mpsc::Receiver<Input>,
    /// Where the room sends this player's messages.
    pub(crate) outbox: Arc<Outbox>,
    /// How the player leaves, once they do.
    pub(crate) departure: Arc<Departure>,
}

/// A seated player.
#[derive(Debug)]
pub(crate) struct Seat {
    pub(crate) player: PlayerId,
    pub(crate) name: String,
    pub(crate) entity: Entity,
    membership: Membership,
    inputs: mpsc::Receiver<Input>,
    outbox: Arc<Outbox>,
    departure: Arc<Departure>,
    /// Snapshots replaced unsent in a row: how far behind the client's reading is.
    missed_in_a_row: u32,
    /// Counts this seat in `arena_players` for as long as it exists, however the room ends (not a
    /// spectator's).
    _counted: Option<SeatGauge>,
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

/// A player whose connection dropped: the room keeps what it needs to resume them.
#[derive(Debug)]
pub(crate) struct Away {
    pub(crate) player: PlayerId,
    pub(crate) name: String,
    /// The last input their ship applied: the resumed ship continues after it.
    pub(crate) last_seq: u32,
    /// When to ask the lobby whether their held seat ran out.
    pub(crate) ask_at: tokio::time::Instant,
}

/// What the room learned of a seat whose input channel closed.
#[derive(Debug)]
pub(crate) enum Gone {
    /// Dropped: held for a reconnect.
    Dropped(Seat),
    /// Left for good.
    Left(Seat),
}

/// The room's players: seated, and away; and its spectators, who get what the players get but have no
/// ship (their seats hold a placeholder entity) and count for nothing in the room.
#[derive(Debug)]
pub(crate) struct Seats {
    pub(crate) seated: Vec<Seat>,
    pub(crate) away: Vec<Away>,
    pub(crate) watching: Vec<Seat>,
    /// The players gauge the seats count themselves in.
    gauge: metrics::Gauge,
}

/// What happened to an input drained from a seat, for the metrics.
pub(crate) trait InputSink {
    /// Queues `input` for `entity`'s ship; returns whether it was queued (not stale or overflowing).
    fn push(&mut self, entity: Entity, input: Input) -> bool;
}

impl Seats {
    /// Seats counted in `gauge`.
    pub(crate) fn new(gauge: metrics::Gauge) -> Self {
        Self { seated: Vec::new(), away: Vec::new(), watching: Vec::new(), gauge }
    }

    /// Whether anyone is seated or away.
    pub(crate) fn is_empty(&self) -> bool {
        self.seated.is_empty() && self.away.is_empty()
    }

    /// Takes a player coming back from `away`, if they are.
    pub(crate) fn take_away(&mut self, player: PlayerId) -> Option<Away> {
        let i = self.away.iter().position(|a| a.player == player)?;
        Some(self.away.swap_remove(i))
    }

    /// Takes a seat of `player` still here (a stale one: they joined again).
    pub(crate) fn take_seated(&mut self, player: PlayerId) -> Option<Seat> {
        let i = self.seated.iter().position(|s| s.player == player)?;
        Some(self.seated.swap_remove(i))
    }

    /// Seats a player whose ship is `entity`.
    pub(crate) fn seat(&mut self, req: JoinRequest, entity: Entity) {
        self.seated.push(Seat {
            _counted: Some(SeatGauge::new(&self.gauge)),
            player: req.player,
            name: req.name,
            entity,
            membership: req.membership,
            inputs: req.inputs,
            outbox: req.outbox,
            departure: req.departure,
            missed_in_a_row: 0,
        });
    }

    /// Takes a spectator in.
    pub(crate) fn watch(&mut self, req: JoinRequest) {
        self.watching.push(Seat {
            _counted: None,
            player: req.player,
            name: req.name,
            entity: Entity::PLACEHOLDER,
            membership: req.membership,
            inputs: req.inputs,
            outbox: req.outbox,
            departure: req.departure,
            missed_in_a_row: 0,
        });
    }

    /// Lets spectators whose connection stopped watching go (their channel closed); returns how many.
    pub(crate) fn drop_gone_watchers(&mut self) -> usize {
        let before = self.watching.len();
        self.watching.retain_mut(|seat| {
            loop {
                // A spectator sends no inputs; any that come are dropped.
                match seat.inputs.try_recv() {
                    Ok(_) => {}
                    Err(mpsc::error::TryRecvError::Empty) => break true,
                    Err(mpsc::error::TryRecvError::Disconnected) => break false,
                }
            }
        });
        before - self.watching.len()
    }

    /// Lets every spectator go (their channels closed first, so their sessions see the room gone), and
    /// tells them why.
    pub(crate) fn dismiss_watchers(&mut self, why: &arena_protocol::ServerMsg) {
        for mut seat in self.watching.drain(..) {
            seat.inputs.close();
            Self::send_to(&seat, why);
        }
    }

    /// Everyone who hears the room: the seated players, then the spectators.
    pub(crate) fn listeners(&self) -> impl Iterator<Item = &Seat> {
        self.seated.iter().chain(&self.watching)
    }

    /// Everyone in the room for `joined`: the seated, then those away (marked so).
    pub(crate) fn roster(&self) -> Vec<PlayerInfo> {
        let seated =
            self.seated.iter().map(|s| PlayerInfo { id: s.player.get(), name: s.name.clone(), away: false });
        let away =
            self.away.iter().map(|a| PlayerInfo { id: a.player.get(), name: a.name.clone(), away: true });
        seated.chain(away).collect()
    }

    /// Drains every seat's inputs into `sink`; seats whose channel closed are removed and returned in
    /// `gone` (cleared first). Returns the inputs that were not queued.
    pub(crate) fn drain_inputs(&mut self, sink: &mut impl InputSink, gone: &mut Vec<Gone>) -> u64 {
        gone.clear();
        let mut discarded = 0;
        let mut i = 0;
        while i < self.seated.len() {
            let seat = &mut self.seated[i];
            let connected = loop {
                match seat.inputs.try_recv() {
                    Ok(input) => {
                        if !sink.push(seat.entity, input) {
                            discarded += 1;
                        }
                    }
                    Err(mpsc::error::TryRecvError::Empty) => break true,
                    Err(mpsc::error::TryRecvError::Disconnected) => break false,
                }
            };
            if connected {
                i += 1;
                continue;
            }
            let seat = self.seated.swap_remove(i);
            gone.push(if seat.departure.is_dropped() { Gone::Dropped(seat) } else { Gone::Left(seat) });
        }
        discarded
    }

    /// Sends every seated player and spectator the events (reliable, first) and the snapshot (latest wins), and
    /// disconnects with `too_slow` a player who has not taken one for [`SLOW_CLIENT_GRACE`] (`slow_limit`
    /// snapshots in a row). Returns the snapshots replaced unsent.
    pub(crate) fn deliver(
        &mut self,
        code: RoomCode,
        tick: u64,
        events: Option<&Bytes>,
        snapshot: Option<&Arc<SnapshotBytes>>,
        slow_limit: u32,
    ) -> u64 {
        let mut replaced = 0;
        for seat in self.seated.iter_mut().chain(&mut self.watching) {
            if let Some(events) = events {
                // A failure means the connection is closing; its seat goes at the next tick.
                let _ = seat.outbox.send_events_for(seat.membership, tick, events.clone());
            }
            let Some(bytes) = snapshot else { continue };
            match seat.outbox.offer_snapshot(seat.membership, Arc::clone(bytes)) {
                Offer::Queued => seat.missed_in_a_row = 0,
                Offer::Replaced => {
                    replaced += 1;
                    seat.missed_in_a_row += 1;
                    if seat.missed_in_a_row >= slow_limit {
                        tracing::warn!(room = %code, player = %seat.player, "client too slow; disconnecting");
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
        replaced
    }

    /// Sends one seat a message of the room (e.g. `joined`).
    pub(crate) fn send_to(seat: &Seat, msg: &arena_protocol::ServerMsg) {
        // A failure means the connection is closing; the seat goes at the next tick.
        let _ = seat.outbox.send_for(seat.membership, msg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{Membership, PlayerId};

    /// A seat with its own outbox (the connection's end of it is dropped: nobody takes snapshots).
    fn seat(seats: &mut Seats, player: u32) -> (Arc<Outbox>, mpsc::Sender<Input>) {
        let (outbox, _rx) = Outbox::new();
        let outbox = Arc::new(outbox);
        let membership = Membership::new(u64::from(player)).expect("id");
        outbox.set_membership(membership);
        let (tx, inputs) = mpsc::channel(4);
        let req = JoinRequest {
            player: PlayerId::new(player).expect("id"),
            name: format!("p{player}"),
            membership,
            inputs,
            outbox: Arc::clone(&outbox),
            departure: Departure::staying(),
        };
        seats.seat(req, Entity::PLACEHOLDER);
        (outbox, tx)
    }

    fn snapshot(tick: u64) -> Arc<SnapshotBytes> {
        Arc::new(SnapshotBytes::keyframe(tick, Bytes::from_static(b"snapshot")))
    }

    fn code() -> RoomCode {
        RoomCode::parse("ABCDE").expect("code")
    }

    #[test]
    fn a_player_who_takes_no_snapshot_for_the_grace_is_closed_as_too_slow() {
        let mut seats = Seats::new(metrics::Gauge::noop());
        let (slow, _) = seat(&mut seats, 1);
        let (reading, _) = seat(&mut seats, 2);
        let limit = 5;
        for tick in 1..=u64::from(limit) {
            let replaced = seats.deliver(code(), tick, None, Some(&snapshot(tick)), limit);
            // The reader takes each one; the slow one's slot is replaced from the second on.
            assert!(reading.take_snapshot().is_some());
            assert_eq!(replaced, u64::from(tick > 1), "tick {tick}");
            assert!(!slow.is_closed(), "not yet at tick {tick}");
        }
        seats.deliver(code(), 6, None, Some(&snapshot(6)), limit);
        assert_eq!(slow.close_reason().map(|r| r.0), Some(ErrorCode::TooSlow));
        assert!(!reading.is_closed(), "the reading player is not touched");
    }

    #[test]
    fn closed_input_channels_say_how_the_player_went() {
        struct Count(u32);
        impl InputSink for Count {
            fn push(&mut self, _: Entity, _: Input) -> bool {
                self.0 += 1;
                self.0 <= 1
            }
        }
        let mut seats = Seats::new(metrics::Gauge::noop());
        let (_a, a_inputs) = seat(&mut seats, 1);
        let (_b, b_inputs) = seat(&mut seats, 2);
        let input = Input { seq: 1, movement: [0.0, 0.0], aim: 0.0, buttons: 0, view_tick: None };
        a_inputs.try_send(input).expect("room");
        a_inputs.try_send(Input { seq: 2, ..input }).expect("room");
        seats.seated[1].departure.dropped();
        drop(b_inputs);
        let mut gone = Vec::new();
        let mut sink = Count(0);
        assert_eq!(seats.drain_inputs(&mut sink, &mut gone), 1, "the second input was not queued");
        assert_eq!(sink.0, 2);
        assert!(matches!(gone.as_slice(), [Gone::Dropped(s)] if s.player.get() == 2), "{gone:?}");
        assert_eq!(seats.seated.len(), 1);
        drop(a_inputs);
        seats.drain_inputs(&mut sink, &mut gone);
        assert!(matches!(gone.as_slice(), [Gone::Left(s)] if s.player.get() == 1), "{gone:?}");
        assert!(seats.seated.is_empty());
    }
}
