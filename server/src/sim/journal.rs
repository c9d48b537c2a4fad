//! A simulation's journal: every call that changes it between two ticks (players joining and leaving,
//! ships despawned, inputs queued), so that a recording can be re-simulated bit for bit. The calls are
//! the replay format's [`Op`]s: a replay file keeps the journal of each tick as it is.
//!
//! The simulation is deterministic from its seed, its game data and these calls; the journal is what a
//! replay file keeps to prove it (`Replayer` re-runs a journal and yields each tick's state, to compare
//! with the states recorded). Ships are named by their player's id, not by their entity: entities are
//! the world's own business, and a re-run makes the same ones by making the same calls.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub use arena_protocol::replay::Op;
use bevy_ecs::entity::Entity;

use super::Simulation;
use crate::assets::GameData;

/// Why a journal does not re-run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// An op names a player with no ship at that point (the journal is damaged or not this one's).
    #[error("op {index} names player {player}, who has no ship then")]
    NoShip {
        /// The op's position in the journal.
        index: usize,
        /// The player.
        player: u32,
    },
}

/// Re-runs a journal on a fresh simulation.
#[derive(Debug)]
pub struct Replayer {
    sim: Simulation,
    ships: HashMap<u32, Entity>,
    index: usize,
}

impl Replayer {
    /// A fresh simulation made as the recorded one was.
    pub fn new(game: Arc<GameData>, tick_rate: u16, seed: u64, max_rewind: Duration) -> Self {
        Self {
            sim: Simulation::with_max_rewind(game, tick_rate, seed, max_rewind),
            ships: HashMap::new(),
            index: 0,
        }
    }

    /// A simulation rebuilt from `state` (see [`super::capture`]), to re-run a journal that starts there.
    pub fn from_state(
        game: Arc<GameData>,
        tick_rate: u16,
        max_rewind: Duration,
        state: &super::capture::WorldState,
    ) -> Self {
        let (sim, ships) = Simulation::restore(game, tick_rate, max_rewind, state);
        Self { sim, ships: ships.into_iter().collect(), index: 0 }
    }

    /// Applies `op`, a call made before the next tick.
    pub fn apply(&mut self, op: &Op) -> Result<(), ReplayError> {
        let index = self.index;
        self.index += 1;
        let ship = |ships: &HashMap<u32, Entity>, player: u32| {
            ships.get(&player).copied().ok_or(ReplayError::NoShip { index, player })
        };
        match op {
            Op::Join { player, name, resume_after } => {
                let entity = self.sim.join(*player, name, *resume_after);
                self.ships.insert(*player, entity);
            }
            Op::Leave { player } => self.sim.leave(*player),
            Op::Despawn { player } => {
                let entity = ship(&self.ships, *player)?;
                self.ships.remove(player);
                self.sim.despawn_ship(entity);
            }
            Op::Input { player, input } => {
                let entity = ship(&self.ships, *player)?;
                self.sim.push_input(entity, *input);
            }
        }
        Ok(())
    }

    /// Steps the simulation one tick (see [`Replayer::sim`] for its state after; its events wait
    /// there to be taken, as a room's do).
    pub fn step(&mut self) {
        self.sim.step();
    }

    /// The simulation as re-run so far.
    pub fn sim(&mut self) -> &mut Simulation {
        &mut self.sim
    }
}
