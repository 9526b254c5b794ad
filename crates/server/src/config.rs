//! The server's settings (clap). Every setting can be given as a flag or as a
//! `MEETBRIDGE_*` variable, so `make run`, CI and containers configure it the same way.
//! Each default is written once, in [`defaults`], and used by both clap and [`Default`].

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, ValueEnum};

use crate::store::SqliteSync as Synchronous;

/// The defaults of every setting, in one place.
pub mod defaults {
    pub const LISTEN: &str = "127.0.0.1:8080";
    pub const DATA_DIR: &str = "./data";
    pub const WEB_DIR: &str = "web/dist";
    pub const WEBAPP3_DIR: &str = "webapp3";
    pub const MAX_FRAMES_PER_SECOND: u32 = 200;
    pub const RATE_BURST: u32 = 400;
    pub const MAX_BYTES_PER_SECOND: u64 = 8 * 1024 * 1024;
    pub const RATE_BURST_BYTES: u64 = 16 * 1024 * 1024;
    pub const RATE_ABUSE_FRAMES: u32 = 1000;
    pub const RATE_ABUSE_BYTES: u64 = 64 * 1024 * 1024;
    pub const HISTORY_SIZE: usize = 1000;
    pub const HISTORY_AGE_SECS: u64 = 600;
    pub const HISTORY_BYTES: usize = 16 * 1024 * 1024;
    pub const HISTORY_TOTAL_BYTES: usize = 256 * 1024 * 1024;
    pub const ROOM_IDLE_SECS: u64 = 300;
    pub const DEPARTURE_GRACE_SECS: u64 = 10;
    pub const DEDUP_IDS: usize = 256;
    pub const DEDUP_AGE_SECS: u64 = 600;
    pub const DEDUP_BYTES: usize = 2 * 1024 * 1024;
    pub const SEND_QUEUE: usize = 4096;
    pub const SEND_QUEUE_BYTES: usize = 8 * 1024 * 1024;
    pub const MAX_OBJECTS_PER_SPACE: usize = 1000;
    pub const MAX_DYNAMIC_PER_PARTICIPANT: usize = 50;
    pub const RETENTION_MESSAGES: u64 = 10_000;
    pub const RETENTION_AGE_SECS: u64 = 7 * 86_400;
    pub const RETENTION_BYTES: u64 = 64 * 1024 * 1024;
    pub const PRUNE_INTERVAL_SECS: u64 = 60;
    pub const COALESCE_MS: u64 = 10;
    pub const WS_PING_SECS: u64 = 30;
    pub const TRIM_MEMORY_SECS: u64 = 10;
    /// 0: derived from the open-file limit.
    pub const MAX_CONNECTIONS: usize = 0;
    pub const CONNECTION_RESERVE: usize = 32;
    pub const MAX_CONNECTIONS_PER_IP: usize = 512;
    pub const HEADER_READ_TIMEOUT_SECS: u64 = 10;
    pub const REQUEST_TIMEOUT_SECS: u64 = 30;
    pub const BROKER_PREFIX: &str = "mb";
    pub const BROKER_MAX_AGE_SECS: u64 = 86_400;
    pub const NODE_HEARTBEAT_SECS: u64 = 2;
    pub const NODE_TIMEOUT_SECS: u64 = 6;
}

