//! What a plugin sends arrives as it was sent: the server relays, stores and returns the
//! plugin's JSON text byte for byte (key order, number spelling, big integers, escapes),
//! and a connection that just unsubscribed may still hand over before it goes.

use serde_json::json;

use crate::common::*;

/// Key order, `1.0`, `1e3`, an integer beyond 2^53 and 2^64, escapes and a lone surrogate.
const EXACT: &str = r#"{"z":1,"a":{"y":[1.0,1e3,-0.0,9007199254740993,123456789012345678901234567890],"b":"\u00e9\n\"\/\ud83d\ude00\ud800"},"k":[{"2":0,"1":0}]}"#;

#[tokio::test]
async fn relayed_messages_and_saved_documents_keep_the_senders_text() {
    let s = start().await;
    s.static_object("o1");
    let mut a = s.joined("a", "o1").await;
    let mut b = s.joined("b", "o1").await;
    drain(&mut [&mut a, &mut b]).await;

    a.send_text(format!(
        r#"{{"op":"plugin","req":1,"object":"o1","message":{{"type":"ovice_broadcast_message","payload":{{"event":"e","message":{EXACT}}}}}}}"#
    ))
    .await;
    let relayed = b.recv_text().await;
    assert!(
        relayed.contains(&format!(r#""message":{EXACT}"#)),
        "{relayed}"
    );

    a.send_text(format!(
        r#"{{"op":"plugin","req":2,"object":"o1","message":{{"type":"ovice_save_and_emit_data","payload":{EXACT}}}}}"#
    ))
    .await;
    let shared = b.recv_text().await;
    assert!(
        shared.contains(&format!(
            r#"{{"type":"ovice_shared_data","payload":{EXACT}}}"#
        )),
        "{shared}"
    );
    // The sender's success carries the platform's updated_at, once, first.
    let mut success = String::new();
    while !success.contains("ovice_data_saved_success") {
        success = a.recv_text().await;
    }
    assert_eq!(success.matches("updated_at").count(), 1, "{success}");
    assert!(success.contains(r#""payload":{"updated_at":"#), "{success}");
    assert!(success.contains(&EXACT[1..]), "{success}");

    // And back from the store, to a newcomer after a restart of the cache: the same text.
    let mut c = s.joined("c", "o1").await;
    c.drain().await;
    c.send_text(
        r#"{"op":"plugin","req":9,"object":"o1","message":{"type":"ovice_get_data"}}"#.into(),
    )
    .await;
    let saved = c.recv_text().await;
    assert!(
        saved.contains(&format!(
            r#"{{"type":"ovice_saved_data","payload":{EXACT}}}"#
        )),
        "{saved}"
    );
}

#[tokio::test]
async fn a_document_with_its_own_updated_at_gets_the_platforms_once() {
    let s = start().await;
    s.static_object("o1");
    let mut a = s.joined("a", "o1").await;
    a.drain().await;
    let got = a
        .plugin(
            "o1",
            json!({"type": "ovice_save_and_emit_data", "payload": {"updated_at": "mine", "v": 1}}),
        )
        .await;
    let mut success = got
        .into_iter()
        .find(|f| f["message"]["type"] == "ovice_data_saved_success");
    while success.is_none() {
        let f = a.recv().await;
        if f["message"]["type"] == "ovice_data_saved_success" {
            success = Some(f);
        }
    }
    let success = success.unwrap();
    let payload = success["message"]["payload"].as_object().unwrap();
    assert!(payload["updated_at"].is_i64(), "{payload:?}");
    assert_eq!(payload.keys().collect::<Vec<_>>(), ["updated_at", "v"]);
    // The stored document is the plugin's own, its updated_at included.
    let data = a.get_data("o1").await;
    assert_eq!(
        data[0]["message"]["payload"],
        json!({"updated_at": "mine", "v": 1})
    );
}

#[tokio::test]
async fn a_connection_that_just_unsubscribed_may_still_hand_over() {
    let s = start().await;
    s.static_object("o1");
    let mut a = s.joined("a", "o1").await;
    let mut b = s.joined("b", "o1").await;
    drain(&mut [&mut a, &mut b]).await;
    // a walks away: it hears its own departure...
    let frames = a.presence("o1", "unsubscribed").await;
    let own: Vec<&str> = frames
        .iter()
        .filter(|f| f["op"] == "plugin")
        .map(|f| f["message"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        own,
        ["ovice_participant_left", "ovice_participant_unsubscribed"]
    );
    b.drain().await;
    // ...and may still save and broadcast; b gets both.
    let got = a
        .plugin(
            "o1",
            json!({"type": "ovice_save_and_emit_data", "payload": {"owner": "b"}}),
        )
        .await;
    assert_eq!(got.last().unwrap()["op"], "ack", "{got:?}");
    assert_eq!(
        b.recv_plugin().await["message"]["type"],
        "ovice_shared_data"
    );
    let got = a.plugin("o1", broadcast_event("bye", json!(1))).await;
    assert_eq!(got.last().unwrap()["op"], "ack", "{got:?}");
    assert_eq!(b.recv_plugin().await["message"]["payload"]["event"], "bye");
    // It receives nothing more, and reads are for members only.
    b.plugin("o1", broadcast_event("after", json!(2))).await;
    a.assert_quiet().await;
    let got = a.get_participants("o1").await;
    assert_eq!(got.last().unwrap()["code"], "not_member");
}

#[tokio::test]
async fn error_frames_echo_req_and_object_when_another_field_is_malformed() {
    let s = start().await;
    s.static_object("o1");
    let mut a = s.joined("a", "o1").await;
    a.drain().await;
    // `id` of the wrong type, a malformed message, an unknown op: req and object still echo.
    for frame in [
        r#"{"op":"plugin","req":41,"object":"o1","id":5,"message":{"type":"ovice_get_data"}}"#,
        r#"{"op":"plugin","req":42,"object":"o1","message":{"type":"ovice_emit_message","payload":{"event":"e","message":1}}}"#,
        r#"{"op":"presence","req":43,"object":"o1","status":"dancing"}"#,
        r#"{"op":"teleport","req":44,"object":"o1"}"#,
    ] {
        a.send_text(frame.into()).await;
        let e = a.recv().await;
        assert_eq!(e["op"], "error", "{frame}: {e}");
        let req: serde_json::Value =
            serde_json::from_str::<serde_json::Value>(frame).unwrap()["req"].clone();
        assert_eq!(
            (&e["req"], &e["object"]),
            (&req, &json!("o1")),
            "{frame}: {e}"
        );
    }
    // A malformed `req` does not lose the object.
    a.send_text(
        r#"{"op":"plugin","req":"x","object":"o1","message":{"type":"ovice_get_data"}}"#.into(),
    )
    .await;
    let e = a.recv().await;
    assert_eq!(e["object"], "o1", "{e}");
    // A 3 MB event is refused as too large, with req and object.
    let big = format!(
        r#"{{"op":"plugin","req":45,"object":"o1","message":{{"type":"ovice_broadcast_message","payload":{{"event":"{}","message":1}}}}}}"#,
        "e".repeat(3 * 1024 * 1024)
    );
    a.send_text(big).await;
    let e = a.recv().await;
    assert_eq!(
        (&e["code"], &e["req"], &e["object"]),
        (&json!("too_large"), &json!(45), &json!("o1")),
        "{e}"
    );
}
