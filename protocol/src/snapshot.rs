//! Snapshots: the state of a room at one tick ([`Snapshot`]) and how it travels ([`SnapshotFrame`]).
//!
//! A frame is either a **keyframe** (every ship and every projectile in flight) or a **delta** against
//! the previous snapshot the same connection received: ships as differences from that snapshot
//! (dead-reckoned along their velocity, fields that match left out), and only the projectiles fired
//! since. The server builds both with [`SnapshotFrame::keyframe`] and [`SnapshotFrame::delta`]; a client
//! turns whichever arrives back into a [`Snapshot`] with a [`SnapshotDecoder`].
//!
//! Why deltas against the previous *broadcast* snapshot, not against each client's last acknowledged one
//! (as UDP games do): a room encodes one delta and one keyframe per snapshot and every player gets one of
//! those two buffers, so the cost stays per room, not per player. TCP delivers in order, so a client
//! misses a snapshot only when the server's latest-wins slot replaced an unsent one; the connection's
//! writer knows when that happened and sends the keyframe instead.

use serde::de::{self, SeqAccess, Visitor};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::{AIM_STEPS, GameEvent, Phase, dequantize, dequantize_aim};

/// Steps in a full turn of aim, as an integer.
const TURN: i64 = AIM_STEPS as i64;

/// The most ticks a delta may span. A room's previous snapshot is older than this only after it had no
/// players for a long while; it then sends keyframes only. (It also keeps `velocity × ticks` exact in
/// JavaScript's doubles.)
pub const MAX_DELTA_TICKS: u64 = u16::MAX as u64;

/// The state of a room at one simulation tick, as the server has it and as a client rebuilds it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// The simulation tick this state is from. Ticks advance by one per `1 / tick_rate` seconds.
    pub tick: u64,
    /// Every seated player's ship, alive or waiting to respawn. Each carries its player's input
    /// acknowledgement, so the same bytes serve every player.
    pub ships: Vec<ShipState>,
    /// Every projectile in flight.
    pub projectiles: Vec<ProjectileState>,
    /// Bit `i` is set when the map's pickup `i` can be picked up now.
    pub pickups: u64,
    /// The match's phase and when it ends.
    pub match_state: MatchState,
    /// `[player_id, kills, deaths]` for every player. On the server, empty means "unchanged since the
    /// last list sent" (the room leaves it empty between changes, see [`SnapshotFrame::scores`]); a
    /// [`SnapshotDecoder`] fills it with the last list received.
    pub scores: Vec<[u32; 3]>,
}

impl Snapshot {
    /// The last input sequence number the server applied for `player`, if the player has a ship.
    pub fn ack_for(&self, player: u32) -> Option<u32> {
        self.ship(player).map(|s| s.ack)
    }

    /// The ship of `player`, if any.
    pub fn ship(&self, player: u32) -> Option<&ShipState> {
        self.ships.iter().find(|s| s.id == player)
    }

    /// Whether pickup `index` is available.
    pub fn pickup_up(&self, index: usize) -> bool {
        index < 64 && self.pickups & (1 << index) != 0
    }
}

/// One ship's state, quantized (see [`crate::POSITION_SCALE`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShipState {
    /// The owning player's id.
    pub id: u32,
    /// Position, 1/8 units.
    pub x: i32,
    /// Position, 1/8 units.
    pub y: i32,
    /// Velocity, 1/8 units per second.
    pub vx: i32,
    /// Velocity, 1/8 units per second.
    pub vy: i32,
    /// Facing, 1/4096 turns (0 to 4095; see [`crate::AIM_STEPS`]).
    pub aim: u16,
    /// Health, 0 to `max_health`.
    pub health: u16,
    /// 0 while alive; while dead, the ticks until the ship respawns.
    pub respawn_ticks: u16,
    /// The sequence number of the last input of this player the server applied (0 before the first).
    pub ack: u32,
}

impl ShipState {
    /// Whether the ship is alive (in play).
    pub fn alive(&self) -> bool {
        self.respawn_ticks == 0
    }

    /// Position `[x, y]` in arena units.
    pub fn pos(&self) -> [f32; 2] {
        [dequantize(self.x), dequantize(self.y)]
    }

