//! Servers to test against, on an ephemeral loopback port.
//!
//! - [`TestServer`] runs the server library in this process (`arena_server::Server` on a runtime of its
//!   own), parsing the same flags as the binary: what the end-to-end tests use. It needs no prior build
//!   and stops when dropped.
//! - [`ServerProcess`] starts the real `arena-server` binary as a child: for the benchmark (which pins
//!   and measures the process) and for what only a process shows (signals, exit codes, RSS). The child
//!   is killed when the handle is dropped.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use arena_server::{Args, Config, Server};
use clap::Parser;
use tokio_util::sync::CancellationToken;

/// Worker threads of an in-process server's I/O runtime: two, as on the machines it is tested on, so a
/// test's own client tasks never share a thread with the server's.
const TEST_SERVER_WORKERS: usize = 2;

/// A server running in this process. Dropping it shuts the server down (in the background).
#[derive(Debug)]
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: CancellationToken,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server on `127.0.0.1:0` with `--seed 1` and the given flags (as `arena-server` takes
    /// them; `--replays off` unless they say otherwise), and returns once it listens.
    pub fn start(flags: &[&str]) -> anyhow::Result<Self> {
        let mut argv: Vec<&str> = vec!["arena-server", "--addr", "127.0.0.1:0", "--seed", "1"];
        if !names_replays(flags) {
            argv.extend(REPLAYS_OFF);
        }
        argv.extend(flags);
        let args = Args::try_parse_from(argv)?;
        let config = Config::from_args(&args, 1)?;
        let listener = std::net::TcpListener::bind(args.addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let server = Server::new(config)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(TEST_SERVER_WORKERS)
            .thread_name("test-server")
            .enable_all()
            .build()?;
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let thread = std::thread::Builder::new().name("test-server-main".into()).spawn(move || {
            runtime.block_on(async move {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => server.serve(listener, stopped.cancelled_owned()).await,
                    Err(err) => eprintln!("test server could not take its listener: {err}"),
                }
            });
        })?;
        Ok(Self { addr, stop, thread: Some(thread) })
    }

    /// The game WebSocket URL.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Shuts the server down as Ctrl-C would and waits until it has finished (every connection told
    /// `shutting_down` and closed, or given up on after the server's grace).
    pub async fn shut_down(mut self) {
        self.stop.cancel();
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Not joined: a test's own client tasks may still need its runtime to read their goodbyes.
        self.stop.cancel();
    }
}

/// What test servers get unless their flags name a replay folder: a test's matches are not kept in the
/// checkout.
const REPLAYS_OFF: [&str; 2] = ["--replays", "off"];

/// Whether `flags` say where replays go.
fn names_replays(flags: &[&str]) -> bool {
    flags.iter().any(|f| *f == "--replays" || f.starts_with("--replays="))
}

/// A running `arena-server` process.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

/// The server binary: `$ARENA_SERVER_BIN`, or `arena-server` beside the running test's target folder
/// (build it first with `cargo build -p arena-server`; the test command does).
pub fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("ARENA_SERVER_BIN") {
        return path.into();
    }
    sibling_binary("arena-server")
}

/// A binary of this workspace beside the running test's target folder (`cargo build --bins` first).
pub fn sibling_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/deps/<test> or target/<profile>/<bin>
    let mut dir = exe.parent().map(PathBuf::from).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join(name)
}

impl ServerProcess {
    /// Starts `bin` on `127.0.0.1:0` with `--seed 1` and extra flags (`--replays off` unless they say
    /// otherwise), and waits until it listens.
    pub fn start_with(bin: &std::path::Path, args: &[&str]) -> std::io::Result<Self> {
        Self::start_with_env(bin, args, &[])
    }

    /// [`ServerProcess::start_with`] with extra environment variables.
    pub fn start_with_env(
        bin: &std::path::Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> std::io::Result<Self> {
        if !bin.exists() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} not found: run `cargo build -p arena-server` first", bin.display()),
            ));
        }
        let mut child = Command::new(bin)
            .args(["--addr", "127.0.0.1:0", "--seed", "1"])
            .args(if names_replays(args) { &[][..] } else { &REPLAYS_OFF[..] })
            .args(args)
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().ok_or_else(|| std::io::Error::other("no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().transpose()?.unwrap_or_default();
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        let addr = first
            .strip_prefix("arena-server listening on http://")
            .or_else(|| first.strip_prefix("arena-server listening on https://"))
            .and_then(|rest| rest.trim_end_matches('/').parse().ok());
        match addr {
            Some(addr) => Ok(Self { child, addr }),
            None => {
                let _ = child.kill();
                let status = child.wait()?;
                Err(std::io::Error::other(format!("server did not start ({status}); first line: {first:?}")))
            }
        }
    }

    /// The game WebSocket URL.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// The server's resident memory, bytes (Linux).
    pub fn rss_bytes(&self) -> Option<u64> {
        crate::bench::rss_bytes(self.child.id())
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends SIGTERM and waits (at most `limit`) for the process to exit; returns whether it did.
    pub fn terminate(&mut self, limit: Duration) -> bool {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
