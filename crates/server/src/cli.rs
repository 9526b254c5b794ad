//! The command line: `meetbridge serve` and the offline commands on a data dir,
//! `meetbridge token`, `meetbridge space`, `meetbridge object`. The offline commands do
//! what the admin API does, without a running server (SQLite lets them write while a
//! server runs; the server finds objects added this way on first use).

use clap::{Args, Parser, Subcommand};
use meetbridge_protocol::ovice::ObjectType;

use crate::auth::revocation::Revocations;
use crate::auth::secret_in;
use crate::auth::token::{now_secs, TokenConfig, TokenRequest, Tokens};
use crate::config::{DataConfig, ServeConfig};
use crate::store::{ObjectDef, ObjectSettings, Revocation, RevocationKind, SpaceDef, Store};
use meetbridge_protocol::plugin_url::{check_plugin_url, PluginUrlPolicy};

/// The meetbridge platform server.
#[derive(Debug, Parser)]
#[command(name = "meetbridge", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once at start: the size of the `serve` settings does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the server: WebSocket, admin API, static files.
    Serve(ServeConfig),
    /// Issues or checks participant tokens offline (reads the secret from the data dir).
    Token(TokenCmd),
    /// Creates or lists spaces offline, in the data dir's database.
    Space(SpaceCmd),
    /// Creates or lists objects offline, in the data dir's database.
    Object(ObjectCmd),
}

#[derive(Debug, Args)]
pub struct TokenCmd {
    #[command(flatten)]
    pub data: DataConfig,
    #[command(subcommand)]
    pub action: TokenAction,
}

#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Prints a signed participant token (just the token, for scripts; `--json` for more).
    Issue {
        #[command(flatten)]
        request: TokenRequest,
        /// Print `{token, claims}` as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Checks a token (against the shared secret and the revocations) and prints its claims.
    Verify { token: String },
    /// Revokes one token (`--jti`) or every token of a user issued until now (`--sub`);
    /// a running server closes their sockets within seconds.
    Revoke {
        #[arg(long, conflicts_with = "sub", required_unless_present = "sub")]
        jti: Option<String>,
        #[arg(long)]
        sub: Option<String>,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Lists revocations as JSON lines.
    Revocations,
}

#[derive(Debug, Args)]
pub struct SpaceCmd {
    #[command(flatten)]
    pub data: DataConfig,
    #[command(subcommand)]
    pub action: SpaceAction,
}

#[derive(Debug, Subcommand)]
pub enum SpaceAction {
    Create {
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
    },
    List,
}

#[derive(Debug, Args)]
pub struct ObjectCmd {
    #[command(flatten)]
    pub data: DataConfig,
    #[command(subcommand)]
    pub action: ObjectAction,
}

#[derive(Debug, Subcommand)]
pub enum ObjectAction {
    Create {
        #[arg(long)]
        space: String,
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: Option<String>,
        /// `static` or `dynamic`.
        #[arg(long = "type", default_value = "static", value_parser = parse_type)]
        object_type: ObjectType,
        #[arg(long)]
        plugin_url: String,
        /// Give participants' e-mail addresses to the plugin.
        #[arg(long)]
        share_email: bool,
        /// Creator (host) of a dynamic object: a user id.
        #[arg(long)]
        creator: Option<String>,
        #[command(flatten)]
        retention: RetentionArgs,
    },
    /// Sets how much of an object's message history is kept (unset parts: the server's
    /// defaults); a running server applies it from its next restart of the object.
    Retention {
        #[arg(long)]
        id: String,
        #[command(flatten)]
        retention: RetentionArgs,
    },
    /// Lists objects (of one space with `--space`) as JSON lines.
    List {
        #[arg(long)]
        space: Option<String>,
    },
}

fn parse_type(s: &str) -> Result<ObjectType, String> {
    match s {
        "static" => Ok(ObjectType::Static),
        "dynamic" => Ok(ObjectType::Dynamic),
        _ => Err("`static` or `dynamic`".into()),
    }
}

/// The server's own tokens, as `serve` makes them with the same data dir (HS256 only).
fn tokens(data: &DataConfig, revoked: Vec<Revocation>) -> anyhow::Result<Tokens> {
    let secret = secret_in(&data.data_dir, "token-secret", data.token_secret.as_deref())?;
    Ok(Tokens::new(
        TokenConfig {
            hs256_secret: secret,
            ..Default::default()
        },
        std::sync::Arc::new(Revocations::new(revoked)),
    ))
}

fn store(data: &DataConfig) -> anyhow::Result<std::sync::Arc<dyn Store>> {
    data.open_store()
}

pub fn token(cmd: TokenCmd) -> anyhow::Result<()> {
    match cmd.action {
        TokenAction::Issue { request, json } => {
            let issued = tokens(&cmd.data, vec![])?
                .mint(&request)
                .map_err(anyhow::Error::msg)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&issued)?);
            } else {
                println!("{}", issued.token);
            }
        }
        TokenAction::Verify { token } => {
            let revoked = store(&cmd.data)?.revocations()?;
            let tokens = tokens(&cmd.data, revoked)?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let claims = runtime.block_on(tokens.verify(&token))?;
            println!("{}", serde_json::to_string_pretty(&claims)?);
        }
        TokenAction::Revoke { jti, sub, reason } => {
            let (kind, value) = match (jti, sub) {
                (Some(jti), _) => (RevocationKind::Jti, jti),
                (None, Some(sub)) => (RevocationKind::Sub, sub),
                (None, None) => anyhow::bail!("give --jti or --sub"),
            };
            let revocation = Revocation {
                kind,
                value,
                at: now_secs(),
                reason,
            };
            store(&cmd.data)?.revoke(&revocation)?;
            println!("{}", serde_json::to_string(&revocation)?);
        }
        TokenAction::Revocations => {
            for r in store(&cmd.data)?.revocations()? {
                println!("{}", serde_json::to_string(&r)?);
            }
        }
    }
    Ok(())
}

