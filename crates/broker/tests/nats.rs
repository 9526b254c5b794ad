//! Against the real NATS with JetStream on 127.0.0.1:4222 (`MEETBRIDGE_TEST_NATS`
//! overrides the URL): each test uses a stream and buckets of its own, deleted afterwards.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use meetbridge_broker::presence::{NodeEvent, Presence};
use meetbridge_broker::{Broker, BrokerConfig, BrokerError, Kind, Outgoing};

fn config() -> BrokerConfig {
    static N: AtomicU64 = AtomicU64::new(0);
    let url =
        std::env::var("MEETBRIDGE_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let mut c = BrokerConfig::new(url);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    c.prefix = format!(
        "mbtest{}x{nanos}x{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    c
}

async fn connect(c: &BrokerConfig) -> Broker {
    match Broker::connect(c).await {
        Ok(b) => b,
        Err(e) => panic!(
            "NATS with JetStream does not answer at {} ({e}); the `_nats` tests need it (CI has it)",
            c.url
        ),
    }
}

fn say(sender: &str, text: &str, id: Option<&str>) -> Outgoing {
    Outgoing {
        sender: sender.into(),
        to: None,
        kind: Kind::Message,
        message: Bytes::from(format!(
            r#"{{"source":"{sender}","event":"chat","message":"{text}"}}"#
        )),
        id: id.map(Into::into),
    }
}

#[tokio::test]
async fn published_frames_get_increasing_seqs_and_replay_in_order_from_any_point_nats() {
    let c = config();
    let b = connect(&c).await;
    let mut seqs = Vec::new();
    for i in 0..20 {
        let object = if i % 2 == 0 { "chat" } else { "poll.1" };
        seqs.push((
            object,
            b.publish(object, &say("a", &format!("m{i}"), None))
                .await
                .unwrap()
                .seq,
        ));
    }
    let chat: Vec<u64> = seqs
        .iter()
        .filter(|(o, _)| *o == "chat")
        .map(|(_, s)| *s)
        .collect();
    assert!(chat.windows(2).all(|w| w[0] < w[1]), "{chat:?}");
    assert_eq!(b.last_seq("chat").await.unwrap(), *chat.last().unwrap());
    assert_eq!(b.last_seq("nobody").await.unwrap(), 0);
    // From the fourth chat frame on: the rest, in order, only this object's.
    let got = b.read("chat", chat[3], 100).await.unwrap();
    let got_seqs: Vec<u64> = got.iter().map(|d| d.seq).collect();
    assert_eq!(got_seqs, chat[4..]);
    assert_eq!(
        &got[0].message[..],
        br#"{"source":"a","event":"chat","message":"m8"}"#
    );
    // A live subscriber gets what comes next.
    let mut live = Box::pin(b.subscribe("chat", *chat.last().unwrap()).await.unwrap());
    let p = b.publish("chat", &say("b", "live", None)).await.unwrap();
    let d = tokio::time::timeout(Duration::from_secs(5), live.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!((d.seq, d.sender.as_str()), (p.seq, "b"));
    b.destroy().await.unwrap();
}

#[tokio::test]
async fn a_resent_message_id_is_stored_once_and_answered_with_the_first_seq_nats() {
    let c = config();
    let b = connect(&c).await;
    let first = b
        .publish("chat", &say("a", "once", Some("page1-7")))
        .await
        .unwrap();
    assert!(!first.duplicate);
    // Another node, same sender and id: a resend after a reconnect.
    let other = connect(&c).await;
    let again = other
        .publish("chat", &say("a", "once", Some("page1-7")))
        .await
        .unwrap();
    assert_eq!((again.seq, again.duplicate), (first.seq, true));
    // The same id from another user is another message.
    let theirs = b
        .publish("chat", &say("b", "mine", Some("page1-7")))
        .await
        .unwrap();
    assert!(!theirs.duplicate && theirs.seq > first.seq);
    assert_eq!(b.read("chat", 0, 100).await.unwrap().len(), 2);
    b.destroy().await.unwrap();
}

#[tokio::test]
async fn two_nodes_publishing_at_once_see_one_order_nats() {
    let c = config();
    let (a, b) = (connect(&c).await, connect(&c).await);
    let mut watch_a = Box::pin(a.subscribe("chat", 0).await.unwrap());
    let mut watch_b = Box::pin(b.subscribe("chat", 0).await.unwrap());
    let pa = {
        let a = a.clone();
        tokio::spawn(async move {
            for i in 0..50 {
                a.publish("chat", &say("a", &i.to_string(), None))
                    .await
                    .unwrap();
            }
        })
    };
    for i in 0..50 {
        b.publish("chat", &say("b", &i.to_string(), None))
            .await
            .unwrap();
    }
    pa.await.unwrap();
    let mut seen_a = Vec::new();
    let mut seen_b = Vec::new();
    for _ in 0..100 {
        let wait = Duration::from_secs(5);
        let x = tokio::time::timeout(wait, watch_a.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let y = tokio::time::timeout(wait, watch_b.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        seen_a.push((x.seq, x.sender, x.message));
        seen_b.push((y.seq, y.sender, y.message));
    }
    assert_eq!(seen_a, seen_b, "every node sees the same order");
    assert!(seen_a.windows(2).all(|w| w[0].0 < w[1].0));
    a.destroy().await.unwrap();
}

#[tokio::test]
async fn members_of_a_node_that_stops_beating_are_reported_gone_nats() {
    let c = config();
    let (a, b) = (connect(&c).await, connect(&c).await);
    let pa = Presence::open(&a, "node-a").await.unwrap();
    let pb = Presence::open(&b, "node-b").await.unwrap();
    let mut changes = Box::pin(pb.watch("chat").await.unwrap());
    pa.put(
        "chat",
        "dev-山田",
        Bytes::from_static(b"{\"status\":\"joined\"}"),
    )
    .await
    .unwrap();
    pb.put(
        "chat",
        "bob",
        Bytes::from_static(b"{\"status\":\"subscribed\"}"),
    )
    .await
    .unwrap();
    let change = tokio::time::timeout(Duration::from_secs(5), changes.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (change.node.as_str(), change.user.as_str()),
        ("node-a", "dev-山田")
    );
    let mut all: Vec<(String, String)> = pb
        .members("chat")
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.node, e.user))
        .collect();
    all.sort();
    assert_eq!(
        all,
        [
            ("node-a".into(), "dev-山田".into()),
            ("node-b".into(), "bob".into())
        ]
    );

    let beat = pa.spawn_heartbeat(Duration::from_millis(300));
    let mut nodes = pb.watch_nodes(Duration::from_secs(2)).await.unwrap();
    let up = tokio::time::timeout(Duration::from_secs(5), nodes.recv())
        .await
        .unwrap();
    assert_eq!(up, Some(NodeEvent::Up("node-a".into())));
    // node-a dies (its heartbeat stops without a word).
    beat.abort();
    let started = std::time::Instant::now();
    let down = tokio::time::timeout(Duration::from_secs(15), nodes.recv())
        .await
        .unwrap();
    assert_eq!(down, Some(NodeEvent::Down("node-a".into())));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The survivor removes what the dead node left.
    assert_eq!(pb.remove_node("node-a").await.unwrap(), 1);
    let left: Vec<String> = pb
        .members("chat")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.user)
        .collect();
    assert_eq!(left, ["bob"]);
    a.destroy().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_nats_is_named_in_the_error_nats() {
    let mut c = config();
    c.url = "nats://127.0.0.1:1".into();
    let Err(BrokerError::Unavailable(message)) = Broker::connect(&c).await else {
        panic!("connected to port 1?")
    };
    assert!(message.contains("nats://127.0.0.1:1"), "{message}");
}

/// Frames sent without waiting for each answer (the server's publish queue) are stored in
/// the order sent, every one answered, and consumed in that order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_sent_in_flight_keep_their_order_nats() {
    let c = config();
    let b = connect(&c).await;
    let sub = b.clone();
    let mut frames = Box::pin(sub.subscribe("flight", 0).await.unwrap());
    let n = 2000usize;
    let recv = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some(Ok(f)) = frames.next().await {
            got.push((f.seq, f.message));
            if got.len() == n {
                break;
            }
        }
        got
    });
    let mut answers = Vec::new();
    for i in 0..n {
        answers.push(
            b.send("flight", &say("a", &format!("m{i}"), None))
                .await
                .unwrap(),
        );
    }
    let mut seqs = Vec::new();
    for a in answers {
        seqs.push(a.await.unwrap().seq);
    }
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "stored in the order sent"
    );
    let got = tokio::time::timeout(Duration::from_secs(20), recv)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), seqs);
    for (i, (_, message)) in got.iter().enumerate() {
        let text = std::str::from_utf8(message).unwrap();
        assert!(text.contains(&format!("\"m{i}\"")), "{text}");
    }
    b.destroy().await.unwrap();
}

