//! What every part of the server needs and nobody owns alone: the configuration, the game data, the
//! metrics, the server's clock, the counters that make ids unique, and the handles that run and stop
//! tasks. The lobby, the rooms and the connections each hold an `Arc` of it; none of them is the
//! others' way to reach it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use arena_protocol::TuningInfo;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::assets::GameData;
use crate::config::Config;
use crate::game_loop::GameLoops;
use crate::ids::{Membership, PlayerId};
use crate::metrics::Metrics;
use crate::replays::ReplayStore;

/// The server-wide context.
#[derive(Debug)]
pub(crate) struct ServerContext {
    /// The validated flags.
    pub(crate) config: Config,
    /// The map and tuning every room plays.
    pub(crate) game: Arc<GameData>,
    /// The movement and weapon rules sent in `welcome` (the same for every room).
    pub(crate) tuning: TuningInfo,
    /// The metric handles.
    pub(crate) metrics: Arc<Metrics>,
    /// Cancelled when the server shuts down: rooms and connections stop.
    pub(crate) shutdown: CancellationToken,
    /// Room and connection tasks, awaited (bounded) at shutdown.
    pub(crate) tasks: TaskTracker,
    /// Where rooms run.
    pub(crate) game_loops: GameLoops,
    /// Recorded matches; `None` when `--replays off`.
    pub(crate) replays: Option<Arc<ReplayStore>>,
    /// The live server page's last minute.
    pub(crate) status: crate::status::LiveStatus,
    started: Instant,
    next_player: AtomicU32,
    next_membership: AtomicU64,
    rooms_created: AtomicU64,
}

impl ServerContext {
    /// A context for a server with this configuration and game data; room and connection tasks are
    /// tracked by `tasks` and stop when `shutdown` is cancelled.
    pub(crate) fn new(
        config: Config,
        game: Arc<GameData>,
        metrics: Arc<Metrics>,
        shutdown: CancellationToken,
        tasks: TaskTracker,
        game_loops: GameLoops,
    ) -> Self {
        let replays = config.replays.clone().map(|c| Arc::new(ReplayStore::open(c, Arc::clone(&metrics))));
        Self {
            replays,
            status: crate::status::LiveStatus::new(Arc::clone(&metrics.live)),
            tuning: game.tuning_info(config.tick_rate),
            config,
            game,
            metrics,
            shutdown,
            tasks,
            game_loops,
            started: Instant::now(),
            next_player: AtomicU32::new(1),
            next_membership: AtomicU64::new(1),
            rooms_created: AtomicU64::new(0),
        }
    }

    /// How long the server has been up.
    pub(crate) fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// Milliseconds since the server started: the clock in `welcome` and `pong`.
    pub(crate) fn server_time_ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }

    /// A new, server-unique player id.
    pub(crate) fn next_player_id(&self) -> PlayerId {
        // 4 billion hellos before it wraps; then 0 is skipped.
        loop {
            if let Some(id) = PlayerId::new(self.next_player.fetch_add(1, Ordering::Relaxed)) {
                return id;
            }
        }
    }

    /// A new, server-unique room membership.
    pub(crate) fn next_membership(&self) -> Membership {
        loop {
            if let Some(m) = Membership::new(self.next_membership.fetch_add(1, Ordering::Relaxed)) {
                return m;
            }
        }
    }

    /// The serial number of a new room (0, 1, 2, ...): its seed and its age among equals in quick play.
    pub(crate) fn next_room_serial(&self) -> u64 {
        self.rooms_created.fetch_add(1, Ordering::Relaxed)
    }

    /// A context with every default, for tests.
    #[cfg(test)]
    pub(crate) fn for_tests(config: Config) -> Arc<Self> {
        let game = GameData::load(&config.assets, &config.map).expect("assets");
        Arc::new(Self::new(
            config,
            Arc::new(game),
            Arc::new(Metrics::new()),
            CancellationToken::new(),
            TaskTracker::new(),
            GameLoops::start(1, crate::game_loop::GamePriority::Normal).expect("game loop thread"),
        ))
    }
}
