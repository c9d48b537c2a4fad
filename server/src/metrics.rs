//! Server metrics, rendered in Prometheus text format at `GET /metrics`.
//!
//! Every metric is registered once, at start, into a recorder owned by the server (not a process-wide
//! global, so several servers can live in one test process), and the hot paths only touch the cached
//! handles: an atomic add for counters and gauges, a lock-free push for the tick-duration summary. No
//! lock is shared across rooms and nothing allocates per sample.

use std::sync::Arc;
use std::time::Duration;

use arena_protocol::ErrorCode;
use metrics::{Counter, Gauge, Histogram, Key, Label, Metadata, Recorder};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::status::LiveCounters;

/// How long the tick-duration summary remembers samples: its quantiles describe this window.
pub(crate) const SUMMARY_WINDOW: Duration = Duration::from_secs(60);

/// Bucket bounds of `arena_tick_seconds`, seconds. 0.5 ms is the benchmark's bar for a tick's p99.
pub(crate) const TICK_BUCKETS: [f64; 10] =
    [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1];

/// Why a connection ended, as the `reason` label of `arena_disconnects_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Disconnect {
    /// The client closed the connection (or it was lost).
    Closed,
    /// The server closed it with this error.
    Error(ErrorCode),
}

/// The server's metric handles.
#[derive(Debug)]
pub(crate) struct Metrics {
    handle: PrometheusHandle,
    /// The live server page's counters ([`crate::status`]), bumped beside the ones here.
    pub(crate) live: Arc<LiveCounters>,
    /// Work time of one room tick (simulation plus broadcast), seconds, as a summary over the last
    /// [`SUMMARY_WINDOW`] (`arena_tick_duration_seconds{quantile=...}`).
    pub(crate) tick_duration: Histogram,
    /// The same samples as a histogram with fixed buckets ([`TICK_BUCKETS`], `arena_tick_seconds`),
    /// cumulative since start: the difference of two scrapes describes exactly the ticks between them
    /// (a benchmark step, say), which a rolling summary cannot.
    pub(crate) tick_histogram: Histogram,
    /// Ticks simulated.
    pub(crate) ticks: Counter,
    /// Ticks that started more than half an interval after they were due.
    pub(crate) ticks_late: Counter,
    /// Ticks given up after a stall.
    pub(crate) ticks_skipped: Counter,
    /// Open rooms.
    pub(crate) rooms: Gauge,
    /// Players seated in rooms.
    pub(crate) players: Gauge,
    /// Open WebSocket connections.
    pub(crate) connections: Gauge,
    /// Snapshots written to sockets.
    pub(crate) snapshots_sent: Counter,
    /// Of those, keyframes: the client's last snapshot was not the delta's base (it had just joined, or
    /// missed one).
    pub(crate) keyframes_sent: Counter,
    /// Snapshots replaced unsent by a newer one (the client was behind).
    pub(crate) snapshots_dropped: Counter,
    /// Messages written to sockets.
    pub(crate) messages_out: Counter,
    /// Bytes written to sockets (WebSocket payloads).
    pub(crate) bytes_out: Counter,
    /// Messages read from sockets.
    pub(crate) messages_in: Counter,
    /// Messages dropped unread because their client was over its message rate.
    pub(crate) messages_dropped: Counter,
    /// Bytes read from sockets (WebSocket payloads).
    pub(crate) bytes_in: Counter,
    /// Inputs applied by a room.
    pub(crate) inputs_applied: Counter,
    /// Inputs dropped: stale, duplicate, over a queue, or sent outside a room.
    pub(crate) inputs_discarded: Counter,
    /// Projectiles fired.
    pub(crate) shots: Counter,
    /// Projectiles fired with lag compensation (a rewind).
    pub(crate) shots_rewound: Counter,
    /// Projectiles whose shooter's delay was over `--max-rewind`.
    pub(crate) shots_capped: Counter,
    /// Projectiles that hit a ship.
    pub(crate) hits: Counter,
    /// Matches whose replay was written whole.
    pub(crate) replays_saved: Counter,
    /// Matches whose recording was given up because the writer fell behind (a slow disk).
    pub(crate) replays_dropped: Counter,
    /// Replays that could not be written (a full or read-only disk, say).
    pub(crate) replay_write_errors: Counter,
    /// Bytes of replay files written.
    pub(crate) replay_bytes: Counter,
    /// Replay files removed to keep within `--replay-max-bytes` and `--replay-max-files`.
    pub(crate) replays_removed: Counter,
    /// Players this node sent to another node's seat (cluster).
    pub(crate) handoffs_out: Counter,
    /// Players who came here with a hand-off ticket (cluster).
    pub(crate) handoffs_in: Counter,
    /// Seat requests to other nodes that were refused or unanswered (cluster).
    pub(crate) handoff_failures: Counter,
    /// Hand-off tickets that expired unused, their seats given up (cluster).
    pub(crate) handoff_tickets_expired: Counter,
    /// Directory refreshes that failed: Redis out of reach (cluster).
    pub(crate) directory_failures: Counter,
    /// Round trip of each Redis call, seconds, as a summary (cluster).
    pub(crate) redis_round_trip: Histogram,
    disconnect_closed: Counter,
    disconnect_error: Vec<(ErrorCode, Counter)>,
}

