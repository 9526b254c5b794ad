//! Steady traffic on one object through clients that survive the loss of their node:
//! senders send numbered messages with ids and wait for each ack; receivers record every
//! relayed frame. A client whose socket breaks connects to the next address of its list
//! (another node, or the same load balancer) and goes on: a sender resends what was not
//! acknowledged with the same id, a receiver resumes with `since` = the last `seq` it got.
//! At the end [`Counts`] says what was acknowledged but never arrived, what arrived twice
//! and what arrived out of order, at every receiver.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::cluster_nodes::token;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A socket and the node it reached: the load balancer's `X-Meetbridge-Node` header when
/// there is one, else the address dialled.
pub struct Link {
    ws: Ws,
    pub node: String,
}

/// Connects to `addrs[from..]` and around, until one upgrades (a node may be down, or the
/// load balancer may not know it yet) or `within` passes.
pub async fn dial(
    addrs: &[SocketAddr],
    from: usize,
    user: &str,
    within: Duration,
) -> (Link, usize) {
    let deadline = Instant::now() + within;
    let mut i = from;
    loop {
        let addr = addrs[i % addrs.len()];
        let url = format!("ws://{addr}/ws?token={}", token(user));
        if let Ok(Ok((mut ws, response))) = tokio::time::timeout(
            Duration::from_secs(3),
            tokio_tungstenite::connect_async(url),
        )
        .await
        {
            // The welcome, or the socket was not really up.
            if let Ok(Some(Ok(Message::Text(_)))) =
                tokio::time::timeout(Duration::from_secs(3), ws.next()).await
            {
                let node = response
                    .headers()
                    .get("x-meetbridge-node")
                    .and_then(|v| v.to_str().ok())
                    .map_or_else(|| addr.to_string(), str::to_owned);
                return (Link { ws, node }, i % addrs.len());
            }
        }
        assert!(
            Instant::now() < deadline,
            "{user} could not connect to any of {addrs:?} within {within:?}"
        );
        i += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl Link {
    /// Sends `frame` with `req`; the frames up to its answer, or `None` when the socket
    /// broke or nothing answered within 5 s.
    pub async fn request(&mut self, req: u64, mut frame: Value) -> Option<Vec<Value>> {
        frame["req"] = json!(req);
        self.ws.send(Message::text(frame.to_string())).await.ok()?;
        let mut frames = Vec::new();
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(5), self.ws.next())
                .await
                .ok()??
                .ok()?;
            let Message::Text(t) = msg else { continue };
            let f: Value = serde_json::from_str(&t).ok()?;
            let done = f["req"] == json!(req);
            frames.push(f);
            if done {
                return Some(frames);
            }
        }
    }

    /// The next text frame; `None` when the socket ends or breaks.
    pub async fn next(&mut self, quiet: Duration) -> Result<Option<Value>, ()> {
        match tokio::time::timeout(quiet, self.ws.next()).await {
            Err(_) => Ok(None),
            Ok(Some(Ok(Message::Text(t)))) => Ok(serde_json::from_str(&t).ok()),
            Ok(Some(Ok(_))) => Ok(None),
            Ok(Some(Err(_))) | Ok(None) => Err(()),
        }
    }
}

/// A relayed frame as a receiver saw it: (seq, sender, n).
pub type Seen = (u64, u64, u64);

fn relayed(f: &Value) -> Option<Seen> {
    if f["op"] != "plugin" {
        return None;
    }
    let m = &f["message"]["payload"]["message"];
    Some((f["seq"].as_u64()?, m["s"].as_u64()?, m["n"].as_u64()?))
}

/// Who sends and who receives, and where each connects first.
pub struct Plan {
    pub object: String,
    /// Per sender: the addresses it tries, in order.
    pub senders: Vec<Vec<SocketAddr>>,
    /// Per receiver: the addresses it tries, in order.
    pub receivers: Vec<Vec<SocketAddr>>,
}

/// The clients of a [`Plan`], connected and present on the object.
pub struct Traffic {
    object: String,
    senders: Vec<(Vec<SocketAddr>, Link)>,
    receivers: Vec<(Vec<SocketAddr>, Link)>,
}

/// What one client went through.
#[derive(Debug, Clone)]
pub struct Route {
    pub user: String,
    /// The nodes it was on, first to last.
    pub nodes: Vec<String>,
}

/// What the traffic came to.
#[derive(Debug)]
pub struct Counts {
    pub acknowledged: usize,
    pub received: usize,
    pub lost: usize,
    pub duplicates: usize,
    pub out_of_order: usize,
    /// `missed` frames the receivers were sent on resuming (past the retention: never
    /// expected here).
    pub missed: usize,
    pub reconnects: usize,
    pub routes: Vec<Route>,
}

