//! The writing half of a connection: drains its [`Outbox`] into the socket in the order the protocol
//! promises, batching what is waiting into one write, and says goodbye when the connection closes.
//!
//! Ordering rules: control messages leave in the order they were queued; events for the snapshot of
//! tick T never overtake an older snapshot still waiting (it goes first); control messages the room
//! queued before a snapshot go before it; nothing of a membership follows its `left`. A snapshot goes
//! as a delta when the client got the snapshot it is against, else as a keyframe.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use arena_protocol::{ErrorCode, ServerMsg};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, close_code};
use bytes::Bytes;
use futures_util::{Sink, SinkExt};
use tokio::time::Instant;

use crate::ids::Membership;
use crate::outbox::{Outbox, OutboxReceiver, Side, SnapshotBytes};

/// The counters the writer updates.
pub(crate) struct WriterMetrics {
    messages_out: metrics::Counter,
    bytes_out: metrics::Counter,
    live: Arc<crate::status::LiveCounters>,
    snapshots_sent: metrics::Counter,
    keyframes_sent: metrics::Counter,
}

impl WriterMetrics {
    /// Counts one outgoing message (for a snapshot, whether it is a keyframe) and wraps it for the socket.
    fn count(&self, bytes: Bytes, keyframe: Option<bool>) -> Message {
        self.messages_out.increment(1);
        self.bytes_out.increment(bytes.len() as u64);
        self.live.sent(bytes.len() as u64);
        if let Some(keyframe) = keyframe {
            self.snapshots_sent.increment(1);
            if keyframe {
                self.keyframes_sent.increment(1);
            }
        }
        Message::Binary(bytes)
    }

    /// Handles on the server's counters.
    pub(crate) fn new(m: &crate::metrics::Metrics) -> Self {
        Self {
            messages_out: m.messages_out.clone(),
            bytes_out: m.bytes_out.clone(),
            live: Arc::clone(&m.live),
            snapshots_sent: m.snapshots_sent.clone(),
            keyframes_sent: m.keyframes_sent.clone(),
        }
    }
}

