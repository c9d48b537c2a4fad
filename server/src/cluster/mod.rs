//! The cluster (`--redis`): several nodes share one room directory in Redis, so quick play, join by code
//! and invite links work from any node's address.
//!
//! Each node keeps its own rooms and seats exactly as a single server does (the [`Lobby`] is still the one
//! authority on its seats); the directory only says which node has which room and how full each node
//! is. When a player asks a node for a room another node holds, the node they reached asks the owner
//! for a seat over the owner's inbox channel; the owner reserves it in its lobby under a one-time
//! [`Ticket`] and the player reconnects there with it ([`arena_protocol::ServerMsg::Handoff`]).
//!
//! Nothing here is on the tick path or runs per input: the directory is written and read once a second
//! (and when a room opens or closes) by one task, seat requests cost one publish each way, and every
//! Redis call has a bounded timeout. When Redis is out of reach the node carries on with what it has:
//! its rooms play on, quick play uses its own rooms, and it registers again when Redis is back.
//!
//! # Layout
//! - [`records`]: the keys, channels and JSON shapes of the wire between nodes.
//! - `mod.rs` (this file): [`Cluster`]: joining, the refresh task, the inbox task, placement, tickets.

pub(crate) mod records;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use arena_protocol::{ErrorCode, HANDOFF_TICKET_SECS, Phase};
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use thiserror::Error;
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::config::ClusterConfig;
use crate::context::ServerContext;
use crate::ids::{RoomCode, Ticket};
use crate::lobby::{Lobby, LobbyError, LobbyHooks, RoomListing, RoomSummary, Seat};
use records::{
    ANNOUNCE_CHANNEL, Announcement, Envelope, Granted, NODES_KEY, NodeRecord, RECORD_TTL, REFRESH_EVERY,
    Refused, RoomRecord, Want, inbox, node_key, room_key,
};

/// The longest any one Redis call may take before it counts as failed.
pub(crate) const REDIS_TIMEOUT: Duration = Duration::from_millis(1000);

/// How long a node waits for another to answer a seat request.
pub(crate) const SEAT_REPLY_TIMEOUT: Duration = Duration::from_millis(1500);

/// A directory read older than this is not trusted for placement (Redis is out of reach): quick play
/// then uses this node's rooms only.
pub(crate) const STALE_AFTER: Duration = Duration::from_secs(3);

/// Room codes a node keeps claimed for its next rooms, so opening a room needs no Redis call.
pub(crate) const CODES_READY: usize = 8;

/// The fewest time between two directory refreshes: a burst of rooms opening is published together.
const MIN_REFRESH_GAP: Duration = Duration::from_millis(50);

/// How long the page origin of a node that left the directory stays allowed to open this node's
/// socket: its pages are still open in browsers, and their players move here when it drains or dies.
const ORIGIN_MEMORY: Duration = Duration::from_secs(3600);

/// How many rooms quick play tries, fullest first, before it opens a new one.
const QUICK_PLAY_TRIES: usize = 3;

/// Why a node could not join its cluster.
#[derive(Debug, Error)]
pub enum ClusterError {
    /// Redis cannot be reached.
    #[error("cannot reach Redis at {url}: {reason} (is redis-server running? the node needs it at start)")]
    Unreachable {
        /// The `--redis` URL.
        url: String,
        /// What failed.
        reason: String,
    },
    /// Another live node has this id.
    #[error(
        "node id {0:?} is taken by a live node (its record arena:node:{0} has not expired); choose another --node-id, or wait 3 s if that node was just stopped"
    )]
    NodeIdTaken(String),
}

/// A seat this node reserved for a player another node sent, until the player comes with the ticket.
#[derive(Debug)]
struct Ticketed {
    seat: Seat,
    watching: bool,
    until: Instant,
}

/// Where a player is to go.
#[derive(Debug)]
pub(crate) enum Placement {
    /// A seat reserved here.
    Here(Seat),
    /// A spectator's place here.
    Watching(Seat),
    /// A seat held on another node.
    There(Handoff),
}

/// A seat on another node, and how to take it.
#[derive(Debug, Clone)]
pub(crate) struct Handoff {
    /// The owner's WebSocket.
    pub(crate) url: String,
    /// The one-time ticket.
    pub(crate) ticket: String,
    /// The room.
    pub(crate) room: String,
    /// The owner's id.
    pub(crate) node: String,
}

