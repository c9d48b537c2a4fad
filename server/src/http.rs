//! The HTTP front: one router, one port, for the web client, the game WebSocket and the JSON API.

use std::sync::Arc;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};
use tracing::debug;

use crate::cluster::Cluster;
use crate::connection;
use crate::connection::session::clean_text;
use crate::context::ServerContext;
use crate::limits::{ConnectionGate, Refusal, origin_allowed};
use crate::lobby::{Lobby, RoomListing, StatusRoom};
use crate::replays::recorder::valid_id;
use crate::status::Sample;
use arena_protocol::replay::FILE_EXTENSION;

/// Read buffer of each WebSocket: the most one read takes from the socket (a message may span several
/// reads). Small, because client messages are tiny and tungstenite zeroes this much before every read
/// attempt (at 4 KiB that was 2% of the server's CPU).
pub(crate) const READ_BUFFER: usize = 1024;
/// Messages a WebSocket's writer has queued are written to the socket together once they reach this
/// many bytes or when the writer flushes, which it does after each batch of what is waiting (a
/// snapshot and the events before it): one system call for the batch instead of one per message.
pub(crate) const WRITE_BATCH: usize = 8 * 1024;
/// The most a WebSocket may hold unwritten; the writer flushes after each batch, so this is far above
/// what it ever needs.
pub(crate) const MAX_WRITE_BUFFER: usize = 256 * 1024;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    /// The server-wide context.
    pub(crate) ctx: Arc<ServerContext>,
    /// The rooms.
    pub(crate) lobby: Arc<Lobby>,
    /// The node's cluster, with `--redis`.
    pub(crate) cluster: Option<Arc<Cluster>>,
    /// Connection caps.
    pub(crate) gate: Arc<ConnectionGate>,
    /// Cancelled when the server shuts down.
    pub(crate) shutdown: CancellationToken,
    /// Connection tasks, awaited (bounded) at shutdown.
    pub(crate) tasks: TaskTracker,
}

/// The server's routes: `/ws`, `/api/rooms`, `/api/replays`, `/replays/ID`, `/api/status`, `/status`,
/// `/healthz`, `/metrics`, and the web client for everything else.
pub(crate) fn router(state: AppState) -> Router {
    let web = ServeDir::new(&state.ctx.config.web).append_index_html_on_directories(true);
    Router::new()
        .route("/ws", get(upgrade))
        .route("/api/rooms", get(list_rooms))
        .route("/api/nodes", get(list_nodes))
        .route("/api/announce", axum::routing::post(announce))
        .route("/api/replays", get(list_replays))
        .route("/api/status", get(status))
        // The live server page is a screen of the web client.
        .route_service("/status", ServeFile::new(state.ctx.config.web.join("index.html")))
        .route("/replays/{id}", get(replay_file))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .fallback_service(web)
        .with_state(state)
}

async fn upgrade(
    ws: WebSocketUpgrade,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    State(state): State<AppState>,
) -> Response {
    let limits = state.gate.limits();
    let header = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    // Cross-site WebSocket hijacking: a page elsewhere must not drive a player's browser into the game.
    // In a cluster, the pages of every live node may open this node's socket: a hand-off sends a player
    // from one node's page to another node's socket.
    let from_node = |origin: Option<&str>| {
        origin.zip(state.cluster.as_ref()).is_some_and(|(origin, cluster)| cluster.is_node_origin(origin))
    };
    let origin = header(header::ORIGIN);
    if !origin_allowed(origin, header(header::HOST), &limits.allowed_origins) && !from_node(origin) {
        let origin = header(header::ORIGIN).unwrap_or_default().chars().take(100).collect::<String>();
        debug!(%peer, origin, "refused a cross-origin upgrade");
        return (StatusCode::FORBIDDEN, format!("pages at {origin} may not open this game's socket\n"))
            .into_response();
    }
    let pass = match state.gate.admit(peer.ip()) {
        Ok(pass) => pass,
        Err(refusal) => {
            let status = match refusal {
                Refusal::ServerFull(_) => StatusCode::SERVICE_UNAVAILABLE,
                Refusal::TooManyFromAddress(..) => StatusCode::TOO_MANY_REQUESTS,
            };
            return (status, format!("{refusal}\n")).into_response();
        }
    };
    // The size limits are enforced by the WebSocket layer while reading, before a large message is
    // buffered. The buffers start small (tungstenite's defaults are 128 KiB each, per connection):
    // client messages are tiny, and the writer flushes after every batch anyway.
    ws.max_message_size(limits.max_message_bytes)
        .max_frame_size(limits.max_message_bytes)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BATCH)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .on_upgrade({
            // Tracked from now, not from when the upgrade completes, so shutdown waits for it.
            let token = state.tasks.token();
            move |socket| {
                let AppState { ctx, lobby, cluster, shutdown, .. } = state;
                async move {
                    connection::serve(socket, ctx, lobby, cluster, shutdown).await;
                    drop(pass);
                    drop(token);
                }
            }
        })
}

/// What `GET /api/status` says: the server, its rooms, and its last minute, second by second.
#[derive(Debug, Serialize)]
struct Status {
    version: &'static str,
    uptime_s: f64,
    tick_rate: u16,
    snapshot_rate: u16,
    players: u32,
    rooms: Vec<StatusRoom>,
    /// One sample a second, oldest first (at most a minute).
    history: Vec<Sample>,
}

