//! The `arena-bots` command against an in-process server: its JSON report, its exit code, and bots that
//! really fight.

mod common;

use common::server;

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
