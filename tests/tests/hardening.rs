//! Hostile clients against the real server binary. Each test also runs an honest player in another room
//! and checks that it keeps at least 95% of its expected snapshots and that the server is alive after.

use std::time::Duration;

use arena_protocol::{ClientMsg, ErrorCode, Input, ServerMsg};
use arena_tests::client::{Client, ClientError};
use arena_tests::http;
use arena_tests::server::TestServer;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

const SNAPSHOT_RATE: f64 = 30.0;

fn server(args: &[&str]) -> TestServer {
    TestServer::start(args).expect("start arena-server")
}

/// An honest player in a private room, counting snapshots for `span`; resolves to delivered/expected.
fn honest_player(url: String, span: Duration) -> JoinHandle<f64> {
    honest_player_at(url, span, SNAPSHOT_RATE)
}

/// [`honest_player`] on a server sending `rate` snapshots per second.
fn honest_player_at(url: String, span: Duration, rate: f64) -> JoinHandle<f64> {
    tokio::spawn(async move {
        let (mut c, _, _) = Client::join(&url, "honest", &ClientMsg::CreateRoom).await.expect("honest joins");
        let start = Instant::now();
        let mut snapshots = 0u32;
        let mut seq = 0;
        while start.elapsed() < span {
            seq += 1;
            c.send(&ClientMsg::Input(Input { seq, movement: [0.0, 0.0], aim: 0.0, buttons: 0 }))
                .await
                .expect("send");
            match c.recv_timeout(Duration::from_millis(100)).await {
                Ok(Some(ServerMsg::Snapshot(_))) => snapshots += 1,
                Ok(Some(_)) | Err(ClientError::Timeout(_)) => {}
                other => panic!("the honest player was hurt: {other:?}"),
            }
        }
        f64::from(snapshots) / (span.as_secs_f64() * rate)
    })
}

async fn assert_alive(srv: &mut TestServer) {
    assert!(srv.is_alive(), "the server died");
    Client::join(&srv.ws_url(), "after", &ClientMsg::QuickPlay)
        .await
        .expect("the server still takes players");
}

