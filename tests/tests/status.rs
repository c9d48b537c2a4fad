//! The live server page's API (`/api/status`) against an in-process server: the rooms with their
//! players and phase (a private room without its code), a sample a second, and `--status-token`.

mod common;

use std::time::Duration;

use arena_protocol::ClientMsg;
use arena_tests::client::Client;
use arena_tests::http;
use common::{next_snapshot, server};

async fn status(addr: std::net::SocketAddr, auth: Option<&str>) -> (u16, serde_json::Value) {
    let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
    let res = http::get_with(addr, "/api/status", &headers).await.expect("GET /api/status");
    (res.status, serde_json::from_str(&res.body).unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn the_status_lists_rooms_and_samples_every_second() {
    let srv = server(&[]);
    let (mut a, _, public) = Client::join(&srv.ws_url(), "Ada", &ClientMsg::QuickPlay).await.expect("a");
    let (mut b, _, private) = Client::join(&srv.ws_url(), "Grace", &ClientMsg::CreateRoom).await.expect("b");
    // Playing for a while, so samples with ticks and traffic come in.
    let until = tokio::time::Instant::now() + Duration::from_millis(2500);
    while tokio::time::Instant::now() < until {
        a.send(&ClientMsg::Ping { client_time: 1.0 }).await.expect("ping");
        next_snapshot(&mut a).await;
        next_snapshot(&mut b).await;
    }
    let (code, s) = status(srv.addr, None).await;
    assert_eq!(code, 200, "{s}");
    assert_eq!(s["players"], 2);
    assert_eq!(s["tick_rate"], 60);
    let rooms = s["rooms"].as_array().expect("rooms");
    assert_eq!(rooms.len(), 2, "{s}");
    assert_eq!(rooms[0]["code"], public.room.as_str(), "public first, with its code");
    assert_eq!((rooms[0]["players"].as_u64(), rooms[0]["phase"].as_str()), (Some(1), Some("warmup")));
    assert!(rooms[1]["code"].is_null() && rooms[1]["public"] == false, "a private room's code is kept: {s}");
    assert!(!s.to_string().contains(&private.room), "the private code appears somewhere: {s}");
    let history = s["history"].as_array().expect("history");
    assert!(history.len() >= 2, "a sample a second: {s}");
    let last = history.last().expect("a sample");
    assert_eq!(last["players"], 2);
    // Two rooms at 60 Hz: about 120 ticks in a sample's second (a busy machine may stretch the
    // second, or make a room skip ticks: the bounds are wide), each well under a few milliseconds.
    let ticks = last["ticks"].as_u64().expect("ticks");
    assert!((60..=240).contains(&ticks), "{ticks} ticks in a second");
    let p99 = last["tick_p99_ms"].as_f64().expect("p99");
    assert!(p99 > 0.0 && p99 >= last["tick_p50_ms"].as_f64().expect("p50"), "{last}");
    assert!(last["bytes_out"].as_u64().expect("out") > 1000, "snapshots went out: {last}");
    assert!(last["bytes_in"].as_u64().expect("in") > 0, "pings came in: {last}");
}

#[tokio::test]
async fn a_status_token_keeps_the_page_to_those_who_have_it() {
    let srv = server(&["--status-token", "s3cret"]);
    assert_eq!(status(srv.addr, None).await.0, 401);
    assert_eq!(status(srv.addr, Some("Bearer wrong!")).await.0, 401);
    assert_eq!(status(srv.addr, Some("s3cret")).await.0, 401, "a bearer token, not the bare secret");
    let (code, s) = status(srv.addr, Some("Bearer s3cret")).await;
    assert_eq!(code, 200);
    assert_eq!(s["players"], 0);
    // The page itself is the web client's, at /status.
    let page = http::get(srv.addr, "/status").await.expect("GET /status");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Server status"), "{}", page.body);
}
