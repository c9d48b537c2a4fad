//! How a bot decides its input each tick: `wander` drifts about; `fight` plays the game — it steers
//! toward the nearest enemy (keeping some distance, with a little wander), aims with lead, fires when the
//! gun is ready and the line is clear, steers around walls, and goes for health when hurt.

use arena_protocol::{Buttons, Input, MapInfo, Snapshot, TuningInfo};
use glam::Vec2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The behaviours `arena-bots --behavior` offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Behavior {
    /// Wander about, never fire.
    Wander,
    /// Play the game: chase, aim with lead, fire, pick up health.
    #[default]
    Fight,
}

/// The distance a fighter tries to keep from its target.
const PREFERRED_RANGE: f32 = 260.0;
/// Below this fraction of full health a fighter goes for a pickup.
const LOW_HEALTH: f32 = 0.5;

/// A bot's decision-making state.
#[derive(Debug)]
pub struct Brain {
    behavior: Behavior,
    rng: ChaCha8Rng,
    heading: f32,
    moving: bool,
    last_fire_seq: Option<u32>,
}

/// What a bot knows when deciding.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// Its own player id.
    pub me: u32,
    /// The newest snapshot, if any.
    pub snapshot: Option<&'a Snapshot>,
    /// The map.
    pub map: &'a MapInfo,
    /// The rules.
    pub tuning: &'a TuningInfo,
    /// Server ticks per second.
    pub tick_rate: u16,
}

impl Brain {
    /// A brain with its own seeded randomness.
    pub fn new(behavior: Behavior, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let heading = rng.random_range(0.0..std::f32::consts::TAU);
        Self { behavior, rng, heading, moving: true, last_fire_seq: None }
    }

    /// The input for sequence number `seq`.
    pub fn decide(&mut self, seq: u32, view: View<'_>) -> Input {
        let wander = self.wander();
        let me = view.snapshot.and_then(|s| s.ship(view.me)).filter(|s| s.alive());
        let (Behavior::Fight, Some(me), Some(snapshot)) = (self.behavior, me, view.snapshot) else {
            return Input {
                seq,
                movement: wander.to_array(),
                aim: self.heading,
                buttons: 0,
                view_tick: None,
            };
        };
        let pos = Vec2::from_array(me.pos());
        let enemies = snapshot.ships.iter().filter(|s| s.id != view.me && s.alive());
        let target = enemies.min_by(|a, b| {
            let da = Vec2::from_array(a.pos()).distance_squared(pos);
            let db = Vec2::from_array(b.pos()).distance_squared(pos);
            da.total_cmp(&db)
        });

        let hurt = f32::from(me.health) < f32::from(view.tuning.max_health) * LOW_HEALTH;
        let pickup = view
            .map
            .pickups
            .iter()
            .enumerate()
            .filter(|(i, _)| snapshot.pickup_up(*i))
            .map(|(_, p)| Vec2::from_array(*p))
            .min_by(|a, b| a.distance_squared(pos).total_cmp(&b.distance_squared(pos)));

        let mut desired = match (hurt, pickup, target) {
            (true, Some(p), _) => (p - pos).normalize_or_zero(),
            (_, _, Some(t)) => {
                let to = Vec2::from_array(t.pos()) - pos;
                let dist = to.length();
                let along = to.normalize_or_zero();
                // Close in, back off, or circle at the preferred range.
                let radial = ((dist - PREFERRED_RANGE) / PREFERRED_RANGE).clamp(-1.0, 1.0);
                along * radial + along.perp() * 0.6
            }
            _ => wander,
        };
        desired = (desired + wander * 0.3).normalize_or_zero();
        desired = avoid_walls(pos, desired, view);

        let (aim, buttons) = match target {
            Some(t) => {
                let aim_at = lead(
                    pos,
                    Vec2::from_array(t.pos()),
                    Vec2::from_array(t.vel()),
                    view.tuning.projectile_speed,
                );
                let aim = (aim_at - pos).to_angle();
                let ready = self
                    .last_fire_seq
                    .is_none_or(|last| seq >= last + u32::from(view.tuning.fire_cooldown_ticks));
                let range = view.tuning.projectile_speed * f32::from(view.tuning.projectile_lifetime_ticks)
                    / f32::from(view.tick_rate.max(1));
                let fire = ready && pos.distance(aim_at) < range && clear_line(pos, aim_at, view);
                if fire {
                    self.last_fire_seq = Some(seq);
                }
                (aim, if fire { Buttons::FIRE } else { 0 })
            }
            None => (self.heading, 0),
        };
        // It aims at the newest snapshot: that is the moment of the room it sees.
        Input { seq, movement: desired.to_array(), aim, buttons, view_tick: Some(snapshot.tick as f64) }
    }

