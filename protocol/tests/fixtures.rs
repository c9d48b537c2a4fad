//! Golden fixtures: the exact bytes of one example of every message, checked into `protocol/fixtures/`.
//!
//! Each example is stored twice: `<dir>_<name>.msgpack` (the bytes) and `<dir>_<name>.json` (the same
//! value as JSON, which the JS client's tests compare their decoding with). `VERSION` holds the protocol
//! version the files were made for. The test fails when the encoding of any example differs from its
//! file: if the version was not bumped, the wire format changed by accident; if it was, the fixtures
//! need regenerating with `ARENA_UPDATE_FIXTURES=1 cargo test -p arena-protocol --test fixtures`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use arena_protocol::codec::decode_with_limit;
use arena_protocol::{ClientMsg, PROTOCOL_VERSION, ServerMsg, encode, examples};
use serde::Serialize;

/// Fixture files other tests own.
const OTHER_FIXTURES: [&str; 4] = ["motion.json", "limits.json", "replay.arena-replay", "replay.json"];

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn all_examples() -> Vec<(String, Vec<u8>, serde_json::Value)> {
    let mut out = Vec::new();
    fn push<T: Serialize>(out: &mut Vec<(String, Vec<u8>, serde_json::Value)>, name: String, msg: &T) {
        let bytes = encode(msg).expect("encode");
        let json = serde_json::to_value(msg).expect("json");
        out.push((name, bytes, json));
    }
    for (name, msg) in examples::client_messages() {
        push(&mut out, format!("client_{name}"), &msg);
    }
    for (name, msg) in examples::server_messages() {
        push(&mut out, format!("server_{name}"), &msg);
    }
    out
}

#[test]
fn fixtures_match_the_encoding() {
    let dir = dir();
    if std::env::var_os("ARENA_UPDATE_FIXTURES").is_some() {
        fs::create_dir_all(&dir).expect("create fixtures dir");
        // Only this test's files: other tests keep their own fixtures here.
        for entry in fs::read_dir(&dir).expect("read fixtures dir") {
            let path = entry.expect("entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if !OTHER_FIXTURES.contains(&name) {
                fs::remove_file(&path).expect("remove old fixture");
            }
        }
        for (name, bytes, json) in all_examples() {
            fs::write(dir.join(format!("{name}.msgpack")), bytes).expect("write fixture");
            let pretty = serde_json::to_string_pretty(&json).expect("json") + "\n";
            fs::write(dir.join(format!("{name}.json")), pretty).expect("write fixture json");
        }
        fs::write(dir.join("VERSION"), format!("{PROTOCOL_VERSION}\n")).expect("write VERSION");
        return;
    }

    let recorded: u16 = fs::read_to_string(dir.join("VERSION"))
        .expect("protocol/fixtures/VERSION missing: run with ARENA_UPDATE_FIXTURES=1")
        .trim()
        .parse()
        .expect("VERSION is a number");
    let mut changed = Vec::new();
    for (name, bytes, json) in all_examples() {
        let on_disk = fs::read(dir.join(format!("{name}.msgpack"))).unwrap_or_default();
        let json_on_disk: Option<serde_json::Value> = fs::read_to_string(dir.join(format!("{name}.json")))
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok());
        if on_disk != bytes || json_on_disk.as_ref() != Some(&json) {
            changed.push(name);
        }
    }
    if changed.is_empty() {
        assert_eq!(recorded, PROTOCOL_VERSION, "fixtures are stamped for another version: regenerate them");
        return;
    }
    if recorded == PROTOCOL_VERSION {
        panic!(
            "the wire encoding of {changed:?} changed but PROTOCOL_VERSION is still {PROTOCOL_VERSION}: \
             bump it, update protocol/README.md, then regenerate with ARENA_UPDATE_FIXTURES=1"
        );
    }
    panic!(
        "PROTOCOL_VERSION is {PROTOCOL_VERSION} but the fixtures are for {recorded} and {changed:?} differ: \
         regenerate with ARENA_UPDATE_FIXTURES=1 cargo test -p arena-protocol --test fixtures"
    );
}

#[test]
fn fixture_files_decode_to_their_examples() {
    let dir = dir();
    for (name, msg) in examples::client_messages() {
        let bytes = fs::read(dir.join(format!("client_{name}.msgpack"))).expect("fixture file");
        let decoded: ClientMsg = arena_protocol::decode(&bytes).expect("decode fixture");
        assert_eq!(decoded, msg, "client_{name}");
    }
    for (name, msg) in examples::server_messages() {
        let bytes = fs::read(dir.join(format!("server_{name}.msgpack"))).expect("fixture file");
        let decoded: ServerMsg = decode_with_limit(&bytes, usize::MAX).expect("decode fixture");
        assert_eq!(decoded, msg, "server_{name}");
    }
}

#[test]
fn no_stray_fixture_files() {
    let expected: BTreeSet<String> = all_examples()
        .into_iter()
        .flat_map(|(name, _, _)| [format!("{name}.msgpack"), format!("{name}.json")])
        .chain(["VERSION".to_owned()])
        // Written by the server's tests: the movement rules' golden vectors and the shared limits.
        .chain(OTHER_FIXTURES.iter().map(|name| (*name).to_owned()))
        .collect();
    let on_disk: BTreeSet<String> = fs::read_dir(dir())
        .expect("fixtures dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        on_disk, expected,
        "fixture files and examples differ: regenerate with ARENA_UPDATE_FIXTURES=1"
    );
}
