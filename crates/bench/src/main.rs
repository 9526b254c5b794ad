//! `meetbridge-bench`: measures, on loopback, (a) fan-out to the members of one object,
//! (b) durable `save_and_emit` acknowledgements, (c) server memory per idle connection,
//! and, in [`presence`], (d) a storm of joins into one object, (e) memory per joined idle
//! connection, (f) very many idle connections; then prints a table. It is a command, not
//! a test.
//!
//! By default it starts the server binary (`meetbridge`, beside this one, or
//! `--server-bin`) as `meetbridge serve` in a child process on a temporary data dir, so
//! the server's memory can be read from `/proc/<pid>/statm` and the load generator (this
//! process) does not blur it. `--store`/`--broker` give the child PostgreSQL and NATS, and
//! `--nodes N` starts a cluster of N children on them ([`nodes`]); [`ack`] measures how
//! long a relayed message takes to be durable and acknowledged. `--addr` measures a
//! running server instead (memory then needs `--server-pid`). Clients are
//! tokio-tungstenite (WebSocket) and reqwest (HTTP).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

mod ack;
mod nodes;
mod presence;
mod soak;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How the child server syncs SQLite commits (its `--sqlite-sync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SqliteSync {
    Full,
    Normal,
}

/// Measures fan-out, durable saves and memory per idle connection of a meetbridge server
/// on loopback, and prints a table.
#[derive(Debug, Clone, Parser)]
#[command(name = "meetbridge-bench", version, about)]
pub struct BenchConfig {
    /// A running server to measure (default: start one as a child process).
    #[arg(long)]
    pub addr: Option<SocketAddr>,
    /// The server binary to start (default: `meetbridge` beside this binary).
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
    /// Admin key of the server at `--addr` (the child server gets its own).
    #[arg(long, env = "MEETBRIDGE_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<String>,
    /// Pid of the server at `--addr`, to read its memory.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Members of the fan-out object (one more connection sends).
    #[arg(long, default_value_t = 1000)]
    pub members: usize,
    /// Size of each relayed message's JSON payload, in bytes.
    #[arg(long, default_value_t = 1024)]
    pub message_bytes: usize,
    /// Seconds each measured phase runs.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Connections that save concurrently (one object) in the durable-save phase.
    #[arg(long, default_value_t = 32)]
    pub savers: usize,
    /// Idle connections for the memory phase (0 skips it).
    #[arg(long, default_value_t = 10_000)]
    pub idle: usize,
    /// Offered deliveries/s of the latency phase (default: two phases, half the measured
    /// saturation and 250,000).
    #[arg(long)]
    pub latency_rate: Option<f64>,
    /// The child server's `--coalesce-ms`.
    #[arg(long, default_value_t = 10)]
    pub coalesce_ms: u64,
    /// Instead of the measurements: a soak of this many seconds (mixed traffic with faults,
    /// a server restart; see the README).
    #[arg(long, value_name = "SECS")]
    pub soak: Option<u64>,
    /// How the child server syncs SQLite commits.
    #[arg(long, value_enum, default_value_t = SqliteSync::Full)]
    pub sqlite_sync: SqliteSync,
    /// Members of the presence storm: they join one object at once (0 skips it).
    #[arg(long, default_value_t = 1000)]
    pub storm_members: usize,
    /// Seconds after the storm before the server's memory is read.
    #[arg(long, default_value_t = 5)]
    pub storm_settle_secs: u64,
    /// Idle connections that join, `--per-object` on each object (0 skips it).
    #[arg(long, default_value_t = 10_000)]
    pub idle_joined: usize,
    /// Members per object of the joined idle connections.
    #[arg(long, default_value_t = 100)]
    pub per_object: usize,
    /// Seconds after the last join before the joined idle connections' memory is read.
    #[arg(long, default_value_t = 30)]
    pub idle_wait_secs: u64,
    /// Idle authenticated connections of the scale phase, e.g. 100000 (0 skips it).
    #[arg(long, default_value_t = 0)]
    pub many_idle: usize,
    /// Client addresses (127.0.0.2 and up) the scale phase spreads its sockets over, to
    /// get past the ephemeral-port range of one address.
    #[arg(long, default_value_t = 8)]
    pub source_addrs: usize,
    /// Run only these phases, comma-separated (default: all that are not skipped).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub only: Vec<Phase>,
    /// The child servers' `--store`: `sqlite` (a temporary data dir each) or a PostgreSQL
    /// URL, on which the bench makes a schema of its own and drops it at the end.
    #[arg(long, default_value = "sqlite")]
    pub store: String,
    /// The child servers' `--broker` (`nats://HOST:PORT`), with a stream and bucket prefix
    /// of the bench's own, deleted at the end.
    #[arg(long)]
    pub broker: Option<String>,
    /// Cluster mode: this many child servers on one `--store` (PostgreSQL) and `--broker`.
    /// The fan-out's members and the ack phase's are spread over them in turn; the sender
    /// is on the first. Memory is read on the first.
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,
    /// Messages per second the ack phase sends into one object.
    #[arg(long, default_value_t = 1000.0)]
    pub ack_rate: f64,
    /// Members of the ack phase's object (besides the sender), spread over the nodes.
    #[arg(long, default_value_t = 10)]
    pub ack_members: usize,
}

