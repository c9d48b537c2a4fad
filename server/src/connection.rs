//! One client connection: a reader that decodes [`ClientMsg`]s and acts on them, and a writer task that
//! drains the connection's [`Outbox`]. When either ends, the other is stopped.
//!
//! The reader never touches a room's world: it reserves seats in the [`Lobby`], hands the room a join
//! request, and then `try_send`s inputs over the player's bounded channel. Anything wrong with what the
//! client sends ends in an `error` message and a close frame naming the error code, for this client only.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use arena_protocol::{
    ClientMsg, ErrorCode, Input, MAX_NAME_CHARS, PROTOCOL_VERSION, ServerMsg, Welcome, decode_client,
};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, close_code};
use bytes::Bytes;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use rand::Rng;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::{CancellationToken, PollSender};
use tracing::{debug, info};

use crate::limits::{FLOOD_GRACE, RateLimiter, Verdict};
use crate::lobby::{HeldSeat, Lobby, LobbyError, Seat};
use crate::metrics::Disconnect;
use crate::outbox::{Outbox, OutboxReceiver, Side, SnapshotBytes};
use crate::room::{Departure, INPUT_QUEUE, JoinRequest, RoomCommand};

/// Reconnect tokens are 128 bits as hex.
const TOKEN_HEX_DIGITS: usize = 32;

