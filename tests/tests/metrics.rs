//! `/metrics` counts what really happened, against an in-process server.

mod common;

use std::time::Duration;

use arena_protocol::{ClientMsg, Input};
use arena_tests::client::Client;
use arena_tests::http;
use common::{read_until_closed, server, snapshots_for, wait_for_metric};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn metrics_count_what_happens() {
    let srv = server(&[]);
    let (mut a, _, _) = Client::join(&srv.ws_url(), "a", &ClientMsg::QuickPlay).await.expect("a");
    for seq in 1..=20 {
        a.send(&ClientMsg::Input(Input { seq, movement: [1.0, 0.0], aim: 0.0, buttons: 0, view_tick: None }))
            .await
            .expect("send");
    }
    let received = snapshots_for(&mut a, Duration::from_millis(600)).await.len() as f64;
    let mut bad = Client::connect(&srv.ws_url()).await.expect("connect");
    bad.send_raw(Message::Binary(vec![0xc1].into())).await.expect("send");
    read_until_closed(&mut bad).await;
    // The malformed client's disconnect is counted once its connection has ended.
    wait_for_metric(srv.addr, "arena_disconnects_total{reason=\"malformed\"}", 1.0).await;
    wait_for_metric(srv.addr, "arena_connections", 1.0).await;
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
    // At 60 ticks and 30 snapshots a second, at least two ticks per snapshot received.
    assert!(value("arena_ticks_total ") >= 2.0 * received, "{received} snapshots");
    assert_eq!(value("arena_ticks_skipped_total "), 0.0);
    // Twenty inputs at once: the ship's queue keeps the newest 8, the rest are counted as discarded.
    assert_eq!(value("arena_inputs_applied_total "), 8.0);
    assert_eq!(value("arena_inputs_discarded_total "), 12.0);
    let sent = value("arena_snapshots_sent_total ");
    assert!(sent >= received && received >= 10.0, "{sent} sent, {received} received");
    // The first snapshot after joining is a keyframe; the rest are deltas (unless one was replaced).
    let keyframes = value("arena_snapshot_keyframes_sent_total ");
    assert!((1.0..sent / 4.0).contains(&keyframes), "{keyframes} keyframes of {sent} snapshots");
    assert!(value("arena_bytes_out_total ") > 0.0 && value("arena_messages_in_total ") >= 22.0);
    let p99 = value("arena_tick_duration_seconds{quantile=\"0.99\"} ");
    assert!(p99 > 0.0 && p99 < 0.05, "tick p99 {p99}");
}
