//! `meetbridge-bench --soak SECS`: mixed traffic with faults against a child server with
//! its default limits, for a set time, then a report: frames handled, errors by code and
//! close codes, the server's RSS and open files over time, acknowledged saves lost,
//! duplicates.
//!
//! Traffic: chatters broadcast on one object and read everything (each message carries
//! its sender and number, so a receiver notices a duplicate); savers save numbered
//! documents on their own object with message ids, resend after a drop, and at the end
//! read back that the last acknowledged number survived; churners join and leave; slow
//! readers join and never read (the server drops them; they come back). Faults: oversize
//! messages (`too_large`) and frames (close 1009), abrupt disconnects of chatters (TCP
//! dropped, resumed with `since`), and one `kill -9` of the server a third of the way in,
//! restarted on the same port and data dir.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::AsyncBufReadExt;
use tokio_tungstenite::tungstenite::Message;

use crate::{connect_with, rss_bytes, Ws};

const CHATTERS: usize = 24;
const SAVERS: usize = 8;
const SLOW_READERS: usize = 2;
const CHAT: &str = "soak-chat";

#[derive(Default)]
struct Stats {
    sent: AtomicU64,
    received: AtomicU64,
    acked: AtomicU64,
    duplicates: AtomicU64,
    reconnects: AtomicU64,
    acked_then_lost: AtomicU64,
    saves_checked: AtomicU64,
    /// `error` codes and `close_<code>` seen by clients.
    codes: Mutex<BTreeMap<String, u64>>,
}

impl Stats {
    fn code(&self, code: impl Into<String>) {
        *self.codes.lock().unwrap().entry(code.into()).or_default() += 1;
    }

    /// Counts what one server frame says.
    fn saw(&self, text: &str) -> Option<Value> {
        self.received.fetch_add(1, Relaxed);
        let v: Value = serde_json::from_str(text).ok()?;
        match v["op"].as_str() {
            Some("error") => self.code(v["code"].as_str().unwrap_or("?")),
            Some("ack") => {
                self.acked.fetch_add(1, Relaxed);
            }
            _ => {}
        }
        Some(v)
    }
}

/// The child server, restartable on the same port and data dir.
struct Child {
    bin: PathBuf,
    dir: PathBuf,
    addr: SocketAddr,
    process: tokio::process::Child,
}

impl Child {
    async fn start(bin: &Path, dir: &Path, listen: &str) -> anyhow::Result<Child> {
        let mut process = tokio::process::Command::new(bin)
            .args(["serve", "--listen", listen, "--print-addr"])
            .arg("--data-dir")
            .arg(dir)
            .args(["--admin-key", "soak-admin-key", "--sqlite-sync", "full"])
            // Every soak connection comes from 127.0.0.1; the other limits are the defaults.
            .args(["--max-connections-per-ip", "0"])
            .arg("--web-dir")
            .arg("/nonexistent")
            .env("RUST_LOG", "error")
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting the server")?;
        let stdout = process.stdout.take().context("stdout")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .context("server did not start")??
            .context("server exited")?;
        let addr = line
            .strip_prefix("listening on ")
            .context("unexpected output")?
            .parse()?;
        Ok(Child {
            bin: bin.to_owned(),
            dir: dir.to_owned(),
            addr,
            process,
        })
    }

    fn pid(&self) -> Option<u32> {
        self.process.id()
    }