impl Counts {
    pub fn line(&self) -> String {
        format!(
            "{} acknowledged, {} received by the receivers, {} reconnects; \
             acknowledged-then-lost {}, duplicates {}, out-of-order {}, missed {}",
            self.acknowledged,
            self.received,
            self.reconnects,
            self.lost,
            self.duplicates,
            self.out_of_order,
            self.missed
        )
    }

    /// Prints what the run was (`what`), its counts and every client's route.
    pub fn print(&self, what: &str) {
        println!("{what}: {}", self.line());
        for route in &self.routes {
            println!("  {}: {}", route.user, route.nodes.join(" -> "));
        }
    }

    /// Asserts that nothing acknowledged was lost, and nothing arrived twice, out of
    /// order or as `missed`; a failure shows the counts and `logs()` (the nodes' logs).
    pub fn assert_nothing_lost(&self, logs: impl FnOnce() -> String) {
        assert_eq!(
            (self.lost, self.duplicates, self.out_of_order, self.missed),
            (0, 0, 0, 0),
            "{}\n{}",
            self.line(),
            logs()
        );
    }
}

impl Traffic {
    pub async fn connect(plan: Plan) -> Traffic {
        let object = plan.object.clone();
        let mut senders = Vec::new();
        for (i, addrs) in plan.senders.into_iter().enumerate() {
            let (mut link, _) =
                dial(&addrs, 0, &format!("sender{i}"), Duration::from_secs(10)).await;
            present(&mut link, &object, None)
                .await
                .expect("sender joins");
            senders.push((addrs, link));
        }
        let mut receivers = Vec::new();
        for (i, addrs) in plan.receivers.into_iter().enumerate() {
            let (mut link, _) =
                dial(&addrs, 0, &format!("receiver{i}"), Duration::from_secs(10)).await;
            present(&mut link, &object, None)
                .await
                .expect("receiver joins");
            receivers.push((addrs, link));
        }
        Traffic {
            object,
            senders,
            receivers,
        }
    }

    /// The node each sender, then each receiver, is on now.
    pub fn nodes(&self) -> (Vec<String>, Vec<String>) {
        (
            self.senders.iter().map(|(_, l)| l.node.clone()).collect(),
            self.receivers.iter().map(|(_, l)| l.node.clone()).collect(),
        )
    }

