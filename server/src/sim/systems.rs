//! The per-tick systems, run in [`SimSystems`] order by the schedule from [`schedule`].

use bevy_ecs::prelude::*;
use glam::Vec2;

use super::components::{Controls, InputQueue, Position, Velocity};
use super::resources::{FixedDt, Tick, Tuning};

/// The phases of one tick, in order.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum SimSystems {
    /// Turn queued client inputs into controls.
    Input,
    /// Move bodies.
    Motion,
    /// Resolve collisions and bounds.
    Collision,
    /// Book-keeping at the end of the tick.
    Finish,
}

/// The simulation schedule: one run is one tick.
pub fn schedule() -> Schedule {
    let mut schedule = Schedule::default();
    schedule.configure_sets(
        (SimSystems::Input, SimSystems::Motion, SimSystems::Collision, SimSystems::Finish).chain(),
    );
    schedule.add_systems((
        apply_inputs.in_set(SimSystems::Input),
        integrate_motion.in_set(SimSystems::Motion),
        confine_to_arena.in_set(SimSystems::Collision),
        advance_tick.in_set(SimSystems::Finish),
    ));
    schedule
}

/// Applies at most one queued input per ship per tick, in sequence order.
pub fn apply_inputs(mut ships: Query<(&mut InputQueue, &mut Controls)>) {
    for (mut queue, mut controls) in &mut ships {
        if let Some(input) = queue.pop() {
            *controls = Controls::from_input(&input);
        }
    }
}

/// Accelerates each ship toward the velocity its controls ask for (or brakes it with friction), then
/// moves it.
pub fn integrate_motion(
    tuning: Res<Tuning>,
    dt: Res<FixedDt>,
    mut ships: Query<(&Controls, &mut Velocity, &mut Position)>,
) {
    let ship = tuning.0.ship;
    let dt = dt.0;
    for (controls, mut vel, mut pos) in &mut ships {
        let target = controls.movement * ship.max_speed;
        let rate = if controls.movement == Vec2::ZERO { ship.friction } else { ship.acceleration };
        vel.0 = vel.0.move_towards(target, rate * dt);
        pos.0 += vel.0 * dt;
    }
}

/// Keeps every ship inside the arena; velocity into a wall is removed.
pub fn confine_to_arena(tuning: Res<Tuning>, mut ships: Query<(&mut Position, &mut Velocity)>) {
    let r = tuning.0.ship.radius;
    let max = tuning.0.size() - Vec2::splat(r);
    for (mut pos, mut vel) in &mut ships {
        let clamped = pos.0.clamp(Vec2::splat(r), max);
        if clamped.x != pos.0.x {
            vel.0.x = 0.0;
        }
        if clamped.y != pos.0.y {
            vel.0.y = 0.0;
        }
        pos.0 = clamped;
    }
}

/// Counts the tick.
pub fn advance_tick(mut tick: ResMut<Tick>) {
    tick.0 += 1;
}
