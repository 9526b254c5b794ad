//! The PostgreSQL store, shared by the nodes of a cluster.
//!
//! The store runs its own small tokio runtime on a thread of its own, so its blocking
//! methods can be called from anywhere (a `spawn_blocking` thread, startup, a test) and
//! the server's runtime never waits on a database round trip. Appends and saves go to one
//! writer task that commits whatever is queued in one transaction (group commit; log rows
//! and ids in one multi-row statement each) and then runs the callbacks in order. Reads go
//! through a connection pool. Migrations run at start under an advisory lock, so nodes
//! starting together do not race.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio::sync::mpsc;
use tokio_postgres::NoTls;

use crate::model::{backend, object_type_from, object_type_str};
use crate::{
    position_columns, position_from, sql_int, AppendDone, LogEntry, LogPage, LogQuery, ObjectDef,
    ObjectQuota, ObjectRemoval, ObjectSettings, QuotaFull, RememberedId, RetentionLimits,
    Revocation, RevocationKind, Save, SaveDone, SavedDoc, SpaceDef, SpaceSettings, Store,
    StoreError, StoreResult, OBJECT_COLUMNS, SPACE_COLUMNS,
};

const MAX_BATCH: usize = 512;
/// How long a blocking call waits for the database before it reports a failure.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Schema versions, applied in order; `schema_version` says how far a database is.
const MIGRATIONS: &[&str] = &[
    // 1: everything.
    "CREATE TABLE spaces (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        ord BIGSERIAL
    );
    CREATE TABLE objects (
        id TEXT PRIMARY KEY,
        space_id TEXT NOT NULL REFERENCES spaces(id),
        name TEXT NOT NULL,
        object_type TEXT NOT NULL,
        plugin_url TEXT NOT NULL,
        settings TEXT NOT NULL,
        creator TEXT,
        created_at BIGINT NOT NULL,
        ord BIGSERIAL
    );
    CREATE TABLE object_data (
        object_id TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        updated_at BIGINT NOT NULL,
        version BIGINT NOT NULL
    );
    CREATE TABLE message_log (
        object_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        at_ms BIGINT NOT NULL,
        sender TEXT NOT NULL,
        recipient TEXT,
        bytes BIGINT NOT NULL,
        frame TEXT NOT NULL,
        PRIMARY KEY (object_id, seq)
    );
    CREATE TABLE object_seq (
        object_id TEXT PRIMARY KEY,
        last_seq BIGINT NOT NULL
    );
    CREATE TABLE message_ids (
        object_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        msg_id TEXT NOT NULL,
        seq BIGINT,
        reply TEXT,
        at_ms BIGINT NOT NULL,
        PRIMARY KEY (object_id, user_id, msg_id)
    );
    CREATE INDEX message_ids_at ON message_ids (at_ms);",
    // 2: revoked tokens and users.
    "CREATE TABLE revocations (
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        at BIGINT NOT NULL,
        reason TEXT NOT NULL,
        PRIMARY KEY (kind, value)
    );",
    // 3: space settings, object positions on the floor.
    "ALTER TABLE spaces ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE objects ADD COLUMN pos_x BIGINT;
    ALTER TABLE objects ADD COLUMN pos_y BIGINT;",
];

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
type Job = Box<dyn FnOnce(Pool) -> BoxFuture + Send>;

enum WriteOp {
    Save {
        object: String,
        save: Save,
        done: SaveDone,
    },
    Append {
        object: String,
        entry: LogEntry,
        id: Option<RememberedId>,
        done: AppendDone,
    },
}

pub struct PgStore {
    jobs: mpsc::UnboundedSender<Job>,
    writes: mpsc::UnboundedSender<WriteOp>,
    /// The URL without its password, for messages.
    shown: String,
}

/// `url` with any password replaced, fit for logs and error messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn valid_schema(schema: &str) -> bool {
    !schema.is_empty()
        && schema.len() <= 63
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !schema.starts_with(|c: char| c.is_ascii_digit())
}

impl PgStore {
    /// Connects to `url` (`postgres://USER@HOST:PORT/DB`), creates `schema` if needed,
    /// runs the migrations and starts the store's thread. Fails with a message naming the
    /// URL when the database does not answer.
    pub fn connect(url: &str, schema: &str) -> StoreResult<Self> {
        Self::open(url, schema, false)
    }