/// Reads until the server closes; returns the last error code and the close reason.
async fn drain(client: &mut Client) -> (Option<ErrorCode>, Option<String>) {
    let (error, reason) = client.read_until_closed().await.expect("the server closes the connection");
    (error.map(|(code, _)| code), reason)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_inputs_is_dropped_then_disconnected() {
    let mut srv = server(&[]);
    let honest = honest_player(srv.ws_url(), Duration::from_secs(5));
    let (mut flooder, _, _) =
        Client::join(&srv.ws_url(), "flood", &ClientMsg::CreateRoom).await.expect("join");
    // 10,000 inputs per second until the server hangs up.
    let start = Instant::now();
    let mut seq = 0u32;
    let mut sent_ok = true;
    while sent_ok && start.elapsed() < Duration::from_secs(8) {
        for _ in 0..100 {
            seq += 1;
            let input = ClientMsg::Input(Input { seq, movement: [1.0, 0.0], aim: 0.0, buttons: 0 });
            if flooder.send(&input).await.is_err() {
                sent_ok = false;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (code, reason) = drain(&mut flooder).await;
    assert_eq!(code, Some(ErrorCode::Flooding));
    assert_eq!(reason.as_deref(), Some("flooding"));
    let kept = honest.await.expect("honest player");
    assert!(kept >= 0.95, "the honest player kept {:.1}% of its snapshots", kept * 100.0);
    assert_alive(&mut srv).await;
}

#[tokio::test]
async fn cross_origin_upgrades_are_refused() {
    let mut srv = server(&["--allowed-origin", "https://friends.example"]);
    let own = format!("http://{}", srv.addr);
    assert_eq!(http::upgrade_status(srv.addr, Some("https://evil.example")).await.expect("request"), 403);
    assert_eq!(http::upgrade_status(srv.addr, Some(&own)).await.expect("request"), 101);
    assert_eq!(http::upgrade_status(srv.addr, Some("http://localhost:5173")).await.expect("request"), 101);
    assert_eq!(http::upgrade_status(srv.addr, Some("https://friends.example")).await.expect("request"), 101);
    assert_eq!(http::upgrade_status(srv.addr, None).await.expect("request"), 101, "bots send no Origin");
    assert_alive(&mut srv).await;
}

#[tokio::test]
async fn connections_per_address_are_capped() {
    let mut srv = server(&["--limit-loopback", "--max-connections-per-ip", "3"]);
    let a = Client::connect(&srv.ws_url()).await.expect("1st");
    let _b = Client::connect(&srv.ws_url()).await.expect("2nd");
    let _c = Client::connect(&srv.ws_url()).await.expect("3rd");
    assert_eq!(http::upgrade_status(srv.addr, None).await.expect("request"), 429);
    drop(a);
    // The place comes free once the server sees the first connection end.
    let deadline = Instant::now() + Duration::from_secs(3);
    while http::upgrade_status(srv.addr, None).await.expect("request") != 101 {
        assert!(Instant::now() < deadline, "the freed place never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(_b);
    assert!(srv.is_alive());
}

#[tokio::test]
async fn an_idle_connection_is_closed_with_a_reason() {
    let mut srv = server(&["--idle-timeout", "1s"]);
    let honest = honest_player(srv.ws_url(), Duration::from_secs(3));
    let mut idle = Client::connect(&srv.ws_url()).await.expect("connect");
    // Neither sends nor reads (so it cannot even answer the server's pings).
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // Its reads now see the error and close frame, unless answering the queued pings fails first on the
    // socket the server has closed (tungstenite writes pongs before it reads on); the server's count of
    // disconnects by reason is the reliable witness.
    let (code, reason) = drain(&mut idle).await;
    if code.is_some() {
        assert_eq!(code, Some(ErrorCode::Idle));
        assert_eq!(reason.as_deref(), Some("idle"));
    }
    let metrics = http::get(srv.addr, "/metrics").await.expect("GET /metrics").body;
    assert!(metrics.contains("arena_disconnects_total{reason=\"idle\"} 1"), "{metrics}");
    // A quiet client that does read (and so answers pings) is not idle.
    let mut quiet = Client::connect(&srv.ws_url()).await.expect("connect");
    quiet.hello("quiet").await.expect("hello");
    match quiet.recv_timeout(Duration::from_secs(3)).await {
        Err(ClientError::Timeout(_)) => {}
        other => panic!("a quiet, reading client was disturbed: {other:?}"),
    }
    let kept = honest.await.expect("honest");
    assert!(kept >= 0.95, "honest player kept {:.1}%", kept * 100.0);
    assert_alive(&mut srv).await;
}

#[tokio::test]
async fn the_message_size_limit_is_a_flag() {
    let mut srv = server(&["--max-message-bytes", "512"]);
    let mut c = Client::connect(&srv.ws_url()).await.expect("connect");
    c.send_raw(Message::Binary(vec![0x90u8; 600].into())).await.expect("send");
    let (code, reason) = drain(&mut c).await;
    assert_eq!(code, Some(ErrorCode::TooLarge));
    assert_eq!(reason.as_deref(), Some("too_large"));
    assert_alive(&mut srv).await;
}

#[tokio::test]
async fn tcp_connections_that_never_upgrade_are_closed() {
    use tokio::io::AsyncReadExt;
    let mut srv = server(&["--handshake-timeout", "1s"]);
    let honest = honest_player(srv.ws_url(), Duration::from_secs(4));
    let mut silent = Vec::new();
    for _ in 0..200 {
        silent.push(tokio::net::TcpStream::connect(srv.addr).await.expect("connect"));
    }
    // Half-sent requests count too.
    for s in silent.iter_mut().take(50) {
        use tokio::io::AsyncWriteExt;
        s.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\n").await.expect("write");
    }
    let start = Instant::now();
    for mut s in silent {
        let mut buf = [0u8; 256];
        let closed = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {} // a 408 response, then the close
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "a silent connection was still open after {:?}", start.elapsed());
    }
    assert!(start.elapsed() < Duration::from_secs(4), "closing took {:?}", start.elapsed());
    let kept = honest.await.expect("honest");
    assert!(kept >= 0.95, "honest player kept {:.1}%", kept * 100.0);
    assert_alive(&mut srv).await;
}

#[tokio::test]
async fn tls_serves_wss_with_a_generated_certificate() {
    use std::sync::Arc;

    use futures_util::{SinkExt, StreamExt};
    use tokio_rustls::rustls::{self, pki_types::ServerName};

    let dir = std::env::temp_dir().join(format!("arena-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("rcgen");
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).expect("write key");
    let mut srv = server(&[
        "--tls-cert",
        cert_path.to_str().expect("utf-8 path"),
        "--tls-key",
        key_path.to_str().expect("utf-8 path"),
    ]);

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).expect("trust the test certificate");
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("protocols")
            .with_root_certificates(roots)
            .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(srv.addr).await.expect("connect");
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("TLS handshake");
    let url = format!("wss://localhost:{}/ws", srv.addr.port());
    let (mut ws, _) = tokio_tungstenite::client_async(url, tls).await.expect("wss upgrade");
    let hello = ClientMsg::Hello {
        version: arena_protocol::PROTOCOL_VERSION,
        name: "secure".into(),
        reconnect_token: None,
    };
    ws.send(Message::Binary(arena_protocol::encode(&hello).expect("encode").into())).await.expect("send");
    let reply = ws.next().await.expect("a reply").expect("a frame");
    let Message::Binary(bytes) = reply else { panic!("expected binary, got {reply:?}") };
    let welcome: ServerMsg = arena_protocol::codec::decode_with_limit(&bytes, usize::MAX).expect("decode");
    assert!(matches!(welcome, ServerMsg::Welcome(_)), "{welcome:?}");

    // Plain WebSocket to the TLS port gets nowhere.
    assert!(Client::connect(&srv.ws_url()).await.is_err());
    assert!(srv.is_alive());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_panicking_room_closes_alone() {
    // Backtraces on, as many run: symbolizing one holds its thread (hundreds of milliseconds were seen on
    // this machine), so the server keeps them off game loop threads, where the honest player's room
    // shares the thread with the panicking one.
    let env = [("ARENA_TEST_PANIC_ON_JOIN", "boom"), ("RUST_BACKTRACE", "1")];
    let mut srv = TestServer::start_with_env(&[], &env).expect("start");
    let honest = honest_player(srv.ws_url(), Duration::from_secs(3));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut boom = Client::connect(&srv.ws_url()).await.expect("connect");
    boom.hello("boom").await.expect("hello");
    boom.send(&ClientMsg::CreateRoom).await.expect("create");
    // The room died before admitting boom; boom's next input finds it gone and is told so.
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut seq = 0;
    let code = loop {
        seq += 1;
        boom.send(&ClientMsg::Input(Input { seq, movement: [0.0, 0.0], aim: 0.0, buttons: 0 }))
            .await
            .expect("send");
        match boom.recv_timeout(Duration::from_millis(50)).await {
            Ok(Some(ServerMsg::Error { code, .. })) => break code,
            Ok(Some(_)) | Err(ClientError::Timeout(_)) => {}
            other => panic!("unexpected: {other:?}"),
        }
        assert!(Instant::now() < deadline, "never told the room closed");
    };
    assert_eq!(code, ErrorCode::RoomClosed);
    // Not fatal: the same connection is still served (any room boom joins panics too, by design of the
    // hook, so it is asked for a pong instead).
    boom.send(&ClientMsg::Ping { client_time: 1.0 }).await.expect("ping");
    boom.expect(|m| matches!(m, ServerMsg::Pong { .. }).then_some(())).await.expect("pong");
    let kept = honest.await.expect("honest");
    assert!(kept >= 0.95, "honest player kept {:.1}%", kept * 100.0);
    assert_alive(&mut srv).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_connect_join_leave_cycles_leave_no_growth() {
    let srv = server(&["--empty-room-grace", "0s", "--reconnect-grace", "0s"]);
    let cycle = |n: usize| {
        let url = srv.ws_url();
        async move {
            for i in 0..n {
                let (c, _, _) =
                    Client::join(&url, &format!("c{i}"), &ClientMsg::QuickPlay).await.expect("join");
                c.close().await;
            }
        }
    };
    // Warm up the allocator and the runtime, then measure.
    cycle(100).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = srv.rss_bytes().expect("rss");
    let workers: Vec<_> = (0..4).map(|_| tokio::spawn(cycle(250))).collect();
    for w in workers {
        w.await.expect("cycles");
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = srv.rss_bytes().expect("rss");
    let growth = after as f64 / before as f64 - 1.0;
    assert!(growth <= 0.10, "RSS grew {:.1}% ({before} -> {after} bytes)", growth * 100.0);
    let rooms = http::get(srv.addr, "/api/rooms").await.expect("rooms").body;
    assert_eq!(rooms.trim(), "[]", "empty rooms should have closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_of_every_kind_costs_only_the_sender() {
    let mut srv = server(&[]);
    let honest = honest_player(srv.ws_url(), Duration::from_secs(4));
    let wrong_shape =
        arena_protocol::encode(&serde_json::json!({"t": "input", "seq": "x", "movement": [0, 0]}))
            .expect("encode");
    let unknown = arena_protocol::encode(&serde_json::json!({"t": "teleport"})).expect("encode");
    let offences: Vec<(Message, ErrorCode)> = vec![
        (Message::Binary(vec![0xc1, 0xff, 0x00].into()), ErrorCode::Malformed),
        (Message::Binary(wrong_shape.into()), ErrorCode::Malformed),
        (Message::Binary(unknown.into()), ErrorCode::UnknownMessage),
        (Message::Text("{\"t\":\"leave\"}".into()), ErrorCode::TextFrame),
        (
            Message::Binary(vec![0x90u8; arena_protocol::MAX_CLIENT_MESSAGE_BYTES + 1].into()),
            ErrorCode::TooLarge,
        ),
    ];
    for round in 0..4 {
        for (offence, expected) in &offences {
            let (mut bad, _, _) = Client::join(&srv.ws_url(), &format!("bad{round}"), &ClientMsg::QuickPlay)
                .await
                .expect("join");
            bad.send_raw(offence.clone()).await.expect("send");
            let (code, reason) = drain(&mut bad).await;
            assert_eq!(code, Some(*expected));
            assert_eq!(reason.as_deref(), Some(expected.as_str()));
        }
    }
    let kept = honest.await.expect("honest");
    assert!(kept >= 0.95, "honest player kept {:.1}%", kept * 100.0);
    assert_alive(&mut srv).await;
}

#[tokio::test]
async fn a_client_that_never_reads_costs_others_nothing() {
    let mut srv = server(&["--snapshot-rate", "60"]);
    let honest = honest_player_at(srv.ws_url(), Duration::from_secs(4), 60.0);
    // The sluggard has a tiny receive buffer and never reads after joining.
    let mut sluggard = Client::connect_sluggish(srv.addr, &srv.ws_url()).await.expect("connect");
    sluggard.hello("sluggard").await.expect("hello");
    sluggard.enter(&ClientMsg::QuickPlay).await.expect("join");
    let kept = honest.await.expect("honest");
    assert!(kept >= 0.95, "honest player kept {:.1}%", kept * 100.0);
    assert_alive(&mut srv).await;
    drop(sluggard);
}

#[tokio::test]
async fn a_websocket_that_never_says_hello_is_closed() {
    let mut srv = server(&["--handshake-timeout", "1s"]);
    let mut silent = Client::connect(&srv.ws_url()).await.expect("connect");
    // It reads (so it answers pings) but never says hello.
    let (code, _) =
        tokio::time::timeout(Duration::from_secs(5), drain(&mut silent)).await.expect("closed in time");
    if code.is_some() {
        assert_eq!(code, Some(ErrorCode::HelloRequired));
    }
    let metrics = http::get(srv.addr, "/metrics").await.expect("GET /metrics").body;
    assert!(metrics.contains("arena_disconnects_total{reason=\"hello_required\"} 1"), "{metrics}");
    assert_alive(&mut srv).await;
}
