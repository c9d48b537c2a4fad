//! A simulation's whole state as plain data ([`WorldState`]), and a simulation rebuilt from one.
//!
//! Why: a recording must re-simulate from where it starts, not from the room's creation. The systems'
//! results depend on the order the world iterates entities in (which of two shots kills, who gets a
//! pickup, spawn choices), and that order is the world's own. So a world is never compared with one
//! rebuilt beside it; instead the room itself continues from a rebuilt world ([`Simulation::restore`]
//! of its own [`Simulation::capture`]) where a recording starts, and a replay rebuilds the same world
//! from the same capture: ships in player order, then projectiles in id order, so both have the same
//! entities in the same order and go on identically.
//!
//! Everything that shapes a future tick is here; what follows from the configuration (rules, tick
//! length, lag compensation cap) comes from the game data and flags instead.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use arena_protocol::{GameEvent, Input, Phase};
use bevy_ecs::prelude::*;
use glam::Vec2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::Simulation;
use super::components::{Controls, Dead, Health, InputQueue, Position, Projectile, Ship, Velocity, Weapon};
use super::resources::{
    Events, MatchClock, NextProjectileId, Pickups, Score, Scores, ScoresSent, SpawnRng, Tick,
};
use super::rewind::Trail;
use crate::assets::GameData;

/// Everything that shapes the simulation's future.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorldState {
    /// Ticks simulated.
    pub tick: u64,
    /// The spawn randomness, exactly where it is in its stream.
    pub rng: RngState,
    /// The match phase and when it ends.
    pub phase: Phase,
    /// See `phase`.
    pub phase_ends_at: u64,
    /// `[player, kills, deaths]`, in player order.
    pub scores: Vec<[u32; 3]>,
    /// For each pickup spot, the tick it comes back (none: available).
    pub pickups: Vec<Option<u64>>,
    /// The last projectile id given out.
    pub next_projectile_id: u32,
    /// The scores the last snapshot carried, and when.
    pub scores_sent: Vec<[u32; 3]>,
    /// See `scores_sent`.
    pub scores_sent_at: u64,
    /// Events not yet taken.
    pub events: Vec<GameEvent>,
    /// Every ship, in player order.
    pub ships: Vec<ShipRecord>,
    /// Every projectile, in id order.
    pub projectiles: Vec<ProjectileRecord>,
}

/// Where a ChaCha8 stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// The seed.
    pub seed: [u8; 32],
    /// The stream.
    pub stream: u64,
    /// The word position, high and low halves (MessagePack has no 128-bit integers).
    pub word_pos: [u64; 2],
}

/// One ship.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShipRecord {
    /// Its player.
    pub player: u32,
    /// Position.
    pub position: [f32; 2],
    /// Velocity.
    pub velocity: [f32; 2],
    /// Health.
    pub health: u16,
    /// The tick it respawns at, while dead.
    pub dead_until: Option<u64>,
    /// Its gun: the first tick and the first input sequence number that may fire.
    pub weapon: [u64; 2],
    /// The controls in force.
    pub movement: [f32; 2],
    /// See `movement`.
    pub aim: f32,
    /// See `movement`.
    pub buttons: u8,
    /// See `movement`.
    pub controls_seq: u32,
    /// See `movement`.
    pub fresh: bool,
    /// See `movement`.
    pub view_tick: Option<f64>,
    /// Inputs queued, oldest first.
    pub pending: Vec<Input>,
    /// The last input sequence number received.
    pub last_received: u32,
    /// The last input sequence number applied.
    pub last_applied: u32,
    /// Its trail: `(tick, life, position)` per slot, in slot order.
    pub trail: Vec<(u32, u32, [f32; 2])>,
    /// The trail's life counter.
    pub life: u32,
}

/// One projectile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectileRecord {
    /// Its id.
    pub id: u32,
    /// The shooter.
    pub owner: u32,
    /// The shooter's input that fired it.
    pub seq: u32,
    /// The tick it fizzles at.
    pub expires_at: u64,
    /// The first snapshot tick it is not in.
    pub ends_at: u64,
    /// Its rewind, ticks.
    pub rewind: f32,
    /// Position.
    pub position: [f32; 2],
    /// Velocity.
    pub velocity: [f32; 2],
}

