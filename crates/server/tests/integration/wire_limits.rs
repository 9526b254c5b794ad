//! What a client sends that breaks the WebSocket itself gets the RFC 6455 close code that
//! says what was wrong; the rate rule is in frames and bytes and closes abusers with 1008;
//! an error frame never echoes more than a bounded part of a huge request.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;

/// A WebSocket opened by hand, so that it can send what a real client library refuses to.
struct RawSocket {
    tcp: TcpStream,
    buf: Vec<u8>,
}

impl RawSocket {
    async fn open(s: &TestServer, user: &str) -> RawSocket {
        let mut tcp = TcpStream::connect(s.addr).await.unwrap();
        let request = format!(
            "GET /ws?token={} HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            s.token(user)
        );
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut raw = RawSocket {
            tcp,
            buf: Vec::new(),
        };
        while !raw.buf.windows(4).any(|w| w == b"\r\n\r\n") {
            raw.fill().await;
        }
        let end = raw.buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert!(raw.buf.starts_with(b"HTTP/1.1 101"));
        raw.buf.drain(..end);
        raw
    }

    async fn fill(&mut self) -> usize {
        let mut chunk = [0u8; 65536];
        let n = tokio::time::timeout(WAIT, self.tcp.read(&mut chunk))
            .await
            .expect("the server answers")
            .unwrap_or(0);
        self.buf.extend_from_slice(&chunk[..n]);
        n
    }

