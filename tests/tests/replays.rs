//! Recorded matches, end to end: sixteen fighting bots play a one-minute match at 60 Hz on a real
//! server that records it; the replay is listed and served over HTTP, `arena-replay verify`
//! re-simulates it exactly, and fails on a copy with one input changed (at that input's tick), on a
//! truncated copy and on what is not a replay.

mod common;

use std::time::Duration;

use arena_protocol::replay::{Op, Record, Replay};
use arena_protocol::{ServerMsg, SnapshotDecoder};
use arena_tests::bot::{self, BotConfig};
use arena_tests::http;
use arena_tests::server::sibling_binary;
use common::{assets_with_match_length, scratch, server};

/// Runs `arena-replay` with these arguments: exit code, stdout, stderr.
fn arena_replay(args: &[&str]) -> (i32, String, String) {
    let bin = sibling_binary("arena-replay");
    let out = std::process::Command::new(&bin)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e} (build it with cargo build --bins)", bin.display()));
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

/// The first ship-changing input of a player whose ship is alive in the latest snapshot before it,
/// from the middle of the match on: where it is in the records, and its tick.
fn an_input_of_a_live_ship(replay: &Replay) -> (usize, usize, u64) {
    let mut decoder = SnapshotDecoder::new(replay.header.tick_rate);
    let half = replay.header.start_tick + (replay.end().expect("end").tick - replay.header.start_tick) / 2;
    for (index, record) in replay.records.iter().enumerate() {
        match record {
            Record::Snapshot { bytes, .. } => {
                let Ok(ServerMsg::Snapshot(frame)) = arena_protocol::decode_server(bytes) else {
                    panic!("a snapshot record that is no snapshot")
                };
                decoder.apply(&frame).expect("the recorded snapshots decode in order");
            }
            Record::Tick { tick, ops } if *tick > half => {
                let Some(latest) = decoder.latest() else { continue };
                let alive = |player: u32| {
                    latest.ships.iter().any(|s| s.id == player && s.health > 0 && s.respawn_ticks == 0)
                };
                if let Some(op) =
                    ops.iter().position(|op| matches!(op, Op::Input { player, .. } if alive(*player)))
                {
                    return (index, op, *tick);
                }
            }
            _ => {}
        }
    }
    panic!("no input of a live ship in the second half of the match");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_minute_fight_of_16_bots_is_recorded_served_and_re_simulates_exactly() {
    let assets = assets_with_match_length(60.0);
    let replays = scratch("replays");
    let srv = server(&[
        "--assets",
        assets.to_str().expect("utf-8 path"),
        "--replays",
        replays.to_str().expect("utf-8 path"),
    ]);
    let bots: Vec<_> = (0..16)
        .map(|i| {
            tokio::spawn(bot::run(BotConfig {
                url: srv.ws_url(),
                name: format!("bot-{i}"),
                room: None,
                duration: Duration::from_secs(64),
                seed: i,
                behavior: arena_tests::brain::Behavior::Fight,
                link: Default::default(),
                window: None,
                chat_every: None,
            }))
        })
        .collect();
    for b in bots {
        let report = b.await.expect("bot task");
        assert!(report.connected && report.error.is_none(), "{}: {:?}", report.name, report.error);
    }

    // The finished match is listed (the bots leaving may have started and abandoned a second one).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let listing = loop {
        let list = http::get(srv.addr, "/api/replays").await.expect("GET /api/replays");
        assert_eq!(list.status, 200, "{}", list.body);
        let list: serde_json::Value = serde_json::from_str(&list.body).expect("JSON");
        let finished = list.as_array().expect("a list").iter().find(|r| r["reason"] == "finished").cloned();
        if let Some(found) = finished {
            break found;
        }
        assert!(tokio::time::Instant::now() < deadline, "no finished replay listed: {list}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let id = listing["id"].as_str().expect("id");
    let seconds = listing["seconds"].as_f64().expect("seconds");
    assert!((60.0..=63.0).contains(&seconds), "a 60 s match and 2 s of results: {seconds} s");
    assert_eq!(listing["players"].as_array().expect("players").len(), 16, "{listing}");
    assert!(listing["kills"].as_u64().expect("kills") > 0, "{listing}");
    assert_eq!(listing["top"], listing["players"][0]);

    let file = replays.join(format!("{id}.arena-replay"));
    let bytes = std::fs::read(&file).expect("the replay file");
    let served = http::get(srv.addr, &format!("/replays/{id}")).await.expect("GET /replays/ID");
    assert_eq!(served.status, 200);
    assert!(served.bytes == bytes, "the served replay is the file");
    let missing = http::get(srv.addr, "/replays/20200101-000000-nosuchid").await.expect("GET");
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("no replay"), "{}", missing.body);
    let sneaky = http::get(srv.addr, "/replays/..%2F..%2Fetc%2Fpasswd").await.expect("GET");
    assert_eq!(sneaky.status, 404);

    let path = file.to_str().expect("utf-8 path");
    let (code, out, err) = arena_replay(&["verify", path]);
    assert_eq!(code, 0, "verify failed on a fresh recording: {out}{err}");
    assert!(out.starts_with("ok: "), "{out}");
    let (code, out, _) = arena_replay(&["info", path]);
    assert_eq!(code, 0);
    assert!(out.contains(id) && out.contains("Finished"), "{out}");
    let (code, out, _) = arena_replay(&["export", path, "--json"]);
    assert_eq!(code, 0);
    let export: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let kills = export["events"].as_array().expect("events").iter().filter(|e| e["e"] == "kill").count();
    assert_eq!(kills as u64, listing["kills"].as_u64().expect("kills"), "the export has every kill");

    // One input changed: verify fails, at the tick that input was applied (inputs are queued: within
    // a few ticks of when it arrived).
    let mut tampered = Replay::read(&bytes[..]).expect("read");
    let (record, op, tick) = an_input_of_a_live_ship(&tampered);
    let Record::Tick { ops, .. } = &mut tampered.records[record] else { unreachable!() };
    let Op::Input { input, .. } = &mut ops[op] else { unreachable!() };
    input.aim += 1.0;
    input.movement =
        if input.movement == [0.0, 0.0] { [1.0, 0.0] } else { [-input.movement[0], -input.movement[1]] };
    let scratch_dir = scratch("tampered");
    let tampered_path = scratch_dir.join("tampered.arena-replay");
    std::fs::write(&tampered_path, tampered.to_bytes().expect("encode")).expect("write");
    let (code, _, err) = arena_replay(&["verify", tampered_path.to_str().expect("utf-8")]);
    assert_eq!(code, 1, "verify passed a tampered replay: {err}");
    let at: u64 = err
        .split("at tick ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no tick in {err:?}"));
    assert!((tick..=tick + 8).contains(&at), "input of tick {tick} changed, verify failed at {at}: {err}");

    // Cut short, or not a replay at all: a clear error, exit 2.
    let cut = scratch_dir.join("cut.arena-replay");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).expect("write");
    let (code, _, err) = arena_replay(&["verify", cut.to_str().expect("utf-8")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("truncated"), "{err}");
    let (code, _, err) = arena_replay(&["info", assets.join("tuning.toml").to_str().expect("utf-8")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not an Arena replay"), "{err}");

    srv.shut_down().await;
    let _ = std::fs::remove_dir_all(&replays);
    let _ = std::fs::remove_dir_all(&scratch_dir);
}