/// The bench's phases, for `--only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Phase {
    /// (c) memory per idle authenticated connection.
    Idle,
    /// (a) fan-out at saturation and at fixed rates.
    Fanout,
    /// (b) durable saves.
    Saves,
    /// (g) a relayed message durable and acknowledged, at `--ack-rate` into one object.
    Ack,
    /// (d) presence storm.
    Storm,
    /// (e) memory per joined idle connection.
    Joined,
    /// (f) very many idle connections (`--many-idle`).
    Many,
}

impl BenchConfig {
    fn runs(&self, phase: Phase) -> bool {
        self.only.is_empty() || self.only.contains(&phase)
    }
}

fn main() -> anyhow::Result<()> {
    let config = BenchConfig::parse();
    // Thousands of client sockets.
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("bench: could not raise the limit of open files: {e}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match config.soak {
        Some(secs) => runtime.block_on(soak::soak(server_bin(&config)?, secs)),
        None => runtime.block_on(bench(config)),
    }
}

/// The server under test: one, or the nodes of a cluster (`addr` and `pid` are the first's).
struct Target {
    addr: SocketAddr,
    /// Every node, the first first (one entry for a single server).
    addrs: Vec<SocketAddr>,
    admin_key: String,
    pid: Option<u32>,
    /// Every node's pid (the CPU figures add them up).
    pids: Vec<u32>,
    nodes: Vec<nodes::Node>,
    /// What a cluster run made in PostgreSQL and NATS (removed by [`stop`]).
    shared: Option<nodes::Shared>,
    http: reqwest::Client,
}

impl Target {
    /// The node the `i`-th member connects to: each in turn.
    fn node_for(&self, i: usize) -> SocketAddr {
        self.addrs[i % self.addrs.len()]
    }
}

/// The server binary: `--server-bin`, else `meetbridge` in this binary's folder (where
/// cargo puts both).
fn server_bin(config: &BenchConfig) -> anyhow::Result<PathBuf> {
    if let Some(bin) = &config.server_bin {
        return Ok(bin.clone());
    }
    let exe = std::env::current_exe()?;
    let bin = exe.with_file_name(format!("meetbridge{}", std::env::consts::EXE_SUFFIX));
    if !bin.is_file() {
        bail!(
            "no server binary at {}: build it (`cargo build --release -p meetbridge-server`) or pass --server-bin",
            bin.display()
        );
    }
    Ok(bin)
}

/// Starts the child servers (one, or `--nodes`), node 1 first: it runs the migrations.
async fn start_children(config: &BenchConfig) -> anyhow::Result<Target> {
    let shared = nodes::Shared::for_run(config)?;
    let admin_key = "bench-admin-key".to_owned();
    let mut started = Vec::new();
    for i in 0..config.nodes {
        match nodes::start(config, &shared, &admin_key, i).await {
            Ok(node) => started.push(node),
            Err(e) => {
                drop(started);
                shared.remove().await;
                return Err(e);
            }
        }
    }
    let addrs: Vec<SocketAddr> = started.iter().map(|n| n.addr).collect();
    let pids: Vec<u32> = started.iter().filter_map(|n| n.child.id()).collect();
    Ok(Target {
        addr: addrs[0],
        addrs,
        admin_key,
        pid: pids.first().copied(),
        pids,
        nodes: started,
        shared: Some(shared),
        http: reqwest::Client::new(),
    })
}

