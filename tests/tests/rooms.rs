//! Rooms from a player's side, against an in-process server over real WebSockets: joining, seeing one
//! another, rates, inputs, leaving, the room list, and taking a dropped seat back.

mod common;

use std::time::Duration;

use arena_protocol::{ClientMsg, ErrorCode, GameEvent, Input, InputBatch, ServerMsg};
use arena_tests::client::{Client, ClientError};
use arena_tests::http;
use common::{next_snapshot, server, ship_ids, snapshots_for};
use tokio::time::Instant;

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
    for (client, me) in [(&mut a, wa.player_id), (&mut b, wb.player_id)] {
        let snaps = snapshots_for(client, Duration::from_millis(500)).await;
        assert!(snaps.len() >= 10, "only {} snapshots in 0.5 s", snaps.len());
        for (_, snap) in snaps {
            assert_eq!(ship_ids(&snap), [me]);
        }
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
        a.send(&ClientMsg::Input(Input { seq, movement: [dir, 0.0], aim: 0.0, buttons: 0, view_tick: None }))
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
async fn batched_inputs_are_applied_one_per_tick_like_single_ones() {
    let srv = server(&["--input-batch", "4"]);
    let (mut a, welcome, _) = Client::join(&srv.ws_url(), "a", &ClientMsg::CreateRoom).await.expect("join");
    assert_eq!(welcome.input_batch, 4, "the server asks for what --input-batch says");
    let me = welcome.player_id;
    let start = next_snapshot(&mut a).await.ship(me).expect("my ship").pos();
    let dir = if start[0] < 800.0 { 1.0 } else { -1.0 };
    // Two batches of four: eight inputs, as many as the server queues.
    for first in [1, 5] {
        let inputs = (first..first + 4).map(|seq| Input {
            seq,
            movement: [dir, 0.0],
            aim: 0.0,
            buttons: 0,
            view_tick: None,
        });
        a.send(&ClientMsg::Inputs(InputBatch { inputs: inputs.collect() })).await.expect("send");
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut acks = Vec::new();
    loop {
        let snap = next_snapshot(&mut a).await;
        let ack = snap.ack_for(me).unwrap_or(0);
        acks.push((snap.tick, ack));
        if ack == 8 {
            let pos = snap.ship(me).expect("my ship").pos();
            assert!((pos[0] - start[0]) * dir > 10.0, "ship did not move: {start:?} -> {pos:?}");
            break;
        }
        assert!(Instant::now() < deadline, "input 8 never acknowledged: {acks:?}");
    }
    // One input per tick, never a batch at once: between two snapshots the acknowledgement grows by at
    // most the ticks in between.
    assert!(acks.windows(2).all(|w| u64::from(w[1].1 - w[0].1) <= w[1].0 - w[0].0), "{acks:?}");
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
    // Whatever is not a code the server could have issued is simply not found, and keeps the connection.
    for bad in ["", "ab", "ABCDEF", "AB1!?", "KQZTI", "\u{1F600}"] {
        match c.enter(&ClientMsg::JoinRoom { code: bad.into() }).await {
            Err(ClientError::Server { code: ErrorCode::RoomNotFound, .. }) => {}
            other => panic!("expected room_not_found for {bad:?}, got {other:?}"),
        }
    }
    // None of these errors is fatal: the same connection can still play.
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
    // A newcomer meanwhile can name that score row: the held seat is listed, away.
    let (_c, wc, joined_c) =
        Client::join(&srv.ws_url(), "c", &ClientMsg::JoinRoom { code: room.room.clone() }).await.expect("c");
    let roster: Vec<(u32, &str, bool)> =
        joined_c.players.iter().map(|p| (p.id, p.name.as_str(), p.away)).collect();
    assert!(roster.contains(&(wa.player_id, "a", true)), "{roster:?}");
    assert!(roster.contains(&(wc.player_id, "c", false)), "{roster:?}");

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
    let srv = server(&["--reconnect-grace", "500ms", "--room-capacity", "2"]);
    let (a, wa, room) = Client::join(&srv.ws_url(), "a", &ClientMsg::CreateRoom).await.expect("a");
    let join = ClientMsg::JoinRoom { code: room.room.clone() };
    let (mut b, _, _) = Client::join(&srv.ws_url(), "b", &join).await.expect("b");
    drop(a);
    // While held, the seat is taken.
    match Client::join(&srv.ws_url(), "c", &join).await {
        Err(ClientError::Server { code: ErrorCode::RoomFull, .. }) => {}
        other => panic!("the held seat should still count: {other:?}"),
    }
    let leave = wait_for_event(&mut b, |e| matches!(e, GameEvent::Leave { .. })).await;
    assert_eq!(leave, GameEvent::Leave { id: wa.player_id });
    let mut late = Client::connect(&srv.ws_url()).await.expect("connect");
    let welcome = late.hello_with_token("a", Some(wa.reconnect_token.clone())).await.expect("hello");
    assert!(!welcome.resumed, "too late to resume");
    // And the seat is free again.
    let joined = late.enter(&join).await.expect("the freed seat can be taken");
    assert_eq!(joined.players.len(), 2, "{:?}", joined.players);
    assert!(joined.players.iter().all(|p| !p.away && p.id != wa.player_id), "{:?}", joined.players);
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
async fn player_ids_are_unique_across_the_server_and_ticks_count_per_room() {
    let srv = server(&[]);
    let (mut a, wa, ra) = Client::join(&srv.ws_url(), "a", &ClientMsg::CreateRoom).await.expect("a");
    // Let room A run a second before room B opens.
    let deadline = Instant::now() + Duration::from_secs(5);
    let a_tick = loop {
        let snap = next_snapshot(&mut a).await;
        if snap.tick >= 60 {
            break snap.tick;
        }
        assert!(Instant::now() < deadline, "room A is not ticking");
    };
    let (mut b, wb, rb) = Client::join(&srv.ws_url(), "b", &ClientMsg::CreateRoom).await.expect("b");
    assert_ne!(ra.room, rb.room);
    assert_ne!(wa.player_id, wb.player_id, "ids are unique across rooms");
    assert!(wa.player_id != 0 && wb.player_id != 0);
    let b_tick = next_snapshot(&mut b).await.tick;
    assert!(b_tick < a_tick, "room B counts from its own start: tick {b_tick}, room A was at {a_tick}");
}
