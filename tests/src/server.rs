//! Starts the real `arena-server` binary as a child process on an ephemeral port, for end-to-end tests
//! and the benchmark. The child is killed when the handle is dropped.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running server.
#[derive(Debug)]
pub struct TestServer {
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
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/deps/<test> or target/<profile>/<bin>
    let mut dir = exe.parent().map(PathBuf::from).unwrap_or_default();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("arena-server")
}

impl TestServer {
    /// Starts the server on `127.0.0.1:0` with extra flags and waits until it listens.
    pub fn start(args: &[&str]) -> std::io::Result<Self> {
        Self::start_with(&server_binary(), args)
    }

    /// [`TestServer::start`] with extra environment variables.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> std::io::Result<Self> {
        Self::launch(&server_binary(), args, env)
    }

    /// [`TestServer::start`] with a given server binary.
    pub fn start_with(bin: &std::path::Path, args: &[&str]) -> std::io::Result<Self> {
        Self::launch(bin, args, &[])
    }

    fn launch(bin: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> std::io::Result<Self> {
        if !bin.exists() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{} not found: run `cargo build -p arena-server` first", bin.display()),
            ));
        }
        let mut child = Command::new(bin)
            .args(["--addr", "127.0.0.1:0", "--seed", "1"])
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

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
