//! The live server page's figures (`GET /api/status`, drawn by the web client at `/status`): what the
//! server is doing now, and once a second over the last minute, for people watching a server rather
//! than for Prometheus (which has `/metrics`).
//!
//! The hot paths feed it with one relaxed atomic add each (bytes in and out, a tick's duration into a
//! log-scale bucket): no lock and no allocation per message or tick. A sampler task reads the counters
//! once a second and keeps the last [`HISTORY_SECONDS`] samples; rooms publish their phase and clock
//! into a [`RoomStatus`] the lobby lists. Nothing here names a player, a token or an address, and a
//! private room's code is left out (it would let anyone in).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arena_protocol::Phase;
use serde::Serialize;

/// How many one-second samples the page gets: its charts' width.
pub(crate) const HISTORY_SECONDS: usize = 60;

/// Tick-duration buckets: four to each doubling of microseconds (a quantile is read to within 19%).
const SUB_BUCKETS: u64 = 4;
const TICK_BUCKETS: usize = 4 * 40;

/// Counters the hot paths bump.
#[derive(Debug)]
pub(crate) struct LiveCounters {
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    ticks: [AtomicU64; TICK_BUCKETS],
}

impl Default for LiveCounters {
    fn default() -> Self {
        Self {
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            ticks: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl LiveCounters {
    /// Counts bytes received from clients.
    pub(crate) fn received(&self, bytes: u64) {
        self.bytes_in.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Counts bytes sent to clients.
    pub(crate) fn sent(&self, bytes: u64) {
        self.bytes_out.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Counts one room tick that took `took`.
    pub(crate) fn tick(&self, took: Duration) {
        self.ticks[bucket_of(took)].fetch_add(1, Ordering::Relaxed);
    }

    fn read(&self) -> Totals {
        Totals {
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            ticks: std::array::from_fn(|i| self.ticks[i].load(Ordering::Relaxed)),
        }
    }
}

/// The bucket of a duration: `4 × log2(µs)` plus the next two bits below the leading one.
fn bucket_of(took: Duration) -> usize {
    let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1);
    let octave = u64::from(63 - us.leading_zeros());
    let fraction = if octave >= 2 {
        (us >> (octave - 2)) & (SUB_BUCKETS - 1)
    } else {
        (us << (2 - octave)) & (SUB_BUCKETS - 1)
    };
    usize::try_from(octave * SUB_BUCKETS + fraction).unwrap_or(usize::MAX).min(TICK_BUCKETS - 1)
}

/// The upper bound of a bucket, milliseconds.
fn bucket_ceiling_ms(bucket: usize) -> f64 {
    let (octave, fraction) = (bucket as u64 / SUB_BUCKETS, bucket as u64 % SUB_BUCKETS);
    2f64.powi(octave as i32) * (1.0 + (fraction + 1) as f64 / SUB_BUCKETS as f64) / 1000.0
}

#[derive(Debug, Clone, Copy)]
struct Totals {
    bytes_in: u64,
    bytes_out: u64,
    ticks: [u64; TICK_BUCKETS],
}

/// One second of the server.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Sample {
    /// Seconds since the server started.
    pub(crate) at_s: f64,
    /// Players seated, reserved or held, in every room.
    pub(crate) players: u32,
    /// Rooms open.
    pub(crate) rooms: u32,
    /// Room ticks in this second.
    pub(crate) ticks: u64,
    /// Tick duration quantiles over this second's ticks, milliseconds (bucket ceilings); 0 without ticks.
    pub(crate) tick_p50_ms: f64,
    /// See `tick_p50_ms`.
    pub(crate) tick_p99_ms: f64,
    /// Bytes received from clients in this second.
    pub(crate) bytes_in: u64,
    /// Bytes sent to clients in this second.
    pub(crate) bytes_out: u64,
}

/// The last [`HISTORY_SECONDS`] samples, and the counters they are taken from (the metrics' own).
#[derive(Debug, Default)]
pub(crate) struct LiveStatus {
    counters: Arc<LiveCounters>,
    state: Mutex<History>,
}

#[derive(Debug, Default)]
struct History {
    last: Option<Totals>,
    samples: VecDeque<Sample>,
}

impl LiveStatus {
    /// Samples of these counters.
    pub(crate) fn new(counters: Arc<LiveCounters>) -> Self {
        Self { counters, state: Mutex::default() }
    }

    /// Takes a sample: what the counters gained since the last one, with the lobby's counts.
    pub(crate) fn sample(&self, at_s: f64, players: u32, rooms: u32) {
        let now = self.counters.read();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let Some(last) = state.last.replace(now) else { return };
        let ticks: [u64; TICK_BUCKETS] = std::array::from_fn(|i| now.ticks[i].saturating_sub(last.ticks[i]));
        let count: u64 = ticks.iter().sum();
        let quantile = |q: f64| {
            let rank = ((q * count as f64).ceil() as u64).max(1);
            let mut seen = 0;
            ticks.iter().position(|&n| {
                seen += n;
                seen >= rank
            })
        };
        let ms = |q: f64| if count == 0 { 0.0 } else { quantile(q).map_or(0.0, bucket_ceiling_ms) };
        let sample = Sample {
            at_s,
            players,
            rooms,
            ticks: count,
            tick_p50_ms: ms(0.5),
            tick_p99_ms: ms(0.99),
            bytes_in: now.bytes_in.saturating_sub(last.bytes_in),
            bytes_out: now.bytes_out.saturating_sub(last.bytes_out),
        };
        if state.samples.len() == HISTORY_SECONDS {
            state.samples.pop_front();
        }
        state.samples.push_back(sample);
    }

    /// The samples kept, oldest first.
    pub(crate) fn history(&self) -> Vec<Sample> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).samples.iter().copied().collect()
    }
}

/// What a room tells the status page about its match, updated with every snapshot.
#[derive(Debug, Default)]
pub(crate) struct RoomStatus {
    phase: AtomicU8,
    tick: AtomicU64,
    ends_tick: AtomicU64,
}

impl RoomStatus {
    /// The room's match at `tick`.
    pub(crate) fn publish(&self, phase: Phase, tick: u64, ends_tick: u64) {
        let phase = match phase {
            Phase::Warmup => 0,
            Phase::Playing => 1,
            Phase::Results => 2,
        };
        self.phase.store(phase, Ordering::Relaxed);
        self.tick.store(tick, Ordering::Relaxed);
        self.ends_tick.store(ends_tick, Ordering::Relaxed);
    }