    /// [`PgStore::connect`] for the one node that numbers the schema's messages: it holds
    /// a lock on the schema for as long as it runs, so a second node on the same schema
    /// (which would hand out the same `seq` twice) is refused at start. A node that
    /// restarts waits up to 10 s for its predecessor's lock to go.
    pub fn connect_exclusive(url: &str, schema: &str) -> StoreResult<Self> {
        Self::open(url, schema, true)
    }

    fn open(url: &str, schema: &str, exclusive: bool) -> StoreResult<Self> {
        let shown = redact(url);
        if !valid_schema(schema) {
            return Err(StoreError::Backend(format!(
                "PostgreSQL schema `{schema}`: use lowercase letters, digits and _"
            )));
        }
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| {
            StoreError::Backend(format!("PostgreSQL URL {shown} is not valid: {e}"))
        })?;
        config.options(format!("-c search_path={schema}"));
        config.connect_timeout(Duration::from_secs(5));
        if config.get_application_name().is_none() {
            config.application_name("meetbridge");
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(backend)?;
        let lock_config = config.clone();
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(8)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(5)))
            .create_timeout(Some(Duration::from_secs(5)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(backend)?;
        let setup = {
            let pool = pool.clone();
            let schema = schema.to_owned();
            let shown = shown.clone();
            runtime.block_on(async move {
                migrate(&pool, &schema).await.map_err(|e| {
                    StoreError::Backend(format!(
                        "PostgreSQL at {shown} did not answer or refused the migration: {e} \
                         (check that it runs, that the URL's user, host, port and database are right, \
                         and that the user may create schema `{schema}`)"
                    ))
                })
            })
        };
        setup?;
        let lock = if exclusive {
            let schema = schema.to_owned();
            let shown = shown.clone();
            Some(
                runtime
                    .block_on(async move { lock_schema(&lock_config, &schema, &shown).await })?,
            )
        } else {
            None
        };
        let (jobs, mut job_rx) = mpsc::unbounded_channel::<Job>();
        let (writes, write_rx) = mpsc::unbounded_channel::<WriteOp>();
        std::thread::Builder::new()
            .name("postgres-store".into())
            .spawn(move || {
                runtime.block_on(async move {
                    // Held (with its connection) until the store goes.
                    let _lock = lock;
                    tokio::spawn(writer_loop(pool.clone(), write_rx));
                    while let Some(job) = job_rx.recv().await {
                        tokio::spawn(job(pool.clone()));
                    }
                });
            })
            .map_err(backend)?;
        Ok(PgStore {
            jobs,
            writes,
            shown,
        })
    }

    /// Runs `f` on the store's runtime and waits for its result.
    fn call<T, F, Fut>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(Pool) -> Fut + Send + 'static,
        Fut: Future<Output = StoreResult<T>> + Send + 'static,
    {
        let (tx, rx) = std_mpsc::sync_channel(1);
        let job: Job = Box::new(move |pool| {
            Box::pin(async move {
                let _ = tx.send(f(pool).await);
            })
        });
        if self.jobs.send(job).is_err() {
            return Err(StoreError::Backend("store closed".into()));
        }
        match rx.recv_timeout(CALL_TIMEOUT) {
            Ok(result) => result,
            Err(_) => Err(StoreError::Backend(format!(
                "PostgreSQL at {} did not answer within {} s",
                self.shown,
                CALL_TIMEOUT.as_secs()
            ))),
        }
    }
}