/// Drains the outbox into `sink` until the connection closes, then says goodbye: the close reason (if
/// any) as an `error`, then a close frame naming it, bounded by `close_timeout`.
pub(crate) async fn write_loop<S>(
    mut sink: S,
    mut control: OutboxReceiver,
    outbox: Arc<Outbox>,
    metrics: WriterMetrics,
    ping_every: Duration,
    close_timeout: Duration,
) where
    S: Sink<Message> + Unpin,
{
    // Pings keep a quiet but healthy client (one in the lobby, say) from looking idle: its pong counts.
    let mut pings = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
    // The membership and tick of the last snapshot written: a delta is only good on top of it.
    let mut last_snapshot: Option<(Membership, u64)> = None;
    // Pinned once, not made anew for every message: each registers under a lock when first polled.
    let closed = outbox.closed(Side::Writer);
    let ready = outbox.snapshot_ready();
    tokio::pin!(closed, ready);
    // What this batch sends next, in order (a few items at most; allocated once).
    let mut pending = VecDeque::new();
    loop {
        let first = tokio::select! {
            biased;
            () = &mut closed => break,
            msg = control.recv(&outbox) => match msg {
                Some((bytes, tick)) => Outgoing::Control { bytes, before_tick: tick },
                None => break,
            },
            _ = pings.tick() => Outgoing::Ping,
            () = &mut ready => {
                ready.set(outbox.snapshot_ready());
                match outbox.take_snapshot() {
                    Some((membership, snapshot)) => Outgoing::Snapshot { membership, snapshot, ordered: false },
                    None => continue,
                }
            }
        };
        // Whatever else is waiting already (the room hands over a snapshot together with the events
        // before it) joins the same write: one system call per batch, not per message. Messages leave
        // in the order the room made them: control messages queued before a snapshot go before it.
        pending.clear();
        pending.push_back(first);
        let mut sent = Ok(());
        loop {
            let next = pending.pop_front().or_else(|| {
                control
                    .try_recv(&outbox)
                    .map(|(bytes, tick)| Outgoing::Control { bytes, before_tick: tick })
                    .or_else(|| {
                        outbox.take_snapshot().map(|(membership, snapshot)| Outgoing::Snapshot {
                            membership,
                            snapshot,
                            ordered: false,
                        })
                    })
            });
            let Some(item) = next else { break };
            let msg = match item {
                Outgoing::Ping => Message::Ping(Bytes::new()),
                // Events for tick T while a snapshot from before T still waits (the writer was behind):
                // that snapshot first, so events never overtake what they refer to.
                Outgoing::Control { bytes, before_tick: Some(tick) } => {
                    match outbox.take_snapshot_before(tick) {
                        Some((membership, snapshot)) => {
                            pending.push_front(Outgoing::Control { bytes, before_tick: None });
                            pending.push_front(Outgoing::Snapshot { membership, snapshot, ordered: true });
                            continue;
                        }
                        None => metrics.count(bytes, None),
                    }
                }
                Outgoing::Control { bytes, before_tick: None } => metrics.count(bytes, None),
                // The room may have queued control messages (a snapshot's events, a `joined`) and offered
                // this snapshot after the lane was last looked at: those go first. Events of a later
                // snapshot stay after it.
                Outgoing::Snapshot { membership, snapshot, ordered: false } => {
                    let mut after = None;
                    while let Some((bytes, tick)) = control.try_recv(&outbox) {
                        if tick.is_some_and(|t| t > snapshot.tick) {
                            after = Some(Outgoing::Control { bytes, before_tick: tick });
                            break;
                        }
                        pending.push_back(Outgoing::Control { bytes, before_tick: None });
                    }
                    pending.push_back(Outgoing::Snapshot { membership, snapshot, ordered: true });
                    pending.extend(after);
                    continue;
                }
                Outgoing::Snapshot { membership, snapshot, ordered: true } => {
                    // A `left` just sent ends that membership: nothing of its room may follow.
                    if !outbox.is_current(membership) {
                        continue;
                    }
                    let last = last_snapshot.filter(|(m, _)| *m == membership).map(|(_, tick)| tick);
                    let (bytes, keyframe) = snapshot.for_client(last);
                    last_snapshot = Some((membership, snapshot.tick));
                    metrics.count(bytes.clone(), Some(keyframe))
                }
            };
            sent = tokio::select! {
                biased;
                () = &mut closed => break,
                fed = sink.feed(msg) => fed,
            };
            if sent.is_err() {
                break;
            }
        }
        if sent.is_ok() && !outbox.is_closed() {
            sent = tokio::select! {
                biased;
                () = &mut closed => break,
                flushed = sink.flush() => flushed,
            };
        }
        if sent.is_err() {
            outbox.close_quietly();
            return;
        }
        if outbox.is_closed() {
            break;
        }
    }
    // Closing: tell the client why, bounded in time so a client that does not read cannot hold us.
    let _ = tokio::time::timeout(close_timeout, async {
        // The client cannot hear anything after a close frame, so nothing queued is sent now.
        let frame = match outbox.close_reason() {
            Some((code, message)) => {
                let error = ServerMsg::Error { code, message };
                if let Ok(bytes) = arena_protocol::encode(&error) {
                    sink.send(Message::Binary(bytes.into())).await?;
                }
                Some(CloseFrame { code: close_code_for(code), reason: Utf8Bytes::from_static(code.as_str()) })
            }
            None => None,
        };
        sink.send(Message::Close(frame)).await?;
        sink.close().await
    })
    .await;
}

