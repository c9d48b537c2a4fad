//! A connection's outbound queue, shared by the rooms and the connection's own reader, drained by its
//! writer task.
//!
//! Two lanes, because the two kinds of message need opposite policies:
//! - **Control** messages (welcome, joined, pong, errors) must all arrive, in order. They go through a
//!   small bounded channel; a client that lets it fill up is not reading and is disconnected.
//! - **Snapshots** only matter when fresh. A single slot holds the newest encoded snapshot: a newer one
//!   replaces an unsent older one (the room counts that as a drop), so a slow reader costs the server one
//!   `Bytes` handle, never a queue. After [`Outbox::offer_snapshot`] reports too many drops in a row the
//!   room disconnects the client with `too_slow`.
//!
//! A snapshot is only accepted for the connection's current room membership, so a snapshot from a room
//! the player just left can never follow its `left` message.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use arena_protocol::{ErrorCode, ServerMsg};
use bytes::Bytes;
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;

/// Depth of the control lane. Control traffic is a handful of messages per room change, one pong per
/// ping, and at most one event message per tick; a client with this many unsent (over a second's worth
/// at 60 Hz) is not reading.
pub const CONTROL_QUEUE: usize = 64;

/// The shared sending side of a connection.
#[derive(Debug)]
pub struct Outbox {
    control: mpsc::Sender<Bytes>,
    snapshot: Mutex<Option<Bytes>>,
    snapshot_ready: Notify,
    /// Which room membership snapshots are accepted for; 0 = none.
    membership: AtomicU64,
    /// The first fatal reason, sent by the writer just before the close frame.
    close_reason: Mutex<Option<(ErrorCode, String)>>,
    closing: CancellationToken,
}

/// What happened to an offered snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// Waiting to be sent; the slot was empty.
    Queued,
    /// Waiting to be sent; it replaced an older snapshot the client had not taken yet.
    Replaced,
    /// Not accepted: the connection is closing or has left that membership.
    Gone,
}

/// The writer's end: the control receiver plus the shared state.
#[derive(Debug)]
pub struct OutboxReceiver {
    control: mpsc::Receiver<Bytes>,
}

/// Why a control message could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The client is not reading; the connection has been closed with `too_slow`.
    Full,
    /// The connection is closing.
    Closed,
}

impl Outbox {
    /// A new outbox and its receiving end.
    pub fn new() -> (Self, OutboxReceiver) {
        let (tx, rx) = mpsc::channel(CONTROL_QUEUE);
        let outbox = Self {
            control: tx,
            snapshot: Mutex::new(None),
            snapshot_ready: Notify::new(),
            membership: AtomicU64::new(0),
            close_reason: Mutex::new(None),
            closing: CancellationToken::new(),
        };
        (outbox, OutboxReceiver { control: rx })
    }

    /// Encodes and queues a control message. A full lane closes the connection with `too_slow`.
    pub fn send(&self, msg: &ServerMsg) -> Result<(), SendError> {
        match arena_protocol::encode(msg) {
            Ok(bytes) => self.send_bytes(Bytes::from(bytes)),
            Err(err) => {
                tracing::error!(%err, "could not encode a control message");
                Ok(())
            }
        }
    }

    /// Encodes and queues a message from a room, only if the connection is still in membership
    /// `membership` (so nothing from a room follows `left`).
    pub fn send_for(&self, membership: u64, msg: &ServerMsg) -> Result<(), SendError> {
        if self.membership.load(Ordering::Acquire) != membership {
            return Err(SendError::Closed);
        }
        self.send(msg)
    }

    /// Queues an already encoded message from a room (events shared by the whole room), only if the
    /// connection is still in membership `membership`.
    pub fn send_bytes_for(&self, membership: u64, bytes: Bytes) -> Result<(), SendError> {
        if self.membership.load(Ordering::Acquire) != membership {
            return Err(SendError::Closed);
        }
        self.send_bytes(bytes)
    }