    /// Runs the senders for `duration` and calls `fault` (on a thread of its own) after
    /// `fault_after`; then waits up to `settle` for every receiver to have everything
    /// acknowledged, and counts.
    pub async fn run(
        self,
        duration: Duration,
        fault_after: Duration,
        fault: impl FnOnce() + Send + 'static,
        settle: Duration,
    ) -> Counts {
        let object = self.object.clone();
        let acked: Arc<Mutex<Vec<(u64, u64, u64)>>> = Arc::default();
        let stop_receivers = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut receiver_tasks = Vec::new();
        let seen: Vec<Arc<Mutex<Vec<Seen>>>> =
            self.receivers.iter().map(|_| Arc::default()).collect();
        let missed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for (i, (addrs, link)) in self.receivers.into_iter().enumerate() {
            receiver_tasks.push(tokio::spawn(receive(
                format!("receiver{i}"),
                object.clone(),
                addrs,
                link,
                seen[i].clone(),
                stop_receivers.clone(),
                missed.clone(),
            )));
        }
        let start = Instant::now();
        let faulty = std::thread::spawn(move || {
            std::thread::sleep(fault_after);
            fault();
        });
        let mut sender_tasks = Vec::new();
        let senders = self.senders.len() as u64;
        for (s, (addrs, link)) in self.senders.into_iter().enumerate() {
            sender_tasks.push(tokio::spawn(send(
                s as u64,
                object.clone(),
                addrs,
                link,
                acked.clone(),
                start + duration,
            )));
        }
        let mut routes = Vec::new();
        let mut reconnects = 0;
        for t in sender_tasks {
            let (route, r) = t.await.unwrap();
            routes.push(route);
            reconnects += r;
        }
        faulty.join().unwrap();
        let acked = acked.lock().unwrap().clone();
        let want: HashSet<(u64, u64)> = acked.iter().map(|(_, s, n)| (*s, *n)).collect();
        let deadline = Instant::now() + settle;
        while Instant::now() < deadline {
            let all = seen.iter().all(|v| {
                let got: HashSet<(u64, u64)> =
                    v.lock().unwrap().iter().map(|(_, s, n)| (*s, *n)).collect();
                want.is_subset(&got)
            });
            if all {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // A little longer, so that a late duplicate would be seen too.
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop_receivers.store(true, std::sync::atomic::Ordering::Relaxed);
        for t in receiver_tasks {
            let (route, r) = t.await.unwrap();
            routes.push(route);
            reconnects += r;
        }

        let (mut lost, mut duplicates, mut out_of_order, mut received) = (0, 0, 0, 0);
        for v in &seen {
            let v = v.lock().unwrap();
            received += v.len();
            let got: HashSet<(u64, u64)> = v.iter().map(|(_, s, n)| (*s, *n)).collect();
            lost += want.difference(&got).count();
            duplicates += v.len() - got.len();
            out_of_order += v.windows(2).filter(|w| w[0].0 >= w[1].0).count();
        }
        // Each sender's acks: increasing seq with n (one total order per object).
        for s in 0..senders {
            let mine: Vec<_> = acked.iter().filter(|a| a.1 == s).collect();
            out_of_order += mine.windows(2).filter(|w| w[0].0 >= w[1].0).count();
        }
        Counts {
            acknowledged: acked.len(),
            received,
            lost,
            duplicates,
            out_of_order,
            missed: missed.load(std::sync::atomic::Ordering::Relaxed),
            reconnects,
            routes,
        }
    }
}

/// `presence joined` (with `since` on a resume); the frames up to its ack.
async fn present(link: &mut Link, object: &str, since: Option<u64>) -> Option<Vec<Value>> {
    let mut frame = json!({"op": "presence", "object": object, "status": "joined"});
    if let Some(since) = since {
        frame["since"] = json!(since);
    }
    let frames = link.request(1, frame).await?;
    (frames.last()?["op"] == "ack").then_some(frames)
}

/// Sends 1, 2, 3 … (each with an id, waiting for its ack) until `until`; after a broken
/// socket, connects to the next address and resends the same message with the same id.
async fn send(
    s: u64,
    object: String,
    addrs: Vec<SocketAddr>,
    mut link: Link,
    acked: Arc<Mutex<Vec<(u64, u64, u64)>>>,
    until: Instant,
) -> (Route, usize) {
    let user = format!("sender{s}");
    let mut route = Route {
        user: user.clone(),
        nodes: vec![link.node.clone()],
    };
    let (mut at, mut reconnects, mut n, mut req) = (0, 0, 1u64, 10u64);
    while Instant::now() < until {
        let frame = json!({"op": "plugin", "object": object, "id": format!("{user}-{n}"),
            "message": {"type": "ovice_broadcast_message", "payload": {"event": "n", "message": {"s": s, "n": n}}}});
        req += 1;
        match link.request(req, frame).await {
            Some(frames) if frames.last().unwrap()["op"] == "ack" => {
                let seq = frames.last().unwrap()["seq"].as_u64().expect("ack has seq");
                acked.lock().unwrap().push((seq, s, n));
                n += 1;
            }
            // Refused while the cluster notices the loss (`internal`: retry): again.
            Some(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            None => {
                let (l, i) = dial(&addrs, at + 1, &user, Duration::from_secs(20)).await;
                (link, at) = (l, i);
                reconnects += 1;
                route.nodes.push(link.node.clone());
                if present(&mut link, &object, None).await.is_none() {
                    continue;
                }
            }
        }
    }
    (route, reconnects)
}

/// Records every relayed frame; after a broken socket, connects to the next address and
/// resumes with `since` = the last `seq` it got.
async fn receive(
    user: String,
    object: String,
    addrs: Vec<SocketAddr>,
    mut link: Link,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    missed: Arc<std::sync::atomic::AtomicUsize>,
) -> (Route, usize) {
    let mut route = Route {
        user: user.clone(),
        nodes: vec![link.node.clone()],
    };
    let (mut at, mut reconnects) = (0, 0);
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        match link.next(Duration::from_millis(100)).await {
            Ok(Some(f)) => {
                if let Some(s) = relayed(&f) {
                    seen.lock().unwrap().push(s);
                }
            }
            Ok(None) => {}
            Err(()) => {
                let since = seen.lock().unwrap().last().map_or(0, |s| s.0);
                let (l, i) = dial(&addrs, at + 1, &user, Duration::from_secs(20)).await;
                (link, at) = (l, i);
                reconnects += 1;
                route.nodes.push(link.node.clone());
                if let Some(frames) = present(&mut link, &object, Some(since)).await {
                    for f in &frames {
                        if f["op"] == "missed" {
                            missed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        if let Some(s) = relayed(f) {
                            seen.lock().unwrap().push(s);
                        }
                    }
                }
            }
        }
    }
    (route, reconnects)
}
