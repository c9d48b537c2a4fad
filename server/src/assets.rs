//! Game data loaded from the assets folder at start: the arena's size, spawn points and ship tuning.
//!
//! Data lives in `assets/arena.toml` rather than in literals so that players can tune a server without
//! rebuilding it. Everything is validated once at start, with an error that names the file and the
//! field, so the simulation can trust it afterwards.

use std::path::{Path, PathBuf};

use glam::Vec2;
use serde::Deserialize;
use thiserror::Error;

/// The file, inside the assets folder, that holds the arena data.
pub const ARENA_FILE: &str = "arena.toml";

/// Why the assets could not be loaded.
#[derive(Debug, Error)]
pub enum AssetsError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape.
    #[error("{path} is not a valid arena file: {source}")]
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

/// The arena and ship data, validated.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArenaConfig {
    /// The playing field.
    pub arena: ArenaSpec,
    /// Ship tuning.
    pub ship: ShipTuning,
}

/// The playing field.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArenaSpec {
    /// Width in arena units.
    pub width: f32,
    /// Height in arena units.
    pub height: f32,
    /// Where ships spawn.
    pub spawn_points: Vec<Vec2>,
}

/// Ship movement tuning.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShipTuning {
    /// Collision radius, arena units.
    pub radius: f32,
    /// Top speed, units per second.
    pub max_speed: f32,
    /// Acceleration toward the desired velocity, units per second squared.
    pub acceleration: f32,
    /// Deceleration with no movement input, units per second squared.
    pub friction: f32,
}

impl ArenaConfig {
    /// Loads and validates `arena.toml` from the assets folder.
    pub fn load(dir: &Path) -> Result<Self, AssetsError> {
        let path = dir.join(ARENA_FILE);
        let text = std::fs::read_to_string(&path)
            .map_err(|source| AssetsError::Read { path: path.clone(), source })?;
        Self::parse(&text, &path)
    }

    /// Parses and validates arena data; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, AssetsError> {
        let config: Self = toml::from_str(text)
            .map_err(|source| AssetsError::Parse { path: path.to_owned(), source: Box::new(source) })?;
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), AssetsError> {
        let invalid = |field: &str, problem: String| AssetsError::Invalid {
            path: path.to_owned(),
            field: field.to_owned(),
            problem,
        };
        let positive = |field: &str, value: f32| {
            if value.is_finite() && value > 0.0 {
                Ok(())
            } else {
                Err(invalid(field, format!("must be a positive number, is {value}")))
            }
        };
        positive("arena.width", self.arena.width)?;
        positive("arena.height", self.arena.height)?;
        positive("ship.radius", self.ship.radius)?;
        positive("ship.max_speed", self.ship.max_speed)?;
        positive("ship.acceleration", self.ship.acceleration)?;
        positive("ship.friction", self.ship.friction)?;
        let r = self.ship.radius;
        if 2.0 * r >= self.arena.width.min(self.arena.height) {
            return Err(invalid("ship.radius", format!("{r} does not fit in the arena")));
        }
        if self.arena.spawn_points.is_empty() {
            return Err(invalid("arena.spawn_points", "must list at least one point".into()));
        }
        for (i, p) in self.arena.spawn_points.iter().enumerate() {
            let inside = p.x >= r && p.y >= r && p.x <= self.arena.width - r && p.y <= self.arena.height - r;
            if !p.is_finite() || !inside {
                return Err(invalid(
                    &format!("arena.spawn_points[{i}]"),
                    format!("{p} is not inside the arena (at least ship.radius = {r} from every edge)"),
                ));
            }
        }
        Ok(())
    }

    /// The arena's size as a vector.
    pub fn size(&self) -> Vec2 {
        Vec2::new(self.arena.width, self.arena.height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_assets() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets")
    }

    #[test]
    fn shipped_assets_load() {
        let config = ArenaConfig::load(&repo_assets()).expect("shipped assets are valid");
        assert!(!config.arena.spawn_points.is_empty());
    }

    #[test]
    fn errors_name_the_field() {
        let text = std::fs::read_to_string(repo_assets().join(ARENA_FILE)).expect("read");
        let bad = text.replace("radius = 20.0", "radius = -1.0");
        let err = ArenaConfig::parse(&bad, Path::new("x/arena.toml")).expect_err("accepted");
        assert!(err.to_string().contains("ship.radius"), "{err}");

        let bad = text.replace("[200.0, 200.0]", "[-5.0, 200.0]");
        let err = ArenaConfig::parse(&bad, Path::new("x/arena.toml")).expect_err("accepted");
        assert!(err.to_string().contains("spawn_points[0]"), "{err}");

        let err = ArenaConfig::parse("[arena]\nwidth = 3", Path::new("x/arena.toml")).expect_err("accepted");
        assert!(err.to_string().contains("x/arena.toml"), "{err}");
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = ArenaConfig::load(Path::new("/nonexistent-arena")).expect_err("loaded");
        assert!(err.to_string().contains("/nonexistent-arena/arena.toml"), "{err}");
    }
}
