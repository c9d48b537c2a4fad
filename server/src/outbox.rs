//! A connection's outbound queue, shared by the rooms and the connection's own reader, drained by its
//! writer task.
//!
//! Two lanes, because the two kinds of message need opposite policies:
//! - **Control** messages (welcome, joined, events, pong, errors) must all arrive, in order. They go
//!   through a bounded channel; a client that lets it fill up is not reading and is disconnected.
//! - **Snapshots** only matter when fresh. A single slot holds the newest encoded snapshot: a newer one
//!   replaces an unsent older one (the room counts that as a drop), so a slow reader costs the server one
//!   shared handle, never a queue. After [`Outbox::offer_snapshot`] reports too many drops in a row the
//!   room disconnects the client with `too_slow`. Each snapshot comes as a keyframe and a delta against
//!   the room's previous one ([`SnapshotBytes`]); the writer sends the delta only when the previous one
//!   is the last snapshot it wrote, so a replaced snapshot costs the client one keyframe, never a wrong
//!   state.
//!
//! Everything a room sends is tagged with the room membership it belongs to, and is dropped (when offered,
//! and again when the writer takes it) unless that is still the connection's membership. So nothing from
//! a room the player left can follow its `left` message or precede the next room's `joined`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use arena_protocol::{ErrorCode, ServerMsg};
use bytes::Bytes;
use futures_util::task::AtomicWaker;
use tokio::sync::{Notify, mpsc};

use crate::ids::Membership;

/// Depth of the control lane. Control traffic is a handful of messages per room change, one pong per
/// ping, at most one event message per snapshot, and the room's chat (at most 20 lines at once and 10
/// a second: see `room::CHAT_LINES_BURST`); a client with this many unsent (about 3 s of events and
/// busy chat at 30 snapshots per second, near the snapshot lane's grace) is not reading.
pub(crate) const CONTROL_QUEUE: usize = 128;

#[derive(Debug)]
struct Slot {
    /// Which room membership is current, if the connection is in a room.
    membership: Option<Membership>,
    snapshot: Option<Arc<SnapshotBytes>>,
}

/// One snapshot of a room, encoded both ways; every player of the room shares the same one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SnapshotBytes {
    /// The snapshot's tick.
    pub(crate) tick: u64,
    /// The whole state.
    pub(crate) keyframe: Bytes,
    /// The tick of the snapshot `delta` is against, and the delta; `None` when the room had no earlier
    /// snapshot to diff against.
    pub(crate) delta: Option<(u64, Bytes)>,
}

impl SnapshotBytes {
    /// A snapshot with only a keyframe.
    #[cfg(test)]
    pub(crate) fn keyframe(tick: u64, keyframe: Bytes) -> Self {
        Self { tick, keyframe, delta: None }
    }

    /// The bytes to send a client whose last snapshot (of this membership) was at tick `last`: the delta
    /// when it is against exactly that one, the keyframe otherwise. The flag says which.
    pub(crate) fn for_client(&self, last: Option<u64>) -> (&Bytes, bool) {
        match &self.delta {
            Some((base, delta)) if last == Some(*base) => (delta, false),
            _ => (&self.keyframe, true),
        }
    }
}

/// The shared sending side of a connection.
#[derive(Debug)]
pub(crate) struct Outbox {
    control: mpsc::Sender<Control>,
    slot: Mutex<Slot>,
    snapshot_ready: Notify,
    /// The first fatal reason, sent by the writer just before the close frame.
    close_reason: Mutex<Option<(ErrorCode, String)>>,
    /// Set once the connection is closing. A flag and two wakers rather than a cancellation token:
    /// the reader and the writer poll their [`Closed`] future on every message, and a token takes a
    /// lock for each poll.
    closed: AtomicBool,
    close_wakers: [AtomicWaker; 2],
}

/// A queued control message.
#[derive(Debug)]
struct Control {
    /// The room membership it belongs to; `None` for the connection's own messages (always delivered).
    membership: Option<Membership>,
    /// For events: the tick of the snapshot they precede.
    tick: Option<u64>,
    bytes: Bytes,
}

/// Which of the connection's two tasks waits for [`Outbox::closed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// The task reading the socket.
    Reader = 0,
    /// The task writing to it.
    Writer = 1,
}

/// Completes once the connection is closing; see [`Outbox::closed`].
#[derive(Debug)]
pub(crate) struct Closed<'a> {
    outbox: &'a Outbox,
    side: Side,
}

impl Future for Closed<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.outbox.is_closed() {
            return Poll::Ready(());
        }
        self.outbox.close_wakers[self.side as usize].register(cx.waker());
        // Closed between the check and the registration: the wake may have gone to an older waker.
        if self.outbox.is_closed() { Poll::Ready(()) } else { Poll::Pending }
    }
}

/// What happened to an offered snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offer {
    /// Waiting to be sent; the slot was empty.
    Queued,
    /// Waiting to be sent; it replaced an older snapshot the client had not taken yet.
    Replaced,
    /// Not accepted: the connection is closing or has left that membership.
    Gone,
}

