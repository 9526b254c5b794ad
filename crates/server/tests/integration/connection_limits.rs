//! The HTTP side under hostile load: silent and half-sent requests are timed out, open
//! connections are capped (globally and per address) with a reserve that keeps
//! `/healthz` and the admin API answering.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::*;

/// Reads until the server closes the connection; how long that took, or `None` if it
/// stayed open for `within`.
async fn closed_within(tcp: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((started + within).into(), tcp.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
        }
    }
}

/// One request on a fresh connection, `Connection: close`; the status code and body.
async fn get(addr: SocketAddr, path: &str, headers: &str) -> (u16, String) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    get_on(&mut tcp, path, headers).await
}

async fn get_on(tcp: &mut TcpStream, path: &str, headers: &str) -> (u16, String) {
    let answer = request_on(tcp, path, headers).await;
    (answer.status, answer.body)
}

/// An HTTP answer read off the wire.
pub struct Answer {
    pub status: u16,
    /// The header lines, as sent.
    pub head: String,
    pub body: String,
}

impl Answer {
    /// The value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// `GET path` on a fresh connection with `Connection: close`.
pub async fn request(addr: SocketAddr, path: &str, headers: &str) -> Answer {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    request_on(&mut tcp, path, headers).await
}

async fn request_on(tcp: &mut TcpStream, path: &str, headers: &str) -> Answer {
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{headers}\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(WAIT, tcp.read_to_end(&mut answer))
        .await
        .expect("an answer")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"));
    Answer {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

#[tokio::test]
async fn silent_and_half_sent_requests_are_closed_after_the_header_read_timeout() {
    let s = start_with(|c| c.connections.header_read_timeout_secs = 1).await;
    let started = Instant::now();
    let mut silent = TcpStream::connect(s.addr).await.unwrap();
    let mut half = TcpStream::connect(s.addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: ")
        .await
        .unwrap();
    for tcp in [&mut silent, &mut half] {
        closed_within(tcp, Duration::from_secs(4))
            .await
            .expect("closed by the server");
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(900), "closed after {took:?}");
    }
    // A kept-alive connection that goes quiet after a request is closed too.
    let mut idle = TcpStream::connect(s.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    assert!(closed_within(&mut idle, Duration::from_secs(4))
        .await
        .is_some());
    // The server is fine.
    assert_eq!(get(s.addr, "/healthz", "").await, (200, "ok\n".into()));
}

#[tokio::test]
async fn a_full_server_keeps_its_reserve_for_the_health_check_and_the_admin_api() {
    let s = start_with(|c| {
        c.connections.max_connections = 6;
        c.connections.connection_reserve = 2;
    })
    .await;
    // Four WebSockets take the ordinary places.
    let mut sockets = Vec::new();
    for i in 0..4 {
        sockets.push(s.client(&format!("u{i}")).await);
    }
    // The fifth and sixth connections are in the reserve: operators only.
    let mut reserved = TcpStream::connect(s.addr).await.unwrap();
    let mut reserved2 = TcpStream::connect(s.addr).await.unwrap();
    let (status, body) = get_on(&mut reserved, "/ws", "").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("connection limit"), "{body}");
    assert_eq!(get_on(&mut reserved2, "/healthz", "").await.0, 200);
    assert_eq!(
        get(
            s.addr,
            "/api/admin/spaces",
            "Authorization: Bearer test-admin-key\r\n"
        )
        .await
        .0,
        200
    );
    // With every place taken, a new connection is closed at once, and counted.
    let _held = [
        TcpStream::connect(s.addr).await.unwrap(),
        TcpStream::connect(s.addr).await.unwrap(),
    ];
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut over = TcpStream::connect(s.addr).await.unwrap();
    assert!(closed_within(&mut over, Duration::from_secs(2))
        .await
        .is_some());
    assert!(s.hub().metrics.refused_connections("full") >= 1);
    // The WebSockets were never disturbed, and a closed one gives its place back.
    sockets[0]
        .request(json!({"op": "ping"}))
        .await
        .last()
        .map(|f| assert_eq!(f["op"], "pong"))
        .expect("a pong");
    drop(_held);
    sockets.pop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = s.client("again").await;
    again
        .request(json!({"op": "ping"}))
        .await
        .last()
        .map(|f| assert_eq!(f["op"], "pong"))
        .expect("a pong");
}

#[tokio::test]
async fn one_address_cannot_take_every_place() {
    let s = start_with(|c| c.connections.max_connections_per_ip = 3).await;
    let mut sockets = Vec::new();
    for i in 0..3 {
        sockets.push(s.client(&format!("u{i}")).await);
    }
    let mut fourth = TcpStream::connect(s.addr).await.unwrap();
    assert!(closed_within(&mut fourth, Duration::from_secs(2))
        .await
        .is_some());
    assert_eq!(s.hub().metrics.refused_connections("per_ip"), 1);
    sockets.pop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    s.client("u9")
        .await
        .request(json!({"op": "ping"}))
        .await
        .last()
        .map(|f| assert_eq!(f["op"], "pong"))
        .expect("a pong");
}
