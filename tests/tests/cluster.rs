//! The cluster, end to end: three `arena-server` nodes (real processes) share a room directory in a real
//! `redis-server`. Quick play spreads players over the nodes by players; rooms are joined and watched by
//! code through a node that does not hold them; a killed node leaves the directory within 5 s; a
//! draining node lets its match end and takes no one new; the nodes ride out a Redis restart; an
//! announcement reaches every node's players; and a taken node id or an absent Redis is a clear error
//! at start.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use arena_protocol::{ClientMsg, ErrorCode, Phase, ServerMsg};
use arena_tests::client::{Client, ClientError};
use arena_tests::cluster::{Node, RedisServer, start_nodes};
use arena_tests::http;
use common::assets_with_match_length;
use serde_json::Value;
use tokio::time::Instant;

/// A node's record as `GET /api/nodes` lists it.
async fn nodes(at: &Node) -> Vec<Value> {
    let response = http::get(at.addr(), "/api/nodes").await.expect("GET /api/nodes");
    assert_eq!(response.status, 200, "{}", response.body);
    serde_json::from_str(&response.body).expect("JSON")
}

/// `GET /api/rooms` as (code, node, players).
async fn rooms(at: &Node) -> Vec<(String, String, u64)> {
    let response = http::get(at.addr(), "/api/rooms").await.expect("GET /api/rooms");
    let list: Vec<Value> = serde_json::from_str(&response.body).expect("JSON");
    list.iter()
        .map(|r| {
            let field = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            (field("code"), field("node"), r["players"].as_u64().unwrap_or_default())
        })
        .collect()
}

