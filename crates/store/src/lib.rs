//! Durable state of the meetbridge platform, behind one trait with two backends.
//!
//! [`Store`] holds spaces, objects, each object's saved-data document, each object's
//! **message log** (every relayed frame with its sequence number, who sent it and to whom)
//! and the **remembered message ids** of idempotent sends. [`sqlite::SqliteStore`] is the
//! embedded default; [`postgres::PgStore`] is the shared store of a cluster.
//!
//! Writes that sit on the hot path ([`Store::append`], [`Store::save_data`]) are queued and
//! committed in batches (group commit): many concurrent writes share one transaction and
//! one fsync. Their completion callbacks run in submission order, only after the commit, so
//! a caller acknowledges exactly what is durable. Other methods block briefly: call them
//! from `spawn_blocking` or at startup.

pub mod model;
pub mod postgres;
pub mod sqlite;

pub use model::*;

/// The columns of an object row, in the order both backends read them.
const OBJECT_COLUMNS: &str =
    "id, space_id, name, object_type, plugin_url, settings, creator, created_at, pos_x, pos_y";

/// The columns of a space row, in the order both backends read them.
const SPACE_COLUMNS: &str = "id, name, created_at, settings";

/// A position from its two nullable columns (both set, or none).
fn position_from(x: Option<i64>, y: Option<i64>) -> Option<Position> {
    match (x, y) {
        (Some(x), Some(y)) => Some(Position {
            x: x.clamp(0, u32::MAX as i64) as u32,
            y: y.clamp(0, u32::MAX as i64) as u32,
        }),
        _ => None,
    }
}

/// The two nullable columns of a position.
fn position_columns(position: Option<Position>) -> (Option<i64>, Option<i64>) {
    match position {
        Some(p) => (Some(p.x as i64), Some(p.y as i64)),
        None => (None, None),
    }
}

/// A count or sequence number as SQL's signed 64-bit integer (saturating: "no limit" stays
/// the largest one).
fn sql_int(n: u64) -> i64 {
    n.min(i64::MAX as u64) as i64
}

/// Called once an append has committed (or failed), in submission order.
pub type AppendDone = Box<dyn FnOnce(StoreResult<()>) + Send>;

/// Called once a save has committed (or failed), in submission order, with the document's
/// new version: versions grow in commit order, which is the order everyone sees.
pub type SaveDone = Box<dyn FnOnce(StoreResult<u64>) + Send>;

/// Durable storage.
pub trait Store: Send + Sync + 'static {
    /// Which backend this is, for logs and `/healthz` (`sqlite`, `postgres`).
    fn kind(&self) -> &'static str;
    /// Whether the backend answers (a cheap round trip).
    fn check(&self) -> StoreResult<()>;

    fn create_space(&self, space: &SpaceDef) -> StoreResult<()>;
    fn spaces(&self) -> StoreResult<Vec<SpaceDef>>;
    fn space(&self, id: &str) -> StoreResult<Option<SpaceDef>>;
    /// Replaces a space's name and settings (`Missing` when there is no such space).
    fn update_space(&self, space: &SpaceDef) -> StoreResult<()>;
    /// Deletes a space with every object in it and everything those objects kept (see
    /// [`Store::delete_object`]); returns the ids of the objects that went.
    fn delete_space(&self, id: &str) -> StoreResult<Vec<String>>;
    fn create_object(&self, object: &ObjectDef) -> StoreResult<()>;
    /// Creates an object unless that would go over `quota`: the counts and the insert are
    /// one transaction holding a lock on the object's space, so concurrent creations (on
    /// any number of servers) never together exceed a limit. `Ok(Err(_))`: refused, nothing
    /// written.
    fn create_object_within(
        &self,
        object: &ObjectDef,
        quota: &ObjectQuota,
    ) -> StoreResult<Result<(), QuotaFull>>;
    /// Replaces an object's settings (e-mail sharing, retention, sandbox).
    fn update_settings(&self, object: &str, settings: &ObjectSettings) -> StoreResult<()>;
    /// Replaces what may be edited of an object: name, type, plugin URL, settings, creator
    /// and position (its id, space and creation time stay). `Missing` when it is gone.
    fn update_object(&self, object: &ObjectDef) -> StoreResult<()>;
    /// Deletes an object and everything it kept: its saved data, its message log, its
    /// sequence counter and its remembered ids. `Missing` when there is no such object.
    fn delete_object(&self, id: &str) -> StoreResult<ObjectRemoval>;
    /// All objects, or those of one space, in creation order.
    fn objects(&self, space: Option<&str>) -> StoreResult<Vec<ObjectDef>>;
    fn object(&self, id: &str) -> StoreResult<Option<ObjectDef>>;

    fn load_data(&self, object: &str) -> StoreResult<Option<SavedDoc>>;
    /// Queues a durable write of `object`'s document, together with the log entry that
    /// announces it and the id that makes it idempotent; `done` runs after the commit.
    fn save_data(&self, object: &str, save: Save, done: SaveDone);

    /// Queues a durable append to `object`'s log (and the id that makes it idempotent);
    /// `done` runs after the commit. Appending a `(object, seq)` that is already logged
    /// changes nothing and succeeds (a redelivery).
    fn append(&self, object: &str, entry: LogEntry, id: Option<RememberedId>, done: AppendDone);
    /// The lowest and highest sequence numbers logged for `object` (`None` when empty).
    fn log_bounds(&self, object: &str) -> StoreResult<Option<(u64, u64)>>;
    /// The highest sequence number ever handed out on `object`, even if pruned since:
    /// numbering goes on from here after a restart.
    fn last_seq(&self, object: &str) -> StoreResult<u64>;
    /// Reads part of `object`'s log (see [`LogQuery`]).
    fn read_log(&self, object: &str, query: &LogQuery) -> StoreResult<LogPage>;

    /// The ids `object` remembers that were stored at or after `since_ms`, oldest first.
    fn remembered_ids(&self, object: &str, since_ms: i64) -> StoreResult<Vec<RememberedId>>;

    /// Removes what `retention` no longer keeps from `object`'s log, at most `batch` rows
    /// at a time (so it never holds the writer long); returns how many rows went.
    fn prune_log(
        &self,
        object: &str,
        retention: &RetentionLimits,
        now_ms: i64,
        batch: usize,
    ) -> StoreResult<u64>;
    /// Forgets remembered ids stored before `before_ms`; returns how many.
    fn forget_ids(&self, before_ms: i64) -> StoreResult<u64>;
    /// Objects that have a log, for the background pruner.
    fn logged_objects(&self) -> StoreResult<Vec<String>>;

    /// Records a revocation; revoking the same token or user again moves `at` forward.
    fn revoke(&self, revocation: &Revocation) -> StoreResult<()>;
    /// Every revocation, oldest first (the server keeps them in memory).
    fn revocations(&self) -> StoreResult<Vec<Revocation>>;
}
