//! The movement rules the web client runs too: a ship's step under its input, and a projectile's flight
//! until a wall stops it. TS twin: `web/src/sim.ts`, which must give the same bits.
//!
//! Why one module: the client predicts its own ship and shots with these rules, and any difference
//! shows as a correction on screen. Every operation here is IEEE-754 single precision (`f32`), one
//! rounding per operation and no fused multiply-add, so a client that rounds to `f32` after each
//! operation (JavaScript's `Math.fround`) reproduces it exactly; ship state is then rounded to the wire's
//! 1/8-unit grid. A Rust test writes golden vectors of these rules (both maps; 1, 60 and 240 Hz; wall,
//! corner and edge contacts; shots stopped by walls) to `protocol/fixtures/motion.json`, and the web
//! client's tests replay them and demand equality. The rule in words is in `protocol/README.md`.

use glam::Vec2;

use super::geometry::Rect;
use crate::assets::{Map, ShipTuning};

/// A client's movement input made safe: non-finite values become zero and the length is capped at 1,
/// so no client value can push a ship past the tuning.
pub fn sanitize_movement(movement: [f32; 2]) -> Vec2 {
    let movement = Vec2::from_array(movement);
    if movement.is_finite() { movement.clamp_length_max(1.0) } else { Vec2::ZERO }
}

/// A client's aim made safe: radians in `[0, 2π)`, non-finite values become zero.
pub fn sanitize_aim(aim: f32) -> f32 {
    if aim.is_finite() { aim.rem_euclid(std::f32::consts::TAU) } else { 0.0 }
}

/// One ship's movement for one tick of `dt` seconds under (sanitised) `movement`: the rule the client
/// predicts its own ship with.
pub fn step_ship(
    mut pos: Vec2,
    vel: Vec2,
    movement: Vec2,
    ship: &ShipTuning,
    map: &Map,
    dt: f32,
) -> (Vec2, Vec2) {
    let target = movement * ship.max_speed;
    let rate = if movement == Vec2::ZERO { ship.friction } else { ship.acceleration };
    let mut vel = vel.move_towards(target, rate * dt);
    let r = ship.radius;
    let travel = vel.length() * dt;
    let steps = (travel / (r * 0.25)).ceil().clamp(1.0, 256.0);
    let step_dt = dt / steps;
    for _ in 0..steps as u32 {
        pos += vel * step_dt;
        for wall in &map.walls {
            if let Some((out, normal)) = push_circle_out_of_rect(pos, r, wall) {
                pos = out;
                let into = vel.dot(normal);
                if into < 0.0 {
                    vel -= normal * into;
                }
            }
        }
        let clamped = pos.clamp(Vec2::splat(r), map.size - Vec2::splat(r));
        if clamped.x != pos.x {
            vel.x = 0.0;
        }
        if clamped.y != pos.y {
            vel.y = 0.0;
        }
        pos = clamped;
    }
    // State lives on the wire's 1/8-unit grid, so a client that rounds the same way predicts exactly.
    (on_grid(pos), on_grid(vel))
}

/// Where along `from`→`to` a projectile of radius `pr` first meets a wall or the arena's edge (0 to 1),
/// if it does.
pub(crate) fn blocked_at(from: Vec2, to: Vec2, map: &Map, pr: f32) -> Option<f32> {
    let arena = Rect { min: Vec2::splat(pr), max: map.size - Vec2::splat(pr) };
    let mut first = if arena.distance(to) > 0.0 { Some(exit_time(from, to, &arena)) } else { None };
    for wall in &map.walls {
        if let Some(t) = segment_hits_rect(from, to, wall, pr)
            && first.is_none_or(|best| t < best)
        {
            first = Some(t);
        }
    }
    first
}

/// How many ticks a projectile starting at `pos` and moving `step` per tick flies before a wall or the
/// arena's edge stops it, stepping exactly as `move_projectiles` does (so the two agree to the tick);
/// `None` when nothing stops it within `max_ticks` (or [`MAX_FLIGHT_TICKS`]).
pub fn flight_ticks(mut pos: Vec2, step: Vec2, map: &Map, pr: f32, max_ticks: u64) -> Option<u64> {
    for tick in 0..max_ticks.min(MAX_FLIGHT_TICKS) {
        let to = pos + step;
        if blocked_at(pos, to, map, pr).is_some() {
            return Some(tick);
        }
        pos = to;
    }
    None
}

/// The longest flight [`flight_ticks`] traces. Only a tuning with a projectile too slow to reach a wall
/// in 18 minutes at 60 Hz comes near it; beyond it clients see the projectile until its lifetime ends.
pub const MAX_FLIGHT_TICKS: u64 = 1 << 16;

/// Rounds a vector to the protocol's position grid (see `arena_protocol::POSITION_SCALE`).
pub fn on_grid(v: Vec2) -> Vec2 {
    (v * arena_protocol::POSITION_SCALE).round() / arena_protocol::POSITION_SCALE
}

