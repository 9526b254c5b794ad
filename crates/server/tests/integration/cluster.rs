//! Cluster mode: several real nodes (in-process servers on their own ports, and the real
//! binary where one is killed) on one PostgreSQL schema and one NATS JetStream, each test
//! with a schema, a stream and buckets of its own. Needs PostgreSQL on 127.0.0.1:5432 and
//! NATS with JetStream on 127.0.0.1:4222 (`MEETBRIDGE_TEST_PG`, `MEETBRIDGE_TEST_NATS`).

use std::time::Duration;

use meetbridge_server::config::ServeConfig;
use serde_json::{json, Value};

use crate::binary::printed_addr;
use crate::cluster_nodes::{nats_url, pg_url};
use crate::common::*;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_and_resends_work_on_another_node_nats() {
    let shared = Shared::new("resume");
    let nodes = shared.nodes(3).await;
    object(&nodes, "o1");
    let mut a = nodes[0].joined("a", "o1").await;
    let mut b = nodes[1].joined("b", "o1").await;
    announced(&mut a, "b", "joined").await;
    let mut acks = Vec::new();
    for n in 0..5 {
        let frames = a
            .request(json!({"op": "plugin", "object": "o1", "id": format!("m{n}"), "message": broadcast(n)}))
            .await;
        acks.push(acked(&frames));
    }
    let mut seen = 0;
    for _ in 0..5 {
        seen = seq(&next_of(&mut b, "ovice_message").await);
    }
    assert_eq!(seen, acks[4]);
    // b drops; a goes on; b comes back on the third node and resumes where it was.
    drop(b);
    for n in 5..10 {
        let frames = a
            .request(json!({"op": "plugin", "object": "o1", "id": format!("m{n}"), "message": broadcast(n)}))
            .await;
        acks.push(acked(&frames));
    }
    let mut b = nodes[2].client("b").await;
    let frames = b.resume("o1", "joined", seen).await;
    assert!(
        frames.iter().all(|f| f["op"] != "missed"),
        "nothing is missed: {frames:?}"
    );
    let mut got: Vec<(u64, i64)> = frames
        .iter()
        .filter(|f| f["op"] == "plugin" && f["message"]["type"] == "ovice_message")
        .map(|f| (seq(f), f["message"]["payload"]["message"].as_i64().unwrap()))
        .collect();
    while got.len() < 5 {
        let f = next_of(&mut b, "ovice_message").await;
        got.push((
            seq(&f),
            f["message"]["payload"]["message"].as_i64().unwrap(),
        ));
    }
    let want: Vec<(u64, i64)> = acks[5..].iter().copied().zip(5..10).collect();
    assert_eq!(got, want, "what b missed, once, in order");
    b.assert_quiet().await;

    // a's resend of m3 through another node: the first copy's seq, and nobody gets it again.
    let mut a2 = nodes[1].joined("a", "o1").await;
    let frames = a2
        .request(json!({"op": "plugin", "object": "o1", "id": "m3", "message": broadcast(3)}))
        .await;
    assert_eq!(acked(&frames), acks[3], "{frames:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    for client in [&mut b, &mut a] {
        while let Some(f) = client.try_recv().await {
            assert_ne!(
                f["message"]["type"], "ovice_message",
                "resend delivered: {f}"
            );
        }
    }

    // The history reads the same on every node, from the store and the stream.
    for node in &nodes {
        let mut h = node.joined("h", "o1").await;
        let frames = h.resume("o1", "joined", 0).await;
        let seqs: Vec<u64> = frames
            .iter()
            .filter(|f| f["op"] == "plugin" && f["message"]["type"] == "ovice_message")
            .map(seq)
            .collect();
        assert_eq!(seqs, acks, "history on a node");
    }
    shared.destroy(&nodes[0]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_the_whole_cluster_keeps_history_numbering_and_ids_nats() {
    let shared = Shared::new("restart");
    let mut nodes = shared.nodes(2).await;
    object(&nodes, "o1");
    let mut a = nodes[0].joined("a", "o1").await;
    let mut acks = Vec::new();
    for n in 0..4 {
        let frames = a
            .request(json!({"op": "plugin", "object": "o1", "id": format!("r{n}"), "message": broadcast(n)}))
            .await;
        acks.push(acked(&frames));
    }
    let save = json!({"type": "ovice_save_and_emit_data", "payload": {"doc": 1}});
    let frames = a.plugin("o1", save).await;
    assert_eq!(frames.last().unwrap()["op"], "ack");
    // Wait for the archive to have it all in PostgreSQL.
    let store = nodes[1].store().clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while store.last_seq("o1").unwrap() < acks[3] {
        assert!(
            tokio::time::Instant::now() < deadline,
            "archived within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(a);
    for n in &mut nodes {
        n.stop().await;
    }
    let nodes = shared.nodes(2).await;
    let mut b = nodes[1].client("b").await;
    let frames = b.resume("o1", "joined", 0).await;
    let got: Vec<u64> = frames
        .iter()
        .filter(|f| f["op"] == "plugin" && f["message"]["type"] == "ovice_message")
        .map(seq)
        .collect();
    assert_eq!(got, acks, "history after the restart");
    let frames = b.get_data("o1").await;
    assert_eq!(messages(&frames)[0]["payload"], json!({"doc": 1}));
    // Numbering goes on, and a resend of an id from before is recognised.
    let mut a = nodes[0].joined("a", "o1").await;
    let frames = a.plugin("o1", broadcast(9)).await;
    assert!(acked(&frames) > *acks.last().unwrap());
    b.drain().await;
    let frames = a
        .request(json!({"op": "plugin", "object": "o1", "id": "r2", "message": broadcast(2)}))
        .await;
    assert_eq!(acked(&frames), acks[2]);
    while let Some(f) = b.try_recv().await {
        assert_ne!(
            f["message"]["type"], "ovice_message",
            "resend delivered: {f}"
        );
    }
    shared.destroy(&nodes[0]).await;
}

/// A node of `shared` as the real binary, on a data dir of its own.
fn spawn_node(
    shared: &Shared,
    dir: &std::path::Path,
) -> (std::process::Child, std::net::SocketAddr) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_meetbridge"))
        .args(["serve", "--listen", "127.0.0.1:0", "--print-addr"])
        .args(["--token-secret", "test-secret", "--admin-key", "k"])
        .args(["--store", &pg_url(), "--pg-schema", &shared.schema])
        .args(["--broker", &nats_url(), "--broker-prefix", &shared.prefix])
        .args(["--node-heartbeat-secs", "1"])
        .arg("--data-dir")
        .arg(dir)
        .arg("--web-dir")
        .arg(dir.join("no-web"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the meetbridge binary starts");
    let addr =
        printed_addr(&mut child).unwrap_or_else(|line| panic!("unexpected first line {line:?}"));
    (child, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_users_of_a_killed_node_are_announced_gone_within_15_s_nats() {
    let shared = Shared::new("kill");
    let nodes = shared.nodes(1).await;
    object(&nodes, "o1");
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = spawn_node(&shared, dir.path());
    let mut a = nodes[0].joined("a", "o1").await;
    let mut k = Client::connect(addr, &nodes[0].token("k")).await;
    k.presence("o1", "joined").await;
    let mut s = Client::connect(addr, &nodes[0].token("s")).await;
    s.presence("o1", "subscribed").await;
    announced(&mut a, "k", "joined").await;
    announced(&mut a, "s", "subscribed").await;
    // The binary's members hear a, and relay through the stream both ways.
    let frames = k.plugin("o1", broadcast(7)).await;
    let s7 = acked(&frames);
    assert_eq!(seq(&next_of(&mut a, "ovice_message").await), s7);

    child.kill().unwrap(); // SIGKILL: no goodbye
    child.wait().unwrap();
    let killed = std::time::Instant::now();
    let mut gone = Vec::new();
    while gone.len() < 3 {
        let f = tokio::time::timeout(Duration::from_secs(15), a.recv())
            .await
            .expect("announced within 15 s of the kill");
        if f["op"] == "plugin" {
            let p = &f["message"]["payload"];
            gone.push((
                p["id"].as_str().unwrap_or_default().to_owned(),
                f["message"]["type"].as_str().unwrap().to_owned(),
            ));
        }
    }
    let took = killed.elapsed();
    assert!(took < Duration::from_secs(15), "took {took:?}");
    gone.sort();
    assert_eq!(
        gone,
        [
            ("k".to_owned(), "ovice_participant_left".to_owned()),
            ("k".to_owned(), "ovice_participant_unsubscribed".to_owned()),
            ("s".to_owned(), "ovice_participant_unsubscribed".to_owned()),
        ]
    );
    println!("a killed node's users announced gone after {took:?}");
    let frames = a.get_participants("o1").await;
    let list = &messages(&frames)[0]["payload"];
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    shared.destroy(&nodes[0]).await;
}

#[tokio::test]
async fn an_unreachable_broker_stops_serve_naming_the_url_nats() {
    let shared = Shared::new("unreach");
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meetbridge"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(["--token-secret", "test-secret", "--admin-key", "k"])
        .args(["--store", &pg_url(), "--pg-schema", &shared.schema])
        .args([
            "--broker",
            "nats://127.0.0.1:1",
            "--broker-prefix",
            &shared.prefix,
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nats://127.0.0.1:1"), "{err}");
    assert!(err.contains("JetStream"), "says what to check: {err}");
    // Without PostgreSQL a broker is refused, naming what to give.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meetbridge"))
        .args(["serve", "--listen", "127.0.0.1:0", "--broker", &nats_url()])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--store postgres://"), "{err}");
    let (client, conn) = tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let _ = client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", shared.schema))
        .await;
}

/// A TCP proxy (to NATS, or PostgreSQL) that the test can cut and restore: a dependency
/// lost while a node runs.
struct Proxy {
    url: String,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
    pipes: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    async fn start() -> Proxy {
        Proxy::start_to(nats_url().trim_start_matches("nats://").to_owned()).await
    }

    /// A proxy to `upstream` (`HOST:PORT`); its `url` is `nats://127.0.0.1:<port>`.
    async fn start_to(upstream: String) -> Proxy {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let pipes = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (c, p) = (cut.clone(), pipes.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if c.load(Ordering::SeqCst) {
                    continue; // dropped: refused while cut
                }
                let upstream = upstream.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                p.lock().unwrap().push(pipe);
            }
        });
        Proxy {
            url: format!("nats://127.0.0.1:{port}"),
            cut,
            pipes,
        }
    }

    fn cut(&self) {
        self.cut.store(true, std::sync::atomic::Ordering::SeqCst);
        for pipe in self.pipes.lock().unwrap().drain(..) {
            pipe.abort();
        }
    }

    fn restore(&self) {
        self.cut.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_lost_while_running_degrades_refuses_and_recovers_nats() {
    let shared = Shared::new("lost");
    let proxy = Proxy::start().await;
    let url = proxy.url.clone();
    let mut nodes = vec![
        start_with(|c| {
            shared.node(c);
            c.cluster.broker = Some(url.clone());
        })
        .await,
    ];
    nodes.extend(shared.nodes(1).await);
    object(&nodes, "o1");
    let mut a = nodes[0].joined("a", "o1").await;
    let mut b = nodes[1].joined("b", "o1").await;
    announced(&mut a, "b", "joined").await;
    let (status, _) = nodes[0].http_text("GET", "/healthz", &[], None).await;
    assert_eq!(status, 200);

    proxy.cut();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body) = nodes[0].http_text("GET", "/healthz", &[], None).await;
        if status == 503 {
            assert!(
                body.contains("degraded") && body.contains(&proxy.url),
                "{body}"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "degraded within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, metrics) = nodes[0].http_text("GET", "/metrics", &[], None).await;
    assert!(
        metrics.contains("meetbridge_dependency_up{dependency=\"nats\"} 0"),
        "{metrics}"
    );
    assert!(metrics.contains("meetbridge_degraded 1"));
    // The socket stays; what cannot be stored is refused with `internal`, never acked.
    let frames = a.plugin("o1", broadcast(1)).await;
    let last = frames.last().unwrap();
    assert_eq!(last["op"], "error", "{frames:?}");
    assert_eq!(last["code"], "internal");
    let save = json!({"type": "ovice_save_and_emit_data", "payload": {"x": 1}});
    let frames = a.plugin("o1", save).await;
    assert_eq!(frames.last().unwrap()["code"], "internal", "{frames:?}");

    proxy.restore();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, _) = nodes[0].http_text("GET", "/healthz", &[], None).await;
        if status == 200 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "recovered within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Relayed again both ways; b never got the refused message.
    let frames = a.plugin("o1", broadcast(2)).await;
    let s2 = acked(&frames);
    let got = next_of(&mut b, "ovice_message").await;
    assert_eq!(
        (seq(&got), got["message"]["payload"]["message"].clone()),
        (s2, json!(2))
    );
    let frames = b.plugin("o1", broadcast(3)).await;
    let s3 = acked(&frames);
    assert_eq!(seq(&next_of(&mut a, "ovice_message").await), s3);
    let (_, metrics) = nodes[0].http_text("GET", "/metrics", &[], None).await;
    assert!(metrics.contains("meetbridge_degraded 0"), "{metrics}");
    shared.destroy(&nodes[1]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_user_on_two_nodes_is_one_participant_nats() {
    let shared = Shared::new("twotabs");
    let nodes = shared.nodes(3).await;
    object(&nodes, "o1");
    let mut w = nodes[0].joined("w", "o1").await;
    let mut tab1 = nodes[1].joined("u", "o1").await;
    announced(&mut w, "u", "joined").await;
    // A second tab on another node learns where its user stands; nobody else hears of it.
    let mut tab2 = nodes[2].client("u").await;
    let frames = tab2.presence("o1", "subscribed").await;
    let own: Vec<&Value> = messages(&frames)
        .into_iter()
        .filter(|m| m["payload"]["id"] == "u")
        .collect();
    let own = match own.last() {
        Some(m) => (*m).clone(),
        None => next_of(&mut tab2, "ovice_participant_joined").await["message"].clone(),
    };
    assert_eq!(own["type"], "ovice_participant_joined", "{own}");
    assert_eq!(own["payload"]["isSelf"], true);
    w.assert_quiet().await;
    // The linked tab goes: u is still here through node 2, so u has left, not gone.
    tab1.presence("o1", "unsubscribed").await;
    let left = announced(&mut w, "u", "left").await;
    assert_eq!(left["message"]["payload"]["isSelf"], false);
    let mine = announced(&mut tab2, "u", "left").await;
    assert_eq!(mine["message"]["payload"]["isSelf"], true);
    tokio::time::sleep(Duration::from_millis(300)).await;
    while let Some(f) = w.try_recv().await {
        assert_ne!(
            f["message"]["type"], "ovice_participant_unsubscribed",
            "{f}"
        );
    }
    let frames = w.get_participants("o1").await;
    let list = messages(&frames)[0]["payload"].as_array().unwrap().clone();
    let got: Vec<(String, String)> = list
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_owned(),
                p["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("w".to_owned(), "joined".to_owned()),
            ("u".to_owned(), "left".to_owned())
        ]
    );
    // The last tab goes: now u is gone for everyone.
    tab2.presence("o1", "unsubscribed").await;
    announced(&mut w, "u", "unsubscribed").await;
    shared.destroy(&nodes[0]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_lost_while_running_keeps_relaying_refuses_saves_and_catches_up_nats() {
    let shared = Shared::new("pglost");
    let proxy = Proxy::start_to(
        pg_url()
            .rsplit('@')
            .next()
            .and_then(|hostpath| hostpath.split('/').next())
            .unwrap()
            .to_owned(),
    )
    .await;
    let port = proxy.url.rsplit(':').next().unwrap().to_owned();
    let via_proxy = format!("postgres://postgres@127.0.0.1:{port}/test");
    let mut nodes = vec![
        start_with(|c| {
            shared.node(c);
            c.data.store = via_proxy.clone();
        })
        .await,
    ];
    nodes.extend(shared.nodes(1).await);
    object(&nodes, "o1");
    let mut a = nodes[0].joined("a", "o1").await;
    let mut b = nodes[1].joined("b", "o1").await;
    announced(&mut a, "b", "joined").await;

    proxy.cut();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (_, metrics) = nodes[0].http_text("GET", "/metrics", &[], None).await;
        if metrics.contains("meetbridge_dependency_up{dependency=\"store\"} 0") {
            assert!(metrics.contains("meetbridge_degraded 1"));
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "store down seen within 15 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, body) = nodes[0].http_text("GET", "/healthz", &[], None).await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("degraded") && body.contains("postgres"),
        "{body}"
    );
    // Relayed messages are durable in JetStream: still acknowledged and delivered.
    let frames = a.plugin("o1", broadcast(1)).await;
    let s1 = acked(&frames);
    assert_eq!(seq(&next_of(&mut b, "ovice_message").await), s1);
    // A save cannot be stored: refused, and shown to nobody.
    let save = json!({"type": "ovice_save_and_emit_data", "payload": {"x": 1}});
    let frames = a.plugin("o1", save).await;
    assert_eq!(frames.last().unwrap()["code"], "internal", "{frames:?}");
    while let Some(f) = b.try_recv().await {
        assert_ne!(f["message"]["type"], "ovice_shared_data", "{f}");
    }

    proxy.restore();
    // The archive catches up: the message relayed meanwhile reaches PostgreSQL.
    let store = nodes[1].store().clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while store.last_seq("o1").unwrap() < s1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "archived within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let save = json!({"type": "ovice_save_and_emit_data", "payload": {"x": 2}});
        let frames = a.plugin("o1", save).await;
        if frames.last().unwrap()["op"] == "ack" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "saves work again within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let shared_data = next_of(&mut b, "ovice_shared_data").await;
    assert_eq!(shared_data["message"]["payload"], json!({"x": 2}));
    shared.destroy(&nodes[1]).await;
}
