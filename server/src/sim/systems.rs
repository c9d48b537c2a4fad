//! The per-tick systems, run in [`SimSystems`] order by the schedule from [`schedule`].

use arena_protocol::{Buttons, GameEvent, Phase};
use bevy_ecs::prelude::*;
use glam::Vec2;

use super::components::{Controls, Dead, Health, InputQueue, Position, Projectile, Ship, Velocity, Weapon};
use super::geometry::segment_hits_circle;
use super::motion::{blocked_at, flight_ticks, step_ship};
use super::resources::{
    Events, FixedDt, Game, InputsApplied, MatchClock, NextProjectileId, Pickups, Rules, Scores, ShotCounts,
    SpawnRng, Tick,
};
use super::rewind::{LagCompensation, Trail};
use super::spawn::farthest_spawn;

/// The phases of one tick, in order.
#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum SimSystems {
    /// Turn queued client inputs into controls.
    Input,
    /// Match phases, respawns.
    Flow,
    /// Move ships (with wall collision).
    Motion,
    /// Fire, fly projectiles, resolve hits.
    Combat,
    /// Pickups.
    Pickups,
    /// Book-keeping at the end of the tick.
    Finish,
}

/// The simulation schedule: one run is one tick.
pub fn schedule() -> Schedule {
    let mut schedule = Schedule::default();
    schedule.configure_sets(
        (
            SimSystems::Input,
            SimSystems::Flow,
            SimSystems::Motion,
            SimSystems::Combat,
            SimSystems::Pickups,
            SimSystems::Finish,
        )
            .chain(),
    );
    schedule.add_systems((
        apply_inputs.in_set(SimSystems::Input),
        (advance_match, respawn_ships).chain().in_set(SimSystems::Flow),
        move_ships.in_set(SimSystems::Motion),
        (fire_weapons, move_projectiles).chain().in_set(SimSystems::Combat),
        collect_pickups.in_set(SimSystems::Pickups),
        advance_tick.in_set(SimSystems::Finish),
    ));
    schedule
}

/// Applies at most one queued input per ship per tick, in sequence order.
pub fn apply_inputs(mut applied: ResMut<InputsApplied>, mut ships: Query<(&mut InputQueue, &mut Controls)>) {
    for (mut queue, mut controls) in &mut ships {
        match queue.pop() {
            Some(input) => {
                *controls = Controls::from_input(&input);
                applied.0 += 1;
            }
            None => controls.fresh = false,
        }
    }
}

/// Moves the match through warm-up, play and results. A match starts once enough players are in (and
/// restarts after results); it falls back to warm-up when players leave.
pub fn advance_match(
    tick: Res<Tick>,
    rules: Res<Rules>,
    game: Res<Game>,
    mut clock: ResMut<MatchClock>,
    mut scores: ResMut<Scores>,
    mut events: ResMut<Events>,
    mut rng: ResMut<SpawnRng>,
    mut commands: Commands,
    mut ships: Query<
        (Entity, &mut Position, &mut Velocity, &mut Health, &mut Weapon, &mut Trail, Has<Dead>),
        With<Ship>,
    >,
    projectiles: Query<Entity, With<Projectile>>,
) {
    let now = tick.0;
    let players = ships.iter().count();
    let next = match clock.phase {
        Phase::Warmup if players >= rules.min_players => Some((Phase::Playing, now + rules.match_length)),
        Phase::Playing if players < rules.min_players => Some((Phase::Warmup, 0)),
        Phase::Playing if now >= clock.ends_at => Some((Phase::Results, now + rules.results_length)),
        Phase::Results if now >= clock.ends_at => Some(if players >= rules.min_players {
            (Phase::Playing, now + rules.match_length)
        } else {
            (Phase::Warmup, 0)
        }),
        _ => None,
    };
    let Some((phase, ends_at)) = next else { return };
    *clock = MatchClock { phase, ends_at };
    events.0.push(GameEvent::Phase { phase, ends_tick: ends_at });
    // Every phase change clears the air; a new match also starts everyone fresh.
    for projectile in &projectiles {
        commands.entity(projectile).despawn();
    }
    if phase == Phase::Playing {
        for score in scores.0.values_mut() {
            *score = Default::default();
        }
        let mut placed: Vec<Vec2> = Vec::with_capacity(players);
        for (entity, mut pos, mut vel, mut health, mut weapon, mut trail, dead) in &mut ships {
            pos.0 = farthest_spawn(&game.0.map.spawn_points, &placed, &mut rng.0);
            trail.jumped();
            placed.push(pos.0);
            vel.0 = Vec2::ZERO;
            health.0 = rules.ship.max_health;
            *weapon = Weapon::default();
            if dead {
                commands.entity(entity).remove::<Dead>();
            }
        }
    }
}

