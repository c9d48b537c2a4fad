//! The reading half of a connection: frames in, protocol messages out, with every limit a client is
//! held to (message size and rate, the hello deadline, the idle timeout) and the server's shutdown.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use arena_protocol::{ClientMsg, DecodeError, ErrorCode, decode_client};
use axum::extract::ws::Message;
use futures_util::{Stream, StreamExt};
use thiserror::Error;
use tokio::time::{Instant, Sleep, sleep_until};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tracing::debug;

use crate::limits::{FLOOD_GRACE, Limits, RateLimiter, Verdict};
use crate::metrics::Metrics;
use crate::outbox::{Outbox, Side};

/// Why reading stopped. Each variant but [`ReadError::Closing`] and [`ReadError::Transport`] is the
/// client's fault and ends the connection with an `error` naming it.
#[derive(Debug, Error)]
pub(crate) enum ReadError {
    /// The connection is closing for a reason given elsewhere (its room, its writer).
    #[error("the connection is closing")]
    Closing,
    /// The server is shutting down.
    #[error("the server is shutting down")]
    ShuttingDown,
    /// No hello came in time.
    #[error("no hello within {} s of connecting", .0.as_secs_f32())]
    NoHello(Duration),
    /// Nothing came for the idle timeout.
    #[error("nothing was received for {} s", .0.as_secs_f32())]
    Idle(Duration),
    /// Over the message rate for too long.
    #[error("more than {rate} messages per second for {} s", FLOOD_GRACE.as_secs())]
    Flooding {
        /// The allowed rate.
        rate: f64,
    },
    /// A text frame.
    #[error("text frames are not part of the protocol; send binary MessagePack")]
    TextFrame,
    /// A message over the size limit (refused by the WebSocket layer before it was buffered).
    #[error("{0}")]
    TooLarge(String),
    /// A message that does not decode.
    #[error(transparent)]
    Decode(DecodeError),
    /// The socket failed or was reset.
    #[error("the connection failed")]
    Transport,
}

impl ReadError {
    /// The error code to close the connection with, if the client is to be told.
    pub(crate) fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Closing | Self::Transport => None,
            Self::ShuttingDown => Some(ErrorCode::ShuttingDown),
            Self::NoHello(_) => Some(ErrorCode::HelloRequired),
            Self::Idle(_) => Some(ErrorCode::Idle),
            Self::Flooding { .. } => Some(ErrorCode::Flooding),
            Self::TextFrame => Some(ErrorCode::TextFrame),
            Self::TooLarge(_) => Some(ErrorCode::TooLarge),
            Self::Decode(err) => Some(err.code()),
        }
    }
}

/// The counters the reader updates.
#[derive(Debug)]
struct ReaderMetrics {
    messages_in: metrics::Counter,
    bytes_in: metrics::Counter,
    live: Arc<crate::status::LiveCounters>,
    messages_dropped: metrics::Counter,
}

/// A connection's reader.
pub(crate) struct Reader<S> {
    stream: S,
    outbox: Arc<Outbox>,
    limits: Limits,
    limiter: RateLimiter,
    metrics: ReaderMetrics,
    // Pinned once for the connection, not made anew per message: the cancellation future registers
    // under a lock when first polled, the timers in the timer wheel, and inputs come 60 times a second.
    stopping: Pin<Box<WaitForCancellationFutureOwned>>,
    hello_by: Pin<Box<Sleep>>,
    idle: Pin<Box<Sleep>>,
    /// The idle timer is not moved on every message: when it fires, it checks when the last one came.
    last_seen: Instant,
}

impl<S> std::fmt::Debug for Reader<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader").field("last_seen", &self.last_seen).finish_non_exhaustive()
    }
}

