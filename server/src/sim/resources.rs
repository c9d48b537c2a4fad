//! Room-wide simulation state.

use std::collections::BTreeMap;
use std::sync::Arc;

use arena_protocol::{GameEvent, Phase};
use bevy_ecs::prelude::*;
use rand_chacha::ChaCha8Rng;

use crate::assets::{GameData, ShipTuning, ticks};

/// The map and tuning the room was created with.
#[derive(Resource, Debug, Clone)]
pub struct Game(pub Arc<GameData>);

/// The tuning in the simulation's units: seconds turned into ticks once, at creation.
#[derive(Resource, Debug, Clone, Copy)]
pub struct Rules {
    /// Ship movement and health.
    pub ship: ShipTuning,
    /// Ticks between shots.
    pub fire_cooldown: u64,
    /// Health one hit takes.
    pub damage: u16,
    /// Units per second.
    pub projectile_speed: f32,
    /// Collision radius.
    pub projectile_radius: f32,
    /// Ticks a projectile lives.
    pub projectile_lifetime: u64,
    /// Collection radius.
    pub pickup_radius: f32,
    /// Health a pickup restores.
    pub pickup_heal: u16,
    /// Ticks until a pickup is back.
    pub pickup_respawn: u64,
    /// Players to start a match.
    pub min_players: usize,
    /// Ticks in a match.
    pub match_length: u64,
    /// Ticks of the results screen.
    pub results_length: u64,
    /// Ticks from death to respawn.
    pub respawn: u64,
}

impl Rules {
    /// The rules for `game` at `tick_rate`.
    pub fn new(game: &GameData, tick_rate: u16) -> Self {
        let t = &game.tuning;
        Self {
            ship: t.ship,
            fire_cooldown: ticks(t.weapon.cooldown, tick_rate),
            damage: t.weapon.damage,
            projectile_speed: t.weapon.projectile_speed,
            projectile_radius: t.weapon.projectile_radius,
            projectile_lifetime: ticks(t.weapon.projectile_lifetime, tick_rate),
            pickup_radius: t.pickup.radius,
            pickup_heal: t.pickup.heal,
            pickup_respawn: ticks(t.pickup.respawn, tick_rate),
            min_players: usize::from(t.match_rules.min_players),
            match_length: ticks(t.match_rules.length, tick_rate),
            results_length: ticks(t.match_rules.results, tick_rate),
            respawn: ticks(t.match_rules.respawn, tick_rate),
        }
    }
}

/// The fixed tick length, seconds.
#[derive(Resource, Debug, Clone, Copy)]
pub struct FixedDt(pub f32);

/// Ticks simulated so far. Systems treat it as "now": the tick being simulated is `Tick + 1`.
#[derive(Resource, Debug, Clone, Copy)]
pub struct Tick(pub u64);

/// The room's only source of randomness; ChaCha8 so a seed gives the same stream on every platform and
/// `rand` release.
#[derive(Resource, Debug, Clone)]
pub struct SpawnRng(pub ChaCha8Rng);

/// The match's phase.
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MatchClock {
    /// The phase.
    pub phase: Phase,
    /// When it ends (0 = open-ended).
    pub ends_at: u64,
}

/// Kills and deaths per player, in player id order (deterministic iteration).
#[derive(Resource, Debug, Clone, Default)]
pub struct Scores(pub BTreeMap<u32, Score>);

/// One player's score.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Score {
    /// Ships destroyed.
    pub kills: u32,
    /// Times destroyed.
    pub deaths: u32,
}

/// For each pickup spot: `None` when available, else the tick it comes back.
#[derive(Resource, Debug, Clone, Default)]
pub struct Pickups(pub Vec<Option<u64>>);

/// Events of the current tick, taken by the room after each tick.
#[derive(Resource, Debug, Clone, Default)]
pub struct Events(pub Vec<GameEvent>);

/// The next projectile id.
#[derive(Resource, Debug, Clone, Copy, Default)]
pub struct NextProjectileId(pub u32);

/// Shots since the room last read the counts (for metrics).
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ShotCounts {
    /// Projectiles fired.
    pub fired: u64,
    /// Of those, fired with a rewind (lag compensation).
    pub rewound: u64,
    /// Of those, rewound less than their shooter's delay: it was over the cap.
    pub capped: u64,
    /// Projectiles that hit a ship.
    pub hits: u64,
}

/// Inputs applied since the room last read the count (for metrics).
#[derive(Resource, Debug, Clone, Copy, Default)]
pub struct InputsApplied(pub u64);

/// What the last snapshot said about the scores, and when: snapshots carry the scores only when they
/// changed, and once a second regardless (so a client that missed one catches up), which keeps a
/// steady fight's snapshots small.
#[derive(Resource, Debug, Clone, Default)]
pub struct ScoresSent {
    /// The rows last included.
    pub rows: Vec<[u32; 3]>,
    /// The tick they were included at.
    pub at_tick: u64,
}
