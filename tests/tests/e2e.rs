//! End-to-end tests: the real `arena-server` binary on an ephemeral port, real WebSockets.
//!
//! Build the server first (`cargo build -p arena-server`); the README's test command does.

use std::time::Duration;

use arena_protocol::{ClientMsg, ErrorCode, GameEvent, Input, PROTOCOL_VERSION, ServerMsg, Snapshot};
use arena_tests::client::{Client, ClientError};
use arena_tests::http;
use arena_tests::server::TestServer;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

fn server(args: &[&str]) -> TestServer {
    TestServer::start(args).expect("start arena-server")
}

/// Receives for `span`, keeping the snapshots with their arrival times. Fails on errors or a close.
async fn snapshots_for(client: &mut Client, span: Duration) -> Vec<(Instant, Snapshot)> {
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
async fn next_snapshot(client: &mut Client) -> Snapshot {
    client.next_snapshot().await.expect("a snapshot")
}

fn ship_ids(snapshot: &Snapshot) -> Vec<u32> {
    let mut ids: Vec<u32> = snapshot.ships.iter().map(|s| s.id).collect();
    ids.sort_unstable();
    ids
}

/// Reads until the server closes, returning the last error message and the close reason.
async fn read_until_closed(client: &mut Client) -> (Option<(ErrorCode, String)>, Option<String>) {
    client.read_until_closed().await.expect("the server closes the connection")
}

#[tokio::test]
async fn two_players_in_one_room_see_each_other() {
    let srv = server(&[]);
    let (mut a, wa, joined) =
        Client::join(&srv.ws_url(), "Ada", &ClientMsg::CreateRoom).await.expect("a joins");
    assert!(!joined.public);
    assert_eq!(joined.players.len(), 1);
    let (mut b, wb, joined_b) =
        Client::join(&srv.ws_url(), "Grace", &ClientMsg::JoinRoom { code: joined.room.to_lowercase() })
            .await
            .expect("b joins by code");
    assert_eq!(joined_b.room, joined.room);
    let names: Vec<&str> = joined_b.players.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Ada", "Grace"]);

    let mut both = vec![wa.player_id, wb.player_id];
    both.sort_unstable();
    for client in [&mut a, &mut b] {
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let snap = next_snapshot(client).await;
            if ship_ids(&snap) == both {
                assert!(snap.ships.iter().all(|s| s.ack == 0), "no inputs sent yet");
                break;
            }
            assert!(Instant::now() < deadline, "never saw both ships");
        }
    }
}

#[tokio::test]
async fn rooms_are_isolated() {
    let srv = server(&[]);
    let (mut a, wa, ra) = Client::join(&srv.ws_url(), "a", &ClientMsg::CreateRoom).await.expect("a");
    let (mut b, wb, rb) = Client::join(&srv.ws_url(), "b", &ClientMsg::CreateRoom).await.expect("b");
    assert_ne!(ra.room, rb.room);
    for (_, snap) in snapshots_for(&mut a, Duration::from_millis(500)).await {
        assert_eq!(ship_ids(&snap), [wa.player_id]);
    }
    for (_, snap) in snapshots_for(&mut b, Duration::from_millis(500)).await {
        assert_eq!(ship_ids(&snap), [wb.player_id]);
    }
}