/// Where the data lives and how tokens are signed: shared by `serve` and the offline commands.
#[derive(Debug, Clone, Args)]
pub struct DataConfig {
    /// Directory of the SQLite database (and of the generated token secret).
    #[arg(
        long,
        env = "MEETBRIDGE_DATA_DIR",
        default_value = defaults::DATA_DIR,
        global = true
    )]
    pub data_dir: PathBuf,
    /// HS256 shared secret of participant JWTs: an embedding application mints its users'
    /// tokens with it, and the server its own. When absent, one is generated once and kept
    /// in `<data-dir>/token-secret`, so the CLI and the server agree.
    #[arg(
        long = "jwt-hs256-secret",
        alias = "token-secret",
        env = "MEETBRIDGE_JWT_HS256_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub token_secret: Option<String>,
    /// How SQLite syncs a commit. `full` (default): an acknowledged save survives power
    /// loss. `normal`: survives a crash of the process but not of the machine.
    #[arg(long, env = "MEETBRIDGE_SQLITE_SYNC", value_enum, default_value_t = SqliteSync::Full, global = true)]
    pub sqlite_sync: SqliteSync,
    /// Where the durable state lives: `sqlite` (in `--data-dir`) or a PostgreSQL URL
    /// (`postgres://USER@HOST:PORT/DB`).
    #[arg(
        long,
        env = "MEETBRIDGE_STORE",
        default_value = "sqlite",
        global = true
    )]
    pub store: String,
    /// The PostgreSQL schema the store uses (created if missing).
    #[arg(
        long,
        env = "MEETBRIDGE_PG_SCHEMA",
        default_value = "meetbridge",
        global = true
    )]
    pub pg_schema: String,
}

impl DataConfig {
    /// Opens the store for an offline command (which numbers no messages, so it may run
    /// beside a server on the same PostgreSQL schema).
    pub fn open_store(&self) -> anyhow::Result<std::sync::Arc<dyn crate::store::Store>> {
        self.open_store_for(false)
    }

    /// Opens the store this configuration names (blocking: migrations run here). A
    /// PostgreSQL that does not answer is an error naming the URL. `numbering`: this
    /// process hands out the objects' `seq` itself (a node without a broker), so it holds
    /// the schema's lock and a second such node is refused.
    pub fn open_store_for(
        &self,
        numbering: bool,
    ) -> anyhow::Result<std::sync::Arc<dyn crate::store::Store>> {
        use anyhow::Context;
        if self.store == "sqlite" {
            let store =
                crate::store::sqlite::SqliteStore::open(&self.data_dir, self.sqlite_sync.into())
                    .with_context(|| {
                        format!("opening the SQLite store in {}", self.data_dir.display())
                    })?;
            return Ok(std::sync::Arc::new(store));
        }
        if self.store.starts_with("postgres://") || self.store.starts_with("postgresql://") {
            let store = if numbering {
                crate::store::postgres::PgStore::connect_exclusive(&self.store, &self.pg_schema)?
            } else {
                crate::store::postgres::PgStore::connect(&self.store, &self.pg_schema)?
            };
            return Ok(std::sync::Arc::new(store));
        }
        anyhow::bail!(
            "--store {}: use `sqlite` or a PostgreSQL URL such as postgres://USER@HOST:5432/DB",
            crate::store::postgres::redact(&self.store)
        )
    }
}

/// `--sqlite-sync`: the flag's values, turned into the store's own [`Synchronous`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SqliteSync {
    Full,
    Normal,
}

impl From<SqliteSync> for Synchronous {
    fn from(sync: SqliteSync) -> Self {
        match sync {
            SqliteSync::Full => Synchronous::Full,
            SqliteSync::Normal => Synchronous::Normal,
        }
    }
}

