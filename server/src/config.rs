//! Command-line flags and the validated server configuration built from them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use thiserror::Error;

/// Default listen address: every interface, so friends on the LAN can join.
pub const DEFAULT_ADDR: &str = "0.0.0.0:8080";
/// Default simulation rate, Hz.
pub const DEFAULT_TICK_RATE: u16 = 60;
/// Default snapshot rate, Hz.
pub const DEFAULT_SNAPSHOT_RATE: u16 = 30;
/// Default `--input-batch`: clients send two ticks' inputs per message, halving the messages the
/// server reads (the cost of a player is per message, not per byte) at up to one tick of extra input
/// delay, which prediction hides from the player's own ship.
pub const DEFAULT_INPUT_BATCH: u8 = 2;
/// The allowed simulation rates, Hz.
pub const TICK_RATE_RANGE: std::ops::RangeInclusive<u16> = 1..=240;
/// Default seats per room.
pub const DEFAULT_ROOM_CAPACITY: u16 = 16;
/// The most seats a room may have.
pub const MAX_ROOM_CAPACITY: u16 = 256;
/// Default cap on concurrently open rooms.
pub const DEFAULT_MAX_ROOMS: usize = 512;
/// The most rooms `--max-rooms` allows: far beyond what one process should hold.
pub const MAX_MAX_ROOMS: usize = 100_000;
/// Default `--game-threads`.
pub const DEFAULT_GAME_THREADS: usize = 1;
/// The most game loop threads: one holds hundreds of rooms, so more than this helps no machine.
pub const MAX_GAME_THREADS: usize = 64;
/// Default `--max-connections`: what one core serves comfortably, with room to spare.
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// Default `--max-connections-per-ip`: a household or a small LAN party behind one address.
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: u32 = 16;
/// The smallest `--max-message-bytes`: an input is ~40 bytes, a hello with a long name ~150.
pub const MIN_MESSAGE_BYTES: usize = 256;
/// The largest `--max-message-bytes`.
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;

pub use crate::game_loop::GamePriority;
/// Default time an empty room stays open for players to come back.
pub const DEFAULT_EMPTY_ROOM_GRACE: &str = "30s";

/// Default `--max-rewind` (see [`crate::sim::rewind::DEFAULT_MAX_REWIND`] for why; a test keeps them
/// equal).
pub const DEFAULT_MAX_REWIND: &str = "500ms";

/// Default `--max-spectators`.
pub const DEFAULT_MAX_SPECTATORS: u16 = 32;
/// The largest `--max-spectators`.
pub const MAX_MAX_SPECTATORS: u16 = 1000;

/// Default `--drain-timeout`: long enough for a match and its results.
pub const DEFAULT_DRAIN_TIMEOUT: &str = "3m";

/// Default time a disconnected player's seat (and score) is kept for them to reconnect.
pub const DEFAULT_RECONNECT_GRACE: &str = "30s";

/// The repo's folders, the defaults when the server runs from a checkout.
const REPO_ASSETS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets");
const REPO_WEB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../web/dist");

/// Arena: an authoritative multiplayer game server for the browser.
///
/// Serves the web client at `/`, the game WebSocket at `/ws`, the public room list at `/api/rooms` and a
/// health check at `/healthz`, all on one port. Logging follows RUST_LOG (default `info`).
#[derive(Debug, Clone, Parser)]
#[command(name = "arena-server", version, about, long_about)]
pub struct Args {
    /// Address and port to listen on. Use 127.0.0.1:PORT to accept this machine only, port 0 for any
    /// free port.
    #[arg(long, default_value = DEFAULT_ADDR)]
    pub addr: SocketAddr,

    /// Simulation ticks per second (1 to 240). Higher is more responsive and costs more CPU.
    #[arg(long, default_value_t = DEFAULT_TICK_RATE, value_parser = clap::value_parser!(u16).range(i64::from(*TICK_RATE_RANGE.start())..=i64::from(*TICK_RATE_RANGE.end())))]
    pub tick_rate: u16,