    /// Velocity `[vx, vy]` in arena units per second.
    pub fn vel(&self) -> [f32; 2] {
        [dequantize(self.vx), dequantize(self.vy)]
    }

    /// Facing, radians.
    pub fn aim_radians(&self) -> f32 {
        dequantize_aim(self.aim)
    }

    /// A ship of player `id` with every field 0: the base of a ship a delta has not seen before.
    fn zero(id: u32) -> Self {
        Self { id, ..Self::default() }
    }
}

/// One projectile in flight. It flies in a straight line from where it was at `tick` until `end_tick`
/// (a wall, the arena's edge or its lifetime), unless a `hit` event names it first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProjectileState {
    /// Projectile id, unique within the room.
    pub id: u32,
    /// The player who fired it.
    pub owner: u32,
    /// The sequence number of the owner's input that fired it, so the owner can match it with the
    /// projectile it predicted.
    pub seq: u32,
    /// The tick its position is from.
    pub tick: u64,
    /// Position at `tick`, 1/8 units.
    pub x: i32,
    /// Position at `tick`, 1/8 units.
    pub y: i32,
    /// Velocity, 1/8 units per second.
    pub vx: i32,
    /// Velocity, 1/8 units per second.
    pub vy: i32,
    /// The first tick it is no longer in flight at.
    pub end_tick: u64,
}

impl ProjectileState {
    /// Position `[x, y]` in arena units at `tick`, for a server running `tick_rate` ticks per second.
    pub fn pos_at(&self, tick: u64, tick_rate: u16) -> [f32; 2] {
        let secs = (tick as f64 - self.tick as f64) / f64::from(tick_rate.max(1));
        let at =
            |p: i32, v: i32| ((f64::from(p) + f64::from(v) * secs) / f64::from(crate::POSITION_SCALE)) as f32;
        [at(self.x, self.vx), at(self.y, self.vy)]
    }

    /// Whether it is in flight at `tick`.
    pub fn in_flight(&self, tick: u64) -> bool {
        tick < self.end_tick
    }
}

/// The match's phase and its end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct MatchState {
    /// The phase.
    pub phase: Phase,
    /// The tick the phase ends at; 0 when it has no set end (warm-up waits for players).
    pub ends_tick: u64,
}

/// A snapshot on the wire: a keyframe (`base` 0) or a delta against the snapshot `base` ticks earlier.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SnapshotFrame {
    /// The simulation tick this state is from.
    pub tick: u64,
    /// 0 for a keyframe; otherwise how many ticks before `tick` the snapshot this delta applies to is
    /// (the previous snapshot this connection received).
    pub base: u16,
    /// Every ship, as a difference from its state in the base (from all-zero in a keyframe, or for a
    /// ship the base does not have). A ship of the base that is not listed is gone.
    pub ships: Vec<ShipDelta>,
    /// A keyframe: every projectile in flight. A delta: the projectiles fired since the base; the others
    /// fly on as the base said. Left out when empty (most deltas).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub projectiles: Vec<ProjectileRecord>,
    /// The pickup bit set; always in a keyframe, in a delta only when it changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pickups: Option<u64>,
    /// The match state; always in a keyframe, in a delta only when it changed.
    #[serde(rename = "match", default, skip_serializing_if = "Option::is_none")]
    pub match_state: Option<MatchState>,
    /// `[player_id, kills, deaths]` for every player, when the scores changed since the last list the
    /// room sent or once a second; empty (left out) means "unchanged".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scores: Vec<[u32; 3]>,
}

/// Bits of [`ShipDelta::mask`], in the order their values follow it on the wire. The fields that change
/// most come first, so the mask usually stays below 128 (one byte).
pub mod ship_fields {
    /// Position x, minus the base's x moved along the base's velocity.
    pub const X: u8 = 1 << 0;
    /// Position y, likewise.
    pub const Y: u8 = 1 << 1;
    /// The input acknowledgement, minus the base's plus the ticks between (one input a tick).
    pub const ACK: u8 = 1 << 2;
    /// The aim, the shorter way round (−2048 to 2047).
    pub const AIM: u8 = 1 << 3;
    /// Velocity x.
    pub const VX: u8 = 1 << 4;
    /// Velocity y.
    pub const VY: u8 = 1 << 5;
    /// Health.
    pub const HEALTH: u8 = 1 << 6;
    /// Ticks to respawn, minus the base's counted down by the ticks between.
    pub const RESPAWN: u8 = 1 << 7;
}

