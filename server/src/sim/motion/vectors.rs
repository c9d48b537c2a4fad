//! Golden motion vectors: the movement rules of [`super`] run on both maps at 1, 60 and 240 Hz, written
//! to `protocol/fixtures/motion.json` for the web client's tests to replay exactly.
//!
//! Each ship case steers a ship at points chosen to make it hit walls flat on, slide along them, catch
//! their corners and run into the arena's edges (the test checks that every case has all three), with
//! a stop (friction), an over-long input and a non-finite one along the way. Each shot case fires from
//! a point of such a run and records how many ticks the flight lasts before a wall or the edge stops
//! it. Regenerate with `ARENA_UPDATE_FIXTURES=1 cargo test -p arena-server motion_vectors`.

use std::path::{Path, PathBuf};

use glam::Vec2;
use serde_json::{Value, json};

use super::{flight_ticks, push_circle_out_of_rect, sanitize_movement, segment_hits_rect, step_ship};
use crate::assets::{GameData, Map};

const MAPS: [&str; 2] = ["crossroads", "pillars"];
const TICK_RATES: [u16; 3] = [1, 60, 240];
/// Directions every shot case fires in, from each chosen point.
const SHOT_DIRECTIONS: usize = 8;

fn fixture_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocol/fixtures/motion.json")
}

fn assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets")
}

/// Eighths of a unit: ship state is on that grid, so integers carry it exactly.
fn eighths(v: f32) -> i64 {
    (v * arena_protocol::POSITION_SCALE) as i64
}

/// How a ship touches the world after a step.
#[derive(Default, Debug)]
struct Contacts {
    wall: u32,
    corner: u32,
    edge: u32,
}

impl Contacts {
    fn record(&mut self, pos: Vec2, r: f32, map: &Map) {
        // Touching: within a quarter unit of contact (grid rounding may leave it a hair inside or out).
        for wall in &map.walls {
            if wall.distance(pos) < r + 0.25 {
                self.wall += 1;
                let closest = pos.clamp(wall.min, wall.max);
                if closest.x != pos.x && closest.y != pos.y {
                    self.corner += 1;
                }
            }
        }
        let touches_edge = |p: f32, size: f32| p <= r + 0.125 || p >= size - r - 0.125;
        if touches_edge(pos.x, map.size.x) || touches_edge(pos.y, map.size.y) {
            self.edge += 1;
        }
    }
}

/// The points a ship case steers at, in turn, and a marker for the stretches of no input.
enum Leg {
    Toward(Vec2),
    Still,
    Raw([f32; 2]),
}

fn legs(map: &Map, r: f32) -> Vec<Leg> {
    let mut legs = Vec::new();
    for wall in map.walls.iter().take(2) {
        let centre = (wall.min + wall.max) / 2.0;
        legs.push(Leg::Toward(centre));
        // Just past a corner, on the far side: the ship meets the corner and slides round it.
        legs.push(Leg::Toward(Vec2::new(wall.min.x - r * 0.5, wall.min.y - r * 0.5)));
        legs.push(Leg::Toward(Vec2::new(wall.max.x + r * 0.5, wall.max.y + r * 0.5)));
        // Off diagonally, then straight at the corner: the ship comes to rest against it.
        legs.push(Leg::Toward(Vec2::new(wall.max.x + r * 3.0, wall.min.y - r * 3.0)));
        legs.push(Leg::Toward(Vec2::new(wall.max.x, wall.min.y)));
    }
    legs.push(Leg::Still);
    // Up from above the last wall to the arena's edge, then along it.
    legs.extend([Leg::Raw([0.0, -1.0]), Leg::Raw([0.0, -1.0]), Leg::Raw([-1.0, -1.0])]);
    legs.push(Leg::Raw([3.0, 4.0]));
    legs.push(Leg::Raw([f32::NAN, 1.0]));
    legs.extend((0..3).map(|_| Leg::Toward(map.size)));
    legs
}

/// One ship case and the points its shot cases fire from.
fn ship_case(game: &GameData, map_name: &str, tick_rate: u16) -> (Value, Vec<Vec2>) {
    let map = &game.map;
    let ship = game.tuning.ship;
    let dt = 1.0 / f32::from(tick_rate);
    // A second a leg, half a second at the highest rate (to keep the file small), six ticks at least.
    let ticks_per_leg = u32::from(tick_rate).clamp(6, 120);
    let start = map.spawn_points[0];
    let (mut pos, mut vel) = (start, Vec2::ZERO);
    let mut inputs = Vec::new();
    let mut states: Vec<i64> = Vec::new();
    let mut contacts = Contacts::default();
    let mut shot_points = Vec::new();
    for leg in legs(map, ship.radius) {
        for i in 0..ticks_per_leg {
            let raw = match leg {
                // In 64ths, as a keyboard or stick gives round values (and some just over length 1).
                Leg::Toward(target) => {
                    ((target - pos).normalize_or_zero() * 64.0).round().to_array().map(|v| v / 64.0)
                }
                Leg::Still => [0.0, 0.0],
                Leg::Raw(raw) => raw,
            };
            (pos, vel) = step_ship(pos, vel, sanitize_movement(raw), &ship, map, dt);
            contacts.record(pos, ship.radius, map);
            inputs.extend([json!(raw[0]), json!(raw[1])]);
            states.extend([pos.x, pos.y, vel.x, vel.y].map(eighths));
            if i == ticks_per_leg / 2 {
                shot_points.push(pos);
            }
        }
    }
    assert!(
        contacts.wall > 0 && contacts.corner > 0 && contacts.edge > 0,
        "{map_name} at {tick_rate} Hz must touch a wall, a corner and the edge: {contacts:?}"
    );
    let case = json!({
        "name": format!("{map_name} at {tick_rate} Hz"),
        "map": map_name,
        "tick_rate": tick_rate,
        "start": [eighths(start.x), eighths(start.y), 0, 0],
        "inputs": inputs,
        "states": states,
    });
    (case, shot_points)
}

