//! Relay: broadcast to the others, emit to one, source and objectId filled in by the
//! server, spoofing and non-members refused.

use serde_json::json;

use crate::common::*;

async fn three_members() -> (TestServer, Client, Client, Client) {
    let s = start().await;
    s.static_object("o1");
    let mut a = s.joined("a", "o1").await;
    let mut b = s.joined("b", "o1").await;
    let c = s.present("c", "o1", "subscribed").await;
    // Drain the presence announcements.
    drain(&mut [&mut a, &mut b]).await;
    (s, a, b, c)
}

#[tokio::test]
async fn broadcast_reaches_every_other_member_with_source_and_object_filled_in() {
    let (_s, mut a, mut b, mut c) = three_members().await;
    let got = a
        .plugin("o1", json!({"type": "ovice_broadcast_message", "payload": {"event": "vote", "message": {"k": [1, 2]}}}))
        .await;
    assert_eq!(got.len(), 1, "the sender gets only the ack: {got:?}");
    let seq = got[0]["seq"].as_u64().expect("ack carries the seq");
    for r in [&mut b, &mut c] {
        let f = r.recv_plugin().await;
        assert_eq!(f["seq"], seq);
        assert_eq!(
            f["message"],
            json!({"type": "ovice_message", "payload": {"source": "a", "event": "vote", "objectId": "o1", "message": {"k": [1, 2]}}})
        );
    }
    // The old name of the event is accepted too; numbers go up by one.
    let got = b
        .plugin("o1", json!({"type": "ovice_emit_to_others", "payload": {"event": "e", "message": 1, "source": "b", "objectId": "o1"}}))
        .await;
    assert_eq!(got[0]["seq"].as_u64().unwrap(), seq + 1);
    assert_eq!(a.recv_plugin().await["message"]["payload"]["source"], "b");
    assert_eq!(c.recv_plugin().await["message"]["payload"]["source"], "b");
    a.assert_quiet().await;
    b.assert_quiet().await;
}

#[tokio::test]
async fn emit_reaches_only_the_member_named_in_to() {
    let (_s, mut a, mut b, mut c) = three_members().await;
    let got = a
        .plugin("o1", json!({"type": "ovice_emit_message", "payload": {"event": "dm", "message": "hi", "to": "c"}}))
        .await;
    assert_eq!(got.last().unwrap()["op"], "ack");
    let f = c.recv_plugin().await;
    assert_eq!(
        f["message"],
        json!({"type": "ovice_message", "payload": {"source": "a", "event": "dm", "objectId": "o1", "message": "hi", "to": "c"}})
    );
    b.assert_quiet().await;
    a.assert_quiet().await;

    let got = a
        .plugin("o1", json!({"type": "ovice_emit_message", "payload": {"event": "dm", "message": "hi", "to": "nobody"}}))
        .await;
    let err = got.last().unwrap();
    assert_eq!(err["op"], "error");
    assert_eq!(err["code"], "recipient_not_member");
    assert_eq!(err["object"], "o1");
}

#[tokio::test]
async fn a_spoofed_source_or_object_is_refused() {
    let (_s, mut a, mut b, _c) = three_members().await;
    let got = a
        .plugin("o1", json!({"type": "ovice_broadcast_message", "payload": {"event": "e", "message": 1, "source": "b"}}))
        .await;
    assert_eq!(got.last().unwrap()["code"], "spoofed_source");
    let got = a
        .plugin("o1", json!({"type": "ovice_emit_message", "payload": {"event": "e", "message": 1, "source": "c", "to": "b"}}))
        .await;
    assert_eq!(got.last().unwrap()["code"], "spoofed_source");
    let got = a
        .plugin("o1", json!({"type": "ovice_broadcast_message", "payload": {"event": "e", "message": 1, "objectId": "o2"}}))
        .await;
    assert_eq!(got.last().unwrap()["code"], "spoofed_source");
    b.assert_quiet().await;
}

#[tokio::test]
async fn only_members_send_and_unknown_objects_are_named() {
    let (s, _a, mut b, _c) = three_members().await;
    s.static_object("o2");
    let mut outsider = s.client("x").await;
    let got = outsider.plugin("o1", broadcast_event("e", json!(1))).await;
    assert_eq!(got.last().unwrap()["code"], "not_member");
    // Present on another object does not count.
    outsider.presence("o2", "joined").await;
    let got = outsider
        .plugin(
            "o1",
            json!({"type": "ovice_save_and_emit_data", "payload": {"x": 1}}),
        )
        .await;
    assert_eq!(got.last().unwrap()["code"], "not_member");
    let got = outsider.get_data("o1").await;
    assert_eq!(got.last().unwrap()["code"], "not_member");
    b.assert_quiet().await;

    let got = outsider.presence_raw("nope").await;
    assert_eq!(got["code"], "unknown_object");
    assert_eq!(got["object"], "nope");
}

#[tokio::test]
async fn the_old_handshake_is_the_host_runtimes_not_the_servers() {
    // The host runtime answers `ovice_ready` itself; sent to the server it is no frame the
    // server knows, refused with its request id and object, and nobody else hears of it.
    let (_s, mut a, mut b, _c) = three_members().await;
    let got = a.plugin("o1", json!({"type": "ovice_ready"})).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["op"], "error");
    assert_eq!(got[0]["code"], "invalid_message");
    assert_eq!(got[0]["object"], "o1");
    b.assert_quiet().await;
}

impl Client {
    pub async fn presence_raw(&mut self, object: &str) -> serde_json::Value {
        self.request(json!({"op": "presence", "object": object, "status": "subscribed"}))
            .await
            .pop()
            .unwrap()
    }
}
