//! The threads rooms tick on.
//!
//! Rooms run on single-threaded tokio runtimes of their own ("game loops"), apart from the runtime that
//! serves the sockets. Why: a loaded server has thousands of connection tasks ready to run, and on a
//! shared runtime a room whose tick is due waits in the same queue behind them, so its tick runs late.
//! On its own thread the operating system's scheduler runs the room as soon as its timer fires: a
//! thread that sleeps most of the time is first in line when it wakes. Rooms never wait on a socket, so
//! a game loop is idle between ticks, and one thread holds many rooms.
//!
//! Where it may, a game loop thread also asks for a higher scheduling priority ([`GAME_LOOP_NICE`]):
//! a busy machine otherwise lets a due tick wait behind other programs' threads. Measured on a 2-core
//! machine with Chromium and one busy loop beside the server: Chromium (as root) runs its compositor and
//! IO threads at nice -8, and a woken game loop thread at nice 0 waited up to 220 ms to run, so its room
//! skipped ticks about once a run. Raising it needs `CAP_SYS_NICE` (root has it; or an `RLIMIT_NICE`
//! that allows it); without, the threads keep the normal priority and say so once.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// Game loop threads are named this, then their number.
pub const THREAD_NAME_PREFIX: &str = "arena-game-";

/// The nice value a game loop thread asks for: above Chromium's display-critical threads (-8), so a
/// browser on the same machine cannot make a room late; a room's tick is short and bounded, so it
/// cannot starve the rest of the machine.
pub const GAME_LOOP_NICE: i32 = -10;

/// Asks for [`GAME_LOOP_NICE`] for the calling thread; says why not when it cannot (once, for the first
/// thread). Linux only: there, nice values are per thread.
fn raise_priority(first: bool) {
    #[cfg(target_os = "linux")]
    {
        let thread = rustix::thread::gettid();
        match rustix::process::setpriority_process(Some(thread), GAME_LOOP_NICE) {
            Ok(()) if first => tracing::debug!(nice = GAME_LOOP_NICE, "game loop threads raised"),
            Ok(()) => {}
            Err(err) if first => tracing::info!(
                %err,
                "game loop threads keep the normal priority (raising it needs CAP_SYS_NICE); on a busy \
                 machine their ticks may run late"
            ),
            Err(_) => {}
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = first;
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
    /// Starts `threads` game loops (at least one).
    pub fn start(threads: usize) -> std::io::Result<Self> {
        let mut handles = Vec::new();
        let mut stops = Vec::new();
        for i in 0..threads.max(1) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build()?;
            handles.push(runtime.handle().clone());
            let (stop, stopped) = oneshot::channel::<()>();
            stops.push(stop);
            std::thread::Builder::new().name(format!("{THREAD_NAME_PREFIX}{i}")).spawn(move || {
                raise_priority(i == 0);
                // Runs the rooms spawned on this runtime until told to stop (or the sender is gone).
                runtime.block_on(async {
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

    #[tokio::test]
    async fn rooms_run_on_the_game_loop_threads_in_turn() {
        let loops = GameLoops::start(2).expect("threads");
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
    async fn game_loop_threads_ask_for_a_higher_priority_where_allowed() {
        let loops = GameLoops::start(1).expect("threads");
        let nice = loops
            .next()
            .spawn(async { rustix::process::getpriority_process(Some(rustix::thread::gettid())) })
            .await
            .expect("task")
            .expect("getpriority");
        // Whether this process may do it at all: try on a thread of the test's own.
        let allowed = std::thread::spawn(|| {
            rustix::process::setpriority_process(Some(rustix::thread::gettid()), GAME_LOOP_NICE).is_ok()
        })
        .join()
        .expect("probe thread");
        let normal = rustix::process::getpriority_process(None).expect("getpriority");
        assert_eq!(nice, if allowed { GAME_LOOP_NICE } else { normal }, "allowed: {allowed}");
    }
}