#[tokio::test]
async fn snapshot_and_tick_rates_follow_the_flags() {
    let srv = server(&["--tick-rate", "60", "--snapshot-rate", "20"]);
    let (mut a, welcome, _) = Client::join(&srv.ws_url(), "a", &ClientMsg::QuickPlay).await.expect("join");
    assert_eq!((welcome.tick_rate, welcome.snapshot_rate), (60, 20));
    let snaps = snapshots_for(&mut a, Duration::from_secs(3)).await;
    let (t0, first) = snaps.first().expect("snapshots");
    let (t1, last) = snaps.last().expect("snapshots");
    let secs = (*t1 - *t0).as_secs_f64();
    let per_sec = (snaps.len() - 1) as f64 / secs;
    assert!((18.0..=22.0).contains(&per_sec), "{per_sec:.2} snapshots/s");
    let ticks = (last.tick - first.tick) as f64 / secs;
    assert!((57.0..=63.0).contains(&ticks), "{ticks:.2} ticks/s");
    // Every third tick: a gap is always a whole number of snapshot intervals (a busy machine may make
    // the room catch up, or the client miss one), and almost always exactly one.
    let gaps: Vec<u64> = snaps.windows(2).map(|p| p[1].1.tick - p[0].1.tick).collect();
    assert!(gaps.iter().all(|g| g % 3 == 0), "{gaps:?}");
    let exact = gaps.iter().filter(|g| **g == 3).count();
    assert!(exact * 10 >= gaps.len() * 9, "{exact} of {} gaps are one interval: {gaps:?}", gaps.len());
}

#[tokio::test]
async fn inputs_move_the_ship_and_are_acknowledged() {
    let srv = server(&[]);
    let (mut a, welcome, _) = Client::join(&srv.ws_url(), "a", &ClientMsg::CreateRoom).await.expect("join");
    let me = welcome.player_id;
    let before = next_snapshot(&mut a).await;
    let start = before.ship(me).expect("my ship").pos();
    // Toward the arena's middle, so no wall stops it.
    let dir = if start[0] < 800.0 { 1.0 } else { -1.0 };
    // As many as the server queues (8): more at once and it drops the oldest, so the last one's
    // acknowledgement would no longer mean that all of them moved the ship.
    for seq in 1..=8 {
        a.send(&ClientMsg::Input(Input { seq, movement: [dir, 0.0], aim: 0.0, buttons: 0 }))
            .await
            .expect("send");
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let snap = next_snapshot(&mut a).await;
        if snap.ack_for(me) == Some(8) {
            let pos = snap.ship(me).expect("my ship").pos();
            assert!((pos[0] - start[0]) * dir > 10.0, "ship did not move: {start:?} -> {pos:?}");
            break;
        }
        assert!(Instant::now() < deadline, "input 8 never acknowledged");
    }
}

#[tokio::test]
async fn version_mismatch_gets_an_error_and_a_close() {
    let srv = server(&[]);
    let mut c = Client::connect(&srv.ws_url()).await.expect("connect");
    c.send(&ClientMsg::Hello { version: PROTOCOL_VERSION + 1, name: "future".into(), reconnect_token: None })
        .await
        .expect("send");
    let (error, reason) = read_until_closed(&mut c).await;
    let (code, message) = error.expect("an error message");
    assert_eq!(code, ErrorCode::VersionMismatch);
    assert!(message.contains(&PROTOCOL_VERSION.to_string()), "{message}");
    assert_eq!(reason.as_deref(), Some("version_mismatch"));
}

/// Puts an honest player and an offender in one room, lets the offender misbehave, and checks that only
/// the offender is dropped, with the expected error.
async fn offender_is_dropped_alone(offence: Message, expected: ErrorCode) {
    let srv = server(&[]);
    let (mut honest, _, room) =
        Client::join(&srv.ws_url(), "honest", &ClientMsg::CreateRoom).await.expect("join");
    let (mut bad, _, _) =
        Client::join(&srv.ws_url(), "bad", &ClientMsg::JoinRoom { code: room.room.clone() })
            .await
            .expect("join");
    bad.send_raw(offence).await.expect("send");
    let (error, reason) = read_until_closed(&mut bad).await;
    assert_eq!(error.map(|e| e.0), Some(expected));
    assert_eq!(reason.as_deref(), Some(expected.as_str()));
    // The honest player keeps getting every snapshot (30/s by default).
    let snaps = snapshots_for(&mut honest, Duration::from_secs(2)).await;
    assert!(snaps.len() >= 45, "honest player got {} snapshots in 2 s (60 expected)", snaps.len());
    // And the server still takes new players.
    Client::join(&srv.ws_url(), "later", &ClientMsg::QuickPlay).await.expect("server still serves");
}