/// Polls `check` every 100 ms until it holds; how long that took, or a panic after `limit`.
async fn within<F, Fut>(limit: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every node lists all `count` nodes.
async fn all_see(nodes_up: &[Node], count: usize) {
    for node in nodes_up {
        within(Duration::from_secs(5), "every node sees the others", || async {
            nodes(node).await.len() == count
        })
        .await;
    }
}

/// Connects to `node`, says hello and sends `request`: the answer (joined, hand-off or error).
async fn ask(node: &Node, name: &str, request: ClientMsg) -> (Client, ServerMsg) {
    let mut client = Client::connect(&node.ws_url()).await.expect("connect");
    client.hello(name).await.expect("welcome");
    client.send(&request).await.expect("send");
    let answer = loop {
        match client.recv_timeout(Duration::from_secs(5)).await.expect("an answer") {
            Some(msg @ (ServerMsg::Joined(_) | ServerMsg::Handoff { .. } | ServerMsg::Error { .. })) => {
                break msg;
            }
            Some(_) => {}
            None => panic!("closed: {:?}", client.close_reason),
        }
    };
    (client, answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quick_play_through_one_node_spreads_players_over_all_three() {
    let redis = RedisServer::start().expect("redis-server");
    let cluster = start_nodes(&redis, 3, &[]).expect("nodes");
    all_see(&cluster, 3).await;
    // 96 players at once, all through node 1.
    let joins: Vec<_> = (0..96)
        .map(|i| {
            let url = cluster[0].ws_url();
            tokio::spawn(async move { Client::join(&url, &format!("p{i}"), &ClientMsg::QuickPlay).await })
        })
        .collect();
    let mut players = Vec::new();
    let mut by_room: HashMap<String, usize> = HashMap::new();
    let mut handed_off = 0;
    for join in joins {
        let (client, _, joined) = join.await.expect("task").expect("joined");
        *by_room.entry(joined.room).or_default() += 1;
        handed_off += usize::from(client.handoff.is_some());
        players.push(client);
    }
    assert_eq!(by_room.len(), 6, "96 players fill 6 rooms of 16: {by_room:?}");
    assert!(by_room.values().all(|&n| n == 16), "{by_room:?}");
    assert_eq!(handed_off, 64, "two thirds were handed off to the other nodes");
    // Every node says the same: 32 players and 2 rooms each.
    for node in &cluster {
        within(Duration::from_secs(5), "32 players and 2 rooms on every node", || async {
            let list = nodes(node).await;
            list.len() == 3 && list.iter().all(|n| n["players"] == 32 && n["rooms"] == 2)
        })
        .await;
        let listed = rooms(node).await;
        assert_eq!(listed.len(), 6, "every node lists every public room: {listed:?}");
    }
    // The rooms are where the directory says: each player's room is on the node it plays on.
    let listed: HashMap<String, String> =
        rooms(&cluster[1]).await.into_iter().map(|(c, n, _)| (c, n)).collect();
    for node in &cluster {
        let here = listed.values().filter(|n| **n == node.id).count();
        assert_eq!(here, 2, "{} holds 2 rooms: {listed:?}", node.id);
    }
    for p in players {
        p.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_are_joined_and_watched_by_code_through_a_node_that_does_not_hold_them() {
    let redis = RedisServer::start().expect("redis-server");
    let cluster = start_nodes(&redis, 3, &["--room-capacity", "2"]).expect("nodes");
    all_see(&cluster, 3).await;
    // A creates a private room on node 1.
    let (mut a, _, room) =
        Client::join(&cluster[0].ws_url(), "A", &ClientMsg::CreateRoom).await.expect("room");
    assert!(!room.public);
    // B joins it by code (any case) through node 2: handed off to node 1, then seated beside A.
    let (b_at_2, answer) =
        ask(&cluster[1], "B", ClientMsg::JoinRoom { code: room.room.to_lowercase() }).await;
    let ServerMsg::Handoff { url, ticket, room: code, node } = answer else {
        panic!("not a hand-off: {answer:?}")
    };
    assert_eq!(
        (url.as_str(), code.as_str(), node.as_str()),
        (cluster[0].ws_url().as_str(), room.room.as_str(), "n1")
    );
    b_at_2.close().await;
    let mut b = Client::connect(&url).await.expect("connect to the owner");
    let welcome = b.hello_with_ticket("B", &ticket).await.expect("welcome");
    let joined =
        b.expect(|m| if let ServerMsg::Joined(j) = m { Some(j) } else { None }).await.expect("joined");
    assert_eq!(joined.room, room.room);
    assert!(
        joined.players.iter().any(|p| p.name == "A")
            && joined.players.iter().any(|p| p.id == welcome.player_id)
    );
    let seen = b.next_snapshot().await.expect("a snapshot");
    assert_eq!(seen.ships.len(), 2, "B plays in A's room");
    let a_hears = a
        .expect(|m| match m {
            ServerMsg::Events { events, .. } => events
                .iter()
                .any(|e| matches!(e, arena_protocol::GameEvent::Join { name, .. } if name == "B"))
                .then_some(()),
            _ => None,
        })
        .await;
    assert!(a_hears.is_ok(), "A hears B join: {a_hears:?}");

    // The ticket is good once.
    let mut again = Client::connect(&url).await.expect("connect");
    again.hello_with_ticket("B2", &ticket).await.expect("welcome");
    let refused = again.expect(|_| None::<()>).await;
    assert!(matches!(refused, Err(ClientError::Server { code: ErrorCode::BadTicket, .. })), "{refused:?}");

    // B's reconnect token works where its seat is: on the node it was handed to.
    // (Until the owner has seen the old connection end, the seat is not held yet and a hello with the
    // token starts a new player: the client tries again.)
    b.close().await;
    let deadline = Instant::now() + Duration::from_secs(3);
    let (mut b, resumed) = loop {
        let mut again = Client::connect(&url).await.expect("reconnect to the owner");
        let w = again.hello_with_token("B", Some(welcome.reconnect_token.clone())).await.expect("welcome");
        if w.resumed || Instant::now() > deadline {
            break (again, w);
        }
        again.close().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(resumed.resumed && resumed.player_id == welcome.player_id, "{resumed:?}");
    let back = b.expect(|m| if let ServerMsg::Joined(j) = m { Some(j) } else { None }).await.expect("joined");
    assert_eq!(back.room, room.room);

    // The room is full now: through node 3 that is the owner's answer.
    let (_, answer) = ask(&cluster[2], "C", ClientMsg::JoinRoom { code: room.room.clone() }).await;
    assert!(matches!(answer, ServerMsg::Error { code: ErrorCode::RoomFull, .. }), "{answer:?}");
    // ... but it can be watched, through node 3 too.
    let (_, answer) = ask(&cluster[2], "C", ClientMsg::Watch { code: room.room.clone() }).await;
    let ServerMsg::Handoff { url, ticket, .. } = answer else { panic!("not a hand-off: {answer:?}") };
    let mut c = Client::connect(&url).await.expect("connect");
    c.hello_with_ticket("C", &ticket).await.expect("welcome");
    let watching =
        c.expect(|m| if let ServerMsg::Joined(j) = m { Some(j) } else { None }).await.expect("joined");
    assert!(watching.spectating && watching.room == room.room);

    // No room has this code anywhere.
    let (_, answer) = ask(&cluster[1], "D", ClientMsg::JoinRoom { code: "ZZZZZ".into() }).await;
    assert!(matches!(answer, ServerMsg::Error { code: ErrorCode::RoomNotFound, .. }), "{answer:?}");
    // A ticket no node gave.
    let mut forged = Client::connect(&cluster[0].ws_url()).await.expect("connect");
    forged.hello_with_ticket("E", "00000000000000000000000000000001").await.expect("welcome");
    let refused = forged.expect(|_| None::<()>).await;
    assert!(matches!(refused, Err(ClientError::Server { code: ErrorCode::BadTicket, .. })), "{refused:?}");
    // A ticket not taken holds its seat for 15 s, then gives it back. (A new private room goes to the
    // node with the fewest players: wherever it is, it is asked for through the two others.)
    let (a2, _, second) =
        Client::join(&cluster[0].ws_url(), "A2", &ClientMsg::CreateRoom).await.expect("room");
    let owner = a2.handoff.as_ref().map_or("n1", |h| h.node.as_str());
    let mut not_owners = cluster.iter().filter(|n| n.id != owner);
    let (asker, other) = (not_owners.next().expect("a node"), not_owners.next().expect("another"));
    let (_, answer) = ask(asker, "never comes", ClientMsg::JoinRoom { code: second.room.clone() }).await;
    assert!(matches!(&answer, ServerMsg::Handoff { node, .. } if node == owner), "{answer:?}");
    let held = Instant::now();
    let (_, answer) = ask(other, "F", ClientMsg::JoinRoom { code: second.room.clone() }).await;
    assert!(
        matches!(answer, ServerMsg::Error { code: ErrorCode::RoomFull, .. }),
        "the ticket holds the seat: {answer:?}"
    );
    let freed = within(Duration::from_secs(25), "the unused ticket's seat is free again", || async {
        let (_, answer) = ask(other, "F", ClientMsg::JoinRoom { code: second.room.clone() }).await;
        matches!(answer, ServerMsg::Handoff { .. })
    })
    .await;
    let after = held.elapsed();
    assert!(
        after >= Duration::from_secs(14),
        "freed after {after:?}, before the ticket's 15 s ({freed:?} polling)"
    );
    let metrics = http::get(cluster[0].addr(), "/metrics").await.expect("metrics").body;
    assert!(metrics.contains("arena_handoffs_in_total 2"), "B and C came with tickets:\n{metrics}");
    let at_owner = cluster.iter().find(|n| n.id == owner).expect("the owner");
    let metrics = http::get(at_owner.addr(), "/metrics").await.expect("metrics").body;
    assert!(metrics.contains("arena_handoff_tickets_expired_total 1"), "{metrics}");
    let metrics = http::get(cluster[1].addr(), "/metrics").await.expect("metrics").body;
    assert!(metrics.contains("arena_handoffs_out_total"), "{metrics}");
    assert!(metrics.contains("arena_redis_round_trip_seconds{quantile=\"0.5\"}"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_leaves_every_directory_within_5_seconds() {
    let redis = RedisServer::start().expect("redis-server");
    let mut cluster = start_nodes(&redis, 2, &[]).expect("nodes");
    // Node 3 says browsers reach it by a name of its own: its pages may open the other nodes' sockets.
    cluster.push(Node::start(&redis, "n3", &["--public-url", "http://n3.arena.example"]).expect("node 3"));
    all_see(&cluster, 3).await;
    let n3_page = Some("http://n3.arena.example");
    assert_eq!(http::upgrade_status(cluster[0].addr(), n3_page).await.expect("upgrade"), 101);
    let elsewhere = Some("http://evil.example");
    assert_eq!(http::upgrade_status(cluster[0].addr(), elsewhere).await.expect("upgrade"), 403);
    // A public room on node 3 (quick play there opens it there: all nodes are empty).
    let (mut player, _, joined) =
        Client::join(&cluster[2].ws_url(), "doomed", &ClientMsg::QuickPlay).await.expect("join");
    assert!(player.handoff.is_none());
    within(Duration::from_secs(3), "node 1 lists node 3's room", || async {
        rooms(&cluster[0]).await.iter().any(|(code, node, _)| *code == joined.room && node == "n3")
    })
    .await;

    let _ =
        std::process::Command::new("kill").args(["-KILL", &cluster[2].process.pid().to_string()]).status();
    let killed = Instant::now();
    for node in &cluster[..2] {
        within(
            Duration::from_secs(5).saturating_sub(killed.elapsed()),
            "node 3 and its room are gone",
            || async {
                let gone = !nodes(node).await.iter().any(|n| n["id"] == "n3");
                gone && !rooms(node).await.iter().any(|(code, _, _)| *code == joined.room)
            },
        )
        .await;
    }
    assert!(killed.elapsed() < Duration::from_secs(5), "took {:?}", killed.elapsed());
    // Its pages, still open in browsers, may still open the live nodes' sockets (to quick play there).
    assert_eq!(http::upgrade_status(cluster[0].addr(), n3_page).await.expect("upgrade"), 101);
    // Its player's connection is gone (the web client then offers quick play elsewhere).
    let ended = player.read_until_closed().await;
    assert!(ended.is_ok(), "{ended:?}");
    // Quick play through node 1 never sends anyone to node 3 now.
    for i in 0..3 {
        let (client, _, _) = Client::join(&cluster[0].ws_url(), &format!("after-{i}"), &ClientMsg::QuickPlay)
            .await
            .expect("quick play after the kill");
        assert!(client.handoff.as_ref().is_none_or(|h| h.node != "n3"), "{:?}", client.handoff);
    }
    cluster.truncate(2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draining_node_lets_its_match_end_takes_no_one_new_then_closes() {
    let assets = assets_with_match_length(6.0);
    let assets = assets.to_str().expect("utf-8 path");
    let redis = RedisServer::start().expect("redis-server");
    let mut cluster = start_nodes(&redis, 2, &["--assets", assets, "--drain-timeout", "1m"]).expect("nodes");
    all_see(&cluster, 2).await;
    // A match on node 2: two players in a private room.
    let (mut a, _, room) =
        Client::join(&cluster[1].ws_url(), "A", &ClientMsg::CreateRoom).await.expect("room");
    let (mut b, _, _) =
        Client::join(&cluster[1].ws_url(), "B", &ClientMsg::JoinRoom { code: room.room.clone() })
            .await
            .expect("B");
    a.expect(|m| match m {
        ServerMsg::Events { events, .. } => events.iter().find_map(|e| match e {
            arena_protocol::GameEvent::Phase { phase: Phase::Playing, ends_tick } => Some(*ends_tick),
            _ => None,
        }),
        _ => None,
    })
    .await
    .expect("the match starts");

    let node2 = cluster[1].process.pid().to_string();
    let _ = std::process::Command::new("kill").args(["-TERM", &node2]).status();
    let drained_at = Instant::now();
    // Marked draining at once, everywhere.
    within(Duration::from_secs(2), "node 2 is listed as draining", || async {
        nodes(&cluster[0]).await.iter().any(|n| n["id"] == "n2" && n["draining"] == true)
    })
    .await;
    // No new rooms there: quick play and private rooms through node 2 are handed to node 1.
    for request in [ClientMsg::QuickPlay, ClientMsg::CreateRoom] {
        let (_, answer) = ask(&cluster[1], "new", request).await;
        assert!(matches!(&answer, ServerMsg::Handoff { node, .. } if node == "n1"), "{answer:?}");
    }
    // No hand-offs to it either.
    let (_, answer) = ask(&cluster[0], "late", ClientMsg::JoinRoom { code: room.room.clone() }).await;
    assert!(matches!(answer, ServerMsg::Error { code: ErrorCode::ServerFull, .. }), "{answer:?}");
    // The match runs to its end; then the players are told the node is shutting down.
    let mut results_at = None;
    let (last_error, reason) = loop {
        match a.recv_timeout(Duration::from_secs(15)).await {
            Ok(Some(ServerMsg::Events { events, .. })) => {
                if events
                    .iter()
                    .any(|e| matches!(e, arena_protocol::GameEvent::Phase { phase: Phase::Results, .. }))
                {
                    results_at = Some(Instant::now());
                }
            }
            Ok(Some(ServerMsg::Error { code, .. })) => break (Some(code), None),
            Ok(Some(_)) => {}
            Ok(None) => break (None, a.close_reason.clone()),
            Err(err) => panic!("{err}"),
        }
    };
    let results_at = results_at.expect("the match ended before the node closed");
    assert_eq!(last_error, Some(ErrorCode::ShuttingDown), "{reason:?}");
    assert!(results_at.duration_since(drained_at) > Duration::from_secs(1), "the match was not cut short");
    assert!(cluster[1].process.terminate(Duration::from_secs(10)), "node 2 exits after its drain");
    let (b_error, _) = b.read_until_closed().await.expect("B is closed too");
    assert_eq!(b_error.map(|(code, _)| code), Some(ErrorCode::ShuttingDown));
    within(Duration::from_secs(2), "node 2 left the directory", || async {
        nodes(&cluster[0]).await.len() == 1
    })
    .await;

    // A second SIGTERM ends a drain at once, match or not.
    let mut node3 =
        Node::start(&redis, "n3", &["--assets", assets, "--drain-timeout", "1m"]).expect("node 3");
    let (_c, _, room) = Client::join(&node3.ws_url(), "C", &ClientMsg::CreateRoom).await.expect("room");
    let (mut d, _, _) = Client::join(&node3.ws_url(), "D", &ClientMsg::JoinRoom { code: room.room.clone() })
        .await
        .expect("D");
    d.next_snapshot().await.expect("playing");
    let pid = node3.process.pid().to_string();
    let _ = std::process::Command::new("kill").args(["-TERM", &pid]).status();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(node3.process.is_alive(), "draining, not stopped");
    let _ = std::process::Command::new("kill").args(["-TERM", &pid]).status();
    assert!(node3.process.terminate(Duration::from_secs(8)), "the second signal stops it");
    cluster.truncate(1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_ride_out_a_redis_restart_and_register_again() {
    let mut redis = RedisServer::start().expect("redis-server");
    let port = redis.port;
    let cluster = start_nodes(&redis, 2, &[]).expect("nodes");
    all_see(&cluster, 2).await;
    let (mut player, _, joined) =
        Client::join(&cluster[0].ws_url(), "steady", &ClientMsg::QuickPlay).await.expect("join");

    redis.stop();
    // The player on node 1 plays on: snapshots keep coming, nothing is lost.
    let before = player.next_snapshot().await.expect("snapshot").tick;
    let mut snapshots = 0;
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        match player.recv_timeout(Duration::from_secs(1)).await {
            Ok(Some(ServerMsg::Snapshot(_))) => snapshots += 1,
            Ok(Some(ServerMsg::Error { code, message })) => panic!("{code}: {message}"),
            Ok(Some(_)) => {}
            other => panic!("{other:?}"),
        }
    }
    assert!(snapshots >= 100, "{snapshots} snapshots in 4 s without Redis");
    assert!(player.snapshot().expect("state").tick > before);
    // Quick play through node 2 falls back to node 2's own rooms.
    let (local, _, _) = Client::join(&cluster[1].ws_url(), "local", &ClientMsg::QuickPlay)
        .await
        .expect("quick play without Redis");
    assert!(local.handoff.is_none(), "{:?}", local.handoff);
    let metrics = http::get(cluster[1].addr(), "/metrics").await.expect("metrics").body;
    let failures = metrics
        .lines()
        .find_map(|l| l.strip_prefix("arena_directory_refresh_failures_total "))
        .and_then(|v| v.trim().parse::<f64>().ok());
    assert!(failures.is_some_and(|f| f >= 1.0), "{metrics}");

    // Redis returns (empty): both nodes register again within seconds, rooms and all.
    let _redis = RedisServer::start_on(port).expect("redis-server again");
    let back = within(Duration::from_secs(8), "node 2 lists both nodes and node 1's room again", || async {
        nodes(&cluster[1]).await.len() == 2
            && rooms(&cluster[1]).await.iter().any(|(c, _, _)| *c == joined.room)
    })
    .await;
    eprintln!("registered again {back:?} after Redis came back");
    // And hand-offs work again (the inbox subscription is back too).
    within(Duration::from_secs(5), "a join by code through node 2 is handed to node 1", || async {
        let (_, answer) = ask(&cluster[1], "again", ClientMsg::JoinRoom { code: joined.room.clone() }).await;
        matches!(answer, ServerMsg::Handoff { node, .. } if node == "n1")
    })
    .await;
    player.next_snapshot().await.expect("still playing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_announcement_reaches_the_players_of_every_node() {
    let redis = RedisServer::start().expect("redis-server");
    let admin = Node::start(&redis, "n1", &["--admin-token", "s3cret"]).expect("node 1");
    let n2 = Node::start(&redis, "n2", &[]).expect("node 2");
    let n3 = Node::start(&redis, "n3", &[]).expect("node 3");
    let cluster = [admin, n2, n3];
    all_see(&cluster, 3).await;
    let mut players = Vec::new();
    for node in &cluster {
        let (client, _, _) = Client::join(&node.ws_url(), &format!("on-{}", node.id), &ClientMsg::CreateRoom)
            .await
            .expect("join");
        assert!(client.handoff.is_none());
        players.push(client);
    }
    let body = r#"{"text": "Maintenance <b>at</b> 18:00 UTC"}"#;
    let refused = http::post_json(cluster[0].addr(), "/api/announce", &[], body).await.expect("POST");
    assert_eq!(refused.status, 401, "no token");
    let refused =
        http::post_json(cluster[0].addr(), "/api/announce", &[("Authorization", "Bearer wrong")], body)
            .await
            .expect("POST");
    assert_eq!(refused.status, 401, "a wrong token");
    let off =
        http::post_json(cluster[1].addr(), "/api/announce", &[("Authorization", "Bearer s3cret")], body)
            .await
            .expect("POST");
    assert_eq!(off.status, 404, "node 2 has no --admin-token: {}", off.body);
    let bad =
        http::post_json(cluster[0].addr(), "/api/announce", &[("Authorization", "Bearer s3cret")], "{}")
            .await
            .expect("POST");
    assert_eq!(bad.status, 400);
    let sent =
        http::post_json(cluster[0].addr(), "/api/announce", &[("Authorization", "Bearer s3cret")], body)
            .await
            .expect("POST");
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(sent.body.contains("\"nodes\":3"), "{}", sent.body);
    for (player, node) in players.iter_mut().zip(&cluster) {
        let text = player
            .expect(|m| if let ServerMsg::Notice { text, .. } = m { Some(text) } else { None })
            .await
            .unwrap_or_else(|e| panic!("no notice on {}: {e}", node.id));
        assert_eq!(text, "Maintenance <b>at</b> 18:00 UTC");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_node_id_or_an_absent_redis_is_a_clear_error_at_start() {
    let redis = RedisServer::start().expect("redis-server");
    let _n1 = Node::start(&redis, "n1", &[]).expect("node 1");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(arena_tests::server::server_binary())
            .args(["--addr", "127.0.0.1:0", "--replays", "off"])
            .args(args)
            .env("RUST_BACKTRACE", "0")
            .output()
            .expect("run the server");
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, stderr) = run(&["--redis", &redis.url(), "--node-id", "n1"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("node id \"n1\" is taken by a live node"), "{stderr}");
    let port = arena_tests::cluster::free_port().expect("port");
    let (code, stderr) = run(&["--redis", &format!("redis://127.0.0.1:{port}")]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("cannot reach Redis at redis://127.0.0.1:"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
