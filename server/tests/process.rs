//! What only the `arena-server` process shows: its flags and exit codes, SIGTERM (a match in progress is
//! saved whole), a panicking room under the binary's panic hook, and resident memory over many
//! connections. Cargo builds the binary for
//! these tests (`CARGO_BIN_EXE_arena-server`); everything else is tested in-process (`tests/`).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use arena_protocol::{ClientMsg, ErrorCode, Input, ServerMsg};
use arena_tests::client::{Client, ClientError};
use arena_tests::http;
use arena_tests::server::ServerProcess;
use tokio::time::Instant;

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_arena-server"))
}

fn process(flags: &[&str]) -> ServerProcess {
    ServerProcess::start_with(&binary(), flags).expect("start arena-server")
}

#[test]
fn help_explains_every_flag_and_bad_flags_exit_with_a_usage_error() {
    let help = Command::new(binary()).arg("--help").output().expect("run --help");
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    for flag in ["--addr", "--tick-rate", "--snapshot-rate", "--reconnect-grace", "--game-threads", "--seed"]
    {
        assert!(text.contains(flag), "{flag} missing from --help:\n{text}");
    }
    for (flags, says) in [
        (&["--tick-rate", "0"][..], "--tick-rate"),
        (&["--tick-rate", "30", "--snapshot-rate", "31"][..], "--snapshot-rate 31 is above --tick-rate 30"),
        (&["--no-such-flag"][..], "--no-such-flag"),
    ] {
        let out = Command::new(binary()).args(flags).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{flags:?} is a usage error");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{flags:?}: {stderr}");
    }
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let out = Command::new(binary()).args(["--addr", &addr]).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("cannot listen on {addr}")), "{stderr}");
}

