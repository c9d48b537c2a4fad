//! A cluster to test against: a real `redis-server` on a free port, and `arena-server` nodes joined to
//! it, each a child process (a node is killed with SIGKILL, drained with SIGTERM: only a process shows
//! that).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::server::{ServerProcess, server_binary};

/// How long a `redis-server` may take to answer its first PING.
const REDIS_START: Duration = Duration::from_secs(10);

/// The `redis-server` binary: `$ARENA_REDIS_SERVER`, or `redis-server` on the PATH (Debian's package:
/// the test command installs it when missing).
pub fn redis_binary() -> PathBuf {
    std::env::var_os("ARENA_REDIS_SERVER").map_or_else(|| PathBuf::from("redis-server"), PathBuf::from)
}

/// A free TCP port on loopback (bound and released: free when this returns).
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A running `redis-server` with no persistence, on loopback.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    /// Its port.
    pub port: u16,
}

impl RedisServer {
    /// Starts one on a free port and waits until it answers.
    pub fn start() -> std::io::Result<Self> {
        Self::start_on(free_port()?)
    }

    /// Starts one on `port` (again, after [`RedisServer::stop`]) and waits until it answers.
    pub fn start_on(port: u16) -> std::io::Result<Self> {
        let child = Command::new(redis_binary())
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("cannot start redis-server ({e}): install Debian's redis-server package (tests/all.sh does)"),
                )
            })?;
        let redis = Self { child: Some(child), port };
        let deadline = Instant::now() + REDIS_START;
        while Instant::now() < deadline {
            if redis.ping() {
                return Ok(redis);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(std::io::Error::other(format!(
            "redis-server on port {port} did not answer PING in {REDIS_START:?}"
        )))
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Whether it answers PING now.
    pub fn ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else { return false };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }

    /// Kills it (SIGKILL: what a crash or a lost machine looks like to its clients).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A node of a test cluster.
#[derive(Debug)]
pub struct Node {
    /// Its `--node-id`.
    pub id: String,
    /// The process.
    pub process: ServerProcess,
}

impl Node {
    /// Starts the server binary as node `id` of the cluster at `redis`, with more flags.
    pub fn start(redis: &RedisServer, id: &str, flags: &[&str]) -> std::io::Result<Self> {
        let url = redis.url();
        let mut args = vec!["--redis", url.as_str(), "--node-id", id];
        args.extend_from_slice(flags);
        let process = ServerProcess::start_with(&server_binary(), &args)?;
        Ok(Self { id: id.to_owned(), process })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.process.addr
    }

    /// Its game WebSocket.
    pub fn ws_url(&self) -> String {
        self.process.ws_url()
    }
}

/// Starts `count` nodes `n1`, `n2`, ... of the cluster at `redis`, each with `flags`.
pub fn start_nodes(redis: &RedisServer, count: usize, flags: &[&str]) -> std::io::Result<Vec<Node>> {
    (1..=count).map(|i| Node::start(redis, &format!("n{i}"), flags)).collect()
}
