//! A link conditioner for testing netcode: holds every message for a latency plus random jitter before
//! passing it on, keeping the order (a real TCP link never reorders). Off (zero) by default.
//!
//! It sits in its own task between a producer and a consumer, with bounded channels on both sides, so a
//! slow consumer still pushes back on the producer as it would without the conditioner. It is a testing
//! tool: with it on, up to [`DELAY_LINE_CAPACITY`] messages (snapshots included) wait in the line
//! instead of the newest snapshot replacing an unsent one, so a client that stops reading is noticed
//! (and dropped with `too_slow`) only once the line is full.
//!
//! [`LinkConditioner::condition`] puts it between a socket's two halves and their user as an adapter:
//! the user gets a [`Sink`] and a [`Stream`] either way, so code on top of it has one path whether the
//! conditioner is on or off.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use rand::Rng;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::PollSender;

/// Latency and jitter to add to a link, in one direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkConditioner {
    /// Added to every message.
    pub latency: Duration,
    /// Up to this much more or less, at random.
    pub jitter: Duration,
}

/// How many messages one delay line holds at most.
pub const DELAY_LINE_CAPACITY: usize = 1024;

impl LinkConditioner {
    /// Whether the conditioner does anything.
    pub fn is_off(&self) -> bool {
        self.latency.is_zero() && self.jitter.is_zero()
    }

    /// A random delay for one message.
    pub fn sample(&self, rng: &mut impl Rng) -> Duration {
        let jitter = self.jitter.as_secs_f64();
        let offset = if jitter > 0.0 { rng.random_range(-jitter..=jitter) } else { 0.0 };
        Duration::from_secs_f64((self.latency.as_secs_f64() + offset).max(0.0))
    }

    /// Starts a delay line: what goes into the returned sender comes out of the returned receiver after
    /// the conditioner's delay, in order. The task ends when the sender is dropped and the line is empty,
    /// or when the receiver is dropped.
    pub fn delay_line<T: Send + 'static>(self) -> (mpsc::Sender<T>, mpsc::Receiver<T>) {
        let (in_tx, mut in_rx) = mpsc::channel::<T>(DELAY_LINE_CAPACITY);
        let (out_tx, out_rx) = mpsc::channel::<T>(DELAY_LINE_CAPACITY);
        tokio::spawn(async move {
            let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::from_os_rng();
            let mut held: VecDeque<(Instant, T)> = VecDeque::new();
            let mut last_due = Instant::now();
            let mut input_open = true;
            loop {
                let next_due = held.front().map(|(due, _)| *due);
                tokio::select! {
                    item = in_rx.recv(), if input_open && held.len() < DELAY_LINE_CAPACITY => match item {
                        Some(item) => {
                            // Never earlier than the message before: order is kept.
                            let due = (Instant::now() + self.sample(&mut rng)).max(last_due);
                            last_due = due;
                            held.push_back((due, item));
                        }
                        None => input_open = false,
                    },
                    () = sleep_until(next_due.unwrap_or_else(Instant::now)), if next_due.is_some() => {
                        if let Some((_, item)) = held.pop_front()
                            && out_tx.send(item).await.is_err()
                        {
                            return;
                        }
                    }
                    else => return,
                }
            }
        });
        (in_tx, out_rx)
    }
}

impl LinkConditioner {
    /// The longest one message may be held: what a goodbye must allow on top of its own time.
    pub fn max_delay(&self) -> Duration {
        self.latency + self.jitter
    }

    /// A socket's halves as the user should see them: unchanged when the conditioner is off, else each
    /// direction through a delay line (with a task that feeds it from, or drains it into, the socket).
    pub fn condition<Si, St, T>(self, sink: Si, stream: St) -> (LinkSink<Si, T>, LinkStream<St>)
    where
        Si: Sink<T> + Unpin + Send + 'static,
        T: Send + 'static,
        St: Stream + Unpin + Send + 'static,
        St::Item: Send + 'static,
    {
        if self.is_off() {
            return (LinkSink::Direct(sink), LinkStream::Direct(stream));
        }
        let (delayed_out, mut out) = self.delay_line::<T>();
        let forward_out = tokio::spawn(async move {
            let mut sink = sink;
            while let Some(item) = out.recv().await {
                if sink.send(item).await.is_err() {
                    return;
                }
            }
            let _ = sink.close().await;
        });
        let (delayed_in, inbound) = self.delay_line::<St::Item>();
        let forward_in = tokio::spawn(async move {
            let mut stream = stream;
            while let Some(item) = stream.next().await {
                if delayed_in.send(item).await.is_err() {
                    break;
                }
            }
        });
        (
            LinkSink::Delayed { line: PollSender::new(delayed_out), forward: Some(forward_out) },
            LinkStream::Delayed { line: inbound, forward: forward_in },
        )
    }
}

/// The sending half of a (possibly) conditioned link. Closing a delayed one waits until everything in
/// the line has reached the socket and the socket is closed.
#[derive(Debug)]
pub enum LinkSink<Si, T: Send> {
    /// Straight to the socket.
    Direct(Si),
    /// Through a delay line.
    Delayed {
        /// The line's entry.
        line: PollSender<T>,
        /// The task that drains the line into the socket (`None` once it has finished).
        forward: Option<JoinHandle<()>>,
    },
}

/// The receiving half of a (possibly) conditioned link. Dropping a delayed one stops its task.
#[derive(Debug)]
pub enum LinkStream<St: Stream> {
    /// Straight from the socket.
    Direct(St),
    /// Through a delay line.
    Delayed {
        /// The line's exit.
        line: mpsc::Receiver<St::Item>,
        /// The task that feeds the line from the socket.
        forward: JoinHandle<()>,
    },
}