    /// Snapshots sent to each player per second; at most the tick rate. Higher is smoother and costs more
    /// bandwidth.
    #[arg(long, default_value_t = DEFAULT_SNAPSHOT_RATE, value_parser = clap::value_parser!(u16).range(i64::from(*TICK_RATE_RANGE.start())..=i64::from(*TICK_RATE_RANGE.end())))]
    pub snapshot_rate: u16,

    /// Ticks of input a client sends in one message (1 to 4), told to clients in `welcome`. 1: one
    /// input message per tick, the least input delay; 2 (the default): half the messages for the server
    /// to read, at up to one tick (at 60 Hz, 17 ms) of extra delay, hidden by prediction for the
    /// player's own ship.
    #[arg(long, default_value_t = DEFAULT_INPUT_BATCH, value_parser = clap::value_parser!(u8).range(1..=arena_protocol::MAX_INPUTS_PER_MESSAGE as i64))]
    pub input_batch: u8,

    /// Most players in one room (1 to 256).
    #[arg(long, default_value_t = DEFAULT_ROOM_CAPACITY, value_parser = clap::value_parser!(u16).range(1..=i64::from(MAX_ROOM_CAPACITY)))]
    pub room_capacity: u16,

    /// Threads the rooms tick on, apart from the threads that serve connections (1 to 64). One keeps
    /// up with hundreds of rooms; more help only on machines with many cores.
    #[arg(long, default_value_t = DEFAULT_GAME_THREADS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_GAME_THREADS as u64))]
    pub game_threads: usize,

    /// Scheduling of the game loop threads on a busy machine: `realtime` (round-robin real-time
    /// priority 1, so no other program can make a tick late), `nice` (nice -10), or `normal`. Each
    /// needs CAP_SYS_NICE (root has it); without, the server falls back to the next one and says so.
    #[arg(long, value_enum, default_value_t = GamePriority::Realtime)]
    pub game_priority: GamePriority,

    /// Most rooms open at once; creating one more fails with `server_full`.
    #[arg(long, default_value_t = DEFAULT_MAX_ROOMS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_MAX_ROOMS as u64))]
    pub max_rooms: usize,

    /// How long an empty room stays open before it closes (e.g. `30s`, `2m`).
    #[arg(long, default_value = DEFAULT_EMPTY_ROOM_GRACE, value_parser = humantime::parse_duration)]
    pub empty_room_grace: Duration,

    /// Map to play: a file name (without `.toml`) in the assets' `maps/` folder.
    #[arg(long, default_value = crate::assets::DEFAULT_MAP)]
    pub map: String,

    /// How long a player who lost the connection keeps their seat and score; the web client reconnects on
    /// its own within it (e.g. `30s`; `0s` turns reconnecting off).
    #[arg(long, default_value = DEFAULT_RECONNECT_GRACE, value_parser = humantime::parse_duration)]
    pub reconnect_grace: Duration,

    /// Link conditioner for testing netcode: latency added to every message in each direction (e.g.
    /// `80ms`; the round trip grows by twice this). Off by default.
    #[arg(long, default_value = "0ms", value_parser = humantime::parse_duration)]
    pub sim_latency: Duration,

    /// Link conditioner: random jitter, up to this much more or less than `--sim-latency`, per message
    /// (order is kept). Off by default.
    #[arg(long, default_value = "0ms", value_parser = humantime::parse_duration)]
    pub sim_jitter: Duration,

    /// Lag compensation: test each shot against the ships as its shooter saw them (the tick its input
    /// says it was drawing), so a shot aimed well on screen hits over a slow link. `off` tests every
    /// shot against the present; the shooter must then lead by their delay.
    #[arg(long, value_enum, default_value_t = Switch::On)]
    pub lag_compensation: Switch,

    /// The furthest back a shot is tested (0s to 1s): a shooter whose whole delay (round trip plus the
    /// client's render delay, about 100 ms) is longer gets this much and must lead by the rest. The
    /// default covers a 200 ms round trip; a victim can be hit up to this long after reaching cover on
    /// their own screen.
    #[arg(long, default_value = DEFAULT_MAX_REWIND, value_parser = humantime::parse_duration)]
    pub max_rewind: Duration,