    /// `kill -9`, then the same server again on the same port and data.
    async fn crash_and_restart(&mut self) -> anyhow::Result<()> {
        self.process.kill().await?;
        let listen = self.addr.to_string();
        for _ in 0..50 {
            match Child::start(&self.bin, &self.dir, &listen).await {
                Ok(again) => {
                    *self = again;
                    return Ok(());
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        anyhow::bail!("the server did not come back on {listen}")
    }
}

fn open_files(pid: u32) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

async fn admin(
    http: &reqwest::Client,
    addr: SocketAddr,
    path: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let response = http
        .post(format!("http://{addr}{path}"))
        .bearer_auth("soak-admin-key")
        .json(&body)
        .send()
        .await?;
    Ok(response.json().await.unwrap_or(Value::Null))
}

/// Connects, retrying while the server restarts, and joins `object` (resuming after `since`).
async fn join(
    addr: SocketAddr,
    token: &str,
    object: &str,
    since: Option<u64>,
    stats: &Stats,
    stop: &AtomicBool,
) -> Option<Ws> {
    while !stop.load(Relaxed) {
        if let Ok(Ok(mut ws)) =
            tokio::time::timeout(Duration::from_secs(5), connect_with(addr, token, 64 * 1024)).await
        {
            let mut frame =
                json!({"op": "presence", "req": 0, "object": object, "status": "joined"});
            if let Some(since) = since {
                frame["since"] = json!(since);
            }
            if ws.send(Message::text(frame.to_string())).await.is_ok() {
                return Some(ws);
            }
        }
        stats.reconnects.fetch_add(1, Relaxed);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

fn closed(stats: &Stats, msg: &Message) {
    if let Message::Close(Some(c)) = msg {
        stats.code(format!("close_{}", u16::from(c.code)));
    }
}

/// Broadcasts at about 10 messages a second and reads everything; now and then drops its
/// TCP connection without a word and resumes with `since`.
async fn chatter(
    i: usize,
    addr: SocketAddr,
    token: String,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
) {
    let mut seen: HashSet<(u64, u64)> = HashSet::new();
    let mut since: Option<u64> = None;
    let mut k = 0u64;
    let mut rounds = 0u64;
    while let Some(mut ws) = join(addr, &token, CHAT, since, &stats, &stop).await {
        rounds += 1;
        // Each round lasts 5 to 25 s, then the socket is dropped abruptly.
        let round = Duration::from_secs(5 + (i as u64 * 7 + rounds * 3) % 21);
        let until = Instant::now() + round;
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            if stop.load(Relaxed) || Instant::now() > until {
                break;
            }
            tokio::select! {
                _ = tick.tick() => {
                    k += 1;
                    let frame = json!({"op": "plugin", "req": k, "object": CHAT, "id": format!("c{i}-{k}"), "message": {"type": "ovice_broadcast_message", "payload": {"event": "soak", "message": {"from": i, "k": k}}}});
                    if ws.send(Message::text(frame.to_string())).await.is_err() { break; }
                    stats.sent.fetch_add(1, Relaxed);
                }
                next = ws.next() => match next {
                    Some(Ok(Message::Text(t))) => {
                        let Some(v) = stats.saw(&t) else { continue };
                        if v["op"] == "plugin" {
                            if let Some(seq) = v["seq"].as_u64() {
                                since = Some(since.map_or(seq, |s| s.max(seq)));
                            }
                            let m = &v["message"]["payload"]["message"];
                            if let (Some(from), Some(n)) = (m["from"].as_u64(), m["k"].as_u64()) {
                                if !seen.insert((from, n)) {
                                    stats.duplicates.fetch_add(1, Relaxed);
                                }
                            }
                        }
                    }
                    Some(Ok(msg)) => { closed(&stats, &msg); if msg.is_close() { break; } }
                    _ => break,
                },
            }
        }
        // Abrupt: no close frame, the TCP connection just goes.
        drop(ws);
        stats.reconnects.fetch_add(1, Relaxed);
    }
}

/// Saves numbered documents with message ids on its own object, one at a time, resending
/// the same id after a drop until it is acknowledged. Returns the last acknowledged number.
async fn saver(
    i: usize,
    addr: SocketAddr,
    token: String,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
) -> u64 {
    let object = format!("soak-notes-{i}");
    let mut acked = 0u64;
    let mut n = 1u64;
    'connect: while let Some(mut ws) = join(addr, &token, &object, None, &stats, &stop).await {
        while !stop.load(Relaxed) {
            let frame = json!({"op": "plugin", "req": n, "object": object, "id": format!("s{i}-{n}"), "message": {"type": "ovice_save_and_emit_data", "payload": {"n": n, "text": "x".repeat(200)}}});
            if ws.send(Message::text(frame.to_string())).await.is_err() {
                continue 'connect;
            }
            stats.sent.fetch_add(1, Relaxed);
            loop {
                match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
                    Ok(Some(Ok(Message::Text(t)))) => {
                        let Some(v) = stats.saw(&t) else { continue };
                        if v["req"].as_u64() == Some(n) {
                            if v["op"] == "ack" {
                                acked = n;
                                n += 1;
                                break;
                            }
                            // Refused (rate, internal): wait and send the same id again.
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            break;
                        }
                    }
                    Ok(Some(Ok(msg))) => closed(&stats, &msg),
                    _ => continue 'connect,
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        break;
    }
    acked
}

/// Reads the saved document of `object` and checks that it holds at least `acked`.
async fn check_saved(addr: SocketAddr, token: &str, object: &str, acked: u64, stats: &Stats) {
    let stop = AtomicBool::new(false);
    let Some(mut ws) = join(addr, token, object, None, stats, &stop).await else {
        return;
    };
    let frame =
        json!({"op": "plugin", "req": 1, "object": object, "message": {"type": "ovice_get_data"}});
    let _ = ws.send(Message::text(frame.to_string())).await;
    while let Ok(Some(Ok(Message::Text(t)))) =
        tokio::time::timeout(Duration::from_secs(10), ws.next()).await
    {
        let v: Value = serde_json::from_str(&t).unwrap_or_default();
        if v["message"]["type"] == "ovice_saved_data" {
            let saved = v["message"]["payload"]["n"].as_u64().unwrap_or(0);
            stats.saves_checked.fetch_add(1, Relaxed);
            if saved < acked {
                eprintln!("soak: {object}: acknowledged {acked}, saved {saved}");
                stats.acked_then_lost.fetch_add(1, Relaxed);
            }
            return;
        }
    }
    eprintln!("soak: {object}: no saved data answer");
    stats.acked_then_lost.fetch_add(1, Relaxed);
}

/// Joins and never reads: the server drops it as too slow; it comes back a while later.
async fn slow_reader(addr: SocketAddr, token: String, stats: Arc<Stats>, stop: Arc<AtomicBool>) {
    while let Some(ws) = join(addr, &token, CHAT, None, &stats, &stop).await {
        let mut ws = ws;
        // Hold it without reading for 20 s (the server's queue and write timeout decide).
        tokio::time::sleep(Duration::from_secs(20)).await;
        // Then see what the server said last, if it closed.
        while let Ok(Some(Ok(msg))) =
            tokio::time::timeout(Duration::from_millis(200), ws.next()).await
        {
            closed(&stats, &msg);
        }
        drop(ws);
        stats.reconnects.fetch_add(1, Relaxed);
    }
}

/// Connects, joins, leaves, disconnects, over and over.
async fn churn(addr: SocketAddr, token: String, stats: Arc<Stats>, stop: Arc<AtomicBool>) {
    while let Some(mut ws) = join(addr, &token, CHAT, None, &stats, &stop).await {
        let leave = json!({"op": "presence", "req": 1, "object": CHAT, "status": "unsubscribed"});
        let _ = ws.send(Message::text(leave.to_string())).await;
        let _ = tokio::time::timeout(Duration::from_millis(50), ws.next()).await;
        let _ = ws.close(None).await;
        stats.reconnects.fetch_add(1, Relaxed);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every second: a 3 MiB message (refused, `too_large`), and every fifth a 9 MiB frame
/// (the server closes with 1009).
async fn oversize(addr: SocketAddr, token: String, stats: Arc<Stats>, stop: Arc<AtomicBool>) {
    let big = "x".repeat(3 * 1024 * 1024);
    let huge = "y".repeat(9 * 1024 * 1024);
    let mut round = 0u64;
    while let Some(mut ws) = join(addr, &token, CHAT, None, &stats, &stop).await {
        round += 1;
        let text = if round % 5 == 0 { &huge } else { &big };
        let frame = json!({"op": "plugin", "req": 9, "object": CHAT, "message": {"type": "ovice_broadcast_message", "payload": {"event": "big", "message": text}}});
        let _ = ws.send(Message::text(frame.to_string())).await;
        stats.sent.fetch_add(1, Relaxed);
        let until = Instant::now() + Duration::from_secs(1);
        while let Ok(Some(Ok(msg))) = tokio::time::timeout_at(until.into(), ws.next()).await {
            match &msg {
                Message::Text(t) => {
                    stats.saw(t);
                }
                other => {
                    closed(&stats, other);
                    if other.is_close() {
                        break;
                    }
                }
            }
        }
        drop(ws);
    }
}

struct Sample {
    at: &'static str,
    rss: Option<u64>,
    fds: Option<usize>,
}

fn sample(at: &'static str, pid: Option<u32>) -> Sample {
    Sample {
        at,
        rss: pid.and_then(rss_bytes),
        fds: pid.and_then(open_files),
    }
}

pub async fn soak(bin: PathBuf, secs: u64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut server = Child::start(&bin, dir.path(), "127.0.0.1:0").await?;
    let addr = server.addr;
    let http = reqwest::Client::new();
    admin(
        &http,
        addr,
        "/api/admin/spaces",
        json!({"id": "soak", "name": "Soak"}),
    )
    .await?;
    let mut objects = vec![CHAT.to_owned()];
    objects.extend((0..SAVERS).map(|i| format!("soak-notes-{i}")));
    for id in &objects {
        admin(
            &http,
            addr,
            "/api/admin/spaces/soak/objects",
            json!({"id": id, "type": "static", "pluginUrl": "/plugins/notes/"}),
        )
        .await?;
    }
    let mut tokens = Vec::new();
    for i in 0..(CHATTERS + SAVERS + SLOW_READERS + 2) {
        let issued = admin(
            &http,
            addr,
            "/api/admin/tokens",
            json!({"id": format!("soak-{i}"), "name": format!("Soak {i}"), "ttlSecs": secs + 3600}),
        )
        .await?;
        tokens.push(issued["token"].as_str().context("no token")?.to_owned());
    }
    let stats = Arc::new(Stats::default());
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut samples = vec![sample("start", server.pid())];
    eprintln!("soak: {secs} s against {addr}, pid {:?}", server.pid());

    let mut tokens = tokens.into_iter();
    let mut tasks = Vec::new();
    for i in 0..CHATTERS {
        let t = tokens.next().context("token")?;
        tasks.push(tokio::spawn(chatter(
            i,
            addr,
            t,
            stats.clone(),
            stop.clone(),
        )));
    }
    let mut savers = Vec::new();
    for i in 0..SAVERS {
        let t = tokens.next().context("token")?;
        savers.push((
            i,
            t.clone(),
            tokio::spawn(saver(i, addr, t, stats.clone(), stop.clone())),
        ));
    }
    for _ in 0..SLOW_READERS {
        let t = tokens.next().context("token")?;
        tasks.push(tokio::spawn(slow_reader(
            addr,
            t,
            stats.clone(),
            stop.clone(),
        )));
    }
    let t = tokens.next().context("token")?;
    tasks.push(tokio::spawn(churn(addr, t, stats.clone(), stop.clone())));
    let t = tokens.next().context("token")?;
    tasks.push(tokio::spawn(oversize(addr, t, stats.clone(), stop.clone())));

    let total = Duration::from_secs(secs);
    tokio::time::sleep(total / 3).await;
    samples.push(sample("before the kill -9", server.pid()));
    server.crash_and_restart().await?;
    eprintln!(
        "soak: server killed and restarted at {:?}",
        started.elapsed()
    );
    tokio::time::sleep(Duration::from_secs(10).min(total / 6)).await;
    samples.push(sample("restarted, warm", server.pid()));
    let middle = started + total * 2 / 3;
    tokio::time::sleep_until(middle.into()).await;
    samples.push(sample("two thirds", server.pid()));
    tokio::time::sleep_until((started + total).into()).await;
    samples.push(sample("end, under load", server.pid()));
    stop.store(true, Relaxed);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
    }
    let mut last_acked = Vec::new();
    for (i, token, task) in savers {
        let acked = tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or(0);
        last_acked.push((i, token, acked));
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    samples.push(sample("end, quiet 5 s", server.pid()));
    // Durability: kill -9 once more, then every acknowledged save must be there.
    server.crash_and_restart().await?;
    for (i, token, acked) in &last_acked {
        check_saved(
            server.addr,
            token,
            &format!("soak-notes-{i}"),
            *acked,
            &stats,
        )
        .await;
    }

    let elapsed = started.elapsed().as_secs_f64();
    let sent = stats.sent.load(Relaxed);
    let received = stats.received.load(Relaxed);
    println!("soak: {elapsed:.0} s, {CHATTERS} chatters, {SAVERS} savers, {SLOW_READERS} slow readers, churn, oversize, 2 kill -9");
    println!(
        "frames handled: {} ({sent} sent by clients, {received} received), {:.0}/s",
        sent + received,
        (sent + received) as f64 / elapsed
    );
    println!(
        "acks: {}, reconnects: {}",
        stats.acked.load(Relaxed),
        stats.reconnects.load(Relaxed)
    );
    let codes = stats.codes.lock().unwrap();
    let codes: Vec<String> = codes.iter().map(|(c, n)| format!("{c} {n}")).collect();
    println!("errors and closes by code: {}", codes.join(", "));
    for s in &samples {
        println!(
            "server at {:<20} RSS {:>8} KiB, open files {}",
            s.at,
            s.rss.map_or("?".into(), |b| (b / 1024).to_string()),
            s.fds.map_or("?".into(), |n| n.to_string())
        );
    }
    let saves: u64 = last_acked.iter().map(|(_, _, a)| a).sum();
    println!(
        "acknowledged saves: {saves} over {SAVERS} objects; checked after a final kill -9: {}; acknowledged then lost: {}",
        stats.saves_checked.load(Relaxed),
        stats.acked_then_lost.load(Relaxed)
    );
    println!(
        "duplicates (a message received twice by one client): {}",
        stats.duplicates.load(Relaxed)
    );
    Ok(())
}
