//! What the server keeps in memory, and that it lets go: history pruned on the timer,
//! idle rooms unloaded and read back from the store unchanged, one byte budget for the
//! history of every room together, the departure grace as a setting.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::*;

/// The value of the unlabelled series `name` in this server's `/metrics`, read over HTTP.
async fn metric(s: &TestServer, name: &str) -> f64 {
    let (status, text) = s.http_text("GET", "/metrics", &[], None).await;
    assert_eq!(status, 200);
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"))
}

/// Waits until `/metrics` says `name` is `want` (the sweep runs every second).
async fn wait_for_metric(s: &TestServer, name: &str, want: f64) {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let got = metric(s, name).await;
        if got == want {
            return;
        }
        assert!(Instant::now() < until, "{name} stayed {got}, not {want}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The plugin frames of a `history` answer, as (seq, message) (what was queued before
/// is drained first).
async fn history(c: &mut Client, object: &str) -> Vec<(u64, Value)> {
    c.drain().await;
    let frames = c
        .request(json!({"op": "history", "object": object, "since": 0}))
        .await;
    assert_eq!(frames.last().unwrap()["op"], "ack", "{frames:?}");
    frames
        .iter()
        .filter(|f| f["op"] == "plugin")
        .map(|f| (f["seq"].as_u64().unwrap(), f["message"].clone()))
        .collect()
}

#[tokio::test]
async fn history_past_its_age_leaves_memory_without_a_new_message() {
    let s = start_with(|c| c.limits.history_age_secs = 1).await;
    s.static_object("o1");
    let mut a = s.joined("a", "o1").await;
    let mut b = s.joined("b", "o1").await;
    a.drain().await;
    a.plugin("o1", broadcast(1)).await;
    b.recv_plugin().await;
    assert!(metric(&s, "meetbridge_history_bytes").await > 0.0);
    // Nothing more is sent: the timer alone empties the memory tail...
    wait_for_metric(&s, "meetbridge_history_bytes", 0.0).await;
    // ...and the message is still served, from the store.
    let got = history(&mut b, "o1").await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].1["payload"]["message"], json!(1));
}

#[tokio::test]
async fn an_idle_room_is_unloaded_and_comes_back_from_the_store_unchanged() {
    let s = start_with(|c| c.limits.room_idle_secs = 1).await;
    s.static_object("o1");
    let mut a = s.joined("a", "o1").await;
    let mut b = s.joined("b", "o1").await;
    a.drain().await;
    let first = a
        .request(json!({"op": "plugin", "object": "o1", "id": "m-1", "message": broadcast(1)}))
        .await;
    let first_seq = first.last().unwrap()["seq"].as_u64().unwrap();
    a.plugin("o1", broadcast(2)).await;
    let saved = a
        .plugin(
            "o1",
            json!({"type": "ovice_save_and_emit_data", "payload": {"k": 1, "a": [2]}}),
        )
        .await;
    assert_eq!(saved.last().unwrap()["op"], "ack", "{saved:?}");
    let before = history(&mut b, "o1").await;
    assert_eq!(before.len(), 3, "{before:?}");
    let last_seq = before.last().unwrap().0;
    drop(a);
    drop(b);
    assert_eq!(metric(&s, "meetbridge_rooms_loaded").await, 1.0);
    // Everyone left: after a second unused, the room goes.
    wait_for_metric(&s, "meetbridge_rooms_loaded", 0.0).await;
    assert_eq!(metric(&s, "meetbridge_rooms_unloaded_total").await, 1.0);
    assert_eq!(metric(&s, "meetbridge_history_bytes").await, 0.0);

    // Revisited: the same history, the saved data, numbering goes on, the ids are known.
    let mut b = s.joined("b", "o1").await;
    assert_eq!(history(&mut b, "o1").await, before);
    let data = b.get_data("o1").await;
    assert_eq!(
        messages(&data)[0]["payload"],
        json!({"k": 1, "a": [2]}),
        "{data:?}"
    );
    let mut a = s.joined("a", "o1").await;
    b.drain().await;
    let again = a
        .request(json!({"op": "plugin", "object": "o1", "id": "m-1", "message": broadcast(1)}))
        .await;
    assert_eq!(again.last().unwrap()["seq"].as_u64(), Some(first_seq));
    b.assert_quiet().await;
    let next = a.plugin("o1", broadcast(3)).await;
    assert_eq!(next.last().unwrap()["seq"].as_u64(), Some(last_seq + 1));
    assert_eq!(b.recv_plugin().await["seq"].as_u64(), Some(last_seq + 1));
    // A returning client's resume sees nothing missing.
    let mut c = s.client("b").await;
    let got = c.resume("o1", "joined", 0).await;
    assert!(got.iter().all(|f| f["op"] != "missed"), "{got:?}");
}

#[tokio::test]
async fn a_present_member_keeps_its_room_loaded() {
    let s = start_with(|c| c.limits.room_idle_secs = 1).await;
    s.static_object("o1");
    let _a = s.joined("a", "o1").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(metric(&s, "meetbridge_rooms_loaded").await, 1.0);
    assert_eq!(metric(&s, "meetbridge_rooms_unloaded_total").await, 0.0);
}

#[tokio::test]
async fn one_budget_bounds_the_history_of_all_rooms_and_reads_fall_back_to_the_store() {
    const BUDGET: usize = 64 * 1024;
    let s = start_with(|c| c.limits.history_total_bytes = BUDGET).await;
    let text = "x".repeat(8 * 1024);
    let mut readers = Vec::new();
    for object in ["o1", "o2"] {
        s.static_object(object);
        let mut a = s.joined("a", object).await;
        let mut b = s.joined("b", object).await;
        a.drain().await;
        for n in 0..20 {
            let got = a
                .plugin(object, broadcast_event("big", json!({"n": n, "t": text})))
                .await;
            assert_eq!(got.last().unwrap()["op"], "ack");
            b.recv_plugin().await;
        }
        readers.push((object, b));
    }
    let held = metric(&s, "meetbridge_history_bytes").await;
    assert!(
        held > 0.0 && held <= BUDGET as f64,
        "history holds {held} bytes, over the budget of {BUDGET}"
    );
    // Both objects still serve their whole history, in order: what left memory is read
    // from the store.
    for (object, b) in &mut readers {
        let got = history(b, object).await;
        let ns: Vec<i64> = got
            .iter()
            .map(|(_, m)| m["payload"]["message"]["n"].as_i64().unwrap())
            .collect();
        assert_eq!(ns, (0..20).collect::<Vec<_>>(), "{object}");
    }
}

#[tokio::test]
async fn the_departure_grace_is_a_setting() {
    let s = start_with(|c| c.limits.departure_grace_secs = 1).await;
    s.static_object("o1");
    let mut a = s.joined("a", "o1").await;
    let mut b = s.joined("b", "o1").await;
    drain(&mut [&mut a, &mut b]).await;
    a.presence("o1", "unsubscribed").await;
    b.drain().await;
    // Within the grace: accepted and relayed.
    let got = a.plugin("o1", broadcast_event("bye", json!(1))).await;
    assert_eq!(got.last().unwrap()["op"], "ack", "{got:?}");
    assert_eq!(b.recv_plugin().await["message"]["payload"]["event"], "bye");
    // After it (1 s here, 10 s by default): refused.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let got = a.plugin("o1", broadcast_event("late", json!(2))).await;
    assert_eq!(got.last().unwrap()["code"], "not_member", "{got:?}");
    b.assert_quiet().await;
}
