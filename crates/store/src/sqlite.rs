//! The embedded SQLite store.
//!
//! One writer thread owns the write connection and commits queued operations in batches:
//! it blocks for the first, takes whatever else is already queued (up to [`MAX_BATCH`]),
//! runs them in one transaction and, after `COMMIT`, runs the completion callbacks in
//! order. Many concurrent appends and saves therefore cost one fsync. Reads use a second
//! connection (WAL lets it read while the writer writes).

use std::path::Path;
use std::sync::mpsc;
use std::sync::Mutex;
use std::thread::JoinHandle;

use rusqlite::{params, Connection, OptionalExtension};

use crate::model::{backend, object_type_from, object_type_str};
use crate::{
    position_columns, position_from, sql_int, AppendDone, LogEntry, LogPage, LogQuery, ObjectDef,
    ObjectQuota, ObjectRemoval, ObjectSettings, QuotaFull, RememberedId, RetentionLimits,
    Revocation, RevocationKind, Save, SaveDone, SavedDoc, SpaceDef, SpaceSettings, SqliteSync,
    Store, StoreError, StoreResult, OBJECT_COLUMNS, SPACE_COLUMNS,
};

const MAX_BATCH: usize = 512;

/// Schema versions, applied in order (`PRAGMA user_version` says how far a file is).
const MIGRATIONS: &[&str] = &[
    // 1: spaces, objects, saved data.
    "CREATE TABLE IF NOT EXISTS spaces (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS objects (
        id TEXT PRIMARY KEY,
        space_id TEXT NOT NULL REFERENCES spaces(id),
        name TEXT NOT NULL,
        object_type TEXT NOT NULL,
        plugin_url TEXT NOT NULL,
        settings TEXT NOT NULL,
        creator TEXT,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS object_data (
        object_id TEXT PRIMARY KEY,
        data TEXT NOT NULL,
        updated_at INTEGER NOT NULL
    );",
    // 2: save versions, the message log, remembered ids.
    "ALTER TABLE object_data ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE message_log (
        object_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at_ms INTEGER NOT NULL,
        sender TEXT NOT NULL,
        recipient TEXT,
        bytes INTEGER NOT NULL,
        frame TEXT NOT NULL,
        PRIMARY KEY (object_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE object_seq (
        object_id TEXT PRIMARY KEY,
        last_seq INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE message_ids (
        object_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        msg_id TEXT NOT NULL,
        seq INTEGER,
        reply TEXT,
        at_ms INTEGER NOT NULL,
        PRIMARY KEY (object_id, user_id, msg_id)
    ) WITHOUT ROWID;
    CREATE INDEX message_ids_at ON message_ids (at_ms);",
    // 3: revoked tokens and users.
    "CREATE TABLE IF NOT EXISTS revocations (
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        at INTEGER NOT NULL,
        reason TEXT NOT NULL,
        PRIMARY KEY (kind, value)
    ) WITHOUT ROWID;",
    // 4: space settings, object positions on the floor.
    "ALTER TABLE spaces ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE objects ADD COLUMN pos_x INTEGER;
    ALTER TABLE objects ADD COLUMN pos_y INTEGER;",
];

/// Runs inside a batch's transaction and returns what to do once the batch committed.
type Job = Box<dyn FnOnce(&Connection) -> Box<dyn FnOnce(StoreResult<()>) + Send> + Send>;

enum Op {
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
    Run(Job),
}

pub struct SqliteStore {
    tx: Mutex<Option<mpsc::Sender<Op>>>,
    reader: Mutex<Connection>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

fn open(path: &Path, sync: SqliteSync) -> StoreResult<Connection> {
    let conn = Connection::open(path).map_err(backend)?;
    let sync = match sync {
        SqliteSync::Full => "FULL",
        SqliteSync::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync}; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;"
    ))
    .map_err(backend)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let at: usize = conn
        .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
        .map_err(backend)? as usize;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(at) {
        let tx = conn.transaction().map_err(backend)?;
        tx.execute_batch(sql).map_err(backend)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
            .map_err(backend)?;
        tx.commit().map_err(backend)?;
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating and migrating if needed) `<dir>/meetbridge.sqlite3` and starts the
    /// writer thread.
    pub fn open(dir: &Path, sync: SqliteSync) -> StoreResult<Self> {
        std::fs::create_dir_all(dir).map_err(backend)?;
        let path = dir.join("meetbridge.sqlite3");
        let mut write = open(&path, sync)?;
        migrate(&mut write)?;
        let reader = open(&path, sync)?;
        let (tx, rx) = mpsc::channel::<Op>();
        let writer = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(write, rx))
            .map_err(backend)?;
        Ok(SqliteStore {
            tx: Mutex::new(Some(tx)),
            reader: Mutex::new(reader),
            writer: Mutex::new(Some(writer)),
        })
    }

    /// Queues `op`; hands it back when the writer is gone.
    fn submit(&self, op: Op) -> Result<(), Box<Op>> {
        let guard = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_ref() {
            Some(tx) => tx.send(op).map_err(|e| Box::new(e.0)),
            None => Err(Box::new(op)),
        }
    }

    /// Runs `f` on the writer connection (inside the current batch) and waits for its result.
    fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let (tx, rx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |conn| {
            let result = f(conn);
            // Answer only after the commit, so a read that follows sees the write.
            Box::new(move |committed: StoreResult<()>| {
                let _ = tx.send(committed.and(result));
            })
        });
        if self.submit(Op::Run(job)).is_err() {
            return Err(StoreError::Backend("store closed".into()));
        }
        rx.recv()
            .map_err(|_| StoreError::Backend("writer stopped".into()))?
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> StoreResult<T> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        f(&conn).map_err(backend)
    }
}

