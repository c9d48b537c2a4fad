//! Game data loaded from the assets folder at start: the map (`maps/NAME.toml`) and the gameplay tuning
//! (`tuning.toml`).
//!
//! Data lives in files rather than in literals so that a server can be tuned without rebuilding it.
//! Everything is validated once at start, with an error that names the file and the field, so the
//! simulation can trust it afterwards.

use std::path::{Path, PathBuf};

use arena_protocol::{MapInfo, TuningInfo};
use glam::Vec2;
use serde::Deserialize;
use thiserror::Error;

use crate::sim::geometry::Rect;

/// The tuning file, inside the assets folder.
pub const TUNING_FILE: &str = "tuning.toml";
/// The maps folder, inside the assets folder.
pub const MAPS_DIR: &str = "maps";
/// The most pickups a map may have.
pub const MAX_PICKUPS: usize = 53;

/// The map played when `--map` is not given.
pub const DEFAULT_MAP: &str = "crossroads";

/// Why the assets could not be loaded.
#[derive(Debug, Error)]
pub enum AssetsError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The map does not exist.
    #[error("no map named {name:?} in {dir} (available: {available})")]
    NoSuchMap {
        /// The name asked for.
        name: String,
        /// Where maps were looked for.
        dir: PathBuf,
        /// The maps there, comma-separated.
        available: String,
    },
    /// A file is not valid TOML of the expected shape.
    #[error("{path} is not valid: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the TOML parser said, with line and column.
        source: Box<toml::de::Error>,
    },
    /// A value is out of its range.
    #[error("{path}: {field} {problem}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The field, e.g. `ship.radius`.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// Everything a room needs to know about the game: the map and the tuning.
#[derive(Debug, Clone, PartialEq)]
pub struct GameData {
    /// The map.
    pub map: Map,
    /// The tuning.
    pub tuning: Tuning,
    /// The files they were read from, as text (what a replay carries to be re-simulated anywhere).
    pub sources: arena_protocol::replay::GameSources,
}

/// A validated map.
#[derive(Debug, Clone, PartialEq)]
pub struct Map {
    /// The map's name (its file name without `.toml`).
    pub name: String,
    /// The arena's size; positions run from 0 to this.
    pub size: Vec2,
    /// Solid walls.
    pub walls: Vec<Rect>,
    /// Where ships spawn.
    pub spawn_points: Vec<Vec2>,
    /// Health pickup spots.
    pub pickups: Vec<Vec2>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MapFile {
    width: f32,
    height: f32,
    #[serde(default)]
    walls: Vec<[f32; 4]>,
    spawn_points: Vec<Vec2>,
    #[serde(default)]
    pickups: Vec<Vec2>,
}

/// Gameplay tuning.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tuning {
    /// Ship movement and health.
    pub ship: ShipTuning,
    /// The weapon.
    pub weapon: WeaponTuning,
    /// Health pickups.
    pub pickup: PickupTuning,
    /// Match flow.
    #[serde(rename = "match")]
    pub match_rules: MatchTuning,
}

/// Ship movement and health.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShipTuning {
    /// Collision radius.
    pub radius: f32,
    /// Top speed, units per second.
    pub max_speed: f32,
    /// Acceleration toward the desired velocity, units per second squared.
    pub acceleration: f32,
    /// Deceleration with no movement input, units per second squared.
    pub friction: f32,
    /// Full health.
    pub max_health: u16,
}

/// The weapon.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeaponTuning {
    /// Seconds between shots.
    pub cooldown: f32,
    /// Health one hit takes.
    pub damage: u16,
    /// Units per second.
    pub projectile_speed: f32,
    /// Collision radius.
    pub projectile_radius: f32,
    /// Seconds a projectile flies.
    pub projectile_lifetime: f32,
}

/// Health pickups.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PickupTuning {
    /// Collection radius.
    pub radius: f32,
    /// Health restored.
    pub heal: u16,
    /// Seconds until a collected pickup is back.
    pub respawn: f32,
}

/// Match flow.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchTuning {
    /// Players needed to start a match.
    pub min_players: u16,
    /// Match length, seconds.
    pub length: f32,
    /// Results screen, seconds.
    pub results: f32,
    /// Death to respawn, seconds.
    pub respawn: f32,
}

/// Seconds to whole ticks (rounded up, at least 1).
pub fn ticks(seconds: f32, tick_rate: u16) -> u64 {
    ((f64::from(seconds) * f64::from(tick_rate)).ceil() as u64).max(1)
}

fn read(path: &Path) -> Result<String, AssetsError> {
    std::fs::read_to_string(path).map_err(|source| AssetsError::Read { path: path.to_owned(), source })
}

fn parse<T: serde::de::DeserializeOwned>(text: &str, path: &Path) -> Result<T, AssetsError> {
    toml::from_str(text)
        .map_err(|source| AssetsError::Parse { path: path.to_owned(), source: Box::new(source) })
}