/// Why a player could not be placed: the error they get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlaceError {
    /// The protocol error code.
    pub(crate) code: ErrorCode,
    /// Its message.
    pub(crate) message: String,
}

impl From<LobbyError> for PlaceError {
    fn from(err: LobbyError) -> Self {
        Self { code: err.code(), message: err.to_string() }
    }
}

impl From<Refused> for PlaceError {
    fn from(r: Refused) -> Self {
        Self { code: r.code, message: r.message }
    }
}

/// The last read of the directory.
#[derive(Debug, Clone, Default)]
struct View {
    /// Every live node's record, this one's included.
    nodes: Vec<NodeRecord>,
    /// When it was read; `None` before the first read.
    read_at: Option<Instant>,
    /// Nodes this node has placed players on since, and when: their records in Redis may not count
    /// those players yet.
    noted: HashMap<String, Instant>,
}

/// A node's part in the cluster.
#[derive(Debug)]
pub(crate) struct Cluster {
    ctx: Arc<ServerContext>,
    lobby: Arc<Lobby>,
    id: String,
    url: String,
    ws_url: String,
    redis_url: String,
    client: redis::Client,
    redis: ConnectionManager,
    view: Mutex<Arc<View>>,
    pending: Mutex<HashMap<u64, oneshot::Sender<Result<Granted, Refused>>>>,
    next_request: AtomicU64,
    tickets: Mutex<HashMap<Ticket, Ticketed>>,
    /// Codes claimed in the directory for the next rooms.
    codes: Mutex<Vec<RoomCode>>,
    /// Every node's URL seen in the directory, and when last: their pages may open this node's socket.
    origins: Mutex<HashMap<String, Instant>>,
    /// Rooms opened or closed, or draining began: refresh now.
    poke: Notify,
    /// Whether the last refresh reached Redis (to log the change once, not every second).
    reachable: AtomicBool,
    /// The node has left the directory (it is stopping): nothing is written any more.
    left: AtomicBool,
    /// Quick play and room creation decide one player at a time, each on the view the one before left
    /// (its seat counted): many players at once would otherwise all see no room with space and each
    /// open one. A decision takes one Redis round trip to another node (a millisecond on a LAN), at
    /// most [`SEAT_REPLY_TIMEOUT`] for a node that hangs.
    placing: tokio::sync::Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update under these locks is one statement: a poisoned lock is still consistent.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Where this node is reached: `--public-url`, or the listening address (this machine's LAN address
/// when listening on every interface).
pub(crate) fn public_url(config: &ClusterConfig, local: SocketAddr, tls: bool) -> String {
    if let Some(url) = &config.public_url {
        return url.clone();
    }
    let scheme = if tls { "https" } else { "http" };
    let ip = if local.ip().is_unspecified() {
        if_addrs::get_if_addrs()
            .unwrap_or_default()
            .into_iter()
            .find(|i| !i.is_loopback() && i.ip().is_ipv4())
            .map_or(IpAddr::from([127, 0, 0, 1]), |i| i.ip())
    } else {
        local.ip()
    };
    format!("{scheme}://{}", SocketAddr::new(ip, local.port()))
}

impl Cluster {
    /// Joins the cluster: connects to Redis (an error if it is out of reach), claims the node id, and
    /// starts the refresh and inbox tasks. `url` is where clients reach this node.
    pub(crate) async fn join(
        ctx: Arc<ServerContext>,
        lobby: Arc<Lobby>,
        config: &ClusterConfig,
        url: String,
    ) -> Result<Arc<Self>, ClusterError> {
        let unreachable =
            |reason: String| ClusterError::Unreachable { url: config.redis_url.clone(), reason };
        let client =
            redis::Client::open(config.redis_url.as_str()).map_err(|e| unreachable(e.to_string()))?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let redis = tokio::time::timeout(
            REDIS_TIMEOUT * 3,
            client.get_connection_manager_with_config(manager_config),
        )
        .await
        .map_err(|_| unreachable("no answer in 3 s".into()))?
        .map_err(|e| unreachable(e.to_string()))?;
        let ws_url = format!("{}/ws", url.replacen("http", "ws", 1));
        let cluster = Arc::new(Self {
            ctx,
            lobby,
            id: config.node_id.clone(),
            url,
            ws_url,
            redis_url: config.redis_url.clone(),
            client,
            redis,
            view: Mutex::default(),
            pending: Mutex::default(),
            next_request: AtomicU64::new(1),
            tickets: Mutex::default(),
            codes: Mutex::default(),
            origins: Mutex::default(),
            poke: Notify::new(),
            reachable: AtomicBool::new(true),
            left: AtomicBool::new(false),
            placing: tokio::sync::Mutex::new(()),
        });
        // The node id: claimed with NX, so a second live node of the same name stops here.
        let record = serde_json::to_string(&cluster.own_record()).unwrap_or_default();
        let claimed: redis::Value = cluster
            .call(
                redis::cmd("SET")
                    .arg(node_key(&cluster.id))
                    .arg(record)
                    .arg("NX")
                    .arg("PX")
                    .arg(RECORD_TTL.as_millis() as u64),
            )
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        if matches!(claimed, redis::Value::Nil) {
            return Err(ClusterError::NodeIdTaken(cluster.id.clone()));
        }
        cluster.refresh().await.map_err(|e| unreachable(e.to_string()))?;
        let hooks: Arc<dyn LobbyHooks> = Arc::clone(&cluster) as _;
        cluster.lobby.set_hooks(Arc::downgrade(&hooks));
        info!(node = %cluster.id, url = %cluster.url, redis = %cluster.redis_url, "joined the cluster");
        tokio::spawn(Arc::clone(&cluster).refresh_loop());
        tokio::spawn(Arc::clone(&cluster).inbox_loop());
        Ok(cluster)
    }

    /// This node's id.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// Where clients reach this node.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    async fn call<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, redis::RedisError> {
        let mut conn = self.redis.clone();
        self.timed(cmd.query_async(&mut conn)).await
    }

    async fn call_pipe<T: redis::FromRedisValue>(
        &self,
        pipe: &redis::Pipeline,
    ) -> Result<T, redis::RedisError> {
        let mut conn = self.redis.clone();
        self.timed(pipe.query_async(&mut conn)).await
    }

    /// A Redis call within [`REDIS_TIMEOUT`], its round trip recorded.
    async fn timed<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, redis::RedisError>>,
    ) -> Result<T, redis::RedisError> {
        let started = Instant::now();
        let result = tokio::time::timeout(REDIS_TIMEOUT, call).await.unwrap_or_else(|_| {
            Err(redis::RedisError::from(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "Redis did not answer in time",
            )))
        });
        self.ctx.metrics.redis_round_trip.record(started.elapsed().as_secs_f64());
        result
    }

    /// This node's record, from its lobby now.
    fn own_record(&self) -> NodeRecord {
        self.record_of(&self.lobby.summaries())
    }

    /// This node's record with these rooms.
    fn record_of(&self, summaries: &[RoomSummary]) -> NodeRecord {
        let config = &self.ctx.config;
        let seats = u32::try_from(config.max_rooms.saturating_mul(usize::from(config.room_capacity)))
            .unwrap_or(u32::MAX);
        let connections = u32::try_from(config.limits.max_connections).unwrap_or(u32::MAX);
        NodeRecord {
            id: self.id.clone(),
            url: self.url.clone(),
            ws_url: self.ws_url.clone(),
            players: summaries.iter().map(|r| u32::from(r.players)).sum(),
            room_count: u32::try_from(summaries.len()).unwrap_or(u32::MAX),
            capacity: seats.min(connections),
            draining: self.lobby.is_draining(),
            version: env!("CARGO_PKG_VERSION").into(),
            rooms: summaries
                .iter()
                .filter(|r| r.public)
                .map(|r| RoomRecord {
                    code: r.code.to_string(),
                    players: r.players,
                    capacity: r.capacity,
                    phase: r.phase,
                })
                .collect(),
        }
    }

    /// Writes this node's records (itself, its rooms' codes, the codes it keeps ready), claims more codes
    /// when it has few, and reads every node's record.
    async fn refresh(&self) -> Result<(), redis::RedisError> {
        if self.left.load(Ordering::Relaxed) {
            return Ok(());
        }
        let ttl = RECORD_TTL.as_millis() as u64;
        let summaries = self.lobby.summaries();
        let record = self.record_of(&summaries);
        let mut owned: Vec<String> = summaries.iter().map(|r| r.code.to_string()).collect();
        owned.extend(lock(&self.codes).iter().map(ToString::to_string));
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(node_key(&self.id))
            .arg(serde_json::to_string(&record).unwrap_or_default())
            .arg("PX")
            .arg(ttl)
            .ignore();
        pipe.cmd("SADD").arg(NODES_KEY).arg(&self.id).ignore();
        for code in &owned {
            pipe.cmd("SET").arg(room_key(code)).arg(&self.id).arg("PX").arg(ttl).ignore();
        }
        pipe.cmd("SMEMBERS").arg(NODES_KEY);
        let (ids,): (Vec<String>,) = self.call_pipe(&pipe).await?;
        self.claim_codes().await?;
        let mut nodes = Vec::with_capacity(ids.len());
        if !ids.is_empty() {
            let keys: Vec<String> = ids.iter().map(|id| node_key(id)).collect();
            let records: Vec<Option<String>> = self.call(redis::cmd("MGET").arg(&keys)).await?;
            let mut gone = Vec::new();
            for (id, record) in ids.iter().zip(records) {
                match record.as_deref().map(serde_json::from_str::<NodeRecord>) {
                    Some(Ok(node)) => nodes.push(node),
                    Some(Err(err)) => {
                        warn!(node = %id, %err, "unreadable node record in the directory; ignored")
                    }
                    None => gone.push(id.clone()),
                }
            }
            if !gone.is_empty() {
                let _: Result<i64, _> = self.call(redis::cmd("SREM").arg(NODES_KEY).arg(&gone)).await;
            }
        }
        nodes.sort_by(|a, b| a.id.cmp(&b.id));
        let now = Instant::now();
        {
            let mut origins = lock(&self.origins);
            origins.retain(|_, seen| now.duration_since(*seen) < ORIGIN_MEMORY);
            for node in &nodes {
                origins.insert(node.url.to_ascii_lowercase(), now);
            }
        }
        let mut view = lock(&self.view);
        let mut noted = view.noted.clone();
        noted.retain(|_, at| now.duration_since(*at) < STALE_AFTER);
        // A node's record may be older than the seats this node placed there since: until a read is
        // surely newer, each room and node keeps the higher count, so placement never sees a full room
        // as empty again (and a just-opened room is not forgotten).
        for node in nodes.iter_mut().filter(|n| noted.contains_key(&n.id)) {
            let Some(before) = view.nodes.iter().find(|n| n.id == node.id) else { continue };
            node.players = node.players.max(before.players);
            for room in &before.rooms {
                match node.rooms.iter_mut().find(|r| r.code == room.code) {
                    Some(r) => r.players = r.players.max(room.players),
                    None => node.rooms.push(room.clone()),
                }
            }
            node.room_count = node.room_count.max(u32::try_from(node.rooms.len()).unwrap_or(u32::MAX));
        }
        *view = Arc::new(View { nodes, read_at: Some(now), noted });
        Ok(())
    }

    /// Tops up the codes kept ready for new rooms, each claimed with NX (never one another node owns).
    async fn claim_codes(&self) -> Result<(), redis::RedisError> {
        let missing = CODES_READY.saturating_sub(lock(&self.codes).len());
        if missing == 0 {
            return Ok(());
        }
        let candidates: Vec<RoomCode> = {
            let mut rng = rand::rng();
            (0..missing).map(|_| RoomCode::random(&mut rng)).collect()
        };
        let mut pipe = redis::pipe();
        for code in &candidates {
            pipe.cmd("SET")
                .arg(room_key(code.as_str()))
                .arg(&self.id)
                .arg("NX")
                .arg("PX")
                .arg(RECORD_TTL.as_millis() as u64);
        }
        let answers: Vec<redis::Value> = self.call_pipe(&pipe).await?;
        let mut codes = lock(&self.codes);
        for (code, answer) in candidates.into_iter().zip(answers) {
            if !matches!(answer, redis::Value::Nil) {
                codes.push(code);
            }
        }
        Ok(())
    }

    /// Refreshes every [`REFRESH_EVERY`], or soon after a poke; gives up expired tickets' seats.
    async fn refresh_loop(self: Arc<Self>) {
        let stop = self.ctx.shutdown.clone();
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(REFRESH_EVERY) => {}
                () = self.poke.notified() => {}
            }
            self.expire_tickets();
            match self.refresh().await {
                Ok(()) => {
                    if !self.reachable.swap(true, Ordering::Relaxed) {
                        info!(node = %self.id, "Redis is back: registered in the directory again");
                    }
                }
                Err(err) => {
                    self.ctx.metrics.directory_failures.increment(1);
                    if self.reachable.swap(false, Ordering::Relaxed) {
                        warn!(node = %self.id, %err, "cannot refresh the directory; playing on with this node's rooms");
                    }
                }
            }
            tokio::time::sleep(MIN_REFRESH_GAP).await;
        }
    }

    /// Leaves the directory at once, rather than when the records expire (a clean stop). Best effort:
    /// with Redis away, the records expire by themselves.
    pub(crate) async fn leave(&self) {
        self.left.store(true, Ordering::Relaxed);
        let mut pipe = redis::pipe();
        pipe.cmd("DEL").arg(node_key(&self.id)).ignore();
        pipe.cmd("SREM").arg(NODES_KEY).arg(&self.id).ignore();
        let ready: Vec<RoomCode> = lock(&self.codes).drain(..).collect();
        for code in self.lobby.summaries().into_iter().map(|r| r.code).chain(ready) {
            pipe.cmd("DEL").arg(room_key(code.as_str())).ignore();
        }
        let _: Result<(), _> = self.call_pipe(&pipe).await;
        info!(node = %self.id, "left the cluster");
    }

    /// Listens on this node's inbox and the announcement channel, reconnecting while Redis is away.
    async fn inbox_loop(self: Arc<Self>) {
        let stop = self.ctx.shutdown.clone();
        let channels = [inbox(&self.id), ANNOUNCE_CHANNEL.to_owned()];
        loop {
            let subscribed = async {
                let mut pubsub = self.client.get_async_pubsub().await?;
                pubsub.subscribe(&channels).await?;
                Ok::<_, redis::RedisError>(pubsub)
            };
            match tokio::time::timeout(REDIS_TIMEOUT, subscribed).await {
                Ok(Ok(pubsub)) => {
                    debug!(node = %self.id, "listening on the inbox");
                    let mut messages = pubsub.into_on_message();
                    loop {
                        let msg = tokio::select! {
                            () = stop.cancelled() => return,
                            msg = messages.next() => msg,
                        };
                        let Some(msg) = msg else { break };
                        let Ok(payload) = msg.get_payload::<String>() else { continue };
                        if msg.get_channel_name() == ANNOUNCE_CHANNEL {
                            self.hear_announcement(&payload);
                        } else {
                            self.hear(&payload);
                        }
                    }
                    warn!(node = %self.id, "lost the inbox subscription; reconnecting");
                }
                Ok(Err(err)) => debug!(node = %self.id, %err, "cannot subscribe to the inbox yet"),
                Err(_) => debug!(node = %self.id, "subscribing to the inbox timed out"),
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
    }

    fn hear(self: &Arc<Self>, payload: &str) {
        let envelope = match serde_json::from_str::<Envelope>(payload) {
            Ok(envelope) => envelope,
            Err(err) => return warn!(node = %self.id, %err, "unreadable message on the inbox; ignored"),
        };
        match envelope {
            Envelope::SeatRequest { id, from, want } => {
                let result = self.grant(&want);
                let reply = serde_json::to_string(&Envelope::SeatReply { id, result }).unwrap_or_default();
                let me = Arc::clone(self);
                tokio::spawn(async move {
                    if let Err(err) = me.call::<i64>(redis::cmd("PUBLISH").arg(inbox(&from)).arg(reply)).await
                    {
                        warn!(node = %me.id, to = %from, %err, "could not answer a seat request");
                    }
                });
            }
            Envelope::SeatReply { id, result } => {
                if let Some(waiting) = lock(&self.pending).remove(&id) {
                    let _ = waiting.send(result);
                }
            }
        }
    }

    fn hear_announcement(&self, payload: &str) {
        match serde_json::from_str::<Announcement>(payload) {
            Ok(a) => {
                let rooms = self.lobby.announce(&Arc::from(a.text.as_str()));
                info!(node = %self.id, from = %a.from, rooms, "passed on an announcement");
            }
            Err(err) => warn!(node = %self.id, %err, "unreadable announcement; ignored"),
        }
    }

    /// Reserves what another node asks for, under a new ticket.
    fn grant(&self, want: &Want) -> Result<Granted, Refused> {
        if self.lobby.is_draining() {
            return Err(Refused {
                code: ErrorCode::ServerFull,
                message: format!("node {} is shutting down; try again", self.id),
            });
        }
        let refused = |e: LobbyError| Refused { code: e.code(), message: e.to_string() };
        let (seat, watching) = match want {
            Want::Join { code } => (self.lobby.join(code).map_err(refused)?, false),
            Want::Watch { code } => (self.lobby.watch(code).map_err(refused)?, true),
            Want::Create { public: true } => (self.lobby.create_public().map_err(refused)?, false),
            Want::Create { public: false } => (self.lobby.create_private().map_err(refused)?, false),
        };
        let ticket = Ticket::random();
        let room = self.lobby.summary(seat.code);
        let granted = Granted {
            ticket: ticket.to_string(),
            ws_url: self.ws_url.clone(),
            room: seat.code.to_string(),
            node: self.id.clone(),
            public: room.as_ref().is_some_and(|r| r.public),
            room_players: room.as_ref().map_or(1, |r| r.players),
            room_capacity: room.as_ref().map_or(self.ctx.config.room_capacity, |r| r.capacity),
        };
        let until = Instant::now() + Duration::from_secs(HANDOFF_TICKET_SECS);
        lock(&self.tickets).insert(ticket, Ticketed { seat, watching, until });
        Ok(granted)
    }

    /// Takes the seat a ticket holds (once).
    pub(crate) fn take_ticket(&self, ticket: &str) -> Option<Placement> {
        let ticket = Ticket::parse(ticket)?;
        let held = lock(&self.tickets).remove(&ticket)?;
        if held.until <= Instant::now() {
            self.give_up(held);
            return None;
        }
        self.ctx.metrics.handoffs_in.increment(1);
        Some(if held.watching { Placement::Watching(held.seat) } else { Placement::Here(held.seat) })
    }

    fn give_up(&self, held: Ticketed) {
        self.ctx.metrics.handoff_tickets_expired.increment(1);
        if held.watching {
            self.lobby.release_spectator(held.seat.code);
        } else {
            self.lobby.release(held.seat.code);
        }
    }

    fn expire_tickets(&self) {
        let now = Instant::now();
        let expired: Vec<Ticketed> = {
            let mut tickets = lock(&self.tickets);
            let gone: Vec<Ticket> = tickets.iter().filter(|(_, t)| t.until <= now).map(|(k, _)| *k).collect();
            gone.iter().filter_map(|k| tickets.remove(k)).collect()
        };
        for held in expired {
            debug!(room = %held.seat.code, "a hand-off ticket expired unused; its seat is free again");
            self.give_up(held);
        }
    }

    /// The directory as last read, if it is fresh enough to act on.
    fn fresh_view(&self) -> Option<Arc<View>> {
        let view = Arc::clone(&lock(&self.view));
        view.read_at.is_some_and(|at| at.elapsed() < STALE_AFTER).then_some(view)
    }

    /// The other live nodes, as last read (none when the read is stale).
    fn others(&self) -> Vec<NodeRecord> {
        self.fresh_view()
            .map(|v| v.nodes.iter().filter(|n| n.id != self.id).cloned().collect())
            .unwrap_or_default()
    }

    /// Asks `node` for a seat and waits (bounded) for the answer.
    async fn request(&self, node: &str, want: Want) -> Result<Granted, PlaceError> {
        let asked = Instant::now();
        let id = self.next_request.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        lock(&self.pending).insert(id, tx);
        let envelope = Envelope::SeatRequest { id, from: self.id.clone(), want };
        let message = serde_json::to_string(&envelope).unwrap_or_default();
        let unanswered = |why: &str| PlaceError {
            code: ErrorCode::ServerFull,
            message: format!("node {node} {why}; try again in a moment"),
        };
        let result = async {
            let listeners: i64 = self
                .call(redis::cmd("PUBLISH").arg(inbox(node)).arg(message))
                .await
                .map_err(|_| unanswered("cannot be reached"))?;
            if listeners == 0 {
                return Err(unanswered("is not listening"));
            }
            match tokio::time::timeout(SEAT_REPLY_TIMEOUT, rx).await {
                Ok(Ok(Ok(granted))) => Ok(granted),
                Ok(Ok(Err(refused))) => Err(PlaceError::from(refused)),
                Ok(Err(_)) | Err(_) => Err(unanswered("did not answer in time")),
            }
        }
        .await;
        lock(&self.pending).remove(&id);
        debug!(%node, ok = result.is_ok(), took_ms = asked.elapsed().as_secs_f64() * 1000.0, "seat request answered");
        match &result {
            Ok(granted) => {
                self.ctx.metrics.handoffs_out.increment(1);
                self.note_seat(granted);
            }
            Err(_) => self.ctx.metrics.handoff_failures.increment(1),
        }
        result
    }

    /// Counts a seat another node granted in the view, so the next placements see it before the next
    /// read.
    fn note_seat(&self, granted: &Granted) {
        let mut view = lock(&self.view);
        let view = Arc::make_mut(&mut view);
        view.noted.insert(granted.node.clone(), Instant::now());
        let Some(node) = view.nodes.iter_mut().find(|n| n.id == granted.node) else { return };
        node.players += 1;
        if !granted.public {
            return;
        }
        match node.rooms.iter_mut().find(|r| r.code == granted.room) {
            Some(room) => room.players = granted.room_players,
            None => {
                node.room_count += 1;
                node.rooms.push(RoomRecord {
                    code: granted.room.clone(),
                    players: granted.room_players,
                    capacity: granted.room_capacity,
                    phase: Phase::Warmup,
                });
            }
        }
    }

    fn handoff(granted: Granted) -> Placement {
        Placement::There(Handoff {
            url: granted.ws_url,
            ticket: granted.ticket,
            room: granted.room,
            node: granted.node,
        })
    }

    /// Quick play across the cluster: the fullest public room with a free seat on any node (this node's
    /// first among equals), else a new room on the node with the fewest players for its size.
    pub(crate) async fn quick_play(&self) -> Result<Placement, PlaceError> {
        let _one_at_a_time = self.placing.lock().await;
        let draining = self.lobby.is_draining();
        // (players, remote?, node, code): fullest first, then this node's.
        let mut candidates: Vec<(u16, bool, String, String)> = Vec::new();
        if !draining {
            for r in self.lobby.public_rooms().into_iter().filter(|r| r.players < r.capacity) {
                candidates.push((r.players, false, self.id.clone(), r.code.to_string()));
            }
        }
        let others = self.others();
        for node in others.iter().filter(|n| !n.draining) {
            for r in node.rooms.iter().filter(|r| r.players < r.capacity) {
                candidates.push((r.players, true, node.id.clone(), r.code.clone()));
            }
        }
        candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, remote, node, code) in candidates.into_iter().take(QUICK_PLAY_TRIES) {
            if !remote {
                if let Ok(seat) = self.lobby.join(&code) {
                    return Ok(Placement::Here(seat));
                }
                continue;
            }
            match self.request(&node, Want::Join { code }).await {
                Ok(granted) => return Ok(Self::handoff(granted)),
                Err(err) => {
                    debug!(%node, code = ?err.code, "quick play: that room could not take the player")
                }
            }
        }
        self.create_placed(true).await
    }

    /// A new room (public for quick play, or private) on the node with the fewest players for its size:
    /// this one among equals, and never a draining one.
    pub(crate) async fn create(&self, public: bool) -> Result<Placement, PlaceError> {
        let _one_at_a_time = self.placing.lock().await;
        self.create_placed(public).await
    }

    async fn create_placed(&self, public: bool) -> Result<Placement, PlaceError> {
        let here = self.own_record();
        let mut nodes: Vec<NodeRecord> = self.others().into_iter().filter(|n| !n.draining).collect();
        nodes.sort_by(|a, b| a.load().total_cmp(&b.load()).then_with(|| a.id.cmp(&b.id)));
        let best_remote = nodes.first().filter(|n| here.draining || n.load() < here.load());
        if let Some(node) = best_remote {
            match self.request(&node.id, Want::Create { public }).await {
                Ok(granted) => return Ok(Self::handoff(granted)),
                Err(err) if here.draining => return Err(err),
                Err(err) => {
                    debug!(node = %node.id, code = ?err.code, "could not open a room there; opening it here")
                }
            }
        }
        let seat = if public { self.lobby.create_public()? } else { self.lobby.create_private()? };
        Ok(Placement::Here(seat))
    }

    /// A seat (or a spectator's place) in the room with this code, wherever it is.
    pub(crate) async fn join_code(&self, code: &str, watch: bool) -> Result<Placement, PlaceError> {
        let local = if watch { self.lobby.watch(code) } else { self.lobby.join(code) };
        // Not here: the lobby's own "not found" (the code quoted as it quotes it) unless another node
        // has the room.
        let not_found = match local {
            Ok(seat) if watch => return Ok(Placement::Watching(seat)),
            Ok(seat) => return Ok(Placement::Here(seat)),
            Err(err @ LobbyError::NotFound(_)) => PlaceError::from(err),
            Err(err) => return Err(err.into()),
        };
        let not_found = || not_found.clone();
        let parsed = RoomCode::parse(code).ok_or_else(not_found)?;
        // The owner, from the directory itself: a room opened a moment ago is not in the last read yet.
        let owner: Option<String> =
            self.call(redis::cmd("GET").arg(room_key(parsed.as_str()))).await.ok().flatten();
        let owner = owner.filter(|id| *id != self.id).ok_or_else(not_found)?;
        let code = parsed.to_string();
        let want = if watch { Want::Watch { code } } else { Want::Join { code } };
        self.request(&owner, want).await.map(Self::handoff)
    }

    /// Every public room of every live node (this one's as they are now), fullest first.
    pub(crate) fn public_rooms(&self) -> Vec<RoomListing> {
        let mut rooms: Vec<RoomListing> = self.lobby.public_rooms();
        for room in &mut rooms {
            room.node = Some(self.id.clone());
        }
        for node in self.others() {
            rooms.extend(node.rooms.iter().filter_map(|r| {
                Some(RoomListing {
                    code: RoomCode::parse(&r.code)?,
                    players: r.players,
                    capacity: r.capacity,
                    node: Some(node.id.clone()),
                })
            }));
        }
        rooms.sort_by_key(|r| std::cmp::Reverse(r.players));
        rooms
    }

    /// Every live node (this one as it is now), by id.
    pub(crate) fn nodes(&self) -> Vec<NodeRecord> {
        let here = self.own_record();
        let mut nodes = self.others();
        nodes.push(here);
        nodes.sort_by(|a, b| a.id.cmp(&b.id));
        nodes
    }

    /// Whether a page origin is a node's, live or seen in the last [`ORIGIN_MEMORY`] (so its pages may
    /// open this node's socket, also after their node drained or died).
    pub(crate) fn is_node_origin(&self, origin: &str) -> bool {
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        lock(&self.origins).get(&origin).is_some_and(|seen| seen.elapsed() < ORIGIN_MEMORY)
    }

    /// Sends an operators' notice to every node's players; how many nodes heard it.
    pub(crate) async fn announce(&self, text: &str) -> Result<i64, redis::RedisError> {
        let message = serde_json::to_string(&Announcement { text: text.to_owned(), from: self.id.clone() })
            .unwrap_or_default();
        self.call(redis::cmd("PUBLISH").arg(ANNOUNCE_CHANNEL).arg(message)).await
    }

    /// Marks this node draining and publishes it at once.
    pub(crate) fn start_draining(&self) {
        self.lobby.start_draining();
        self.poke.notify_one();
    }
}