    /// The phase, and the seconds left of it (0 when it has no end: warm-up).
    pub(crate) fn read(&self, tick_rate: u16) -> (Phase, f64) {
        let phase = match self.phase.load(Ordering::Relaxed) {
            1 => Phase::Playing,
            2 => Phase::Results,
            _ => Phase::Warmup,
        };
        let (tick, ends) = (self.tick.load(Ordering::Relaxed), self.ends_tick.load(Ordering::Relaxed));
        let left = if ends > tick { (ends - tick) as f64 / f64::from(tick_rate.max(1)) } else { 0.0 };
        (phase, left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ordered_and_their_ceilings_hold_them() {
        let mut last = 0;
        for us in [1u64, 2, 3, 5, 8, 13, 100, 101, 250, 499, 500, 1000, 4000, 60_000, 10_000_000] {
            let b = bucket_of(Duration::from_micros(us));
            assert!(b >= last, "{us} µs in bucket {b}, below {last}");
            last = b;
            let ceiling = bucket_ceiling_ms(b) * 1000.0;
            assert!(ceiling > us as f64 && ceiling <= us as f64 * 1.25 + 1.0, "{us} µs: ceiling {ceiling}");
        }
    }

    #[test]
    fn a_sample_holds_the_seconds_ticks_and_bytes() {
        let live = LiveStatus::default();
        live.sample(0.0, 0, 0);
        for _ in 0..98 {
            live.counters.tick(Duration::from_micros(100));
        }
        live.counters.tick(Duration::from_micros(900));
        live.counters.tick(Duration::from_micros(900));
        live.counters.sent(5000);
        live.counters.received(700);
        live.sample(1.0, 16, 1);
        let [s] = live.history()[..] else { panic!("one sample") };
        assert_eq!((s.players, s.rooms, s.ticks, s.bytes_out, s.bytes_in), (16, 1, 100, 5000, 700));
        assert!((0.1..0.125).contains(&s.tick_p50_ms), "p50 {}", s.tick_p50_ms);
        assert!((0.9..1.125).contains(&s.tick_p99_ms), "p99 {}", s.tick_p99_ms);
        live.sample(2.0, 16, 1);
        assert_eq!(live.history()[1].ticks, 0, "the next second had none");
        for i in 0..HISTORY_SECONDS + 5 {
            live.sample(3.0 + i as f64, 0, 0);
        }
        assert_eq!(live.history().len(), HISTORY_SECONDS);
    }

    #[test]
    fn a_room_says_its_phase_and_time_left() {
        let room = RoomStatus::default();
        assert_eq!(room.read(60), (Phase::Warmup, 0.0));
        room.publish(Phase::Playing, 600, 900);
        assert_eq!(room.read(60), (Phase::Playing, 5.0));
    }
}
