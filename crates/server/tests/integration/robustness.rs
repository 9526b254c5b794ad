//! Bad input gets a clear error frame; floods are limited; nobody else is hurt.

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use meetbridge_identity::Minter;
use meetbridge_server::auth::token::{Role, TokenRequest};
use serde_json::json;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::common::*;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Reads until quiet and counts the relayed messages among what came.
async fn count_relayed(c: &mut Client) -> usize {
    let mut n = 0;
    while let Some(f) = c.try_recv().await {
        if f["op"] == "plugin" && f["message"]["type"] == "ovice_message" {
            n += 1;
        }
    }
    n
}

/// A token for "a" in workspace "w", for `space` if given; the caller signs it.
fn token_request(space: Option<&str>) -> TokenRequest {
    TokenRequest {
        id: "a".into(),
        name: "A".into(),
        avatar_url: String::new(),
        workspace_id: "w".into(),
        language: None,
        email: None,
        is_visitor: false,
        space: space.map(str::to_owned),
        role: Role::Member,
        ttl_secs: 60,
    }
}

/// Connects with `token` in the query and returns the socket and its first text frame.
async fn connect_for_first_text(addr: SocketAddr, token: &str) -> (Socket, String) {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws?token={token}"))
        .await
        .unwrap();
    let Some(Ok(Message::Text(t))) = ws.next().await else {
        panic!()
    };
    (ws, t.to_string())
}

#[tokio::test]
async fn malformed_frames_get_errors_and_the_connection_goes_on() {
    let s = start().await;
    s.static_object("o1");
    let mut a = s.client("a").await;

    a.send_text("{not json".into()).await;
    let e = a.recv().await;
    assert_eq!(
        (e["op"].as_str(), e["code"].as_str()),
        (Some("error"), Some("bad_frame"))
    );

    a.send(json!({"op": "dance", "req": 7})).await;
    let e = a.recv().await;
    assert_eq!(e["code"], "bad_frame");
    assert_eq!(e["req"], 7);

    a.send(json!({"op": "presence", "req": 8, "object": "o1", "status": "dancing"}))
        .await;
    let e = a.recv().await;
    assert_eq!(e["code"], "bad_frame");
    assert_eq!(e["req"], 8);
    assert_eq!(e["field"], "status");

    a.send(json!({"op": "plugin", "req": 9, "object": "o1", "message": {"type": "ovice_emit_message", "payload": {"event": "e", "message": 1}}})).await;
    let e = a.recv().await;
    assert_eq!(e["code"], "invalid_message");
    assert_eq!(e["field"], "message.payload.to");
    assert_eq!(e["req"], 9);

    a.ws.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    assert_eq!(a.recv().await["code"], "bad_frame");

    // Still fine.
    let got = a.request(json!({"op": "ping"})).await;
    assert_eq!(got.last().unwrap()["op"], "pong");
    a.presence("o1", "joined").await;
}

#[tokio::test]
async fn oversize_messages_are_refused_with_too_large() {
    let s = start().await;
    s.static_object("o1");
    let mut a = s.joined("a", "o1").await;
    let mut b = s.joined("b", "o1").await;
    a.drain().await;

    // Exactly the limit passes (2 MiB of JSON for the whole payload: `{"event":"e",
    // "message":"…"}` is 26 bytes around the string)...
    let ok = "x".repeat(2 * 1024 * 1024 - 26);
    let got = a.plugin("o1", broadcast_event("e", json!(ok))).await;
    assert_eq!(got.last().unwrap()["op"], "ack");
    let f = b.recv_plugin().await;
    assert_eq!(
        f["message"]["payload"]["message"].as_str().unwrap().len(),
        ok.len()
    );
    // ...one byte more does not.
    let over = "x".repeat(2 * 1024 * 1024 - 25);
    let got = a.plugin("o1", broadcast_event("e", json!(over))).await;
    let e = got.last().unwrap();
    assert_eq!(e["code"], "too_large");
    assert_eq!(e["field"], "message.payload");
    // A huge `event` counts too.
    let got = a
        .plugin(
            "o1",
            broadcast_event(&"e".repeat(2 * 1024 * 1024), json!(1)),
        )
        .await;
    assert_eq!(got.last().unwrap()["code"], "too_large");
    b.assert_quiet().await;
}