/// Brings dead ships back, at the spawn point farthest from living enemies.
pub fn respawn_ships(
    tick: Res<Tick>,
    rules: Res<Rules>,
    game: Res<Game>,
    mut rng: ResMut<SpawnRng>,
    mut commands: Commands,
    mut dead: Query<(Entity, &Dead, &mut Position, &mut Velocity, &mut Health, &mut Trail)>,
    alive: Query<&Position, (With<Ship>, Without<Dead>)>,
) {
    let enemies: Vec<Vec2> = alive.iter().map(|p| p.0).collect();
    for (entity, dead, mut pos, mut vel, mut health, mut trail) in &mut dead {
        if dead.respawn_at > tick.0 {
            continue;
        }
        trail.jumped();
        pos.0 = farthest_spawn(&game.0.map.spawn_points, &enemies, &mut rng.0);
        vel.0 = Vec2::ZERO;
        health.0 = rules.ship.max_health;
        commands.entity(entity).remove::<Dead>();
    }
}

/// Accelerates each living ship toward the velocity its controls ask for (or brakes it with friction),
/// then moves it in sub-steps no longer than a quarter of its radius, pushing it out of walls and the
/// arena's edges after each, so no speed at any tick rate can carry it through a wall. Where it ends up
/// goes into its [`Trail`], for shots that look back at it.
pub fn move_ships(
    tick: Res<Tick>,
    rules: Res<Rules>,
    game: Res<Game>,
    dt: Res<FixedDt>,
    mut ships: Query<(&Controls, &mut Velocity, &mut Position, &mut Trail), (With<Ship>, Without<Dead>)>,
) {
    let ship = rules.ship;
    let map = &game.0.map;
    // The tick being simulated, the number its snapshot carries (what a client's `view_tick` counts).
    let now = tick.0 + 1;
    for (controls, mut vel, mut pos, mut trail) in &mut ships {
        let (p, v) = step_ship(pos.0, vel.0, controls.movement, &ship, map, dt.0);
        pos.0 = p;
        vel.0 = v;
        trail.record(now, p);
    }
}

/// Fires a projectile for each living ship whose fresh input holds fire and whose gun is ready. Not
/// during the results phase.
pub fn fire_weapons(
    tick: Res<Tick>,
    rules: Res<Rules>,
    game: Res<Game>,
    dt: Res<FixedDt>,
    clock: Res<MatchClock>,
    lag: Res<LagCompensation>,
    mut counts: ResMut<ShotCounts>,
    mut next_id: ResMut<NextProjectileId>,
    mut commands: Commands,
    mut ships: Query<(&Ship, &Controls, &Position, &mut Weapon), Without<Dead>>,
) {
    if clock.phase == Phase::Results {
        return;
    }
    for (ship, controls, pos, mut weapon) in &mut ships {
        if !controls.fresh || controls.buttons & Buttons::FIRE == 0 || !weapon.ready(tick.0, controls.seq) {
            continue;
        }
        weapon.fired(tick.0, controls.seq, rules.fire_cooldown);
        let (rewind, capped) = lag.rewind(tick.0 + 1, controls.view_tick);
        counts.fired += 1;
        counts.rewound += u64::from(rewind > 0.0);
        counts.capped += u64::from(capped);
        next_id.0 = next_id.0.wrapping_add(1);
        let velocity = Vec2::from_angle(controls.aim) * rules.projectile_speed;
        // Walls never move, so where the flight ends (short of a ship) is known now; clients are told
        // once instead of every snapshot.
        let lifetime = flight_ticks(
            pos.0,
            velocity * dt.0,
            &game.0.map,
            rules.projectile_radius,
            rules.projectile_lifetime,
        )
        .unwrap_or(rules.projectile_lifetime);
        commands.spawn((
            Projectile {
                id: next_id.0,
                owner: ship.player,
                seq: controls.seq,
                expires_at: tick.0 + rules.projectile_lifetime,
                // `Tick` counts the ticks done, so this tick's snapshot is numbered `tick + 1`: a
                // projectile stopped during the tick numbered `t` is first missing from snapshot `t + 1`.
                ends_at: tick.0 + 1 + lifetime,
                rewind,
            },
            Position(pos.0),
            Velocity(velocity),
        ));
    }
}

