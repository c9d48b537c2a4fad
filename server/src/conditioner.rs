//! A link conditioner for testing netcode: holds every message for a latency plus random jitter before
//! passing it on, keeping the order (a real TCP link never reorders). Off (zero) by default.
//!
//! It sits in its own task between a producer and a consumer, with bounded channels on both sides, so a
//! slow consumer still pushes back on the producer as it would without the conditioner. It is a testing
//! tool: with it on, up to [`DELAY_LINE_CAPACITY`] messages (snapshots included) wait in the line
//! instead of the newest snapshot replacing an unsent one, so a client that stops reading is noticed
//! (and dropped with `too_slow`) only once the line is full.

use std::collections::VecDeque;
use std::time::Duration;

use rand::Rng;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

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
}