/// One ship on the wire: `[id, mask, value...]`, one value per set bit of `mask` in bit order (see
/// [`ship_fields`]), each the difference between the ship's field and its prediction from the base.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShipDelta {
    /// The player id.
    pub id: u32,
    /// Which fields differ from the prediction.
    pub mask: u8,
    /// The differences, by bit index; 0 where the bit is clear.
    pub values: [i64; 8],
}

/// The wire form of a projectile: `[id, owner, seq, x, y, vx, vy, ttl]`, its position at the frame's
/// tick and `ttl` the ticks it stays in flight from there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectileRecord(pub u32, pub u32, pub u32, pub i32, pub i32, pub i32, pub i32, pub u16);

impl ProjectileRecord {
    fn of(p: &ProjectileState, tick: u64) -> Self {
        let ttl = p.end_tick.saturating_sub(tick).min(u64::from(u16::MAX)) as u16;
        Self(p.id, p.owner, p.seq, p.x, p.y, p.vx, p.vy, ttl)
    }

    fn state(&self, tick: u64) -> ProjectileState {
        let Self(id, owner, seq, x, y, vx, vy, ttl) = *self;
        ProjectileState { id, owner, seq, tick, x, y, vx, vy, end_tick: tick + u64::from(ttl) }
    }
}

/// How far a velocity of `v` (1/8 units per second) carries a ship in `ticks`, in 1/8 units, the way the
/// server moves it: `v / tick_rate` rounded half away from zero each tick (positions stay on the 1/8
/// grid), times `ticks`. Integer arithmetic, so every client computes the same.
pub fn reckon(v: i32, ticks: u64, tick_rate: u16) -> i64 {
    let (n, d) = (i64::from(v), i64::from(tick_rate.max(1)));
    let per_tick = if n >= 0 { (2 * n + d) / (2 * d) } else { -((-2 * n + d) / (2 * d)) };
    per_tick * ticks.min(MAX_DELTA_TICKS) as i64
}

impl ShipDelta {
    /// The delta from `base` (the same player's ship `ticks` earlier, or [`ShipState::zero`]) to `ship`.
    fn between(base: &ShipState, ship: &ShipState, ticks: u64, tick_rate: u16) -> Self {
        let predicted = predict(base, ticks, tick_rate);
        let aim = (i64::from(ship.aim) - i64::from(predicted.aim) + TURN / 2).rem_euclid(TURN) - TURN / 2;
        let values = [
            i64::from(ship.x) - predicted.x,
            i64::from(ship.y) - predicted.y,
            i64::from(ship.ack) - predicted.ack,
            aim,
            i64::from(ship.vx) - i64::from(predicted.vx),
            i64::from(ship.vy) - i64::from(predicted.vy),
            i64::from(ship.health) - i64::from(predicted.health),
            i64::from(ship.respawn_ticks) - i64::from(predicted.respawn_ticks),
        ];
        let mask = values.iter().enumerate().filter(|(_, v)| **v != 0).fold(0u8, |m, (i, _)| m | 1 << i);
        Self { id: ship.id, mask, values }
    }

    /// The ship this delta makes of `base`, or `None` when a field leaves its range.
    fn apply(&self, base: &ShipState, ticks: u64, tick_rate: u16) -> Option<ShipState> {
        let p = predict(base, ticks, tick_rate);
        let v = |i: usize| if self.mask & (1 << i) != 0 { self.values[i] } else { 0 };
        Some(ShipState {
            id: self.id,
            x: i32::try_from(p.x.checked_add(v(0))?).ok()?,
            y: i32::try_from(p.y.checked_add(v(1))?).ok()?,
            ack: u32::try_from(p.ack.checked_add(v(2))?).ok()?,
            aim: (i64::from(p.aim).checked_add(v(3))?).rem_euclid(TURN) as u16,
            vx: i32::try_from(i64::from(p.vx).checked_add(v(4))?).ok()?,
            vy: i32::try_from(i64::from(p.vy).checked_add(v(5))?).ok()?,
            health: u16::try_from(i64::from(p.health).checked_add(v(6))?).ok()?,
            respawn_ticks: u16::try_from(i64::from(p.respawn_ticks).checked_add(v(7))?).ok()?,
        })
    }
}

