//! What the server does with messages that break the protocol, against an in-process server: each gets
//! an `error` with its code and a close frame naming it, for the sender only; the players around it,
//! in its room and in others, carry on.

mod common;

use std::time::Duration;

use arena_protocol::{ClientMsg, ErrorCode, MAX_CLIENT_MESSAGE_BYTES, PROTOCOL_VERSION};
use arena_tests::client::Client;
use common::{
    SNAPSHOT_RATE, assert_honest_kept_up, assert_serving, drain, honest_player, read_until_closed, server,
    snapshots_for,
};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// One of each way to break the protocol after joining, with the error it must get.
fn offences() -> Vec<(&'static str, Message, ErrorCode)> {
    // Valid MessagePack, but an input whose seq is a string.
    let wrong_shape =
        arena_protocol::encode(&serde_json::json!({"t": "input", "seq": "x", "movement": [0, 0]}))
            .expect("encode");
    let unknown = arena_protocol::encode(&serde_json::json!({"t": "teleport"})).expect("encode");
    let second_hello = arena_protocol::encode(&ClientMsg::Hello {
        version: PROTOCOL_VERSION,
        name: "again".into(),
        reconnect_token: None,
        ticket: None,
    })
    .expect("encode");
    vec![
        ("bad MessagePack", Message::Binary(vec![0xc1, 0xff, 0x00].into()), ErrorCode::Malformed),
        ("wrong shape", Message::Binary(wrong_shape.into()), ErrorCode::Malformed),
        ("unknown type", Message::Binary(unknown.into()), ErrorCode::UnknownMessage),
        ("text frame", Message::Text("{\"t\":\"leave\"}".into()), ErrorCode::TextFrame),
        (
            "oversized",
            Message::Binary(vec![0x90u8; MAX_CLIENT_MESSAGE_BYTES + 1].into()),
            ErrorCode::TooLarge,
        ),
        ("second hello", Message::Binary(second_hello.into()), ErrorCode::HelloRequired),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_broken_message_costs_only_its_sender() {
    let srv = server(&[]);
    let elsewhere = honest_player(srv.ws_url(), Duration::from_secs(4), SNAPSHOT_RATE);
    let (mut roommate, _, room) =
        Client::join(&srv.ws_url(), "roommate", &ClientMsg::CreateRoom).await.expect("roommate joins");
    let join = ClientMsg::JoinRoom { code: room.room.clone() };
    let start = Instant::now();
    let mut received = 0;
    for round in 0..2 {
        for (what, offence, expected) in offences() {
            let (mut bad, _, _) =
                Client::join(&srv.ws_url(), &format!("bad{round}"), &join).await.expect("join");
            bad.send_raw(offence).await.expect("send");
            let (error, reason) = read_until_closed(&mut bad).await;
            let (code, message) = error.unwrap_or_else(|| panic!("{what}: no error message"));
            assert_eq!(code, expected, "{what}: {message}");
            assert_eq!(reason.as_deref(), Some(expected.as_str()), "{what}: the close frame names the code");
            // The room-mate reads on between offences.
            received += snapshots_for(&mut roommate, Duration::from_millis(100)).await.len();
        }
    }
    received += snapshots_for(&mut roommate, Duration::from_millis(500)).await.len();
    let expected = start.elapsed().as_secs_f64() * SNAPSHOT_RATE;
    assert!(
        received as f64 >= expected * common::HONEST_SHARE,
        "the room-mate got {received} snapshots of {expected:.0}"
    );
    assert_honest_kept_up(elsewhere).await;
    assert_serving(&srv).await;
}

#[tokio::test]
async fn version_mismatch_gets_an_error_and_a_close() {
    let srv = server(&[]);
    let mut c = Client::connect(&srv.ws_url()).await.expect("connect");
    c.send(&ClientMsg::Hello {
        version: PROTOCOL_VERSION + 1,
        name: "future".into(),
        reconnect_token: None,
        ticket: None,
    })
    .await
    .expect("send");
    let (error, reason) = read_until_closed(&mut c).await;
    let (code, message) = error.expect("an error message");
    assert_eq!(code, ErrorCode::VersionMismatch);
    assert!(message.contains(&PROTOCOL_VERSION.to_string()), "{message}");
    assert_eq!(reason.as_deref(), Some("version_mismatch"));
}

#[tokio::test]
async fn messages_before_hello_are_refused() {
    let srv = server(&[]);
    let mut c = Client::connect(&srv.ws_url()).await.expect("connect");
    c.send(&ClientMsg::QuickPlay).await.expect("send");
    assert_eq!(drain(&mut c).await, (Some(ErrorCode::HelloRequired), Some("hello_required".into())));
}

#[tokio::test]
async fn bad_names_are_refused() {
    let srv = server(&[]);
    for name in ["   ", &"x".repeat(arena_protocol::MAX_NAME_CHARS + 1), "bell\u{7}"] {
        let mut c = Client::connect(&srv.ws_url()).await.expect("connect");
        c.send(&ClientMsg::Hello {
            version: PROTOCOL_VERSION,
            name: name.into(),
            reconnect_token: None,
            ticket: None,
        })
        .await
        .expect("send");
        assert_eq!(drain(&mut c).await, (Some(ErrorCode::BadName), Some("bad_name".into())), "{name:?}");
    }
}

#[tokio::test]
async fn the_message_size_limit_is_a_flag() {
    let srv = server(&["--max-message-bytes", "512"]);
    let mut c = Client::connect(&srv.ws_url()).await.expect("connect");
    c.send_raw(Message::Binary(vec![0x90u8; 600].into())).await.expect("send");
    assert_eq!(drain(&mut c).await, (Some(ErrorCode::TooLarge), Some("too_large".into())));
    // Up to the limit is fine (an array of 500 nils is malformed, not too large).
    let mut c = Client::connect(&srv.ws_url()).await.expect("connect");
    c.send_raw(Message::Binary(vec![0x90u8; 500].into())).await.expect("send");
    assert_eq!(drain(&mut c).await, (Some(ErrorCode::Malformed), Some("malformed".into())));
    assert_serving(&srv).await;
}
