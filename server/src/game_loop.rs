//! The threads rooms tick on.
//!
//! Rooms run on single-threaded tokio runtimes of their own ("game loops"), apart from the runtime that
//! serves the sockets. Why: a loaded server has thousands of connection tasks ready to run, and on a
//! shared runtime a room whose tick is due waits in the same queue behind them, so its tick runs late.
//! On its own thread the operating system's scheduler runs the room as soon as its timer fires: a
//! thread that sleeps most of the time is first in line when it wakes. Rooms never wait on a socket, so
//! a game loop is idle between ticks, and one thread holds many rooms.
//!
//! Where it may, a game loop thread also asks for a higher scheduling priority ([`GamePriority`]): on
//! a busy machine a woken tick otherwise waits behind other programs. Measured on a 2-core machine with
//! the browser tests' Chromium and one busy loop beside the release server (netcode test, 4 runs each):
//! at normal priority the room fell behind 73-148 ms (skipping ticks) 8 times; at nice -10, 3 times
//! (77-124 ms); at real-time priority 1, never. Why nice is not enough: Linux shares the CPU between
//! sessions ("autogroups") and weighs a session on each core by its load there, so a thread that sleeps
//! most of the time, in a session whose load is on the other core, gets a sliver of its own core
//! whatever its nice value; and Chromium, as root, runs its compositor at nice -8. A real-time thread
//! is not weighed at all: when its tick is due it runs. A tick is short and bounded, so it cannot
//! starve the machine (and Linux keeps 5% of every second for others in any case).
//!
//! When the game loop threads have no core to spare (a server pinned to one core, say), real time
//! could starve the connections of an overloaded server, whose ticks never leave the core. There a
//! real-time thread watches its own CPU time ([`share_the_core`]): while its rooms take more than
//! [`REALTIME_SHARE`] of its core it steps down to the nice value, and it takes real time back once
//! they need less than half of that. Measured on one pinned core (`arena-bench --preset ramp`): at
//! nice -10 ticks ran late from 1,408 players on, with the core 70% busy; see the README.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// Game loop threads are named this, then their number.
pub const THREAD_NAME_PREFIX: &str = "arena-game-";

/// How game loop threads ask to be scheduled (`--game-priority`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GamePriority {
    /// Round-robin real-time priority [`REALTIME_PRIORITY`]; else as [`GamePriority::Nice`].
    Realtime,
    /// Nice value [`GAME_LOOP_NICE`]; else normal.
    Nice,
    /// What every thread gets.
    Normal,
}

/// The real-time priority asked for: the lowest there is, above every normal thread and below every
/// real-time one the system runs (audio, watchdogs).
pub const REALTIME_PRIORITY: u8 = 1;

/// The nice value asked for when real time is not to be had: above Chromium's display-critical threads
/// (-8).
pub const GAME_LOOP_NICE: i32 = -10;

/// On a core shared with the connections, the most of it a real-time game loop thread's rooms may
/// take (over [`SHARE_CHECK`]) before the thread steps down to [`GAME_LOOP_NICE`].
pub const REALTIME_SHARE: f64 = 0.5;

/// How often a real-time game loop thread on a shared core looks at its own CPU time.
pub const SHARE_CHECK: Duration = Duration::from_secs(1);

/// What a game loop thread got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Granted {
    /// Real-time round robin.
    Realtime,
    /// A raised nice value.
    Nice,
    /// Nothing more than any thread.
    Normal,
}

/// Asks for `wanted` for the calling thread, falling back as [`GamePriority`] says; returns what it got.
fn raise_priority(wanted: GamePriority) -> Granted {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{
            RealtimeThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
            set_thread_priority_and_policy, thread_native_id,
        };
        if wanted == GamePriority::Realtime
            && let Ok(priority) = REALTIME_PRIORITY.try_into().map(ThreadPriority::Crossplatform)
            && set_thread_priority_and_policy(
                thread_native_id(),
                priority,
                ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::RoundRobin),
            )
            .is_ok()
        {
            return Granted::Realtime;
        }
        if wanted != GamePriority::Normal
            && rustix::process::setpriority_process(Some(rustix::thread::gettid()), GAME_LOOP_NICE).is_ok()
        {
            return Granted::Nice;
        }
    }
    let _ = wanted;
    Granted::Normal
}