/// An admin API call; "already exists" (409) is fine, the bench may run twice.
async fn admin(target: &Target, path: &str, body: Value) -> anyhow::Result<Value> {
    let response = target
        .http
        .post(format!("http://{}{path}", target.addr))
        .bearer_auth(&target.admin_key)
        .json(&body)
        .send()
        .await
        .with_context(|| format!("POST {path}"))?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() && status != reqwest::StatusCode::CONFLICT {
        bail!("{path}: HTTP {status}: {text}");
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn token(target: &Target, id: &str) -> anyhow::Result<String> {
    let issued = admin(
        target,
        "/api/admin/tokens",
        json!({"id": id, "name": id, "space": "bench"}),
    )
    .await?;
    issued["token"]
        .as_str()
        .map(str::to_owned)
        .context("no token in answer")
}

async fn connect(addr: SocketAddr, token: &str) -> anyhow::Result<Ws> {
    connect_with(addr, token, 4096).await
}

/// `read_buffer` is what one read takes from the socket: small for idle connections,
/// large for receivers, so a batch of frames costs one read.
async fn connect_with(addr: SocketAddr, token: &str, read_buffer: usize) -> anyhow::Result<Ws> {
    let mut config = WebSocketConfig::default();
    config.read_buffer_size = read_buffer;
    config.write_buffer_size = 64 * 1024;
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(
        format!("ws://{addr}/ws?token={token}"),
        Some(config),
        true,
    )
    .await?;
    // The welcome.
    ws.next().await.context("no welcome")??;
    Ok(ws)
}

/// Sends a request frame and waits for its ack, skipping anything else.
async fn call(ws: &mut Ws, mut frame: Value, req: u64) -> anyhow::Result<()> {
    frame["req"] = json!(req);
    ws.send(Message::text(frame.to_string())).await?;
    loop {
        let msg = ws.next().await.context("closed")??;
        if let Message::Text(t) = msg {
            if t.contains(&format!("\"req\":{req}")) {
                if t.contains("\"op\":\"ack\"") {
                    return Ok(());
                }
                bail!("refused: {t}");
            }
        }
    }
}

fn rss_bytes(pid: u32) -> Option<u64> {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * page.max(1) as u64)
}

/// CPU seconds (user + system) a process has used so far.
fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command (which may contain spaces) start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Some((utime + stime) / ticks)
}

/// Measures the CPU share (in cores) of the server (all its nodes together) and of this
/// process over a phase.
struct CpuMeter {
    servers: Vec<u32>,
    start: Instant,
    server_cpu: f64,
    own_cpu: f64,
}

impl CpuMeter {
    fn start(servers: impl IntoIterator<Item = u32>) -> Self {
        let servers: Vec<u32> = servers.into_iter().collect();
        CpuMeter {
            start: Instant::now(),
            server_cpu: Self::servers_cpu(&servers).unwrap_or(0.0),
            servers,
            own_cpu: cpu_secs(std::process::id()).unwrap_or(0.0),
        }
    }

    fn servers_cpu(pids: &[u32]) -> Option<f64> {
        if pids.is_empty() {
            return None;
        }
        pids.iter().map(|p| cpu_secs(*p)).sum()
    }