impl Metrics {
    /// Registers every metric in a new recorder.
    pub(crate) fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_quantiles(&[0.0, 0.5, 0.9, 0.99, 0.999, 1.0])
            .and_then(|b| b.set_bucket_duration(SUMMARY_WINDOW))
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full("arena_tick_seconds".into()), &TICK_BUCKETS))
            .unwrap_or_else(|_| PrometheusBuilder::new())
            .build_recorder();
        let handle = recorder.handle();
        let counter = |name: &'static str| recorder.register_counter(&Key::from_static_name(name), &META);
        let gauge = |name: &'static str| recorder.register_gauge(&Key::from_static_name(name), &META);
        let reason = |reason: &'static str| {
            let key =
                Key::from_parts("arena_disconnects_total", vec![Label::from_static_parts("reason", reason)]);
            recorder.register_counter(&key, &META)
        };
        let disconnect_error = ErrorCode::ALL.iter().map(|&code| (code, reason(code.as_str()))).collect();
        Self {
            tick_duration: recorder
                .register_histogram(&Key::from_static_name("arena_tick_duration_seconds"), &META),
            tick_histogram: recorder.register_histogram(&Key::from_static_name("arena_tick_seconds"), &META),
            ticks: counter("arena_ticks_total"),
            ticks_late: counter("arena_ticks_late_total"),
            ticks_skipped: counter("arena_ticks_skipped_total"),
            rooms: gauge("arena_rooms"),
            players: gauge("arena_players"),
            connections: gauge("arena_connections"),
            snapshots_sent: counter("arena_snapshots_sent_total"),
            keyframes_sent: counter("arena_snapshot_keyframes_sent_total"),
            snapshots_dropped: counter("arena_snapshots_dropped_total"),
            messages_out: counter("arena_messages_out_total"),
            bytes_out: counter("arena_bytes_out_total"),
            messages_in: counter("arena_messages_in_total"),
            messages_dropped: counter("arena_messages_dropped_total"),
            bytes_in: counter("arena_bytes_in_total"),
            inputs_applied: counter("arena_inputs_applied_total"),
            inputs_discarded: counter("arena_inputs_discarded_total"),
            shots: counter("arena_shots_total"),
            shots_rewound: counter("arena_shots_rewound_total"),
            shots_capped: counter("arena_shots_rewind_capped_total"),
            hits: counter("arena_hits_total"),
            replays_saved: counter("arena_replays_saved_total"),
            replays_dropped: counter("arena_replays_dropped_total"),
            replay_write_errors: counter("arena_replay_write_errors_total"),
            replay_bytes: counter("arena_replay_bytes_total"),
            replays_removed: counter("arena_replays_removed_total"),
            handoffs_out: counter("arena_handoffs_out_total"),
            handoffs_in: counter("arena_handoffs_in_total"),
            handoff_failures: counter("arena_handoff_failures_total"),
            handoff_tickets_expired: counter("arena_handoff_tickets_expired_total"),
            directory_failures: counter("arena_directory_refresh_failures_total"),
            redis_round_trip: recorder
                .register_histogram(&Key::from_static_name("arena_redis_round_trip_seconds"), &META),
            disconnect_closed: reason("closed"),
            disconnect_error,
            handle,
            live: Arc::default(),
        }
    }

    /// Counts a finished connection by its reason.
    pub(crate) fn disconnected(&self, why: Disconnect) {
        let counter = match why {
            Disconnect::Closed => &self.disconnect_closed,
            Disconnect::Error(code) => match self.disconnect_error.iter().find(|(c, _)| *c == code) {
                Some((_, counter)) => counter,
                None => &self.disconnect_closed,
            },
        };
        counter.increment(1);
    }

    /// The Prometheus text exposition of every metric, with every sample recorded so far folded in (a
    /// scrape never shows a summary older than the ticks it counts).
    pub(crate) fn render(&self) -> String {
        self.handle.run_upkeep();
        self.handle.render()
    }

    /// Drains pending histogram samples into the summaries; call every few seconds, so samples do not pile
    /// up between scrapes.
    pub(crate) fn upkeep(&self) {
        self.handle.run_upkeep();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

static META: Metadata<'static> = Metadata::new(module_path!(), metrics::Level::INFO, None);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_renders() {
        let m = Metrics::new();
        m.ticks.increment(3);
        m.players.set(5.0);
        m.tick_duration.record(0.0002);
        m.tick_histogram.record(0.0002);
        m.tick_histogram.record(0.003);
        m.disconnected(Disconnect::Error(ErrorCode::Malformed));
        m.disconnected(Disconnect::Closed);
        m.upkeep();
        let text = m.render();
        for needle in [
            "arena_ticks_total 3",
            "arena_players 5",
            "arena_tick_duration_seconds{quantile=\"0.99\"}",
            "arena_tick_seconds_bucket{le=\"0.0005\"} 1",
            "arena_tick_seconds_count 2",
            "arena_disconnects_total{reason=\"malformed\"} 1",
            "arena_disconnects_total{reason=\"closed\"} 1",
            "arena_snapshots_dropped_total 0",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
    }
}