    /// Where every match is recorded (from its start to its final scores), to be watched again at
    /// `#replay/ID` and checked with `arena-replay verify`: a folder, created when the first match is
    /// saved, or `off`.
    #[arg(long, default_value = crate::replays::DEFAULT_DIR, value_name = "DIR|off")]
    pub replays: String,

    /// The most bytes of replays kept (e.g. `500MiB`, `2GB`); the oldest are removed first.
    #[arg(long, default_value = crate::replays::DEFAULT_MAX_BYTES, value_parser = parse_bytes)]
    pub replay_max_bytes: u64,

    /// The most replays kept; the oldest are removed first.
    #[arg(long, default_value_t = crate::replays::DEFAULT_MAX_FILES, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub replay_max_files: usize,

    /// Largest WebSocket message a client may send, bytes (256 to 1 MiB). Enforced while reading, before
    /// a large message is buffered; a client over it is dropped with `too_large`.
    #[arg(long, default_value_t = arena_protocol::MAX_CLIENT_MESSAGE_BYTES, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(MIN_MESSAGE_BYTES as u64..=MAX_MESSAGE_BYTES as u64))]
    pub max_message_bytes: usize,

    /// Most open game connections in all; more are refused with HTTP 503.
    #[arg(long, default_value_t = DEFAULT_MAX_CONNECTIONS, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1_000_000))]
    pub max_connections: usize,

    /// Most open game connections from one IP address; more are refused with HTTP 429. Loopback is
    /// exempt unless `--limit-loopback` is given, so local load tests are not capped.
    #[arg(long, default_value_t = DEFAULT_MAX_CONNECTIONS_PER_IP, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub max_connections_per_ip: u32,

    /// Apply `--max-connections-per-ip` to loopback connections too.
    #[arg(long)]
    pub limit_loopback: bool,

    /// Close a connection that sends nothing for this long (the server pings every third of it, and
    /// clients answer pings by themselves), e.g. `30s`.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub idle_timeout: Duration,

    /// Close a TCP connection that has not sent a complete HTTP request (the WebSocket upgrade, say)
    /// this long after connecting, e.g. `5s`.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub handshake_timeout: Duration,

    /// Messages per second a client may send on average (default: twice the tick rate plus 20). Excess
    /// messages are dropped; a client over the rate for 3 s is disconnected with `flooding`.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub message_rate: Option<u32>,

    /// A page origin (e.g. `https://friends.example`) allowed to open the game socket, besides the
    /// server's own pages and localhost. Repeat for more. Other cross-site pages get HTTP 403.
    #[arg(long = "allowed-origin", value_name = "ORIGIN")]
    pub allowed_origins: Vec<String>,

    /// The most spectators a room takes (they have no ship and take no seat: a full room can be
    /// watched); 0 turns watching off.
    #[arg(long, default_value_t = DEFAULT_MAX_SPECTATORS, value_parser = clap::value_parser!(u16).range(0..=i64::from(MAX_MAX_SPECTATORS)))]
    pub max_spectators: u16,

    /// A secret that protects the live server page (`/status`, `/api/status`) on a public server: it
    /// is then opened as `/status?token=SECRET` (the API takes `Authorization: Bearer SECRET`), and
    /// without it answers 401. Open to all when not given (it shows no player, token or address, and
    /// no private room's code).
    #[arg(long, value_name = "SECRET")]
    pub status_token: Option<String>,

    /// Join a cluster: several nodes share one room directory in this Redis (e.g.
    /// `redis://127.0.0.1:6379/0`). Quick play, join by code and invite links then work from any node's
    /// address: a player is handed off to the node that holds the room. Without it the server is a
    /// single process and needs nothing else. Redis must be reachable at start.
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,

    /// With `--redis`: where browsers and bots reach this node (e.g. `https://eu-1.example.com`).
    /// Default: `http(s)://` and the listening address, or this machine's LAN address when listening
    /// on every interface. Printed at start.
    #[arg(long, value_name = "URL", requires = "redis")]
    pub public_url: Option<String>,

    /// With `--redis`: this node's name in the cluster (1 to 32 letters, digits, `-` and `_`).
    /// Default: a random one, logged at start. A second live node with the same name refuses to start.
    #[arg(long, value_name = "NAME", requires = "redis")]
    pub node_id: Option<String>,

