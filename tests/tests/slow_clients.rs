//! A client that stops reading, against an in-process server: the others in its room and elsewhere keep
//! every snapshot, and the room drops it with `too_slow`.

mod common;

use std::time::Duration;

use arena_protocol::{ClientMsg, ErrorCode};
use arena_tests::client::Client;
use common::{
    assert_honest_kept_up, honest_player, next_snapshot, read_until_closed, server, snapshots_for,
    wait_for_metric,
};
use tokio::time::Instant;

#[tokio::test]
async fn a_client_that_never_reads_costs_others_nothing_and_is_dropped() {
    let srv = server(&["--tick-rate", "60", "--snapshot-rate", "60"]);
    let elsewhere = honest_player(srv.ws_url(), Duration::from_secs(6), 60.0);
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
    // The server counts it as too slow. The error and the close frame wait behind the stale data in the
    // full socket for up to the close timeout (2 s): a sluggard that reads again at once (as this one does,
    // as soon as the count shows) gets both, after the snapshots still in its buffers.
    wait_for_metric(srv.addr, "arena_disconnects_total{reason=\"too_slow\"}", 1.0).await;
    let (error, reason) = read_until_closed(&mut sluggard).await;
    assert_eq!(error.map(|e| e.0), Some(ErrorCode::TooSlow));
    assert_eq!(reason.as_deref(), Some("too_slow"));
    for filler in fillers {
        filler.abort();
    }
    assert_honest_kept_up(elsewhere).await;
}