impl GameData {
    /// Loads `tuning.toml` and `maps/<map>.toml` from the assets folder and validates them together.
    pub fn load(dir: &Path, map: &str) -> Result<Self, AssetsError> {
        let tuning_path = dir.join(TUNING_FILE);
        let tuning_toml = read(&tuning_path)?;
        let maps = dir.join(MAPS_DIR);
        let valid_name =
            !map.is_empty() && map.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        let map_path = maps.join(format!("{map}.toml"));
        if !valid_name || !map_path.is_file() {
            return Err(AssetsError::NoSuchMap {
                name: map.to_owned(),
                dir: maps.clone(),
                available: available_maps(&maps),
            });
        }
        Self::from_sources(map, tuning_toml, read(&map_path)?, &tuning_path, &map_path)
    }

    /// Parses and validates game data from the texts of its files (`tuning_path` and `map_path` name
    /// them in errors).
    pub fn from_sources(
        map: &str,
        tuning_toml: String,
        map_toml: String,
        tuning_path: &Path,
        map_path: &Path,
    ) -> Result<Self, AssetsError> {
        let tuning = Tuning::parse(&tuning_toml, tuning_path)?;
        let map = Map::parse(map, &map_toml, map_path, &tuning)?;
        Ok(Self { map, tuning, sources: arena_protocol::replay::GameSources { tuning_toml, map_toml } })
    }

    /// The rules clients need for prediction, in ticks of `tick_rate`.
    pub fn tuning_info(&self, tick_rate: u16) -> TuningInfo {
        let t = &self.tuning;
        let clamp16 = |v: u64| u16::try_from(v).unwrap_or(u16::MAX);
        TuningInfo {
            ship_radius: t.ship.radius,
            max_speed: t.ship.max_speed,
            acceleration: t.ship.acceleration,
            friction: t.ship.friction,
            max_health: t.ship.max_health,
            fire_cooldown_ticks: clamp16(ticks(t.weapon.cooldown, tick_rate)),
            projectile_speed: t.weapon.projectile_speed,
            projectile_radius: t.weapon.projectile_radius,
            projectile_lifetime_ticks: clamp16(ticks(t.weapon.projectile_lifetime, tick_rate)),
            respawn_ticks: clamp16(ticks(t.match_rules.respawn, tick_rate)),
            pickup_radius: t.pickup.radius,
        }
    }

    /// The map as the protocol describes it.
    pub fn map_info(&self) -> MapInfo {
        MapInfo {
            name: self.map.name.clone(),
            size: self.map.size.to_array(),
            walls: self.map.walls.iter().map(|w| w.to_xywh()).collect(),
            pickups: self.map.pickups.iter().map(|p| p.to_array()).collect(),
        }
    }
}

/// The map names in a folder, comma-separated, for error messages.
pub fn available_maps(dir: &Path) -> String {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str()?.strip_suffix(".toml").map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    if names.is_empty() { "none".into() } else { names.join(", ") }
}

struct Check<'a> {
    path: &'a Path,
}

impl Check<'_> {
    fn fail(&self, field: &str, problem: String) -> AssetsError {
        AssetsError::Invalid { path: self.path.to_owned(), field: field.to_owned(), problem }
    }

    fn positive(&self, field: &str, value: f32) -> Result<(), AssetsError> {
        if value.is_finite() && value > 0.0 {
            Ok(())
        } else {
            Err(self.fail(field, format!("must be a positive number, is {value}")))
        }
    }

    fn at_least_one(&self, field: &str, value: u16) -> Result<(), AssetsError> {
        if value >= 1 { Ok(()) } else { Err(self.fail(field, "must be at least 1".into())) }
    }
}

impl Tuning {
    /// Parses and validates tuning; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, AssetsError> {
        let t: Self = parse(text, path)?;
        let c = Check { path };
        c.positive("ship.radius", t.ship.radius)?;
        c.positive("ship.max_speed", t.ship.max_speed)?;
        c.positive("ship.acceleration", t.ship.acceleration)?;
        c.positive("ship.friction", t.ship.friction)?;
        c.at_least_one("ship.max_health", t.ship.max_health)?;
        c.positive("weapon.cooldown", t.weapon.cooldown)?;
        c.at_least_one("weapon.damage", t.weapon.damage)?;
        c.positive("weapon.projectile_speed", t.weapon.projectile_speed)?;
        c.positive("weapon.projectile_radius", t.weapon.projectile_radius)?;
        c.positive("weapon.projectile_lifetime", t.weapon.projectile_lifetime)?;
        c.positive("pickup.radius", t.pickup.radius)?;
        c.at_least_one("pickup.heal", t.pickup.heal)?;
        c.positive("pickup.respawn", t.pickup.respawn)?;
        c.at_least_one("match.min_players", t.match_rules.min_players)?;
        c.positive("match.length", t.match_rules.length)?;
        c.positive("match.results", t.match_rules.results)?;
        c.positive("match.respawn", t.match_rules.respawn)?;
        Ok(t)
    }
}

