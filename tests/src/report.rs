//! The summary `arena-bots` prints: many bots' reports folded into per-bot statistics.

use serde::Serialize;

use crate::bot::BotReport;

/// Min, median and max of a per-bot figure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Spread {
    /// Smallest.
    pub min: f64,
    /// Median.
    pub median: f64,
    /// Largest.
    pub max: f64,
}

/// A median alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Median {
    /// Median.
    pub median: f64,
}

/// Median and 99th percentile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Latency {
    /// Median.
    pub median: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// One bot's aim: what it fired and what that did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Accuracy {
    /// The bot's name.
    pub name: String,
    /// The room it played in.
    pub room: Option<String>,
    /// Projectiles fired.
    pub shots: u64,
    /// Of those, hits on a ship.
    pub hits: u64,
    /// Ships destroyed.
    pub kills: u64,
}

/// The whole run; serialized as `arena-bots --json` prints it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Chat lines said, and heard (each bot hears its room's lines, its own included).
    pub chat_sent: u64,
    /// See `chat_sent`.
    pub chat_heard: u64,
    /// Ships destroyed by all bots together.
    pub kills: u64,
    /// Projectiles all bots fired.
    pub shots: u64,
    /// Of those, hits.
    pub hits: u64,
    /// `hits / shots` (0 without shots).
    pub hit_rate: f64,
    /// Bots started.
    pub bots: usize,
    /// Bots that got into a room.
    pub connected: usize,
    /// Bots that met an error.
    pub errors: usize,
    /// How long the bots played, seconds.
    pub duration_s: f64,
    /// Snapshots per second, per bot.
    pub snapshots_per_sec: Spread,
    /// Server ticks per second seen in snapshot tick numbers, per bot.
    pub ticks_per_sec: Median,
    /// Round-trip time of pings, all bots pooled, milliseconds.
    pub rtt_ms: Latency,
    /// Bytes received per bot per second (average over bots).
    pub bytes_in_per_sec: f64,
    /// Bytes sent per bot per second (average over bots).
    pub bytes_out_per_sec: f64,
    /// Each bot's shots, hits and kills, in bot order.
    pub per_bot: Vec<Accuracy>,
}

/// The value at quantile `q` (0..=1) of sorted data, by nearest rank; 0 for no data.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// `v`, sorted (for [`quantile`]).
pub fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

/// `hits / shots`, 0 without shots.
pub fn hit_rate(hits: u64, shots: u64) -> f64 {
    if shots == 0 { 0.0 } else { hits as f64 / shots as f64 }
}

impl Summary {
    /// Folds the bots' reports.
    pub fn new(reports: &[BotReport]) -> Self {
        let connected: Vec<&BotReport> = reports.iter().filter(|r| r.connected).collect();
        let snaps = sorted(connected.iter().filter_map(|r| r.snapshots_per_sec()).collect());
        let ticks = sorted(connected.iter().filter_map(|r| r.ticks_per_sec()).collect());
        let rtts = sorted(connected.iter().flat_map(|r| r.rtts_ms.iter().copied()).collect());
        let per_sec = |f: fn(&BotReport) -> u64| {
            let rates: Vec<f64> = connected
                .iter()
                .filter(|r| !r.played.is_zero())
                .map(|r| f(r) as f64 / r.played.as_secs_f64())
                .collect();
            if rates.is_empty() { 0.0 } else { rates.iter().sum::<f64>() / rates.len() as f64 }
        };
        let shots: u64 = reports.iter().map(|r| r.shots).sum();
        let hits: u64 = reports.iter().map(|r| r.hits).sum();
        Self {
            chat_sent: reports.iter().map(|r| r.chat_sent).sum(),
            chat_heard: reports.iter().map(|r| r.chat_heard).sum(),
            kills: reports.iter().map(|r| r.kills).sum(),
            shots,
            hits,
            hit_rate: hit_rate(hits, shots),
            per_bot: reports
                .iter()
                .map(|r| Accuracy {
                    name: r.name.clone(),
                    room: r.room.clone(),
                    shots: r.shots,
                    hits: r.hits,
                    kills: r.kills,
                })
                .collect(),
            bots: reports.len(),
            connected: connected.len(),
            errors: reports.iter().filter(|r| r.error.is_some()).count(),
            duration_s: connected.iter().map(|r| r.played.as_secs_f64()).fold(0.0, f64::max),
            snapshots_per_sec: Spread {
                min: snaps.first().copied().unwrap_or(0.0),
                median: quantile(&snaps, 0.5),
                max: snaps.last().copied().unwrap_or(0.0),
            },
            ticks_per_sec: Median { median: quantile(&ticks, 0.5) },
            rtt_ms: Latency { median: quantile(&rtts, 0.5), p99: quantile(&rtts, 0.99) },
            bytes_in_per_sec: per_sec(|r| r.bytes_in),
            bytes_out_per_sec: per_sec(|r| r.bytes_out),
        }
    }

    /// A few lines for people.
    pub fn to_text(&self) -> String {
        format!(
            "bots: {} started, {} connected, {} with errors, played {:.1} s\n\
             snapshots/s per bot: min {:.2}, median {:.2}, max {:.2}\n\
             server ticks/s (median): {:.2}\n\
             rtt: median {:.2} ms, p99 {:.2} ms\n\
             per bot: {:.0} B/s in, {:.0} B/s out\n\
             shots: {}, hits: {} ({:.1}%), kills: {}\n",
            self.bots,
            self.connected,
            self.errors,
            self.duration_s,
            self.snapshots_per_sec.min,
            self.snapshots_per_sec.median,
            self.snapshots_per_sec.max,
            self.ticks_per_sec.median,
            self.rtt_ms.median,
            self.rtt_ms.p99,
            self.bytes_in_per_sec,
            self.bytes_out_per_sec,
            self.shots,
            self.hits,
            self.hit_rate * 100.0,
            self.kills,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let data: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&data, 0.5), 50.0);
        assert_eq!(quantile(&data, 0.99), 99.0);
        assert_eq!(quantile(&data, 1.0), 100.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
        assert_eq!(quantile(&[7.0], 0.0), 7.0);
    }

    #[test]
    fn failed_bots_count_as_errors_and_not_in_rates() {
        let ok = BotReport {
            connected: true,
            played: std::time::Duration::from_secs(2),
            bytes_in: 2000,
            ..Default::default()
        };
        let failed = BotReport { error: Some("join: refused".into()), ..Default::default() };
        let s = Summary::new(&[ok, failed]);
        assert_eq!((s.bots, s.connected, s.errors), (2, 1, 1));
        assert_eq!(s.bytes_in_per_sec, 1000.0);
    }
}