/// A ship predicted from its base: moved along its velocity, one more input acknowledged per tick, its
/// respawn counted down; the rest kept.
struct Predicted {
    x: i64,
    y: i64,
    ack: i64,
    aim: u16,
    vx: i32,
    vy: i32,
    health: u16,
    respawn_ticks: u16,
}

fn predict(base: &ShipState, ticks: u64, tick_rate: u16) -> Predicted {
    Predicted {
        x: i64::from(base.x) + reckon(base.vx, ticks, tick_rate),
        y: i64::from(base.y) + reckon(base.vy, ticks, tick_rate),
        // A playing client sends one input per tick and the server applies one per tick.
        ack: i64::from(base.ack) + ticks.min(MAX_DELTA_TICKS) as i64,
        aim: base.aim,
        vx: base.vx,
        vy: base.vy,
        health: base.health,
        respawn_ticks: base.respawn_ticks.saturating_sub(ticks.min(u64::from(u16::MAX)) as u16),
    }
}

impl Serialize for ShipDelta {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(2 + self.mask.count_ones() as usize))?;
        seq.serialize_element(&self.id)?;
        seq.serialize_element(&self.mask)?;
        for (i, value) in self.values.iter().enumerate() {
            if self.mask & (1 << i) != 0 {
                seq.serialize_element(value)?;
            }
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for ShipDelta {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ShipDeltaVisitor;

        impl<'de> Visitor<'de> for ShipDeltaVisitor {
            type Value = ShipDelta;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a ship record [id, mask, value...]")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ShipDelta, A::Error> {
                let missing = |i| de::Error::invalid_length(i, &"id, mask and one value per mask bit");
                let id: u32 = seq.next_element()?.ok_or_else(|| missing(0))?;
                let mask: u8 = seq.next_element()?.ok_or_else(|| missing(1))?;
                let mut values = [0i64; 8];
                let mut n = 2;
                for (i, value) in values.iter_mut().enumerate() {
                    if mask & (1 << i) != 0 {
                        *value = seq.next_element()?.ok_or_else(|| missing(n))?;
                        n += 1;
                    }
                }
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(n + 1, &"no more values than mask bits"));
                }
                Ok(ShipDelta { id, mask, values })
            }
        }

        deserializer.deserialize_seq(ShipDeltaVisitor)
    }
}

impl SnapshotFrame {
    /// `snapshot` as a keyframe, written into `self` (whose buffers are reused).
    pub fn keyframe(&mut self, snapshot: &Snapshot) {
        self.tick = snapshot.tick;
        self.base = 0;
        self.ships.clear();
        self.ships.extend(snapshot.ships.iter().map(|s| ShipDelta::between(&ShipState::zero(s.id), s, 0, 1)));
        self.projectiles.clear();
        self.projectiles.extend(snapshot.projectiles.iter().map(|p| ProjectileRecord::of(p, snapshot.tick)));
        self.pickups = Some(snapshot.pickups);
        self.match_state = Some(snapshot.match_state);
        self.scores.clone_from(&snapshot.scores);
    }

    /// `next` as a delta against `base`, written into `self`; `false` (and `self` unchanged) when no delta
    /// can be made: `base` is not older than `next` or more than [`MAX_DELTA_TICKS`] older. `base.ships`
    /// and `base.projectiles` must be sorted by id.
    pub fn delta(&mut self, base: &Snapshot, next: &Snapshot, tick_rate: u16) -> bool {
        let Some(ticks) = next.tick.checked_sub(base.tick).filter(|t| (1..=MAX_DELTA_TICKS).contains(t))
        else {
            return false;
        };
        self.tick = next.tick;
        self.base = ticks as u16;
        self.ships.clear();
        self.ships.extend(next.ships.iter().map(|s| {
            let zero = ShipState::zero(s.id);
            let from = find(&base.ships, s.id, |b| b.id).unwrap_or(&zero);
            ShipDelta::between(from, s, ticks, tick_rate)
        }));
        self.projectiles.clear();
        self.projectiles.extend(
            next.projectiles
                .iter()
                .filter(|p| find(&base.projectiles, p.id, |b| b.id).is_none())
                .map(|p| ProjectileRecord::of(p, next.tick)),
        );
        self.pickups = (next.pickups != base.pickups).then_some(next.pickups);
        self.match_state = (next.match_state != base.match_state).then_some(next.match_state);
        self.scores.clone_from(&next.scores);
        true
    }
}

