//! The `arena-bots` command against an in-process server: its JSON report, its exit code, and bots that
//! really fight.

mod common;

use common::server;

/// Runs `arena-bots` against `url` with `args` (and `--json`); asserts it succeeded and returns its
/// report with the raw output for messages.
async fn bots_report(url: &str, args: &[&str]) -> (serde_json::Value, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_arena-bots"))
        .args(["--url", url])
        .args(args)
        .arg("--json")
        .output()
        .await
        .expect("run arena-bots");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "arena-bots failed: {stdout} {}", String::from_utf8_lossy(&out.stderr));
    (serde_json::from_str(stdout.trim()).expect("one JSON object"), stdout)
}

#[tokio::test]
async fn arena_bots_reports_rates_in_json() {
    let srv = server(&["--tick-rate", "30", "--snapshot-rate", "15"]);
    let (summary, _) = bots_report(&srv.ws_url(), &["--count", "8", "--duration", "3s"]).await;
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

#[tokio::test]
async fn fighting_bots_play_the_game_and_report_their_aim() {
    let srv = server(&[]);
    let (summary, stdout) =
        bots_report(&srv.ws_url(), &["--count", "6", "--duration", "10s", "--behavior", "fight"]).await;
    let count = |v: &serde_json::Value, key: &str| v[key].as_u64().unwrap_or_else(|| panic!("{key}: {v}"));
    let (kills, shots, hits) = (count(&summary, "kills"), count(&summary, "shots"), count(&summary, "hits"));
    assert!(kills >= 1, "six fighting bots in 10 s destroyed nothing:\n{stdout}");
    // Every kill took at least four hits (25 damage of 100 health), all of them by these bots.
    assert!(hits >= 4 * kills && shots >= hits, "{shots} shots, {hits} hits, {kills} kills");
    let per_bot = summary["per_bot"].as_array().expect("per_bot");
    assert_eq!(per_bot.len(), 6);
    assert_eq!(per_bot.iter().map(|b| count(b, "hits")).sum::<u64>(), hits);
    assert_eq!(per_bot.iter().map(|b| count(b, "shots")).sum::<u64>(), shots);
    assert_eq!(per_bot.iter().map(|b| count(b, "kills")).sum::<u64>(), kills);
    assert!(per_bot.iter().all(|b| count(b, "shots") > 0 && b["name"].as_str().is_some()), "{stdout}");
    let rate = summary["hit_rate"].as_f64().expect("hit_rate");
    assert!((rate - hits as f64 / shots as f64).abs() < 1e-9);
}

#[tokio::test]
async fn chatting_bots_say_lines_their_room_hears() {
    let srv = server(&[]);
    let (summary, stdout) =
        bots_report(&srv.ws_url(), &["--count", "3", "--duration", "3500ms", "--chat-every", "1s"]).await;
    let (sent, heard) =
        (summary["chat_sent"].as_u64().expect("sent"), summary["chat_heard"].as_u64().expect("heard"));
    // Three lines each (at 1, 2 and 3 s; a stalled machine may cut the last), within the rate limit,
    // in one room (quick play): each line is heard by all three, but for the last few in flight when
    // a bot's time was up.
    assert!((7..=9).contains(&sent), "{stdout}");
    assert!(heard >= 2 * sent && heard <= 3 * sent, "{heard} heard of {sent} said:\n{stdout}");
}