#[tokio::test]
async fn malformed_bytes_close_only_that_client() {
    offender_is_dropped_alone(Message::Binary(vec![0xc1, 0xff, 0x00].into()), ErrorCode::Malformed).await;
}

#[tokio::test]
async fn wrong_shape_is_malformed() {
    // Valid MessagePack, but an input whose seq is a string.
    let bytes = arena_protocol::encode(&serde_json::json!({"t": "input", "seq": "x", "movement": [0, 0]}))
        .expect("encode");
    offender_is_dropped_alone(Message::Binary(bytes.into()), ErrorCode::Malformed).await;
}

#[tokio::test]
async fn unknown_message_type_is_named() {
    let bytes = arena_protocol::encode(&serde_json::json!({"t": "teleport"})).expect("encode");
    offender_is_dropped_alone(Message::Binary(bytes.into()), ErrorCode::UnknownMessage).await;
}

#[tokio::test]
async fn text_frames_are_refused() {
    offender_is_dropped_alone(Message::Text("{\"t\":\"leave\"}".into()), ErrorCode::TextFrame).await;
}

#[tokio::test]
async fn oversized_messages_are_refused() {
    let big = vec![0x90u8; arena_protocol::MAX_CLIENT_MESSAGE_BYTES + 1];
    offender_is_dropped_alone(Message::Binary(big.into()), ErrorCode::TooLarge).await;
}

#[tokio::test]
async fn messages_before_hello_are_refused() {
    let srv = server(&[]);
    let mut c = Client::connect(&srv.ws_url()).await.expect("connect");
    c.send(&ClientMsg::QuickPlay).await.expect("send");
    let (error, reason) = read_until_closed(&mut c).await;
    assert_eq!(error.map(|e| e.0), Some(ErrorCode::HelloRequired));
    assert_eq!(reason.as_deref(), Some("hello_required"));
}

#[tokio::test]
async fn a_client_that_never_reads_does_not_slow_others_and_is_dropped() {
    let srv = server(&["--tick-rate", "60", "--snapshot-rate", "60"]);
    let (mut honest, _, room) =
        Client::join(&srv.ws_url(), "honest", &ClientMsg::CreateRoom).await.expect("join");
    // The sluggard has a tiny receive buffer and, once in, never reads again.
    let mut sluggard = Client::connect_sluggish(srv.addr, &srv.ws_url()).await.expect("connect");
    sluggard.hello("sluggard").await.expect("hello");
    sluggard.enter(&ClientMsg::JoinRoom { code: room.room.clone() }).await.expect("join");

    // A full room, so snapshots are large and the sluggard's buffers fill within a couple of seconds.
    let mut fillers = Vec::new();
    for i in 0..14 {
        let (mut filler, _, _) = Client::join(
            &srv.ws_url(),
            &format!("filler{i}"),
            &ClientMsg::JoinRoom { code: room.room.clone() },
        )
        .await
        .expect("filler joins");
        fillers.push(tokio::spawn(async move { while let Ok(Some(_)) = filler.recv().await {} }));
    }

    // Several seconds of honest play while the sluggard's buffers fill and it is dropped.
    let start = Instant::now();
    let snaps = snapshots_for(&mut honest, Duration::from_secs(7)).await;
    let secs = start.elapsed().as_secs_f64();
    let per_sec = snaps.len() as f64 / secs;
    assert!(per_sec >= 50.0, "honest player got {per_sec:.1} snapshots/s (60 expected)");
    let worst_gap = snaps.windows(2).map(|w| w[1].0 - w[0].0).max().unwrap_or_default();
    assert!(worst_gap < Duration::from_millis(250), "a {worst_gap:?} gap in the honest player's snapshots");

    // The room drops the sluggard: soon the snapshots show only the 15 who read.
    let deadline = Instant::now() + Duration::from_secs(10);
    while next_snapshot(&mut honest).await.ships.len() != 15 {
        assert!(Instant::now() < deadline, "the sluggard was not dropped");
    }
    let (error, _) = read_until_closed(&mut sluggard).await;
    if let Some((code, _)) = error {
        assert_eq!(code, ErrorCode::TooSlow);
    }
    for filler in fillers {
        filler.abort();
    }
}