    fn wander(&mut self) -> Vec2 {
        self.heading += self.rng.random_range(-0.15..0.15);
        if self.rng.random_bool(0.01) {
            self.moving = !self.moving;
        }
        if self.moving { Vec2::from_angle(self.heading) } else { Vec2::ZERO }
    }
}

/// Where to aim so a projectile at `speed` meets a target moving at `vel` (a few fixed-point steps).
pub fn lead(from: Vec2, target: Vec2, vel: Vec2, speed: f32) -> Vec2 {
    let mut t = from.distance(target) / speed;
    for _ in 0..3 {
        t = from.distance(target + vel * t) / speed;
    }
    target + vel * t
}

fn blocked(p: Vec2, r: f32, map: &MapInfo) -> bool {
    let [w, h] = map.size;
    if p.x < r || p.y < r || p.x > w - r || p.y > h - r {
        return true;
    }
    map.walls.iter().any(|[x, y, ww, hh]| p.x > x - r && p.x < x + ww + r && p.y > y - r && p.y < y + hh + r)
}

/// Turns `dir` away from walls just ahead, trying ever wider turns.
fn avoid_walls(pos: Vec2, dir: Vec2, view: View<'_>) -> Vec2 {
    if dir == Vec2::ZERO {
        return dir;
    }
    let r = view.tuning.ship_radius;
    let probe = r * 3.0;
    for turn in [0.0f32, 0.5, -0.5, 1.0, -1.0, 1.6, -1.6, 2.4, -2.4] {
        let d = Vec2::from_angle(turn).rotate(dir);
        if !blocked(pos + d * probe, r, view.map) {
            return d;
        }
    }
    -dir
}

/// Whether a projectile from `a` to `b` would clear every wall (sampled every few units).
fn clear_line(a: Vec2, b: Vec2, view: View<'_>) -> bool {
    let r = view.tuning.projectile_radius;
    let steps = (a.distance(b) / (r * 2.0)).ceil().max(1.0) as u32;
    (1..steps).all(|i| {
        let p = a.lerp(b, i as f32 / steps as f32);
        !view
            .map
            .walls
            .iter()
            .any(|[x, y, w, h]| p.x > x - r && p.x < x + w + r && p.y > y - r && p.y < y + h + r)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arena_protocol::examples;

    /// A snapshot with healthy, still ships at `(id, x)` along y = 500.
    fn ships_on_a_line(ships: &[(u32, f32)]) -> Snapshot {
        let mut snap = Snapshot::default();
        for &(id, x) in ships {
            snap.ships.push(arena_protocol::ShipState {
                id,
                x: arena_protocol::quantize(x),
                y: arena_protocol::quantize(500.0),
                health: 100,
                ..Default::default()
            });
        }
        snap
    }

    #[test]
    fn lead_hits_a_moving_target() {
        let aim = lead(Vec2::ZERO, Vec2::new(900.0, 0.0), Vec2::new(0.0, 300.0), 900.0);
        // The projectile's flight time to the aim point equals the target's time to get there.
        let t = aim.length() / 900.0;
        assert!((aim - (Vec2::new(900.0, 0.0) + Vec2::new(0.0, 300.0) * t)).length() < 1.0, "{aim}");
    }

    #[test]
    fn a_fighter_chases_aims_and_fires_at_the_nearest_enemy() {
        let tuning = examples::tuning();
        let map = MapInfo { name: "t".into(), size: [1600.0, 1000.0], walls: vec![], pickups: vec![] };
        let snap = ships_on_a_line(&[(1, 200.0), (2, 1000.0), (3, 1500.0)]);
        let mut brain = Brain::new(Behavior::Fight, 1);
        let view = View { me: 1, snapshot: Some(&snap), map: &map, tuning: &tuning, tick_rate: 60 };
        let input = brain.decide(1, view);
        assert_eq!(input.buttons, Buttons::FIRE);
        assert!(input.aim.abs() < 1e-3, "aims along +x at ship 2: {}", input.aim);
        assert!(input.movement[0] > 0.0, "closes in: {:?}", input.movement);
        // The cooldown is respected.
        assert_eq!(brain.decide(2, view).buttons, 0);
        assert_eq!(brain.decide(1 + u32::from(tuning.fire_cooldown_ticks), view).buttons, Buttons::FIRE);
    }

    #[test]
    fn a_fighter_holds_fire_behind_a_wall() {
        let tuning = examples::tuning();
        let map = MapInfo {
            name: "t".into(),
            size: [1600.0, 1000.0],
            walls: vec![[500.0, 0.0, 50.0, 1000.0]],
            pickups: vec![],
        };
        let snap = ships_on_a_line(&[(1, 200.0), (2, 800.0)]);
        let mut brain = Brain::new(Behavior::Fight, 1);
        let input =
            brain.decide(1, View { me: 1, snapshot: Some(&snap), map: &map, tuning: &tuning, tick_rate: 60 });
        assert_eq!(input.buttons, 0);
    }
}
