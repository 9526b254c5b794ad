//! A cluster of real `meetbridge serve` processes on loopback, sharing the machine's
//! PostgreSQL (a schema of their own) and NATS JetStream (a stream and bucket prefix of
//! their own), and HAProxy in front of them: what the `_postgres_nats` tests start, kill
//! and restart. Everything a test creates is removed when its [`Cluster`] drops.
//!
//! PostgreSQL and NATS are never started here: they must answer on loopback
//! (`MEETBRIDGE_TEST_PG`, `MEETBRIDGE_TEST_NATS` override the defaults); a test that finds
//! one missing fails at once and names it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::binary::{member_token, printed_addr};

pub const ADMIN: &str = "cluster-admin-key";
const SECRET: &str = "cluster-token-secret";

/// How a node reaches the broker: the flags of `serve` for NATS.
const BROKER_FLAG: &str = "--broker";
const PREFIX_FLAG: &str = "--broker-prefix";
const NODE_FLAG: &str = "--node-id";

pub fn pg_url() -> String {
    std::env::var("MEETBRIDGE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub fn nats_url() -> String {
    std::env::var("MEETBRIDGE_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest).to_owned()
}

/// Fails the test at once, naming what is missing, when PostgreSQL or NATS does not answer.
fn require_services() {
    for (what, url, hint) in [
        ("PostgreSQL", pg_url(), "MEETBRIDGE_TEST_PG"),
        ("NATS JetStream", nats_url(), "MEETBRIDGE_TEST_NATS"),
    ] {
        let addr = host_port(&url);
        let ok = addr
            .parse::<SocketAddr>()
            .ok()
            .and_then(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).ok())
            .is_some();
        assert!(
            ok,
            "{what} does not answer at {addr}: the _postgres/_nats tests need it running on \
             loopback (set {hint} for another address; `bash scripts/check-services.sh` says more)"
        );
    }
}

/// A fresh name for this test's schema and NATS prefix: letters, digits and `_` only.
fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "mbcluster_{tag}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000
    )
}

/// A free loopback port (bound, then released for the process that will listen on it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One `meetbridge serve` process of the cluster.
pub struct Node {
    pub name: String,
    pub addr: SocketAddr,
    child: Option<Child>,
    log: PathBuf,
}

impl Node {
    /// SIGKILL: no shutdown of any kind, as a machine that dies.
    pub fn kill_9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// What the node wrote on stderr so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill_9();
    }
}