/// Takes the session-level lock of `schema` on a connection of its own, retrying for 10 s.
async fn lock_schema(
    config: &tokio_postgres::Config,
    schema: &str,
    shown: &str,
) -> StoreResult<tokio_postgres::Client> {
    let (client, conn) = config
        .connect(NoTls)
        .await
        .map_err(|e| StoreError::Backend(format!("PostgreSQL at {shown} did not answer: {e}")))?;
    tokio::spawn(conn);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let row = client
            .query_one(
                "SELECT pg_try_advisory_lock(hashtextextended($1, 7262531002))",
                &[&schema],
            )
            .await
            .map_err(pg)?;
        if row.get::<_, bool>(0) {
            return Ok(client);
        }
        if tokio::time::Instant::now() > deadline {
            return Err(StoreError::Backend(format!(
                "another meetbridge node uses schema `{schema}` at {shown}: one node per schema \
                 (several nodes need the NATS broker, see docs/CLUSTER.md), or give this one \
                 --pg-schema of its own"
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn pg(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

async fn migrate(pool: &Pool, schema: &str) -> Result<(), String> {
    let mut client = pool.get().await.map_err(|e| e.to_string())?;
    client
        .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .await
        .or_else(|e| {
            // Two nodes creating the schema at once: the loser sees a duplicate.
            if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
                Ok(())
            } else {
                Err(e)
            }
        })
        .map_err(|e| e.to_string())?;
    let tx = client.transaction().await.map_err(|e| e.to_string())?;
    tx.batch_execute(
        "SELECT pg_advisory_xact_lock(7262531001);
         CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
    )
    .await
    .map_err(|e| e.to_string())?;
    let at: i32 = tx
        .query_opt("SELECT version FROM schema_version", &[])
        .await
        .map_err(|e| e.to_string())?
        .map(|r| r.get(0))
        .unwrap_or(0);
    for sql in MIGRATIONS.iter().skip(at as usize) {
        tx.batch_execute(sql).await.map_err(|e| e.to_string())?;
    }
    tx.execute("DELETE FROM schema_version", &[])
        .await
        .map_err(|e| e.to_string())?;
    tx.execute(
        "INSERT INTO schema_version (version) VALUES ($1)",
        &[&(MIGRATIONS.len() as i32).max(at)],
    )
    .await
    .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())
}

type Finish = Box<dyn FnOnce(StoreResult<u64>) + Send>;

async fn writer_loop(pool: Pool, mut rx: mpsc::UnboundedReceiver<WriteOp>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        // The callbacks are not `Sync`: keep them apart while the batch is written.
        let mut ops = Vec::with_capacity(batch.len());
        let mut dones: Vec<Finish> = Vec::with_capacity(batch.len());
        for op in batch {
            match op {
                WriteOp::Save { object, save, done } => {
                    ops.push(Write::Save { object, save });
                    dones.push(done);
                }
                WriteOp::Append {
                    object,
                    entry,
                    id,
                    done,
                } => {
                    ops.push(Write::Append { object, entry, id });
                    dones.push(Box::new(move |r| done(r.map(|_| ()))));
                }
            }
        }
        let results = match commit_batch(&pool, &ops).await {
            Ok(versions) => versions.into_iter().map(Ok).collect::<Vec<_>>(),
            Err(e) => vec![Err(e); ops.len()],
        };
        for (done, result) in dones.into_iter().zip(results) {
            done(result);
        }
    }
}

/// A queued write without its callback.
enum Write {
    Save {
        object: String,
        save: Save,
    },
    Append {
        object: String,
        entry: LogEntry,
        id: Option<RememberedId>,
    },
}

/// Commits one batch in one transaction; returns each operation's save version (0 for
/// appends), in order.
async fn commit_batch(pool: &Pool, batch: &[Write]) -> StoreResult<Vec<u64>> {
    let mut client = pool.get().await.map_err(pg)?;
    let tx = client.transaction().await.map_err(pg)?;
    let mut log: Vec<(&str, &LogEntry)> = Vec::new();
    let mut ids: Vec<(&str, &RememberedId)> = Vec::new();
    let mut versions = Vec::with_capacity(batch.len());
    for op in batch {
        match op {
            Write::Save { object, save } => {
                let version = match save.at_version {
                    None => tx
                        .query_one(
                            "INSERT INTO object_data (object_id, data, updated_at, version) VALUES ($1, $2, $3, 1)
                             ON CONFLICT (object_id) DO UPDATE SET data = excluded.data,
                                 updated_at = excluded.updated_at, version = object_data.version + 1
                             RETURNING version",
                            &[object, &save.json, &save.updated_at],
                        )
                        .await
                        .map_err(pg)?
                        .get::<_, i64>(0) as u64,
                    Some(v) => {
                        tx.execute(
                            "INSERT INTO object_data (object_id, data, updated_at, version) VALUES ($1, $2, $3, $4)
                             ON CONFLICT (object_id) DO UPDATE SET data = excluded.data,
                                 updated_at = excluded.updated_at, version = excluded.version
                             WHERE object_data.version < excluded.version",
                            &[object, &save.json, &save.updated_at, &sql_int(v)],
                        )
                        .await
                        .map_err(pg)?;
                        v
                    }
                };
                versions.push(version);
                if let Some(entry) = &save.log {
                    log.push((object, entry));
                }
                if let Some(id) = &save.id {
                    ids.push((object, id));
                }
            }
            Write::Append { object, entry, id } => {
                versions.push(0);
                log.push((object, entry));
                if let Some(id) = id {
                    ids.push((object, id));
                }
            }
        }
    }
    if !log.is_empty() {
        let objects: Vec<&str> = log.iter().map(|(o, _)| *o).collect();
        let seqs: Vec<i64> = log.iter().map(|(_, e)| e.seq as i64).collect();
        let ats: Vec<i64> = log.iter().map(|(_, e)| e.at_ms).collect();
        let senders: Vec<&str> = log.iter().map(|(_, e)| e.sender.as_str()).collect();
        let tos: Vec<Option<&str>> = log.iter().map(|(_, e)| e.to.as_deref()).collect();
        let bytes: Vec<i64> = log.iter().map(|(_, e)| e.frame.len() as i64).collect();
        let frames: Vec<&str> = log.iter().map(|(_, e)| e.frame.as_str()).collect();
        tx.execute(
            "INSERT INTO message_log (object_id, seq, at_ms, sender, recipient, bytes, frame)
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::text[])
             ON CONFLICT DO NOTHING",
            &[&objects, &seqs, &ats, &senders, &tos, &bytes, &frames],
        )
        .await
        .map_err(pg)?;
        let mut last: HashMap<&str, i64> = HashMap::new();
        for (o, e) in &log {
            let s = last.entry(o).or_insert(0);
            *s = (*s).max(e.seq as i64);
        }
        let (objects, seqs): (Vec<&str>, Vec<i64>) = last.into_iter().unzip();
        tx.execute(
            "INSERT INTO object_seq (object_id, last_seq) SELECT * FROM unnest($1::text[], $2::bigint[])
             ON CONFLICT (object_id) DO UPDATE SET last_seq = GREATEST(object_seq.last_seq, excluded.last_seq)",
            &[&objects, &seqs],
        )
        .await
        .map_err(pg)?;
    }
    if !ids.is_empty() {
        let objects: Vec<&str> = ids.iter().map(|(o, _)| *o).collect();
        let users: Vec<&str> = ids.iter().map(|(_, i)| i.user.as_str()).collect();
        let msg_ids: Vec<&str> = ids.iter().map(|(_, i)| i.id.as_str()).collect();
        let seqs: Vec<Option<i64>> = ids.iter().map(|(_, i)| i.seq.map(|s| s as i64)).collect();
        let replies: Vec<Option<&str>> = ids.iter().map(|(_, i)| i.reply.as_deref()).collect();
        let ats: Vec<i64> = ids.iter().map(|(_, i)| i.at_ms).collect();
        tx.execute(
            "INSERT INTO message_ids (object_id, user_id, msg_id, seq, reply, at_ms)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::bigint[])
             ON CONFLICT DO NOTHING",
            &[&objects, &users, &msg_ids, &seqs, &replies, &ats],
        )
        .await
        .map_err(pg)?;
    }
    tx.commit().await.map_err(pg)?;
    Ok(versions)
}

/// Inserts a new object's row (`Conflict` when the id is taken, `Missing` without its space).
async fn insert_object(
    client: &impl deadpool_postgres::GenericClient,
    o: &ObjectDef,
) -> StoreResult<()> {
    let settings = serde_json::to_string(&o.settings).map_err(backend)?;
    let (x, y) = position_columns(o.position);
    client
        .execute(
            "INSERT INTO objects (id, space_id, name, object_type, plugin_url, settings, creator, created_at, pos_x, pos_y)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &o.id,
                &o.space_id,
                &o.name,
                &object_type_str(o.object_type),
                &o.plugin_url,
                &settings,
                &o.creator,
                &o.created_at,
                &x,
                &y,
            ],
        )
        .await
        .map(|_| ())
        .map_err(|e| conflict_or_backend(e, &format!("object {}", o.id)))
}

fn conflict_or_backend(e: tokio_postgres::Error, what: &str) -> StoreError {
    use tokio_postgres::error::SqlState;
    match e.code() {
        Some(c) if *c == SqlState::UNIQUE_VIOLATION => StoreError::Conflict(what.to_owned()),
        Some(c) if *c == SqlState::FOREIGN_KEY_VIOLATION => {
            StoreError::Missing(format!("space of {what}"))
        }
        _ => pg(e),
    }
}

fn object_from_row(row: &tokio_postgres::Row) -> ObjectDef {
    let object_type: String = row.get(3);
    let settings: String = row.get(5);
    ObjectDef {
        id: row.get(0),
        space_id: row.get(1),
        name: row.get(2),
        object_type: object_type_from(&object_type),
        plugin_url: row.get(4),
        settings: serde_json::from_str::<ObjectSettings>(&settings).unwrap_or_default(),
        creator: row.get(6),
        created_at: row.get(7),
        position: position_from(row.get(8), row.get(9)),
    }
}

fn space_from_row(row: &tokio_postgres::Row) -> SpaceDef {
    let settings: String = row.get(3);
    SpaceDef {
        id: row.get(0),
        name: row.get(1),
        created_at: row.get(2),
        settings: serde_json::from_str::<SpaceSettings>(&settings).unwrap_or_default(),
    }
}

/// Deletes an object's row and everything it kept, inside `tx`.
async fn delete_object_in(
    tx: &deadpool_postgres::Transaction<'_>,
    id: &str,
) -> StoreResult<ObjectRemoval> {
    let gone = tx
        .execute("DELETE FROM objects WHERE id = $1", &[&id])
        .await
        .map_err(pg)?;
    if gone == 0 {
        return Err(StoreError::Missing(format!("object {id}")));
    }
    let log_entries = tx
        .execute("DELETE FROM message_log WHERE object_id = $1", &[&id])
        .await
        .map_err(pg)?;
    let saved = tx
        .execute("DELETE FROM object_data WHERE object_id = $1", &[&id])
        .await
        .map_err(pg)?;
    for table in ["object_seq", "message_ids"] {
        tx.execute(&format!("DELETE FROM {table} WHERE object_id = $1"), &[&id])
            .await
            .map_err(pg)?;
    }
    Ok(ObjectRemoval {
        log_entries,
        saved_data: saved > 0,
    })
}

impl Store for PgStore {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn check(&self) -> StoreResult<()> {
        self.call(|pool| async move {
            let client = pool.get().await.map_err(pg)?;
            client.simple_query("SELECT 1").await.map_err(pg)?;
            Ok(())
        })
    }

    fn create_space(&self, space: &SpaceDef) -> StoreResult<()> {
        let s = space.clone();
        let settings = serde_json::to_string(&s.settings).map_err(backend)?;
        self.call(move |pool| async move {
            let client = pool.get().await.map_err(pg)?;
            client
                .execute(
                    "INSERT INTO spaces (id, name, created_at, settings) VALUES ($1, $2, $3, $4)",
                    &[&s.id, &s.name, &s.created_at, &settings],
                )
                .await
                .map(|_| ())
                .map_err(|e| conflict_or_backend(e, &format!("space {}", s.id)))
        })
    }

    fn spaces(&self) -> StoreResult<Vec<SpaceDef>> {
        self.call(|pool| async move {
            let client = pool.get().await.map_err(pg)?;
            let rows = client
                .query(
                    &format!("SELECT {SPACE_COLUMNS} FROM spaces ORDER BY created_at, ord"),
                    &[],
                )
                .await
                .map_err(pg)?;
            Ok(rows.iter().map(space_from_row).collect())
        })
    }

    fn space(&self, id: &str) -> StoreResult<Option<SpaceDef>> {
        let id = id.to_owned();
        self.call(move |pool| async move {
            let client = pool.get().await.map_err(pg)?;
            let row = client
                .query_opt(
                    &format!("SELECT {SPACE_COLUMNS} FROM spaces WHERE id = $1"),
                    &[&id],
                )
                .await
                .map_err(pg)?;
            Ok(row.as_ref().map(space_from_row))
        })
    }

    fn update_space(&self, space: &SpaceDef) -> StoreResult<()> {
        let s = space.clone();
        let settings = serde_json::to_string(&s.settings).map_err(backend)?;
        self.call(move |pool| async move {
            let client = pool.get().await.map_err(pg)?;
            let n = client
                .execute(
                    "UPDATE spaces SET name = $2, settings = $3 WHERE id = $1",
                    &[&s.id, &s.name, &settings],
                )
                .await
                .map_err(pg)?;
            if n == 0 {
                return Err(StoreError::Missing(format!("space {}", s.id)));
            }
            Ok(())
        })
    }

    fn delete_space(&self, id: &str) -> StoreResult<Vec<String>> {
        let id = id.to_owned();
        self.call(move |pool| async move {
            let mut client = pool.get().await.map_err(pg)?;
            let tx = client.transaction().await.map_err(pg)?;
            let objects: Vec<String> = tx
                .query(
                    "SELECT id FROM objects WHERE space_id = $1 ORDER BY created_at, ord",
                    &[&id],
                )
                .await
                .map_err(pg)?
                .iter()
                .map(|r| r.get(0))
                .collect();
            for object in &objects {
                delete_object_in(&tx, object).await?;
            }
            let n = tx
                .execute("DELETE FROM spaces WHERE id = $1", &[&id])
                .await
                .map_err(pg)?;
            if n == 0 {
                return Err(StoreError::Missing(format!("space {id}")));
            }
            tx.commit().await.map_err(pg)?;
            Ok(objects)
        })
    }

    fn create_object(&self, object: &ObjectDef) -> StoreResult<()> {
        let o = object.clone();
        self.call(move |pool| async move {
            let client = pool.get().await.map_err(pg)?;
            insert_object(&client, &o).await
        })
    }

    fn create_object_within(
        &self,
        object: &ObjectDef,
        quota: &ObjectQuota,
    ) -> StoreResult<Result<(), QuotaFull>> {
        let o = object.clone();
        let quota = quota.clone();
        self.call(move |pool| async move {
            let mut client = pool.get().await.map_err(pg)?;
            let tx = client.transaction().await.map_err(pg)?;
            // One creation at a time per space (of this schema) on every server, until
            // this transaction ends: the counts below stay true until the insert commits.
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '.' || $1, 7262531003))",
                &[&o.space_id],
            )
            .await
            .map_err(pg)?;
            let in_space: i64 = tx
                .query_one(
                    "SELECT COUNT(*) FROM objects WHERE space_id = $1 AND plugin_url <> $2",
                    &[&o.space_id, &quota.uncounted_url],
                )
                .await
                .map_err(pg)?
                .get(0);
            let by_creator: i64 = match (&o.creator, quota.per_creator) {
                (Some(creator), Some(_)) => tx
                    .query_one(
                        "SELECT COUNT(*) FROM objects WHERE space_id = $1 AND object_type = 'dynamic' AND creator = $2",
                        &[&o.space_id, creator],
                    )
                    .await
                    .map_err(pg)?
                    .get(0),
                _ => 0,
            };
            if let Some(full) = quota.refusal(in_space as usize, by_creator as usize) {
                return Ok(Err(full));
            }
            insert_object(&tx, &o).await?;
            tx.commit().await.map_err(pg)?;
            Ok(Ok(()))
        })
    }

    fn update_settings(&self, object: &str, settings: &ObjectSettings) -> StoreResult<()> {
        let object = object.to_owned();
        let settings = serde_json::to_string(settings).map_err(backend)?;
        self.call(move |pool| async move {
            let client = pool.get().await.map_err(pg)?;
            let n = client
                .execute(
                    "UPDATE objects SET settings = $2 WHERE id = $1",
                    &[&object, &settings],
                )
                .await
                .map_err(pg)?;
            if n == 0 {
                return Err(StoreError::Missing(format!("object {object}")));
            }
            Ok(())
        })
    }

    fn update_object(&self, object: &ObjectDef) -> StoreResult<()> {
        let o = object.clone();
        let settings = serde_json::to_string(&o.settings).map_err(backend)?;
        self.call(move |pool| async move {
            let (x, y) = position_columns(o.position);
            let client = pool.get().await.map_err(pg)?;
            let n = client
                .execute(
                    "UPDATE objects SET name = $2, object_type = $3, plugin_url = $4, settings = $5,
                         creator = $6, pos_x = $7, pos_y = $8
                     WHERE id = $1",
                    &[
                        &o.id,
                        &o.name,
                        &object_type_str(o.object_type),
                        &o.plugin_url,
                        &settings,
                        &o.creator,
                        &x,
                        &y,
                    ],
                )
                .await
                .map_err(pg)?;
            if n == 0 {
                return Err(StoreError::Missing(format!("object {}", o.id)));
            }
            Ok(())
        })
    }

    fn delete_object(&self, id: &str) -> StoreResult<ObjectRemoval> {
        let id = id.to_owned();
        self.call(move |pool| async move {
            let mut client = pool.get().await.map_err(pg)?;
            let tx = client.transaction().await.map_err(pg)?;
            let removal = delete_object_in(&tx, &id).await?;
            tx.commit().await.map_err(pg)?;
            Ok(removal)
        })
    }

    fn objects(&self, space: Option<&str>) -> StoreResult<Vec<ObjectDef>> {
        let space = space.map(str::to_owned);
        self.call(move |pool| async move {
            let client = pool.get().await.map_err(pg)?;
            let rows = client
                .query(
                    &format!(
                        "SELECT {OBJECT_COLUMNS} FROM objects WHERE $1::text IS NULL OR space_id = $1
                         ORDER BY created_at, ord"
                    ),
                    &[&space],
                )
                .await
                .map_err(pg)?;
            Ok(rows.iter().map(object_from_row).collect())
        })
    }

    fn object(&self, id: &str) -> StoreResult<Option<ObjectDef>> {
        let id = id.to_owned();
        self.call(move |pool| async move {
            let client = pool.get().await.map_err(pg)?;
            let row = client
                .query_opt(
                    &format!("SELECT {OBJECT_COLUMNS} FROM objects WHERE id = $1"),
                    &[&id],
                )
                .await
                .map_err(pg)?;
            Ok(row.as_ref().map(object_from_row))
        })
    }

    fn load_data(&self, object: &str) -> StoreResult<Option<SavedDoc>> {
        let object = object.to_owned();
        self.call(move |pool| async move {
            let client = pool.get().await.map_err(pg)?;
            let row = client
                .query_opt(
                    "SELECT data, updated_at, version FROM object_data WHERE object_id = $1",
                    &[&object],
                )
                .await
                .map_err(pg)?;
            Ok(row.map(|r| SavedDoc {
                json: r.get(0),
                updated_at: r.get(1),
                version: r.get::<_, i64>(2) as u64,
            }))
        })
    }

    fn save_data(&self, object: &str, save: Save, done: SaveDone) {
        let op = WriteOp::Save {
            object: object.to_owned(),
            save,
            done,
        };
        if let Err(mpsc::error::SendError(WriteOp::Save { done, .. })) = self.writes.send(op) {
            done(Err(StoreError::Backend("store closed".into())));
        }
    }

    fn append(&self, object: &str, entry: LogEntry, id: Option<RememberedId>, done: AppendDone) {
        let op = WriteOp::Append {
            object: object.to_owned(),
            entry,
            id,
            done,
        };
        if let Err(mpsc::error::SendError(WriteOp::Append { done, .. })) = self.writes.send(op) {
            done(Err(StoreError::Backend("store closed".into())));
        }
    }

    fn log_bounds(&self, object: &str) -> StoreResult<Option<(u64, u64)>> {
        let object = object.to_owned();
        self.call(move |pool| async move {
            let client = pool.get().await.map_err(pg)?;
            let row = client
                .query_one(
                    "SELECT min(seq), max(seq) FROM message_log WHERE object_id = $1",
                    &[&object],
                )
                .await
                .map_err(pg)?;
            Ok(
                match (row.get::<_, Option<i64>>(0), row.get::<_, Option<i64>>(1)) {
                    (Some(a), Some(b)) => Some((a as u64, b as u64)),
                    _ => None,
                },
            )
        })
    }

    fn last_seq(&self, object: &str) -> StoreResult<u64> {
        let object = object.to_owned();
        self.call(move |pool| async move {
            let client = pool.get().await.map_err(pg)?;
            let row = client
                .query_opt(
                    "SELECT last_seq FROM object_seq WHERE object_id = $1",
                    &[&object],
                )
                .await
                .map_err(pg)?;
            Ok(row.map_or(0, |r| r.get::<_, i64>(0) as u64))
        })
    }

    fn read_log(&self, object: &str, q: &LogQuery) -> StoreResult<LogPage> {
        let object = object.to_owned();
        let q = q.clone();
        self.call(move |pool| async move {
            let order = if q.backward { "DESC" } else { "ASC" };
            let (viewer, own) = match &q.viewer {
                Some((u, own)) => (Some(u.clone()), *own),
                None => (None, false),
            };
            let client = pool.get().await.map_err(pg)?;
            let rows = client
                .query(
                    &format!(
                        "SELECT seq, at_ms, sender, recipient, frame FROM message_log
                         WHERE object_id = $1 AND seq > $2 AND seq < $3
                           AND ($4::text IS NULL OR (recipient IS NULL AND sender <> $4)
                                OR recipient = $4 OR ($5 AND sender = $4))
                         ORDER BY seq {order} LIMIT $6"
                    ),
                    &[
                        &object,
                        &sql_int(q.after),
                        &sql_int(q.before),
                        &viewer,
                        &own,
                        &sql_int(q.limit as u64 + 1),
                    ],
                )
                .await
                .map_err(pg)?;
            let mut entries: Vec<LogEntry> = rows
                .iter()
                .map(|r| LogEntry {
                    seq: r.get::<_, i64>(0) as u64,
                    at_ms: r.get(1),
                    sender: r.get(2),
                    to: r.get(3),
                    frame: r.get(4),
                })
                .collect();
            let cut = entries.len() > q.limit;
            entries.truncate(q.limit);
            if q.backward {
                entries.reverse();
            }
            Ok(LogPage { entries, cut })
        })
    }

    fn remembered_ids(&self, object: &str, since_ms: i64) -> StoreResult<Vec<RememberedId>> {
        let object = object.to_owned();
        self.call(move |pool| async move {
            let client = pool.get().await.map_err(pg)?;
            let rows = client
                .query(
                    "SELECT user_id, msg_id, seq, reply, at_ms FROM message_ids
                     WHERE object_id = $1 AND at_ms >= $2 ORDER BY at_ms",
                    &[&object, &since_ms],
                )
                .await
                .map_err(pg)?;
            Ok(rows
                .iter()
                .map(|r| RememberedId {
                    user: r.get(0),
                    id: r.get(1),
                    seq: r.get::<_, Option<i64>>(2).map(|s| s as u64),
                    reply: r.get(3),
                    at_ms: r.get(4),
                })
                .collect())
        })
    }

    fn prune_log(
        &self,
        object: &str,
        retention: &RetentionLimits,
        now_ms: i64,
        batch: usize,
    ) -> StoreResult<u64> {
        let object = object.to_owned();
        let r = *retention;
        let cutoff = now_ms.saturating_sub(sql_int(r.max_age_secs.saturating_mul(1000)));
        self.call(move |pool| async move {
            let client = pool.get().await.map_err(pg)?;
            let row = client
                .query_one(
                    "SELECT GREATEST(
                        (SELECT max(seq) FROM message_log WHERE object_id = $1 AND at_ms < $2),
                        (SELECT seq FROM message_log WHERE object_id = $1 ORDER BY seq DESC LIMIT 1 OFFSET $3),
                        (SELECT max(seq) FROM (SELECT seq, sum(bytes) OVER (ORDER BY seq DESC) AS total
                            FROM message_log WHERE object_id = $1) t WHERE total > $4::bigint))",
                    &[&object, &cutoff, &sql_int(r.max_messages), &sql_int(r.max_bytes)],
                )
                .await
                .map_err(pg)?;
            let Some(cut) = row.get::<_, Option<i64>>(0) else {
                return Ok(0);
            };
            let n = client
                .execute(
                    "DELETE FROM message_log WHERE object_id = $1 AND seq IN
                     (SELECT seq FROM message_log WHERE object_id = $1 AND seq <= $2 ORDER BY seq LIMIT $3)",
                    &[&object, &cut, &(batch as i64)],
                )
                .await
                .map_err(pg)?;
            Ok(n)
        })
    }

    fn forget_ids(&self, before_ms: i64) -> StoreResult<u64> {
        self.call(move |pool| async move {
            let client = pool.get().await.map_err(pg)?;
            client
                .execute("DELETE FROM message_ids WHERE at_ms < $1", &[&before_ms])
                .await
                .map_err(pg)
        })
    }

    fn logged_objects(&self) -> StoreResult<Vec<String>> {
        self.call(|pool| async move {
            let client = pool.get().await.map_err(pg)?;
            let rows = client
                .query("SELECT object_id FROM object_seq ORDER BY object_id", &[])
                .await
                .map_err(pg)?;
            Ok(rows.iter().map(|r| r.get(0)).collect())
        })
    }

    fn revoke(&self, revocation: &Revocation) -> StoreResult<()> {
        let r = revocation.clone();
        self.call(move |pool| async move {
            let client = pool.get().await.map_err(pg)?;
            client
                .execute(
                    "INSERT INTO revocations (kind, value, at, reason) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (kind, value) DO UPDATE
                     SET at = GREATEST(revocations.at, EXCLUDED.at), reason = EXCLUDED.reason",
                    &[&r.kind.as_str(), &r.value, &r.at, &r.reason],
                )
                .await
                .map(|_| ())
                .map_err(pg)
        })
    }

    fn revocations(&self) -> StoreResult<Vec<Revocation>> {
        self.call(|pool| async move {
            let client = pool.get().await.map_err(pg)?;
            let rows = client
                .query(
                    "SELECT kind, value, at, reason FROM revocations ORDER BY at, kind, value",
                    &[],
                )
                .await
                .map_err(pg)?;
            Ok(rows
                .iter()
                .map(|r| Revocation {
                    kind: RevocationKind::parse(r.get(0)).unwrap_or(RevocationKind::Jti),
                    value: r.get(1),
                    at: r.get(2),
                    reason: r.get(3),
                })
                .collect())
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact("postgres://me:secret@db:5432/x"),
            "postgres://me:***@db:5432/x"
        );
        assert_eq!(
            super::redact("postgres://root@127.0.0.1/test"),
            "postgres://root@127.0.0.1/test"
        );
    }
}