/// How long the writer may take to deliver a final error and close frame before the socket is dropped.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Serves one upgraded WebSocket until either side closes it or the server shuts down.
pub async fn serve(socket: WebSocket, lobby: Arc<Lobby>, shutdown: CancellationToken) {
    let link = lobby.config().link;
    let ping_every = lobby.config().limits.idle_timeout / 3;
    let metrics_lobby = Arc::clone(&lobby);
    let metrics = metrics_lobby.metrics();
    metrics.connections.increment(1.0);
    let (sink, stream) = socket.split();
    let (outbox, outbox_rx) = Outbox::new();
    let outbox = Arc::new(outbox);
    let mut session =
        Session { lobby: Arc::clone(&lobby), outbox: Arc::clone(&outbox), player: None, room: None };
    if link.is_off() {
        let writer = tokio::spawn(write_loop(
            sink,
            outbox_rx,
            Arc::clone(&outbox),
            WriterMetrics::of(&lobby),
            ping_every,
        ));
        let mut stream = stream;
        read_loop(&mut stream, &mut session, &shutdown).await;
        session.finish();
        count_disconnect(&lobby, &outbox);
        // Keep reading (and discarding) while the writer says goodbye: closing a socket with unread data
        // makes the kernel send a reset, which can destroy the error and close frame still in flight.
        let drain = async { while let Some(Ok(_)) = stream.next().await {} };
        let goodbye = async {
            let (written, ()) = tokio::join!(writer, drain);
            if let Err(err) = written {
                debug!(%err, "writer task failed");
            }
        };
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, goodbye).await;
    } else {
        // Link conditioner: a delay line in each direction.
        let (delayed_out, mut out_rx) = link.delay_line::<Message>();
        let forward_out = tokio::spawn(async move {
            let mut sink = sink;
            while let Some(msg) = out_rx.recv().await {
                if sink.send(msg).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let (delayed_in, mut in_rx) = link.delay_line::<Result<Message, axum::Error>>();
        let forward_in = tokio::spawn(async move {
            let mut stream = stream;
            while let Some(frame) = stream.next().await {
                if delayed_in.send(frame).await.is_err() {
                    break;
                }
            }
        });
        let writer = tokio::spawn(write_loop(
            PollSender::new(delayed_out),
            outbox_rx,
            Arc::clone(&outbox),
            WriterMetrics::of(&lobby),
            ping_every,
        ));
        let delayed_stream = futures_util::stream::poll_fn(move |cx| in_rx.poll_recv(cx));
        read_loop(&mut Box::pin(delayed_stream), &mut session, &shutdown).await;
        session.finish();
        count_disconnect(&lobby, &outbox);
        forward_in.abort();
        let _ = writer.await;
        let mut forward_out = forward_out;
        if tokio::time::timeout(CLOSE_TIMEOUT, &mut forward_out).await.is_err() {
            forward_out.abort();
        }
    }
    metrics.connections.decrement(1.0);
}

/// Counts a finished connection by why it finished (as soon as that is known, before the goodbye).
fn count_disconnect(lobby: &Lobby, outbox: &Outbox) {
    lobby.metrics().disconnected(match outbox.close_reason() {
        Some((code, _)) => Disconnect::Error(code),
        None => Disconnect::Closed,
    });
}

/// What the connection knows about its player.
struct Player {
    id: u32,
    name: String,
    token: String,
}

/// The room the player is in.
struct Membership {
    code: String,
    inputs: mpsc::Sender<Input>,
    departure: Arc<Departure>,
}

struct Session {
    lobby: Arc<Lobby>,
    outbox: Arc<Outbox>,
    player: Option<Player>,
    room: Option<Membership>,
}

async fn read_loop<S>(stream: &mut S, session: &mut Session, shutdown: &CancellationToken)
where
    S: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let outbox = Arc::clone(&session.outbox);
    let (messages_in, bytes_in, messages_dropped) = {
        let m = session.lobby.metrics();
        (m.messages_in.clone(), m.bytes_in.clone(), m.messages_dropped.clone())
    };
    let limits = session.lobby.config().limits.clone();
    let mut limiter = RateLimiter::new(limits.message_rate, limits.message_burst);
    // The futures below live as long as the loop (pinned once), not one per message: each of them
    // registers with a lock or a timer wheel when first polled, and inputs arrive 60 times a second.
    let closed = outbox.closed(Side::Reader);
    let stopping = shutdown.cancelled();
    // A connection must say hello promptly: answering pings alone would keep it from ever being idle.
    let hello_by = sleep_until(Instant::now() + limits.handshake_timeout);
    // The idle timer is not moved on every message: when it fires, it checks when the last one came.
    let mut last_seen = Instant::now();
    let idle = sleep_until(last_seen + limits.idle_timeout);
    tokio::pin!(closed, stopping, hello_by, idle);
    loop {
        let hello_due = session.player.is_none();
        // The socket before the shutdown signal: a message ready to read is the common case, and polling
        // the shared shutdown token takes a lock. It is still polled whenever the socket has nothing.
        let frame = tokio::select! {
            biased;
            () = &mut closed => return,
            frame = stream.next() => frame,
            () = &mut stopping => {
                outbox.close(ErrorCode::ShuttingDown, "the server is shutting down".into());
                return;
            }
            () = &mut hello_by, if hello_due => {
                let secs = limits.handshake_timeout.as_secs_f32();
                outbox.close(ErrorCode::HelloRequired, format!("no hello within {secs} s of connecting"));
                return;
            }
            () = &mut idle => {
                let idle_at = last_seen + limits.idle_timeout;
                if Instant::now() < idle_at {
                    idle.as_mut().reset(idle_at);
                    continue;
                }
                let secs = limits.idle_timeout.as_secs_f32();
                outbox.close(ErrorCode::Idle, format!("nothing was received for {secs} s"));
                return;
            }
        };
        let now = Instant::now();
        last_seen = now;
        // Every frame counts, pings included: a ping flood costs pongs.
        if let Some(Ok(Message::Binary(_) | Message::Text(_) | Message::Ping(_) | Message::Pong(_))) = &frame
        {
            match limiter.check(now) {
                Verdict::Allow => {}
                Verdict::Drop => {
                    messages_dropped.increment(1);
                    continue;
                }
                Verdict::Flood => {
                    let rate = limits.message_rate;
                    outbox.close(
                        ErrorCode::Flooding,
                        format!("more than {rate} messages per second for {} s", FLOOD_GRACE.as_secs()),
                    );
                    return;
                }
            }
        }
        match frame {
            None | Some(Ok(Message::Close(_))) => return,
            Some(Ok(Message::Binary(bytes))) => {
                messages_in.increment(1);
                bytes_in.increment(bytes.len() as u64);
                match decode_client(&bytes, limits.max_message_bytes) {
                    Ok(msg) => session.handle(msg),
                    Err(err) => {
                        debug!(%err, "bad client message");
                        outbox.close(err.code(), err.to_string());
                    }
                }
            }
            Some(Ok(Message::Text(_))) => outbox.close(
                ErrorCode::TextFrame,
                "text frames are not part of the protocol; send binary MessagePack".into(),
            ),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Err(err)) => {
                match too_large(err) {
                    Some(detail) => outbox.close(ErrorCode::TooLarge, detail),
                    None => outbox.close_quietly(),
                }
                return;
            }
        }
    }
}

/// The size-limit violation behind a read error, if that is what it was.
fn too_large(err: axum::Error) -> Option<String> {
    use tokio_tungstenite::tungstenite::Error as WsError;
    let inner = err.into_inner();
    match inner.downcast_ref::<WsError>() {
        Some(WsError::Capacity(cap)) => Some(format!("{cap}")),
        _ => {
            debug!(err = %inner, "read error");
            None
        }
    }
}