    /// Queues an already encoded control message.
    pub fn send_bytes(&self, bytes: Bytes) -> Result<(), SendError> {
        if self.closing.is_cancelled() {
            return Err(SendError::Closed);
        }
        match self.control.try_send(bytes) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.close(ErrorCode::TooSlow, "the client is not reading its messages".into());
                Err(SendError::Full)
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(SendError::Closed),
        }
    }

    /// Offers the newest snapshot of membership `membership`. Never blocks, never allocates.
    pub fn offer_snapshot(&self, membership: u64, bytes: Bytes) -> Offer {
        if self.closing.is_cancelled() || self.membership.load(Ordering::Acquire) != membership {
            return Offer::Gone;
        }
        let old = self.snapshot.lock().unwrap_or_else(|p| p.into_inner()).replace(bytes);
        self.snapshot_ready.notify_one();
        if old.is_some() { Offer::Replaced } else { Offer::Queued }
    }

    /// Starts accepting snapshots for a new membership (and drops any unsent one from the last).
    pub fn set_membership(&self, membership: u64) {
        self.membership.store(membership, Ordering::Release);
        self.snapshot.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    /// Stops accepting snapshots (the player left its room) and drops any unsent one.
    pub fn clear_membership(&self) {
        self.set_membership(0);
    }

    /// Takes the pending snapshot, if any and if still for the current membership.
    pub fn take_snapshot(&self) -> Option<Bytes> {
        self.snapshot.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// Waits until a snapshot may be pending.
    pub async fn snapshot_ready(&self) {
        self.snapshot_ready.notified().await;
    }

    /// Closes the connection with an error the writer sends just before the close frame. The first
    /// reason wins; later calls only make sure the connection is closing.
    pub fn close(&self, code: ErrorCode, message: String) {
        {
            let mut reason = self.close_reason.lock().unwrap_or_else(|p| p.into_inner());
            if reason.is_none() && !self.closing.is_cancelled() {
                *reason = Some((code, message));
            }
        }
        self.closing.cancel();
    }

    /// Closes the connection without an error message (the client went away).
    pub fn close_quietly(&self) {
        self.closing.cancel();
    }

    /// The reason given to [`Outbox::close`], if any.
    pub fn close_reason(&self) -> Option<(ErrorCode, String)> {
        self.close_reason.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Completes once the connection is closing.
    pub async fn closed(&self) {
        self.closing.cancelled().await;
    }

    /// Whether the connection is closing.
    pub fn is_closed(&self) -> bool {
        self.closing.is_cancelled()
    }
}

impl OutboxReceiver {
    /// The next control message; `None` once every sender is gone.
    pub async fn recv(&mut self) -> Option<Bytes> {
        self.control.recv().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_snapshot_replaces_unsent_one() {
        let (outbox, _rx) = Outbox::new();
        outbox.set_membership(1);
        assert_eq!(outbox.offer_snapshot(1, Bytes::from_static(b"a")), Offer::Queued);
        assert_eq!(outbox.offer_snapshot(1, Bytes::from_static(b"b")), Offer::Replaced);
        assert_eq!(outbox.take_snapshot().as_deref(), Some(&b"b"[..]));
        assert_eq!(outbox.offer_snapshot(1, Bytes::from_static(b"c")), Offer::Queued);
    }

    #[test]
    fn snapshots_of_another_membership_are_refused() {
        let (outbox, _rx) = Outbox::new();
        outbox.set_membership(2);
        assert_eq!(outbox.offer_snapshot(1, Bytes::from_static(b"old room")), Offer::Gone);
        outbox.offer_snapshot(2, Bytes::from_static(b"x"));
        outbox.clear_membership();
        assert_eq!(outbox.take_snapshot(), None, "leaving drops the unsent snapshot");
        assert_eq!(outbox.offer_snapshot(2, Bytes::from_static(b"y")), Offer::Gone);
    }

    #[test]
    fn a_full_control_lane_closes_with_too_slow() {
        let (outbox, _rx) = Outbox::new();
        for _ in 0..CONTROL_QUEUE {
            outbox.send(&ServerMsg::Left).expect("room in the queue");
        }
        assert_eq!(outbox.send(&ServerMsg::Left), Err(SendError::Full));
        assert!(outbox.is_closed());
        assert_eq!(outbox.close_reason().map(|r| r.0), Some(ErrorCode::TooSlow));
        assert_eq!(outbox.send(&ServerMsg::Left), Err(SendError::Closed));
    }

    #[test]
    fn first_close_reason_wins() {
        let (outbox, _rx) = Outbox::new();
        outbox.close(ErrorCode::Malformed, "bad".into());
        outbox.close(ErrorCode::ShuttingDown, "bye".into());
        assert_eq!(outbox.close_reason().map(|r| r.0), Some(ErrorCode::Malformed));
    }
}
