//! Lag compensation: where each ship was over the last few ticks, so a shot can be tested against the
//! ships its shooter saw.
//!
//! A browser draws other ships about a render delay in the past (`web/src/interpolation.ts`), and its
//! input reaches the server half a round trip later still. Each input says which tick it was drawing
//! (`Input::view_tick`); a projectile fired by it remembers how far that was behind the tick it was
//! fired in (its *rewind*, at most [`LagCompensation::max_rewind_ticks`]) and, on every tick of its
//! flight, meets the ships as they were that far back. Walls never move, so only ships are rewound.
//!
//! The history is a fixed ring of poses per ship ([`Trail`]), allocated when the ship spawns and
//! overwritten in place every tick by the move (`systems::move_ships`): nothing allocates on the tick
//! path.

use std::time::Duration;

use bevy_ecs::prelude::*;
use glam::Vec2;

/// The default cap on a shot's rewind (`--max-rewind`). The rewind is the shooter's whole delay: the
/// round trip, the web client's render delay (two snapshot intervals, 67 ms at 30 Hz, plus twice the
/// arrival jitter) and the input batching. A 200 ms round trip with 20 ms of jitter each way comes to
/// about 320 ms for the bots of `arena-lagcomp`, and to 330–370 ms for a browser, whose render delay
/// follows the jitter it measures itself: at a 350 ms cap, browser runs had every shot at the cap, and
/// one in four hit. 500 ms covers such a link with room to spare (Source's default is 1 s); 250 ms
/// (Overwatch's figure, for a client that interpolates over about one tick) would cover only about a
/// 140 ms round trip here.
pub const DEFAULT_MAX_REWIND: Duration = Duration::from_millis(500);

/// The largest `--max-rewind`: beyond a second, the victim's side of it (being hit well behind cover)
/// outweighs the shooter's.
pub const MAX_MAX_REWIND: Duration = Duration::from_secs(1);

/// How far back the room may test shots, in ticks; 0 turns lag compensation off (every shot meets the
/// present).
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq)]
pub struct LagCompensation {
    /// The most a shot is rewound, ticks (fractional).
    pub max_rewind_ticks: f32,
}

impl LagCompensation {
    /// A cap of `max_rewind` at `tick_rate` Hz (zero: off).
    pub fn new(max_rewind: Duration, tick_rate: u16) -> Self {
        Self { max_rewind_ticks: (max_rewind.as_secs_f64() * f64::from(tick_rate.max(1))) as f32 }
    }

    /// The rewind of a shot fired in tick `now` (the number of the tick being simulated) by an input
    /// drawn at `view_tick`: how far the view was behind, capped; 0 when off, when the client sent no
    /// view, or when its view is not behind. Also whether the cap cut it short.
    pub fn rewind(&self, now: u64, view_tick: Option<f64>) -> (f32, bool) {
        let Some(view) = view_tick.filter(|v| v.is_finite()) else { return (0.0, false) };
        let max = f64::from(self.max_rewind_ticks);
        let behind = (now as f64 - view).max(0.0);
        if max <= 0.0 {
            return (0.0, false);
        }
        (behind.min(max) as f32, behind > max)
    }

    /// The ticks of history a ship needs for this cap: the whole rewind, the tick before it (a view
    /// between two ticks interpolates) and the present; rounded up to a power of two, so that finding a
    /// tick's slot is a mask, not a division.
    pub fn history_len(&self) -> usize {
        (self.max_rewind_ticks.max(0.0).ceil() as usize + 2).next_power_of_two()
    }
}

/// Where a living ship was at the end of one tick (16 bytes).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Pose {
    /// The tick (its snapshot number), truncated: a slot is rewritten every ring length of ticks, so
    /// the low 32 bits tell its tick from any other it could hold. `u32::MAX` for a slot never written.
    tick: u32,
    /// The life it was in (see [`Trail::life`]); a pose of an earlier life is not where the ship is.
    life: u32,
    position: Vec2,
}

const EMPTY: Pose = Pose { tick: u32::MAX, life: 0, position: Vec2::ZERO };

/// A living ship's recent poses, one per tick, in a ring as long as the room's rewind needs. A dead
/// ship records nothing, so the ticks it was dead find no pose (or an older tick's) and cannot be hit.
#[derive(Component, Debug, Clone)]
pub struct Trail {
    ring: Box<[Pose]>,
    /// Counts the ship's jumps: a respawn, or a new match placing it elsewhere. Poses from before the
    /// last jump are of a ship that is no longer there, and cannot be hit.
    life: u32,
}

impl Trail {
    /// An empty trail of `len` ticks (rounded up to a power of two).
    pub fn new(len: usize) -> Self {
        Self { ring: vec![EMPTY; len.max(1).next_power_of_two()].into_boxed_slice(), life: 0 }
    }

    /// The ship jumped (respawned, or was placed for a new match): its earlier poses no longer count.
    pub fn jumped(&mut self) {
        self.life = self.life.wrapping_add(1);
    }

