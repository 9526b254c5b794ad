//! The server's memory after a burst, measured on a child process (ignored: it moves
//! 720 MiB and takes about a minute). One user fills 40 objects with 18 MiB each while
//! another listens, then both leave; the server's RSS is printed at the start, right after
//! the burst and once the idle rooms have been unloaded, with the memory settings as they
//! are and with the budget and unloading off (how the server was before them).
//!
//! ```sh
//! cargo build --release -p meetbridge-server
//! MEETBRIDGE_BIN=target/release/meetbridge \
//!   cargo test -p meetbridge-server --test integration burst_rss -- --ignored --nocapture
//! ```
//! (Without `MEETBRIDGE_BIN` it runs the debug build of the binary.)

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use std::io::BufRead;

use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::common::Client;

const OBJECTS: usize = 40;
const MIB_PER_OBJECT: usize = 18;

fn rss_mib(pid: u32) -> f64 {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).unwrap();
    let pages: f64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as f64;
    pages * page / 1048576.0
}

/// The child server, killed when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `meetbridge serve` child on a fresh data dir, with `extra` flags.
fn serve(extra: &[&str]) -> (Child, SocketAddr, tempfile::TempDir) {
    let bin = std::env::var_os("MEETBRIDGE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_meetbridge")));
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(&bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--print-addr"])
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "--admin-key",
            "k",
            "--jwt-hs256-secret",
            "s",
            "--sqlite-sync",
            "normal",
        ])
        .args(["--max-bytes-per-second", "4294967296"])
        .args(["--rate-burst-bytes", "4294967296"])
        .args(["--rate-abuse-bytes", "4294967296"])
        .args(["--web-dir", "/nonexistent"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .unwrap();
        if let Some(addr) = line.strip_prefix("listening on ") {
            break addr.trim().parse().unwrap();
        }
    };
    (Child(child), addr, dir)
}

async fn admin(http: &reqwest::Client, addr: SocketAddr, path: &str, body: Value) -> Value {
    let response = http
        .post(format!("http://{addr}{path}"))
        .bearer_auth("k")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

async fn metric(http: &reqwest::Client, addr: SocketAddr, name: &str) -> f64 {
    let text = http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// (RSS at start, after the burst, after everyone left and `settle` passed; history bytes
/// and rooms loaded then) in MiB and counts.
async fn burst(extra: &[&str], settle: Duration) -> [f64; 5] {
    let (child, addr, _dir) = serve(extra);
    let pid = child.0.id();
    let http = reqwest::Client::new();
    admin(
        &http,
        addr,
        "/api/admin/spaces",
        json!({"id": "b", "name": "B"}),
    )
    .await;
    let token = |id: &'static str| {
        let http = http.clone();
        async move {
            admin(
                &http,
                addr,
                "/api/admin/tokens",
                json!({"id": id, "name": id, "space": "b"}),
            )
            .await["token"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let (filler_token, reader_token) = (token("filler").await, token("reader").await);
    let mut filler = Client::connect(addr, &filler_token).await;
    let mut reader = Client::connect(addr, &reader_token).await;
    for i in 0..OBJECTS {
        let id = format!("o{i}");
        admin(
            &http,
            addr,
            "/api/admin/spaces/b/objects",
            json!({"id": id, "type": "static", "pluginUrl": "/plugins/notes/"}),
        )
        .await;
        reader.presence(&id, "joined").await;
        filler.presence(&id, "joined").await;
    }
    // The reader takes everything as it comes.
    let reading = tokio::spawn(async move { while let Some(Ok(_)) = reader.ws.next().await {} });
    let start = rss_mib(pid);
    let text = "x".repeat(1024 * 1024 - 64);
    let began = Instant::now();
    for i in 0..OBJECTS {
        for n in 0..MIB_PER_OBJECT {
            let message = json!({"type": "ovice_broadcast_message",
                "payload": {"event": "fill", "message": {"n": n, "t": text}}});
            let got = filler.plugin(&format!("o{i}"), message).await;
            assert_eq!(got.last().unwrap()["op"], "ack", "{:?}", got.last());
        }
    }
    let peak = rss_mib(pid);
    eprintln!(
        "burst of {} MiB in {:.1} s",
        OBJECTS * MIB_PER_OBJECT,
        began.elapsed().as_secs_f64()
    );
    drop(filler);
    reading.abort();
    tokio::time::sleep(settle).await;
    let after = rss_mib(pid);
    let held = metric(&http, addr, "meetbridge_history_bytes").await / 1048576.0;
    let rooms = metric(&http, addr, "meetbridge_rooms_loaded").await;
    [start, peak, after, held, rooms]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "moves 720 MiB through a child server; run by hand (see the module's doc)"]
async fn rss_after_a_burst() {
    let settle = Duration::from_secs(15);
    let now = burst(
        &["--room-idle-secs", "5", "--trim-memory-secs", "2"],
        settle,
    )
    .await;
    let before = burst(
        &[
            "--room-idle-secs",
            "0",
            "--history-total-bytes",
            "0",
            "--trim-memory-secs",
            "2",
        ],
        settle,
    )
    .await;
    println!(
        "\n{OBJECTS} objects x {MIB_PER_OBJECT} MiB, then everyone leaves; server RSS (MiB), {} s after:",
        settle.as_secs()
    );
    println!("| | start | after the burst | after leaving | history in memory | rooms loaded |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (name, r) in [
        ("budget 256 MiB, rooms unloaded after 5 s idle", now),
        ("no budget, rooms never unloaded", before),
    ] {
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} | {:.1} MiB | {} |",
            r[0], r[1], r[2], r[3], r[4]
        );
    }
    assert_eq!(now[3], 0.0, "history left in memory");
    assert_eq!(now[4], 0.0, "rooms left loaded");
    assert!(now[1] < before[1], "the budget did not lower the peak");
    assert!(now[2] < now[1] / 2.0, "RSS did not come down: {now:?}");
}