impl Session {
    fn handle(&mut self, msg: ClientMsg) {
        if self.player.is_none() {
            return match msg {
                ClientMsg::Hello { version, name, reconnect_token } => {
                    self.hello(version, &name, reconnect_token)
                }
                _ => self.outbox.close(ErrorCode::HelloRequired, "the first message must be hello".into()),
            };
        }
        match msg {
            ClientMsg::Hello { .. } => {
                self.outbox.close(ErrorCode::HelloRequired, "hello was already received".into())
            }
            ClientMsg::QuickPlay => self.join_with(|lobby| lobby.quick_play()),
            ClientMsg::CreateRoom => self.join_with(|lobby| lobby.create_private()),
            ClientMsg::JoinRoom { code } => self.join_with(|lobby| lobby.join(&code)),
            ClientMsg::Input(input) => {
                // Input outside a room (e.g. in flight while leaving) is dropped, not an error. A full
                // channel means the client sends faster than the room ticks: the excess is dropped.
                let Some(room) = &self.room else {
                    self.lobby.metrics().inputs_discarded.increment(1);
                    return;
                };
                match room.inputs.try_send(input) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        self.lobby.metrics().inputs_discarded.increment(1)
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => {
                        // The room is gone (it stopped on an internal error): say so and free the seat.
                        let message = format!("room {} closed unexpectedly; join another", room.code);
                        self.leave_room();
                        self.error(ErrorCode::RoomClosed, message);
                    }
                }
            }
            ClientMsg::Ping { client_time } => {
                let _ = self
                    .outbox
                    .send(&ServerMsg::Pong { client_time, server_time: self.lobby.server_time_ms() });
            }
            ClientMsg::Leave => {
                if self.room.is_some() {
                    self.leave_room();
                    let _ = self.outbox.send(&ServerMsg::Left);
                } else {
                    self.error(ErrorCode::NotInRoom, "not in a room".into());
                }
            }
        }
    }

    fn hello(&mut self, version: u16, name: &str, reconnect_token: Option<String>) {
        if version != PROTOCOL_VERSION {
            return self.outbox.close(
                ErrorCode::VersionMismatch,
                format!("protocol version {version} is not supported; this server speaks version {PROTOCOL_VERSION}"),
            );
        }
        let name = match validate_name(name) {
            Ok(name) => name,
            Err(problem) => return self.outbox.close(ErrorCode::BadName, problem),
        };
        // A valid token takes back its held seat: same id, same name, same room, score kept.
        let reclaimed = reconnect_token
            .filter(|t| t.len() == TOKEN_HEX_DIGITS)
            .and_then(|token| self.lobby.reclaim(&token).map(|held| (token, held)));
        let (id, name, token) = match &reclaimed {
            Some((token, (held, _))) => (held.player, held.name.clone(), token.clone()),
            None => {
                let token: u128 = rand::rng().random();
                (self.lobby.next_player_id(), name, format!("{token:032x}"))
            }
        };
        let config = self.lobby.config();
        let welcome = Welcome {
            player_id: id,
            version: PROTOCOL_VERSION,
            tick_rate: config.tick_rate,
            snapshot_rate: config.snapshot_rate,
            server_time: self.lobby.server_time_ms(),
            reconnect_token: token.clone(),
            resumed: reclaimed.is_some(),
            tuning: self.lobby.tuning(),
        };
        info!(player = id, name = %name, resumed = reclaimed.is_some(), "player connected");
        self.player = Some(Player { id, name, token });
        let _ = self.outbox.send(&ServerMsg::Welcome(welcome));
        if let Some((_, (held, room))) = reclaimed {
            let code = held.code.clone();
            self.join_with(move |_| Ok(Seat { code, room }));
        }
    }

    fn join_with(&mut self, reserve: impl FnOnce(&Arc<Lobby>) -> Result<Seat, LobbyError>) {
        if let Some(room) = &self.room {
            let message = format!("already in room {}; leave it first", room.code);
            return self.error(ErrorCode::AlreadyInRoom, message);
        }
        let Some(player) = &self.player else { return };
        let seat = match reserve(&self.lobby) {
            Ok(seat) => seat,
            Err(err) => return self.error(err.code(), err.to_string()),
        };
        let membership = self.lobby.next_membership();
        self.outbox.set_membership(membership);
        let (tx, rx) = mpsc::channel(INPUT_QUEUE);
        let departure = Departure::staying();
        let request = JoinRequest {
            player: player.id,
            name: player.name.clone(),
            membership,
            inputs: rx,
            outbox: Arc::clone(&self.outbox),
            departure: Arc::clone(&departure),
        };
        if seat.room.try_send(RoomCommand::Join(request)).is_err() {
            self.lobby.release(&seat.code);
            self.outbox.clear_membership();
            let message = format!("room {} is not accepting players right now", seat.code);
            return self.error(ErrorCode::RoomClosed, message);
        }
        self.room = Some(Membership { code: seat.code, inputs: tx, departure });
    }

    /// The connection is ending: a player still in a room keeps their seat for the reconnect grace
    /// period (if there is one); then the writer is told to finish.
    fn finish(&mut self) {
        let grace = !self.lobby.config().reconnect_grace.is_zero();
        if let (true, Some(player)) = (grace, &self.player)
            && let Some(room) = self.room.take()
        {
            self.outbox.clear_membership();
            let seat = HeldSeat { player: player.id, name: player.name.clone(), code: room.code };
            self.lobby.hold(player.token.clone(), seat);
            // Recorded before `room.inputs` drops, so the room holds the seat rather than freeing it.
            room.departure.dropped();
        }
        self.leave_room();
        self.outbox.close_quietly();
    }

    /// Leaves the current room, if any: the room sees the input channel close and frees the ship.
    fn leave_room(&mut self) {
        if let Some(room) = self.room.take() {
            room.departure.left();
            self.outbox.clear_membership();
            self.lobby.release(&room.code);
        }
    }

    fn error(&self, code: ErrorCode, message: String) {
        let _ = self.outbox.send(&ServerMsg::Error { code, message });
    }
}