/// Flies each projectile along its path for this tick and stops it at the first thing in the way: a
/// wall, the arena's edge, or a living ship other than its owner's (a swept test, so nothing fast slips
/// through at a low tick rate). A hit takes health; at 0 the ship dies and its killer scores.
///
/// A projectile with a rewind meets each ship where it was that many ticks ago (its [`Trail`]), as
/// its shooter saw it; a ship that was dead then, or has respawned since, is not there to be hit.
pub fn move_projectiles(
    tick: Res<Tick>,
    rules: Res<Rules>,
    game: Res<Game>,
    dt: Res<FixedDt>,
    mut scores: ResMut<Scores>,
    mut events: ResMut<Events>,
    mut counts: ResMut<ShotCounts>,
    mut commands: Commands,
    mut projectiles: Query<(Entity, &Projectile, &mut Position, &Velocity), Without<Ship>>,
    mut ships: Query<(Entity, &Ship, &Position, &Trail, &mut Health), (Without<Dead>, Without<Projectile>)>,
) {
    let now = tick.0 + 1;
    let map = &game.0.map;
    let pr = rules.projectile_radius;
    let hit_radius = rules.ship.radius + pr;
    for (entity, projectile, mut pos, vel) in &mut projectiles {
        if tick.0 >= projectile.expires_at {
            commands.entity(entity).despawn();
            continue;
        }
        let from = pos.0;
        let to = from + vel.0 * dt.0;
        // The earliest obstacle along the path wins.
        let mut first = blocked_at(from, to, map, pr).map(|t| (t, None));
        // A ship further than this from the start of the path can meet it neither now nor where it
        // was `rewind` ticks ago (a ship moves at most `max_speed`; a jump starts a new life, which a
        // rewound shot does not see): most pairs are dismissed without looking into the trail.
        let reach =
            (to - from).length() + hit_radius + rules.ship.max_speed * 1.01 * projectile.rewind * dt.0;
        for (ship_entity, ship, ship_pos, trail, health) in &ships {
            if ship.player == projectile.owner
                || health.0 == 0
                || ship_pos.0.distance_squared(from) > reach * reach
            {
                continue;
            }
            let seen = if projectile.rewind > 0.0 {
                let Some(then) = trail.at(now as f64 - f64::from(projectile.rewind)) else { continue };
                then
            } else {
                ship_pos.0
            };
            if let Some(t) = segment_hits_circle(from, to, seen, hit_radius)
                && first.is_none_or(|(best, _)| t < best)
            {
                first = Some((t, Some(ship_entity)));
            }
        }
        match first {
            None => pos.0 = to,
            Some((_, None)) => {
                commands.entity(entity).despawn();
            }
            Some((_, Some(target))) => {
                commands.entity(entity).despawn();
                let Ok((_, ship, _, _, mut health)) = ships.get_mut(target) else { continue };
                counts.hits += 1;
                let damage = rules.damage.min(health.0);
                health.0 -= damage;
                events.0.push(GameEvent::Hit {
                    shooter: projectile.owner,
                    target: ship.player,
                    damage,
                    shot: projectile.id,
                    tick: now,
                });
                if health.0 == 0 {
                    commands.entity(target).insert(Dead { respawn_at: tick.0 + rules.respawn });
                    // The shooter may have left since firing: only players still in the room score.
                    if let Some(killer) = scores.0.get_mut(&projectile.owner) {
                        killer.kills += 1;
                    }
                    if let Some(victim) = scores.0.get_mut(&ship.player) {
                        victim.deaths += 1;
                    }
                    events.0.push(GameEvent::Kill { killer: projectile.owner, victim: ship.player });
                }
            }
        }
    }
}

/// Heals a hurt living ship that touches an available pickup; the pickup comes back later.
pub fn collect_pickups(
    tick: Res<Tick>,
    rules: Res<Rules>,
    game: Res<Game>,
    mut pickups: ResMut<Pickups>,
    mut ships: Query<(&Position, &mut Health), (With<Ship>, Without<Dead>)>,
) {
    let reach = rules.ship.radius + rules.pickup_radius;
    for (spot, state) in game.0.map.pickups.iter().zip(pickups.0.iter_mut()) {
        if let Some(back_at) = *state {
            if tick.0 < back_at {
                continue;
            }
            *state = None;
        }
        for (pos, mut health) in &mut ships {
            if health.0 < rules.ship.max_health && pos.0.distance_squared(*spot) <= reach * reach {
                health.0 = (health.0 + rules.pickup_heal).min(rules.ship.max_health);
                *state = Some(tick.0 + rules.pickup_respawn);
                break;
            }
        }
    }
}

/// Counts the tick.
pub fn advance_tick(mut tick: ResMut<Tick>) {
    tick.0 += 1;
}

impl Weapon {
    /// Whether the gun may fire at tick `now` for input `seq`. The cooldown is kept both in ticks and in
    /// input sequence numbers: an honest client (one input per tick) can predict it exactly from its own
    /// inputs, and a client that skips sequence numbers still cannot fire faster than the tick cooldown.
    pub fn ready(&self, now: u64, seq: u32) -> bool {
        now >= self.ready_at && u64::from(seq) >= self.ready_at_seq
    }

    /// Records a shot.
    pub fn fired(&mut self, now: u64, seq: u32, cooldown: u64) {
        self.ready_at = now + cooldown;
        self.ready_at_seq = u64::from(seq) + cooldown;
    }
}
