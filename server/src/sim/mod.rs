//! The room simulation: a bevy_ecs `World` advanced by a fixed-`dt` `Schedule`.
//!
//! Everything here is pure and deterministic: no clocks, no sockets, no global randomness. Given the
//! same seed, the same assets and the same inputs in the same order, two simulations produce the same
//! bits. The room (see `crate::room`) feeds inputs in and reads snapshots out; the systems never see a
//! connection.
//!
//! # Layout
//! - [`components`]: what an entity is made of (`Position`, `Velocity`, `Controls`, `InputQueue`, ...).
//! - [`resources`]: room-wide state (`Tick`, `FixedDt`, `Tuning`, `SpawnRng`).
//! - [`systems`]: the per-tick systems, in `SimSystems` order.

pub mod components;
pub mod resources;
pub mod systems;

use std::sync::Arc;

use arena_protocol::{EntityKind, EntityState, Input, Snapshot};
use bevy_ecs::prelude::*;
use glam::Vec2;
use rand::SeedableRng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

use crate::assets::ArenaConfig;
use components::{Controls, InputQueue, Position, Ship, Velocity};
use resources::{FixedDt, SpawnRng, Tick, Tuning};

pub use components::InputOutcome;

/// One room's world and schedule.
pub struct Simulation {
    world: World,
    schedule: Schedule,
}

impl std::fmt::Debug for Simulation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulation")
            .field("tick", &self.tick())
            .field("entities", &self.world.entities().len())
            .finish_non_exhaustive()
    }
}

impl Simulation {
    /// A new, empty simulation. `dt` is the fixed tick length in seconds; `seed` drives every random
    /// choice (spawn points).
    pub fn new(config: Arc<ArenaConfig>, dt: f32, seed: u64) -> Self {
        let mut world = World::new();
        world.insert_resource(Tuning(config));
        world.insert_resource(FixedDt(dt));
        world.insert_resource(Tick(0));
        world.insert_resource(SpawnRng(ChaCha8Rng::seed_from_u64(seed)));
        Self { world, schedule: systems::schedule() }
    }

    /// Adds a ship for `player` at a random spawn point and returns its entity.
    pub fn spawn_ship(&mut self, player: u32) -> Entity {
        let tuning = self.world.resource::<Tuning>().0.clone();
        let points = &tuning.arena.spawn_points;
        let spawn = {
            let mut rng = self.world.resource_mut::<SpawnRng>();
            points.choose(&mut rng.0).copied().unwrap_or(tuning.size() / 2.0)
        };
        self.world
            .spawn((
                Ship { player },
                Position(spawn),
                Velocity(Vec2::ZERO),
                Controls::default(),
                InputQueue::default(),
            ))
            .id()
    }

    /// Removes an entity (a ship whose player left). Unknown entities are ignored.
    pub fn despawn(&mut self, entity: Entity) {
        if let Ok(e) = self.world.get_entity_mut(entity) {
            e.despawn();
        }
    }

    /// Queues a player's input for the ticks to come.
    pub fn push_input(&mut self, entity: Entity, input: Input) -> InputOutcome {
        match self.world.get_mut::<InputQueue>(entity) {
            Some(mut queue) => queue.push(input),
            None => InputOutcome::Stale,
        }
    }

    /// Advances the world by one fixed tick.
    pub fn step(&mut self) {
        self.schedule.run(&mut self.world);
    }

    /// The number of ticks simulated so far.
    pub fn tick(&self) -> u64 {
        self.world.resource::<Tick>().0
    }

    /// The arena's size.
    pub fn arena_size(&self) -> Vec2 {
        self.world.resource::<Tuning>().0.size()
    }

    /// Refills `snapshot` with the current state, reusing its buffers (no allocation once they have
    /// grown to the room's size).
    pub fn write_snapshot(&mut self, snapshot: &mut Snapshot) {
        snapshot.tick = self.tick();
        snapshot.acks.clear();
        snapshot.entities.clear();
        let mut ships = self.world.query::<(&Ship, &Position, &Velocity, &Controls, &InputQueue)>();
        for (ship, pos, vel, controls, queue) in ships.iter(&self.world) {
            snapshot.acks.push([ship.player, queue.last_applied()]);
            snapshot.entities.push(EntityState {
                id: ship.player,
                kind: EntityKind::Ship,
                pos: pos.0.to_array(),
                vel: vel.0.to_array(),
                aim: controls.aim,
            });
        }
    }

