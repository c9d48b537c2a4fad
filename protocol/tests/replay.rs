//! The replay file format: the golden fixture `fixtures/replay.arena-replay` is the example replay's
//! bytes (and `replay.json` the same, decoded, for the JS tests); readers refuse what is not a whole
//! replay of a format they know, with an error that says which.
//!
//! Regenerate with `ARENA_UPDATE_FIXTURES=1 cargo test -p arena-protocol --test replay` after a
//! [`FORMAT_VERSION`] bump.

use std::path::{Path, PathBuf};

use arena_protocol::examples;
use arena_protocol::replay::{FORMAT_VERSION, MAGIC, Record, Replay, ReplayError, ReplayReader};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

/// The example as JSON: header and records, message bytes as arrays of numbers.
fn as_json(replay: &Replay) -> serde_json::Value {
    let records: Vec<serde_json::Value> = replay
        .records
        .iter()
        .map(|r| match r {
            Record::Tick { tick, ops } => serde_json::json!({
                "kind": "tick",
                "tick": tick,
                "ops": ops.len(),
            }),
            Record::Snapshot { tick, keyframe, bytes } => {
                serde_json::json!({ "kind": "snapshot", "tick": tick, "keyframe": keyframe, "bytes": bytes })
            }
            Record::Events { tick, bytes } => {
                serde_json::json!({ "kind": "events", "tick": tick, "bytes": bytes })
            }
            Record::End(end) => serde_json::json!({ "kind": "end", "end": end }),
        })
        .collect();
    let mut header = serde_json::to_value(&replay.header).expect("json");
    header["state"] = serde_json::json!(replay.header.state);
    serde_json::json!({ "header": header, "records": records })
}

#[test]
fn the_fixture_is_the_example_replay() {
    let example = examples::replay();
    let bytes = example.to_bytes().expect("encode");
    let json = serde_json::to_string_pretty(&as_json(&example)).expect("json") + "\n";
    if std::env::var_os("ARENA_UPDATE_FIXTURES").is_some() {
        std::fs::write(fixture("replay.arena-replay"), &bytes).expect("write fixture");
        std::fs::write(fixture("replay.json"), &json).expect("write fixture");
    }
    let stored = std::fs::read(fixture("replay.arena-replay"))
        .expect("fixture (regenerate with ARENA_UPDATE_FIXTURES=1)");
    assert_eq!(
        stored, bytes,
        "the replay format changed: bump FORMAT_VERSION and regenerate with ARENA_UPDATE_FIXTURES=1"
    );
    assert_eq!(std::fs::read_to_string(fixture("replay.json")).expect("fixture"), json);
    assert_eq!(u16::from_le_bytes([stored[8], stored[9]]), FORMAT_VERSION);
    let decoded = Replay::read(&stored[..]).expect("decode");
    assert_eq!(decoded, example);
    // Each keyframe starts a chunk: header, [tick, tick], [keyframe, events, delta], [end].
    let (header, end) = ReplayReader::summary(std::io::Cursor::new(&stored)).expect("summary");
    assert_eq!(header, example.header);
    assert_eq!(end.as_ref(), example.end());
}

#[test]
fn what_is_not_a_whole_replay_is_refused_with_a_reason() {
    let bytes = examples::replay().to_bytes().expect("encode");
    let read = |b: &[u8]| Replay::read(b).expect_err("accepted");

    assert!(matches!(read(b"{\"not\": \"a replay\"}"), ReplayError::NotAReplay));
    assert!(matches!(read(&bytes[..5]), ReplayError::NotAReplay));

    let mut newer = bytes.clone();
    newer[8..10].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    let err = read(&newer);
    assert!(matches!(err, ReplayError::NewerFormat { found, .. } if found == FORMAT_VERSION + 1), "{err}");
    assert!(err.to_string().contains("update Arena"), "{err}");

    // Cut anywhere inside a chunk: truncated, naming the chunk; the summary says so too.
    for cut in [12, bytes.len() / 2, bytes.len() - 1] {
        let err = read(&bytes[..cut]);
        assert!(matches!(err, ReplayError::Truncated { .. }), "cut at {cut}: {err}");
        assert!(err.to_string().contains("truncated"), "{err}");
        let summary = ReplayReader::summary(std::io::Cursor::new(&bytes[..cut]));
        assert!(summary.is_err(), "cut at {cut}");
    }

    // A chunk claiming 4 GiB is refused before anything is allocated for it.
    let mut huge = bytes[..10].to_vec();
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(read(&huge), ReplayError::ChunkTooLarge { chunk: 0, .. }));

    // A damaged chunk: its bytes are not zstd.
    let mut damaged = bytes.clone();
    for b in &mut damaged[14..30] {
        *b ^= 0x5a;
    }
    assert!(matches!(read(&damaged), ReplayError::Corrupt { chunk: 0, .. }));
    assert_eq!(&bytes[..8], &MAGIC);
}
