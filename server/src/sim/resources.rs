//! Room-wide simulation state.

use std::sync::Arc;

use bevy_ecs::prelude::*;
use rand_chacha::ChaCha8Rng;

use crate::assets::ArenaConfig;

/// The arena and ship data the room was created with.
#[derive(Resource, Debug, Clone)]
pub struct Tuning(pub Arc<ArenaConfig>);

/// The fixed tick length, seconds.
#[derive(Resource, Debug, Clone, Copy)]
pub struct FixedDt(pub f32);

/// Ticks simulated so far.
#[derive(Resource, Debug, Clone, Copy)]
pub struct Tick(pub u64);

/// The room's only source of randomness; ChaCha8 so a seed gives the same stream on every platform and
/// `rand` release.
#[derive(Resource, Debug, Clone)]
pub struct SpawnRng(pub ChaCha8Rng);