#[derive(Debug, Clone, Parser)]
pub struct ServeConfig {
    /// Address to listen on (port 0 picks a free one; the bound address is logged and printed).
    #[arg(long, env = "MEETBRIDGE_LISTEN", default_value = defaults::LISTEN)]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub data: DataConfig,
    /// Key that guards /api/admin (as `Authorization: Bearer <key>` or `X-Admin-Key`).
    /// When absent, one is generated once and kept in `<data-dir>/admin-key`.
    #[arg(long, env = "MEETBRIDGE_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<String>,
    #[command(flatten)]
    pub limits: LimitsConfig,
    #[command(flatten)]
    pub connections: ConnectionLimits,
    /// Page origins (`https://meet.example.com`, comma-separated) allowed to open `/ws`:
    /// a browser's handshake with another `Origin` gets 403. Clients that send no
    /// `Origin` (not browsers) are not affected. Empty: any origin.
    #[arg(long, env = "MEETBRIDGE_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// A WebSocket URL the pages connect to (`wss://node1.example.com/ws`), published in
    /// `/api/info` as `servers`; repeat the flag (or comma-separate) for several nodes: a
    /// page's host runtime tries them in order and moves to the next when one fails.
    /// Empty: this server's own `/ws` (or one URL behind a load balancer).
    #[arg(long = "ws-url", env = "MEETBRIDGE_WS_URLS", value_delimiter = ',')]
    pub ws_urls: Vec<String>,
    /// Key that `/metrics` asks for (`Authorization: Bearer <key>`). Absent: open.
    #[arg(long, env = "MEETBRIDGE_METRICS_KEY", hide_env_values = true)]
    pub metrics_key: Option<String>,
    /// Serve `/metrics` (and `/healthz`) on this address instead, and not on `--listen`.
    #[arg(long, env = "MEETBRIDGE_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    #[command(flatten)]
    pub identity: IdentityConfig,
    #[command(flatten)]
    pub cluster: ClusterConfig,
    /// Static files of the browser side (demo pages, plugins, SDK), served at `/`.
    #[arg(long, env = "MEETBRIDGE_WEB_DIR", default_value = defaults::WEB_DIR)]
    pub web_dir: PathBuf,
    /// The Web App 3 branding folder with the built external-chat plugin, served at `/webapp3/`.
    #[arg(long, env = "MEETBRIDGE_WEBAPP3_DIR", default_value = defaults::WEBAPP3_DIR)]
    pub webapp3_dir: PathBuf,
    /// Demo mode: seeds the demo space and enables the dev-only login (`POST /api/dev/login`).
    /// Never on a server reachable by others.
    #[arg(long, env = "MEETBRIDGE_DEMO")]
    pub demo: bool,
    /// JSON file describing the demo space and objects (see README); default: built-in seed.
    #[arg(long, env = "MEETBRIDGE_DEMO_SEED")]
    pub demo_seed: Option<PathBuf>,
    /// Prints `listening on <addr>` on stdout once bound (used by `meetbridge-bench`).
    #[arg(long, hide = true)]
    pub print_addr: bool,
}

/// Cluster mode: several nodes on one PostgreSQL store and one NATS JetStream.
#[derive(Debug, Clone, Args)]
pub struct ClusterConfig {
    /// NATS with JetStream (`nats://HOST:PORT`): this server is one node of a cluster.
    /// Relayed messages and presence cross the nodes through it; needs `--store
    /// postgres://…` shared by every node. Absent: one node on its own.
    #[arg(long, env = "MEETBRIDGE_BROKER")]
    pub broker: Option<String>,
    /// Prefix of the cluster's subjects, stream and buckets on NATS (`mb`: stream
    /// `MB_OBJECTS`, subjects `mb.obj.<object>`, buckets `mb_presence`, `mb_nodes`).
    /// Every node of one cluster uses the same.
    #[arg(long, env = "MEETBRIDGE_BROKER_PREFIX", default_value = defaults::BROKER_PREFIX)]
    pub broker_prefix: String,
    /// Seconds the JetStream stream keeps relayed frames (the long history is the
    /// store's, per retention).
    #[arg(long, env = "MEETBRIDGE_BROKER_MAX_AGE_SECS", default_value_t = defaults::BROKER_MAX_AGE_SECS)]
    pub broker_max_age_secs: u64,
    /// This node's name among the cluster's (in the presence bucket and logs). Absent: a
    /// new random one at each start.
    #[arg(long, env = "MEETBRIDGE_NODE_ID")]
    pub node_id: Option<String>,
    /// Seconds between this node's heartbeats.
    #[arg(long, env = "MEETBRIDGE_NODE_HEARTBEAT_SECS", default_value_t = defaults::NODE_HEARTBEAT_SECS)]
    pub node_heartbeat_secs: u64,
    /// Seconds of silence after which another node counts as dead: its users are
    /// announced `left`/`unsubscribed` here.
    #[arg(long, env = "MEETBRIDGE_NODE_TIMEOUT_SECS", default_value_t = defaults::NODE_TIMEOUT_SECS)]
    pub node_timeout_secs: u64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        use defaults::*;
        ClusterConfig {
            broker: None,
            broker_prefix: BROKER_PREFIX.into(),
            broker_max_age_secs: BROKER_MAX_AGE_SECS,
            node_id: None,
            node_heartbeat_secs: NODE_HEARTBEAT_SECS,
            node_timeout_secs: NODE_TIMEOUT_SECS,
        }
    }
}