#[tokio::test]
async fn full_rooms_and_unknown_codes_are_errors() {
    let srv = server(&["--room-capacity", "2"]);
    let (_a, _, room) = Client::join(&srv.ws_url(), "a", &ClientMsg::CreateRoom).await.expect("a");
    let join = ClientMsg::JoinRoom { code: room.room.clone() };
    let (_b, _, _) = Client::join(&srv.ws_url(), "b", &join).await.expect("b");
    let mut c = Client::connect(&srv.ws_url()).await.expect("connect");
    c.hello("c").await.expect("hello");
    match c.enter(&join).await {
        Err(ClientError::Server { code: ErrorCode::RoomFull, message }) => {
            assert!(message.contains(&room.room), "{message}")
        }
        other => panic!("expected room_full, got {other:?}"),
    }
    match c.enter(&ClientMsg::JoinRoom { code: "ZZZZZ".into() }).await {
        Err(ClientError::Server { code: ErrorCode::RoomNotFound, .. }) => {}
        other => panic!("expected room_not_found, got {other:?}"),
    }
    // Neither error is fatal: the same connection can still play.
    let joined = c.enter(&ClientMsg::QuickPlay).await.expect("quick play after errors");
    assert_ne!(joined.room, room.room);
}

#[tokio::test]
async fn leaving_stops_snapshots_and_allows_another_room() {
    let srv = server(&[]);
    let (mut a, welcome, first) =
        Client::join(&srv.ws_url(), "a", &ClientMsg::CreateRoom).await.expect("join");
    next_snapshot(&mut a).await;
    a.send(&ClientMsg::Leave).await.expect("leave");
    a.expect(|m| matches!(m, ServerMsg::Left).then_some(())).await.expect("left");
    // Nothing from the old room after `left`.
    match a.recv_timeout(Duration::from_millis(300)).await {
        Err(ClientError::Timeout(_)) => {}
        other => panic!("expected silence after leaving, got {other:?}"),
    }
    let second = a.enter(&ClientMsg::CreateRoom).await.expect("second room");
    assert_ne!(second.room, first.room);
    assert_eq!(ship_ids(&next_snapshot(&mut a).await), [welcome.player_id]);
    // Leaving when not in a room is an error, and not a fatal one.
    a.send(&ClientMsg::Leave).await.expect("leave");
    a.expect(|m| matches!(m, ServerMsg::Left).then_some(())).await.expect("left");
    a.send(&ClientMsg::Leave).await.expect("leave again");
    match a.expect(|_| Some(())).await {
        Err(ClientError::Server { code: ErrorCode::NotInRoom, .. }) => {}
        other => panic!("expected not_in_room, got {other:?}"),
    }
}

#[tokio::test]
async fn ping_is_answered() {
    let srv = server(&[]);
    let mut c = Client::connect(&srv.ws_url()).await.expect("connect");
    c.hello("p").await.expect("hello");
    c.send(&ClientMsg::Ping { client_time: 1234.5 }).await.expect("ping");
    let (client_time, server_time) = c
        .expect(|m| match m {
            ServerMsg::Pong { client_time, server_time } => Some((client_time, server_time)),
            _ => None,
        })
        .await
        .expect("pong");
    assert_eq!(client_time, 1234.5);
    assert!(server_time > 0.0);
}

#[tokio::test]
async fn api_rooms_lists_public_rooms_only() {
    let srv = server(&[]);
    let (_a, _, public) = Client::join(&srv.ws_url(), "a", &ClientMsg::QuickPlay).await.expect("a");
    let (_b, _, private) = Client::join(&srv.ws_url(), "b", &ClientMsg::CreateRoom).await.expect("b");
    let res = http::get(srv.addr, "/api/rooms").await.expect("GET /api/rooms");
    assert_eq!(res.status, 200);
    let rooms: serde_json::Value = serde_json::from_str(&res.body).expect("json");
    assert_eq!(rooms, serde_json::json!([{"code": public.room, "players": 1, "capacity": 16}]));
    assert!(!res.body.contains(&private.room));

    let health = http::get(srv.addr, "/healthz").await.expect("GET /healthz");
    assert_eq!(health.status, 200);
    let page = http::get(srv.addr, "/").await.expect("GET /");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<html"), "{}", page.body);
}