impl<S> Reader<S>
where
    S: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    /// A reader of `stream` under `limits`, stopping when `outbox` closes or `shutdown` is cancelled.
    pub(crate) fn new(
        stream: S,
        outbox: Arc<Outbox>,
        limits: Limits,
        metrics: &Metrics,
        shutdown: CancellationToken,
    ) -> Self {
        let now = Instant::now();
        Self {
            stream,
            outbox,
            limiter: RateLimiter::new(limits.message_rate, limits.message_burst),
            metrics: ReaderMetrics {
                messages_in: metrics.messages_in.clone(),
                bytes_in: metrics.bytes_in.clone(),
                live: Arc::clone(&metrics.live),
                messages_dropped: metrics.messages_dropped.clone(),
            },
            stopping: Box::pin(shutdown.cancelled_owned()),
            // A connection must say hello promptly: answering pings alone would keep it from being idle.
            hello_by: Box::pin(sleep_until(now + limits.handshake_timeout)),
            idle: Box::pin(sleep_until(now + limits.idle_timeout)),
            last_seen: now,
            limits,
        }
    }

    /// The next message; `Ok(None)` when the client closed the connection cleanly. `hello_due` while
    /// the client has not said hello yet.
    pub(crate) async fn recv(&mut self, hello_due: bool) -> Result<Option<ClientMsg>, ReadError> {
        loop {
            // The socket before the shutdown signal: a message ready to read is the common case, and
            // polling the shared shutdown token takes a lock. It is still polled whenever the socket has
            // nothing.
            let frame = tokio::select! {
                biased;
                () = self.outbox.closed(Side::Reader) => return Err(ReadError::Closing),
                frame = self.stream.next() => frame,
                () = &mut self.stopping => return Err(ReadError::ShuttingDown),
                () = &mut self.hello_by, if hello_due => return Err(ReadError::NoHello(self.limits.handshake_timeout)),
                () = &mut self.idle => {
                    let idle_at = self.last_seen + self.limits.idle_timeout;
                    if Instant::now() < idle_at {
                        self.idle.as_mut().reset(idle_at);
                        continue;
                    }
                    return Err(ReadError::Idle(self.limits.idle_timeout));
                }
            };
            let now = Instant::now();
            self.last_seen = now;
            let message = match frame {
                None | Some(Ok(Message::Close(_))) => return Ok(None),
                Some(Err(err)) => return Err(read_error(err)),
                Some(Ok(message)) => message,
            };
            // Every frame counts, pings included: a ping flood costs pongs.
            match self.limiter.check(now) {
                Verdict::Allow => {}
                Verdict::Drop => {
                    self.metrics.messages_dropped.increment(1);
                    continue;
                }
                Verdict::Flood => return Err(ReadError::Flooding { rate: self.limits.message_rate }),
            }
            match message {
                Message::Binary(bytes) => {
                    self.metrics.messages_in.increment(1);
                    self.metrics.bytes_in.increment(bytes.len() as u64);
                    self.metrics.live.received(bytes.len() as u64);
                    return match decode_client(&bytes, self.limits.max_message_bytes) {
                        Ok(msg) => Ok(Some(msg)),
                        Err(err) => {
                            debug!(%err, "bad client message");
                            Err(ReadError::Decode(err))
                        }
                    };
                }
                Message::Text(_) => return Err(ReadError::TextFrame),
                // tungstenite answers pings itself; a pong only shows the client is there.
                Message::Ping(_) | Message::Pong(_) | Message::Close(_) => {}
            }
        }
    }

    /// Reads and discards until the client closes or the socket fails: what to do while the writer says
    /// goodbye, because closing a socket with unread data makes the kernel send a reset, which can
    /// destroy the error and close frame still in flight.
    pub(crate) async fn drain(&mut self) {
        while let Some(Ok(_)) = self.stream.next().await {}
    }
}