/// The delay line is gone: its task ended because the socket failed.
#[derive(Debug, thiserror::Error)]
#[error("the link conditioner's delay line is closed")]
pub struct LineClosed;

impl<Si, T> Sink<T> for LinkSink<Si, T>
where
    Si: Sink<T> + Unpin,
    T: Send + 'static,
{
    type Error = LinkError<Si::Error>;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match self.get_mut() {
            Self::Direct(sink) => sink.poll_ready_unpin(cx).map_err(LinkError::Socket),
            Self::Delayed { line, .. } => line.poll_ready_unpin(cx).map_err(|_| LinkError::Line(LineClosed)),
        }
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), Self::Error> {
        match self.get_mut() {
            Self::Direct(sink) => sink.start_send_unpin(item).map_err(LinkError::Socket),
            Self::Delayed { line, .. } => {
                line.start_send_unpin(item).map_err(|_| LinkError::Line(LineClosed))
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match self.get_mut() {
            Self::Direct(sink) => sink.poll_flush_unpin(cx).map_err(LinkError::Socket),
            Self::Delayed { line, .. } => line.poll_flush_unpin(cx).map_err(|_| LinkError::Line(LineClosed)),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match self.get_mut() {
            Self::Direct(sink) => sink.poll_close_unpin(cx).map_err(LinkError::Socket),
            Self::Delayed { line, forward } => {
                line.close();
                // Done once the task has sent what the line held and closed the socket.
                if let Some(task) = forward {
                    let _ = ready!(Pin::new(task).poll(cx));
                    *forward = None;
                }
                Poll::Ready(Ok(()))
            }
        }
    }
}

impl<St: Stream + Unpin> Stream for LinkStream<St> {
    type Item = St::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<St::Item>> {
        match self.get_mut() {
            Self::Direct(stream) => stream.poll_next_unpin(cx),
            Self::Delayed { line, .. } => line.poll_recv(cx),
        }
    }
}

impl<Si, T: Send> Drop for LinkSink<Si, T> {
    /// A sink given up on before its line was sent (the goodbye timed out on a client that does not
    /// read) stops its task, which would otherwise wait on the socket for good.
    fn drop(&mut self) {
        if let Self::Delayed { forward: Some(task), .. } = self {
            task.abort();
        }
    }
}

impl<St: Stream> Drop for LinkStream<St> {
    fn drop(&mut self) {
        if let Self::Delayed { forward, .. } = self {
            forward.abort();
        }
    }
}

/// Why sending on a link failed.
#[derive(Debug, thiserror::Error)]
pub enum LinkError<E> {
    /// The socket failed.
    #[error("{0}")]
    Socket(E),
    /// The delay line's task is gone.
    #[error(transparent)]
    Line(LineClosed),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn messages_arrive_late_and_in_order() {
        let link = LinkConditioner { latency: Duration::from_millis(100), jitter: Duration::from_millis(40) };
        let (tx, mut rx) = link.delay_line::<u32>();
        let start = Instant::now();
        for i in 0..50 {
            tx.send(i).await.expect("send");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(tx);
        let mut last = None;
        let mut count = 0;
        while let Some(i) = rx.recv().await {
            assert!(last.is_none_or(|l| l < i), "out of order");
            last = Some(i);
            count += 1;
        }
        assert_eq!(count, 50);
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(250 + 60), "{elapsed:?}");
    }

    #[test]
    fn samples_stay_within_the_jitter() {
        let link = LinkConditioner { latency: Duration::from_millis(80), jitter: Duration::from_millis(20) };
        let mut rng = rand::rng();
        for _ in 0..1000 {
            let d = link.sample(&mut rng);
            assert!(d >= Duration::from_millis(60) && d <= Duration::from_millis(100), "{d:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_adapter_delays_both_directions_and_closes_after_the_line_is_sent() {
        let link = LinkConditioner { latency: Duration::from_millis(100), jitter: Duration::ZERO };
        let (to_socket, mut socket_out) = mpsc::channel::<u32>(16);
        let (socket_in, from_socket) = mpsc::channel::<u32>(16);
        let inbound = futures_util::stream::poll_fn({
            let mut rx = from_socket;
            move |cx| rx.poll_recv(cx)
        });
        let (mut sink, mut stream) = link.condition(PollSender::new(to_socket), inbound);
        let start = Instant::now();
        socket_in.send(7).await.expect("socket in");
        assert_eq!(stream.next().await, Some(7));
        assert!(start.elapsed() >= Duration::from_millis(100), "inbound delayed");
        sink.send(8).await.expect("queued");
        sink.close().await.expect("closed after the line is drained");
        assert_eq!(socket_out.recv().await, Some(8));
        assert!(start.elapsed() >= Duration::from_millis(200), "outbound delayed");
        assert_eq!(socket_out.recv().await, None, "the socket was closed after the last message");
    }

    #[tokio::test]
    async fn an_idle_conditioner_is_a_straight_pipe() {
        let (to_socket, mut socket_out) = mpsc::channel::<u32>(1);
        let (mut sink, _stream) = LinkConditioner::default()
            .condition(PollSender::new(to_socket), futures_util::stream::empty::<u32>());
        assert!(matches!(sink, LinkSink::Direct(_)));
        sink.send(1).await.expect("sent");
        assert_eq!(socket_out.recv().await, Some(1));
    }
}
