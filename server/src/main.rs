//! The `arena-server` binary: parses flags, sets up logging, binds the port, prints where to play, and
//! runs the server until Ctrl-C or SIGTERM.

use std::net::{IpAddr, SocketAddr};

use anyhow::Context;
use arena_server::{Args, Config};
use clap::{CommandFactory, Parser};
use tracing_subscriber::EnvFilter;

/// A room that panics is caught, logged with its code and closed by the lobby; the others play on. The
/// default panic hook would first print a backtrace when `RUST_BACKTRACE` is set, and symbolizing it holds
/// the thread (hundreds of milliseconds were seen): on a game loop thread that stalls every room on it.
/// There, log where it happened instead; elsewhere, keep the default.
fn quiet_panics_on_game_loops() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        match thread.name() {
            Some(name) if name.starts_with(arena_server::game_loop::THREAD_NAME_PREFIX) => {
                let at = info.location().map(ToString::to_string).unwrap_or_default();
                tracing::error!(thread = name, at, "panic on a game loop thread (no backtrace there)");
            }
            _ => default(info),
        }
    }));
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .init();
    quiet_panics_on_game_loops();

    let config = match Config::from_args(&args, rand::random()) {
        Ok(config) => config,
        Err(err) => Args::command().error(clap::error::ErrorKind::ArgumentConflict, err).exit(),
    };
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let addr = listener.local_addr().context("no local address")?;
    tracing::info!(
        tick_rate = config.tick_rate,
        snapshot_rate = config.snapshot_rate,
        room_capacity = config.room_capacity,
        seed = config.seed,
        "starting"
    );
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    let mut server = arena_server::Server::new(config)?;
    server.join_cluster(addr).await?;
    print_addresses(addr, scheme);
    if let Some((id, url)) = server.node() {
        println!("  cluster node {id}, reached at {url}/");
    }
    let mut signals = Signals::new();
    // In a cluster the first signal drains the node (its matches end, it takes no one new); a second
    // one, or --drain-timeout, stops it at once. A single server stops at once.
    let drainer = server.drainer();
    let shutdown = async move {
        signals.next().await;
        if let Some(drainer) = drainer {
            tracing::info!(timeout = ?drainer.timeout(), "draining: no new rooms or players; waiting for running matches to end (signal again to stop now)");
            tokio::select! {
                () = drainer.drain() => {}
                () = signals.next() => tracing::info!("second signal: stopping now"),
            }
        }
    };
    server.serve(listener, shutdown).await;
    Ok(())
}

/// Prints the addresses to open in a browser: this machine's, and each LAN address when listening on
/// every interface. The first line is stable (`arena-server listening on http://HOST:PORT/`, or `https://`) for
/// scripts and tests to read.
fn print_addresses(addr: SocketAddr, scheme: &str) {
    let port = addr.port();
    let local = if addr.ip().is_unspecified() { IpAddr::from([127, 0, 0, 1]) } else { addr.ip() };
    println!("arena-server listening on {scheme}://{}/", SocketAddr::new(local, port));
    if addr.ip().is_unspecified() {
        println!("  open on this machine:  {scheme}://localhost:{port}/");
        let lan = if_addrs::get_if_addrs().unwrap_or_default();
        for iface in lan.iter().filter(|i| !i.is_loopback() && i.ip().is_ipv4()) {
            println!(
                "  friends on your LAN:   {scheme}://{}/  ({})",
                SocketAddr::new(iface.ip(), port),
                iface.name
            );
        }
    }
}

/// Ctrl-C and SIGTERM, listened for once for the whole run (so a second signal is not missed).
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Self {
        Self {
            #[cfg(unix)]
            term: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok(),
        }
    }

    /// Completes on the next Ctrl-C or SIGTERM.
    async fn next(&mut self) {
        let ctrl_c = async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        #[cfg(unix)]
        let term = async {
            match &mut self.term {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {}
            () = term => {}
        }
    }
}
