//! Idempotent sends: a `plugin` frame sent again with the same `id` (a resend after a
//! reconnect whose `ack` was lost) is answered as the first time and not acted on twice.

use serde_json::{json, Value};

use crate::common::*;

fn with_id(id: &str, message: Value) -> Value {
    json!({"op": "plugin", "object": "o1", "id": id, "message": message})
}

async fn members(s: &TestServer, ids: &[&str]) -> Vec<Client> {
    s.static_object("o1");
    let mut clients = Vec::new();
    for id in ids {
        clients.push(s.joined(id, "o1").await);
    }
    for c in clients.iter_mut() {
        c.drain().await;
    }
    clients
}

#[tokio::test]
async fn a_broadcast_resent_after_a_lost_ack_is_delivered_once() {
    let s = start().await;
    let mut cs = members(&s, &["a", "b"]).await;
    let (mut a, mut b) = (cs.remove(0), cs.remove(0));

    // A sends; the server relays; the socket drops before A reads the ack.
    a.send(
        json!({"op": "plugin", "req": 1, "object": "o1", "id": "page1-1", "message": broadcast(1)}),
    )
    .await;
    let first = b.recv_plugin().await;
    let seq = first["seq"].as_u64().unwrap();
    assert_eq!(first["message"]["payload"]["message"], 1);
    drop(a);

    // A comes back and sends it again, as the host runtime does.
    let mut a = s.joined("a", "o1").await;
    drain(&mut [&mut a, &mut b]).await;
    let got = a.request(with_id("page1-1", broadcast(1))).await;
    assert_eq!(got.len(), 1, "only the ack: {got:?}");
    assert_eq!(got[0]["op"], "ack");
    assert_eq!(got[0]["seq"], seq, "the same seq as the first time");
    b.assert_quiet().await;

    // Kept once in the history too.
    let got = b.request(json!({"op": "history", "object": "o1"})).await;
    let relayed: Vec<&Value> = messages(&got)
        .into_iter()
        .filter(|m| m["type"] == "ovice_message")
        .collect();
    assert_eq!(relayed.len(), 1, "{got:?}");
    let hub = s.hub();
    assert_eq!(hub.metrics.relayed.get(), 1);
    assert_eq!(hub.metrics.duplicates.get(), 1);

    // A new id is a new message.
    let got = a.request(with_id("page1-2", broadcast(2))).await;
    assert!(got[0]["seq"].as_u64().unwrap() > seq);
    assert_eq!(b.recv_plugin().await["message"]["payload"]["message"], 2);
}

#[tokio::test]
async fn a_duplicate_emit_is_delivered_once_even_after_the_recipient_left() {
    let s = start().await;
    let mut cs = members(&s, &["a", "b", "c"]).await;
    let (mut a, mut b, mut c) = (cs.remove(0), cs.remove(0), cs.remove(0));
    let dm = json!({"type": "ovice_emit_message", "payload": {"event": "dm", "message": "hi", "to": "c"}});
    let got = a.request(with_id("k-1", dm.clone())).await;
    let seq = got[0]["seq"].as_u64().unwrap();
    assert_eq!(c.recv_plugin().await["seq"], seq);
    let got = a.request(with_id("k-1", dm.clone())).await;
    assert_eq!(
        got,
        [json!({"op": "ack", "req": got[0]["req"], "seq": seq})]
    );
    c.assert_quiet().await;
    b.assert_quiet().await;

    // The recipient is gone: the duplicate is still answered as the first time...
    c.presence("o1", "unsubscribed").await;
    drain(&mut [&mut a, &mut b]).await;
    let got = a.request(with_id("k-1", dm.clone())).await;
    assert_eq!(got[0]["op"], "ack", "{got:?}");
    assert_eq!(got[0]["seq"], seq);
    // ... while a new one is refused.
    let got = a.request(with_id("k-2", dm)).await;
    assert_eq!(got[0]["code"], "recipient_not_member");
}

#[tokio::test]
async fn a_duplicate_save_is_saved_once_and_answered_the_same() {
    let s = start().await;
    let mut cs = members(&s, &["a", "b"]).await;
    let (mut a, mut b) = (cs.remove(0), cs.remove(0));
    let save = |v: i64| json!({"type": "ovice_save_and_emit_data", "payload": {"v": v}});

    let first = a.request(with_id("s-1", save(1))).await;
    assert_eq!(first.len(), 2, "{first:?}");
    let success = first[0]["message"].clone();
    assert_eq!(success["type"], "ovice_data_saved_success");
    assert_eq!(first[1]["op"], "ack");
    let shared = b.recv_plugin().await;
    assert_eq!(shared["message"]["type"], "ovice_shared_data");

    // Reconnect, send again (with other data under the same id: still a duplicate).
    drop(a);
    let mut a = s.joined("a", "o1").await;
    drain(&mut [&mut a, &mut b]).await;
    let again = a.request(with_id("s-1", save(2))).await;
    assert_eq!(again.len(), 2, "{again:?}");
    assert_eq!(again[0]["message"], success, "the same success reply");
    assert_eq!(again[1]["op"], "ack");
    assert!(again[1].get("seq").is_none());
    b.assert_quiet().await;
    let hub = s.hub();
    assert_eq!(hub.metrics.saves.get(), 1);
    let got = b.get_data("o1").await;
    assert_eq!(
        messages(&got),
        [&json!({"type": "ovice_saved_data", "payload": {"v": 1}})]
    );
}

