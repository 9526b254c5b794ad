//! The embedded SQLite store.
//!
//! One writer thread owns the write connection and commits queued operations in batches:
//! it blocks for the first, takes whatever else is already queued (up to [`MAX_BATCH`]),
//! runs them in one transaction and, after `COMMIT`, runs the completion callbacks in
//! order. Many concurrent saves therefore cost one fsync. Reads use a second connection
//! (WAL lets it read while the writer writes).

use std::path::Path;
use std::sync::mpsc;
use std::sync::Mutex;
use std::thread::JoinHandle;

use rusqlite::{params, Connection, OptionalExtension};

use super::{
    ObjectDef, ObjectSettings, SaveDone, SavedDoc, SpaceDef, Store, StoreError, StoreResult,
};
use meetbridge_protocol::ovice::ObjectType;

const MAX_BATCH: usize = 512;

/// How SQLite syncs a commit (`PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// An acknowledged save survives power loss.
    Full,
    /// It survives a crash of the process, not of the machine.
    Normal,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS spaces (
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
);
";

/// Runs inside a batch's transaction and returns what to do once the batch committed.
type Job = Box<dyn FnOnce(&Connection) -> SaveDone + Send>;

enum Op {
    Save {
        object: String,
        doc: SavedDoc,
        done: SaveDone,
    },
    Run(Job),
}