/// What a failed read means: a message over the size limit, or a broken connection.
fn read_error(err: axum::Error) -> ReadError {
    use tokio_tungstenite::tungstenite::Error as WsError;
    let inner = err.into_inner();
    match inner.downcast_ref::<WsError>() {
        Some(WsError::Capacity(cap)) => ReadError::TooLarge(format!("{cap}")),
        _ => {
            debug!(err = %inner, "read error");
            ReadError::Transport
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use arena_protocol::{PROTOCOL_VERSION, encode};
    use futures_util::stream;
    use tokio::sync::mpsc;

    use super::*;
    use crate::config::Config;

    type Frame = Result<Message, axum::Error>;

    type TestReader = Reader<std::pin::Pin<Box<dyn Stream<Item = Frame> + Send>>>;

    /// A reader of frames the test pushes, with the default limits and `idle` and `hello` timeouts.
    fn test_reader(
        idle: Duration,
        hello: Duration,
    ) -> (TestReader, mpsc::Sender<Frame>, Arc<Outbox>, CancellationToken) {
        test_reader_with(idle, hello, &Metrics::new())
    }

    fn test_reader_with(
        idle: Duration,
        hello: Duration,
        metrics: &Metrics,
    ) -> (TestReader, mpsc::Sender<Frame>, Arc<Outbox>, CancellationToken) {
        let (tx, mut rx) = mpsc::channel::<Frame>(64);
        let frames: std::pin::Pin<Box<dyn Stream<Item = Frame> + Send>> =
            Box::pin(stream::poll_fn(move |cx| rx.poll_recv(cx)));
        let mut limits = Config::for_tests().limits;
        limits.idle_timeout = idle;
        limits.handshake_timeout = hello;
        let (outbox, _rx) = Outbox::new();
        let outbox = Arc::new(outbox);
        let shutdown = CancellationToken::new();
        (Reader::new(frames, Arc::clone(&outbox), limits, metrics, shutdown.clone()), tx, outbox, shutdown)
    }

    fn hello() -> Frame {
        let msg = ClientMsg::Hello {
            version: PROTOCOL_VERSION,
            name: "a".into(),
            reconnect_token: None,
            ticket: None,
        };
        Ok(Message::Binary(encode(&msg).expect("encode").into()))
    }

    #[tokio::test(start_paused = true)]
    async fn no_hello_in_time_is_an_error_exactly_at_the_deadline() {
        let (mut reader, _tx, _outbox, _stop) = test_reader(Duration::from_secs(30), Duration::from_secs(5));
        let start = Instant::now();
        let err = reader.recv(true).await.expect_err("no hello");
        assert!(matches!(err, ReadError::NoHello(_)), "{err}");
        assert_eq!(err.code(), Some(ErrorCode::HelloRequired));
        assert_eq!(start.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_client_is_idle_after_the_timeout_from_its_last_message() {
        let (mut reader, tx, _outbox, _stop) = test_reader(Duration::from_secs(30), Duration::from_secs(5));
        tx.send(hello()).await.expect("send");
        assert!(matches!(reader.recv(true).await, Ok(Some(ClientMsg::Hello { .. }))));
        // A pong 20 s later counts as life: idle is 30 s after it, not after the hello.
        tokio::time::sleep(Duration::from_secs(20)).await;
        tx.send(Ok(Message::Pong(Vec::new().into()))).await.expect("send");
        let start = Instant::now();
        let err = reader.recv(false).await.expect_err("idle");
        assert!(matches!(err, ReadError::Idle(_)), "{err}");
        assert_eq!(err.code(), Some(ErrorCode::Idle));
        assert_eq!(start.elapsed(), Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn text_frames_close_and_clean_closes_end_quietly() {
        let (mut reader, tx, _outbox, _stop) = test_reader(Duration::from_secs(30), Duration::from_secs(5));
        tx.send(Ok(Message::Text("{}".into()))).await.expect("send");
        assert_eq!(reader.recv(true).await.expect_err("text").code(), Some(ErrorCode::TextFrame));
        tx.send(Ok(Message::Close(None))).await.expect("send");
        assert!(matches!(reader.recv(true).await, Ok(None)));
        drop(tx);
        assert!(matches!(reader.recv(true).await, Ok(None)), "the stream ending is a clean close too");
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_and_a_closing_outbox_stop_the_reader() {
        let (mut reader, _tx, _outbox, stop) = test_reader(Duration::from_secs(30), Duration::from_secs(5));
        stop.cancel();
        assert_eq!(reader.recv(false).await.expect_err("stopping").code(), Some(ErrorCode::ShuttingDown));
        let (mut reader, _tx, outbox, _stop) = test_reader(Duration::from_secs(30), Duration::from_secs(5));
        outbox.close(ErrorCode::TooSlow, "slow".into());
        assert!(matches!(reader.recv(false).await, Err(ReadError::Closing)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_flood_is_dropped_then_ends_the_connection() {
        let metrics = Metrics::new();
        let (mut reader, tx, _outbox, _stop) =
            test_reader_with(Duration::from_secs(30), Duration::from_secs(5), &metrics);
        let rate = Config::for_tests().limits.message_rate;
        // Far over the rate, every millisecond, until the reader gives up.
        let flood = tokio::spawn(async move {
            while tx.send(Ok(Message::Ping(Vec::new().into()))).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
        let start = Instant::now();
        let err = reader.recv(false).await.expect_err("flooding");
        assert!(matches!(err, ReadError::Flooding { rate: r } if r == rate), "{err}");
        assert!(start.elapsed() >= FLOOD_GRACE, "dropped for {:?} first", start.elapsed());
        flood.abort();
        let dropped = metrics.render();
        let dropped: f64 = dropped
            .lines()
            .find_map(|l| l.strip_prefix("arena_messages_dropped_total "))
            .and_then(|v| v.trim().parse().ok())
            .expect("arena_messages_dropped_total");
        assert!(dropped > 0.0, "the excess was dropped before the connection was ended");
    }
}
