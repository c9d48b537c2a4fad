//! One client connection: a [`reader`] that turns frames into protocol messages under the client's
//! limits, a [`session`] that acts on them (what a client may do, and when), and a [`writer`] task that
//! drains the connection's [`Outbox`]. When either half ends, the other is stopped; then the writer
//! says goodbye while the reader discards what still comes.
//!
//! The connection never touches a room's world: the session reserves seats in the
//! [`Lobby`](crate::lobby::Lobby), hands the room a join request, and then `try_send`s inputs over the
//! player's bounded channel. Anything wrong with what the client sends ends in an `error` message and a
//! close frame naming the error code, for this client only.
//!
//! # Layout
//! - [`reader`]: [`reader::Reader::recv`] → `Result<Option<ClientMsg>, ReadError>`.
//! - [`session`]: the conversation (hello, rooms, inputs, pings, leaving, reconnecting).
//! - [`writer`]: the outbox into the socket, in order, batched; the goodbye.

pub(crate) mod reader;
pub(crate) mod session;
pub(crate) mod writer;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::WebSocket;
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::cluster::Cluster;
use crate::context::ServerContext;
use crate::lobby::Lobby;
use crate::metrics::Disconnect;
use crate::outbox::Outbox;
use reader::Reader;
use session::Session;
use writer::{WriterMetrics, write_loop};

/// How long the writer may take to deliver a final error and close frame before the socket is dropped
/// (plus the link conditioner's delay, when it is on).
pub(crate) const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Serves one upgraded WebSocket until either side closes it or the server shuts down.
pub(crate) async fn serve(
    socket: WebSocket,
    ctx: Arc<ServerContext>,
    lobby: Arc<Lobby>,
    cluster: Option<Arc<Cluster>>,
    shutdown: CancellationToken,
) {
    let metrics = Arc::clone(&ctx.metrics);
    metrics.connections.increment(1.0);
    let (outbox, outbox_rx) = Outbox::new();
    let outbox = Arc::new(outbox);
    let (sink, stream) = socket.split();
    // With the link conditioner on, both halves go through its delay lines; the rest is the same.
    let (sink, stream) = ctx.config.link.condition(sink, stream);
    let ping_every = ctx.config.limits.idle_timeout / 3;
    // A conditioned link holds the goodbye in its delay line too.
    let close_timeout = CLOSE_TIMEOUT + ctx.config.link.max_delay();
    let writer = tokio::spawn(write_loop(
        sink,
        outbox_rx,
        Arc::clone(&outbox),
        WriterMetrics::new(&metrics),
        ping_every,
        close_timeout,
    ));
    let mut reader = Reader::new(stream, Arc::clone(&outbox), ctx.config.limits.clone(), &metrics, shutdown);
    let mut session = Session::new(ctx, lobby, cluster, Arc::clone(&outbox));
    let ended = loop {
        match reader.recv(session.hello_due()).await {
            // Finding a room may ask another node: meanwhile this client's messages wait in the socket.
            Ok(Some(msg)) if session.needs_cluster(&msg) => session.place(msg).await,
            Ok(Some(msg)) => session.handle(msg),
            Ok(None) => break None,
            Err(err) => break Some(err),
        }
    };
    match ended.as_ref().and_then(|err| err.code().map(|code| (code, err))) {
        Some((code, err)) => outbox.close(code, err.to_string()),
        None => outbox.close_quietly(),
    }
    session.finish();
    // Counted as soon as the reason is known, before the goodbye.
    metrics.disconnected(match outbox.close_reason() {
        Some((code, _)) => Disconnect::Error(code),
        None => Disconnect::Closed,
    });
    let goodbye = async {
        let (written, ()) = tokio::join!(writer, reader.drain());
        if let Err(err) = written {
            debug!(%err, "writer task failed");
        }
    };
    let _ = tokio::time::timeout(close_timeout, goodbye).await;
    metrics.connections.decrement(1.0);
}