    /// The position of an entity, if it exists (for tests and diagnostics).
    pub fn position(&self, entity: Entity) -> Option<Vec2> {
        self.world.get::<Position>(entity).map(|p| p.0)
    }

    /// The velocity of an entity, if it exists (for tests and diagnostics).
    pub fn velocity(&self, entity: Entity) -> Option<Vec2> {
        self.world.get::<Velocity>(entity).map(|v| v.0)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn config() -> Arc<ArenaConfig> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets");
        Arc::new(ArenaConfig::load(&dir).expect("assets"))
    }

    fn input(seq: u32, x: f32, y: f32) -> Input {
        Input { seq, movement: [x, y], aim: 0.5, buttons: 0 }
    }

    /// Runs a scripted match and returns every ship's final position, bit for bit.
    fn scripted_run(seed: u64) -> Vec<(u32, u32)> {
        let mut sim = Simulation::new(config(), 1.0 / 60.0, seed);
        let ships: Vec<Entity> = (1..=4).map(|p| sim.spawn_ship(p)).collect();
        for seq in 1..=300u32 {
            for (i, &ship) in ships.iter().enumerate() {
                let angle = (seq as f32 / 40.0) + i as f32;
                sim.push_input(ship, input(seq, angle.cos(), angle.sin()));
            }
            sim.step();
        }
        ships
            .iter()
            .map(|&s| {
                let p = sim.position(s).expect("ship");
                (p.x.to_bits(), p.y.to_bits())
            })
            .collect()
    }

    #[test]
    fn same_seed_same_bits() {
        assert_eq!(scripted_run(7), scripted_run(7));
    }

    #[test]
    fn spawns_come_from_the_spawn_points_and_follow_the_seed() {
        let config = config();
        let spawns = |seed| {
            let mut sim = Simulation::new(config.clone(), 1.0 / 60.0, seed);
            (1..=8)
                .map(|p| {
                    let e = sim.spawn_ship(p);
                    sim.position(e).expect("ship")
                })
                .collect::<Vec<_>>()
        };
        let a = spawns(1);
        assert_eq!(a, spawns(1));
        assert_ne!(a, spawns(2), "different seeds should pick different spawn orders");
        for p in a {
            assert!(config.arena.spawn_points.contains(&p), "{p} is not a spawn point");
        }
    }

    #[test]
    fn held_input_reaches_max_speed_and_friction_stops() {
        let config = config();
        let tuning = config.ship;
        let mut sim = Simulation::new(config, 1.0 / 60.0, 1);
        let ship = sim.spawn_ship(1);
        let start = sim.position(ship).expect("ship");
        // Toward the middle, so no wall interferes; one second is well past the time to top speed.
        let dir = if start.x < sim.arena_size().x / 2.0 { 1.0 } else { -1.0 };
        for seq in 1..=60 {
            sim.push_input(ship, input(seq, dir, 0.0));
            sim.step();
        }
        let vel = sim.velocity(ship).expect("ship");
        assert!((vel.x - dir * tuning.max_speed).abs() < 1e-3 && vel.y == 0.0, "{vel}");
        assert!((sim.position(ship).expect("ship").x - start.x) * dir > 0.0);
        // Released: friction brings it to rest within max_speed / friction seconds (plus a tick).
        let ticks = (tuning.max_speed / tuning.friction * 60.0).ceil() as u32 + 1;
        for seq in 61..=60 + ticks {
            sim.push_input(ship, input(seq, 0.0, 0.0));
            sim.step();
        }
        assert_eq!(sim.velocity(ship).expect("ship"), Vec2::ZERO);
    }

