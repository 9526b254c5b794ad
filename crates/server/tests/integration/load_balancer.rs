//! Three nodes behind a real HAProxy (Debian's package, started here on loopback with the
//! configuration of docs/CLUSTER.md): the WebSocket upgrade goes through it, connections
//! spread over the nodes without stickiness, and when the node behind the sender is killed
//! its clients reconnect through the same address, land on the others, and nothing
//! acknowledged is lost, duplicated or reordered.

use std::collections::HashSet;
use std::time::Duration;

use crate::cluster_nodes::{Cluster, Haproxy};
use crate::cluster_traffic::{dial, Plan, Traffic};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn haproxy_upgrades_spreads_and_survives_a_killed_node_postgres_nats() {
    let mut cluster = Cluster::start("lb", 3);
    cluster.object("o1").await;
    let backends: Vec<_> = cluster
        .nodes
        .iter()
        .map(|n| (n.name.clone(), n.addr))
        .collect();
    let lb = Haproxy::start(&backends);
    // Health checks pass on all three before traffic starts.
    tokio::time::sleep(Duration::from_millis(800)).await;

    // Plain HTTP and the upgrade through the balancer; the response names the node.
    assert_eq!(cluster.healthz(lb.addr).await, 200);
    let mut reached = HashSet::new();
    for i in 0..6 {
        let (link, _) = dial(&[lb.addr], 0, &format!("probe{i}"), Duration::from_secs(5)).await;
        reached.insert(link.node.clone());
    }
    assert_eq!(
        reached,
        backends.iter().map(|b| b.0.clone()).collect::<HashSet<_>>(),
        "round robin reaches every node"
    );

    // Everyone through the one address; the sender's node is killed a second in.
    let plan = Plan {
        object: "o1".into(),
        senders: vec![vec![lb.addr]; 2],
        receivers: vec![vec![lb.addr]; 4],
    };
    let traffic = Traffic::connect(plan).await;
    let (senders, _) = traffic.nodes();
    let doomed_name = senders[0].clone();
    let i = cluster
        .nodes
        .iter()
        .position(|n| n.name == doomed_name)
        .unwrap();
    let mut doomed = cluster.nodes.remove(i);
    let counts = traffic
        .run(
            Duration::from_secs(3),
            Duration::from_millis(1000),
            move || doomed.kill_9(),
            Duration::from_secs(15),
        )
        .await;
    counts.print(&format!(
        "HAProxy, kill -9 of {doomed_name} behind it during traffic"
    ));
    assert!(counts.acknowledged > 20, "{}", counts.line());
    counts.assert_nothing_lost(|| cluster.logs());
    // The killed node's clients came back through the balancer, on the other nodes.
    let moved: Vec<_> = counts
        .routes
        .iter()
        .filter(|r| r.nodes[0] == doomed_name)
        .collect();
    assert!(!moved.is_empty());
    for route in &moved {
        assert!(route.nodes.len() > 1, "{route:?}");
        assert_ne!(route.nodes.last().unwrap(), &doomed_name, "{route:?}");
    }
}