impl Simulation {
    /// The whole state, as data.
    pub fn capture(&mut self) -> WorldState {
        let world = &mut self.world;
        let rng = &world.resource::<SpawnRng>().0;
        let word_pos = rng.get_word_pos();
        let rng = RngState {
            seed: rng.get_seed(),
            stream: rng.get_stream(),
            word_pos: [(word_pos >> 64) as u64, word_pos as u64],
        };
        let clock = *world.resource::<MatchClock>();
        let sent = world.resource::<ScoresSent>().clone();
        let mut ships: Vec<ShipRecord> = world
            .query::<(
                &Ship,
                &Position,
                &Velocity,
                &Health,
                Option<&Dead>,
                &Weapon,
                &Controls,
                &InputQueue,
                &Trail,
            )>()
            .iter(world)
            .map(|(ship, pos, vel, health, dead, weapon, controls, queue, trail)| {
                let (pending, last_received, last_applied) = queue.to_parts();
                let (trail, life) = trail.to_parts();
                ShipRecord {
                    player: ship.player,
                    position: pos.0.to_array(),
                    velocity: vel.0.to_array(),
                    health: health.0,
                    dead_until: dead.map(|d| d.respawn_at),
                    weapon: [weapon.ready_at, weapon.ready_at_seq],
                    movement: controls.movement.to_array(),
                    aim: controls.aim,
                    buttons: controls.buttons,
                    controls_seq: controls.seq,
                    fresh: controls.fresh,
                    view_tick: controls.view_tick,
                    pending,
                    last_received,
                    last_applied,
                    trail,
                    life,
                }
            })
            .collect();
        ships.sort_by_key(|s| s.player);
        let mut projectiles: Vec<ProjectileRecord> = world
            .query::<(&Projectile, &Position, &Velocity)>()
            .iter(world)
            .map(|(p, pos, vel)| ProjectileRecord {
                id: p.id,
                owner: p.owner,
                seq: p.seq,
                expires_at: p.expires_at,
                ends_at: p.ends_at,
                rewind: p.rewind,
                position: pos.0.to_array(),
                velocity: vel.0.to_array(),
            })
            .collect();
        projectiles.sort_by_key(|p| p.id);
        WorldState {
            tick: world.resource::<Tick>().0,
            rng,
            phase: clock.phase,
            phase_ends_at: clock.ends_at,
            scores: world.resource::<Scores>().0.iter().map(|(id, s)| [*id, s.kills, s.deaths]).collect(),
            pickups: world.resource::<Pickups>().0.clone(),
            next_projectile_id: world.resource::<NextProjectileId>().0,
            scores_sent: sent.rows,
            scores_sent_at: sent.at_tick,
            events: world.resource::<Events>().0.clone(),
            ships,
            projectiles,
        }
    }

    /// A simulation in exactly `state`, for `game` at `tick_rate` with lag compensation up to
    /// `max_rewind`, and each player's ship entity in it (in player order).
    pub fn restore(
        game: Arc<GameData>,
        tick_rate: u16,
        max_rewind: Duration,
        state: &WorldState,
    ) -> (Self, Vec<(u32, Entity)>) {
        let mut sim = Self::with_max_rewind(game, tick_rate, 0, max_rewind);
        let world = &mut sim.world;
        world.resource_mut::<Tick>().0 = state.tick;
        let mut rng = ChaCha8Rng::from_seed(state.rng.seed);
        rng.set_stream(state.rng.stream);
        rng.set_word_pos(u128::from(state.rng.word_pos[0]) << 64 | u128::from(state.rng.word_pos[1]));
        world.resource_mut::<SpawnRng>().0 = rng;
        *world.resource_mut::<MatchClock>() = MatchClock { phase: state.phase, ends_at: state.phase_ends_at };
        world.resource_mut::<Scores>().0 = state
            .scores
            .iter()
            .map(|[id, kills, deaths]| (*id, Score { kills: *kills, deaths: *deaths }))
            .collect::<BTreeMap<_, _>>();
        world.resource_mut::<Pickups>().0.clone_from(&state.pickups);
        world.resource_mut::<NextProjectileId>().0 = state.next_projectile_id;
        *world.resource_mut::<ScoresSent>() =
            ScoresSent { rows: state.scores_sent.clone(), at_tick: state.scores_sent_at };
        world.resource_mut::<Events>().0.clone_from(&state.events);
        let mut ships = Vec::with_capacity(state.ships.len());
        for s in &state.ships {
            let ship = (
                Ship { player: s.player },
                Position(Vec2::from_array(s.position)),
                Velocity(Vec2::from_array(s.velocity)),
                Health(s.health),
                Weapon { ready_at: s.weapon[0], ready_at_seq: s.weapon[1] },
                Controls {
                    movement: Vec2::from_array(s.movement),
                    aim: s.aim,
                    buttons: s.buttons,
                    seq: s.controls_seq,
                    fresh: s.fresh,
                    view_tick: s.view_tick,
                },
                InputQueue::from_parts(&s.pending, s.last_received, s.last_applied),
                Trail::from_parts(&s.trail, s.life),
            );
            // Spawned whole (a dead ship with its `Dead`), so each lands in its final archetype at once.
            let entity = match s.dead_until {
                Some(respawn_at) => world.spawn((ship, Dead { respawn_at })).id(),
                None => world.spawn(ship).id(),
            };
            ships.push((s.player, entity));
        }
        for p in &state.projectiles {
            world.spawn((
                Projectile {
                    id: p.id,
                    owner: p.owner,
                    seq: p.seq,
                    expires_at: p.expires_at,
                    ends_at: p.ends_at,
                    rewind: p.rewind,
                },
                Position(Vec2::from_array(p.position)),
                Velocity(Vec2::from_array(p.velocity)),
            ));
        }
        (sim, ships)
    }
}
