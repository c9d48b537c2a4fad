//! The room's tick clock: when each tick is due, against an absolute start time, so ticks never drift.
//!
//! Tick `n` is due at `start + n * interval`. Sleeping until then and waking late does not push later
//! ticks back (no accumulated drift). After a stall (a slow tick, a paused process, an overloaded
//! machine) the room catches up at most [`MAX_CATCH_UP_TICKS`] ticks at once; beyond that it skips the
//! rest, moves its schedule forward, and reports how far behind it was so it can log a warning.

use std::time::Duration;

use tokio::time::Instant;

/// The most ticks a room runs back to back to catch up after a stall. More would make a long stall
/// worse (a burst of work on a busy machine) and show players a fast-forward.
pub(crate) const MAX_CATCH_UP_TICKS: u64 = 4;

/// What the room should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TickPlan {
    /// Ticks to simulate now (0 when woken early).
    pub(crate) run: u64,
    /// Ticks given up because the room fell too far behind.
    pub(crate) skipped: u64,
    /// How late the oldest due tick was.
    pub(crate) behind: Duration,
}

/// An absolute-time tick schedule.
#[derive(Debug, Clone)]
pub(crate) struct TickClock {
    start: Instant,
    interval: Duration,
    /// The index of the next tick to run.
    next: u64,
}

impl TickClock {
    /// A clock whose tick 0 is due at `start`.
    pub(crate) fn new(start: Instant, interval: Duration) -> Self {
        Self { start, interval, next: 0 }
    }

    /// When the next tick is due.
    pub(crate) fn next_deadline(&self) -> Instant {
        self.due_at(self.next)
    }

    fn due_at(&self, tick: u64) -> Instant {
        let nanos = self.interval.as_nanos().saturating_mul(u128::from(tick));
        self.start + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// Decides how many ticks to run at `now`, and advances the schedule past them.
    pub(crate) fn plan(&mut self, now: Instant) -> TickPlan {
        let first_due = self.due_at(self.next);
        if now < first_due {
            return TickPlan { run: 0, skipped: 0, behind: Duration::ZERO };
        }
        let behind = now - first_due;
        let due = 1 + (behind.as_nanos() / self.interval.as_nanos().max(1)) as u64;
        let run = due.min(MAX_CATCH_UP_TICKS);
        let skipped = due - run;
        self.next += due;
        TickPlan { run, skipped, behind }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn on_time_runs_one_tick_and_does_not_drift() {
        let start = Instant::now();
        let mut clock = TickClock::new(start, 10 * MS);
        for n in 0..1000u32 {
            // Wake a little late every time: the schedule must stay on the absolute grid.
            let now = start + 10 * MS * n + 3 * MS;
            assert_eq!(clock.plan(now).run, 1, "tick {n}");
        }
        assert_eq!(clock.next_deadline(), start + 10 * MS * 1000);
    }

    #[test]
    fn early_wake_runs_nothing() {
        let start = Instant::now();
        let mut clock = TickClock::new(start + 10 * MS, 10 * MS);
        assert_eq!(clock.plan(start).run, 0);
    }

    #[test]
    fn short_stall_catches_up() {
        let start = Instant::now();
        let mut clock = TickClock::new(start, 10 * MS);
        let plan = clock.plan(start + 25 * MS);
        assert_eq!(plan, TickPlan { run: 3, skipped: 0, behind: 25 * MS });
        assert_eq!(clock.next_deadline(), start + 30 * MS);
    }

    #[test]
    fn deadlines_keep_advancing_past_u32_ticks() {
        let start = Instant::now();
        let mut clock = TickClock::new(start, Duration::from_nanos(10));
        clock.next = u64::from(u32::MAX) + 10;
        let a = clock.next_deadline();
        clock.next += 1;
        assert!(clock.next_deadline() > a);
    }

    #[test]
    fn long_stall_skips_and_reports() {
        let start = Instant::now();
        let mut clock = TickClock::new(start, 10 * MS);
        let plan = clock.plan(start + 1000 * MS);
        assert_eq!(plan.run, MAX_CATCH_UP_TICKS);
        assert_eq!(plan.skipped, 101 - MAX_CATCH_UP_TICKS);
        assert_eq!(plan.behind, 1000 * MS);
        // Back on the grid after the skip.
        assert_eq!(clock.next_deadline(), start + 1010 * MS);
    }
}