#[tokio::test]
async fn sigterm_tells_clients_and_exits_quickly() {
    let mut srv = server(&[]);
    let (mut a, _, _) = Client::join(&srv.ws_url(), "a", &ClientMsg::QuickPlay).await.expect("join");
    next_snapshot(&mut a).await;
    let started = std::time::Instant::now();
    let reader = tokio::spawn(async move { read_until_closed(&mut a).await });
    let exited =
        tokio::task::spawn_blocking(move || srv.terminate(Duration::from_secs(5))).await.expect("join");
    assert!(exited, "server still running 5 s after SIGTERM");
    let (error, reason) = reader.await.expect("reader");
    assert_eq!(error.map(|e| e.0), Some(ErrorCode::ShuttingDown));
    assert_eq!(reason.as_deref(), Some("shutting_down"));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn arena_bots_reports_rates_in_json() {
    let srv = server(&["--tick-rate", "30", "--snapshot-rate", "15"]);
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_arena-bots"))
        .args(["--url", &srv.ws_url(), "--count", "8", "--duration", "3s", "--json"])
        .output()
        .await
        .expect("run arena-bots");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "arena-bots failed: {stdout} {}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert_eq!(summary["bots"], 8);
    assert_eq!(summary["connected"], 8);
    assert_eq!(summary["errors"], 0);
    let snaps = summary["snapshots_per_sec"]["median"].as_f64().expect("number");
    assert!((13.5..=16.5).contains(&snaps), "{snaps}");
    let ticks = summary["ticks_per_sec"]["median"].as_f64().expect("number");
    assert!((27.0..=33.0).contains(&ticks), "{ticks}");
    assert!(summary["rtt_ms"]["median"].as_f64().expect("number") > 0.0);
    assert!(summary["bytes_in_per_sec"].as_f64().expect("number") > 0.0);
}

#[tokio::test]
async fn arena_bots_fails_on_an_unknown_room() {
    let srv = server(&[]);
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_arena-bots"))
        .args(["--url", &srv.ws_url(), "--count", "2", "--duration", "1s", "--room", "ZZZZZ", "--json"])
        .output()
        .await
        .expect("run arena-bots");
    assert!(!out.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(summary["errors"], 2);
}

/// Waits for an events message containing an event `pick` accepts.
async fn wait_for_event(client: &mut Client, mut pick: impl FnMut(&GameEvent) -> bool) -> GameEvent {
    client
        .expect(|m| match m {
            ServerMsg::Events { events, .. } => events.into_iter().find(|e| pick(e)),
            _ => None,
        })
        .await
        .expect("the event")
}

#[tokio::test]
async fn joins_and_match_start_are_announced() {
    let srv = server(&[]);
    let (mut a, _, room) = Client::join(&srv.ws_url(), "a", &ClientMsg::CreateRoom).await.expect("a");
    let (_b, wb, _) =
        Client::join(&srv.ws_url(), "b", &ClientMsg::JoinRoom { code: room.room.clone() }).await.expect("b");
    // b's join, and with two players the match starts (both may come in one message).
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(3);
    while !(seen.contains(&GameEvent::Join { id: wb.player_id, name: "b".into() })
        && seen.iter().any(|e| matches!(e, GameEvent::Phase { phase: arena_protocol::Phase::Playing, ends_tick } if *ends_tick > 0)))
    {
        assert!(Instant::now() < deadline, "saw only {seen:?}");
        if let Ok(Some(ServerMsg::Events { events, .. })) = a.recv_timeout(Duration::from_secs(1)).await {
            seen.extend(events);
        }
    }
}

#[tokio::test]
async fn a_dropped_player_reconnects_to_the_same_seat() {
    let srv = server(&[]);
    let (a, wa, room) = Client::join(&srv.ws_url(), "a", &ClientMsg::CreateRoom).await.expect("a");
    let (mut b, _, _) =
        Client::join(&srv.ws_url(), "b", &ClientMsg::JoinRoom { code: room.room.clone() }).await.expect("b");
    drop(a); // the connection dies without a goodbye
    // The seat is held: b still sees a's score row, and no one else can take the seat's id.
    // (Scores ride in a snapshot when they change and once a second.)
    let deadline = Instant::now() + Duration::from_secs(3);
    let snap = loop {
        let snap = next_snapshot(&mut b).await;
        if snap.ship(wa.player_id).is_none() && !snap.scores.is_empty() {
            break snap;
        }
        assert!(Instant::now() < deadline, "the ship of a dropped player should go");
    };
    assert!(snap.scores.iter().any(|s| s[0] == wa.player_id), "score row kept while held");

    let mut again = Client::connect(&srv.ws_url()).await.expect("connect");
    let welcome = again.hello_with_token("ignored", Some(wa.reconnect_token.clone())).await.expect("hello");
    assert!(welcome.resumed);
    assert_eq!(welcome.player_id, wa.player_id);
    let joined = again
        .expect(|m| match m {
            ServerMsg::Joined(j) => Some(j),
            _ => None,
        })
        .await
        .expect("joined");
    assert_eq!(joined.room, room.room);
    assert!(joined.players.iter().any(|p| p.id == wa.player_id && p.name == "a"), "{:?}", joined.players);
    let deadline = Instant::now() + Duration::from_secs(2);
    while next_snapshot(&mut again).await.ship(wa.player_id).is_none() {
        assert!(Instant::now() < deadline, "ship not back");
    }

    // A token is good for one seat only: a second use starts a new player.
    let mut third = Client::connect(&srv.ws_url()).await.expect("connect");
    let w3 = third.hello_with_token("c", Some(wa.reconnect_token.clone())).await.expect("hello");
    assert!(!w3.resumed);
    assert_ne!(w3.player_id, wa.player_id);
}

#[tokio::test]
async fn a_held_seat_is_freed_when_the_grace_runs_out() {
    let srv = server(&["--reconnect-grace", "500ms"]);
    let (a, wa, room) = Client::join(&srv.ws_url(), "a", &ClientMsg::CreateRoom).await.expect("a");
    let (mut b, _, _) =
        Client::join(&srv.ws_url(), "b", &ClientMsg::JoinRoom { code: room.room.clone() }).await.expect("b");
    drop(a);
    let leave = wait_for_event(&mut b, |e| matches!(e, GameEvent::Leave { .. })).await;
    assert_eq!(leave, GameEvent::Leave { id: wa.player_id });
    let mut late = Client::connect(&srv.ws_url()).await.expect("connect");
    let welcome = late.hello_with_token("a", Some(wa.reconnect_token.clone())).await.expect("hello");
    assert!(!welcome.resumed, "too late to resume");
}

#[tokio::test]
async fn fighting_bots_play_the_game() {
    let srv = server(&[]);
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_arena-bots"))
        .args(["--url", &srv.ws_url(), "--count", "6", "--duration", "10s", "--behavior", "fight"])
        .output()
        .await
        .expect("run arena-bots");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "arena-bots failed: {stdout} {}", String::from_utf8_lossy(&out.stderr));
    let kills: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("kills: "))
        .and_then(|k| k.trim().parse().ok())
        .expect("a kills line");
    assert!(kills >= 1, "six fighting bots in 10 s destroyed nothing:\n{stdout}");
}