impl Drop for SqliteStore {
    /// Lets the writer finish what is queued, so a reopened store sees every acked write.
    fn drop(&mut self) {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(handle) = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = handle.join();
        }
    }
}

type Finish = Box<dyn FnOnce(StoreResult<()>) + Send>;

fn writer_loop(conn: Connection, rx: mpsc::Receiver<Op>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let mut dones: Vec<(Finish, StoreResult<()>)> = Vec::with_capacity(batch.len());
        let began = conn.execute_batch("BEGIN IMMEDIATE").map_err(backend);
        for op in batch {
            match op {
                Op::Save { object, save, done } => {
                    let result = began
                        .clone()
                        .and_then(|()| write_save(&conn, &object, &save).map_err(backend));
                    let (result, version) = match result {
                        Ok(v) => (Ok(()), v),
                        Err(e) => (Err(e), 0),
                    };
                    dones.push((Box::new(move |r| done(r.map(|()| version))), result));
                }
                Op::Append {
                    object,
                    entry,
                    id,
                    done,
                } => {
                    let result = began.clone().and_then(|()| {
                        write_entry(&conn, &object, &entry)
                            .and_then(|()| match &id {
                                Some(id) => write_id(&conn, &object, id),
                                None => Ok(()),
                            })
                            .map_err(backend)
                    });
                    dones.push((done, result));
                }
                Op::Run(job) => {
                    let result = began.clone();
                    dones.push((job(&conn), result));
                }
            }
        }
        let committed = began.and_then(|()| conn.execute_batch("COMMIT").map_err(backend));
        if committed.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for (done, result) in dones {
            done(committed.clone().and(result));
        }
    }
}

/// Writes a save (and its log entry and id); returns the document's new version.
fn write_save(conn: &Connection, object: &str, save: &Save) -> rusqlite::Result<u64> {
    let version = match save.at_version {
        None => conn
            .prepare_cached(
                "INSERT INTO object_data (object_id, data, updated_at, version) VALUES (?1, ?2, ?3, 1)
                 ON CONFLICT(object_id) DO UPDATE SET data = excluded.data,
                     updated_at = excluded.updated_at, version = object_data.version + 1
                 RETURNING version",
            )?
            .query_row(params![object, save.json, save.updated_at], |r| r.get::<_, i64>(0))?
            as u64,
        Some(v) => {
            conn.prepare_cached(
                "INSERT INTO object_data (object_id, data, updated_at, version) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(object_id) DO UPDATE SET data = excluded.data,
                     updated_at = excluded.updated_at, version = excluded.version
                 WHERE object_data.version < excluded.version",
            )?
            .execute(params![object, save.json, save.updated_at, crate::sql_int(v)])?;
            v
        }
    };
    if let Some(entry) = &save.log {
        write_entry(conn, object, entry)?;
    }
    if let Some(id) = &save.id {
        write_id(conn, object, id)?;
    }
    Ok(version)
}

