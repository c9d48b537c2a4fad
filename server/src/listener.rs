//! The accept loop: TCP connections in, TLS if configured, HTTP/1.1 (with WebSocket upgrades) served on
//! each, under a handshake timeout.
//!
//! The server runs its own loop rather than `axum::serve` for one reason: a TCP connection that never
//! finishes sending its HTTP request (a scanner, or an attacker holding sockets open) must be closed
//! after a few seconds, and that needs hyper's header-read timeout, which `axum::serve` does not set.
//! Upgraded WebSockets leave hyper's hands, so they are not subject to it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;
use tracing::{debug, warn};

/// The kernel send buffer of each client socket. Setting it fixes its size (no autotuning), which bounds
/// the memory a client that does not read can pin in the kernel, and makes such a client show up as a
/// stalled writer (and be dropped) within seconds rather than minutes. 32 KiB (Linux doubles it) is
/// still far more than a few snapshots, and at 100 ms RTT carries over 300 KB/s.
pub(crate) const SOCKET_SEND_BUFFER: usize = 32 * 1024;

/// Serves `app` on `listener` until `stop` is cancelled; then stops accepting and lets each HTTP
/// connection finish its request. HTTP connections are tracked on `tasks`.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    handshake_timeout: Duration,
    stop: CancellationToken,
    tasks: TaskTracker,
) {
    let app = Arc::new(app);
    let mut backoff = Duration::from_millis(10);
    loop {
        let (tcp, peer) = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => {
                    backoff = Duration::from_millis(10);
                    accepted
                }
                Err(err) => {
                    // Out of file descriptors, usually: wait a little instead of spinning.
                    warn!(%err, backoff_ms = backoff.as_millis() as u64, "accept failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                    continue;
                }
            },
        };
        tune(&tcp);
        let (app, stop) = (Arc::clone(&app), stop.clone());
        match &tls {
            None => tasks.spawn(serve_connection(tcp, peer, app, handshake_timeout, stop)),
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                tasks.spawn(async move {
                    // The TLS handshake is part of the handshake the timeout bounds.
                    let handshake = tokio::select! {
                        () = stop.cancelled() => return,
                        handshake = tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)) => handshake,
                    };
                    match handshake {
                        Ok(Ok(stream)) => serve_connection(stream, peer, app, handshake_timeout, stop).await,
                        Ok(Err(err)) => debug!(%peer, %err, "TLS handshake failed"),
                        Err(_) => debug!(%peer, "TLS handshake timed out"),
                    }
                })
            }
        };
    }
}

fn tune(tcp: &TcpStream) {
    // Game traffic is many small messages: send each now rather than waiting to batch (Nagle).
    if let Err(err) = tcp.set_nodelay(true) {
        warn!(%err, "could not set TCP_NODELAY");
    }
    if let Err(err) = socket2::SockRef::from(tcp).set_send_buffer_size(SOCKET_SEND_BUFFER) {
        warn!(%err, "could not set the socket send buffer");
    }
}

/// The most one HTTP connection may buffer of a request (headers and all); game requests are tiny.
pub(crate) const MAX_HTTP_BUFFER: usize = 16 * 1024;

/// The longest a plain HTTP connection (not upgraded to a WebSocket) may stay open.
pub(crate) const MAX_HTTP_CONNECTION: Duration = Duration::from_secs(60);

async fn serve_connection<I>(
    io: I,
    peer: SocketAddr,
    app: Arc<Router>,
    handshake_timeout: Duration,
    stop: CancellationToken,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        Router::clone(&app).oneshot(request)
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(handshake_timeout).max_buf_size(MAX_HTTP_BUFFER);
    let connection = http.serve_connection(TokioIo::new(io), service).with_upgrades();
    tokio::pin!(connection);
    tokio::select! {
        // A connection ends at its WebSocket upgrade (the socket moves on), so this bound only applies to
        // plain HTTP: a client that asks for a page and never reads it cannot hold the socket forever.
        result = tokio::time::timeout(MAX_HTTP_CONNECTION, connection.as_mut()) => match result {
            Ok(Err(err)) => debug!(%peer, %err, "HTTP connection ended with an error"),
            Err(_) => debug!(%peer, "HTTP connection open too long; closed"),
            Ok(Ok(())) => {}
        },
        () = stop.cancelled() => {
            connection.as_mut().graceful_shutdown();
            // Idle keep-alive connections close at once; one mid-request gets a second, then is dropped.
            if tokio::time::timeout(Duration::from_secs(1), connection).await.is_err() {
                debug!(%peer, "HTTP connection still busy at shutdown; closed");
            }
        }
    }
}