    /// With `--redis`: how long SIGTERM waits for running matches to end before the node closes
    /// (it takes no new rooms or players meanwhile; a second SIGTERM or Ctrl-C stops it at once).
    #[arg(long, default_value = DEFAULT_DRAIN_TIMEOUT, value_parser = humantime::parse_duration)]
    pub drain_timeout: Duration,

    /// A secret that turns on `POST /api/announce` (a notice to every player on every node), for
    /// `Authorization: Bearer SECRET` only. Off (404) when not given.
    #[arg(long, value_name = "SECRET")]
    pub admin_token: Option<String>,

    /// PEM certificate chain: with `--tls-key`, the server speaks HTTPS and `wss://` on its port.
    #[arg(long, requires = "tls_key", value_name = "PEM")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key for `--tls-cert`.
    #[arg(long, requires = "tls_cert", value_name = "PEM")]
    pub tls_key: Option<PathBuf>,

    /// Seed for every random choice of the simulation (spawn points). Rooms derive their own seeds from
    /// it in creation order, so a run can be replayed. Default: a random seed, printed at start.
    #[arg(long)]
    pub seed: Option<u64>,

    /// Folder with the game data (`tuning.toml` and `maps/`).
    #[arg(long, default_value = REPO_ASSETS)]
    pub assets: PathBuf,

    /// Folder with the built web client to serve at `/` (building the server builds it into `web/dist`).
    #[arg(long, default_value = REPO_WEB)]
    pub web: PathBuf,
}

/// A feature flag's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Switch {
    /// Enabled.
    On,
    /// Disabled.
    Off,
}

/// A flag combination that clap alone cannot reject.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    /// The snapshot rate is above the tick rate.
    #[error(
        "--snapshot-rate {snapshot} is above --tick-rate {tick}: a snapshot cannot be sent more often than the world changes"
    )]
    SnapshotRateAboveTickRate {
        /// The snapshot rate asked for.
        snapshot: u16,
        /// The tick rate asked for.
        tick: u16,
    },
    /// A grace period is absurdly long.
    #[error("{flag} is out of range (0s to 1h; --idle-timeout at least 1s): {value:?}")]
    Grace {
        /// The flag.
        flag: &'static str,
        /// Its value.
        value: Duration,
    },
    /// `--max-rewind` is over its limit.
    #[error("--max-rewind is {value:?}, over the limit of 1s")]
    MaxRewind {
        /// Its value.
        value: Duration,
    },
    /// `--status-token` is empty (an unset variable, say): the page would be open to all.
    #[error("--status-token is empty: give a secret, or leave the flag out to keep the status page open")]
    EmptyStatusToken,
    /// `--admin-token` is empty: announcements would be open to all.
    #[error("--admin-token is empty: give a secret, or leave the flag out to keep /api/announce off")]
    EmptyAdminToken,
    /// `--redis` is not a Redis URL.
    #[error("--redis {url:?} is not a Redis URL ({reason}); e.g. redis://127.0.0.1:6379/0")]
    RedisUrl {
        /// The URL given.
        url: String,
        /// Why it does not parse.
        reason: String,
    },
    /// `--public-url` is not an http(s) origin.
    #[error(
        "--public-url {0:?} must be http:// or https:// and a host, with no path (e.g. https://eu-1.example.com)"
    )]
    PublicUrl(String),
    /// `--node-id` has characters other than letters, digits, `-` and `_`, or too many.
    #[error("--node-id {0:?} must be 1 to 32 letters, digits, - and _")]
    NodeId(String),
    /// `--drain-timeout` is over a day.
    #[error("--drain-timeout is {0:?}, over the limit of 24h")]
    DrainTimeout(Duration),
    /// The link conditioner is set beyond what makes sense.
    #[error("--sim-latency and --sim-jitter must be at most 5s each, and the jitter at most the latency")]
    Conditioner,
}

/// A node's place in a cluster (`--redis` and the flags that go with it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// The directory's Redis.
    pub redis_url: String,
    /// This node's name.
    pub node_id: String,
    /// Where clients reach this node (`http(s)://host:port`, no trailing slash); `None`: derived from
    /// the listening address.
    pub public_url: Option<String>,
    /// How long SIGTERM waits for matches to end.
    pub drain_timeout: Duration,
}