fn write_entry(conn: &Connection, object: &str, e: &LogEntry) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO message_log (object_id, seq, at_ms, sender, recipient, bytes, frame)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
    )?
    .execute(params![
        object,
        e.seq as i64,
        e.at_ms,
        e.sender,
        e.to,
        e.frame.len() as i64,
        e.frame
    ])?;
    conn.prepare_cached(
        "INSERT INTO object_seq (object_id, last_seq) VALUES (?1, ?2)
         ON CONFLICT(object_id) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)",
    )?
    .execute(params![object, e.seq as i64])?;
    Ok(())
}

fn write_id(conn: &Connection, object: &str, id: &RememberedId) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO message_ids (object_id, user_id, msg_id, seq, reply, at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
    )?
    .execute(params![
        object,
        id.user,
        id.id,
        id.seq.map(|s| s as i64),
        id.reply,
        id.at_ms
    ])?;
    Ok(())
}

/// Inserts a new object's row (`Conflict` when the id is taken).
fn insert_object(conn: &Connection, o: &ObjectDef) -> StoreResult<()> {
    let settings = serde_json::to_string(&o.settings).map_err(backend)?;
    let (x, y) = position_columns(o.position);
    conn.execute(
        "INSERT INTO objects (id, space_id, name, object_type, plugin_url, settings, creator, created_at, pos_x, pos_y)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            o.id,
            o.space_id,
            o.name,
            object_type_str(o.object_type),
            o.plugin_url,
            settings,
            o.creator,
            o.created_at,
            x,
            y
        ],
    )
    .map(|_| ())
    .map_err(|e| conflict_or_backend(e, &format!("object {}", o.id)))
}

fn conflict_or_backend(e: rusqlite::Error, what: &str) -> StoreError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => {
            let text = e.to_string();
            if text.contains("FOREIGN KEY") {
                StoreError::Missing(format!("space of {what}"))
            } else {
                StoreError::Conflict(what.to_owned())
            }
        }
        _ => backend(e),
    }
}

fn object_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ObjectDef> {
    let object_type: String = row.get(3)?;
    let settings: String = row.get(5)?;
    Ok(ObjectDef {
        id: row.get(0)?,
        space_id: row.get(1)?,
        name: row.get(2)?,
        object_type: object_type_from(&object_type),
        plugin_url: row.get(4)?,
        settings: serde_json::from_str::<ObjectSettings>(&settings).unwrap_or_default(),
        creator: row.get(6)?,
        created_at: row.get(7)?,
        position: position_from(row.get(8)?, row.get(9)?),
    })
}

fn space_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<SpaceDef> {
    let settings: String = row.get(3)?;
    Ok(SpaceDef {
        id: row.get(0)?,
        name: row.get(1)?,
        created_at: row.get(2)?,
        settings: serde_json::from_str::<SpaceSettings>(&settings).unwrap_or_default(),
    })
}

/// Deletes an object's row and everything it kept, inside the writer's transaction.
fn delete_object_in(conn: &Connection, id: &str) -> StoreResult<ObjectRemoval> {
    let gone = conn
        .execute("DELETE FROM objects WHERE id = ?1", [id])
        .map_err(backend)?;
    if gone == 0 {
        return Err(StoreError::Missing(format!("object {id}")));
    }
    let log_entries = conn
        .execute("DELETE FROM message_log WHERE object_id = ?1", [id])
        .map_err(backend)? as u64;
    let saved = conn
        .execute("DELETE FROM object_data WHERE object_id = ?1", [id])
        .map_err(backend)?;
    conn.execute("DELETE FROM object_seq WHERE object_id = ?1", [id])
        .map_err(backend)?;
    conn.execute("DELETE FROM message_ids WHERE object_id = ?1", [id])
        .map_err(backend)?;
    Ok(ObjectRemoval {
        log_entries,
        saved_data: saved > 0,
    })
}

fn entry_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<LogEntry> {
    Ok(LogEntry {
        seq: row.get::<_, i64>(0)? as u64,
        at_ms: row.get(1)?,
        sender: row.get(2)?,
        to: row.get(3)?,
        frame: row.get(4)?,
    })
}

/// The visibility filter of a log read: `?4` the viewer (NULL: everyone), `?5` own.
const VISIBLE: &str = "(?4 IS NULL OR (recipient IS NULL AND sender <> ?4) OR recipient = ?4
                       OR (?5 AND sender = ?4))";