/// The live server page's figures; with `--status-token`, only for `Authorization: Bearer TOKEN`.
async fn status(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let ctx = &state.ctx;
    if let Some(token) = &ctx.config.status_token
        && !bearer_matches(&headers, token)
    {
        let message = "this server's status page needs its token: open /status?token=SECRET\n";
        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], message).into_response();
    }
    let (rooms, players) = state.lobby.status_rooms();
    let status = Status {
        version: env!("CARGO_PKG_VERSION"),
        uptime_s: ctx.uptime().as_secs_f64(),
        tick_rate: ctx.config.tick_rate,
        snapshot_rate: ctx.config.snapshot_rate,
        players,
        rooms,
        history: ctx.status.history(),
    };
    ([(header::CACHE_CONTROL, "no-store")], Json(status)).into_response()
}

/// Compares two secrets in time that depends on their lengths only, not on where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.ctx.metrics.render())
}

/// The public replays, newest first; 404 when the server records none.
async fn list_replays(State(state): State<AppState>) -> Response {
    match &state.ctx.replays {
        Some(store) => Json(store.public()).into_response(),
        None => (StatusCode::NOT_FOUND, "this server does not record replays (it runs with --replays off)\n")
            .into_response(),
    }
}

/// A replay file, by id. Files never change once saved, so they may be cached for good.
async fn replay_file(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: axum::extract::Request,
) -> Response {
    let id = id.strip_suffix(&format!(".{FILE_EXTENSION}")).unwrap_or(&id);
    let path = state.ctx.replays.as_ref().filter(|_| valid_id(id)).and_then(|store| store.path_of(id));
    let Some(path) = path else {
        let id: String = id.chars().take(64).collect();
        return (StatusCode::NOT_FOUND, format!("no replay {id:?} on this server (it may have been removed to keep within the replay limits)\n"))
            .into_response();
    };
    // An unknown extension: served as application/octet-stream, with ranges and conditional requests.
    match ServeFile::new(path).oneshot(request).await {
        Ok(mut response) => {
            if response.status().is_success() {
                response.headers_mut().insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                );
            }
            response.into_response()
        }
        Err(never) => match never {},
    }
}

/// The public rooms, fullest first: in a cluster, every live node's, each with its node.
async fn list_rooms(State(state): State<AppState>) -> Json<Vec<RoomListing>> {
    match &state.cluster {
        Some(cluster) => Json(cluster.public_rooms()),
        None => Json(state.lobby.public_rooms()),
    }
}

/// A node as `GET /api/nodes` lists it.
#[derive(Debug, Serialize)]
struct NodeListing {
    id: String,
    url: String,
    ws_url: String,
    players: u32,
    rooms: u32,
    capacity: u32,
    /// Players per place, 0 to 1.
    load: f64,
    draining: bool,
    version: String,
}

/// The live nodes of the cluster with their load (this one included); empty for a single server.
async fn list_nodes(State(state): State<AppState>) -> Response {
    let nodes: Vec<NodeListing> = match &state.cluster {
        Some(cluster) => cluster
            .nodes()
            .into_iter()
            .map(|n| NodeListing {
                load: n.load(),
                id: n.id,
                url: n.url,
                ws_url: n.ws_url,
                players: n.players,
                rooms: n.room_count,
                capacity: n.capacity,
                draining: n.draining,
                version: n.version,
            })
            .collect(),
        None => Vec::new(),
    };
    ([(header::CACHE_CONTROL, "no-store")], Json(nodes)).into_response()
}

/// What `POST /api/announce` takes.
#[derive(Debug, serde::Deserialize)]
struct AnnounceBody {
    text: String,
}

/// `POST /api/announce {"text": "..."}` with `Authorization: Bearer ADMIN_TOKEN`: a notice to every
/// player on every node (this node's only, without a cluster). Off (404) without `--admin-token`.
async fn announce(State(state): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let Some(token) = &state.ctx.config.admin_token else {
        return (
            StatusCode::NOT_FOUND,
            "announcements are off: start the server with --admin-token SECRET\n",
        )
            .into_response();
    };
    if !bearer_matches(&headers, token) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "this needs Authorization: Bearer ADMIN_TOKEN\n",
        )
            .into_response();
    }
    let body: AnnounceBody = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(err) => {
            return (StatusCode::BAD_REQUEST, format!("expected {{\"text\": \"...\"}}: {err}\n"))
                .into_response();
        }
    };
    let text = match clean_text(&body.text, arena_protocol::MAX_NOTICE_CHARS, "the notice") {
        Ok(text) => text,
        Err(problem) => return (StatusCode::BAD_REQUEST, format!("{problem}\n")).into_response(),
    };
    let text = text.as_str();
    match &state.cluster {
        Some(cluster) => match cluster.announce(text).await {
            Ok(nodes) => Json(serde_json::json!({ "nodes": nodes })).into_response(),
            Err(err) => {
                // Redis is away: this node's players hear it at least.
                let rooms = state.lobby.announce(&std::sync::Arc::from(text));
                let message = format!("Redis is out of reach ({err}); told this node's {rooms} rooms only\n");
                (StatusCode::SERVICE_UNAVAILABLE, message).into_response()
            }
        },
        None => {
            state.lobby.announce(&std::sync::Arc::from(text));
            Json(serde_json::json!({ "nodes": 1 })).into_response()
        }
    }
}

/// Whether the request carries `Authorization: Bearer TOKEN` with this token.
fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .and_then(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer").then_some(token.trim()));
    given.is_some_and(|given| same_secret(given.as_bytes(), token.as_bytes()))
}
