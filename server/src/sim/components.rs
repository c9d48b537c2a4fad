//! What a simulated entity is made of.

use std::collections::VecDeque;

use arena_protocol::Input;
use bevy_ecs::prelude::*;
use glam::Vec2;

/// A player's ship. The entity id on the wire is the player's id.
#[derive(Component, Debug, Clone, Copy)]
pub struct Ship {
    /// The owning player's id.
    pub player: u32,
}

/// Position in arena units.
#[derive(Component, Debug, Clone, Copy, PartialEq)]
pub struct Position(pub Vec2);

/// Velocity in arena units per second.
#[derive(Component, Debug, Clone, Copy, PartialEq)]
pub struct Velocity(pub Vec2);

/// Hit points; 0 means dead.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Health(pub u16);

/// Present while a ship is dead: it neither moves, fires nor collides until `respawn_at`.
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dead {
    /// The tick the ship comes back.
    pub respawn_at: u64,
}

/// A ship's gun.
#[derive(Component, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Weapon {
    /// The first tick it may fire again.
    pub ready_at: u64,
    /// The first input sequence number that may fire again.
    pub ready_at_seq: u64,
}

/// A projectile in flight.
#[derive(Component, Debug, Clone, Copy, PartialEq)]
pub struct Projectile {
    /// Id on the wire, unique in the room.
    pub id: u32,
    /// The player who fired it.
    pub owner: u32,
    /// The owner's input sequence number that fired it.
    pub seq: u32,
    /// The tick it fizzles at.
    pub expires_at: u64,
    /// The first snapshot tick it is no longer in, unless it hits a ship first: after `expires_at`, or
    /// after the tick it meets a wall or the arena's edge. Clients get it once, with the projectile.
    pub ends_at: u64,
    /// How many ticks behind the present it meets ships: how far its shooter's view was behind when it
    /// fired (lag compensation, see [`super::rewind`]); 0 meets them where they are.
    pub rewind: f32,
}

/// The controls in force this tick, from the last applied input. They persist while no new input
/// arrives, so a late packet makes a ship keep going rather than stutter.
#[derive(Component, Debug, Clone, Copy, Default, PartialEq)]
pub struct Controls {
    /// Desired direction, length at most 1.
    pub movement: Vec2,
    /// Aim angle in radians.
    pub aim: f32,
    /// Button bits.
    pub buttons: u8,
    /// The sequence number of the input these came from.
    pub seq: u32,
    /// Whether that input has been acted on by the weapon already (fire is edge-free: holding fire keeps
    /// firing at the cooldown, but one input never fires twice when it is repeated for lack of a newer one).
    pub fresh: bool,
    /// The tick the client was drawing other ships at (finite, or none).
    pub view_tick: Option<f64>,
}

impl Controls {
    /// Controls from a client's input, sanitised: non-finite values become zero and movement is capped at
    /// length 1, so no client value can push a ship past the tuning.
    pub fn from_input(input: &Input) -> Self {
        Self {
            movement: super::motion::sanitize_movement(input.movement),
            aim: super::motion::sanitize_aim(input.aim),
            buttons: input.buttons,
            seq: input.seq,
            fresh: true,
            view_tick: input.view_tick.filter(|v| v.is_finite()),
        }
    }
}

/// The most inputs a ship buffers ahead of the tick. A client that runs ahead of the server (clock
/// drift, a burst after a stall) is held to this many ticks of extra latency; older inputs are dropped.
pub const MAX_QUEUED_INPUTS: usize = 8;

/// Inputs received but not yet applied, in sequence order, and the last sequence number applied.
#[derive(Component, Debug, Default)]
pub struct InputQueue {
    pending: VecDeque<Input>,
    last_received: u32,
    last_applied: u32,
}

/// What [`InputQueue::push`] did with an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputOutcome {
    /// Queued for a coming tick.
    Queued,
    /// Queued, and the oldest queued input was dropped to keep the queue bounded.
    QueuedDroppingOldest,
    /// Ignored: its sequence number was not newer than one already received.
    Stale,
}

impl InputQueue {
    /// A queue that continues after `last_applied` (for a player who reconnected).
    pub fn continuing_after(last_applied: u32) -> Self {
        Self { pending: VecDeque::new(), last_received: last_applied, last_applied }
    }

    /// Queues an input unless it is stale or a duplicate.
    pub fn push(&mut self, input: Input) -> InputOutcome {
        if input.seq <= self.last_received {
            return InputOutcome::Stale;
        }
        self.last_received = input.seq;
        let outcome = if self.pending.len() >= MAX_QUEUED_INPUTS {
            self.pending.pop_front();
            InputOutcome::QueuedDroppingOldest
        } else {
            InputOutcome::Queued
        };
        self.pending.push_back(input);
        outcome
    }

    /// Takes the next input to apply, if any, and records it as applied.
    pub fn pop(&mut self) -> Option<Input> {
        let input = self.pending.pop_front()?;
        self.last_applied = input.seq;
        Some(input)
    }

    /// The sequence number of the last input applied (0 before the first).
    pub fn last_applied(&self) -> u32 {
        self.last_applied
    }

    /// The queued inputs (oldest first), the last sequence number received and the last applied.
    pub fn to_parts(&self) -> (Vec<Input>, u32, u32) {
        (self.pending.iter().copied().collect(), self.last_received, self.last_applied)
    }

    /// The queue [`InputQueue::to_parts`] describes.
    pub fn from_parts(pending: &[Input], last_received: u32, last_applied: u32) -> Self {
        Self { pending: pending.iter().copied().collect(), last_received, last_applied }
    }
}