    /// `server x.xx cores, load generator y.yy cores` (`servers` for a cluster).
    fn report(&self) -> String {
        let wall = self.start.elapsed().as_secs_f64().max(1e-9);
        let own = (cpu_secs(std::process::id()).unwrap_or(0.0) - self.own_cpu) / wall;
        match Self::servers_cpu(&self.servers) {
            Some(now) => format!(
                "{} {:.2} cores, load generator {:.2} cores",
                if self.servers.len() > 1 {
                    format!("{} servers", self.servers.len())
                } else {
                    "server".into()
                },
                (now - self.server_cpu) / wall,
                own
            ),
            None => format!("load generator {own:.2} cores"),
        }
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or("?".into(), |kb| format!("{:.0} GiB", kb as f64 / 1048576.0));
    format!("{cpu}, {cores} cores, {mem} RAM")
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn fmt_num(n: f64) -> String {
    let s = format!("{:.0}", n);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(ns: u64) -> String {
    format!("{:.2} ms", ns as f64 / 1e6)
}

/// The server under test: the one at `--addr`, or a fresh child process.
async fn target(config: &BenchConfig) -> anyhow::Result<Target> {
    let target = match config.addr {
        Some(addr) => Target {
            addr,
            admin_key: config
                .admin_key
                .clone()
                .context("--addr needs --admin-key (or MEETBRIDGE_ADMIN_KEY)")?,
            addrs: vec![addr],
            pid: config.server_pid,
            pids: config.server_pid.into_iter().collect(),
            nodes: Vec::new(),
            shared: None,
            http: reqwest::Client::new(),
        },
        None => start_children(config).await?,
    };
    admin(
        &target,
        "/api/admin/spaces",
        json!({"id": "bench", "name": "Bench"}),
    )
    .await?;
    Ok(target)
}

async fn stop(mut target: Target) {
    for node in &mut target.nodes {
        let _ = node.child.kill().await;
    }
    if let Some(shared) = target.shared.take() {
        shared.remove().await;
    }
}

async fn bench(config: BenchConfig) -> anyhow::Result<()> {
    if config.many_idle > 0 && config.runs(Phase::Many) {
        // This process holds every client socket; the child server inherits the limit.
        let want = config.many_idle as u64 + 512;
        let got = presence::raise_nofile_limit_to(want);
        if got < want {
            bail!(
                "--many-idle {} needs {want} open files, the limit is {got}: raise it (`ulimit -n`) or run as root",
                config.many_idle
            );
        }
    }
    let mut target = target(&config).await?;
    eprintln!(
        "bench: server at {}; machine: {}; load average {}",
        target.addr,
        machine(),
        loadavg()
    );
    let fresh = !target.nodes.is_empty();
    let shared = target.shared.as_ref().map(nodes::Shared::describe);
    let mut rows: Vec<(String, String, String)> = Vec::new();

    // (c) first, on a fresh server, so memory freed by the other phases is not reused.
    if config.idle > 0 && config.runs(Phase::Idle) {
        match target.pid {
            Some(pid) => {
                let (per_conn, total) = idle_memory(&target, pid, config.idle).await?;
                rows.push((
                    format!(
                        "server memory per idle connection ({} connections)",
                        fmt_num(config.idle as f64)
                    ),
                    format!(
                        "{:.1} KiB (RSS +{:.1} MiB)",
                        per_conn / 1024.0,
                        total / 1048576.0
                    ),
                    "< 10.5 KiB".into(),
                ));
            }
            None => eprintln!("bench: no server pid (--server-pid): memory phase skipped"),
        }
    }

    if config.runs(Phase::Fanout) {
        fanout_rows(&target, &config, &mut rows).await?;
    }

    if config.runs(Phase::Ack) {
        rows.push(ack::ack(&target, &config).await?);
    }

    if config.savers > 0 && config.runs(Phase::Saves) {
        let (acks, sp50, sp99, cpu) = saves(&target, &config).await?;
        rows.push((
            format!(
                "durable save_and_emit acks/s ({} savers, one object, sync={:?})",
                config.savers, config.sqlite_sync
            ),
            format!(
                "{} (ack p50 {}, p99 {}; {cpu})",
                fmt_num(acks),
                ms(sp50),
                ms(sp99)
            ),
            "-".into(),
        ));
    }

    // The presence phases read memory too: each gets a fresh server of its own.
    if config.storm_members > 0 && config.runs(Phase::Storm) {
        if fresh {
            stop(std::mem::replace(&mut target, self::target(&config).await?)).await;
        }
        let settle = Duration::from_secs(config.storm_settle_secs);
        rows.extend(presence::storm(&target, config.storm_members, settle).await?);
    }
    if config.idle_joined > 0 && config.runs(Phase::Joined) {
        if fresh {
            stop(std::mem::replace(&mut target, self::target(&config).await?)).await;
        }
        let wait = Duration::from_secs(config.idle_wait_secs);
        rows.extend(
            presence::idle_joined(&target, config.idle_joined, config.per_object, wait).await?,
        );
    }
    if config.many_idle > 0 && config.runs(Phase::Many) {
        if fresh {
            stop(std::mem::replace(&mut target, self::target(&config).await?)).await;
        }
        rows.extend(presence::many_idle(&target, config.many_idle, config.source_addrs).await?);
    }

    println!("\nmeetbridge bench: {}", machine());
    println!(
        "load average at the end (other processes share these cores): {}",
        loadavg()
    );
    match (&shared, config.nodes) {
        (Some(shared), 1) => println!(
            "server: child process `meetbridge serve` on loopback (a fresh one for each presence phase), {shared}\n"
        ),
        (Some(shared), n) => println!(
            "server: a cluster of {n} child processes `meetbridge serve` on loopback, {shared}; members spread over the nodes, the sender on the first\n"
        ),
        (None, _) => println!("server: given address\n"),
    }
    let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(10);
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(10);
    println!("| {:w0$} | {:w1$} | aim |", "measure", "result");
    println!("|{}|{}|-----|", "-".repeat(w0 + 2), "-".repeat(w1 + 2));
    for (a, b, c) in rows {
        println!("| {a:w0$} | {b:w1$} | {c} |");
    }
    stop(target).await;
    Ok(())
}

async fn fanout_rows(
    target: &Target,
    config: &BenchConfig,
    rows: &mut Vec<(String, String, String)>,
) -> anyhow::Result<()> {
    admin(
        target,
        "/api/admin/spaces/bench/objects",
        json!({"id": "bench-fanout", "type": "static", "pluginUrl": "/plugins/bench/"}),
    )
    .await?;
    let f = fanout(target, config).await?;
    rows.push((
        format!(
            "fan-out deliveries/s at saturation ({} members, {} B messages)",
            fmt_num(config.members as f64),
            config.message_bytes
        ),
        format!("{} ({})", fmt_num(f.saturation), f.saturation_cpu),
        ">= 500,000".into(),
    ));
    for l in &f.latencies {
        rows.push((
            format!(
                "fan-out latency p50 / p99 at {} deliveries/s offered ({} measured)",
                fmt_num(l.offered),
                fmt_num(l.deliveries as f64)
            ),
            format!("{} / {} ({})", ms(l.p50), ms(l.p99), l.cpu),
            "p99 < 50 ms".into(),
        ));
    }
    Ok(())
}

/// Opens `n` authenticated connections that then do nothing; returns (bytes per
/// connection, total bytes) of the server's RSS growth.
async fn idle_memory(target: &Target, pid: u32, n: usize) -> anyhow::Result<(f64, f64)> {
    let token = Arc::new(token(target, "idle").await?);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = rss_bytes(pid).context("reading server RSS")?;
    let started = Instant::now();
    let per_task = n.div_ceil(50);
    let mut tasks = Vec::new();
    for t in 0..50 {
        let token = token.clone();
        let addr = target.addr;
        let count = per_task.min(n.saturating_sub(t * per_task));
        tasks.push(tokio::spawn(async move {
            let mut conns = Vec::with_capacity(count);
            for _ in 0..count {
                conns.push(connect(addr, &token).await?);
            }
            anyhow::Ok(conns)
        }));
    }
    let mut all = Vec::with_capacity(n);
    for t in tasks {
        all.extend(t.await??);
    }
    eprintln!(
        "bench: {} idle connections open in {:.1} s",
        all.len(),
        started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_bytes(pid).context("reading server RSS")?;
    let total = after.saturating_sub(before) as f64;
    drop(all);
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok((total / n as f64, total))
}

struct Fanout {
    saturation: f64,
    saturation_cpu: String,
    latencies: Vec<Latency>,
}

struct Latency {
    offered: f64,
    deliveries: usize,
    p50: u64,
    p99: u64,
    cpu: String,
}

/// (a): fan-out at saturation, then latency at a fixed offered rate.
async fn fanout(target: &Target, config: &BenchConfig) -> anyhow::Result<Fanout> {
    let object = "bench-fanout";
    let n = config.members;
    let base = Instant::now();
    // 0: not recording; k: recording latency phase k.
    let record = Arc::new(AtomicUsize::new(0));
    let mut counters = Vec::with_capacity(n);
    let mut receivers = Vec::with_capacity(n);
    eprintln!("bench: fan-out: {n} members joining");
    for i in 0..n {
        let token = token(target, &format!("m{i}")).await?;
        let mut ws = connect_with(target.node_for(i), &token, 64 * 1024).await?;
        call(
            &mut ws,
            json!({"op": "presence", "object": object, "status": "subscribed"}),
            1,
        )
        .await?;
        let count = Arc::new(AtomicU64::new(0));
        counters.push(count.clone());
        let record = record.clone();
        receivers.push(tokio::spawn(receive(ws, count, record, base)));
    }
    let sender_token = token(target, "sender").await?;
    let mut sender = connect(target.addr, &sender_token).await?;
    call(
        &mut sender,
        json!({"op": "presence", "object": object, "status": "joined"}),
        1,
    )
    .await?;
    // Let the presence announcements drain.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let pad_len = config.message_bytes.saturating_sub(40);
    let pad = "x".repeat(pad_len);
    let frame = |t: u64, event: &str| -> String {
        format!(
            "{{\"op\":\"plugin\",\"object\":\"{object}\",\"message\":{{\"type\":\"ovice_broadcast_message\",\"payload\":{{\"event\":\"{event}\",\"message\":{{\"_t\":{t},\"pad\":\"{pad}\"}}}}}}}}"
        )
    };
    let total = |counters: &[Arc<AtomicU64>]| counters.iter().map(|c| c.load(Relaxed)).sum::<u64>();
    let min =
        |counters: &[Arc<AtomicU64>]| counters.iter().map(|c| c.load(Relaxed)).min().unwrap_or(0);

    // Saturation: keep at most WINDOW messages ahead of the slowest member.
    const WINDOW: u64 = 128;
    let mut sent: u64 = 0;
    let warmup = Duration::from_secs(1);
    let measure = Duration::from_secs(config.seconds);
    let start = Instant::now();
    let mut measured_from: Option<(Instant, u64)> = None;
    let mut cpu = CpuMeter::start(target.pids.clone());
    loop {
        let elapsed = start.elapsed();
        if measured_from.is_none() && elapsed >= warmup {
            measured_from = Some((Instant::now(), total(&counters)));
            cpu = CpuMeter::start(target.pids.clone());
        }
        if elapsed >= warmup + measure {
            break;
        }
        if sent.saturating_sub(min(&counters)) >= WINDOW {
            sender.flush().await?;
            tokio::time::sleep(Duration::from_micros(200)).await;
            continue;
        }
        for _ in 0..8 {
            sender
                .feed(Message::text(frame(base.elapsed().as_nanos() as u64, "b")))
                .await?;
            sent += 1;
        }
        sender.flush().await?;
    }
    let (from, delivered_before) = measured_from.expect("warm-up passed");
    let saturation_cpu = cpu.report();
    let delivered = total(&counters) - delivered_before;
    let saturation = delivered as f64 / from.elapsed().as_secs_f64();
    eprintln!(
        "bench: saturation {} deliveries/s ({saturation_cpu})",
        fmt_num(saturation)
    );
    // Let the backlog drain before measuring latency.
    while min(&counters) < sent {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Latency on a fixed schedule: at half the saturation rate (or `--latency-rate`), and
    // at 250,000 deliveries/s, half the aim.
    let mut rates = match config.latency_rate {
        Some(rate) => vec![rate],
        None => vec![saturation / 2.0, 250_000.0],
    };
    rates.dedup_by(|a, b| (*a - *b).abs() < 1.0);
    let mut phases = Vec::new();
    for (phase, offered) in rates.iter().copied().enumerate() {
        let rate = offered / n as f64; // messages per second
        let interval = Duration::from_secs_f64(1.0 / rate.max(1.0));
        record.store(phase + 1, Relaxed);
        let cpu = CpuMeter::start(target.pids.clone());
        let start = tokio::time::Instant::now();
        let mut k: u32 = 0;
        while start.elapsed() < measure {
            tokio::time::sleep_until(start + interval * k).await;
            sender
                .send(Message::text(frame(base.elapsed().as_nanos() as u64, "l")))
                .await?;
            k += 1;
            sent += 1;
        }
        let report = cpu.report();
        eprintln!("bench: latency phase at {:.0} msg/s ({report})", rate);
        phases.push((offered, report));
        record.store(0, Relaxed);
        // Drain before the next phase.
        let drained = Instant::now();
        while min(&counters) < sent && drained.elapsed() < Duration::from_secs(60) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    sender.send(Message::text(frame(0, "end"))).await?;
    let mut samples = vec![Vec::new(); phases.len()];
    for r in receivers {
        for (phase, got) in r.await?.into_iter().enumerate() {
            if let Some(all) = samples.get_mut(phase) {
                all.extend(got);
            }
        }
    }
    let latencies = phases
        .into_iter()
        .zip(samples)
        .map(|((offered, cpu), mut samples)| {
            samples.sort_unstable();
            Latency {
                offered,
                deliveries: samples.len(),
                p50: percentile(&samples, 0.5),
                p99: percentile(&samples, 0.99),
                cpu,
            }
        })
        .collect();
    Ok(Fanout {
        saturation,
        saturation_cpu,
        latencies,
    })
}

/// Counts the `ovice_message` frames of the fan-out object and, while `record` names a
/// phase, records (per phase) their latency from the send time `t` in the message.
/// Everything needed is in the first few hundred bytes of a frame: only those are searched.
async fn receive(
    mut ws: Ws,
    count: Arc<AtomicU64>,
    record: Arc<AtomicUsize>,
    base: Instant,
) -> Vec<Vec<u64>> {
    let mut samples: Vec<Vec<u64>> = Vec::new();
    while let Some(Ok(message)) = ws.next().await {
        let text = match message {
            Message::Text(text) => text,
            Message::Close(_) => break,
            _ => continue,
        };
        let head = head_of(&text, 320);
        if !head.contains("\"ovice_message\"") {
            continue;
        }
        if head.contains("\"event\":\"end\"") {
            break;
        }
        count.fetch_add(1, Relaxed);
        let phase = record.load(Relaxed);
        if phase == 0 {
            continue;
        }
        if let Some(at) = head.find("\"_t\":") {
            let digits: String = head[at + 5..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            if let Ok(sent) = digits.parse::<u64>() {
                let now = base.elapsed().as_nanos() as u64;
                if samples.len() < phase {
                    samples.resize_with(phase, Vec::new);
                }
                samples[phase - 1].push(now.saturating_sub(sent));
            }
        }
    }
    samples
}

/// The first `max` bytes of `text`, cut at a character boundary.
fn head_of(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// (b): returns (acks/s, p50 ns, p99 ns, CPU use).
async fn saves(target: &Target, config: &BenchConfig) -> anyhow::Result<(f64, u64, u64, String)> {
    let object = "bench-saves";
    admin(
        target,
        "/api/admin/spaces/bench/objects",
        json!({"id": object, "type": "static", "pluginUrl": "/plugins/bench/"}),
    )
    .await?;
    let measure = Duration::from_secs(config.seconds);
    let mut tasks = Vec::new();
    let mut clients = Vec::new();
    for i in 0..config.savers {
        let token = token(target, &format!("saver{i}")).await?;
        let mut ws = connect(target.addr, &token).await?;
        call(
            &mut ws,
            json!({"op": "presence", "object": object, "status": "joined"}),
            1,
        )
        .await?;
        clients.push(ws);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cpu = CpuMeter::start(target.pid);
    let start = Instant::now();
    for (i, mut ws) in clients.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut req = 10u64;
            while start.elapsed() < measure {
                let t0 = Instant::now();
                call(
                    &mut ws,
                    json!({"op": "plugin", "object": object, "message": {"type": "ovice_save_and_emit_data", "payload": {"by": i, "n": req, "text": "a saved document of modest size"}}}),
                    req,
                )
                .await?;
                latencies.push(t0.elapsed().as_nanos() as u64);
                req += 1;
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_unstable();
    Ok((
        all.len() as f64 / elapsed,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        cpu.report(),
    ))
}
