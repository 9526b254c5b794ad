//! Durable history on the embedded store: what was acknowledged survives a restart, the
//! numbering goes on, ids of idempotent sends are remembered, and the history pages back
//! through everything retained, not only what memory holds.

use serde_json::{json, Value};

use crate::common::*;

fn say(n: i64) -> Value {
    json!({"type": "ovice_broadcast_message", "payload": {"event": "chat", "message": {"n": n, "text": "héllo β"}}})
}

fn numbers(frames: &[Value]) -> Vec<i64> {
    frames
        .iter()
        .filter(|f| f["op"] == "plugin" && f["seq"].is_u64())
        .map(|f| f["message"]["payload"]["message"]["n"].as_i64().unwrap())
        .collect()
}

fn acked_seq(frames: &[Value]) -> u64 {
    let ack = frames.last().unwrap();
    assert_eq!(ack["op"], "ack", "{frames:?}");
    ack["seq"].as_u64().unwrap()
}

#[tokio::test]
async fn acknowledged_messages_survive_a_restart_and_numbering_goes_on() {
    survive_a_restart(|_| {}).await;
}

#[tokio::test]
async fn acknowledged_messages_survive_a_restart_postgres() {
    let pg = PgSchema::new();
    survive_a_restart(pg.apply()).await;
    pg.drop_schema().await;
}

#[tokio::test]
async fn message_ids_are_remembered_across_a_restart_postgres() {
    let pg = PgSchema::new();
    ids_survive_a_restart(pg.apply()).await;
    pg.drop_schema().await;
}

async fn survive_a_restart(backend: impl Fn(&mut meetbridge_server::config::ServeConfig) + Clone) {
    let first = backend.clone();
    let mut s = start_with(move |c| {
        c.data.sqlite_sync = meetbridge_server::config::SqliteSync::Full;
        // Memory holds only the last 5: the rest is read from the store.
        c.limits.history_size = 5;
        first(c);
    })
    .await;
    s.static_object("o1");
    let mut a = s.joined("a", "o1").await;
    let mut b = s.joined("b", "o1").await;
    let mut seqs = Vec::new();
    for n in 0..51 {
        seqs.push(acked_seq(&a.plugin("o1", say(n)).await));
    }
    assert_eq!(
        seqs,
        (1..=51).collect::<Vec<u64>>(),
        "numbered from 1, no gaps"
    );
    // `b` saw the first ten before its connection dropped.
    for _ in 0..10 {
        b.recv_plugin().await;
    }
    drop((a, b));
    s.stop().await;

    let s = start_in(s.dir, move |c| {
        c.limits.history_size = 5;
        backend(c);
    })
    .await;
    let mut b = s.client("b").await;
    let got = b.resume("o1", "joined", seqs[9]).await;
    assert!(got.iter().all(|f| f["op"] != "missed"), "{got:?}");
    assert_eq!(numbers(&got), (10..51).collect::<Vec<i64>>());
    assert_eq!(
        got.iter().find(|f| f["seq"] == 11).unwrap()["message"]["payload"]["message"]["text"],
        "héllo β"
    );
    // A reload pages back through all 51, newest first, oldest first within a page.
    let mut a = s.joined("a", "o1").await;
    let mut pages = Vec::new();
    let mut ask = json!({"op": "history", "object": "o1", "backward": true, "limit": 20});
    loop {
        let page = a.request(ask.clone()).await;
        let ack = page.last().unwrap().clone();
        pages.push(numbers(&page));
        if ack["start"] == true {
            break;
        }
        ask = json!({"op": "history", "object": "o1", "before": ack["from"], "limit": 20});
        assert!(pages.len() < 5, "{pages:?}");
    }
    assert_eq!(
        pages,
        [
            (31..51).collect::<Vec<i64>>(),
            (11..31).collect(),
            (0..11).collect()
        ]
    );
    // The next message goes on from 51.
    assert_eq!(acked_seq(&a.plugin("o1", say(51)).await), 52);
    // (after `a`'s arrival, which `b` hears of first)
    let live = loop {
        let f = b.recv_plugin().await;
        if f["seq"].is_u64() {
            break f;
        }
    };
    assert_eq!(live["seq"], 52);
}

#[tokio::test]
async fn message_ids_are_remembered_across_a_restart() {
    ids_survive_a_restart(|_| {}).await;
}

async fn ids_survive_a_restart(
    backend: impl Fn(&mut meetbridge_server::config::ServeConfig) + Clone,
) {
    let first = backend.clone();
    let mut s = start_with(move |c| first(c)).await;
    s.static_object("o1");
    let mut a = s.joined("a", "o1").await;
    let mut b = s.joined("b", "o1").await;
    let send =
        |id: &str, n: i64| json!({"op": "plugin", "object": "o1", "id": id, "message": say(n)});
    let first = acked_seq(&a.request(send("page1-1", 1)).await);
    b.recv_plugin().await;
    let save = json!({"op": "plugin", "object": "o1", "id": "page1-2",
        "message": {"type": "ovice_save_and_emit_data", "payload": {"v": 1}}});
    let saved = a.request(save.clone()).await;
    assert_eq!(messages(&saved)[0]["type"], "ovice_data_saved_success");
    b.recv_plugin().await;
    drop((a, b));
    s.stop().await;

    let s = start_in(s.dir, move |c| backend(c)).await;
    let mut a = s.joined("a", "o1").await;
    let mut b = s.joined("b", "o1").await;
    // The resend after the restart is answered as the first time, and not relayed again.
    assert_eq!(acked_seq(&a.request(send("page1-1", 1)).await), first);
    let again = a.request(save).await;
    assert_eq!(messages(&again), messages(&saved), "the same success reply");
    b.assert_quiet().await;
    let got = b.get_data("o1").await;
    assert_eq!(messages(&got)[0]["payload"], json!({"v": 1}));
}
