//! The HTTP front: one router, one port, for the web client, the game WebSocket and the JSON API.

use std::sync::Arc;

use arena_protocol::MAX_CLIENT_MESSAGE_BYTES;
use axum::Router;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::services::ServeDir;

use crate::connection;
use crate::lobby::{Lobby, RoomListing};

/// Initial read buffer of each WebSocket (it grows to a message's size when needed).
pub const READ_BUFFER: usize = 4 * 1024;
/// The most a WebSocket may hold unwritten; the writer sends one message at a time, so this is far
/// above what it ever needs.
pub const MAX_WRITE_BUFFER: usize = 256 * 1024;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The rooms.
    pub lobby: Arc<Lobby>,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
    /// Connection tasks, awaited (bounded) at shutdown.
    pub tasks: TaskTracker,
}

/// The server's routes: `/ws`, `/api/rooms`, `/healthz`, `/metrics`, and the web client for everything
/// else.
pub fn router(state: AppState) -> Router {
    let web = ServeDir::new(&state.lobby.config().web).append_index_html_on_directories(true);
    Router::new()
        .route("/ws", get(upgrade))
        .route("/api/rooms", get(list_rooms))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .fallback_service(web)
        .with_state(state)
}

async fn upgrade(ws: WebSocketUpgrade, State(state): State<AppState>) -> impl IntoResponse {
    // The size limits are enforced by the WebSocket layer while reading, before a large message is
    // buffered. The buffers start small (tungstenite's defaults are 128 KiB each, per connection):
    // client messages are tiny, and every outgoing message is flushed at once anyway.
    ws.max_message_size(MAX_CLIENT_MESSAGE_BYTES)
        .max_frame_size(MAX_CLIENT_MESSAGE_BYTES)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .on_upgrade(move |socket| {
            let AppState { lobby, shutdown, tasks } = state;
            tasks.track_future(connection::serve(socket, lobby, shutdown))
        })
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.lobby.metrics().render())
}

async fn list_rooms(State(state): State<AppState>) -> Json<Vec<RoomListing>> {
    Json(state.lobby.public_rooms())
}