    fn slot(&self, tick: u64) -> usize {
        (tick as usize) & (self.ring.len() - 1)
    }

    /// Records where the (living) ship is at the end of `tick`.
    pub fn record(&mut self, tick: u64, position: Vec2) {
        let slot = self.slot(tick);
        self.ring[slot] = Pose { tick: tick as u32, life: self.life, position };
    }

    /// The pose of `tick` when it is recorded and of the current life.
    fn live_pose(&self, tick: u64) -> Option<Vec2> {
        let pose = self.ring[self.slot(tick)];
        (pose.tick == tick as u32 && pose.life == self.life).then_some(pose.position)
    }

    /// Where the ship was at the fractional tick `at` (interpolated between the two ticks around it,
    /// as a client draws it), or `None` when it was dead then, had not spawned yet, jumped since, or
    /// `at` is older than the trail.
    pub fn at(&self, at: f64) -> Option<Vec2> {
        if !at.is_finite() || at < 0.0 {
            return None;
        }
        let before = at as u64;
        let fraction = (at - before as f64) as f32;
        let from = self.live_pose(before)?;
        if fraction <= 0.0 {
            return Some(from);
        }
        let to = self.live_pose(before.checked_add(1)?)?;
        Some(from.lerp(to, fraction))
    }

    /// Each slot as `(tick, life, position)`, in slot order, and the life counter.
    pub fn to_parts(&self) -> (Vec<(u32, u32, [f32; 2])>, u32) {
        (self.ring.iter().map(|p| (p.tick, p.life, p.position.to_array())).collect(), self.life)
    }

    /// The trail [`Trail::to_parts`] describes (a slot count that is not a power of two is padded
    /// with empty slots).
    pub fn from_parts(slots: &[(u32, u32, [f32; 2])], life: u32) -> Self {
        let mut ring = vec![EMPTY; slots.len().max(1).next_power_of_two()];
        for (slot, &(tick, life, position)) in ring.iter_mut().zip(slots) {
            *slot = Pose { tick, life, position: Vec2::from_array(position) };
        }
        Self { ring: ring.into_boxed_slice(), life }
    }

    /// Bytes the trail takes on the heap.
    pub fn heap_bytes(&self) -> usize {
        std::mem::size_of_val(&*self.ring)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shot_is_rewound_by_how_far_its_view_was_behind_up_to_the_cap() {
        let lag = LagCompensation { max_rewind_ticks: 15.0 };
        assert_eq!(lag.rewind(100, Some(90.5)), (9.5, false));
        assert_eq!(lag.rewind(100, Some(10.0)), (15.0, true), "capped");
        assert_eq!(lag.rewind(100, Some(120.0)), (0.0, false), "a view ahead of the present is the present");
        assert_eq!(lag.rewind(100, None), (0.0, false));
        assert_eq!(lag.rewind(100, Some(f64::NAN)), (0.0, false));
        assert_eq!(LagCompensation { max_rewind_ticks: 0.0 }.rewind(100, Some(90.0)), (0.0, false), "off");
        assert_eq!(lag.history_len(), 32, "15 ticks, the one before, the present: 17, rounded up");
        let widest = LagCompensation::new(MAX_MAX_REWIND, 240);
        assert!(Trail::new(widest.history_len()).heap_bytes() <= 4096, "at most 4 KiB a ship at any setting");
        let default = LagCompensation::new(DEFAULT_MAX_REWIND, 60);
        assert_eq!(Trail::new(default.history_len()).heap_bytes(), 512);
    }

    #[test]
    fn a_trail_interpolates_between_ticks_and_forgets_what_it_cannot_hold() {
        let mut trail = Trail::new(4);
        for tick in 1..=6u64 {
            trail.record(tick, Vec2::new(tick as f32 * 10.0, 0.0));
        }
        assert_eq!(trail.at(6.0), Some(Vec2::new(60.0, 0.0)));
        assert_eq!(trail.at(4.25), Some(Vec2::new(42.5, 0.0)));
        assert_eq!(trail.at(3.0), Some(Vec2::new(30.0, 0.0)));
        assert_eq!(trail.at(2.5), None, "tick 2 was overwritten");
        assert_eq!(trail.at(6.5), None, "tick 7 is not recorded yet");
        assert_eq!(trail.at(-1.0), None);
        assert_eq!(trail.at(f64::MAX), None, "no overflow at the far end");
        assert_eq!(trail.at(f64::NAN), None);
    }

    #[test]
    fn a_dead_or_jumped_ship_is_not_where_its_trail_was() {
        let mut trail = Trail::new(8);
        trail.record(1, Vec2::ZERO);
        // Dead in ticks 2 and 3: nothing recorded.
        assert_eq!(trail.at(1.0), Some(Vec2::ZERO));
        assert_eq!(trail.at(1.5), None, "dead at tick 2");
        trail.jumped();
        trail.record(4, Vec2::ONE);
        assert_eq!(trail.at(1.0), None, "an earlier life");
        assert_eq!(trail.at(4.0), Some(Vec2::ONE));
    }
}