/// Checks a `--public-url`: `http(s)://authority`, nothing after it but an optional `/`.
fn valid_public_url(url: &str) -> Option<String> {
    let url = url.trim().trim_end_matches('/');
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"))?;
    let fine = !rest.is_empty() && !rest.contains(['/', '?', '#', ' ', '@']);
    fine.then(|| url.to_owned())
}

/// Whether a node id is 1 to 32 letters, digits, `-` and `_`.
pub fn valid_node_id(id: &str) -> bool {
    (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A size such as `1GiB`, `500MB` or `1048576`.
fn parse_bytes(text: &str) -> Result<u64, String> {
    text.parse::<bytesize::ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|e| format!("not a size ({e}); try 500MiB or 2GB"))
}

/// The validated server configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Simulation rate, Hz.
    pub tick_rate: u16,
    /// Snapshot rate, Hz (at most `tick_rate`).
    pub snapshot_rate: u16,
    /// Ticks of input per client message, as `welcome` asks.
    pub input_batch: u8,
    /// Seats per room.
    pub room_capacity: u16,
    /// Most rooms at once.
    pub max_rooms: usize,
    /// Threads the rooms tick on.
    pub game_threads: usize,
    /// How the game loop threads ask to be scheduled.
    pub game_priority: GamePriority,
    /// How long an empty room stays open.
    pub empty_room_grace: Duration,
    /// How long a disconnected player's seat is kept.
    pub reconnect_grace: Duration,
    /// The map's name.
    pub map: String,
    /// The furthest back a shot is tested; zero when lag compensation is off.
    pub max_rewind: Duration,
    /// Where matches are recorded; `None` when off.
    pub replays: Option<crate::replays::ReplayConfig>,
    /// Simulated latency and jitter (zero = off).
    pub link: crate::conditioner::LinkConditioner,
    /// Per-client limits.
    pub limits: crate::limits::Limits,
    /// Certificate chain and key files, when serving TLS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// The secret the status page asks for, if any.
    pub status_token: Option<String>,
    /// The most spectators a room takes.
    pub max_spectators: u16,
    /// The cluster this node is part of; `None` for a single server.
    pub cluster: Option<ClusterConfig>,
    /// The secret `POST /api/announce` asks for; the endpoint is off without it.
    pub admin_token: Option<String>,
    /// The base seed.
    pub seed: u64,
    /// Folder with the game data.
    pub assets: PathBuf,
    /// Folder with the web client.
    pub web: PathBuf,
}

