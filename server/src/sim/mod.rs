//! The room simulation: a bevy_ecs `World` advanced by a fixed-`dt` `Schedule`.
//!
//! Everything here is pure and deterministic: no clocks, no sockets, no global randomness. Given the
//! same seed, the same game data and the same inputs in the same order, two simulations produce the same
//! bits. The room (see `crate::room`) feeds inputs in and reads snapshots and events out; the systems
//! never see a connection.
//!
//! # Layout
//! - [`capture`]: the whole state as data, and a simulation rebuilt from it (where recordings start).
//! - [`components`]: what an entity is made of (`Ship`, `Position`, `Health`, `Projectile`, ...).
//! - [`resources`]: room-wide state (`Tick`, `Rules`, `MatchClock`, `Scores`, `Events`, ...).
//! - [`systems`]: the per-tick systems, in `SimSystems` order.
//! - [`motion`]: the movement rules the web client mirrors (a ship's step, a shot's flight).
//! - [`geometry`]: rectangles and the projectile-against-ship test.
//! - [`spawn`]: choosing spawn points.
//! - [`journal`]: every call that changes a simulation, recorded in order, and the [`journal::Replayer`]
//!   that re-runs such a record (what replay files keep, and what proves they re-simulate exactly).
//! - [`rewind`]: lag compensation: each ship's recent trail, and the rule for how far back a shot looks.

pub mod capture;
pub mod components;
pub mod geometry;
pub mod journal;
pub mod motion;
pub mod resources;
pub mod rewind;
pub mod spawn;
pub mod systems;

use std::sync::Arc;

use arena_protocol::{
    GameEvent, Input, MatchState, Phase, ProjectileState, ShipState, Snapshot, quantize, quantize_aim,
};
use bevy_ecs::prelude::*;
use glam::Vec2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::assets::GameData;
use components::{Controls, Dead, Health, InputQueue, Position, Projectile, Ship, Velocity, Weapon};
use resources::{
    Events, FixedDt, Game, MatchClock, NextProjectileId, Pickups, Rules, Scores, ScoresSent, SpawnRng, Tick,
};

pub use components::InputOutcome;

/// The entity of a ship, as returned by [`Simulation::join`].
pub type ShipEntity = Entity;

/// Ticks per second, for rules counted in seconds of ticks.
#[derive(Resource, Debug, Clone, Copy)]
struct TickRate(u64);

/// One room's world and schedule.
pub struct Simulation {
    world: World,
    schedule: Schedule,
    /// The calls made since the journal was last taken, when one is kept.
    journal: Option<Vec<journal::Op>>,
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
    /// A new, empty simulation at `tick_rate` Hz, with lag compensation up to
    /// [`rewind::DEFAULT_MAX_REWIND`]. `seed` drives every random choice.
    pub fn new(game: Arc<GameData>, tick_rate: u16, seed: u64) -> Self {
        Self::with_max_rewind(game, tick_rate, seed, rewind::DEFAULT_MAX_REWIND)
    }

    /// [`Simulation::new`] with shots rewound by at most `max_rewind` (zero: lag compensation off).
    pub fn with_max_rewind(
        game: Arc<GameData>,
        tick_rate: u16,
        seed: u64,
        max_rewind: std::time::Duration,
    ) -> Self {
        let mut world = World::new();
        world.insert_resource(rewind::LagCompensation::new(max_rewind, tick_rate));
        world.insert_resource(Rules::new(&game, tick_rate));
        world.insert_resource(Pickups(vec![None; game.map.pickups.len()]));
        world.insert_resource(Game(game));
        world.insert_resource(FixedDt(1.0 / f32::from(tick_rate.max(1))));
        world.insert_resource(Tick(0));
        world.insert_resource(SpawnRng(ChaCha8Rng::seed_from_u64(seed)));
        world.insert_resource(MatchClock::default());
        world.insert_resource(Scores::default());
        world.insert_resource(Events::default());
        world.insert_resource(NextProjectileId::default());
        world.insert_resource(resources::InputsApplied::default());
        world.insert_resource(resources::ShotCounts::default());
        world.insert_resource(ScoresSent::default());
        world.insert_resource(TickRate(u64::from(tick_rate.max(1))));
        Self { world, schedule: systems::schedule(), journal: None }
    }

    /// A player joins (or, with `resume_after`, comes back after input `resume_after` with their score
    /// kept): a score row, a ship at the spawn point farthest from the others, and a `join` event.
    pub fn join(&mut self, player: u32, name: &str, resume_after: Option<u32>) -> Entity {
        self.log(|| journal::Op::Join { player, name: name.to_owned(), resume_after });
        self.world.resource_mut::<Scores>().0.entry(player).or_default();
        self.push_event(GameEvent::Join { id: player, name: name.to_owned() });
        self.spawn_ship(player, resume_after.unwrap_or(0))
    }