/// A trimmed, checked display name, or why it is not acceptable.
pub fn validate_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 {
        return Err("the name is empty".into());
    }
    if chars > MAX_NAME_CHARS {
        return Err(format!("the name has {chars} characters; at most {MAX_NAME_CHARS} are allowed"));
    }
    if name.chars().any(char::is_control) {
        return Err("the name contains control characters".into());
    }
    Ok(name.to_owned())
}

/// The counters the writer updates.
struct WriterMetrics {
    messages_out: metrics::Counter,
    bytes_out: metrics::Counter,
    snapshots_sent: metrics::Counter,
    keyframes_sent: metrics::Counter,
}

impl WriterMetrics {
    /// Counts one outgoing message (for a snapshot, whether it is a keyframe) and wraps it for the socket.
    fn count(&self, bytes: Bytes, keyframe: Option<bool>) -> Message {
        self.messages_out.increment(1);
        self.bytes_out.increment(bytes.len() as u64);
        if let Some(keyframe) = keyframe {
            self.snapshots_sent.increment(1);
            if keyframe {
                self.keyframes_sent.increment(1);
            }
        }
        Message::Binary(bytes)
    }

    fn of(lobby: &Lobby) -> Self {
        Self::from_metrics(lobby.metrics())
    }

    fn from_metrics(m: &crate::metrics::Metrics) -> Self {
        Self {
            messages_out: m.messages_out.clone(),
            bytes_out: m.bytes_out.clone(),
            snapshots_sent: m.snapshots_sent.clone(),
            keyframes_sent: m.keyframes_sent.clone(),
        }
    }
}

