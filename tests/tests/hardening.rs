//! Hostile and broken clients at the connection level, against an in-process server: floods, other
//! sites' pages, too many connections, silent sockets, half-open TCP, and TLS. Where a misbehaving
//! client could cost others, an honest player in another room proves it does not.

mod common;

use std::time::Duration;

use arena_protocol::{ClientMsg, ErrorCode, Input, ServerMsg};
use arena_tests::client::{Client, ClientError};
use arena_tests::http;
use arena_tests::raw::SilentPeer;
use common::{
    SNAPSHOT_RATE, assert_honest_kept_up, assert_serving, drain, honest_player, server, wait_for_metric,
};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_inputs_is_dropped_then_disconnected() {
    let srv = server(&[]);
    let honest = honest_player(srv.ws_url(), Duration::from_secs(5), SNAPSHOT_RATE);
    let (mut flooder, _, _) =
        Client::join(&srv.ws_url(), "flood", &ClientMsg::CreateRoom).await.expect("join");
    // 10,000 inputs per second until the server hangs up.
    let start = Instant::now();
    let mut seq = 0u32;
    let mut sent_ok = true;
    while sent_ok && start.elapsed() < Duration::from_secs(8) {
        for _ in 0..100 {
            seq += 1;
            let input =
                ClientMsg::Input(Input { seq, movement: [1.0, 0.0], aim: 0.0, buttons: 0, view_tick: None });
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
    assert_honest_kept_up(honest).await;
    assert_serving(&srv).await;
}

#[tokio::test]
async fn cross_origin_upgrades_are_refused() {
    let srv = server(&["--allowed-origin", "https://friends.example"]);
    let own = format!("http://{}", srv.addr);
    assert_eq!(http::upgrade_status(srv.addr, Some("https://evil.example")).await.expect("request"), 403);
    assert_eq!(http::upgrade_status(srv.addr, Some(&own)).await.expect("request"), 101);
    assert_eq!(http::upgrade_status(srv.addr, Some("http://localhost:5173")).await.expect("request"), 101);
    assert_eq!(http::upgrade_status(srv.addr, Some("https://friends.example")).await.expect("request"), 101);
    assert_eq!(http::upgrade_status(srv.addr, None).await.expect("request"), 101, "bots send no Origin");
    assert_serving(&srv).await;
}

#[tokio::test]
async fn connections_per_address_are_capped() {
    let srv = server(&["--limit-loopback", "--max-connections-per-ip", "3"]);
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
    assert_serving(&srv).await;
}

#[tokio::test]
async fn tcp_connections_that_never_upgrade_are_closed() {
    use tokio::io::AsyncReadExt;
    let srv = server(&["--handshake-timeout", "1s"]);
    let honest = honest_player(srv.ws_url(), Duration::from_secs(4), SNAPSHOT_RATE);
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
    assert_honest_kept_up(honest).await;
    assert_serving(&srv).await;
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
    let srv = server(&[
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
        ticket: None,
    };
    ws.send(Message::Binary(arena_protocol::encode(&hello).expect("encode").into())).await.expect("send");
    let reply = ws.next().await.expect("a reply").expect("a frame");
    let Message::Binary(bytes) = reply else { panic!("expected binary, got {reply:?}") };
    let welcome: ServerMsg = arena_protocol::codec::decode_with_limit(&bytes, usize::MAX).expect("decode");
    assert!(matches!(welcome, ServerMsg::Welcome(_)), "{welcome:?}");

    // Plain WebSocket to the TLS port gets nowhere.
    assert!(Client::connect(&srv.ws_url()).await.is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_idle_connection_is_closed_with_a_reason() {
    let srv = server(&["--idle-timeout", "1s"]);
    let honest = honest_player(srv.ws_url(), Duration::from_secs(3), SNAPSHOT_RATE);
    // Says hello, then neither sends nor answers the server's pings.
    let mut idle = SilentPeer::connect(srv.addr).await.expect("connect");
    idle.send(&ClientMsg::Hello {
        version: arena_protocol::PROTOCOL_VERSION,
        name: "idle".into(),
        reconnect_token: None,
        ticket: None,
    })
    .await
    .expect("hello");
    let started = Instant::now();
    let heard = idle.listen(Duration::from_secs(5)).await.expect("closed in time");
    assert!(started.elapsed() >= Duration::from_millis(900), "closed after {:?}", started.elapsed());
    assert_eq!(heard.error.as_ref().map(|e| e.0), Some(ErrorCode::Idle), "{heard:?}");
    assert_eq!(heard.close, Some((1001, "idle".into())), "going away, naming the code");
    wait_for_metric(srv.addr, "arena_disconnects_total{reason=\"idle\"}", 1.0).await;
    // A quiet client that does read (and so answers pings) is not idle.
    let mut quiet = Client::connect(&srv.ws_url()).await.expect("connect");
    quiet.hello("quiet").await.expect("hello");
    match quiet.recv_timeout(Duration::from_secs(3)).await {
        Err(ClientError::Timeout(_)) => {}
        other => panic!("a quiet, reading client was disturbed: {other:?}"),
    }
    assert_honest_kept_up(honest).await;
    assert_serving(&srv).await;
}

#[tokio::test]
async fn a_websocket_that_never_says_hello_is_closed() {
    let srv = server(&["--handshake-timeout", "1s"]);
    let silent = SilentPeer::connect(srv.addr).await.expect("connect");
    let heard = silent.listen(Duration::from_secs(5)).await.expect("closed in time");
    assert_eq!(heard.error.as_ref().map(|e| e.0), Some(ErrorCode::HelloRequired), "{heard:?}");
    assert_eq!(heard.close, Some((1008, "hello_required".into())), "policy violation, naming the code");
    assert_eq!(heard.messages, ["error hello_required"], "nothing but the error");
    wait_for_metric(srv.addr, "arena_disconnects_total{reason=\"hello_required\"}", 1.0).await;
    assert_serving(&srv).await;
}
