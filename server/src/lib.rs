//! Arena's authoritative game server: an HTTP + WebSocket front on one port, and fixed-tick bevy_ecs
//! rooms behind it.
//!
//! [`run`] is the one entry point: it takes a bound listener, a [`Config`] and a shutdown future, so the
//! binary and the tests start the server the same way.
//!
//! # Layout
//! - [`config`]: command-line flags (clap) and the validated [`Config`].
//! - [`assets`]: game data loaded from `assets/` (`tuning.toml`, `maps/*.toml`).
//! - [`conditioner`]: the optional link conditioner (simulated latency and jitter).
//! - [`listener`]: the accept loop, with a handshake timeout.
//! - [`http`]: the axum router: `/`, `/ws`, `/api/rooms`, `/api/nodes`, `/api/announce`, `/api/replays`,
//!   `/api/status`, `/status`, `/healthz`, `/metrics`.
//! - [`context`]: what every part needs and nobody owns alone (config, game data, metrics, clock, ids).
//! - [`ids`]: player ids, room codes, memberships and reconnect tokens as types.
//! - [`connection`]: one WebSocket: its reader (frames to messages, limits), its session (what a client
//!   may do) and its writer (the [`outbox`] into the socket).
//! - [`outbox`]: a connection's outbound lanes: reliable control messages and a latest-wins snapshot
//!   slot.
//! - [`limits`]: connection caps, message rate, idle time and origin checks.
//! - [`lobby`]: the rooms, seat reservations and held seats.
//! - [`cluster`]: with `--redis`, the room directory several nodes share, and hand-offs between them.
//! - [`metrics`]: Prometheus metrics at `/metrics`, cheap on the tick path.
//! - [`status`]: the live server page's figures (`/api/status`): a minute of one-second samples.
//! - [`replays`]: recorded matches: each room's recorder, the writer, the folder and its limits.
//! - [`room`]: a room's task: the fixed-tick loop, its seats, and the snapshot broadcast.
//! - [`game_loop`]: the threads rooms run on, apart from the connections' runtime.
//! - [`tls`]: HTTPS and `wss://` with rustls, from `--tls-cert` and `--tls-key`.
//! - [`sim`]: the deterministic simulation (components, resources, systems).

pub mod assets;
pub mod cluster;
pub mod conditioner;
pub mod config;
mod connection;
mod context;
pub mod game_loop;
mod http;
pub mod ids;
pub mod limits;
mod listener;
mod lobby;
mod metrics;
mod outbox;
pub mod replays;
mod room;
pub mod sim;
mod status;
pub mod tls;

use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

pub use assets::{AssetsError, GameData};
use cluster::Cluster;
pub use cluster::ClusterError;
pub use config::{Args, Config, ConfigError};
pub use connection::session::validate_name;
use game_loop::GameLoops;
use lobby::Lobby;

/// How long shutdown waits for connections to say goodbye before it gives up on them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(4);

/// How long shutdown waits for HTTP connections to finish their request.
pub const HTTP_SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// How often the metrics' pending samples are folded into their summaries (besides on every scrape).
pub const METRICS_UPKEEP: Duration = Duration::from_secs(5);

/// Why the server could not start or stopped with an error.
#[derive(Debug, Error)]
pub enum ServerError {
    /// The game data is missing or invalid.
    #[error(transparent)]
    Assets(#[from] AssetsError),
    /// The web client folder does not exist.
    #[error(
        "the web client folder {0} does not exist: build it with `npm --prefix web ci && npm --prefix web run build` (cargo does this when npm is installed), or point --web at one"
    )]
    MissingWeb(std::path::PathBuf),
    /// Serving failed.
    #[error("server I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The TLS certificate or key is unusable.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The node could not join its cluster.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

/// Serves the game on `listener` until `shutdown` completes, then closes every connection with
/// `shutting_down` and returns (waiting at most [`SHUTDOWN_GRACE`] for them). The same as
/// [`Server::new`] followed by [`Server::serve`].
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let mut server = Server::new(config)?;
    server.join_cluster(listener.local_addr()?).await?;
    server.serve(listener, shutdown).await;
    Ok(())
}

/// A server that has loaded everything it needs and is ready to serve: what can fail at start (the
/// game data, the TLS files, the web client folder, the game loop threads) has been checked.
pub struct Server {
    ctx: Arc<context::ServerContext>,
    lobby: Arc<Lobby>,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    cluster: Option<Arc<Cluster>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("tls", &self.acceptor.is_some()).finish_non_exhaustive()
    }
}

impl Server {
    /// Loads the game data and the TLS files, checks the web client folder and starts the game loop
    /// threads. Needs no runtime.
    pub fn new(config: Config) -> Result<Self, ServerError> {
        let game = Arc::new(GameData::load(&config.assets, &config.map)?);
        let acceptor = match &config.tls {
            Some((cert, key)) => Some(tls::acceptor(cert, key)?),
            None => None,
        };
        if !config.web.is_dir() {
            return Err(ServerError::MissingWeb(config.web.clone()));
        }
        // Dropped with the context (after every room and connection has let go of it): then its
        // threads end.
        let game_loops = GameLoops::start(config.game_threads, config.game_priority)?;
        let ctx = Arc::new(context::ServerContext::new(
            config,
            game,
            Arc::new(metrics::Metrics::new()),
            CancellationToken::new(),
            TaskTracker::new(),
            game_loops,
        ));
        let lobby = Arc::new(Lobby::new(Arc::clone(&ctx)));
        Ok(Self { ctx, lobby, acceptor, cluster: None })
    }

