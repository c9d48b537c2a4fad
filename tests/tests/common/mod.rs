//! What the end-to-end tests share: an in-process server, reading snapshots for a while, an honest
//! player to prove that one client's misbehaviour costs the others nothing, and `/metrics` look-ups.

#![allow(dead_code, unreachable_pub, reason = "each test file uses some of these helpers")]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use arena_protocol::{ClientMsg, ErrorCode, Input, ServerMsg, Snapshot};
use arena_tests::client::{Client, ClientError};
use arena_tests::http;
pub use arena_tests::server::TestServer;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The default snapshot rate.
pub const SNAPSHOT_RATE: f64 = 30.0;

/// The share of its snapshots an honest player must get while another client misbehaves.
pub const HONEST_SHARE: f64 = 0.95;

/// Starts an in-process server with these flags.
pub fn server(flags: &[&str]) -> TestServer {
    TestServer::start(flags).expect("start the server")
}

/// Receives for `span`, keeping the snapshots with their arrival times. Fails on errors or a close.
pub async fn snapshots_for(client: &mut Client, span: Duration) -> Vec<(Instant, Snapshot)> {
    let deadline = Instant::now() + span;
    let mut out = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match client.recv_timeout(left).await {
            Ok(Some(ServerMsg::Snapshot(_))) => {
                out.push((Instant::now(), client.snapshot().cloned().expect("a decoded snapshot")));
            }
            Ok(Some(ServerMsg::Error { code, message })) => panic!("server error {code}: {message}"),
            Ok(Some(_)) => {}
            Ok(None) => panic!("connection closed: {:?}", client.close_reason),
            Err(ClientError::Timeout(_)) => break,
            Err(err) => panic!("{err}"),
        }
    }
    out
}

/// The next snapshot.
pub async fn next_snapshot(client: &mut Client) -> Snapshot {
    client.next_snapshot().await.expect("a snapshot")
}

/// The ids of the ships in a snapshot, sorted.
pub fn ship_ids(snapshot: &Snapshot) -> Vec<u32> {
    let mut ids: Vec<u32> = snapshot.ships.iter().map(|s| s.id).collect();
    ids.sort_unstable();
    ids
}

/// Reads until the server closes, returning the last error message and the close reason.
pub async fn read_until_closed(client: &mut Client) -> (Option<(ErrorCode, String)>, Option<String>) {
    client.read_until_closed().await.expect("the server closes the connection")
}

/// Reads until the server closes; the last error code and the close reason.
pub async fn drain(client: &mut Client) -> (Option<ErrorCode>, Option<String>) {
    let (error, reason) = read_until_closed(client).await;
    (error.map(|(code, _)| code), reason)
}

/// An honest player in a private room, sending an input per snapshot and counting snapshots for `span`;
/// resolves to delivered / expected at `rate` snapshots per second.
pub fn honest_player(url: String, span: Duration, rate: f64) -> JoinHandle<f64> {
    tokio::spawn(async move {
        let (mut c, _, _) = Client::join(&url, "honest", &ClientMsg::CreateRoom).await.expect("honest joins");
        let start = Instant::now();
        let mut snapshots = 0u32;
        let mut seq = 0;
        while start.elapsed() < span {
            seq += 1;
            c.send(&ClientMsg::Input(Input {
                seq,
                movement: [0.0, 0.0],
                aim: 0.0,
                buttons: 0,
                view_tick: None,
            }))
            .await
            .expect("send");
            match c.recv_timeout(Duration::from_millis(100)).await {
                Ok(Some(ServerMsg::Snapshot(_))) => snapshots += 1,
                Ok(Some(_)) | Err(ClientError::Timeout(_)) => {}
                other => panic!("the honest player was hurt: {other:?}"),
            }
        }
        f64::from(snapshots) / (span.as_secs_f64() * rate)
    })
}

/// Waits for an honest player and checks it kept its share of snapshots.
pub async fn assert_honest_kept_up(honest: JoinHandle<f64>) {
    let kept = honest.await.expect("honest player");
    assert!(kept >= HONEST_SHARE, "the honest player kept {:.1}% of its snapshots", kept * 100.0);
}

/// The server still takes new players.
pub async fn assert_serving(srv: &TestServer) {
    Client::join(&srv.ws_url(), "after", &ClientMsg::QuickPlay)
        .await
        .expect("the server still takes players");
}

/// The value of one sample in `/metrics` (`name` with its labels, e.g. `arena_rooms` or
/// `arena_disconnects_total{reason="idle"}`); `None` if it is not there.
pub async fn metric(addr: SocketAddr, name: &str) -> Option<f64> {
    let body = http::get(addr, "/metrics").await.expect("GET /metrics").body;
    body.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Waits (at most 10 s) until the sample `name` reads `want`; fails with the last value otherwise.
pub async fn wait_for_metric(addr: SocketAddr, name: &str, want: f64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let value = metric(addr, name).await;
        if value == Some(want) {
            return;
        }
        assert!(Instant::now() < deadline, "{name} is {value:?}, expected {want}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A folder of its own under the system's temporary folder, emptied first.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("arena-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

/// The shipped game data with a match of `length` seconds and 2 s of results.
pub fn assets_with_match_length(length: f64) -> PathBuf {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets");
    let dir = scratch("assets");
    std::fs::create_dir_all(dir.join("maps")).expect("maps");
    for entry in std::fs::read_dir(repo.join("maps")).expect("maps") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, dir.join("maps").join(path.file_name().expect("name"))).expect("copy map");
    }
    let tuning = std::fs::read_to_string(repo.join("tuning.toml")).expect("tuning");
    let tuning = tuning
        .lines()
        .map(|line| match line.split_once(" = ") {
            Some(("length", _)) => format!("length = {length:.1}"),
            Some(("results", _)) => "results = 2.0".to_owned(),
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.join("tuning.toml"), tuning).expect("tuning");
    dir
}