#[tokio::test]
async fn sigterm_tells_clients_and_exits_quickly() {
    let mut srv = process(&[]);
    let (mut a, _, _) = Client::join(&srv.ws_url(), "a", &ClientMsg::QuickPlay).await.expect("join");
    a.next_snapshot().await.expect("a snapshot");
    let started = std::time::Instant::now();
    let reader = tokio::spawn(async move { a.read_until_closed().await.expect("closed") });
    let exited =
        tokio::task::spawn_blocking(move || srv.terminate(Duration::from_secs(5))).await.expect("join");
    assert!(exited, "server still running 5 s after SIGTERM");
    let (error, reason) = reader.await.expect("reader");
    assert_eq!(error.map(|e| e.0), Some(ErrorCode::ShuttingDown));
    assert_eq!(reason.as_deref(), Some("shutting_down"));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_panicking_room_closes_alone() {
    // Backtraces on, as many run: symbolizing one holds its thread (hundreds of milliseconds were seen on
    // this machine), so the server keeps them off game loop threads, where the honest player's room
    // shares the thread with the panicking one.
    let env = [("ARENA_TEST_PANIC_ON_JOIN", "boom"), ("RUST_BACKTRACE", "1")];
    let mut srv = ServerProcess::start_with_env(&binary(), &[], &env).expect("start");
    // The honest player is seated before the panicking room opens (there is one game loop thread: the two
    // rooms share it), and counts its snapshots for 3 s, reading all the while.
    let (mut honest, _, _) =
        Client::join(&srv.ws_url(), "honest", &ClientMsg::CreateRoom).await.expect("join");
    let honest = tokio::spawn(async move {
        let start = Instant::now();
        let mut snapshots = 0u32;
        while start.elapsed() < Duration::from_secs(3) {
            honest.next_snapshot().await.expect("the honest player still gets snapshots");
            snapshots += 1;
        }
        snapshots
    });
    let mut boom = Client::connect(&srv.ws_url()).await.expect("connect");
    boom.hello("boom").await.expect("hello");
    boom.send(&ClientMsg::CreateRoom).await.expect("create");
    // The room died before admitting boom; boom's next input finds it gone and is told so.
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut seq = 0;
    let code = loop {
        seq += 1;
        boom.send(&ClientMsg::Input(Input {
            seq,
            movement: [0.0, 0.0],
            aim: 0.0,
            buttons: 0,
            view_tick: None,
        }))
        .await
        .expect("send");
        match boom.recv_timeout(Duration::from_millis(50)).await {
            Ok(Some(ServerMsg::Error { code, .. })) => break code,
            Ok(Some(_)) | Err(ClientError::Timeout(_)) => {}
            other => panic!("unexpected: {other:?}"),
        }
        assert!(Instant::now() < deadline, "never told the room closed");
    };
    assert_eq!(code, ErrorCode::RoomClosed);
    // Not fatal: the same connection is still served (any room boom joins panics too, by design of the
    // hook, so it is asked for a pong instead).
    boom.send(&ClientMsg::Ping { client_time: 1.0 }).await.expect("ping");
    boom.expect(|m| matches!(m, ServerMsg::Pong { .. }).then_some(())).await.expect("pong");
    // The honest player's room, on the same thread, carried on: it got its 30 snapshots a second.
    let snapshots = honest.await.expect("honest player");
    assert!(snapshots >= 86, "{snapshots} snapshots in 3 s (90 expected)");
    assert!(srv.is_alive(), "the server died");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_connect_join_leave_cycles_leave_no_growth() {
    let srv = process(&["--empty-room-grace", "0s", "--reconnect-grace", "0s"]);
    let cycle = |n: usize| {
        let url = srv.ws_url();
        async move {
            for i in 0..n {
                let (c, _, _) =
                    Client::join(&url, &format!("c{i}"), &ClientMsg::QuickPlay).await.expect("join");
                c.close().await;
            }
        }
    };
    // Warm up the allocator and the runtime, then measure.
    cycle(100).await;
    wait_until_empty(&srv).await;
    let before = srv.rss_bytes().expect("rss");
    let workers: Vec<_> = (0..4).map(|_| tokio::spawn(cycle(250))).collect();
    for w in workers {
        w.await.expect("cycles");
    }
    wait_until_empty(&srv).await;
    let after = srv.rss_bytes().expect("rss");
    let growth = after as f64 / before as f64 - 1.0;
    assert!(growth <= 0.10, "RSS grew {:.1}% ({before} -> {after} bytes)", growth * 100.0);
}

/// Waits (at most 10 s) until the server has no connection and no room left.
async fn wait_until_empty(srv: &ServerProcess) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metrics = http::get(srv.addr, "/metrics").await.expect("GET /metrics").body;
        let empty = |name: &str| metrics.lines().any(|l| l.strip_prefix(name) == Some(" 0"));
        if empty("arena_connections") && empty("arena_rooms") {
            return;
        }
        assert!(Instant::now() < deadline, "connections or rooms left open:\n{metrics}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_match_in_progress_at_sigterm_is_saved_whole_and_verifies() {
    let dir = std::env::temp_dir().join(format!("arena-sigterm-replays-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut srv = process(&["--replays", dir.to_str().expect("utf-8 path")]);
    let (mut a, _, _) = Client::join(&srv.ws_url(), "a", &ClientMsg::QuickPlay).await.expect("join");
    let (mut b, _, _) = Client::join(&srv.ws_url(), "b", &ClientMsg::QuickPlay).await.expect("join");
    // Two players start a match; let it run a second with inputs flowing.
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut seq = 0;
    while Instant::now() < deadline {
        seq += 1;
        let input = Input { seq, movement: [1.0, 0.5], aim: seq as f32 / 10.0, buttons: 1, view_tick: None };
        a.send(&ClientMsg::Input(input)).await.expect("send");
        b.send(&ClientMsg::Input(Input { movement: [-1.0, 0.0], ..input })).await.expect("send");
        a.next_snapshot().await.expect("a snapshot");
        let _ = b.recv_timeout(Duration::from_millis(1)).await;
    }
    let exited =
        tokio::task::spawn_blocking(move || srv.terminate(Duration::from_secs(5))).await.expect("join");
    assert!(exited, "server still running 5 s after SIGTERM");
    let files: Vec<PathBuf> =
        std::fs::read_dir(&dir).expect("the replay folder").map(|e| e.expect("entry").path()).collect();
    assert_eq!(files.len(), 1, "one whole replay and no part file: {files:?}");
    assert!(files[0].to_string_lossy().ends_with(".arena-replay"), "{files:?}");
    let replay = env!("CARGO_BIN_EXE_arena-replay");
    let verify = Command::new(replay).arg("verify").arg(&files[0]).output().expect("run arena-replay");
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
    let info = Command::new(replay).arg("info").arg(&files[0]).output().expect("run arena-replay");
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(info.contains("Closed"), "{info}");
    let _ = std::fs::remove_dir_all(&dir);
}