impl LobbyHooks for Cluster {
    fn claimed_code(&self) -> Option<RoomCode> {
        let code = lock(&self.codes).pop();
        if code.is_none() {
            debug!(node = %self.id, "no claimed room code ready; using a random one");
        }
        self.poke.notify_one();
        code
    }

    fn rooms_changed(&self) {
        self.poke.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(public_url: Option<&str>) -> ClusterConfig {
        ClusterConfig {
            redis_url: "redis://127.0.0.1".into(),
            node_id: "eu-1".into(),
            public_url: public_url.map(Into::into),
            drain_timeout: Duration::from_secs(180),
        }
    }

    #[test]
    fn the_public_url_is_the_flag_or_the_listening_address() {
        let local: SocketAddr = "127.0.0.1:8081".parse().expect("addr");
        assert_eq!(public_url(&config(None), local, false), "http://127.0.0.1:8081");
        assert_eq!(public_url(&config(None), local, true), "https://127.0.0.1:8081");
        let given = config(Some("https://eu-1.example.com"));
        assert_eq!(public_url(&given, local, false), "https://eu-1.example.com");
        // Every interface: a LAN address (or loopback on a machine with none), never 0.0.0.0.
        let any: SocketAddr = "0.0.0.0:8081".parse().expect("addr");
        let derived = public_url(&config(None), any, false);
        assert!(derived.starts_with("http://") && derived.ends_with(":8081") && !derived.contains("0.0.0.0"));
    }

    #[test]
    fn refusals_become_the_players_errors() {
        let refused = Refused { code: ErrorCode::RoomFull, message: "room KQZTR is full".into() };
        assert_eq!(
            PlaceError::from(refused),
            PlaceError { code: ErrorCode::RoomFull, message: "room KQZTR is full".into() }
        );
        assert_eq!(PlaceError::from(LobbyError::Draining).code, ErrorCode::ServerFull);
    }
}