    /// With `--redis`, joins the cluster, as the node reached at `local` (or `--public-url`); a clear
    /// error when Redis is out of reach or another live node has this id. Does nothing without.
    pub async fn join_cluster(&mut self, local: SocketAddr) -> Result<(), ServerError> {
        let Some(config) = self.ctx.config.cluster.clone() else { return Ok(()) };
        let url = cluster::public_url(&config, local, self.acceptor.is_some());
        let joined = Cluster::join(Arc::clone(&self.ctx), Arc::clone(&self.lobby), &config, url).await?;
        self.cluster = Some(joined);
        Ok(())
    }

    /// In a cluster, this node's id and where clients reach it.
    pub fn node(&self) -> Option<(&str, &str)> {
        self.cluster.as_ref().map(|c| (c.id(), c.url()))
    }

    /// In a cluster, what drains this node before it stops; `None` for a single server, which stops at
    /// once.
    pub fn drainer(&self) -> Option<Drainer> {
        let cluster = Arc::clone(self.cluster.as_ref()?);
        let timeout = self.ctx.config.cluster.as_ref().map_or(Duration::ZERO, |c| c.drain_timeout);
        Some(Drainer { cluster, lobby: Arc::clone(&self.lobby), timeout })
    }

    /// Serves on `listener` until `shutdown` completes, then closes every connection with
    /// `shutting_down` and returns (waiting at most [`SHUTDOWN_GRACE`] for them).
    pub async fn serve(self, listener: TcpListener, shutdown: impl Future<Output = ()> + Send + 'static) {
        let Self { ctx, lobby, acceptor, cluster } = self;
        let (stop, tasks) = (ctx.shutdown.clone(), ctx.tasks.clone());
        let metrics = Arc::clone(&ctx.metrics);
        let upkeep_stop = stop.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(METRICS_UPKEEP);
            loop {
                tokio::select! {
                    () = upkeep_stop.cancelled() => break,
                    _ = every.tick() => metrics.upkeep(),
                }
            }
        });
        // The live server page's samples, once a second.
        let (status_ctx, status_lobby, status_stop) = (Arc::clone(&ctx), Arc::clone(&lobby), stop.clone());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            // After a stall, the next sample comes a second later, not in a burst of short ones.
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = status_stop.cancelled() => break,
                    _ = every.tick() => {
                        let (rooms, players) = status_lobby.counts();
                        status_ctx.status.sample(status_ctx.uptime().as_secs_f64(), players, rooms);
                    }
                }
            }
        });
        let gate = Arc::new(limits::ConnectionGate::new(ctx.config.limits.clone()));
        let handshake_timeout = ctx.config.limits.handshake_timeout;
        let state = http::AppState {
            ctx,
            lobby,
            cluster: cluster.clone(),
            gate,
            shutdown: stop.clone(),
            tasks: tasks.clone(),
        };
        let app = http::router(state);

        let stop_on_signal = stop.clone();
        tokio::spawn(async move {
            shutdown.await;
            info!("shutting down");
            stop_on_signal.cancel();
        });
        let http_tasks = TaskTracker::new();
        listener::serve(listener, app, acceptor, handshake_timeout, stop.clone(), http_tasks.clone()).await;
        // Each HTTP connection finishes its request; one that will not is given up on.
        http_tasks.close();
        if tokio::time::timeout(HTTP_SHUTDOWN_GRACE, http_tasks.wait()).await.is_err() {
            warn!(
                remaining = http_tasks.len(),
                "HTTP connections still open at the shutdown deadline; closing them"
            );
        }

        tasks.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, tasks.wait()).await.is_err() {
            warn!(remaining = tasks.len(), "some connections did not close in time");
        }
        if let Some(cluster) = cluster {
            cluster.leave().await;
        }
    }
}

/// How often a draining node looks at its rooms' matches.
const DRAIN_CHECK: Duration = Duration::from_millis(250);

/// Drains a node of a cluster: it is marked draining at once (no new rooms, no hand-offs to it), and
/// [`Drainer::drain`] completes when every room's match has ended (a room in warm-up or showing results
/// has none running), or at the timeout.
#[derive(Debug)]
pub struct Drainer {
    cluster: Arc<Cluster>,
    lobby: Arc<Lobby>,
    timeout: Duration,
}

impl Drainer {
    /// `--drain-timeout`.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Marks the node draining and waits for its matches to end (at most the timeout).
    pub async fn drain(self) {
        self.cluster.start_draining();
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut ended = HashSet::new();
        loop {
            let rooms = self.lobby.summaries();
            ended.extend(rooms.iter().filter(|r| r.phase != arena_protocol::Phase::Playing).map(|r| r.code));
            let running = rooms.iter().filter(|r| !ended.contains(&r.code)).count();
            if running == 0 {
                info!("draining: no match is running; closing");
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                warn!(running, "draining: --drain-timeout is up; closing with matches running");
                return;
            }
            tokio::time::sleep(DRAIN_CHECK).await;
        }
    }
}