/// Identity providers, sign-in, and what may be embedded.
#[derive(Debug, Clone, Default, Args)]
pub struct IdentityConfig {
    /// An identity provider's key set: RS256 / ES256 / EdDSA participant JWTs are verified
    /// with its keys (cached; fetched again on an unknown `kid` and every 10 minutes).
    #[arg(long, env = "MEETBRIDGE_JWKS_URL")]
    pub jwks_url: Option<String>,
    /// When set, a participant JWT's `iss` must be this.
    #[arg(long, env = "MEETBRIDGE_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// When set, a participant JWT's `aud` must name this.
    #[arg(long, env = "MEETBRIDGE_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// OpenID Connect issuer for "Sign in" on the pages (its
    /// `/.well-known/openid-configuration` is read on first use).
    #[arg(long, env = "MEETBRIDGE_OIDC_ISSUER", requires = "oidc_client_id")]
    pub oidc_issuer: Option<String>,
    /// The client id registered at the OpenID provider (redirect URIs: this server's
    /// `/`, `/meeting/` and `/admin/`).
    #[arg(long, env = "MEETBRIDGE_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,
    /// Its secret, for a confidential client (public clients rely on PKCE alone).
    #[arg(long, env = "MEETBRIDGE_OIDC_CLIENT_SECRET", hide_env_values = true)]
    pub oidc_client_secret: Option<String>,
    /// A parent origin allowed to hand a token to an embedded page by postMessage
    /// (repeat the flag, or comma-separate).
    #[arg(
        long = "embed-origin",
        env = "MEETBRIDGE_EMBED_ORIGINS",
        value_delimiter = ','
    )]
    pub embed_origins: Vec<String>,
    /// Accept plain `http:` plugin URLs to hosts other than loopback.
    #[arg(long, env = "MEETBRIDGE_ALLOW_HTTP_PLUGINS")]
    pub allow_http_plugins: bool,
}

