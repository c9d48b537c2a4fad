//! The threads rooms tick on.
//!
//! Rooms run on single-threaded tokio runtimes of their own ("game loops"), apart from the runtime that
//! serves the sockets. Why: a loaded server has thousands of connection tasks ready to run, and on a
//! shared runtime a room whose tick is due waits in the same queue behind them, so its tick runs late.
//! On its own thread the operating system's scheduler runs the room as soon as its timer fires: a
//! thread that sleeps most of the time is first in line when it wakes. Rooms never wait on a socket, so
//! a game loop is idle between ticks, and one thread holds many rooms.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// Game loop threads are named this, then their number.
pub const THREAD_NAME_PREFIX: &str = "arena-game-";

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
}
