//! Reconnect recovery: replay in order of what was addressed to the user, `missed` past
//! the window, then live traffic.

use meetbridge_protocol::ovice::ObjectType;
use serde_json::{json, Value};

use crate::common::*;

fn broadcast(n: i64) -> Value {
    json!({"type": "ovice_broadcast_message", "payload": {"event": "n", "message": n}})
}

#[tokio::test]
async fn a_returning_connection_gets_what_it_missed_in_order_before_live_traffic() {
    let s = start().await;
    s.object("o1", ObjectType::Static, false, None);
    let mut a = s.client("a").await;
    let mut c = s.client("c").await;
    a.presence("o1", "joined").await;
    c.presence("o1", "joined").await;
    let mut b = s.client("b").await;
    b.presence("o1", "joined").await;
    while a.try_recv().await.is_some() {}
    while c.try_recv().await.is_some() {}

    a.plugin("o1", broadcast(1)).await;
    let last_seen = b.recv_plugin().await["seq"].as_u64().unwrap();
    // B's own message is not replayed to B.
    b.plugin("o1", broadcast(100)).await;
    drop(b);
    // While B is away: two broadcasts, an emit to C (not for B), a save by A.
    a.plugin("o1", broadcast(2)).await;
    a.plugin("o1", json!({"type": "ovice_emit_message", "payload": {"event": "dm", "message": "c only", "to": "c"}})).await;
    a.plugin("o1", broadcast(3)).await;
    a.plugin(
        "o1",
        json!({"type": "ovice_save_and_emit_data", "payload": {"v": 1}}),
    )
    .await;

    let mut b = s.client("b").await;
    let got = b
        .request(json!({"op": "presence", "object": "o1", "status": "joined", "since": last_seen}))
        .await;
    let replayed: Vec<Value> = got
        .iter()
        .filter(|f| f["op"] == "plugin" && f["seq"].is_u64())
        .cloned()
        .collect();
    let bodies: Vec<Value> = replayed
        .iter()
        .map(|f| {
            let m = &f["message"];
            if m["type"] == "ovice_message" {
                m["payload"]["message"].clone()
            } else {
                m.clone()
            }
        })
        .collect();
    assert_eq!(
        bodies,
        [
            json!(2),
            json!(3),
            json!({"type": "ovice_shared_data", "payload": {"v": 1}})
        ]
    );
    let seqs: Vec<u64> = replayed
        .iter()
        .map(|f| f["seq"].as_u64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert!(seqs[0] > last_seen);
    assert!(got.iter().all(|f| f["op"] != "missed"), "{got:?}");
    assert_eq!(got.last().unwrap()["op"], "ack");

    // Then live traffic.
    a.plugin("o1", broadcast(4)).await;
    let live = b.recv_plugin().await;
    assert_eq!(live["message"]["payload"]["message"], 4);
    assert!(live["seq"].as_u64().unwrap() > *seqs.last().unwrap());
}

#[tokio::test]
async fn past_the_window_the_client_is_told_what_it_missed() {
    let s = start_with(|c| c.limits.history_size = 3).await;
    s.object("o1", ObjectType::Static, false, None);
    let mut a = s.client("a").await;
    a.presence("o1", "joined").await;
    let mut b = s.client("b").await;
    b.presence("o1", "joined").await;
    while a.try_recv().await.is_some() {}
    let first = a.plugin("o1", broadcast(0)).await[0]["seq"]
        .as_u64()
        .unwrap();
    assert_eq!(b.recv_plugin().await["seq"], first);
    drop(b);
    for n in 1..=5 {
        a.plugin("o1", broadcast(n)).await;
    }
    let mut b = s.client("b").await;
    let got = b
        .request(json!({"op": "presence", "object": "o1", "status": "subscribed", "since": first}))
        .await;
    let missed = got
        .iter()
        .find(|f| f["op"] == "missed")
        .expect("missed frame");
    assert_eq!(
        missed,
        &json!({"op": "missed", "object": "o1", "from": first + 1, "to": first + 2})
    );
    let replayed: Vec<i64> = got
        .iter()
        .filter(|f| f["op"] == "plugin" && f["seq"].is_u64())
        .map(|f| f["message"]["payload"]["message"].as_i64().unwrap())
        .collect();
    assert_eq!(replayed, [3, 4, 5]);
    // `missed` comes before the replay.
    let pos_missed = got.iter().position(|f| f["op"] == "missed").unwrap();
    let pos_first = got.iter().position(|f| f["seq"].is_u64()).unwrap();
    assert!(pos_missed < pos_first);

    // The history op gives the same, for a member.
    let got = b
        .request(json!({"op": "history", "object": "o1", "since": first, "limit": 2}))
        .await;
    assert_eq!(got[0]["op"], "missed");
    let n: Vec<i64> = got
        .iter()
        .filter(|f| f["op"] == "plugin")
        .map(|f| f["message"]["payload"]["message"].as_i64().unwrap())
        .collect();
    assert_eq!(n, [3, 4]);
}

#[tokio::test]
async fn history_age_bounds_the_window() {
    let s = start_with(|c| c.limits.history_age_secs = 0).await;
    s.object("o1", ObjectType::Static, false, None);
    let mut a = s.client("a").await;
    a.presence("o1", "joined").await;
    let mut b = s.client("b").await;
    b.presence("o1", "joined").await;
    while a.try_recv().await.is_some() {}
    let first = a.plugin("o1", broadcast(0)).await[0]["seq"]
        .as_u64()
        .unwrap();
    b.recv_plugin().await;
    drop(b);
    a.plugin("o1", broadcast(1)).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let mut b = s.client("b").await;
    let got = b
        .request(json!({"op": "presence", "object": "o1", "status": "joined", "since": first}))
        .await;
    assert!(got.iter().any(|f| f["op"] == "missed"), "{got:?}");
    assert!(!got.iter().any(|f| f["seq"].is_u64()), "{got:?}");
}

#[tokio::test]
async fn a_full_window_replays_even_with_a_small_send_queue() {
    let s = start_with(|c| {
        c.limits.history_size = 200;
        c.limits.send_queue = 16;
        c.limits.max_frames_per_second = 10_000;
        c.limits.rate_burst = 10_000;
    })
    .await;
    s.object("o1", ObjectType::Static, false, None);
    let mut a = s.client("a").await;
    a.presence("o1", "joined").await;
    let first = a.plugin("o1", broadcast(0)).await[0]["seq"]
        .as_u64()
        .unwrap();
    for n in 1..=200 {
        a.plugin("o1", broadcast(n)).await;
    }
    let mut b = s.client("b").await;
    let got = b
        .request(json!({"op": "presence", "object": "o1", "status": "subscribed", "since": first}))
        .await;
    let replayed = got.iter().filter(|f| f["seq"].is_u64()).count();
    assert_eq!(replayed, 200);
    assert_eq!(got.last().unwrap()["op"], "ack");
}
