//! Reconnect recovery: replay in order of what was addressed to the user, `missed` past
//! the window, then live traffic.

use serde_json::{json, Value};

use crate::common::*;

/// A and B joined on o1, with A's presence news drained.
async fn a_and_b_joined(s: &TestServer) -> (Client, Client) {
    s.static_object("o1");
    let mut a = s.joined("a", "o1").await;
    let b = s.joined("b", "o1").await;
    a.drain().await;
    (a, b)
}

/// Sends broadcast `n` and returns the seq its ack carries.
async fn broadcast_seq(a: &mut Client, n: i64) -> u64 {
    a.plugin("o1", broadcast(n)).await[0]["seq"]
        .as_u64()
        .unwrap()
}

/// The replayed plugin frames (those with a seq) among `frames`.
fn replayed(frames: &[Value]) -> Vec<&Value> {
    frames
        .iter()
        .filter(|f| f["op"] == "plugin" && f["seq"].is_u64())
        .collect()
}

#[tokio::test]
async fn a_returning_connection_gets_what_it_missed_in_order_before_live_traffic() {
    let s = start().await;
    s.static_object("o1");
    let mut a = s.joined("a", "o1").await;
    let mut c = s.joined("c", "o1").await;
    let mut b = s.joined("b", "o1").await;
    drain(&mut [&mut a, &mut c]).await;

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
    let got = b.resume("o1", "joined", last_seen).await;
    let replayed = replayed(&got);
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
    let s = start_with(|c| {
        c.limits.history_size = 3;
        c.limits.retention_messages = 3;
    })
    .await;
    let (mut a, mut b) = a_and_b_joined(&s).await;
    let first = broadcast_seq(&mut a, 0).await;
    assert_eq!(b.recv_plugin().await["seq"], first);
    drop(b);
    for n in 1..=5 {
        a.plugin("o1", broadcast(n)).await;
    }
    // Retention (3 messages) applies once the pruner has run.
    let hub = s.server.as_ref().unwrap().state.hub.clone();
    tokio::task::spawn_blocking(move || hub.prune())
        .await
        .unwrap()
        .unwrap();
    let mut b = s.client("b").await;
    let got = b.resume("o1", "subscribed", first).await;
    let missed = got
        .iter()
        .find(|f| f["op"] == "missed")
        .expect("missed frame");
    assert_eq!(
        missed,
        &json!({"op": "missed", "object": "o1", "from": first + 1, "to": first + 2})
    );
    let replayed: Vec<i64> = replayed(&got)
        .iter()
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
    let s = start_with(|c| {
        c.limits.history_age_secs = 0;
        c.limits.retention_age_secs = 0;
    })
    .await;
    let (mut a, mut b) = a_and_b_joined(&s).await;
    let first = broadcast_seq(&mut a, 0).await;
    b.recv_plugin().await;
    drop(b);
    a.plugin("o1", broadcast(1)).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let hub = s.server.as_ref().unwrap().state.hub.clone();
    tokio::task::spawn_blocking(move || hub.prune())
        .await
        .unwrap()
        .unwrap();
    let mut b = s.client("b").await;
    let got = b.resume("o1", "joined", first).await;
    assert!(got.iter().any(|f| f["op"] == "missed"), "{got:?}");
    assert!(
        !got.iter().any(|f| f["op"] == "plugin" && f["seq"].is_u64()),
        "{got:?}"
    );
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
    s.static_object("o1");
    let mut a = s.joined("a", "o1").await;
    let first = broadcast_seq(&mut a, 0).await;
    for n in 1..=200 {
        a.plugin("o1", broadcast(n)).await;
    }
    let mut b = s.client("b").await;
    let got = b.resume("o1", "subscribed", first).await;
    let replayed = got
        .iter()
        .filter(|f| f["op"] == "plugin" && f["seq"].is_u64())
        .count();
    assert_eq!(replayed, 200);
    assert_eq!(got.last().unwrap()["op"], "ack");
}