#[tokio::test]
async fn without_reconnect_grace_a_dropped_seat_is_freed_at_once() {
    let srv = server(&["--reconnect-grace", "0s", "--room-capacity", "1"]);
    let (a, _, room) = Client::join(&srv.ws_url(), "a", &ClientMsg::CreateRoom).await.expect("a");
    drop(a);
    let join = ClientMsg::JoinRoom { code: room.room.clone() };
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match Client::join(&srv.ws_url(), "b", &join).await {
            Ok(_) => break,
            Err(ClientError::Server { code: ErrorCode::RoomFull, .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(err) => panic!("the seat was never freed: {err}"),
        }
    }
}

#[tokio::test]
async fn leaving_and_rejoining_the_same_room_keeps_a_live_seat() {
    let srv = server(&[]);
    let (mut a, wa, room) = Client::join(&srv.ws_url(), "a", &ClientMsg::CreateRoom).await.expect("a");
    let (mut b, _, _) =
        Client::join(&srv.ws_url(), "b", &ClientMsg::JoinRoom { code: room.room.clone() }).await.expect("b");
    a.send(&ClientMsg::Leave).await.expect("leave");
    a.send(&ClientMsg::JoinRoom { code: room.room.clone() }).await.expect("rejoin");
    a.expect(|m| matches!(m, ServerMsg::Left).then_some(())).await.expect("left");
    a.expect(|m| matches!(m, ServerMsg::Joined(_)).then_some(())).await.expect("joined again");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let snap = next_snapshot(&mut b).await;
        let ships = snap.ships.iter().filter(|s| s.id == wa.player_id).count();
        let rows = snap.scores.iter().filter(|s| s[0] == wa.player_id).count();
        if ships == 1 && rows == 1 {
            break;
        }
        // Scores come when they change and once a second; keep reading.
        assert!(Instant::now() < deadline, "a has {ships} ships and {rows} score rows");
    }
}