    /// A player is gone for good (left, or their held seat ran out): their score goes, with a `leave`
    /// event. Their ship, if they still have one, goes with [`Simulation::despawn_ship`].
    pub fn leave(&mut self, player: u32) {
        self.log(|| journal::Op::Leave { player });
        self.world.resource_mut::<Scores>().0.remove(&player);
        self.push_event(GameEvent::Leave { id: player });
    }

    /// Adds a player: a score row and a ship at the spawn point farthest from the others.
    pub fn add_player(&mut self, player: u32) -> Entity {
        self.world.resource_mut::<Scores>().0.entry(player).or_default();
        self.spawn_ship(player, 0)
    }

    /// Gives a player (back) a ship, continuing after input `last_seq`.
    pub fn spawn_ship(&mut self, player: u32, last_seq: u32) -> Entity {
        let enemies: Vec<Vec2> = self
            .world
            .query_filtered::<&Position, (With<Ship>, Without<Dead>)>()
            .iter(&self.world)
            .map(|p| p.0)
            .collect();
        let game = self.world.resource::<Game>().0.clone();
        let max_health = self.world.resource::<Rules>().ship.max_health;
        let trail = rewind::Trail::new(self.world.resource::<rewind::LagCompensation>().history_len());
        let spawn = {
            let mut rng = self.world.resource_mut::<SpawnRng>();
            spawn::farthest_spawn(&game.map.spawn_points, &enemies, &mut rng.0)
        };
        self.world
            .spawn((
                Ship { player },
                Position(spawn),
                Velocity(Vec2::ZERO),
                Health(max_health),
                Weapon::default(),
                Controls::default(),
                InputQueue::continuing_after(last_seq),
                trail,
            ))
            .id()
    }

    /// Removes a ship (its player left or lost the connection). Unknown entities are ignored. Returns the
    /// last input sequence number it applied.
    pub fn despawn_ship(&mut self, entity: Entity) -> u32 {
        self.log_ship(entity, |player| journal::Op::Despawn { player });
        let last = self.world.get::<InputQueue>(entity).map(InputQueue::last_applied).unwrap_or(0);
        if let Ok(e) = self.world.get_entity_mut(entity) {
            e.despawn();
        }
        last
    }

    /// Queues a player's input for the ticks to come. Its view tick is put on the server's grid first
    /// (`quantize_view_tick`), so the journal (and a recording) holds what the simulation uses.
    pub fn push_input(&mut self, entity: Entity, mut input: Input) -> InputOutcome {
        input.view_tick = input.view_tick.map(arena_protocol::quantize_view_tick);
        self.log_ship(entity, |player| journal::Op::Input { player, input });
        match self.world.get_mut::<InputQueue>(entity) {
            Some(mut queue) => queue.push(input),
            None => InputOutcome::Stale,
        }
    }

    /// Records an event that happened outside the systems (joins, leaves), to go out with this tick's.
    pub fn push_event(&mut self, event: GameEvent) {
        self.world.resource_mut::<Events>().0.push(event);
    }

    /// Moves this tick's events into `out` (which is cleared first).
    pub fn take_events(&mut self, out: &mut Vec<GameEvent>) {
        out.clear();
        out.append(&mut self.world.resource_mut::<Events>().0);
    }

    /// How many inputs the systems applied since the last call.
    pub fn take_inputs_applied(&mut self) -> u64 {
        std::mem::take(&mut self.world.resource_mut::<resources::InputsApplied>().0)
    }

    /// The shots fired and hits made since the last call.
    pub fn take_shot_counts(&mut self) -> resources::ShotCounts {
        std::mem::take(&mut *self.world.resource_mut::<resources::ShotCounts>())
    }

    /// Advances the world by one fixed tick.
    pub fn step(&mut self) {
        self.schedule.run(&mut self.world);
        // Without an `App`, nothing else ages the world's record of removed components: every
        // despawned projectile would stay in it for the life of the room (about 100 KB a minute in a
        // 16-player fight).
        self.world.clear_trackers();
    }

    /// Starts keeping a journal of every call that changes the simulation (see [`journal`]).
    pub fn keep_journal(&mut self) {
        self.journal.get_or_insert_with(Vec::new);
    }

    /// Stops keeping a journal (what was kept and not taken goes).
    pub fn stop_journal(&mut self) {
        self.journal = None;
    }

    /// Moves the calls journaled since the last call into `out` (appending); nothing when no journal is
    /// kept. Taken after each [`Simulation::step`], they are that tick's.
    pub fn take_journal(&mut self, out: &mut Vec<journal::Op>) {
        if let Some(journal) = &mut self.journal {
            out.append(journal);
        }
    }