async fn write_loop<S>(
    mut sink: S,
    mut control: OutboxReceiver,
    outbox: Arc<Outbox>,
    metrics: WriterMetrics,
    ping_every: Duration,
) where
    S: Sink<Message> + Unpin,
{
    // Pings keep a quiet but healthy client (one in the lobby, say) from looking idle: its pong counts.
    let mut pings = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
    // The membership and tick of the last snapshot written: a delta is only good on top of it.
    let mut last_snapshot: Option<(u64, u64)> = None;
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
                Some((bytes, tick)) => Outgoing::Control(bytes, tick),
                None => break,
            },
            _ = pings.tick() => Outgoing::Ping,
            () = &mut ready => {
                ready.set(outbox.snapshot_ready());
                match outbox.take_snapshot() {
                    Some((membership, snapshot)) => Outgoing::Snapshot(membership, snapshot, false),
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
                    .map(|(bytes, tick)| Outgoing::Control(bytes, tick))
                    .or_else(|| outbox.take_snapshot().map(|(m, s)| Outgoing::Snapshot(m, s, false)))
            });
            let Some(item) = next else { break };
            let msg = match item {
                Outgoing::Ping => Message::Ping(Bytes::new()),
                // Events for tick T while a snapshot from before T still waits (the writer was behind):
                // that snapshot first, so events never overtake what they refer to.
                Outgoing::Control(bytes, Some(tick)) => match outbox.take_snapshot_before(tick) {
                    Some((membership, snapshot)) => {
                        pending.push_front(Outgoing::Control(bytes, None));
                        pending.push_front(Outgoing::Snapshot(membership, snapshot, true));
                        continue;
                    }
                    None => metrics.count(bytes, None),
                },
                Outgoing::Control(bytes, None) => metrics.count(bytes, None),
                // The room may have queued control messages (a snapshot's events, a `joined`) and offered
                // this snapshot after the lane was last looked at: those go first. Events of a later
                // snapshot stay after it.
                Outgoing::Snapshot(membership, snapshot, false) => {
                    let mut after = None;
                    while let Some((bytes, tick)) = control.try_recv(&outbox) {
                        if tick.is_some_and(|t| t > snapshot.tick) {
                            after = Some(Outgoing::Control(bytes, tick));
                            break;
                        }
                        pending.push_back(Outgoing::Control(bytes, None));
                    }
                    pending.push_back(Outgoing::Snapshot(membership, snapshot, true));
                    pending.extend(after);
                    continue;
                }
                Outgoing::Snapshot(membership, snapshot, true) => {
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
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
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
    /// A reliable message from the control lane (events carry the tick of their snapshot).
    Control(Bytes, Option<u64>),
    /// The newest snapshot, of a membership; `true` once the control messages that must precede it
    /// have been lined up before it.
    Snapshot(u64, Arc<SnapshotBytes>, bool),
}

/// The WebSocket close code that goes with a fatal protocol error.
fn close_code_for(code: ErrorCode) -> u16 {
    match code {
        ErrorCode::TooLarge => close_code::SIZE,
        ErrorCode::TextFrame => close_code::UNSUPPORTED,
        ErrorCode::ShuttingDown | ErrorCode::Idle => close_code::AWAY,
        _ => close_code::POLICY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn after_a_replaced_snapshot_the_writer_sends_a_keyframe() {
        let (outbox, control) = Outbox::new();
        let outbox = Arc::new(outbox);
        outbox.set_membership(1);
        let metrics = crate::metrics::Metrics::new();
        // A socket that holds one message: a client that stops reading fills it at once.
        let (socket, mut client) = mpsc::channel::<Message>(1);
        let writer = tokio::spawn(write_loop(
            PollSender::new(socket),
            control,
            Arc::clone(&outbox),
            WriterMetrics::from_metrics(&metrics),
            Duration::from_secs(600),
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
        outbox.offer_snapshot(1, snapshot(1));
        assert_eq!(read().await, "key 1", "the first snapshot of a room is a keyframe");
        outbox.offer_snapshot(1, snapshot(2));
        assert_eq!(read().await, "delta 2");
        // The client stops reading: 3 fills its socket, 4 waits in the writer, 5 in the slot...
        for tick in 3..=5 {
            outbox.offer_snapshot(1, snapshot(tick));
            settle().await;
        }
        // ...until 6 replaces it: the client never gets 5, so 6 must come as a keyframe.
        assert_eq!(outbox.offer_snapshot(1, snapshot(6)), crate::outbox::Offer::Replaced);
        assert_eq!(read().await, "delta 3");
        assert_eq!(read().await, "delta 4");
        assert_eq!(read().await, "key 6");
        outbox.offer_snapshot(1, snapshot(7));
        assert_eq!(read().await, "delta 7");
        // A new room membership starts from a keyframe even if the tick numbers line up.
        outbox.set_membership(2);
        outbox.offer_snapshot(2, snapshot(8));
        assert_eq!(read().await, "key 8");
        // Events for tick 10 come while snapshot 9 still waits: 9 goes first, then the events, then 10.
        outbox.offer_snapshot(2, snapshot(9));
        outbox.send_events_for(2, 10, Bytes::from_static(b"events 10")).expect("queued");
        assert_eq!(read().await, "delta 9");
        assert_eq!(read().await, "events 10");
        outbox.offer_snapshot(2, snapshot(10));
        assert_eq!(read().await, "delta 10");
        outbox.close_quietly();
        writer.await.expect("writer ends");
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(validate_name("  Ada  "), Ok("Ada".into()));
        assert!(validate_name("   ").is_err());
        assert!(validate_name(&"x".repeat(MAX_NAME_CHARS + 1)).is_err());
        assert_eq!(validate_name(&"é".repeat(MAX_NAME_CHARS)).map(|n| n.chars().count()), Ok(MAX_NAME_CHARS));
        assert!(validate_name("bad\u{7}name").is_err());
    }
}