/// When the segment from inside `rect` to outside it leaves it (0..=1).
fn exit_time(from: Vec2, to: Vec2, rect: &Rect) -> f32 {
    let d = to - from;
    let mut t = 1.0f32;
    for axis in 0..2 {
        if d[axis] > 0.0 {
            t = t.min((rect.max[axis] - from[axis]) / d[axis]);
        } else if d[axis] < 0.0 {
            t = t.min((rect.min[axis] - from[axis]) / d[axis]);
        }
    }
    t.clamp(0.0, 1.0)
}

/// Pushes a circle at `center` with `radius` out of `rect`. Returns the push-out normal when they
/// overlapped (the circle's new centre is then `center + normal * depth`, also returned).
pub fn push_circle_out_of_rect(center: Vec2, radius: f32, rect: &Rect) -> Option<(Vec2, Vec2)> {
    let closest = center.clamp(rect.min, rect.max);
    let offset = center - closest;
    let dist_sq = offset.length_squared();
    if dist_sq > 0.0 {
        if dist_sq >= radius * radius {
            return None;
        }
        let dist = dist_sq.sqrt();
        let normal = offset / dist;
        return Some((center + normal * (radius - dist), normal));
    }
    // The centre is inside the rectangle: leave by the nearest side.
    let exits = [
        (center.x - rect.min.x, Vec2::NEG_X),
        (rect.max.x - center.x, Vec2::X),
        (center.y - rect.min.y, Vec2::NEG_Y),
        (rect.max.y - center.y, Vec2::Y),
    ];
    let (depth, normal) =
        exits.into_iter().fold((f32::INFINITY, Vec2::ZERO), |best, e| if e.0 < best.0 { e } else { best });
    Some((center + normal * (depth + radius), normal))
}

/// The first time `t` in `[0, 1]` at which the segment `from → to` enters `rect` grown by `radius` on
/// every side (a Minkowski approximation of a moving circle), or `None` if it never does. A segment that
/// starts inside hits at `t = 0`.
pub fn segment_hits_rect(from: Vec2, to: Vec2, rect: &Rect, radius: f32) -> Option<f32> {
    let min = rect.min - Vec2::splat(radius);
    let max = rect.max + Vec2::splat(radius);
    let d = to - from;
    let mut t_enter = 0.0f32;
    let mut t_exit = 1.0f32;
    for axis in 0..2 {
        let (o, dir, lo, hi) = (from[axis], d[axis], min[axis], max[axis]);
        if dir.abs() < f32::EPSILON {
            if o < lo || o > hi {
                return None;
            }
        } else {
            let (mut t0, mut t1) = ((lo - o) / dir, (hi - o) / dir);
            if t0 > t1 {
                std::mem::swap(&mut t0, &mut t1);
            }
            t_enter = t_enter.max(t0);
            t_exit = t_exit.min(t1);
            if t_enter > t_exit {
                return None;
            }
        }
    }
    Some(t_enter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall() -> Rect {
        Rect::from_xywh([100.0, 100.0, 50.0, 50.0])
    }

    #[test]
    fn circle_outside_is_untouched() {
        assert_eq!(push_circle_out_of_rect(Vec2::new(50.0, 125.0), 20.0, &wall()), None);
    }

    #[test]
    fn circle_overlapping_a_side_is_pushed_out_along_its_normal() {
        let (p, n) = push_circle_out_of_rect(Vec2::new(90.0, 125.0), 20.0, &wall()).expect("overlap");
        assert_eq!(n, Vec2::NEG_X);
        assert!((p.x - 80.0).abs() < 1e-4 && p.y == 125.0, "{p}");
    }

    #[test]
    fn circle_centre_inside_leaves_by_the_nearest_side() {
        let (p, n) = push_circle_out_of_rect(Vec2::new(145.0, 125.0), 10.0, &wall()).expect("overlap");
        assert_eq!(n, Vec2::X);
        assert_eq!(p, Vec2::new(160.0, 125.0));
    }

    #[test]
    fn segment_through_a_rect_hits_at_its_edge() {
        let t = segment_hits_rect(Vec2::new(0.0, 125.0), Vec2::new(200.0, 125.0), &wall(), 0.0).expect("hit");
        assert!((t - 0.5).abs() < 1e-6);
        let t =
            segment_hits_rect(Vec2::new(0.0, 125.0), Vec2::new(200.0, 125.0), &wall(), 10.0).expect("hit");
        assert!((t - 0.45).abs() < 1e-6);
        assert_eq!(segment_hits_rect(Vec2::new(0.0, 0.0), Vec2::new(200.0, 0.0), &wall(), 5.0), None);
        assert_eq!(segment_hits_rect(Vec2::new(0.0, 125.0), Vec2::new(90.0, 125.0), &wall(), 0.0), None);
    }
}

#[cfg(test)]
mod vectors;