    fn log(&mut self, op: impl FnOnce() -> journal::Op) {
        if let Some(journal) = &mut self.journal {
            journal.push(op());
        }
    }

    /// [`Simulation::log`] for a call on a ship, named by its player (nothing for an entity that is no
    /// ship: such a call changes nothing).
    fn log_ship(&mut self, entity: Entity, op: impl FnOnce(u32) -> journal::Op) {
        if let Some(journal) = &mut self.journal
            && let Some(ship) = self.world.get::<Ship>(entity)
        {
            journal.push(op(ship.player));
        }
    }

    /// The number of ticks simulated so far.
    pub fn tick(&self) -> u64 {
        self.world.resource::<Tick>().0
    }

    /// The match phase.
    pub fn phase(&self) -> Phase {
        self.world.resource::<MatchClock>().phase
    }

    /// The tick the match phase ends at (0 for warm-up, which has no end).
    pub fn match_ends_tick(&self) -> u64 {
        self.world.resource::<MatchClock>().ends_at
    }

    /// Refills `snapshot` with the current state, reusing its buffers (no allocation once they have
    /// grown to the room's size).
    pub fn write_snapshot(&mut self, snapshot: &mut Snapshot) {
        let now = self.tick();
        snapshot.tick = now;
        snapshot.ships.clear();
        snapshot.projectiles.clear();
        snapshot.scores.clear();
        let mut ships =
            self.world
                .query::<(&Ship, &Position, &Velocity, &Controls, &InputQueue, &Health, Option<&Dead>)>();
        for (ship, pos, vel, controls, queue, health, dead) in ships.iter(&self.world) {
            let respawn_ticks =
                dead.map_or(0, |d| d.respawn_at.saturating_sub(now).clamp(1, u64::from(u16::MAX)) as u16);
            snapshot.ships.push(ShipState {
                id: ship.player,
                x: quantize(pos.0.x),
                y: quantize(pos.0.y),
                vx: quantize(vel.0.x),
                vy: quantize(vel.0.y),
                aim: quantize_aim(controls.aim),
                health: health.0,
                respawn_ticks,
                ack: queue.last_applied(),
            });
        }
        let mut projectiles = self.world.query::<(&Projectile, &Position, &Velocity)>();
        for (p, pos, vel) in projectiles.iter(&self.world) {
            snapshot.projectiles.push(ProjectileState {
                id: p.id,
                owner: p.owner,
                seq: p.seq,
                tick: now,
                x: quantize(pos.0.x),
                y: quantize(pos.0.y),
                vx: quantize(vel.0.x),
                vy: quantize(vel.0.y),
                end_tick: p.ends_at,
            });
        }
        snapshot.pickups = self
            .world
            .resource::<Pickups>()
            .0
            .iter()
            .enumerate()
            // The map has at most MAX_PICKUPS (53) spots, all of them in the bit set.
            .filter(|(i, state)| *i < crate::assets::MAX_PICKUPS && state.is_none())
            .fold(0u64, |bits, (i, _)| bits | (1 << i));
        let clock = self.world.resource::<MatchClock>();
        snapshot.match_state = MatchState { phase: clock.phase, ends_tick: clock.ends_at };
        snapshot
            .scores
            .extend(self.world.resource::<Scores>().0.iter().map(|(id, s)| [*id, s.kills, s.deaths]));
    }

    /// Leaves the scores out of a snapshot about to be sent when they have not changed since the last
    /// one sent and that was less than a second ago (so a steady fight's snapshots stay small and a
    /// client that missed one catches up within a second), and remembers what went out.
    pub fn throttle_scores(&mut self, snapshot: &mut Snapshot) {
        let tick_rate = self.world.resource::<TickRate>().0;
        let mut sent = self.world.resource_mut::<ScoresSent>();
        if snapshot.scores == sent.rows && snapshot.tick < sent.at_tick + tick_rate {
            snapshot.scores.clear();
        } else {
            sent.rows.clone_from(&snapshot.scores);
            sent.at_tick = snapshot.tick;
        }
    }

    /// Direct access for tests and diagnostics.
    pub fn world_mut(&mut self) -> &mut World {
        &mut self.world
    }

    /// The position of an entity, if it exists.
    pub fn position(&self, entity: Entity) -> Option<Vec2> {
        self.world.get::<Position>(entity).map(|p| p.0)
    }

    /// The velocity of an entity, if it exists.
    pub fn velocity(&self, entity: Entity) -> Option<Vec2> {
        self.world.get::<Velocity>(entity).map(|v| v.0)
    }
}

#[cfg(test)]
mod tests;
