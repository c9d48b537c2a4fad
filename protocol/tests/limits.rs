//! The limits and codes the web client must agree with, written to `protocol/fixtures/limits.json` for
//! its tests to check its own constants against (name length, room-code alphabet, which errors end the
//! connection). Regenerate with `ARENA_UPDATE_FIXTURES=1 cargo test -p arena-protocol --test limits`.

use std::path::Path;

use arena_protocol::{
    CHAT_BURST, CHAT_REFUSALS_BEFORE_FLOODING, CHAT_WINDOW_SECS, ErrorCode, HANDOFF_TICKET_SECS,
    MAX_CHAT_CHARS, MAX_CLIENT_MESSAGE_BYTES, MAX_INPUTS_PER_MESSAGE, MAX_NAME_CHARS, MAX_NOTICE_CHARS,
    POSITION_SCALE, PROTOCOL_VERSION, ROOM_CODE_ALPHABET, ROOM_CODE_LEN,
};
use serde_json::json;

fn limits() -> serde_json::Value {
    let fatal: Vec<&str> = ErrorCode::ALL.iter().filter(|c| c.is_fatal()).map(|c| c.as_str()).collect();
    let recoverable: Vec<&str> =
        ErrorCode::ALL.iter().filter(|c| !c.is_fatal()).map(|c| c.as_str()).collect();
    json!({
        "protocol_version": PROTOCOL_VERSION,
        "max_name_chars": MAX_NAME_CHARS,
        "room_code_len": ROOM_CODE_LEN,
        "room_code_alphabet": String::from_utf8_lossy(ROOM_CODE_ALPHABET),
        "max_client_message_bytes": MAX_CLIENT_MESSAGE_BYTES,
        "max_inputs_per_message": MAX_INPUTS_PER_MESSAGE,
        "max_chat_chars": MAX_CHAT_CHARS,
        "chat_burst": CHAT_BURST,
        "chat_window_secs": CHAT_WINDOW_SECS,
        "chat_refusals_before_flooding": CHAT_REFUSALS_BEFORE_FLOODING,
        "position_scale": POSITION_SCALE,
        "handoff_ticket_secs": HANDOFF_TICKET_SECS,
        "max_notice_chars": MAX_NOTICE_CHARS,
        "fatal_errors": fatal,
        "recoverable_errors": recoverable,
        "reconnect_after": ErrorCode::ALL
            .iter()
            .filter(|c| c.is_fatal() && c.reconnect_may_help())
            .map(|c| c.as_str())
            .collect::<Vec<_>>(),
    })
}

#[test]
fn limits_match_the_fixture() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/limits.json");
    let text = serde_json::to_string_pretty(&limits()).expect("json") + "\n";
    if std::env::var_os("ARENA_UPDATE_FIXTURES").is_some() {
        std::fs::write(&path, &text).expect("write limits fixture");
        return;
    }
    let recorded = std::fs::read_to_string(&path)
        .expect("protocol/fixtures/limits.json missing: run with ARENA_UPDATE_FIXTURES=1");
    assert_eq!(
        recorded, text,
        "a limit the client shares changed: regenerate with ARENA_UPDATE_FIXTURES=1 and update web/src/limits.ts"
    );
}