impl Store for SqliteStore {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn check(&self) -> StoreResult<()> {
        self.read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())))
    }

    fn create_space(&self, space: &SpaceDef) -> StoreResult<()> {
        let space = space.clone();
        let settings = serde_json::to_string(&space.settings).map_err(backend)?;
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO spaces (id, name, created_at, settings) VALUES (?1, ?2, ?3, ?4)",
                params![space.id, space.name, space.created_at, settings],
            )
            .map(|_| ())
            .map_err(|e| conflict_or_backend(e, &format!("space {}", space.id)))
        })
    }

    fn spaces(&self) -> StoreResult<Vec<SpaceDef>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {SPACE_COLUMNS} FROM spaces ORDER BY created_at, rowid"
            ))?;
            let rows = stmt.query_map([], space_from_row)?;
            rows.collect()
        })
    }

    fn space(&self, id: &str) -> StoreResult<Option<SpaceDef>> {
        self.read(|conn| {
            conn.prepare_cached(&format!("SELECT {SPACE_COLUMNS} FROM spaces WHERE id = ?1"))?
                .query_row([id], space_from_row)
                .optional()
        })
    }

    fn update_space(&self, space: &SpaceDef) -> StoreResult<()> {
        let space = space.clone();
        let settings = serde_json::to_string(&space.settings).map_err(backend)?;
        self.write(move |conn| {
            let n = conn
                .execute(
                    "UPDATE spaces SET name = ?2, settings = ?3 WHERE id = ?1",
                    params![space.id, space.name, settings],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::Missing(format!("space {}", space.id)));
            }
            Ok(())
        })
    }

    fn delete_space(&self, id: &str) -> StoreResult<Vec<String>> {
        let id = id.to_owned();
        self.write(move |conn| {
            let objects: Vec<String> = conn
                .prepare("SELECT id FROM objects WHERE space_id = ?1 ORDER BY created_at, rowid")
                .and_then(|mut s| s.query_map([&id], |r| r.get(0))?.collect())
                .map_err(backend)?;
            for object in &objects {
                delete_object_in(conn, object)?;
            }
            let n = conn
                .execute("DELETE FROM spaces WHERE id = ?1", [&id])
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::Missing(format!("space {id}")));
            }
            Ok(objects)
        })
    }

    fn create_object(&self, object: &ObjectDef) -> StoreResult<()> {
        let o = object.clone();
        self.write(move |conn| insert_object(conn, &o))
    }

    fn create_object_within(
        &self,
        object: &ObjectDef,
        quota: &ObjectQuota,
    ) -> StoreResult<Result<(), QuotaFull>> {
        let o = object.clone();
        let quota = quota.clone();
        // The one writer runs this inside its `BEGIN IMMEDIATE` transaction: no other
        // write (of this or another process) comes between the counts and the insert.
        self.write(move |conn| {
            let in_space: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM objects WHERE space_id = ?1 AND plugin_url <> ?2",
                    params![o.space_id, quota.uncounted_url],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            let by_creator: i64 = match (&o.creator, quota.per_creator) {
                (Some(creator), Some(_)) => conn
                    .query_row(
                        "SELECT COUNT(*) FROM objects WHERE space_id = ?1 AND object_type = 'dynamic' AND creator = ?2",
                        params![o.space_id, creator],
                        |r| r.get(0),
                    )
                    .map_err(backend)?,
                _ => 0,
            };
            if let Some(full) = quota.refusal(in_space as usize, by_creator as usize) {
                return Ok(Err(full));
            }
            insert_object(conn, &o).map(Ok)
        })
    }

    fn update_settings(&self, object: &str, settings: &ObjectSettings) -> StoreResult<()> {
        let object = object.to_owned();
        let settings = serde_json::to_string(settings).map_err(backend)?;
        self.write(move |conn| {
            let n = conn
                .execute(
                    "UPDATE objects SET settings = ?2 WHERE id = ?1",
                    params![object, settings],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::Missing(format!("object {object}")));
            }
            Ok(())
        })
    }

    fn update_object(&self, object: &ObjectDef) -> StoreResult<()> {
        let o = object.clone();
        let settings = serde_json::to_string(&o.settings).map_err(backend)?;
        self.write(move |conn| {
            let (x, y) = position_columns(o.position);
            let n = conn
                .execute(
                    "UPDATE objects SET name = ?2, object_type = ?3, plugin_url = ?4, settings = ?5,
                         creator = ?6, pos_x = ?7, pos_y = ?8
                     WHERE id = ?1",
                    params![
                        o.id,
                        o.name,
                        object_type_str(o.object_type),
                        o.plugin_url,
                        settings,
                        o.creator,
                        x,
                        y
                    ],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::Missing(format!("object {}", o.id)));
            }
            Ok(())
        })
    }

    fn delete_object(&self, id: &str) -> StoreResult<ObjectRemoval> {
        let id = id.to_owned();
        self.write(move |conn| delete_object_in(conn, &id))
    }

    fn objects(&self, space: Option<&str>) -> StoreResult<Vec<ObjectDef>> {
        self.read(|conn| match space {
            Some(space) => {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT {OBJECT_COLUMNS} FROM objects WHERE space_id = ?1 ORDER BY created_at, rowid"
                ))?;
                let rows = stmt.query_map([space], object_from_row)?;
                rows.collect()
            }
            None => {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT {OBJECT_COLUMNS} FROM objects ORDER BY created_at, rowid"
                ))?;
                let rows = stmt.query_map([], object_from_row)?;
                rows.collect()
            }
        })
    }

    fn object(&self, id: &str) -> StoreResult<Option<ObjectDef>> {
        self.read(|conn| {
            conn.prepare_cached(&format!(
                "SELECT {OBJECT_COLUMNS} FROM objects WHERE id = ?1"
            ))?
            .query_row([id], object_from_row)
            .optional()
        })
    }

    fn load_data(&self, object: &str) -> StoreResult<Option<SavedDoc>> {
        self.read(|conn| {
            conn.prepare_cached(
                "SELECT data, updated_at, version FROM object_data WHERE object_id = ?1",
            )?
            .query_row([object], |row| {
                Ok(SavedDoc {
                    json: row.get(0)?,
                    updated_at: row.get(1)?,
                    version: row.get::<_, i64>(2)? as u64,
                })
            })
            .optional()
        })
    }

    fn save_data(&self, object: &str, save: Save, done: SaveDone) {
        let op = Op::Save {
            object: object.to_owned(),
            save,
            done,
        };
        if let Err(op) = self.submit(op) {
            if let Op::Save { done, .. } = *op {
                done(Err(StoreError::Backend("store closed".into())));
            }
        }
    }

    fn append(&self, object: &str, entry: LogEntry, id: Option<RememberedId>, done: AppendDone) {
        let op = Op::Append {
            object: object.to_owned(),
            entry,
            id,
            done,
        };
        if let Err(op) = self.submit(op) {
            if let Op::Append { done, .. } = *op {
                done(Err(StoreError::Backend("store closed".into())));
            }
        }
    }

    fn log_bounds(&self, object: &str) -> StoreResult<Option<(u64, u64)>> {
        self.read(|conn| {
            conn.prepare_cached("SELECT min(seq), max(seq) FROM message_log WHERE object_id = ?1")?
                .query_row([object], |r| {
                    Ok(
                        match (r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?) {
                            (Some(a), Some(b)) => Some((a as u64, b as u64)),
                            _ => None,
                        },
                    )
                })
        })
    }

    fn last_seq(&self, object: &str) -> StoreResult<u64> {
        self.read(|conn| {
            conn.prepare_cached("SELECT last_seq FROM object_seq WHERE object_id = ?1")?
                .query_row([object], |r| r.get::<_, i64>(0))
                .optional()
                .map(|s| s.unwrap_or(0) as u64)
        })
    }

    fn read_log(&self, object: &str, q: &LogQuery) -> StoreResult<LogPage> {
        let order = if q.backward { "DESC" } else { "ASC" };
        let (viewer, own) = match &q.viewer {
            Some((u, own)) => (Some(u.as_str()), *own),
            None => (None, false),
        };
        let mut entries = self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT seq, at_ms, sender, recipient, frame FROM message_log
                 WHERE object_id = ?1 AND seq > ?2 AND seq < ?3 AND {VISIBLE}
                 ORDER BY seq {order} LIMIT ?6"
            ))?;
            let rows = stmt.query_map(
                params![
                    object,
                    sql_int(q.after),
                    sql_int(q.before),
                    viewer,
                    own,
                    sql_int(q.limit as u64 + 1)
                ],
                entry_from_row,
            )?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        let cut = entries.len() > q.limit;
        entries.truncate(q.limit);
        if q.backward {
            entries.reverse();
        }
        Ok(LogPage { entries, cut })
    }

    fn remembered_ids(&self, object: &str, since_ms: i64) -> StoreResult<Vec<RememberedId>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT user_id, msg_id, seq, reply, at_ms FROM message_ids
                 WHERE object_id = ?1 AND at_ms >= ?2 ORDER BY at_ms",
            )?;
            let rows = stmt.query_map(params![object, since_ms], |r| {
                Ok(RememberedId {
                    user: r.get(0)?,
                    id: r.get(1)?,
                    seq: r.get::<_, Option<i64>>(2)?.map(|s| s as u64),
                    reply: r.get(3)?,
                    at_ms: r.get(4)?,
                })
            })?;
            rows.collect()
        })
    }

    fn prune_log(
        &self,
        object: &str,
        retention: &RetentionLimits,
        now_ms: i64,
        batch: usize,
    ) -> StoreResult<u64> {
        // The newest seq that goes: the oldest beyond the count or the bytes, or too old.
        let object = object.to_owned();
        let r = *retention;
        let cutoff = now_ms.saturating_sub(sql_int(r.max_age_secs.saturating_mul(1000)));
        let cut = self.read(|conn| {
            let by_age: Option<i64> = conn
                .prepare_cached(
                    "SELECT max(seq) FROM message_log WHERE object_id = ?1 AND at_ms < ?2",
                )?
                .query_row(params![object, cutoff], |r| r.get(0))?;
            let by_count: Option<i64> = conn
                .prepare_cached(
                    "SELECT seq FROM message_log WHERE object_id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2",
                )?
                .query_row(params![object, sql_int(r.max_messages)], |r| r.get(0))
                .optional()?;
            let by_bytes: Option<i64> = conn
                .prepare_cached(
                    "SELECT max(seq) FROM (SELECT seq, sum(bytes) OVER (ORDER BY seq DESC) AS total
                     FROM message_log WHERE object_id = ?1) WHERE total > ?2",
                )?
                .query_row(params![object, sql_int(r.max_bytes)], |r| r.get(0))?;
            Ok([by_age, by_count, by_bytes].into_iter().flatten().max())
        })?;
        let Some(cut) = cut else { return Ok(0) };
        self.write(move |conn| {
            conn.prepare_cached(
                "DELETE FROM message_log WHERE object_id = ?1 AND seq IN
                 (SELECT seq FROM message_log WHERE object_id = ?1 AND seq <= ?2 ORDER BY seq LIMIT ?3)",
            )
            .and_then(|mut s| s.execute(params![object, cut, batch as i64]))
            .map(|n| n as u64)
            .map_err(backend)
        })
    }

    fn forget_ids(&self, before_ms: i64) -> StoreResult<u64> {
        self.write(move |conn| {
            conn.execute("DELETE FROM message_ids WHERE at_ms < ?1", [before_ms])
                .map(|n| n as u64)
                .map_err(backend)
        })
    }

    fn logged_objects(&self) -> StoreResult<Vec<String>> {
        self.read(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT object_id FROM object_seq ORDER BY object_id")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect()
        })
    }

    fn revoke(&self, revocation: &Revocation) -> StoreResult<()> {
        let r = revocation.clone();
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO revocations (kind, value, at, reason) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (kind, value) DO UPDATE SET at = MAX(at, excluded.at), reason = excluded.reason",
                params![r.kind.as_str(), r.value, r.at, r.reason],
            )
            .map(|_| ())
            .map_err(backend)
        })
    }

    fn revocations(&self) -> StoreResult<Vec<Revocation>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT kind, value, at, reason FROM revocations ORDER BY at, kind, value",
            )?;
            let rows = stmt.query_map([], |r| {
                let kind: String = r.get(0)?;
                Ok(Revocation {
                    kind: RevocationKind::parse(&kind).unwrap_or(RevocationKind::Jti),
                    value: r.get(1)?,
                    at: r.get(2)?,
                    reason: r.get(3)?,
                })
            })?;
            rows.collect()
        })
    }
}
