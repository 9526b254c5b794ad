//! The history extension (`history` frame; a plugin's `meetbridge_get_history` through the
//! host runtime): what a user may see of an object's past, their own messages included, and
//! how far the answer goes (`ack.seq`), for a chat that survives reloads.

use serde_json::{json, Value};

use crate::common::*;

fn say(text: &str) -> Value {
    json!({"type": "ovice_broadcast_message", "payload": {"event": "chat", "message": {"text": text}}})
}

fn dm(to: &str, text: &str) -> Value {
    json!({"type": "ovice_emit_message", "payload": {"event": "chat", "to": to, "message": {"text": text}}})
}

fn texts(frames: &[Value]) -> Vec<String> {
    messages(frames)
        .iter()
        .filter(|m| m["type"] == "ovice_message")
        .map(|m| m["payload"]["message"]["text"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn history_includes_own_messages_and_dms_of_this_user_only() {
    let s = start().await;
    s.static_object("o1");
    let mut a = s.joined("a", "o1").await;
    let mut b = s.joined("b", "o1").await;
    let mut c = s.joined("c", "o1").await;
    a.plugin("o1", say("a to all")).await;
    b.plugin("o1", dm("a", "b to a")).await;
    c.plugin("o1", dm("b", "c to b")).await;
    let sent = b.plugin("o1", say("b to all")).await;
    let last = sent.last().unwrap()["seq"].as_u64().unwrap();

    // `a` reloads: a new connection asks for everything kept.
    drop(a);
    let mut a = s.joined("a", "o1").await;
    let got = a
        .request(json!({"op": "history", "object": "o1", "limit": 100}))
        .await;
    assert!(
        got.iter().all(|f| f["op"] != "missed"),
        "no `since`: nothing is missed: {got:?}"
    );
    assert_eq!(texts(&got), ["a to all", "b to a", "b to all"]);
    let ack = got.last().unwrap();
    assert_eq!(ack["op"], "ack");
    let upto = ack["seq"].as_u64().unwrap();
    assert_eq!(
        upto, last,
        "the answer covers everything up to the last message"
    );
    let seqs: Vec<u64> = got
        .iter()
        .filter(|f| f["op"] == "plugin")
        .filter_map(|f| f["seq"].as_u64())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order: {seqs:?}");

    // A page: cut at the limit, `seq` says where to go on from.
    let page = a
        .request(json!({"op": "history", "object": "o1", "limit": 2}))
        .await;
    assert_eq!(texts(&page), ["a to all", "b to a"]);
    let upto = page.last().unwrap()["seq"].as_u64().unwrap();
    assert!(
        upto < last,
        "a cut page stops before the first message left out"
    );
    let rest = a
        .request(json!({"op": "history", "object": "o1", "since": upto, "limit": 2}))
        .await;
    assert_eq!(texts(&rest), ["b to all"]);

    // A resume (presence with `since`) still leaves out what the user sent.
    drop(a);
    let mut a = s.client("a").await;
    let got = a.resume("o1", "joined", 1).await;
    assert!(!texts(&got).contains(&"a to all".to_owned()), "{got:?}");
}

#[tokio::test]
async fn a_raw_get_history_plugin_message_is_answered_like_a_history_frame() {
    let s = start().await;
    s.static_object("o1");
    let mut a = s.joined("a", "o1").await;
    let seq = a.plugin("o1", say("hello")).await.last().unwrap()["seq"]
        .as_u64()
        .unwrap();
    let got = a
        .plugin(
            "o1",
            json!({"type": "meetbridge_get_history", "payload": {"limit": 5}}),
        )
        .await;
    assert_eq!(texts(&got), ["hello"]);
    assert_eq!(got.last().unwrap()["seq"], seq);
    // Only members may read it.
    let mut z = s.client("z").await;
    let got = z.request(json!({"op": "history", "object": "o1"})).await;
    assert_eq!(got.last().unwrap()["code"], "not_member", "{got:?}");
}

#[tokio::test]
async fn backward_pages_load_earlier_messages_until_the_start() {
    let s = start().await;
    s.static_object("o1");
    let mut a = s.joined("a", "o1").await;
    let mut b = s.joined("b", "o1").await;
    let _c = s.joined("c", "o1").await;
    for i in 0..5 {
        a.plugin("o1", say(&format!("a{i}"))).await;
        let sent = b.plugin("o1", dm("c", &format!("not for a {i}"))).await;
        assert_eq!(sent.last().unwrap()["op"], "ack", "{sent:?}");
    }
    let newest = a
        .request(json!({"op": "history", "object": "o1", "backward": true, "limit": 2}))
        .await;
    assert_eq!(texts(&newest), ["a3", "a4"], "oldest first within the page");
    let ack = newest.last().unwrap();
    assert_eq!(ack["op"], "ack");
    assert!(ack.get("start").is_none(), "{ack}");
    let from = ack["from"].as_u64().unwrap();
    let earlier = a
        .request(json!({"op": "history", "object": "o1", "before": from, "limit": 2}))
        .await;
    assert_eq!(texts(&earlier), ["a1", "a2"]);
    let from = earlier.last().unwrap()["from"].as_u64().unwrap();
    let first = a
        .plugin(
            "o1",
            json!({"type": "meetbridge_get_history", "payload": {"before": from, "limit": 2}}),
        )
        .await;
    assert_eq!(texts(&first), ["a0"]);
    assert_eq!(first.last().unwrap()["start"], true, "{first:?}");
}

/// A page that has received nothing yet still knows where to resume: the presence `ack`
/// carries the object's latest `seq`, and a resume from it replays exactly what came after.
#[tokio::test]
async fn the_presence_ack_says_where_the_object_stood_so_a_silent_page_resumes_from_there() {
    let s = start().await;
    s.static_object("o1");
    let mut a = s.joined("a", "o1").await;
    let first = a.presence("o1", "joined").await;
    assert!(
        first.last().unwrap().get("seq").is_none(),
        "nothing sent yet: {first:?}"
    );
    let mut sent = Vec::new();
    for n in 0..3 {
        let got = a.plugin("o1", broadcast(n)).await;
        sent.push(got.last().unwrap()["seq"].as_u64().unwrap());
    }
    let mut b = s.client("b").await;
    let arrived = b.presence("o1", "subscribed").await;
    let head = arrived.last().unwrap()["seq"].as_u64();
    assert_eq!(
        head,
        Some(sent[2]),
        "the ack names the latest seq: {arrived:?}"
    );
    a.drain().await;
    // B's socket drops before anything reaches it; A speaks meanwhile.
    drop(b);
    let later = a.plugin("o1", broadcast(9)).await;
    let later = later.last().unwrap()["seq"].as_u64().unwrap();
    let mut b = s.client("b").await;
    let replay = b.resume("o1", "subscribed", head.unwrap()).await;
    let seqs: Vec<u64> = replay
        .iter()
        .filter(|f| f["op"] == "plugin" && f["message"]["type"] == "ovice_message")
        .map(|f| f["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        seqs,
        [later],
        "exactly what was sent while away: {replay:?}"
    );
}

/// Leaving says nothing about where to resume.
#[tokio::test]
async fn the_ack_of_a_departure_carries_no_seq() {
    let s = start().await;
    s.static_object("o1");
    let mut a = s.joined("a", "o1").await;
    a.plugin("o1", broadcast(1)).await;
    let gone = a.presence("o1", "unsubscribed").await;
    assert!(gone.last().unwrap().get("seq").is_none(), "{gone:?}");
}
