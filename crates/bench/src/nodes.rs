//! The servers under test when the bench starts them: one `meetbridge serve` child process
//! (the default, embedded SQLite in a temporary data dir), or with `--nodes N` a cluster of
//! N children sharing one PostgreSQL schema (`--store postgres://…`) and one NATS prefix
//! (`--broker nats://…`), both made for this run and removed at the end.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::io::AsyncBufReadExt;

use crate::{server_bin, BenchConfig, SqliteSync};

/// What a cluster run made in PostgreSQL and NATS, removed by [`Shared::remove`].
#[derive(Debug, Clone)]
pub struct Shared {
    /// `--store` (a PostgreSQL URL) and the schema made for this run.
    pub pg: Option<(String, String)>,
    /// `--broker` (a NATS URL) and the prefix made for this run.
    pub nats: Option<(String, String)>,
}

impl Shared {
    /// Checks the flags together and names this run's schema and prefix.
    pub fn for_run(config: &BenchConfig) -> anyhow::Result<Shared> {
        let postgres =
            config.store.starts_with("postgres://") || config.store.starts_with("postgresql://");
        if !postgres && config.store != "sqlite" {
            bail!(
                "--store {}: use `sqlite` or a PostgreSQL URL such as postgres://USER@HOST:5432/DB",
                config.store
            );
        }
        if config.nodes == 0 {
            bail!("--nodes must be at least 1");
        }
        if config.nodes > 1 && (!postgres || config.broker.is_none()) {
            bail!(
                "--nodes {} needs a shared store and a broker: --store postgres://USER@HOST:PORT/DB --broker nats://HOST:PORT",
                config.nodes
            );
        }
        if config.addr.is_some() && config.nodes > 1 {
            bail!("--addr measures one running server; --nodes starts its own");
        }
        // Names PostgreSQL and NATS both accept, unique to this run.
        let name = format!(
            "mbbench_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() % 1_000_000)
        );
        Ok(Shared {
            pg: postgres.then(|| (config.store.clone(), name.clone())),
            nats: config.broker.clone().map(|url| (url, name)),
        })
    }

    /// Drops the schema and deletes the stream and buckets (best effort: a leftover of a
    /// bench prefix harms no one).
    pub async fn remove(&self) {
        if let Some((url, schema)) = &self.pg {
            if let Ok((client, conn)) = tokio_postgres::connect(url, tokio_postgres::NoTls).await {
                let task = tokio::spawn(conn);
                let _ = client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .await;
                drop(client);
                let _ = task.await;
            }
        }
        if let Some((url, prefix)) = &self.nats {
            let mut broker = meetbridge_broker::BrokerConfig::new(url.clone());
            broker.prefix = prefix.clone();
            if let Ok(b) = meetbridge_broker::Broker::connect(&broker).await {
                let _ = b.destroy().await;
            }
        }
    }

    /// A short description for the table's header.
    pub fn describe(&self) -> String {
        let store = match &self.pg {
            Some((url, schema)) => format!("PostgreSQL {} (schema {schema})", redact(url)),
            None => "embedded SQLite".into(),
        };
        match &self.nats {
            Some((url, _)) => format!("{store}, NATS JetStream {url}"),
            None => store,
        }
    }
}

/// The URL with its password hidden.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if url[s + 3..at].contains(':') => {
            let colon = s + 3 + url[s + 3..at].find(':').unwrap_or(0);
            format!("{}:***{}", &url[..colon], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// One child server.
pub struct Node {
    pub addr: std::net::SocketAddr,
    pub child: tokio::process::Child,
    pub _dir: tempfile::TempDir,
}

/// Starts node `i` (0-based) of the run: the rate limit lifted, every client from
/// 127.0.0.1 allowed, one token secret for all nodes (a token from node 1's admin API is
/// good on the others).
pub async fn start(
    config: &BenchConfig,
    shared: &Shared,
    admin_key: &str,
    i: usize,
) -> anyhow::Result<Node> {
    let dir = tempfile::tempdir()?;
    let exe: PathBuf = server_bin(config)?;
    let sync = match config.sqlite_sync {
        SqliteSync::Full => "full",
        SqliteSync::Normal => "normal",
    };
    let mut command = tokio::process::Command::new(exe);
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--print-addr"])
        .arg("--data-dir")
        .arg(dir.path())
        .args(["--admin-key", admin_key, "--sqlite-sync", sync])
        .args(["--jwt-hs256-secret", "bench-token-secret"])
        .args([
            "--max-frames-per-second",
            "10000000",
            "--rate-burst",
            "10000000",
            "--max-bytes-per-second",
            "1000000000000",
            "--rate-burst-bytes",
            "1000000000000",
        ])
        .args(["--send-queue", "65536", "--history-size", "10000"])
        // Every bench connection comes from 127.0.0.1.
        .args(["--max-connections-per-ip", "0"])
        .args(["--coalesce-ms", &config.coalesce_ms.to_string()])
        .arg("--web-dir")
        .arg(PathBuf::from("/nonexistent"));
    if let Some((url, schema)) = &shared.pg {
        command.args(["--store", url, "--pg-schema", schema]);
    }
    if let Some((url, prefix)) = &shared.nats {
        command.args(["--broker", url, "--broker-prefix", prefix]);
        command.args(["--node-id", &format!("bench{}", i + 1)]);
    }
    let mut child = command
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("starting the child server")?;
    let stdout = child.stdout.take().context("child stdout")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .with_context(|| format!("child server {} did not start in 30 s", i + 1))??
        .with_context(|| format!("child server {} exited (its error is above)", i + 1))?;
    let addr = line
        .strip_prefix("listening on ")
        .context("unexpected child output")?
        .parse()?;
    Ok(Node {
        addr,
        child,
        _dir: dir,
    })
}