#[tokio::test]
async fn metrics_count_what_happens() {
    let srv = server(&[]);
    let (mut a, _, _) = Client::join(&srv.ws_url(), "a", &ClientMsg::QuickPlay).await.expect("a");
    for seq in 1..=20 {
        a.send(&ClientMsg::Input(Input { seq, movement: [1.0, 0.0], aim: 0.0, buttons: 0 }))
            .await
            .expect("send");
    }
    snapshots_for(&mut a, Duration::from_millis(600)).await;
    let mut bad = Client::connect(&srv.ws_url()).await.expect("connect");
    bad.send_raw(Message::Binary(vec![0xc1].into())).await.expect("send");
    read_until_closed(&mut bad).await;
    // Let the server's metric upkeep (every 5 s) fold the tick samples into the summary.
    tokio::time::sleep(Duration::from_millis(5200)).await;
    let res = http::get(srv.addr, "/metrics").await.expect("GET /metrics");
    assert_eq!(res.status, 200);
    let value = |name: &str| -> f64 {
        res.body
            .lines()
            .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.trim().parse().ok()))
            .unwrap_or_else(|| panic!("{name} missing from:\n{}", res.body))
    };
    assert_eq!(value("arena_rooms "), 1.0);
    assert_eq!(value("arena_players "), 1.0);
    assert_eq!(value("arena_connections "), 1.0);
    assert!(value("arena_ticks_total ") >= 300.0);
    assert_eq!(value("arena_ticks_skipped_total "), 0.0);
    // Twenty inputs at once: the ship's queue keeps the newest 8, the rest are counted as discarded.
    assert_eq!(value("arena_inputs_applied_total "), 8.0);
    assert_eq!(value("arena_inputs_discarded_total "), 12.0);
    let sent = value("arena_snapshots_sent_total ");
    assert!(sent >= 150.0);
    // The first snapshot after joining is a keyframe; the rest are deltas (unless one was replaced).
    let keyframes = value("arena_snapshot_keyframes_sent_total ");
    assert!((1.0..sent / 4.0).contains(&keyframes), "{keyframes} keyframes of {sent} snapshots");
    assert!(value("arena_bytes_out_total ") > 0.0 && value("arena_messages_in_total ") >= 22.0);
    assert_eq!(value("arena_disconnects_total{reason=\"malformed\"} "), 1.0);
    let p99 = value("arena_tick_duration_seconds{quantile=\"0.99\"} ");
    assert!(p99 > 0.0 && p99 < 0.05, "tick p99 {p99}");
}