/// The game loop threads; rooms are spread over them in turn. Dropping it lets the threads end (after
/// the rooms on them have stopped).
#[derive(Debug)]
pub struct GameLoops {
    handles: Vec<Handle>,
    next: AtomicUsize,
    stops: Vec<oneshot::Sender<()>>,
}

impl GameLoops {
    /// Starts `threads` game loops (at least one), each asking for `priority`.
    pub fn start(threads: usize, priority: GamePriority) -> std::io::Result<Self> {
        let shared_core = no_core_to_spare(threads);
        let mut handles = Vec::new();
        let mut stops = Vec::new();
        for i in 0..threads.max(1) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
            handles.push(runtime.handle().clone());
            let (stop, stopped) = oneshot::channel::<()>();
            stops.push(stop);
            std::thread::Builder::new().name(format!("{THREAD_NAME_PREFIX}{i}")).spawn(move || {
                let granted = raise_priority(priority);
                if i == 0 {
                    report(priority, granted);
                }
                // Runs the rooms spawned on this runtime until told to stop (or the sender is gone).
                runtime.block_on(async {
                    if shared_core && granted == Granted::Realtime {
                        tokio::spawn(share_the_core(i));
                    }
                    let _ = stopped.await;
                });
            })?;
        }
        Ok(Self { handles, next: AtomicUsize::new(0), stops })
    }

    /// The runtime the next room should run on.
    pub fn next(&self) -> &Handle {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.handles.len();
        &self.handles[i]
    }
}

/// Whether the game loop threads take every core this process may use (then a real-time one must
/// watch its share: [`share_the_core`]).
fn no_core_to_spare(threads: usize) -> bool {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    threads >= cores
}

/// The calling thread's CPU time so far.
fn thread_cpu_time() -> Duration {
    #[cfg(target_os = "linux")]
    {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        Duration::new(u64::try_from(t.tv_sec).unwrap_or(0), u32::try_from(t.tv_nsec).unwrap_or(0))
    }
    #[cfg(not(target_os = "linux"))]
    Duration::ZERO
}

/// Whether a game loop thread on a shared core should be real time, given whether it is and the share
/// of its core its rooms took over the last check: down above [`REALTIME_SHARE`], back up below half of
/// it (the gap keeps it from flapping).
fn realtime_next(realtime: bool, share: f64) -> bool {
    if realtime { share <= REALTIME_SHARE } else { share < REALTIME_SHARE / 2.0 }
}

/// Puts the calling thread back on the normal scheduling policy (its nice value is set next).
fn leave_realtime() {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{
            NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy, set_thread_priority_and_policy,
            thread_native_id,
        };
        // The crate sets a nice value of its own for the normal policy; `raise_priority` then sets ours.
        if let Ok(middle) = 50u8.try_into().map(ThreadPriority::Crossplatform) {
            let normal = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other);
            let _ = set_thread_priority_and_policy(thread_native_id(), middle, normal);
        }
    }
}