/// A watch whose connection is gone ends (the caller watches again after a pause) instead
/// of skipping errors forever inside one poll, which pegged a worker and never saw a stop.
/// The connection goes with the runtime that ran it, as when a node shuts down.
#[test]
fn a_presence_watch_ends_when_its_connection_is_gone_nats() {
    let c = config();
    let node = tokio::runtime::Runtime::new().unwrap();
    let (a, everything) = node.block_on(async {
        let a = connect(&c).await;
        let pa = Presence::open(&a, "node-a").await.unwrap();
        pa.put(
            "chat",
            "ann",
            Bytes::from_static(b"{\"status\":\"joined\"}"),
        )
        .await
        .unwrap();
        let mut everything = Box::pin(pa.watch_everything().await.unwrap());
        let first = tokio::time::timeout(Duration::from_secs(5), everything.next())
            .await
            .expect("the bucket's history")
            .expect("an entry");
        assert_eq!(
            (first.object.as_str(), first.user.as_str()),
            ("chat", "ann")
        );
        a.destroy().await.unwrap();
        (a, everything)
    });
    drop(node);
    let (done, rest) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let other = tokio::runtime::Runtime::new().unwrap();
        let n = other.block_on(everything.count());
        let _ = done.send(n);
    });
    let n = rest
        .recv_timeout(Duration::from_secs(10))
        .expect("the watch ends once its connection is gone");
    assert_eq!(n, 0);
    drop(a);
}