pub struct SqliteStore {
    tx: Mutex<Option<mpsc::Sender<Op>>>,
    reader: Mutex<Connection>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn open(path: &Path, sync: Synchronous) -> StoreResult<Connection> {
    let conn = Connection::open(path).map_err(backend)?;
    let sync = match sync {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync}; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;"
    ))
    .map_err(backend)?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating if needed) `<dir>/meetbridge.sqlite3` and starts the writer thread.
    pub fn open(dir: &Path, sync: Synchronous) -> StoreResult<Self> {
        std::fs::create_dir_all(dir).map_err(backend)?;
        let path = dir.join("meetbridge.sqlite3");
        let write = open(&path, sync)?;
        write.execute_batch(SCHEMA).map_err(backend)?;
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

    fn submit(&self, op: Op) -> Result<(), Op> {
        let guard = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_ref() {
            Some(tx) => tx.send(op).map_err(|e| e.0),
            None => Err(op),
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
    /// Lets the writer finish what is queued, so a reopened store sees every acked save.
    fn drop(&mut self) {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(handle) = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = handle.join();
        }
    }
}

fn writer_loop(conn: Connection, rx: mpsc::Receiver<Op>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let mut dones: Vec<(SaveDone, StoreResult<()>)> = Vec::with_capacity(batch.len());
        let began = conn.execute_batch("BEGIN IMMEDIATE").map_err(backend);
        for op in batch {
            match op {
                Op::Save { object, doc, done } => {
                    let result = began.clone().and_then(|()| {
                        conn.prepare_cached(
                            "INSERT INTO object_data (object_id, data, updated_at) VALUES (?1, ?2, ?3)
                             ON CONFLICT(object_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
                        )
                        .and_then(|mut stmt| stmt.execute(params![object, doc.json, doc.updated_at]))
                        .map(|_| ())
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

fn object_type_str(t: ObjectType) -> &'static str {
    match t {
        ObjectType::Static => "static",
        ObjectType::Dynamic => "dynamic",
    }
}

fn object_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ObjectDef> {
    let object_type: String = row.get(3)?;
    let settings: String = row.get(5)?;
    Ok(ObjectDef {
        id: row.get(0)?,
        space_id: row.get(1)?,
        name: row.get(2)?,
        object_type: if object_type == "dynamic" {
            ObjectType::Dynamic
        } else {
            ObjectType::Static
        },
        plugin_url: row.get(4)?,
        settings: serde_json::from_str::<ObjectSettings>(&settings).unwrap_or_default(),
        creator: row.get(6)?,
        created_at: row.get(7)?,
    })
}

const OBJECT_COLUMNS: &str =
    "id, space_id, name, object_type, plugin_url, settings, creator, created_at";

impl Store for SqliteStore {
    fn create_space(&self, space: &SpaceDef) -> StoreResult<()> {
        let space = space.clone();
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO spaces (id, name, created_at) VALUES (?1, ?2, ?3)",
                params![space.id, space.name, space.created_at],
            )
            .map(|_| ())
            .map_err(|e| conflict_or_backend(e, &format!("space {}", space.id)))
        })
    }

    fn spaces(&self) -> StoreResult<Vec<SpaceDef>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, name, created_at FROM spaces ORDER BY created_at, rowid",
            )?;
            let rows = stmt.query_map([], |row| {
                Ok(SpaceDef {
                    id: row.get(0)?,
                    name: row.get(1)?,
                    created_at: row.get(2)?,
                })
            })?;
            rows.collect()
        })
    }

    fn create_object(&self, object: &ObjectDef) -> StoreResult<()> {
        let o = object.clone();
        self.write(move |conn| {
            let settings = serde_json::to_string(&o.settings).map_err(backend)?;
            conn.execute(
                "INSERT INTO objects (id, space_id, name, object_type, plugin_url, settings, creator, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    o.id,
                    o.space_id,
                    o.name,
                    object_type_str(o.object_type),
                    o.plugin_url,
                    settings,
                    o.creator,
                    o.created_at
                ],
            )
            .map(|_| ())
            .map_err(|e| conflict_or_backend(e, &format!("object {}", o.id)))
        })
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
            conn.prepare_cached("SELECT data, updated_at FROM object_data WHERE object_id = ?1")?
                .query_row([object], |row| {
                    Ok(SavedDoc {
                        json: row.get(0)?,
                        updated_at: row.get(1)?,
                    })
                })
                .optional()
        })
    }

    fn save_data(&self, object: &str, doc: SavedDoc, done: SaveDone) {
        let op = Op::Save {
            object: object.to_owned(),
            doc,
            done,
        };
        if let Err(Op::Save { done, .. }) = self.submit(op) {
            done(Err(StoreError::Backend("store closed".into())));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(id: &str, space: &str) -> ObjectDef {
        ObjectDef {
            id: id.into(),
            space_id: space.into(),
            name: id.into(),
            object_type: ObjectType::Dynamic,
            plugin_url: "/plugins/notes/".into(),
            settings: ObjectSettings { share_email: true },
            creator: Some("u1".into()),
            created_at: 1,
        }
    }

    #[test]
    fn spaces_objects_and_data_persist() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SqliteStore::open(dir.path(), Synchronous::Full).unwrap();
            store
                .create_space(&SpaceDef {
                    id: "s".into(),
                    name: "S".into(),
                    created_at: 1,
                })
                .unwrap();
            assert!(matches!(
                store.create_space(&SpaceDef {
                    id: "s".into(),
                    name: "S".into(),
                    created_at: 1
                }),
                Err(StoreError::Conflict(_))
            ));
            store.create_object(&object("o1", "s")).unwrap();
            assert!(matches!(
                store.create_object(&object("o2", "nope")),
                Err(StoreError::Missing(_))
            ));
            let (tx, rx) = mpsc::channel();
            for i in 0..3 {
                let tx = tx.clone();
                store.save_data(
                    "o1",
                    SavedDoc {
                        json: format!("{{\"n\":{i}}}"),
                        updated_at: 10 + i,
                    },
                    Box::new(move |r| tx.send((i, r)).unwrap()),
                );
            }
            let order: Vec<_> = (0..3).map(|_| rx.recv().unwrap()).collect();
            assert_eq!(order, vec![(0, Ok(())), (1, Ok(())), (2, Ok(()))]);
        }
        let store = SqliteStore::open(dir.path(), Synchronous::Full).unwrap();
        assert_eq!(store.objects(Some("s")).unwrap(), vec![object("o1", "s")]);
        assert_eq!(
            store.load_data("o1").unwrap(),
            Some(SavedDoc {
                json: "{\"n\":2}".into(),
                updated_at: 12
            })
        );
        assert_eq!(store.load_data("o9").unwrap(), None);
    }
}
