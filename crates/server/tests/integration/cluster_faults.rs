//! Three real nodes (the binary) on the machine's PostgreSQL and NATS JetStream, and
//! SIGKILL: one node killed during steady traffic (its clients move to the others and
//! resume, nothing acknowledged is lost, nothing arrives twice, the order holds), and all
//! three killed at once (history intact, `seq` goes on, ids of idempotent sends
//! remembered). A clean restart of the whole cluster is `cluster.rs`; a single embedded
//! node's restart (SQLite, and one node on PostgreSQL) is `durable.rs`, its `kill -9`
//! `crash.rs`.

use std::time::Duration;

use serde_json::{json, Value};

use crate::cluster_nodes::Cluster;
use crate::cluster_traffic::{dial, Link, Plan, Traffic};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_of_one_node_during_traffic_loses_nothing_postgres_nats() {
    let mut cluster = Cluster::start("kill", 3);
    cluster.object("o1").await;
    let [n1, n2, n3] = [0, 1, 2].map(|i| cluster.nodes[i].addr);
    // Node 3 dies: one sender and two receivers are on it, and move to the others.
    let plan = Plan {
        object: "o1".into(),
        senders: vec![vec![n3, n1, n2], vec![n1, n2, n3]],
        receivers: vec![
            vec![n1, n2],
            vec![n2, n1],
            vec![n3, n1, n2],
            vec![n3, n2, n1],
        ],
    };
    let traffic = Traffic::connect(plan).await;
    let mut doomed = cluster.nodes.remove(2);
    let counts = traffic
        .run(
            Duration::from_secs(3),
            Duration::from_millis(1200),
            move || doomed.kill_9(),
            Duration::from_secs(15),
        )
        .await;
    counts.print("kill -9 of one of three nodes during traffic");
    assert!(
        counts.acknowledged > 20,
        "only {} acknowledged; {}",
        counts.acknowledged,
        cluster.logs()
    );
    counts.assert_nothing_lost(|| cluster.logs());
    // Everyone that was on node 3 is now on another node, and no one else moved.
    let dead = n3.to_string();
    for route in &counts.routes {
        let first_on_dead = route.nodes[0] == dead;
        assert_eq!(route.nodes.len() > 1, first_on_dead, "{route:?}");
        assert_ne!(route.nodes.last().unwrap(), &dead, "{route:?}");
    }
}

/// A client of one node for the restart test.
struct User {
    link: Link,
    req: u64,
}

impl User {
    async fn on(addr: std::net::SocketAddr, id: &str) -> User {
        let (link, _) = dial(&[addr], 0, id, Duration::from_secs(20)).await;
        User { link, req: 1 }
    }

    async fn request(&mut self, frame: Value) -> Vec<Value> {
        self.req += 1;
        self.link
            .request(self.req, frame)
            .await
            .expect("the node answers")
    }

    async fn join(&mut self, since: Option<u64>) -> Vec<Value> {
        let mut frame = json!({"op": "presence", "object": "o1", "status": "joined"});
        if let Some(since) = since {
            frame["since"] = json!(since);
        }
        let frames = self.request(frame).await;
        assert_eq!(frames.last().unwrap()["op"], "ack", "{frames:?}");
        frames
    }

    /// Sends broadcast `n` with id `id`; the ack's `seq`.
    async fn say(&mut self, id: &str, n: u64) -> u64 {
        let frames = self
            .request(json!({"op": "plugin", "object": "o1", "id": id,
                "message": {"type": "ovice_broadcast_message", "payload": {"event": "n", "message": n}}}))
            .await;
        let ack = frames.last().unwrap();
        assert_eq!(ack["op"], "ack", "{frames:?}");
        ack["seq"].as_u64().unwrap()
    }

    /// Frames until the socket is quiet for `quiet`.
    async fn read(&mut self, quiet: Duration) -> Vec<Value> {
        let mut out = Vec::new();
        while let Ok(Some(f)) = self.link.next(quiet).await {
            out.push(f);
        }
        out
    }
}