impl Map {
    /// Parses and validates a map against the tuning (ships must fit where they spawn).
    pub fn parse(name: &str, text: &str, path: &Path, tuning: &Tuning) -> Result<Self, AssetsError> {
        let file: MapFile = parse(text, path)?;
        let c = Check { path };
        c.positive("width", file.width)?;
        c.positive("height", file.height)?;
        let size = Vec2::new(file.width, file.height);
        let r = tuning.ship.radius;
        if 2.0 * r >= size.min_element() {
            return Err(c.fail("width", format!("the arena is too small for a ship of radius {r}")));
        }
        let mut walls = Vec::with_capacity(file.walls.len());
        for (i, w) in file.walls.iter().enumerate() {
            let rect = Rect::from_xywh(*w);
            let ok = w.iter().all(|v| v.is_finite())
                && w[2] > 0.0
                && w[3] > 0.0
                && rect.min.cmpge(Vec2::ZERO).all()
                && rect.max.cmple(size).all();
            if !ok {
                return Err(c.fail(
                    &format!("walls[{i}]"),
                    format!("{w:?} must have a positive size and lie inside the arena"),
                ));
            }
            walls.push(rect);
        }
        let place = |field: &str, points: &[Vec2], clearance: f32| -> Result<(), AssetsError> {
            for (i, p) in points.iter().enumerate() {
                let inside =
                    p.is_finite() && p.cmpge(Vec2::splat(clearance)).all() && p.cmple(size - clearance).all();
                if !inside {
                    return Err(c.fail(
                        &format!("{field}[{i}]"),
                        format!("{p} is not inside the arena with {clearance} to spare"),
                    ));
                }
                if let Some(j) = walls.iter().position(|w| w.distance(*p) < clearance) {
                    return Err(
                        c.fail(&format!("{field}[{i}]"), format!("{p} is within {clearance} of walls[{j}]"))
                    );
                }
            }
            Ok(())
        };
        if file.spawn_points.is_empty() {
            return Err(c.fail("spawn_points", "must list at least one point".into()));
        }
        place("spawn_points", &file.spawn_points, r)?;
        place("pickups", &file.pickups, tuning.pickup.radius.min(r))?;
        // Snapshots carry pickups as a bit set that JavaScript clients read as a double: 53 bits.
        if file.pickups.len() > MAX_PICKUPS {
            return Err(c.fail("pickups", format!("at most {MAX_PICKUPS} pickups")));
        }
        Ok(Self {
            name: name.to_owned(),
            size,
            walls,
            spawn_points: file.spawn_points,
            pickups: file.pickups,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn repo_assets() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets")
    }

    #[test]
    fn every_shipped_map_loads() {
        let maps = available_maps(&repo_assets().join(MAPS_DIR));
        let names: Vec<&str> = maps.split(", ").collect();
        assert!(names.len() >= 2, "{maps}");
        assert!(names.contains(&DEFAULT_MAP));
        for name in names {
            let data = GameData::load(&repo_assets(), name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(data.map.spawn_points.len() >= 2, "{name}");
            // The duel map is open on purpose (for measuring aim); the maps to play have cover and health.
            if name != "duel" {
                assert!(!data.map.walls.is_empty() && !data.map.pickups.is_empty(), "{name}");
            }
        }
    }

    #[test]
    fn errors_name_the_file_and_field() {
        let tuning_text = read(&repo_assets().join(TUNING_FILE)).expect("read");
        let bad = tuning_text.replace("radius = 20.0", "radius = -1.0");
        let err = Tuning::parse(&bad, Path::new("x/tuning.toml")).expect_err("accepted");
        assert!(err.to_string().contains("x/tuning.toml: ship.radius"), "{err}");

        let tuning = Tuning::parse(&tuning_text, Path::new("t")).expect("tuning");
        let map_text = read(&repo_assets().join("maps/crossroads.toml")).expect("read");
        let bad = map_text.replace("[100.0, 100.0], [800.0, 100.0]", "[-5.0, 100.0], [800.0, 100.0]");
        let err = Map::parse("m", &bad, Path::new("x/m.toml"), &tuning).expect_err("accepted");
        assert!(err.to_string().contains("x/m.toml: spawn_points[0]"), "{err}");

        let bad = map_text.replace("[100.0, 100.0], [800.0, 100.0]", "[800.0, 500.0], [800.0, 100.0]");
        let err = Map::parse("m", &bad, Path::new("x/m.toml"), &tuning).expect_err("accepted");
        assert!(err.to_string().contains("walls[4]"), "a spawn inside a wall: {err}");

        let err = Map::parse("m", "width = 3", Path::new("x/m.toml"), &tuning).expect_err("accepted");
        assert!(err.to_string().contains("x/m.toml"), "{err}");
    }

    #[test]
    fn unknown_maps_list_the_real_ones() {
        let err = GameData::load(&repo_assets(), "nowhere").expect_err("loaded");
        let text = err.to_string();
        assert!(
            text.contains("nowhere") && text.contains("crossroads") && text.contains("pillars"),
            "{text}"
        );
        assert!(GameData::load(&repo_assets(), "../tuning").is_err());
    }

    #[test]
    fn missing_folder_names_the_path() {
        let err = GameData::load(Path::new("/nonexistent-assets"), DEFAULT_MAP).expect_err("loaded");
        assert!(err.to_string().contains("/nonexistent-assets/tuning.toml"), "{err}");
    }
}
