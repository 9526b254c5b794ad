//! Who may open the WebSocket (`--allowed-origins`) and read `/metrics` (`--metrics-key`,
//! `--metrics-listen`).

use crate::common::*;
use crate::connection_limits::request;

fn upgrade_headers(origin: Option<&str>) -> String {
    let mut h = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n".to_owned();
    if let Some(origin) = origin {
        h.push_str(&format!("Origin: {origin}\r\n"));
    }
    h
}

/// The status line of a WebSocket handshake from a page of `origin` (an upgrade ends the
/// HTTP exchange, so only the status line is read).
async fn handshake(s: &TestServer, origin: Option<&str>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(s.addr).await.unwrap();
    let req = format!(
        "GET /ws?token={} HTTP/1.1\r\nHost: test\r\n{}\r\n",
        s.token("a"),
        upgrade_headers(origin)
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut buf = [0u8; 12];
    tcp.read_exact(&mut buf).await.unwrap();
    String::from_utf8_lossy(&buf).into_owned()
}

#[tokio::test]
async fn only_allowed_page_origins_open_the_websocket() {
    let s = start_with(|c| c.allowed_origins = vec!["https://meet.example.com".into()]).await;
    assert_eq!(
        handshake(&s, Some("https://evil.example")).await,
        "HTTP/1.1 403"
    );
    for origin in [
        Some("https://meet.example.com"),
        Some("https://MEET.example.com/"),
        None,
    ] {
        assert_eq!(handshake(&s, origin).await, "HTTP/1.1 101", "{origin:?}");
    }
}

#[tokio::test]
async fn metrics_can_ask_for_a_key() {
    let s = start_with(|c| c.metrics_key = Some("scrape-key".into())).await;
    assert_eq!(request(s.addr, "/metrics", "").await.status, 401);
    assert_eq!(
        request(s.addr, "/metrics", "Authorization: Bearer wrong\r\n")
            .await
            .status,
        401
    );
    let ok = request(s.addr, "/metrics", "Authorization: Bearer scrape-key\r\n").await;
    assert_eq!(ok.status, 200);
    assert!(ok.body.contains("meetbridge_connections_total"));
}

#[tokio::test]
async fn metrics_can_move_to_their_own_address() {
    let s = start_with(|c| c.metrics_listen = Some("127.0.0.1:0".parse().unwrap())).await;
    assert_eq!(request(s.addr, "/metrics", "").await.status, 404);
    let elsewhere = s.server.as_ref().unwrap().metrics_addr.expect("bound");
    let ok = request(elsewhere, "/metrics", "").await;
    assert_eq!(ok.status, 200);
    assert!(ok.body.contains("meetbridge_connections_total"));
    assert_eq!(request(elsewhere, "/healthz", "").await.status, 200);
    assert_eq!(request(elsewhere, "/api/info", "").await.status, 404);
}