/// Three (or any number of) nodes on one PostgreSQL schema and one NATS prefix.
pub struct Cluster {
    pub nodes: Vec<Node>,
    pub schema: String,
    pub prefix: String,
    dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl Cluster {
    /// Starts `n` nodes one after the other (the first runs the migrations), each on a
    /// free port.
    pub fn start(tag: &str, n: usize) -> Cluster {
        require_services();
        let name = unique(tag);
        let mut cluster = Cluster {
            nodes: Vec::new(),
            schema: name.clone(),
            prefix: name,
            dir: tempfile::tempdir().unwrap(),
            http: reqwest::Client::new(),
        };
        for i in 1..=n {
            let node = cluster.spawn(&format!("node{i}"), "127.0.0.1:0".parse().unwrap());
            cluster.nodes.push(node);
        }
        cluster
    }

    fn spawn(&self, name: &str, listen: SocketAddr) -> Node {
        let data = self.dir.path().join(name);
        std::fs::create_dir_all(&data).unwrap();
        let log = self.dir.path().join(format!("{name}.log"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_meetbridge"))
            .args(["serve", "--print-addr", "--listen", &listen.to_string()])
            .args(["--admin-key", ADMIN, "--jwt-hs256-secret", SECRET])
            .args(["--store", &pg_url(), "--pg-schema", &self.schema])
            .args([BROKER_FLAG, &nats_url(), PREFIX_FLAG, &self.prefix])
            .args([NODE_FLAG, name])
            // The tests send faster than a person: the rate limit is not what they test.
            .args([
                "--max-frames-per-second",
                "100000",
                "--rate-burst",
                "100000",
            ])
            .args(["--max-connections-per-ip", "0"])
            .arg("--data-dir")
            .arg(&data)
            .arg("--web-dir")
            .arg(data.join("no-web"))
            .env("RUST_LOG", "meetbridge=info,warn")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("the meetbridge binary starts");
        let addr = read_addr(&mut child, &log);
        Node {
            name: name.into(),
            addr,
            child: Some(child),
            log,
        }
    }

    /// Starts node `i` again on its address (after a kill or a stop).
    pub fn restart(&mut self, i: usize) {
        let (name, addr) = (self.nodes[i].name.clone(), self.nodes[i].addr);
        self.nodes[i].kill_9();
        let deadline = Instant::now() + Duration::from_secs(10);
        // The port may linger for a moment after the process is gone.
        while TcpListener::bind(addr).is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let node = self.spawn(&name, addr);
        self.nodes[i] = node;
    }

    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.nodes.iter().map(|n| n.addr).collect()
    }

    /// The logs of every node, for a failure message.
    pub fn logs(&self) -> String {
        self.nodes
            .iter()
            .map(|n| format!("--- {} ---\n{}", n.name, n.log()))
            .collect()
    }

    /// Creates space `s` and static object `object` through the admin API of node 1.
    pub async fn object(&self, object: &str) {
        let addr = self.nodes[0].addr;
        for (path, body) in [
            ("/api/admin/spaces", json!({"id": "s", "name": "S"})),
            (
                "/api/admin/spaces/s/objects",
                json!({"id": object, "type": "static", "pluginUrl": "/plugins/chat/"}),
            ),
        ] {
            let r = self
                .http
                .post(format!("http://{addr}{path}"))
                .bearer_auth(ADMIN)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(
                r.status().is_success() || r.status() == reqwest::StatusCode::CONFLICT,
                "{path}: {}",
                r.status()
            );
        }
    }

    /// `GET /healthz` of node `i`: status code (0 when it does not answer).
    pub async fn healthz(&self, addr: SocketAddr) -> u16 {
        match self
            .http
            .get(format!("http://{addr}/healthz"))
            .timeout(Duration::from_secs(3))
            .send()
            .await
        {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill_9();
        }
        let (schema, prefix) = (self.schema.clone(), self.prefix.clone());
        // A thread of its own: this may run inside the test's runtime.
        let _ = std::thread::spawn(move || {
            drop_schema(&schema);
            delete_nats(&prefix);
        })
        .join();
    }
}

fn read_addr(child: &mut Child, log: &Path) -> SocketAddr {
    match printed_addr(child) {
        Ok(addr) => addr,
        Err(line) => {
            let _ = child.wait();
            panic!(
                "a cluster node did not start (first line {line:?}); its log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            )
        }
    }
}

fn drop_schema(schema: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        if let Ok((client, conn)) = tokio_postgres::connect(&pg_url(), tokio_postgres::NoTls).await
        {
            tokio::spawn(conn);
            let _ = client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .await;
        }
    });
}

/// Deletes every JetStream stream of this prefix (the object stream and the KV buckets'
/// streams), over the plain NATS protocol: `$JS.API.STREAM.NAMES`, then
/// `$JS.API.STREAM.DELETE.<name>` for each.
fn delete_nats(prefix: &str) {
    let Ok(mut nats) = TcpStream::connect(host_port(&nats_url())) else {
        return;
    };
    let _ = nats.set_read_timeout(Some(Duration::from_secs(3)));
    let mut reader = BufReader::new(nats.try_clone().unwrap());
    let mut info = String::new();
    let _ = reader.read_line(&mut info);
    let request = b"{\"offset\":0}";
    let _ = write!(
        nats,
        "CONNECT {{\"verbose\":false,\"headers\":true}}\r\nSUB _INBOX.cleanup 1\r\nPUB $JS.API.STREAM.NAMES _INBOX.cleanup {}\r\n",
        request.len()
    );
    let _ = nats.write_all(request);
    let _ = nats.write_all(b"\r\n");
    let mut names: Vec<String> = Vec::new();
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap_or(0) > 0 {
        if let Some(rest) = line.strip_prefix("MSG ") {
            let bytes: usize = rest.split_whitespace().last().unwrap().parse().unwrap();
            let mut body = vec![0; bytes + 2];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            let reply: Value = serde_json::from_slice(&body[..bytes]).unwrap_or(Value::Null);
            names = reply["streams"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect();
            break;
        }
        if line.starts_with("PING") {
            let _ = nats.write_all(b"PONG\r\n");
        }
        line.clear();
    }
    let upper = prefix.to_uppercase();
    for name in names {
        if name.to_uppercase().contains(&upper) {
            let _ = write!(nats, "PUB $JS.API.STREAM.DELETE.{name} 0\r\n\r\n");
        }
    }
    let _ = nats.write_all(b"PING\r\n");
    let mut pong = String::new();
    while reader.read_line(&mut pong).unwrap_or(0) > 0 && !pong.contains("PONG") {
        pong.clear();
    }
}

/// A member's token for space "s", valid on every node (they share the secret).
pub fn token(id: &str) -> String {
    member_token(SECRET, id)
}

/// HAProxy (Debian's package) on a loopback port in front of `backends`, with the
/// configuration docs/CLUSTER.md describes, tightened for a test: health checks every
/// 300 ms, a node out after two failures.
pub struct Haproxy {
    pub addr: SocketAddr,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Haproxy {
    pub fn start(backends: &[(String, SocketAddr)]) -> Haproxy {
        let bin = ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("haproxy is not installed: `make tools` installs it (Debian package haproxy)");
        let port = free_port();
        let servers: String = backends
            .iter()
            .map(|(name, addr)| format!("    server {name} {addr} check\n"))
            .collect();
        let config = format!(
            "global\n    maxconn 4096\n\
             defaults\n    mode http\n    timeout connect 1s\n    timeout client 60s\n    timeout server 60s\n    timeout tunnel 1h\n    option redispatch\n    retries 3\n\
             frontend meetbridge\n    bind 127.0.0.1:{port}\n    default_backend nodes\n\
             backend nodes\n    balance roundrobin\n    option httpchk GET /healthz\n    http-check expect status 200\n\
             \x20   default-server inter 300ms fall 2 rise 2 on-marked-down shutdown-sessions\n\
             \x20   http-response set-header X-Meetbridge-Node %[srv_name]\n{servers}"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("haproxy.cfg");
        std::fs::write(&file, config).unwrap();
        let check = Command::new(bin)
            .arg("-c")
            .arg("-f")
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "haproxy refuses the config: {}",
            String::from_utf8_lossy(&check.stdout) + String::from_utf8_lossy(&check.stderr)
        );
        let child = Command::new(bin)
            .arg("-db")
            .arg("-f")
            .arg(&file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "haproxy did not listen on {addr}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Haproxy {
            addr,
            child,
            _dir: dir,
        }
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