pub fn space(cmd: SpaceCmd) -> anyhow::Result<()> {
    let store = store(&cmd.data)?;
    match cmd.action {
        SpaceAction::Create { id, name } => {
            let space = SpaceDef {
                id,
                name,
                created_at: now_secs(),
                settings: Default::default(),
            };
            store.create_space(&space)?;
            println!("{}", serde_json::to_string(&space)?);
        }
        SpaceAction::List => {
            for space in store.spaces()? {
                println!("{}", serde_json::to_string(&space)?);
            }
        }
    }
    Ok(())
}

pub fn object(cmd: ObjectCmd) -> anyhow::Result<()> {
    let store = store(&cmd.data)?;
    match cmd.action {
        ObjectAction::Create {
            space,
            id,
            name,
            object_type,
            plugin_url,
            share_email,
            creator,
            retention,
        } => {
            // The same checks as the admin API: the space exists, and its plugin origin
            // allow-list applies.
            let Some(space_def) = store.space(&space)? else {
                anyhow::bail!("no space `{space}`");
            };
            let policy = PluginUrlPolicy {
                allowed_origins: &space_def.settings.plugin_origins,
                ..PluginUrlPolicy::default()
            };
            check_plugin_url("--plugin-url", &plugin_url, &policy).map_err(anyhow::Error::msg)?;
            let def = ObjectDef {
                name: name.unwrap_or_else(|| id.clone()),
                id,
                space_id: space,
                object_type,
                plugin_url,
                settings: ObjectSettings {
                    share_email,
                    retention: retention.into_retention(),
                    ..ObjectSettings::default()
                },
                creator,
                created_at: now_secs(),
                position: None,
            };
            store.create_object(&def)?;
            println!("{}", serde_json::to_string(&def)?);
        }
        ObjectAction::Retention { id, retention } => {
            let Some(mut def) = store.object(&id)? else {
                anyhow::bail!("no object `{id}`");
            };
            def.settings.retention = retention.into_retention();
            store.update_settings(&id, &def.settings)?;
            println!("{}", serde_json::to_string(&def)?);
        }
        ObjectAction::List { space } => {
            for def in store.objects(space.as_deref())? {
                println!("{}", serde_json::to_string(&def)?);
            }
        }
    }
    Ok(())
}

/// An object's retention on the command line: each bound optional (the server's default).
#[derive(Debug, Clone, clap::Args)]
pub struct RetentionArgs {
    /// Keep at most this many messages of the object's history.
    #[arg(long)]
    retention_messages: Option<u64>,
    /// Keep no message older than this many seconds.
    #[arg(long)]
    retention_age_secs: Option<u64>,
    /// Keep at most this many bytes of messages.
    #[arg(long)]
    retention_bytes: Option<u64>,
}

impl RetentionArgs {
    fn into_retention(self) -> Option<crate::store::Retention> {
        let r = crate::store::Retention {
            max_messages: self.retention_messages,
            max_age_secs: self.retention_age_secs,
            max_bytes: self.retention_bytes,
        };
        (r != crate::store::Retention::default()).then_some(r)
    }
}
