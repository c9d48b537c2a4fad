//! Spectators, end to end against an in-process server: a spectator of a full room gets the room's
//! snapshots without a ship and without taking a seat, within `--max-spectators`; it can chat, stop
//! watching, and take a seat that is free; a room that closes tells its spectators.

mod common;

use std::time::Duration;

use arena_protocol::{ClientMsg, ErrorCode, ServerMsg};
use arena_tests::client::{Client, ClientError};
use arena_tests::http;
use common::{next_snapshot, server, ship_ids};

/// `/api/rooms` as (code, players).
async fn listed(srv: &arena_tests::server::TestServer) -> Vec<(String, u64)> {
    let res = http::get(srv.addr, "/api/rooms").await.expect("GET /api/rooms");
    let rooms: serde_json::Value = serde_json::from_str(&res.body).expect("json");
    rooms
        .as_array()
        .expect("array")
        .iter()
        .map(|r| (r["code"].as_str().expect("code").to_owned(), r["players"].as_u64().expect("players")))
        .collect()
}

#[tokio::test]
async fn a_spectator_watches_a_full_room_without_a_seat() {
    let srv = server(&["--room-capacity", "2", "--max-spectators", "1"]);
    let (mut a, wa, room) = Client::join(&srv.ws_url(), "Ada", &ClientMsg::QuickPlay).await.expect("a");
    let code = ClientMsg::JoinRoom { code: room.room.clone() };
    let (mut b, wb, _) = Client::join(&srv.ws_url(), "Grace", &code).await.expect("b");
    // Full: a third player is refused a seat, but may watch.
    match Client::join(&srv.ws_url(), "Carol", &code).await {
        Err(ClientError::Server { code: ErrorCode::RoomFull, .. }) => {}
        other => panic!("expected room_full, got {other:?}"),
    }
    let watch = ClientMsg::Watch { code: room.room.to_lowercase() };
    let (mut s, ws, joined) = Client::join(&srv.ws_url(), "Linus", &watch).await.expect("watch");
    assert!(joined.spectating);
    assert_eq!(joined.players.len(), 2, "the players, without the spectator");
    let mut players = vec![wa.player_id, wb.player_id];
    players.sort_unstable();
    let snap = next_snapshot(&mut s).await;
    assert_eq!(ship_ids(&snap), players, "the spectator sees both ships and has none");
    assert_eq!(listed(&srv).await, [(room.room.clone(), 2)], "the spectator takes no seat");
    // Its inputs are ignored; no ship appears for it.
    s.send(&ClientMsg::Input(arena_protocol::Input {
        seq: 1,
        movement: [1.0, 0.0],
        aim: 0.0,
        buttons: 1,
        view_tick: None,
    }))
    .await
    .expect("send");
    // Snapshots from well after the input (the spectator's latest tick, plus a sixth of a second)
    // still show the two players' ships only.
    let after = next_snapshot(&mut s).await.tick + 10;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let snap = next_snapshot(&mut a).await;
        assert_eq!(ship_ids(&snap), players);
        if snap.tick > after {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no snapshot after the input");
    }
    // One spectator at most here: a second is refused.
    match Client::join(&srv.ws_url(), "Mia", &watch).await {
        Err(ClientError::Server { code: ErrorCode::RoomFull, message }) => {
            assert!(message.contains("spectators"), "{message}")
        }
        other => panic!("expected room_full for a second spectator, got {other:?}"),
    }
    // It hears the room's chat, and may say something.
    s.send(&ClientMsg::Chat { text: "nice shot".into(), to: None }).await.expect("chat");
    let heard = b
        .expect(|m| match m {
            ServerMsg::Chat { from, text, .. } => Some((from, text)),
            _ => None,
        })
        .await
        .expect("b hears the spectator");
    assert_eq!(heard, (ws.player_id, "nice shot".to_owned()));

    // A seat frees: the spectator stops watching and takes it.
    b.send(&ClientMsg::Leave).await.expect("b leaves");
    s.send(&ClientMsg::Leave).await.expect("stop watching");
    s.expect(|m| matches!(m, ServerMsg::Left).then_some(())).await.expect("left");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let joined = loop {
        s.send(&code).await.expect("join");
        match s.expect(|m| if let ServerMsg::Joined(j) = m { Some(j) } else { None }).await {
            Ok(joined) => break joined,
            Err(ClientError::Server { code: ErrorCode::RoomFull, .. })
                if tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(err) => panic!("the freed seat: {err}"),
        }
    };
    assert!(!joined.spectating);
    let mut now_playing = vec![wa.player_id, ws.player_id];
    now_playing.sort_unstable();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while ship_ids(&next_snapshot(&mut a).await) != now_playing {
        assert!(tokio::time::Instant::now() < deadline, "the former spectator's ship never appeared");
    }
}

#[tokio::test]
async fn a_room_that_closes_tells_its_spectators() {
    let srv = server(&["--empty-room-grace", "0s"]);
    let (mut a, _, room) = Client::join(&srv.ws_url(), "Ada", &ClientMsg::CreateRoom).await.expect("a");
    let (mut s, _, _) = Client::join(&srv.ws_url(), "Linus", &ClientMsg::Watch { code: room.room.clone() })
        .await
        .expect("watch");
    a.send(&ClientMsg::Leave).await.expect("leave");
    match s.expect(|_: ServerMsg| None::<()>).await {
        Err(ClientError::Server { code: ErrorCode::RoomClosed, message }) => {
            assert!(message.contains("nobody plays"), "{message}")
        }
        other => panic!("expected room_closed, got {other:?}"),
    }
    // The connection stays: it may watch or play elsewhere.
    s.send(&ClientMsg::QuickPlay).await.expect("quick play");
    let joined = s.expect(|m| if let ServerMsg::Joined(j) = m { Some(j) } else { None }).await;
    assert!(joined.is_ok_and(|j| !j.spectating));
}