/// One message for the writer to send.
enum Outgoing {
    /// A WebSocket ping of the writer's own.
    Ping,
    /// A reliable message from the control lane.
    Control {
        bytes: Bytes,
        /// For events: the tick of the snapshot they go with (an older waiting snapshot goes first).
        before_tick: Option<u64>,
    },
    /// The newest snapshot, of a membership.
    Snapshot {
        membership: Membership,
        snapshot: Arc<SnapshotBytes>,
        /// Whether the control messages that must precede it have been lined up before it.
        ordered: bool,
    },
}

/// The WebSocket close code that goes with a fatal protocol error.
pub(crate) fn close_code_for(code: ErrorCode) -> u16 {
    match code {
        ErrorCode::TooLarge => close_code::SIZE,
        ErrorCode::TextFrame => close_code::UNSUPPORTED,
        ErrorCode::ShuttingDown | ErrorCode::Idle => close_code::AWAY,
        _ => close_code::POLICY,
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::mpsc;
    use tokio_util::sync::PollSender;

    use super::*;

    fn m(n: u64) -> Membership {
        Membership::new(n).expect("not 0")
    }

    // Paused time: `settle` returns once every task has nothing more to do (the clock jumps only then).
    #[tokio::test(start_paused = true)]
    async fn after_a_replaced_snapshot_the_writer_sends_a_keyframe() {
        let (outbox, control) = Outbox::new();
        let outbox = Arc::new(outbox);
        outbox.set_membership(m(1));
        let metrics = crate::metrics::Metrics::new();
        // A socket that holds one message: a client that stops reading fills it at once.
        let (socket, mut client) = mpsc::channel::<Message>(1);
        let writer = tokio::spawn(write_loop(
            PollSender::new(socket),
            control,
            Arc::clone(&outbox),
            WriterMetrics::new(&metrics),
            Duration::from_secs(600),
            super::super::CLOSE_TIMEOUT,
        ));
        let snapshot = |tick: u64| {
            Arc::new(SnapshotBytes {
                tick,
                keyframe: Bytes::from(format!("key {tick}")),
                delta: (tick > 1).then(|| (tick - 1, Bytes::from(format!("delta {tick}")))),
            })
        };
        let settle = || tokio::time::sleep(Duration::from_millis(20));
        let mut read = async || match client.recv().await {
            Some(Message::Binary(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
            other => panic!("expected a message, got {other:?}"),
        };
        outbox.offer_snapshot(m(1), snapshot(1));
        assert_eq!(read().await, "key 1", "the first snapshot of a room is a keyframe");
        outbox.offer_snapshot(m(1), snapshot(2));
        assert_eq!(read().await, "delta 2");
        // The client stops reading: 3 fills its socket, 4 waits in the writer, 5 in the slot...
        for tick in 3..=5 {
            outbox.offer_snapshot(m(1), snapshot(tick));
            settle().await;
        }
        // ...until 6 replaces it: the client never gets 5, so 6 must come as a keyframe.
        assert_eq!(outbox.offer_snapshot(m(1), snapshot(6)), crate::outbox::Offer::Replaced);
        assert_eq!(read().await, "delta 3");
        assert_eq!(read().await, "delta 4");
        assert_eq!(read().await, "key 6");
        outbox.offer_snapshot(m(1), snapshot(7));
        assert_eq!(read().await, "delta 7");
        // A new room membership starts from a keyframe even if the tick numbers line up.
        outbox.set_membership(m(2));
        outbox.offer_snapshot(m(2), snapshot(8));
        assert_eq!(read().await, "key 8");
        // Events for tick 10 come while snapshot 9 still waits: 9 goes first, then the events, then 10.
        outbox.offer_snapshot(m(2), snapshot(9));
        outbox.send_events_for(m(2), 10, Bytes::from_static(b"events 10")).expect("queued");
        assert_eq!(read().await, "delta 9");
        assert_eq!(read().await, "events 10");
        outbox.offer_snapshot(m(2), snapshot(10));
        assert_eq!(read().await, "delta 10");
        outbox.close_quietly();
        writer.await.expect("writer ends");
    }
}
