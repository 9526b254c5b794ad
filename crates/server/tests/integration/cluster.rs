//! Cluster mode: several real nodes (in-process servers on their own ports, and the real
//! binary where one is killed) on one PostgreSQL schema and one NATS JetStream, each test
//! with a schema, a stream and buckets of its own. Needs PostgreSQL on 127.0.0.1:5432 and
//! NATS with JetStream on 127.0.0.1:4222 (`MEETBRIDGE_TEST_PG`, `MEETBRIDGE_TEST_NATS`).

use std::time::Duration;

use meetbridge_server::config::ServeConfig;
use serde_json::{json, Value};

use crate::common::*;

fn pg_url() -> String {
    std::env::var("MEETBRIDGE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn nats_url() -> String {
    std::env::var("MEETBRIDGE_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// One cluster's shared places: a PostgreSQL schema and a NATS prefix of its own.
pub struct Shared {
    pub schema: String,
    pub prefix: String,
}

impl Shared {
    pub fn new(test: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let tag = format!("{test}_{}_{nanos:x}", std::process::id());
        Shared {
            schema: format!("mb_broker_{tag}"),
            prefix: format!("broker_{tag}"),
        }
    }

    /// The settings of one node of this cluster.
    pub fn node(&self, c: &mut ServeConfig) {
        c.data.store = pg_url();
        c.data.pg_schema = self.schema.clone();
        c.cluster.broker = Some(nats_url());
        c.cluster.broker_prefix = self.prefix.clone();
        c.cluster.node_heartbeat_secs = 1;
        c.cluster.node_timeout_secs = 3;
    }

    /// Starts `n` nodes.
    pub async fn nodes(&self, n: usize) -> Vec<TestServer> {
        let mut nodes = Vec::new();
        for _ in 0..n {
            nodes.push(start_with(|c| self.node(c)).await);
        }
        nodes
    }

    /// Deletes the schema, the stream and the buckets.
    pub async fn destroy(&self, any_node: &TestServer) {
        if let Some(cluster) = any_node.server.as_ref().and_then(|s| s.cluster()) {
            let _ = cluster.broker.destroy().await;
        }
        let (client, conn) = tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls)
            .await
            .expect("PostgreSQL answers");
        tokio::spawn(conn);
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema))
            .await
            .unwrap();
    }
}

/// Creates a static object through the first node; the others find it in the store.
pub fn object(nodes: &[TestServer], id: &str) {
    nodes[0].static_object(id);
    for n in &nodes[1..] {
        assert!(n.hub().room(id).is_some(), "node finds object {id}");
    }
}

/// The next frame that is a plugin message of `kind`, skipping others.
async fn next_of(client: &mut Client, kind: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let f = tokio::time::timeout_at(deadline, client.recv())
            .await
            .unwrap_or_else(|_| panic!("no {kind} within 15 s"));
        if f["op"] == "plugin" && f["message"]["type"] == kind {
            return f;
        }
    }
}

/// Waits until `user` on `object` is announced with `status` to `client`.
async fn announced(client: &mut Client, user: &str, status: &str) -> Value {
    let kind = format!("ovice_participant_{status}");
    loop {
        let f = next_of(client, &kind).await;
        if f["message"]["payload"]["id"] == user {
            return f;
        }
    }
}

fn seq(f: &Value) -> u64 {
    f["seq"].as_u64().unwrap_or_else(|| panic!("no seq in {f}"))
}

fn acked(frames: &[Value]) -> u64 {
    let ack = frames.last().unwrap();
    assert_eq!(ack["op"], "ack", "{frames:?}");
    ack["seq"].as_u64().unwrap_or(0)
}