/// The element of `sorted` (sorted by `key`) whose key is `id`.
fn find<T>(sorted: &[T], id: u32, key: impl Fn(&T) -> u32) -> Option<&T> {
    sorted.binary_search_by(|t| key(t).cmp(&id)).ok().map(|i| &sorted[i])
}

/// Why a frame could not be applied. The client should reconnect: its view of the room is lost.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DeltaError {
    /// A delta arrived, but the snapshot it applies to is not the last one this decoder has.
    #[error("delta for tick {tick} against tick {base_tick}, but the last snapshot is {have:?}")]
    WrongBase {
        /// The frame's tick.
        tick: u64,
        /// The tick it applies to.
        base_tick: u64,
        /// The tick of the last snapshot decoded, if any.
        have: Option<u64>,
    },
    /// A keyframe without its `pickups` or `match`.
    #[error("keyframe for tick {0} lacks pickups or match")]
    IncompleteKeyframe(u64),
    /// A ship's value left its range (x beyond an i32, health below 0, ...).
    #[error("ship {0}'s delta leaves a field out of range")]
    OutOfRange(u32),
}

/// Rebuilds [`Snapshot`]s from frames, keeping the last one as the base of the next. Feed it every
/// snapshot frame and every `events` message of the room, in the order they arrive.
#[derive(Debug, Clone)]
pub struct SnapshotDecoder {
    tick_rate: u16,
    last: Option<Snapshot>,
    ships: Vec<ShipState>,
}

impl SnapshotDecoder {
    /// A decoder for a server running `tick_rate` ticks per second (from `welcome`).
    pub fn new(tick_rate: u16) -> Self {
        Self { tick_rate, last: None, ships: Vec::new() }
    }

    /// Forgets the last snapshot: call on `joined` and `left`, when a new room's frames start.
    pub fn reset(&mut self) {
        self.last = None;
    }

    /// The last snapshot decoded.
    pub fn latest(&self) -> Option<&Snapshot> {
        self.last.as_ref()
    }

    /// Applies a frame and returns the snapshot it describes.
    pub fn apply(&mut self, frame: &SnapshotFrame) -> Result<&Snapshot, DeltaError> {
        // `kept`: the state before a keyframe, restored if the keyframe turns out not to fit.
        let (mut next, kept) = match (frame.base, self.last.take()) {
            (0, last) => {
                let (Some(pickups), Some(match_state)) = (frame.pickups, frame.match_state) else {
                    self.last = last;
                    return Err(DeltaError::IncompleteKeyframe(frame.tick));
                };
                let scores = last.as_ref().map(|l| l.scores.clone()).unwrap_or_default();
                let next = Snapshot {
                    tick: frame.tick,
                    ships: Vec::new(),
                    projectiles: Vec::new(),
                    pickups,
                    match_state,
                    scores,
                };
                (next, last)
            }
            (base, Some(last)) if frame.tick.checked_sub(u64::from(base)) == Some(last.tick) => (last, None),
            (base, last) => {
                let err = DeltaError::WrongBase {
                    tick: frame.tick,
                    base_tick: frame.tick.saturating_sub(u64::from(base)),
                    have: last.as_ref().map(|l| l.tick),
                };
                self.last = last;
                return Err(err);
            }
        };
        let ticks = u64::from(frame.base);
        self.ships.clear();
        for delta in &frame.ships {
            let zero = ShipState::zero(delta.id);
            let base =
                if ticks == 0 { &zero } else { find(&next.ships, delta.id, |s| s.id).unwrap_or(&zero) };
            match delta.apply(base, ticks, self.tick_rate) {
                Some(ship) => self.ships.push(ship),
                None => {
                    // Leave the decoder as it was: the caller decides whether to go on.
                    self.last = if ticks > 0 { Some(next) } else { kept };
                    return Err(DeltaError::OutOfRange(delta.id));
                }
            }
        }
        std::mem::swap(&mut next.ships, &mut self.ships);
        next.ships.sort_unstable_by_key(|s| s.id);
        next.tick = frame.tick;
        if ticks == 0 {
            next.projectiles.clear();
        } else {
            // Flown out, or announced again (which a server does not do, but the newer word wins).
            next.projectiles
                .retain(|p| p.in_flight(frame.tick) && !frame.projectiles.iter().any(|r| r.0 == p.id));
        }
        next.projectiles.extend(frame.projectiles.iter().map(|p| p.state(frame.tick)));
        next.projectiles.sort_unstable_by_key(|p| p.id);
        if let Some(pickups) = frame.pickups {
            next.pickups = pickups;
        }
        if let Some(match_state) = frame.match_state {
            next.match_state = match_state;
        }
        if !frame.scores.is_empty() {
            next.scores.clone_from(&frame.scores);
        }
        Ok(self.last.insert(next))
    }

