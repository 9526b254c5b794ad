//! Command line and environment configuration (clap). Every server setting can be given as
//! a flag or as a `MEETBRIDGE_*` variable, so `make run`, CI and containers configure it
//! the same way.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The meetbridge platform server.
#[derive(Debug, Parser)]
#[command(name = "meetbridge", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the server: WebSocket, admin API, static files.
    Serve(ServeConfig),
    /// Issues or checks participant tokens offline (reads the secret from the data dir).
    Token(crate::cli::TokenCmd),
    /// Creates or lists spaces offline, in the data dir's database.
    Space(crate::cli::SpaceCmd),
    /// Creates or lists objects offline, in the data dir's database.
    Object(crate::cli::ObjectCmd),
    /// Measures fan-out, durable saves and memory per idle connection on loopback.
    Bench(crate::bench::BenchConfig),
}

/// Where the data lives and how tokens are signed: shared by `serve` and the offline commands.
#[derive(Debug, Clone, Args)]
pub struct DataConfig {
    /// Directory of the SQLite database (and of the generated token secret).
    #[arg(
        long,
        env = "MEETBRIDGE_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// Secret that signs participant tokens. When absent, one is generated once and kept
    /// in `<data-dir>/token-secret`, so the CLI and the server agree.
    #[arg(
        long,
        env = "MEETBRIDGE_TOKEN_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub token_secret: Option<String>,
    /// How SQLite syncs a commit. `full` (default): an acknowledged save survives power
    /// loss. `normal`: survives a crash of the process but not of the machine.
    #[arg(long, env = "MEETBRIDGE_SQLITE_SYNC", value_enum, default_value_t = SqliteSync::Full, global = true)]
    pub sqlite_sync: SqliteSync,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SqliteSync {
    Full,
    Normal,
}

#[derive(Debug, Clone, Parser)]
pub struct ServeConfig {
    /// Address to listen on (port 0 picks a free one; the bound address is logged and printed).
    #[arg(long, env = "MEETBRIDGE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub data: DataConfig,
    /// Key that guards /api/admin (as `Authorization: Bearer <key>` or `X-Admin-Key`).
    /// When absent, one is generated once and kept in `<data-dir>/admin-key`.
    #[arg(long, env = "MEETBRIDGE_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<String>,
    #[command(flatten)]
    pub limits: LimitsConfig,
    /// Static files of the browser side (demo pages, plugins, SDK), served at `/`.
    #[arg(long, env = "MEETBRIDGE_WEB_DIR", default_value = "web/dist")]
    pub web_dir: PathBuf,
    /// The Web App 3 branding folder with the built external-chat plugin, served at `/webapp3/`.
    #[arg(long, env = "MEETBRIDGE_WEBAPP3_DIR", default_value = "webapp3")]
    pub webapp3_dir: PathBuf,
    /// Demo mode: seeds the demo space and enables the dev-only login (`POST /api/dev/login`).
    /// Never on a server reachable by others.
    #[arg(long, env = "MEETBRIDGE_DEMO")]
    pub demo: bool,
    /// JSON file describing the demo space and objects (see README); default: built-in seed.
    #[arg(long, env = "MEETBRIDGE_DEMO_SEED")]
    pub demo_seed: Option<PathBuf>,
    /// Prints `listening on <addr>` on stdout once bound (used by `meetbridge bench`).
    #[arg(long, hide = true)]
    pub print_addr: bool,
}

/// Limits and windows. Defaults fit real plugins; the bench raises the rate limit.
#[derive(Debug, Clone, Args)]
pub struct LimitsConfig {
    /// Frames per second one connection may send (token bucket, see `--rate-burst`).
    #[arg(long, env = "MEETBRIDGE_MAX_FRAMES_PER_SECOND", default_value_t = 200)]
    pub max_frames_per_second: u32,
    /// Frames a connection may send at once before the per-second rate applies.
    #[arg(long, env = "MEETBRIDGE_RATE_BURST", default_value_t = 400)]
    pub rate_burst: u32,
    /// Relayed messages kept per object for reconnect recovery.
    #[arg(long, env = "MEETBRIDGE_HISTORY_SIZE", default_value_t = 1000)]
    pub history_size: usize,
    /// Seconds a relayed message stays replayable.
    #[arg(long, env = "MEETBRIDGE_HISTORY_AGE_SECS", default_value_t = 600)]
    pub history_age_secs: u64,
    /// Bytes of encoded frames kept per object's history (the oldest go first).
    #[arg(long, env = "MEETBRIDGE_HISTORY_BYTES", default_value_t = 16 * 1024 * 1024)]
    pub history_bytes: usize,
    /// Message ids remembered per user on one object, so that a `plugin` frame sent
    /// again with the same `id` (a resend after a reconnect) is answered, not acted on
    /// twice. 0 turns idempotent sends off.
    #[arg(long, env = "MEETBRIDGE_DEDUP_IDS", default_value_t = 256)]
    pub dedup_ids: usize,
    /// Seconds a message id is remembered.
    #[arg(long, env = "MEETBRIDGE_DEDUP_AGE_SECS", default_value_t = 600)]
    pub dedup_age_secs: u64,
    /// Bytes of remembered save replies (and ids) per user on one object.
    #[arg(long, env = "MEETBRIDGE_DEDUP_BYTES", default_value_t = 2 * 1024 * 1024)]
    pub dedup_bytes: usize,
    /// Frames queued towards one connection before it is dropped as too slow (it can
    /// reconnect and recover from the history).
    #[arg(long, env = "MEETBRIDGE_SEND_QUEUE", default_value_t = 4096)]
    pub send_queue: usize,
    /// Milliseconds a busy connection waits after a write before the next one, so that
    /// frames arriving meanwhile go out in one write. A connection that has not written
    /// in this long writes at once, so quiet traffic is not delayed. 0 turns it off.
    #[arg(long, env = "MEETBRIDGE_COALESCE_MS", default_value_t = 10)]
    pub coalesce_ms: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_frames_per_second: 200,
            rate_burst: 400,
            history_size: 1000,
            history_age_secs: 600,
            history_bytes: 16 * 1024 * 1024,
            dedup_ids: 256,
            dedup_age_secs: 600,
            dedup_bytes: 2 * 1024 * 1024,
            send_queue: 4096,
            coalesce_ms: 10,
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
            },
            admin_key: Some("test-admin-key".into()),
            limits: LimitsConfig::default(),
            web_dir: PathBuf::from("web/dist"),
            webapp3_dir: PathBuf::from("webapp3"),
            demo: false,
            demo_seed: None,
            print_addr: false,
        }
    }
}