    #[test]
    fn diagonal_and_oversized_input_is_capped_at_max_speed() {
        let config = config();
        let max = config.ship.max_speed;
        let mut sim = Simulation::new(config, 1.0 / 60.0, 1);
        let ship = sim.spawn_ship(1);
        for seq in 1..=120 {
            sim.push_input(ship, input(seq, 50.0, 50.0));
            sim.step();
        }
        assert!(sim.velocity(ship).expect("ship").length() <= max + 1e-3);
    }

    #[test]
    fn non_finite_input_counts_as_no_input() {
        let mut sim = Simulation::new(config(), 1.0 / 60.0, 1);
        let ship = sim.spawn_ship(1);
        let start = sim.position(ship).expect("ship");
        sim.push_input(
            ship,
            Input { seq: 1, movement: [f32::NAN, f32::INFINITY], aim: f32::NAN, buttons: 0 },
        );
        sim.step();
        assert_eq!(sim.position(ship), Some(start));
        let mut snap = Snapshot::default();
        sim.write_snapshot(&mut snap);
        assert!(snap.entities[0].aim.is_finite());
    }

    #[test]
    fn ships_stay_inside_the_arena() {
        let config = config();
        let r = config.ship.radius;
        let size = config.size();
        let mut sim = Simulation::new(config, 1.0 / 60.0, 3);
        let ships: Vec<Entity> = (1..=4).map(|p| sim.spawn_ship(p)).collect();
        let dirs = [(-1.0, 0.0), (1.0, 0.0), (0.0, -1.0), (0.7, 0.7)];
        for seq in 1..=600 {
            for (ship, (x, y)) in ships.iter().zip(dirs) {
                sim.push_input(*ship, input(seq, x, y));
            }
            sim.step();
            for &ship in &ships {
                let p = sim.position(ship).expect("ship");
                assert!(p.x >= r && p.y >= r && p.x <= size.x - r && p.y <= size.y - r, "{p} left the arena");
            }
        }
        // Pressed against a wall, the ship's velocity into the wall is gone.
        let v = sim.velocity(ships[0]).expect("ship");
        assert_eq!(v.x, 0.0);
        assert_eq!(sim.position(ships[0]).expect("ship").x, r);
    }

    #[test]
    fn inputs_apply_in_order_one_per_tick_and_stale_ones_are_ignored() {
        let mut sim = Simulation::new(config(), 1.0 / 60.0, 1);
        let ship = sim.spawn_ship(1);
        assert_eq!(sim.push_input(ship, input(1, 1.0, 0.0)), InputOutcome::Queued);
        assert_eq!(sim.push_input(ship, input(2, 1.0, 0.0)), InputOutcome::Queued);
        assert_eq!(sim.push_input(ship, input(2, 1.0, 0.0)), InputOutcome::Stale, "duplicate");
        assert_eq!(sim.push_input(ship, input(1, 1.0, 0.0)), InputOutcome::Stale, "older");
        let mut snap = Snapshot::default();
        sim.write_snapshot(&mut snap);
        assert_eq!(snap.ack_for(1), Some(0));
        sim.step();
        sim.write_snapshot(&mut snap);
        assert_eq!(snap.ack_for(1), Some(1), "one input per tick");
        sim.step();
        sim.write_snapshot(&mut snap);
        assert_eq!(snap.ack_for(1), Some(2));
        sim.step();
        sim.write_snapshot(&mut snap);
        assert_eq!(snap.ack_for(1), Some(2), "no input left: the ack stays");
        assert_eq!(snap.tick, 3);
    }

    #[test]
    fn a_flood_of_inputs_is_bounded() {
        let mut sim = Simulation::new(config(), 1.0 / 60.0, 1);
        let ship = sim.spawn_ship(1);
        let mut dropped = 0;
        for seq in 1..=1000 {
            if sim.push_input(ship, input(seq, 1.0, 0.0)) == InputOutcome::QueuedDroppingOldest {
                dropped += 1;
            }
        }
        assert_eq!(dropped, 1000 - components::MAX_QUEUED_INPUTS);
        sim.step();
        let mut snap = Snapshot::default();
        sim.write_snapshot(&mut snap);
        assert_eq!(snap.ack_for(1), Some(1000 - components::MAX_QUEUED_INPUTS as u32 + 1));
    }
}