/// The shot cases fired from `points`; also counts those a wall stops.
fn shot_cases(game: &GameData, map_name: &str, tick_rate: u16, points: &[Vec2]) -> (Vec<Value>, u32) {
    let rules = super::super::resources::Rules::new(game, tick_rate);
    let dt = 1.0 / f32::from(tick_rate);
    let pr = rules.projectile_radius;
    let mut cases = Vec::new();
    let mut stopped_by_walls = 0;
    for (i, from) in points.iter().enumerate() {
        for d in 0..SHOT_DIRECTIONS {
            let aim = d as f32 * std::f32::consts::TAU / SHOT_DIRECTIONS as f32 + 0.3 + i as f32 * 0.1;
            let step = Vec2::from_angle(aim) * rules.projectile_speed * dt;
            let ticks = flight_ticks(*from, step, &game.map, pr, rules.projectile_lifetime);
            if let Some(t) = ticks {
                let at = *from + step * t as f32;
                if game.map.walls.iter().any(|w| segment_hits_rect(at, at + step, w, pr).is_some()) {
                    stopped_by_walls += 1;
                }
            }
            cases.push(json!({
                "map": map_name,
                "tick_rate": tick_rate,
                "from": [from.x, from.y],
                "step": [step.x, step.y],
                "max_ticks": rules.projectile_lifetime,
                "ticks": ticks,
            }));
        }
    }
    (cases, stopped_by_walls)
}

fn vectors() -> Value {
    let mut maps = serde_json::Map::new();
    let mut tunings = serde_json::Map::new();
    let mut ships = Vec::new();
    let mut shots = Vec::new();
    for map_name in MAPS {
        let game = GameData::load(&assets(), map_name).expect("assets");
        maps.insert(map_name.into(), serde_json::to_value(game.map_info()).expect("map json"));
        for tick_rate in TICK_RATES {
            tunings
                .entry(tick_rate.to_string())
                .or_insert_with(|| serde_json::to_value(game.tuning_info(tick_rate)).expect("tuning json"));
            let (case, points) = ship_case(&game, map_name, tick_rate);
            ships.push(case);
            let (cases, by_walls) = shot_cases(&game, map_name, tick_rate, &points);
            assert!(by_walls > 0, "{map_name} at {tick_rate} Hz: some shots must be stopped by walls");
            shots.extend(cases);
        }
    }
    json!({
        "about": "Golden vectors of the movement rules (server/src/sim/motion.rs, web/src/sim.ts). Ship \
                  `states` holds x, y, vx, vy in eighths of a unit after each input, four numbers a \
                  tick; `inputs` the raw movement x, y as the client sent it, two a tick (null = NaN); dt = 1 / tick_rate in f32. Shots: \
                  `ticks` is flight_ticks(from, step) (null = nothing stops it within max_ticks).",
        "tunings": tunings,
        "maps": maps,
        "ships": ships,
        "shots": shots,
    })
}

#[test]
fn motion_vectors_match_the_fixture() {
    let vectors = vectors();
    let path = fixture_path();
    if std::env::var_os("ARENA_UPDATE_FIXTURES").is_some() {
        let text = serde_json::to_string(&vectors).expect("json") + "\n";
        std::fs::write(&path, text).expect("write motion fixture");
        return;
    }
    let text = std::fs::read_to_string(&path)
        .expect("protocol/fixtures/motion.json missing: run with ARENA_UPDATE_FIXTURES=1");
    // Compared as text: the floats are f32 values, which a parse into f64 would not give back.
    assert!(
        text == serde_json::to_string(&vectors).expect("json") + "\n",
        "the movement rules changed: if on purpose, regenerate protocol/fixtures/motion.json with \
         ARENA_UPDATE_FIXTURES=1 cargo test -p arena-server motion_vectors, bump the protocol version and \
         make web/src/sim.ts agree"
    );
}

#[test]
fn a_ship_pushed_into_a_corner_is_left_at_most_a_grid_step_inside() {
    // The spec's promise: grid rounding leaves a ship at most 1/16 unit per axis inside a wall.
    let game = GameData::load(&assets(), "pillars").expect("assets");
    let ship = game.tuning.ship;
    let wall = game.map.walls[0];
    let mut pos = wall.min - Vec2::splat(ship.radius * 2.0);
    let mut vel = Vec2::ZERO;
    for _ in 0..240 {
        (pos, vel) = step_ship(pos, vel, sanitize_movement([1.0, 1.0]), &ship, &game.map, 1.0 / 60.0);
        if let Some((out, _)) = push_circle_out_of_rect(pos, ship.radius, &wall) {
            let inside = (out - pos).abs();
            assert!(inside.x <= 0.0625 + 1e-4 && inside.y <= 0.0625 + 1e-4, "{inside}");
        }
    }
}