/// Sends broadcasts `base`, `base + 1` … `base + 19` without waiting for their acks.
async fn send_many(client: &mut Client, base: i64) {
    for i in 0..20 {
        client
            .send(json!({"op": "plugin", "object": "o1", "message": broadcast(base + i)}))
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_broadcast_emit_and_saves_cross_three_nodes_nats() {
    let shared = Shared::new("cross");
    let nodes = shared.nodes(3).await;
    object(&nodes, "o1");
    let mut a = nodes[0].joined("a", "o1").await;
    let mut b = nodes[1].joined("b", "o1").await;
    // a hears b arrive through another node, as someone else.
    let sub = announced(&mut a, "b", "subscribed").await;
    assert_eq!(sub["message"]["payload"]["isSelf"], false);
    let joined = announced(&mut a, "b", "joined").await;
    assert_eq!(joined["message"]["payload"]["isSelf"], false);
    let mut c = nodes[2].present("c", "o1", "subscribed").await;
    announced(&mut a, "c", "subscribed").await;
    announced(&mut b, "c", "subscribed").await;
    // Everyone's list has everyone, each marking only themselves.
    let frames = c.get_participants("o1").await;
    let list = &messages(&frames)[0]["payload"];
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a", "b", "c"], "{list}");
    let selves: Vec<bool> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["isSelf"].as_bool().unwrap())
        .collect();
    assert_eq!(selves, [false, false, true]);
    assert_eq!(list[0]["status"], "joined");
    assert_eq!(list[2]["status"], "subscribed");

    // A broadcast from node 0 reaches nodes 1 and 2 with the seq its sender was acked.
    let frames = a.plugin("o1", broadcast(1)).await;
    let s1 = acked(&frames);
    let got_b = next_of(&mut b, "ovice_message").await;
    let got_c = next_of(&mut c, "ovice_message").await;
    assert_eq!((seq(&got_b), seq(&got_c)), (s1, s1));
    assert_eq!(got_c["message"]["payload"]["source"], "a");
    assert_eq!(got_c["message"]["payload"]["message"], json!(1));

    // An emit from node 1 to a user on node 2 reaches that user only.
    let emit = json!({"type": "ovice_emit_message", "payload": {"event": "e", "message": "hi c", "to": "c"}});
    let frames = b.plugin("o1", emit).await;
    let s2 = acked(&frames);
    assert!(s2 > s1);
    let got = next_of(&mut c, "ovice_message").await;
    assert_eq!(seq(&got), s2);
    assert_eq!(got["message"]["payload"]["message"], "hi c");
    a.assert_quiet().await;

    // A save on node 2: the others see the shared data, and any node reads it back.
    let save = json!({"type": "ovice_save_and_emit_data", "payload": {"k": "v2"}});
    let frames = c.plugin("o1", save).await;
    assert_eq!(frames.last().unwrap()["op"], "ack", "{frames:?}");
    assert!(types(&frames).contains(&"ovice_data_saved_success".to_owned()));
    for client in [&mut a, &mut b] {
        let shared = next_of(client, "ovice_shared_data").await;
        assert_eq!(shared["message"]["payload"], json!({"k": "v2"}));
    }
    for client in [&mut a, &mut b] {
        let frames = client.get_data("o1").await;
        assert_eq!(
            messages(&frames)[0]["payload"],
            json!({"k": "v2"}),
            "{frames:?}"
        );
    }

    // Two senders on two nodes at once: every node sees one order.
    let (mut x, mut y) = (
        nodes[0].joined("x", "o1").await,
        nodes[1].joined("y", "o1").await,
    );
    drain(&mut [&mut a, &mut b, &mut c, &mut x, &mut y]).await;
    tokio::join!(send_many(&mut x, 100), send_many(&mut y, 200));
    let mut orders = Vec::new();
    for client in [&mut a, &mut b, &mut c] {
        let mut order = Vec::new();
        while order.len() < 40 {
            let f = next_of(client, "ovice_message").await;
            order.push((
                seq(&f),
                f["message"]["payload"]["message"].as_i64().unwrap(),
            ));
        }
        assert!(
            order.windows(2).all(|w| w[0].0 < w[1].0),
            "seq grows: {order:?}"
        );
        orders.push(order);
    }
    assert_eq!(orders[0], orders[1]);
    assert_eq!(orders[1], orders[2]);
    // Each sender's own order holds.
    let mine: Vec<i64> = orders[0].iter().map(|o| o.1).filter(|n| *n < 200).collect();
    assert_eq!(mine, (100..120).collect::<Vec<_>>());

    // b goes: the others hear it left and unsubscribed.
    b.presence("o1", "unsubscribed").await;
    announced(&mut a, "b", "left").await;
    announced(&mut c, "b", "unsubscribed").await;
    shared.destroy(&nodes[0]).await;
}