/// Limits and windows. Defaults fit real plugins; the bench raises the rate limit.
#[derive(Debug, Clone, Args)]
pub struct LimitsConfig {
    /// Frames per second one connection may send (token bucket, see `--rate-burst`).
    #[arg(long, env = "MEETBRIDGE_MAX_FRAMES_PER_SECOND", default_value_t = defaults::MAX_FRAMES_PER_SECOND)]
    pub max_frames_per_second: u32,
    /// Frames a connection may send at once before the per-second rate applies.
    #[arg(long, env = "MEETBRIDGE_RATE_BURST", default_value_t = defaults::RATE_BURST)]
    pub rate_burst: u32,
    /// Bytes per second one connection may send (token bucket, see `--rate-burst-bytes`).
    #[arg(long, env = "MEETBRIDGE_MAX_BYTES_PER_SECOND", default_value_t = defaults::MAX_BYTES_PER_SECOND)]
    pub max_bytes_per_second: u64,
    /// Bytes a connection may send at once before the per-second rate applies (a frame
    /// larger than this passes when the bucket is full).
    #[arg(long, env = "MEETBRIDGE_RATE_BURST_BYTES", default_value_t = defaults::RATE_BURST_BYTES)]
    pub rate_burst_bytes: u64,
    /// Refused frames within 10 s after which a connection is closed (1008).
    #[arg(long, env = "MEETBRIDGE_RATE_ABUSE_FRAMES", default_value_t = defaults::RATE_ABUSE_FRAMES)]
    pub rate_abuse_frames: u32,
    /// Refused bytes within 10 s after which a connection is closed (1008).
    #[arg(long, env = "MEETBRIDGE_RATE_ABUSE_BYTES", default_value_t = defaults::RATE_ABUSE_BYTES)]
    pub rate_abuse_bytes: u64,
    /// Relayed messages of each object kept in memory too (the newest part of its durable
    /// log), so resumes and history are served without reading the store.
    #[arg(long, env = "MEETBRIDGE_HISTORY_SIZE", default_value_t = defaults::HISTORY_SIZE)]
    pub history_size: usize,
    /// Seconds a relayed message stays in memory (the store keeps it per retention).
    #[arg(long, env = "MEETBRIDGE_HISTORY_AGE_SECS", default_value_t = defaults::HISTORY_AGE_SECS)]
    pub history_age_secs: u64,
    /// Bytes of encoded frames of each object kept in memory.
    #[arg(long, env = "MEETBRIDGE_HISTORY_BYTES", default_value_t = defaults::HISTORY_BYTES)]
    pub history_bytes: usize,
    /// Bytes of encoded frames all objects together keep in memory: past it, the object
    /// adding a frame drops its oldest ones, and what left memory is read from the store.
    /// 0: no bound but the per-object ones.
    #[arg(long, env = "MEETBRIDGE_HISTORY_TOTAL_BYTES", default_value_t = defaults::HISTORY_TOTAL_BYTES)]
    pub history_total_bytes: usize,
    /// Seconds an object's room stays in memory unused, with nobody present, before it is
    /// unloaded; its next use reads it back from the store (saved data, history, numbering,
    /// message ids). 0: rooms stay loaded.
    #[arg(long, env = "MEETBRIDGE_ROOM_IDLE_SECS", default_value_t = defaults::ROOM_IDLE_SECS)]
    pub room_idle_secs: u64,
    /// Seconds a connection that unsubscribed from an object may still broadcast, emit
    /// and save on it (its plugin hands its document over as it goes). 0: none.
    #[arg(long, env = "MEETBRIDGE_DEPARTURE_GRACE_SECS", default_value_t = defaults::DEPARTURE_GRACE_SECS)]
    pub departure_grace_secs: u64,
    /// Retention of each object's durable message log unless the object sets its own:
    /// at most this many messages...
    #[arg(long, env = "MEETBRIDGE_RETENTION_MESSAGES", default_value_t = defaults::RETENTION_MESSAGES)]
    pub retention_messages: u64,
    /// ...none older than this many seconds...
    #[arg(long, env = "MEETBRIDGE_RETENTION_AGE_SECS", default_value_t = defaults::RETENTION_AGE_SECS)]
    pub retention_age_secs: u64,
    /// ...and at most this many bytes of frames.
    #[arg(long, env = "MEETBRIDGE_RETENTION_BYTES", default_value_t = defaults::RETENTION_BYTES)]
    pub retention_bytes: u64,
    /// Seconds between passes of the background pruner (retention, expired message ids).
    #[arg(long, env = "MEETBRIDGE_PRUNE_INTERVAL_SECS", default_value_t = defaults::PRUNE_INTERVAL_SECS)]
    pub prune_interval_secs: u64,
    /// Message ids remembered per user on one object, so that a `plugin` frame sent
    /// again with the same `id` (a resend after a reconnect) is answered, not acted on
    /// twice. 0 turns idempotent sends off.
    #[arg(long, env = "MEETBRIDGE_DEDUP_IDS", default_value_t = defaults::DEDUP_IDS)]
    pub dedup_ids: usize,
    /// Seconds a message id is remembered.
    #[arg(long, env = "MEETBRIDGE_DEDUP_AGE_SECS", default_value_t = defaults::DEDUP_AGE_SECS)]
    pub dedup_age_secs: u64,
    /// Bytes of remembered save replies (and ids) per user on one object.
    #[arg(long, env = "MEETBRIDGE_DEDUP_BYTES", default_value_t = defaults::DEDUP_BYTES)]
    pub dedup_bytes: usize,
    /// Frames queued towards one connection before it is dropped as too slow (it can
    /// reconnect and recover from the history).
    #[arg(long, env = "MEETBRIDGE_SEND_QUEUE", default_value_t = defaults::SEND_QUEUE)]
    pub send_queue: usize,
    /// Bytes of live frames queued towards one connection before it is dropped as too
    /// slow (replayed history frames are not counted: the history holds them anyway).
    #[arg(long, env = "MEETBRIDGE_SEND_QUEUE_BYTES", default_value_t = defaults::SEND_QUEUE_BYTES)]
    pub send_queue_bytes: usize,
    /// Milliseconds a busy connection waits after a write before the next one, so that
    /// frames arriving meanwhile go out in one write. A connection that has not written
    /// in this long writes at once, so quiet traffic is not delayed. 0 turns it off.
    #[arg(long, env = "MEETBRIDGE_COALESCE_MS", default_value_t = defaults::COALESCE_MS)]
    pub coalesce_ms: u64,
    /// Seconds between WebSocket pings to a connection; one that sends nothing (not even
    /// the pong) for a whole period after a ping is closed as dead. 0 turns pings off.
    #[arg(long, env = "MEETBRIDGE_WS_PING_SECS", default_value_t = defaults::WS_PING_SECS)]
    pub ws_ping_secs: u64,
    /// Seconds between returns of freed memory to the system (glibc `malloc_trim`), so
    /// the RSS comes back down after a burst. 0 turns it off.
    #[arg(long, env = "MEETBRIDGE_TRIM_MEMORY_SECS", default_value_t = defaults::TRIM_MEMORY_SECS)]
    pub trim_memory_secs: u64,
    /// Objects one space may hold (static and dynamic; the floor object not counted).
    /// Creating one more is refused with `quota_exceeded`.
    #[arg(long, env = "MEETBRIDGE_MAX_OBJECTS_PER_SPACE", default_value_t = defaults::MAX_OBJECTS_PER_SPACE)]
    pub max_objects_per_space: usize,
    /// Dynamic objects (meetings) one participant may have created in one space through
    /// the participant API. Creating one more is refused with `quota_exceeded`.
    #[arg(long, env = "MEETBRIDGE_MAX_DYNAMIC_PER_PARTICIPANT", default_value_t = defaults::MAX_DYNAMIC_PER_PARTICIPANT)]
    pub max_dynamic_per_participant: usize,
}