    /// Applies what events say about projectiles: a `hit` ends the projectile it names at the hit's tick
    /// (at most `tick`, the events'), a `phase` change clears them all.
    pub fn apply_events(&mut self, tick: u64, events: &[GameEvent]) {
        let Some(last) = self.last.as_mut() else { return };
        for event in events {
            match event {
                GameEvent::Hit { shot, tick: hit_tick, .. } => {
                    if let Some(p) = last.projectiles.iter_mut().find(|p| p.id == *shot) {
                        p.end_tick = p.end_tick.min(tick).min(*hit_tick);
                    }
                }
                GameEvent::Phase { .. } => last.projectiles.clear(),
                _ => {}
            }
        }
    }
}

/// Sorts a snapshot's ships and projectiles by id, as [`SnapshotFrame::delta`] needs of its base.
pub fn sort_by_id(snapshot: &mut Snapshot) {
    snapshot.ships.sort_unstable_by_key(|s| s.id);
    snapshot.projectiles.sort_unstable_by_key(|p| p.id);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reckoning_rounds_half_away_from_zero() {
        assert_eq!(reckon(5, 1, 2), 3);
        assert_eq!(reckon(-5, 1, 2), -3);
        assert_eq!(reckon(4, 1, 3), 1);
        assert_eq!(reckon(-5, 1, 3), -2);
        assert_eq!(reckon(2560, 2, 60), 86, "43 a tick, as the server rounds each tick");
        assert_eq!(reckon(i32::MIN, MAX_DELTA_TICKS, 1), i64::from(i32::MIN) * MAX_DELTA_TICKS as i64);
    }

    #[test]
    fn a_ship_moving_steadily_with_steady_inputs_costs_nothing() {
        let base = ShipState {
            id: 3,
            x: 800,
            y: 800,
            vx: 2560,
            vy: -2560,
            aim: 100,
            health: 100,
            respawn_ticks: 0,
            ack: 10,
        };
        let next = ShipState { x: 800 + 86, y: 800 - 86, ack: 12, ..base };
        let d = ShipDelta::between(&base, &next, 2, 60);
        assert_eq!(d.mask, 0, "moved and acknowledged as predicted");
        assert_eq!(d.apply(&base, 2, 60), Some(next));
        let late = ShipState { ack: 11, ..next };
        let d = ShipDelta::between(&base, &late, 2, 60);
        assert_eq!((d.mask, d.values[2]), (ship_fields::ACK, -1), "one input late");
        assert_eq!(d.apply(&base, 2, 60), Some(late));
    }

    #[test]
    fn aim_takes_the_short_way_round() {
        let base = ShipState { id: 1, aim: 4090, ..ShipState::default() };
        let next = ShipState { aim: 4, ..base };
        let d = ShipDelta::between(&base, &next, 2, 60);
        assert_eq!(d.values[3], 10);
        assert_eq!(d.apply(&base, 2, 60), Some(next));
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let base = ShipState { id: 1, health: 5, ..ShipState::default() };
        let d = ShipDelta { id: 1, mask: ship_fields::HEALTH, values: [0, 0, 0, 0, 0, 0, -6, 0] };
        assert_eq!(d.apply(&base, 2, 60), None);
    }
}
