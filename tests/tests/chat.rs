//! Chat, end to end against an in-process server over real WebSockets: a line goes to everyone in the
//! room and nobody outside it, a whisper to its target (and back to its sender) only, text is cleaned
//! and checked, and the rate limit says `slow_down`, then closes a flooding client with `flooding`.

mod common;

use std::time::Duration;

use arena_protocol::{
    CHAT_BURST, CHAT_REFUSALS_BEFORE_FLOODING, ClientMsg, ErrorCode, MAX_CHAT_CHARS, ServerMsg,
};
use arena_tests::client::{Client, ClientError};
use common::{read_until_closed, server};

/// A chat line as a client hears it.
#[derive(Debug, PartialEq)]
struct Heard {
    from: u32,
    name: String,
    text: String,
    to: Option<u32>,
}

/// The next chat line this client hears (snapshots and the like skipped); a server error ends the wait.
async fn next_chat(client: &mut Client) -> Result<Heard, ClientError> {
    client
        .expect(|m| match m {
            ServerMsg::Chat { from, name, text, to, server_time } => {
                assert!(server_time > 0.0, "the server stamps the time");
                Some(Heard { from, name, text, to })
            }
            _ => None,
        })
        .await
}

async fn say(client: &mut Client, text: &str, to: Option<u32>) {
    client.send(&ClientMsg::Chat { text: text.into(), to }).await.expect("send chat");
}

/// No chat line reaches `client` for a while (messages that were sent at the same time as ones that
/// did arrive elsewhere would have come by then).
async fn hears_nothing(client: &mut Client) {
    let until = tokio::time::Instant::now() + Duration::from_millis(400);
    while let Ok(msg) = tokio::time::timeout_at(until, client.recv()).await {
        match msg.expect("recv") {
            Some(ServerMsg::Chat { text, .. }) => panic!("heard {text:?}, said elsewhere"),
            Some(_) => {}
            None => panic!("closed"),
        }
    }
}

#[tokio::test]
async fn a_line_reaches_the_room_and_a_whisper_only_its_target() {
    let srv = server(&[]);
    let (mut a, wa, room) = Client::join(&srv.ws_url(), "Ada", &ClientMsg::CreateRoom).await.expect("a");
    let code = ClientMsg::JoinRoom { code: room.room.clone() };
    let (mut b, wb, _) = Client::join(&srv.ws_url(), "Grace", &code).await.expect("b");
    let (mut d, wd, _) = Client::join(&srv.ws_url(), "Linus", &code).await.expect("d");
    let (mut c, _, other) = Client::join(&srv.ws_url(), "Carol", &ClientMsg::CreateRoom).await.expect("c");
    assert_ne!(other.room, room.room);

    // To the room: control characters stripped, the sender stamped.
    say(&mut a, "  gg\u{7}\n wp  ", None).await;
    let line = Heard { from: wa.player_id, name: "Ada".into(), text: "gg wp".into(), to: None };
    for client in [&mut a, &mut b, &mut d] {
        assert_eq!(next_chat(client).await.expect("the room hears it"), line);
    }
    hears_nothing(&mut c).await;

    // A whisper: its target and its sender hear it. Linus speaks after Grace heard it, so the room had
    // handled the whisper before his line: the first line he hears is his own.
    say(&mut a, "<img src=x onerror=alert(1)>", Some(wb.player_id)).await;
    let whisper = Heard {
        from: wa.player_id,
        name: "Ada".into(),
        text: "<img src=x onerror=alert(1)>".into(),
        to: Some(wb.player_id),
    };
    assert_eq!(next_chat(&mut b).await.expect("the target hears it"), whisper);
    assert_eq!(next_chat(&mut a).await.expect("the sender gets it back"), whisper);
    say(&mut d, "anyone?", None).await;
    let own = next_chat(&mut d).await.expect("d hears a line");
    assert_eq!((own.from, own.text.as_str()), (wd.player_id, "anyone?"), "d never heard the whisper");

    assert_eq!(next_chat(&mut a).await.expect("a hears d").text, "anyone?");

    // A whisper to nobody in the room is refused to its sender, and goes nowhere.
    say(&mut a, "psst", Some(wb.player_id + 1000)).await;
    match next_chat(&mut a).await {
        Err(ClientError::Server { code: ErrorCode::BadChat, message }) => {
            assert!(message.contains("whisper"), "{message}")
        }
        other => panic!("expected bad_chat, got {other:?}"),
    }
}

#[tokio::test]
async fn empty_and_long_lines_are_refused_and_the_connection_stays() {
    let srv = server(&[]);
    let (mut a, _, _) = Client::join(&srv.ws_url(), "Ada", &ClientMsg::CreateRoom).await.expect("a");
    for text in [" \u{0}\t ".to_owned(), "x".repeat(MAX_CHAT_CHARS + 1)] {
        say(&mut a, &text, None).await;
        match next_chat(&mut a).await {
            Err(ClientError::Server { code: ErrorCode::BadChat, .. }) => {}
            other => panic!("expected bad_chat for {} chars, got {other:?}", text.len()),
        }
    }
    let longest = "é".repeat(MAX_CHAT_CHARS);
    say(&mut a, &longest, None).await;
    assert_eq!(next_chat(&mut a).await.expect("still connected").text, longest);
}

#[tokio::test]
async fn too_many_lines_slow_down_then_flooding_closes_the_connection() {
    let srv = server(&[]);
    let (mut a, _, room) = Client::join(&srv.ws_url(), "Ada", &ClientMsg::CreateRoom).await.expect("a");
    let (mut b, _, _) =
        Client::join(&srv.ws_url(), "Grace", &ClientMsg::JoinRoom { code: room.room }).await.expect("b");
    for i in 0..CHAT_BURST {
        say(&mut a, &format!("line {i}"), None).await;
        assert_eq!(next_chat(&mut a).await.expect("within the limit").text, format!("line {i}"));
    }
    for _ in 0..CHAT_REFUSALS_BEFORE_FLOODING {
        say(&mut a, "more", None).await;
        match next_chat(&mut a).await {
            Err(ClientError::Server { code: ErrorCode::SlowDown, .. }) => {}
            other => panic!("expected slow_down, got {other:?}"),
        }
    }
    say(&mut a, "and more", None).await;
    let (last_error, reason) = read_until_closed(&mut a).await;
    assert_eq!(last_error.map(|(code, _)| code), Some(ErrorCode::Flooding));
    assert_eq!(reason.as_deref(), Some("flooding"));
    // The room heard the lines within the limit, and nothing refused; it carries on.
    for i in 0..CHAT_BURST {
        assert_eq!(next_chat(&mut b).await.expect("b hears").text, format!("line {i}"));
    }
    say(&mut b, "still here", None).await;
    assert_eq!(next_chat(&mut b).await.expect("the room carries on").text, "still here");
}