/// The broadcast numbers among `frames` (relayed, with a `seq`), in order.
fn numbers(frames: &[Value]) -> Vec<u64> {
    frames
        .iter()
        .filter(|f| f["op"] == "plugin" && f["seq"].is_u64())
        .filter(|f| f["message"]["type"] == "ovice_message")
        .filter_map(|f| f["message"]["payload"]["message"].as_u64())
        .collect()
}

/// Everything killed at once, right after the acks (the archive into PostgreSQL may not
/// have caught up): a clean stop and restart of the whole cluster is `cluster.rs`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_whole_cluster_killed_at_once_keeps_history_seq_and_ids_postgres_nats() {
    let mut cluster = Cluster::start("restart", 3);
    cluster.object("o1").await;
    let addrs = cluster.addrs();
    let mut a = User::on(addrs[0], "a").await;
    a.join(None).await;
    let mut b = User::on(addrs[1], "b").await;
    b.join(None).await;
    let mut seqs = Vec::new();
    for n in 1..=20 {
        seqs.push(a.say(&format!("r-{n}"), n).await);
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let save = json!({"op": "plugin", "object": "o1", "id": "save-1",
        "message": {"type": "ovice_save_and_emit_data", "payload": {"v": 1}}});
    let saved = a.request(save.clone()).await;
    assert_eq!(
        saved.iter().find(|f| f["op"] == "plugin").unwrap()["message"]["type"],
        "ovice_data_saved_success",
        "{saved:?}"
    );
    // `b` saw everything on node 2 before the cluster went down.
    let live = b.read(Duration::from_millis(300)).await;
    assert_eq!(numbers(&live), (1..=20).collect::<Vec<_>>(), "{live:?}");
    drop((a, b));

    // SIGKILL to all three at once, then all started again on their addresses.
    for node in &mut cluster.nodes {
        node.kill_9();
    }
    for i in 0..3 {
        cluster.restart(i);
    }

    // `b` comes back on node 3 and resumes from the tenth: the rest, no `missed`.
    let mut b = User::on(addrs[2], "b").await;
    let resumed = b.join(Some(seqs[9])).await;
    assert!(resumed.iter().all(|f| f["op"] != "missed"), "{resumed:?}");
    assert_eq!(
        numbers(&resumed),
        (11..=20).collect::<Vec<_>>(),
        "{resumed:?}"
    );
    assert!(
        resumed
            .iter()
            .any(|f| f["message"]["type"] == "ovice_shared_data"),
        "the save is in the log too: {resumed:?}"
    );
    // A reload on node 1 pages back through all of it, "load earlier" style.
    let mut a = User::on(addrs[0], "a").await;
    a.join(None).await;
    let mut all = Vec::new();
    let mut ask = json!({"op": "history", "object": "o1", "backward": true, "limit": 8});
    for _ in 0..10 {
        let page = a.request(ask.clone()).await;
        let ack = page.last().unwrap().clone();
        all.splice(0..0, numbers(&page));
        if ack["start"] == true {
            break;
        }
        ask = json!({"op": "history", "object": "o1", "before": ack["from"], "limit": 8});
    }
    assert_eq!(all, (1..=20).collect::<Vec<_>>());
    // The numbering goes on; resends of ids from before the kill, on another node, are
    // answered as the first time and not relayed again.
    b.read(Duration::from_millis(300)).await;
    let next = a.say("r-21", 21).await;
    assert!(next > *seqs.last().unwrap(), "{next} after {seqs:?}");
    assert_eq!(numbers(&b.read(Duration::from_millis(500)).await), [21]);
    let mut c = User::on(addrs[1], "a").await;
    c.join(None).await;
    assert_eq!(c.say("r-5", 5).await, seqs[4]);
    let again = c.request(save).await;
    let reply = |frames: &[Value]| {
        frames
            .iter()
            .find(|f| f["op"] == "plugin")
            .map(|f| f["message"].clone())
    };
    assert_eq!(reply(&again), reply(&saved), "the same success reply");
    assert_eq!(
        numbers(&b.read(Duration::from_millis(500)).await),
        Vec::<u64>::new()
    );
    let data = c
        .request(json!({"op": "plugin", "object": "o1", "message": {"type": "ovice_get_data"}}))
        .await;
    assert_eq!(
        reply(&data).unwrap()["payload"],
        json!({"v": 1}),
        "{data:?}"
    );
}