impl Config {
    /// Validates flags into a configuration; `seed` fills in when no `--seed` was given.
    pub fn from_args(args: &Args, random_seed: u64) -> Result<Self, ConfigError> {
        if args.snapshot_rate > args.tick_rate {
            return Err(ConfigError::SnapshotRateAboveTickRate {
                snapshot: args.snapshot_rate,
                tick: args.tick_rate,
            });
        }
        let hour = Duration::from_secs(3600);
        if args.empty_room_grace > hour {
            return Err(ConfigError::Grace { flag: "--empty-room-grace", value: args.empty_room_grace });
        }
        if args.reconnect_grace > hour {
            return Err(ConfigError::Grace { flag: "--reconnect-grace", value: args.reconnect_grace });
        }
        if args.idle_timeout < Duration::from_secs(1) || args.idle_timeout > hour {
            return Err(ConfigError::Grace { flag: "--idle-timeout", value: args.idle_timeout });
        }
        if args.handshake_timeout < Duration::from_millis(100)
            || args.handshake_timeout > Duration::from_secs(60)
        {
            return Err(ConfigError::Grace { flag: "--handshake-timeout", value: args.handshake_timeout });
        }
        if args.max_rewind > crate::sim::rewind::MAX_MAX_REWIND {
            return Err(ConfigError::MaxRewind { value: args.max_rewind });
        }
        let five = Duration::from_secs(5);
        if args.sim_latency > five || args.sim_jitter > five || args.sim_jitter > args.sim_latency {
            return Err(ConfigError::Conditioner);
        }
        Ok(Self {
            tick_rate: args.tick_rate,
            snapshot_rate: args.snapshot_rate,
            input_batch: args.input_batch,
            room_capacity: args.room_capacity,
            max_rooms: args.max_rooms,
            game_threads: args.game_threads,
            game_priority: args.game_priority,
            empty_room_grace: args.empty_room_grace,
            reconnect_grace: args.reconnect_grace,
            map: args.map.clone(),
            max_rewind: match args.lag_compensation {
                Switch::On => args.max_rewind,
                Switch::Off => Duration::ZERO,
            },
            replays: (args.replays != "off").then(|| crate::replays::ReplayConfig {
                dir: PathBuf::from(&args.replays),
                max_bytes: args.replay_max_bytes,
                max_files: args.replay_max_files,
            }),
            link: crate::conditioner::LinkConditioner { latency: args.sim_latency, jitter: args.sim_jitter },
            tls: args.tls_cert.clone().zip(args.tls_key.clone()),
            status_token: match &args.status_token {
                Some(token) if token.trim().is_empty() => return Err(ConfigError::EmptyStatusToken),
                token => token.clone(),
            },
            max_spectators: args.max_spectators,
            admin_token: match &args.admin_token {
                Some(token) if token.trim().is_empty() => return Err(ConfigError::EmptyAdminToken),
                token => token.clone(),
            },
            cluster: match &args.redis {
                None => None,
                Some(url) => {
                    if let Err(err) = redis::Client::open(url.as_str()) {
                        return Err(ConfigError::RedisUrl { url: url.clone(), reason: err.to_string() });
                    }
                    if args.drain_timeout > 24 * hour {
                        return Err(ConfigError::DrainTimeout(args.drain_timeout));
                    }
                    let public_url = match &args.public_url {
                        Some(given) => Some(
                            valid_public_url(given).ok_or_else(|| ConfigError::PublicUrl(given.clone()))?,
                        ),
                        None => None,
                    };
                    let node_id = match &args.node_id {
                        Some(id) if valid_node_id(id) => id.clone(),
                        Some(id) => return Err(ConfigError::NodeId(id.clone())),
                        None => format!("node-{:06x}", rand::random::<u32>() & 0xff_ffff),
                    };
                    Some(ClusterConfig {
                        redis_url: url.clone(),
                        node_id,
                        public_url,
                        drain_timeout: args.drain_timeout,
                    })
                }
            },
            limits: {
                let rate = f64::from(args.message_rate.unwrap_or(2 * u32::from(args.tick_rate) + 20));
                crate::limits::Limits {
                    max_message_bytes: args.max_message_bytes,
                    max_connections: args.max_connections,
                    max_connections_per_ip: args.max_connections_per_ip,
                    limit_loopback: args.limit_loopback,
                    idle_timeout: args.idle_timeout,
                    handshake_timeout: args.handshake_timeout,
                    message_rate: rate,
                    message_burst: rate,
                    allowed_origins: args.allowed_origins.clone(),
                }
            },
            seed: args.seed.unwrap_or(random_seed),
            assets: args.assets.clone(),
            web: args.web.clone(),
        })
    }

    /// A configuration with every default, for tests.
    pub fn for_tests() -> Self {
        let args = Args::parse_from(["arena-server", "--replays", "off"]);
        Self::from_args(&args, 1).unwrap_or_else(|e| unreachable!("defaults are valid: {e}"))
    }

    /// The fixed tick length.
    pub fn tick_interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / f64::from(self.tick_rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let c = Config::for_tests();
        assert_eq!((c.tick_rate, c.snapshot_rate, c.room_capacity), (60, 30, 16));
        assert!(TICK_RATE_RANGE.contains(&c.tick_rate));
    }

    #[test]
    fn an_empty_status_token_is_refused() {
        for token in ["", "  "] {
            let args = Args::parse_from(["arena-server", "--status-token", token]);
            assert!(matches!(Config::from_args(&args, 1), Err(ConfigError::EmptyStatusToken)), "{token:?}");
        }
        let args = Args::parse_from(["arena-server", "--status-token", "s3cret"]);
        assert_eq!(Config::from_args(&args, 1).map(|c| c.status_token), Ok(Some("s3cret".into())));
    }