#[tokio::test]
async fn a_duplicate_sent_while_the_save_commits_waits_for_it() {
    let s = start_with(|c| c.data.sqlite_sync = meetbridge_server::config::SqliteSync::Full).await;
    let mut cs = members(&s, &["a", "b"]).await;
    let (mut a, mut b) = (cs.remove(0), cs.remove(0));
    let save = json!({"type": "ovice_save_and_emit_data", "payload": {"v": 1}});
    // Back to back, without waiting: the second may arrive before the first commits.
    for req in [1, 2] {
        a.send(json!({"op": "plugin", "req": req, "object": "o1", "id": "s-1", "message": save}))
            .await;
    }
    let mut acks = Vec::new();
    let mut successes = Vec::new();
    while acks.len() < 2 {
        let f = a.recv().await;
        match f["op"].as_str() {
            Some("ack") => acks.push(f["req"].as_u64().unwrap()),
            Some("plugin") => successes.push(f["message"].clone()),
            _ => panic!("unexpected {f}"),
        }
    }
    acks.sort_unstable();
    assert_eq!(acks, [1, 2]);
    assert_eq!(successes.len(), 2);
    assert_eq!(successes[0], successes[1]);
    assert_eq!(
        b.recv_plugin().await["message"]["type"],
        "ovice_shared_data"
    );
    b.assert_quiet().await;
    let hub = s.hub();
    assert_eq!(hub.metrics.saves.get(), 1);
    assert_eq!(hub.metrics.duplicates.get(), 1);
}

#[tokio::test]
async fn ids_are_per_user_and_per_object() {
    let s = start().await;
    let mut cs = members(&s, &["a", "b", "c"]).await;
    let (mut a, mut b, mut c) = (cs.remove(0), cs.remove(0), cs.remove(0));
    let got = a.request(with_id("same", broadcast(1))).await;
    let sa = got.last().unwrap()["seq"].clone();
    // B hears of A's message first, then gets its own ack.
    let got = b.request(with_id("same", broadcast(2))).await;
    assert_eq!(got.len(), 2, "{got:?}");
    let sb = got.last().unwrap()["seq"].clone();
    assert!(sb.as_u64().unwrap() > sa.as_u64().unwrap());
    assert_eq!(a.recv_plugin().await["message"]["payload"]["message"], 2);
    let mut got: Vec<Value> = Vec::new();
    for _ in 0..2 {
        got.push(c.recv_plugin().await["message"]["payload"]["message"].clone());
    }
    assert_eq!(got, [json!(1), json!(2)]);
    // Another object: the same id is another message.
    s.static_object("o2");
    a.presence("o2", "joined").await;
    c.presence("o2", "joined").await;
    drain(&mut [&mut a, &mut b, &mut c]).await;
    let got = a
        .request(json!({"op": "plugin", "object": "o2", "id": "same", "message": broadcast(3)}))
        .await;
    assert_eq!(got[0]["op"], "ack", "{got:?}");
    let f = c.recv_plugin().await;
    assert_eq!(f["object"], "o2");
    assert_eq!(f["message"]["payload"]["message"], 3);
}

#[tokio::test]
async fn the_window_is_bounded() {
    let s = start_with(|c| c.limits.dedup_ids = 2).await;
    let mut cs = members(&s, &["a", "b"]).await;
    let (mut a, mut b) = (cs.remove(0), cs.remove(0));
    let mut seqs = Vec::new();
    for n in 1..=3 {
        seqs.push(a.request(with_id(&n.to_string(), broadcast(n))).await[0]["seq"].clone());
        b.recv_plugin().await;
    }
    // "1" fell out of the window (two ids are kept): it is new again.
    let got = a.request(with_id("1", broadcast(1))).await;
    assert_ne!(got[0]["seq"], seqs[0]);
    assert_eq!(b.recv_plugin().await["message"]["payload"]["message"], 1);
    // "3" is still remembered.
    let got = a.request(with_id("3", broadcast(3))).await;
    assert_eq!(got[0]["seq"], seqs[2]);
    b.assert_quiet().await;
}

#[tokio::test]
async fn ids_are_checked() {
    let s = start().await;
    let mut cs = members(&s, &["a"]).await;
    let mut a = cs.remove(0);
    for bad in [json!(""), json!("x".repeat(129)), json!(7)] {
        let got = a
            .request(json!({"op": "plugin", "object": "o1", "id": bad, "message": broadcast(1)}))
            .await;
        assert_eq!(got[0]["code"], "bad_frame", "{got:?}");
        assert_eq!(got[0]["field"], "id");
    }
}