/// Steps the calling game loop thread `i` down from real time to nice while its rooms take more than
/// [`REALTIME_SHARE`] of its core, and back up when they take less than half that; runs as long as the
/// thread's runtime.
async fn share_the_core(i: usize) {
    let mut every = tokio::time::interval(SHARE_CHECK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    let (mut realtime, mut last, mut at) = (true, thread_cpu_time(), tokio::time::Instant::now());
    loop {
        every.tick().await;
        let (cpu, now) = (thread_cpu_time(), tokio::time::Instant::now());
        let share = (cpu - last).as_secs_f64() / (now - at).as_secs_f64().max(1e-3);
        (last, at) = (cpu, now);
        let next = realtime_next(realtime, share);
        if next == realtime {
            continue;
        }
        if !next {
            leave_realtime();
        }
        let granted = raise_priority(if next { GamePriority::Realtime } else { GamePriority::Nice });
        realtime = granted == Granted::Realtime;
        if realtime {
            tracing::info!(thread = i, share, "game loop back to real time: its rooms need less of the core");
        } else {
            tracing::warn!(
                thread = i,
                share,
                ?granted,
                "game loop rooms take over half of a core shared with the connections: real time given up until they need less"
            );
        }
    }
}

/// Says once what the game loop threads got, and what it means when it is less than asked for.
fn report(wanted: GamePriority, granted: Granted) {
    let less = !matches!(
        (wanted, granted),
        (GamePriority::Realtime, Granted::Realtime)
            | (GamePriority::Nice, Granted::Nice)
            | (GamePriority::Normal, _)
    );
    if less {
        tracing::info!(
            ?wanted,
            ?granted,
            "game loop threads got less than the scheduling priority asked for (it needs CAP_SYS_NICE); on \
             a busy machine their ticks may run late"
        );
    } else {
        tracing::debug!(?granted, "game loop threads scheduled");
    }
}

impl Drop for GameLoops {
    fn drop(&mut self) {
        for stop in self.stops.drain(..) {
            let _ = stop.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_time_is_given_up_over_half_a_shared_core_and_taken_back_under_a_quarter() {
        assert!(realtime_next(true, 0.3));
        assert!(realtime_next(true, REALTIME_SHARE));
        assert!(!realtime_next(true, 0.51));
        assert!(!realtime_next(false, 0.4), "not back until it needs much less");
        assert!(realtime_next(false, 0.2));
    }

    #[tokio::test]
    async fn rooms_run_on_the_game_loop_threads_in_turn() {
        let loops = GameLoops::start(2, GamePriority::Normal).expect("threads");
        let mut names = Vec::new();
        for _ in 0..4 {
            let name = loops
                .next()
                .spawn(async { std::thread::current().name().map(str::to_owned) })
                .await
                .expect("task");
            names.push(name.expect("named thread"));
        }
        assert_eq!(names, ["arena-game-0", "arena-game-1", "arena-game-0", "arena-game-1"]);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn game_loop_threads_get_the_priority_asked_for_where_allowed() {
        use thread_priority::{RealtimeThreadSchedulePolicy, ThreadSchedulePolicy, thread_schedule_policy};
        // What this process may do, tried on threads of the test's own.
        let nice_allowed = std::thread::spawn(|| {
            rustix::process::setpriority_process(Some(rustix::thread::gettid()), GAME_LOOP_NICE).is_ok()
        })
        .join()
        .expect("probe thread");
        let realtime_allowed =
            std::thread::spawn(|| raise_priority(GamePriority::Realtime) == Granted::Realtime)
                .join()
                .expect("probe thread");
        let normal = rustix::process::getpriority_process(None).expect("getpriority");
        for priority in [GamePriority::Realtime, GamePriority::Nice, GamePriority::Normal] {
            let loops = GameLoops::start(1, priority).expect("threads");
            let (got_policy, got_nice) = loops
                .next()
                .spawn(async {
                    let nice = rustix::process::getpriority_process(Some(rustix::thread::gettid()));
                    (thread_schedule_policy().expect("policy"), nice.expect("getpriority"))
                })
                .await
                .expect("task");
            let want_realtime = priority == GamePriority::Realtime && realtime_allowed;
            let want_nice = !want_realtime && priority != GamePriority::Normal && nice_allowed;
            let got_realtime =
                got_policy == ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::RoundRobin);
            assert_eq!(got_realtime, want_realtime, "{priority:?}: {got_policy:?}");
            if !want_realtime {
                assert_eq!(got_nice, if want_nice { GAME_LOOP_NICE } else { normal }, "{priority:?}");
            }
        }
    }
}
