//! Turning a room's state into bytes, once per snapshot for everybody: the events since the last
//! snapshot as one message, and the snapshot as a keyframe and as a delta against the previous one.
//!
//! Every buffer is kept and reused, so once grown to the room's size an encoding allocates only the
//! shared `Bytes` it hands out.

use std::sync::Arc;

use arena_protocol::snapshot::sort_by_id;
use arena_protocol::{GameEvent, ServerMsg, Snapshot, SnapshotFrame};
use bytes::Bytes;
use tracing::warn;

use crate::ids::RoomCode;
use crate::outbox::SnapshotBytes;
use crate::sim::Simulation;

/// A room's encoder.
#[derive(Debug, Default)]
pub(crate) struct Broadcast {
    /// Refilled every snapshot, reusing its buffers.
    snapshot: Snapshot,
    /// The last snapshot encoded (sorted by id): the base of the next delta.
    base: Option<Snapshot>,
    frame: SnapshotFrame,
    encoded: Vec<u8>,
    events: Vec<GameEvent>,
}

impl Broadcast {
    /// Takes the events since the last snapshot and encodes them as one message, if there were any.
    pub(crate) fn events(&mut self, code: RoomCode, sim: &mut Simulation) -> Option<Bytes> {
        sim.take_events(&mut self.events);
        if self.events.is_empty() {
            return None;
        }
        let msg = ServerMsg::Events { tick: sim.tick(), events: std::mem::take(&mut self.events) };
        let encoded = arena_protocol::encode(&msg);
        if let ServerMsg::Events { events, .. } = msg {
            self.events = events;
        }
        match encoded {
            Ok(bytes) => Some(Bytes::from(bytes)),
            Err(err) => {
                warn!(room = %code, %err, "could not encode events");
                None
            }
        }
    }

    /// The events [`Broadcast::events`] last encoded (empty when there were none).
    pub(crate) fn last_events(&self) -> &[GameEvent] {
        &self.events
    }

    /// Drops the events since the last snapshot (no one is seated to get them).
    pub(crate) fn discard_events(&mut self, sim: &mut Simulation) {
        sim.take_events(&mut self.events);
        self.events.clear();
    }

    /// The room's state now as a keyframe, and as a delta against the last snapshot when there was one.
    /// `None` only if encoding failed (a bug, logged).
    pub(crate) fn snapshot(
        &mut self,
        code: RoomCode,
        sim: &mut Simulation,
        tick_rate: u16,
    ) -> Option<Arc<SnapshotBytes>> {
        sim.write_snapshot(&mut self.snapshot);
        sim.throttle_scores(&mut self.snapshot);
        sort_by_id(&mut self.snapshot);
        self.frame.keyframe(&self.snapshot);
        let keyframe = self.encode_frame(code);
        let delta_base = match &self.base {
            Some(base) => self.frame.delta(base, &self.snapshot, tick_rate).then_some(base.tick),
            None => None,
        };
        let delta = delta_base.and_then(|base| Some((base, self.encode_frame(code)?)));
        // The snapshot becomes the next base; the old base's buffers are reused for the next snapshot.
        let next_buffers = self.base.replace(std::mem::take(&mut self.snapshot));
        self.snapshot = next_buffers.unwrap_or_default();
        let tick = sim.tick();
        keyframe.map(|keyframe| Arc::new(SnapshotBytes { tick, keyframe, delta }))
    }

    /// Encodes `self.frame` as a snapshot message (one copy, shared by every player who gets it).
    fn encode_frame(&mut self, code: RoomCode) -> Option<Bytes> {
        let msg = ServerMsg::Snapshot(std::mem::take(&mut self.frame));
        self.encoded.clear();
        let encoded = arena_protocol::encode_into(&msg, &mut self.encoded);
        if let ServerMsg::Snapshot(frame) = msg {
            self.frame = frame;
        }
        match encoded {
            Ok(()) => Some(Bytes::copy_from_slice(&self.encoded)),
            Err(err) => {
                warn!(room = %code, %err, "could not encode snapshot");
                None
            }
        }
    }
}