/// The writer's end of the control lane.
#[derive(Debug)]
pub(crate) struct OutboxReceiver {
    control: mpsc::Receiver<Control>,
}

/// Why a control message could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SendError {
    /// The client is not reading; the connection has been closed with `too_slow`.
    Full,
    /// The connection is closing, or no longer in that membership.
    Closed,
}

impl Outbox {
    /// A new outbox and its receiving end.
    pub(crate) fn new() -> (Self, OutboxReceiver) {
        let (tx, rx) = mpsc::channel(CONTROL_QUEUE);
        let outbox = Self {
            control: tx,
            slot: Mutex::new(Slot { membership: None, snapshot: None }),
            snapshot_ready: Notify::new(),
            close_reason: Mutex::new(None),
            closed: AtomicBool::new(false),
            close_wakers: [AtomicWaker::new(), AtomicWaker::new()],
        };
        (outbox, OutboxReceiver { control: rx })
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Slot> {
        // Every critical section is a field assignment; a poisoned lock is still consistent.
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Encodes and queues a connection-level control message. A full lane closes the connection with
    /// `too_slow`.
    pub(crate) fn send(&self, msg: &ServerMsg) -> Result<(), SendError> {
        self.encode_and_queue(None, msg)
    }

    /// Encodes and queues a message from a room, delivered only while the connection is still in
    /// `membership`.
    pub(crate) fn send_for(&self, membership: Membership, msg: &ServerMsg) -> Result<(), SendError> {
        self.encode_and_queue(Some(membership), msg)
    }

    fn encode_and_queue(&self, membership: Option<Membership>, msg: &ServerMsg) -> Result<(), SendError> {
        match arena_protocol::encode(msg) {
            Ok(bytes) => self.queue(Control { membership, tick: None, bytes: Bytes::from(bytes) }),
            Err(err) => {
                tracing::error!(%err, "could not encode a control message");
                Ok(())
            }
        }
    }

    #[cfg(test)]
    /// Queues an already encoded message from a room, delivered only while the connection is still in
    /// `membership`.
    pub(crate) fn send_bytes_for(&self, membership: Membership, bytes: Bytes) -> Result<(), SendError> {
        self.queue(Control { membership: Some(membership), tick: None, bytes })
    }

    /// Queues a room's encoded `events` message for the snapshot of `tick`. The writer makes sure an
    /// older snapshot still waiting in the slot goes out first: a client must never get events before
    /// the snapshot that shows what they refer to (a projectile a `hit` names, say).
    pub(crate) fn send_events_for(
        &self,
        membership: Membership,
        tick: u64,
        bytes: Bytes,
    ) -> Result<(), SendError> {
        self.queue(Control { membership: Some(membership), tick: Some(tick), bytes })
    }

    fn queue(&self, control: Control) -> Result<(), SendError> {
        if self.is_closed() || !self.delivers(control.membership) {
            return Err(SendError::Closed);
        }
        match self.control.try_send(control) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.close(ErrorCode::TooSlow, "the client is not reading its messages".into());
                Err(SendError::Full)
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(SendError::Closed),
        }
    }

    /// Whether messages of `membership` may still be delivered.
    pub(crate) fn is_current(&self, membership: Membership) -> bool {
        self.slot().membership == Some(membership)
    }

    /// Whether a message tagged `membership` (or the connection's own, `None`) may still be delivered.
    fn delivers(&self, membership: Option<Membership>) -> bool {
        membership.is_none_or(|m| self.is_current(m))
    }

    /// Offers the newest snapshot of membership `membership`. Never blocks, never allocates.
    pub(crate) fn offer_snapshot(&self, membership: Membership, bytes: Arc<SnapshotBytes>) -> Offer {
        if self.is_closed() {
            return Offer::Gone;
        }
        let old = {
            let mut slot = self.slot();
            if slot.membership != Some(membership) {
                return Offer::Gone;
            }
            slot.snapshot.replace(bytes)
        };
        self.snapshot_ready.notify_one();
        if old.is_some() { Offer::Replaced } else { Offer::Queued }
    }

    /// Starts accepting room messages for a new membership (and drops any unsent snapshot of the last).
    pub(crate) fn set_membership(&self, membership: Membership) {
        self.switch_membership(Some(membership));
    }

    fn switch_membership(&self, membership: Option<Membership>) {
        let mut slot = self.slot();
        slot.membership = membership;
        slot.snapshot = None;
    }

    /// Stops accepting room messages (the player left its room) and drops any unsent snapshot.
    pub(crate) fn clear_membership(&self) {
        self.switch_membership(None);
    }

    /// Takes the pending snapshot, if any, with its membership (always the current one).
    pub(crate) fn take_snapshot(&self) -> Option<(Membership, Arc<SnapshotBytes>)> {
        self.take_snapshot_before(u64::MAX)
    }

    /// Takes the pending snapshot if it is from before `tick`.
    pub(crate) fn take_snapshot_before(&self, tick: u64) -> Option<(Membership, Arc<SnapshotBytes>)> {
        let mut slot = self.slot();
        // A snapshot is only ever offered for the current membership, and dropped when it changes.
        let membership = slot.membership?;
        slot.snapshot.take_if(|s| s.tick < tick).map(|s| (membership, s))
    }

    /// Waits until a snapshot may be pending.
    pub(crate) async fn snapshot_ready(&self) {
        self.snapshot_ready.notified().await;
    }

    /// Closes the connection with an error the writer sends just before the close frame. The first
    /// reason wins; later calls only make sure the connection is closing.
    pub(crate) fn close(&self, code: ErrorCode, message: String) {
        {
            let mut reason = self.close_reason.lock().unwrap_or_else(|p| p.into_inner());
            if reason.is_none() && !self.is_closed() {
                *reason = Some((code, message));
            }
        }
        self.close_quietly();
    }

    /// Closes the connection without an error message (the client went away).
    pub(crate) fn close_quietly(&self) {
        self.closed.store(true, Ordering::Release);
        for waker in &self.close_wakers {
            waker.wake();
        }
    }

    /// The reason given to [`Outbox::close`], if any.
    pub(crate) fn close_reason(&self) -> Option<(ErrorCode, String)> {
        self.close_reason.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Completes once the connection is closing. Each side (reader, writer) may have one waiting.
    pub(crate) fn closed(&self, side: Side) -> Closed<'_> {
        Closed { outbox: self, side }
    }

    /// Whether the connection is closing.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

impl OutboxReceiver {
    /// The next control message still meant for this connection, with the tick of the snapshot it
    /// precedes (for events); `None` once every sender is gone.
    pub(crate) async fn recv(&mut self, outbox: &Outbox) -> Option<(Bytes, Option<u64>)> {
        loop {
            let control = self.control.recv().await?;
            if outbox.delivers(control.membership) {
                return Some((control.bytes, control.tick));
            }
        }
    }

    /// [`OutboxReceiver::recv`] for a message that is waiting now.
    pub(crate) fn try_recv(&mut self, outbox: &Outbox) -> Option<(Bytes, Option<u64>)> {
        loop {
            let control = self.control.try_recv().ok()?;
            if outbox.delivers(control.membership) {
                return Some((control.bytes, control.tick));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(n: u64) -> Membership {
        Membership::new(n).expect("not 0")
    }

    fn snap(tick: u64, bytes: &'static [u8]) -> Arc<SnapshotBytes> {
        Arc::new(SnapshotBytes::keyframe(tick, Bytes::from_static(bytes)))
    }

    #[test]
    fn newer_snapshot_replaces_unsent_one() {
        let (outbox, _rx) = Outbox::new();
        outbox.set_membership(m(1));
        assert_eq!(outbox.offer_snapshot(m(1), snap(1, b"a")), Offer::Queued);
        assert_eq!(outbox.offer_snapshot(m(1), snap(2, b"b")), Offer::Replaced);
        assert_eq!(outbox.take_snapshot(), Some((m(1), snap(2, b"b"))));
        assert_eq!(outbox.offer_snapshot(m(1), snap(3, b"c")), Offer::Queued);
    }

    #[test]
    fn snapshots_of_another_membership_are_refused() {
        let (outbox, _rx) = Outbox::new();
        outbox.set_membership(m(2));
        assert_eq!(outbox.offer_snapshot(m(1), snap(1, b"old room")), Offer::Gone);
        outbox.offer_snapshot(m(2), snap(1, b"x"));
        outbox.clear_membership();
        assert_eq!(outbox.take_snapshot(), None, "leaving drops the unsent snapshot");
        assert_eq!(outbox.offer_snapshot(m(2), snap(2, b"y")), Offer::Gone);
    }

    #[test]
    fn a_delta_goes_only_to_a_client_that_has_its_base() {
        let s = SnapshotBytes {
            tick: 12,
            keyframe: Bytes::from_static(b"key"),
            delta: Some((10, Bytes::from_static(b"delta"))),
        };
        assert_eq!(s.for_client(Some(10)), (&Bytes::from_static(b"delta"), false));
        assert_eq!(s.for_client(Some(8)), (&Bytes::from_static(b"key"), true), "it missed tick 10");
        assert_eq!(s.for_client(None), (&Bytes::from_static(b"key"), true), "it just joined");
        let first = SnapshotBytes::keyframe(10, Bytes::from_static(b"key"));
        assert_eq!(first.for_client(Some(10)), (&Bytes::from_static(b"key"), true));
    }

    #[tokio::test]
    async fn room_messages_queued_before_leaving_are_not_delivered_after() {
        let (outbox, mut rx) = Outbox::new();
        outbox.set_membership(m(5));
        outbox.send_bytes_for(m(5), Bytes::from_static(b"event of room 5")).expect("queued");
        outbox.clear_membership();
        outbox.send(&ServerMsg::Left).expect("queued");
        let (first, _) = rx.recv(&outbox).await.expect("a message");
        assert_eq!(first, Bytes::from(arena_protocol::encode(&ServerMsg::Left).expect("encode")));
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