    /// Sends one frame: `first` is FIN/RSV/opcode, the payload is masked when `masked`.
    async fn frame(&mut self, first: u8, payload: &[u8], masked: bool) {
        let mut out = vec![first];
        let mask_bit = if masked { 0x80 } else { 0 };
        match payload.len() {
            n if n < 126 => out.push(mask_bit | n as u8),
            n if n < 65536 => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let key = [1u8, 2, 3, 4];
        if masked {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        } else {
            out.extend_from_slice(payload);
        }
        let _ = self.tcp.write_all(&out).await;
    }

    /// Reads server frames until a close frame; its code (`None`: the socket just ended).
    async fn close_code(&mut self) -> Option<u16> {
        loop {
            while self.buf.len() >= 2 {
                let opcode = self.buf[0] & 0x0f;
                let (len, header) = match self.buf[1] & 0x7f {
                    126 if self.buf.len() >= 4 => {
                        (u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize, 4)
                    }
                    127 if self.buf.len() >= 10 => (
                        u64::from_be_bytes(self.buf[2..10].try_into().unwrap()) as usize,
                        10,
                    ),
                    n if n < 126 => (n as usize, 2),
                    _ => break,
                };
                if self.buf.len() < header + len {
                    break;
                }
                let payload: Vec<u8> = self.buf[header..header + len].to_vec();
                self.buf.drain(..header + len);
                if opcode == 0x8 {
                    return (payload.len() >= 2)
                        .then(|| u16::from_be_bytes([payload[0], payload[1]]));
                }
            }
            if self.fill().await == 0 {
                return None;
            }
        }
    }
}

#[tokio::test]
async fn broken_frames_are_closed_with_the_code_that_says_why() {
    let s = start().await;
    // A text frame that is not UTF-8: 1007.
    let mut raw = RawSocket::open(&s, "a").await;
    raw.frame(0x81, &[0x7b, 0xff, 0xfe, 0x7d], true).await;
    assert_eq!(raw.close_code().await, Some(1007));
    // A frame from a client without a mask (or with reserved bits): 1002.
    let mut raw = RawSocket::open(&s, "b").await;
    raw.frame(0x81, br#"{"op":"ping"}"#, false).await;
    assert_eq!(raw.close_code().await, Some(1002));
    let mut raw = RawSocket::open(&s, "c").await;
    raw.frame(0xf1, br#"{"op":"ping"}"#, true).await;
    assert_eq!(raw.close_code().await, Some(1002));
    // A frame over the 8 MiB frame limit: 1009, said before the payload is read.
    let mut raw = RawSocket::open(&s, "d").await;
    raw.frame(0x82, &vec![b'x'; 8 * 1024 * 1024 + 1], true)
        .await;
    assert_eq!(raw.close_code().await, Some(1009));
    // The server is fine.
    let mut e = s.client("e").await;
    let got = e.request(json!({"op": "ping"})).await;
    assert_eq!(got.last().unwrap()["op"], "pong");
}

#[tokio::test]
async fn a_steady_stream_of_large_frames_over_the_byte_rate_is_closed_with_1008() {
    // The frame count stays under its limit: only the bytes are too many.
    let s = start_with(|c| {
        c.limits.max_frames_per_second = 1000;
        c.limits.rate_burst = 1000;
        c.limits.max_bytes_per_second = 256 * 1024;
        c.limits.rate_burst_bytes = 512 * 1024;
        c.limits.rate_abuse_bytes = 4 * 1024 * 1024;
    })
    .await;
    s.static_object("o1");
    let mut a = s.joined("a", "o1").await;
    let mut b = s.joined("b", "o1").await;
    drain(&mut [&mut a, &mut b]).await;
    let big = "x".repeat(60 * 1024);
    let frame = json!({"op": "plugin", "req": 1, "object": "o1", "message": {"type": "ovice_broadcast_message", "payload": {"event": "e", "message": big}}}).to_string();
    let started = Instant::now();
    let mut sent = 0;
    let mut limited = 0;
    let mut relayed = 0;
    let close = 'outer: loop {
        // Forty frames a second, 2.4 MB/s: ten times the byte rate.
        if sent < 2000 && a.ws.send(Message::text(frame.clone())).await.is_ok() {
            sent += 1;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
        while let Ok(Some(next)) = tokio::time::timeout(Duration::ZERO, a.ws.next()).await {
            match next {
                Ok(Message::Text(t)) if t.contains("rate_limited") => limited += 1,
                Ok(Message::Close(Some(c))) => break 'outer c,
                Ok(_) => {}
                Err(e) => panic!("{e} after {sent} frames"),
            }
        }
        assert!(started.elapsed() < Duration::from_secs(30), "not closed");
    };
    assert_eq!(u16::from(close.code), 1008);
    assert!(limited > 0);
    // Closed for the refused bytes (4 MiB within the window, about two seconds of this),
    // although frames kept passing between the refusals: what passed went out.
    while let Some(f) = b.try_recv().await {
        if f["op"] == "plugin" {
            relayed += 1;
        }
    }
    assert!(relayed > 0 && relayed < sent, "relayed {relayed} of {sent}");
}

#[tokio::test]
async fn error_frames_echo_a_bounded_part_of_a_huge_request() {
    let s = start().await;
    let mut a = s.client("a").await;
    let huge = "o".repeat(4 * 1024 * 1024);
    a.send(json!({"op": "presence", "req": 3, "object": huge, "status": "joined"}))
        .await;
    let e = a.recv().await;
    assert_eq!(e["code"], "unknown_object");
    assert_eq!(e["req"], 3);
    assert!(e.get("object").is_none(), "echoed a 4 MiB object id");
    assert!(e["message"].as_str().unwrap().len() <= 1024);
    assert!(e.to_string().len() < 2048, "{} bytes", e.to_string().len());
    // A huge bad value inside a frame is not echoed whole either.
    a.send(json!({"op": "presence", "req": 4, "object": "o", "status": huge}))
        .await;
    let e = a.recv().await;
    assert_eq!(e["code"], "bad_frame");
    assert!(e.to_string().len() < 2048, "{} bytes", e.to_string().len());
}

#[tokio::test]
async fn a_member_that_stops_reading_is_dropped_for_the_bytes_it_holds_and_counted() {
    let s = start_with(|c| {
        c.limits.send_queue_bytes = 4 * 1024 * 1024;
        c.limits.max_bytes_per_second = 1 << 40;
        c.limits.rate_burst_bytes = 1 << 40;
    })
    .await;
    s.static_object("o1");
    let mut a = s.joined("a", "o1").await;
    let mut stalled = s.joined("b", "o1").await;
    let mut c = s.joined("c", "o1").await;
    drain(&mut [&mut a, &mut stalled, &mut c]).await;
    let started = Instant::now();
    // 40 MiB of broadcasts: far fewer frames than the frame bound (4096), far more bytes
    // than the stalled member's budget plus what the kernel buffers on loopback.
    let big = "x".repeat(1024 * 1024);
    for i in 0..40 {
        a.send(json!({"op": "plugin", "req": i, "object": "o1", "message": {"type": "ovice_broadcast_message", "payload": {"event": "e", "message": big}}}))
            .await;
        let _ = c.try_recv().await;
        if s.hub().metrics.slow_disconnects.get() > 0 {
            break;
        }
    }
    while s.hub().metrics.slow_disconnects.get() == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the stalled member was not dropped (the write timeout is 10 s)"
        );
        let _ = c.try_recv().await;
    }
    // The reader that keeps up is not dropped, and still gets what follows.
    c.drain().await;
    a.drain().await;
    let got = a.plugin("o1", broadcast(7)).await;
    assert_eq!(got.last().unwrap()["op"], "ack");
    // (past the presence news of the dropped member, and any big frame still on its way:
    // relayed frames are delivered once committed)
    let next = loop {
        let f = c.recv_plugin().await;
        if f["seq"].is_u64() && f["message"]["payload"]["message"] != big.as_str() {
            break f;
        }
    };
    assert_eq!(next["message"]["payload"]["message"], 7);
    assert_eq!(s.hub().metrics.slow_disconnects.get(), 1);
    drop(stalled.ws);
}

#[tokio::test]
async fn a_peer_that_answers_no_ping_is_closed_and_one_that_does_stays() {
    let s = start_with(|c| c.limits.ws_ping_secs = 1).await;
    s.static_object("o1");
    // Reads what comes but never answers a ping, as a dead or wedged peer.
    let mut dead = RawSocket::open(&s, "d").await;
    let mut alive = s.joined("a", "o1").await;
    let started = Instant::now();
    // The raw socket sees the server's ping, then the connection ends (no close frame:
    // nobody is there to read it). Meanwhile the client reads, so its library answers
    // the pings, as a live browser's does.
    let (dead_code, took) = tokio::join!(
        async {
            let code = dead.close_code().await;
            (code, started.elapsed())
        },
        async {
            while started.elapsed() < Duration::from_millis(3500) {
                let _ = tokio::time::timeout(QUIET, alive.ws.next()).await;
            }
        }
    )
    .0;
    assert_eq!(dead_code, None);
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(4),
        "{took:?}"
    );
    assert_eq!(s.hub().metrics.dead_peers.get(), 1);
    let got = alive.request(json!({"op": "ping"})).await;
    assert_eq!(got.last().unwrap()["op"], "pong");
}