impl LimitsConfig {
    /// The rate rule of one connection.
    pub fn rate_rule(&self) -> crate::rate::RateRule {
        crate::rate::RateRule {
            frames_per_second: self.max_frames_per_second,
            burst_frames: self.rate_burst,
            bytes_per_second: self.max_bytes_per_second,
            burst_bytes: self.rate_burst_bytes,
            abuse_frames: self.rate_abuse_frames,
            abuse_bytes: self.rate_abuse_bytes,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        use defaults::*;
        LimitsConfig {
            max_frames_per_second: MAX_FRAMES_PER_SECOND,
            rate_burst: RATE_BURST,
            max_bytes_per_second: MAX_BYTES_PER_SECOND,
            rate_burst_bytes: RATE_BURST_BYTES,
            rate_abuse_frames: RATE_ABUSE_FRAMES,
            rate_abuse_bytes: RATE_ABUSE_BYTES,
            history_size: HISTORY_SIZE,
            history_age_secs: HISTORY_AGE_SECS,
            history_bytes: HISTORY_BYTES,
            history_total_bytes: HISTORY_TOTAL_BYTES,
            room_idle_secs: ROOM_IDLE_SECS,
            departure_grace_secs: DEPARTURE_GRACE_SECS,
            retention_messages: RETENTION_MESSAGES,
            retention_age_secs: RETENTION_AGE_SECS,
            retention_bytes: RETENTION_BYTES,
            prune_interval_secs: PRUNE_INTERVAL_SECS,
            dedup_ids: DEDUP_IDS,
            dedup_age_secs: DEDUP_AGE_SECS,
            dedup_bytes: DEDUP_BYTES,
            send_queue: SEND_QUEUE,
            send_queue_bytes: SEND_QUEUE_BYTES,
            coalesce_ms: COALESCE_MS,
            ws_ping_secs: WS_PING_SECS,
            trim_memory_secs: TRIM_MEMORY_SECS,
            max_objects_per_space: MAX_OBJECTS_PER_SPACE,
            max_dynamic_per_participant: MAX_DYNAMIC_PER_PARTICIPANT,
        }
    }
}

/// The limits of the HTTP side (see [`crate::listener`]).
#[derive(Debug, Clone, Args)]
pub struct ConnectionLimits {
    /// Open TCP connections at most (WebSockets included). 0: the open-file limit less
    /// 128 (kept for the database, static files and logs).
    #[arg(long, env = "MEETBRIDGE_MAX_CONNECTIONS", default_value_t = defaults::MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Places under `--max-connections` kept for `/healthz`, `/metrics` and the admin API.
    #[arg(long, env = "MEETBRIDGE_CONNECTION_RESERVE", default_value_t = defaults::CONNECTION_RESERVE)]
    pub connection_reserve: usize,
    /// Open connections from one source address at most (0: no limit). Raise it for many
    /// users behind one NAT.
    #[arg(long, env = "MEETBRIDGE_MAX_CONNECTIONS_PER_IP", default_value_t = defaults::MAX_CONNECTIONS_PER_IP)]
    pub max_connections_per_ip: usize,
    /// Seconds a client has to send a request's headers, counted from the connection's
    /// start or from the end of its previous request: an idle kept-alive connection, or
    /// one that never sends, is closed after this long.
    #[arg(long, env = "MEETBRIDGE_HEADER_READ_TIMEOUT_SECS", default_value_t = defaults::HEADER_READ_TIMEOUT_SECS)]
    pub header_read_timeout_secs: u64,
    /// Seconds a whole HTTP request (body included) may take before 408; WebSockets are
    /// not bound by it once upgraded.
    #[arg(long, env = "MEETBRIDGE_REQUEST_TIMEOUT_SECS", default_value_t = defaults::REQUEST_TIMEOUT_SECS)]
    pub request_timeout_secs: u64,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        use defaults::*;
        ConnectionLimits {
            max_connections: MAX_CONNECTIONS,
            connection_reserve: CONNECTION_RESERVE,
            max_connections_per_ip: MAX_CONNECTIONS_PER_IP,
            header_read_timeout_secs: HEADER_READ_TIMEOUT_SECS,
            request_timeout_secs: REQUEST_TIMEOUT_SECS,
        }
    }
}

impl ServeConfig {
    /// A configuration for tests and the bench: loopback, port 0, given data dir, no web.
    pub fn for_tests(data_dir: PathBuf) -> Self {
        ServeConfig {
            listen: "127.0.0.1:0".parse().expect("literal address"),
            data: DataConfig {
                data_dir,
                token_secret: Some("test-secret".into()),
                sqlite_sync: SqliteSync::Normal,
                store: "sqlite".into(),
                pg_schema: "meetbridge".into(),
            },
            admin_key: Some("test-admin-key".into()),
            limits: LimitsConfig::default(),
            connections: ConnectionLimits::default(),
            allowed_origins: Vec::new(),
            ws_urls: Vec::new(),
            metrics_key: None,
            metrics_listen: None,
            identity: IdentityConfig::default(),
            cluster: ClusterConfig::default(),
            web_dir: PathBuf::from(defaults::WEB_DIR),
            webapp3_dir: PathBuf::from(defaults::WEBAPP3_DIR),
            demo: false,
            demo_seed: None,
            print_addr: false,
        }
    }
}