#[tokio::test]
async fn floods_are_rate_limited_without_hurting_others() {
    let s = start_with(|c| {
        c.limits.max_frames_per_second = 5;
        c.limits.rate_burst = 10;
    })
    .await;
    s.static_object("o1");
    let mut flooder = s.joined("f", "o1").await;
    let mut a = s.joined("a", "o1").await;
    let mut b = s.joined("b", "o1").await;
    drain(&mut [&mut a, &mut b, &mut flooder]).await;

    // 200 frames at once: the burst and the per-second rate pass, the rest are refused.
    let started = std::time::Instant::now();
    for i in 0..200 {
        flooder
            .send(json!({"op": "plugin", "req": 1000 + i, "object": "o1", "message": {"type": "ovice_broadcast_message", "payload": {"event": "spam", "message": i}}}))
            .await;
    }
    let mut limited = 0;
    let mut acked = 0;
    while limited + acked < 200 {
        let f = flooder.recv().await;
        match (f["op"].as_str(), f["code"].as_str()) {
            (Some("error"), Some("rate_limited")) => limited += 1,
            (Some("ack"), _) => acked += 1,
            other => panic!("unexpected {other:?}: {f}"),
        }
    }
    let allowed = 10.0 + 5.0 * started.elapsed().as_secs_f64() + 1.0;
    assert!(
        acked >= 10 && f64::from(acked) <= allowed,
        "acked {acked}, allowed {allowed}"
    );
    assert!(limited > 0);
    // A and B received the spam that passed, and still talk normally.
    let mut spam = 0;
    while let Some(f) = b.try_recv().await {
        assert_eq!(f["message"]["payload"]["event"], "spam");
        spam += 1;
    }
    assert_eq!(spam, acked);
    a.drain().await;
    let got = a
        .plugin("o1", json!({"type": "ovice_emit_message", "payload": {"event": "hello", "message": 1, "to": "b"}}))
        .await;
    assert_eq!(got.last().unwrap()["op"], "ack");
    assert_eq!(
        b.recv_plugin().await["message"]["payload"]["event"],
        "hello"
    );
}

#[tokio::test]
async fn a_client_that_does_not_read_is_dropped_and_others_keep_going() {
    let s = start_with(|c| {
        c.limits.send_queue = 64;
        c.limits.history_size = 16;
    })
    .await;
    s.static_object("o1");
    let mut a = s.joined("a", "o1").await;
    let stuck = s.joined("stuck", "o1").await;
    let mut b = s.joined("b", "o1").await;
    a.drain().await;
    // `stuck` never reads again; A sends far more than its queue and socket buffers hold.
    let payload = "z".repeat(64 * 1024);
    let mut b_got = 0;
    for i in 0..400 {
        a.send(json!({"op": "plugin", "object": "o1", "message": broadcast_event("big", json!(payload))})).await;
        if i % 20 == 19 {
            b_got += count_relayed(&mut b).await;
        }
    }
    // Relayed frames are delivered once committed: wait for the rest (bounded).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while b_got < 400 && std::time::Instant::now() < deadline {
        b_got += count_relayed(&mut b).await;
    }
    assert_eq!(b_got, 400, "b got every message");
    // The stuck one was dropped: its user has left the object.
    let mut events = Vec::new();
    while let Some(f) = a.try_recv().await {
        if f["op"] == "plugin" {
            events.push((
                f["message"]["type"].clone(),
                f["message"]["payload"]["id"].clone(),
            ));
        }
    }
    assert!(
        events.contains(&(json!("ovice_participant_unsubscribed"), json!("stuck"))),
        "{events:?}"
    );
    drop(stuck);
}

#[tokio::test]
async fn bad_tokens_are_refused_with_unauthorized() {
    let s = start().await;
    let (mut ws, t) = connect_for_first_text(s.addr, "abc.def").await;
    let e: serde_json::Value = serde_json::from_str(&t).unwrap();
    assert_eq!(e["code"], "unauthorized");
    let Some(Ok(Message::Close(Some(close)))) = ws.next().await else {
        panic!()
    };
    assert_eq!(u16::from(close.code), 4401);

    // A token signed with another secret.
    let other = Minter::new(b"not the secret", None, None)
        .mint(&token_request(Some("s")))
        .unwrap()
        .token;
    let (_ws, t) = connect_for_first_text(s.addr, &other).await;
    assert!(t.contains("unauthorized"));

    // The subprotocol form works, and the welcome names the user from the token.
    let c = Client::connect_subprotocol(s.addr, &s.token("zed")).await;
    assert_eq!(c.welcome["participant"]["id"], "zed");
    assert_eq!(c.welcome["limits"]["maxMessageBytes"], 2 * 1024 * 1024);
}

#[tokio::test]
async fn a_space_scoped_token_only_opens_its_space() {
    let s = start().await;
    s.static_object("o1"); // in space "s"
    let token = s
        .server
        .as_ref()
        .unwrap()
        .state
        .tokens
        .mint(&token_request(Some("elsewhere")))
        .unwrap()
        .token;
    let mut a = Client::connect(s.addr, &token).await;
    assert_eq!(a.presence_raw("o1").await["code"], "unknown_object");
}

#[tokio::test]
async fn a_relentless_flood_is_closed_with_policy_violation() {
    let s = start_with(|c| {
        c.limits.max_frames_per_second = 1;
        c.limits.rate_burst = 1;
    })
    .await;
    let mut f = s.client("f").await;
    for _ in 0..1100 {
        // The server may close while the last of them are still being sent.
        if f.ws
            .send(Message::text(json!({"op": "ping"}).to_string()))
            .await
            .is_err()
        {
            break;
        }
    }
    let mut limited = 0;
    let close = loop {
        let Ok(next) = tokio::time::timeout(WAIT, f.ws.next()).await else {
            panic!("no close after {limited} rate_limited errors");
        };
        match next {
            Some(Ok(Message::Text(t))) => {
                if t.contains("rate_limited") {
                    limited += 1;
                }
            }
            Some(Ok(Message::Close(Some(c)))) => break c,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(u16::from(close.code), 1008);
    assert!(limited >= 1000, "{limited}");
}
