//! The real binary, killed with SIGKILL while a sender waits for acknowledgements: what
//! was acknowledged is there after the restart, nothing arrives twice, the order holds.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::binary::{member_token, printed_addr};
use crate::common::*;

const ADMIN: &str = "crash-admin-key";
const SECRET: &str = "crash-token-secret";

fn serve(dir: &Path, extra: &[&str]) -> (Child, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_meetbridge"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--print-addr",
            "--admin-key",
            ADMIN,
        ])
        .args(["--token-secret", SECRET, "--sqlite-sync", "full"])
        .arg("--data-dir")
        .arg(dir)
        .arg("--web-dir")
        .arg(dir.join("no-web"))
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the meetbridge binary starts");
    let addr =
        printed_addr(&mut child).unwrap_or_else(|line| panic!("unexpected first line {line:?}"));
    (child, addr)
}

fn token(id: &str) -> String {
    member_token(SECRET, id)
}

fn say(n: u64) -> Value {
    json!({"type": "ovice_broadcast_message", "payload": {"event": "n", "message": n}})
}

/// Sends a frame with `req` and waits for its ack's `seq`; `None` when the socket broke
/// or nothing answered in time (the server died).
async fn send_acked(c: &mut Client, req: u64, mut frame: Value) -> Option<u64> {
    frame["req"] = json!(req);
    c.ws.send(Message::text(frame.to_string())).await.ok()?;
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), c.ws.next())
            .await
            .ok()??
            .ok()?;
        let Message::Text(t) = msg else { continue };
        let f: Value = serde_json::from_str(&t).ok()?;
        if f["req"] == json!(req) {
            return if f["op"] == "ack" {
                f["seq"].as_u64()
            } else {
                None
            };
        }
    }
}

/// Every frame that arrives until the socket is quiet for `quiet`, ends or breaks.
async fn read_all(c: &mut Client, quiet: Duration) -> Vec<Value> {
    let mut out = Vec::new();
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(quiet, c.ws.next()).await {
        if let Message::Text(t) = msg {
            out.push(serde_json::from_str(&t).unwrap());
        }
    }
    out
}

/// What `b` received: (seq, n), in arrival order.
fn relayed(frames: &[Value]) -> Vec<(u64, u64)> {
    frames
        .iter()
        .filter(|f| f["op"] == "plugin" && f["seq"].is_u64())
        .map(|f| {
            (
                f["seq"].as_u64().unwrap(),
                f["message"]["payload"]["message"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn kill_9_during_traffic_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = serve(dir.path(), &[]);
    let http = reqwest::Client::new();
    for (path, body) in [
        ("/api/admin/spaces", json!({"id": "s", "name": "S"})),
        (
            "/api/admin/spaces/s/objects",
            json!({"id": "o1", "type": "static", "pluginUrl": "/plugins/chat/"}),
        ),
    ] {
        let r = http
            .post(format!("http://{addr}{path}"))
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
    }
    let mut a = Client::connect(addr, &token("a")).await;
    a.presence("o1", "joined").await;
    let mut b = Client::connect(addr, &token("b")).await;
    b.presence("o1", "joined").await;
    a.drain().await;

    // `a` sends 1, 2, 3 ... each with an id, waiting for each ack; the server is killed
    // after a while, without warning.
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    });
    let mut acked: Vec<(u64, u64)> = Vec::new();
    let mut n = 1;
    let unacked = loop {
        let frame =
            json!({"op": "plugin", "object": "o1", "id": format!("crash-{n}"), "message": say(n)});
        match send_acked(&mut a, 1000 + n, frame).await {
            Some(seq) => {
                acked.push((seq, n));
                n += 1;
            }
            None => break n,
        }
    };
    killer.join().unwrap();
    let mut got = relayed(&read_all(&mut b, Duration::from_millis(300)).await);
    assert!(
        acked.len() > 5,
        "only {} acknowledged before the kill",
        acked.len()
    );

    // Restart on the same data; `b` resumes from what it saw, `a` resends what was not
    // acknowledged (same id), then goes on.
    let (mut child, addr) = serve(dir.path(), &[]);
    let mut b = Client::connect(addr, &token("b")).await;
    let since = got.last().map_or(0, |(seq, _)| *seq);
    got.extend(relayed(&b.resume("o1", "joined", since).await));
    let mut a = Client::connect(addr, &token("a")).await;
    a.presence("o1", "joined").await;
    for n in unacked..unacked + 5 {
        let frame =
            json!({"op": "plugin", "object": "o1", "id": format!("crash-{n}"), "message": say(n)});
        let seq = send_acked(&mut a, 5000 + n, frame)
            .await
            .expect("acknowledged after the restart");
        acked.push((seq, n));
    }
    got.extend(relayed(&read_all(&mut b, Duration::from_millis(500)).await));
    child.kill().unwrap();
    child.wait().unwrap();

    let received: std::collections::HashSet<u64> = got.iter().map(|(_, n)| *n).collect();
    let lost = acked.iter().filter(|(_, n)| !received.contains(n)).count();
    let duplicates = got.len() - received.len();
    let out_of_order = got.windows(2).filter(|w| w[0].0 >= w[1].0).count();
    println!(
        "kill -9 during traffic: {} acknowledged, {} received; acknowledged-then-lost {lost}, duplicates {duplicates}, out-of-order {out_of_order}",
        acked.len(),
        got.len()
    );
    assert_eq!((lost, duplicates, out_of_order), (0, 0, 0), "{got:?}");
    // The numbering went on across the kill.
    assert!(acked.windows(2).all(|w| w[0].0 < w[1].0), "{acked:?}");
}

#[test]
fn an_unreachable_postgres_stops_the_start_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_meetbridge"))
        .args(["serve", "--listen", "127.0.0.1:0", "--store"])
        .arg("postgres://someone:pw@127.0.0.1:1/test")
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("postgres://someone:***@127.0.0.1:1/test"),
        "{err}"
    );
    assert!(!err.contains(":pw@"), "{err}");
}