    #[test]
    fn cluster_flags_are_checked() {
        let parse = |flags: &[&str]| {
            let args = Args::parse_from(["arena-server"].iter().chain(flags));
            Config::from_args(&args, 1)
        };
        assert_eq!(parse(&[]).map(|c| c.cluster), Ok(None), "a single server by default");
        let c = parse(&[
            "--redis",
            "redis://127.0.0.1:6379/0",
            "--node-id",
            "eu-1",
            "--public-url",
            "https://eu-1.example.com/",
        ])
        .expect("valid")
        .cluster
        .expect("a cluster");
        assert_eq!((c.node_id.as_str(), c.public_url.as_deref()), ("eu-1", Some("https://eu-1.example.com")));
        let random = parse(&["--redis", "redis://127.0.0.1"]).expect("valid").cluster.expect("a cluster");
        assert!(valid_node_id(&random.node_id) && random.node_id.starts_with("node-"), "{}", random.node_id);
        assert!(matches!(parse(&["--redis", "http://x"]), Err(ConfigError::RedisUrl { .. })));
        assert!(matches!(parse(&["--redis", "redis://h", "--node-id", "a b"]), Err(ConfigError::NodeId(_))));
        for bad in ["eu-1.example.com", "https://x.example/path", "ftp://x", "https://"] {
            let flags = ["--redis", "redis://h", "--public-url", bad];
            assert!(matches!(parse(&flags), Err(ConfigError::PublicUrl(_))), "{bad}");
        }
        assert!(Args::try_parse_from(["arena-server", "--node-id", "a"]).is_err(), "needs --redis");
        assert!(matches!(parse(&["--admin-token", " "]), Err(ConfigError::EmptyAdminToken)));
    }

    #[test]
    fn snapshot_rate_above_tick_rate_is_refused() {
        let args = Args::parse_from(["arena-server", "--tick-rate", "30", "--snapshot-rate", "31"]);
        let err = Config::from_args(&args, 1).expect_err("accepted");
        assert!(err.to_string().contains("--snapshot-rate 31 is above --tick-rate 30"), "{err}");
    }

    #[test]
    fn lag_compensation_is_on_up_to_250ms_unless_turned_off() {
        assert_eq!(Config::for_tests().max_rewind, crate::sim::rewind::DEFAULT_MAX_REWIND);
        let args = Args::parse_from(["arena-server", "--lag-compensation", "off", "--max-rewind", "400ms"]);
        assert_eq!(Config::from_args(&args, 1).expect("valid").max_rewind, Duration::ZERO);
        let args = Args::parse_from(["arena-server", "--max-rewind", "2s"]);
        let err = Config::from_args(&args, 1).expect_err("accepted");
        assert!(err.to_string().contains("--max-rewind is 2s, over the limit of 1s"), "{err}");
    }

    #[test]
    fn out_of_range_tick_rate_is_refused_by_clap() {
        for bad in ["0", "241", "fast"] {
            let err = Args::try_parse_from(["arena-server", "--tick-rate", bad]).expect_err("accepted");
            assert!(err.to_string().contains("--tick-rate"), "{err}");
        }
    }

    #[test]
    fn help_documents_every_flag() {
        use clap::CommandFactory;
        let help = Args::command().render_long_help().to_string();
        for flag in [
            "--addr",
            "--tick-rate",
            "--snapshot-rate",
            "--room-capacity",
            "--max-rooms",
            "--empty-room-grace",
            "--map",
            "--reconnect-grace",
            "--sim-latency",
            "--sim-jitter",
            "--lag-compensation",
            "--max-rewind",
            "--replays",
            "--replay-max-bytes",
            "--replay-max-files",
            "--max-message-bytes",
            "--max-connections",
            "--max-connections-per-ip",
            "--limit-loopback",
            "--idle-timeout",
            "--handshake-timeout",
            "--tls-cert",
            "--tls-key",
            "--message-rate",
            "--allowed-origin",
            "--seed",
            "--redis",
            "--public-url",
            "--node-id",
            "--drain-timeout",
            "--admin-token",
            "--assets",
            "--web",
        ] {
            assert!(help.contains(flag), "{flag} missing from --help");
        }
    }
}
