//! The records the store keeps, shared by both backends.

use meetbridge_protocol::ovice::ObjectType;
use serde::{Deserialize, Serialize};

/// Spaces and objects are defined once, in the protocol crate: the API, the live `floor`
/// frame and the pages carry exactly what is stored.
pub use meetbridge_protocol::space::{
    CreateDynamic, ObjectDef, ObjectSettings, Position, Retention, RetentionLimits, SpaceDef,
    SpaceSettings,
};

/// What deleting an object removed with it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRemoval {
    /// Rows of its message log.
    pub log_entries: u64,
    /// Whether it had a saved-data document.
    pub saved_data: bool,
}

/// An object's saved-data document as stored: its JSON text and when it was saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedDoc {
    pub json: String,
    /// Seconds since the Unix epoch.
    pub updated_at: i64,
    /// Grows by one per committed save of the object: the commit order.
    pub version: u64,
}

/// A save as submitted: the document, and optionally the log entry of the
/// `ovice_shared_data` that announces it and the id that makes it idempotent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Save {
    pub json: String,
    pub updated_at: i64,
    pub log: Option<LogEntry>,
    pub id: Option<RememberedId>,
    /// `None`: the document's version grows by one (one node numbers its saves).
    /// `Some(v)`: the document becomes version `v` unless it is already at `v` or later,
    /// and the answer is `v` either way. A cluster orders saves by their stream sequence,
    /// so a save that commits late never replaces a later one.
    pub at_version: Option<u64>,
}

/// One relayed frame in an object's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub seq: u64,
    /// Milliseconds since the Unix epoch, when it was relayed.
    pub at_ms: i64,
    /// The sender's user key.
    pub sender: String,
    /// `None`: every member but the sender; `Some(user)`: that user only.
    pub to: Option<String>,
    /// The frame as sent to its recipients, stored exactly as given.
    pub frame: String,
}

impl LogEntry {
    /// Whether `user` may see this entry (`own`: including what they sent).
    pub fn visible_to(&self, user: &str, own: bool) -> bool {
        match &self.to {
            Some(to) => to == user || (own && self.sender == user),
            None => self.sender != user || own,
        }
    }
}

/// An idempotent send the object remembers: the answer given to `(user, id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RememberedId {
    pub user: String,
    pub id: String,
    /// The `seq` of the `ack`.
    pub seq: Option<u64>,
    /// A frame sent before the `ack` (a save's `ovice_data_saved_success`).
    pub reply: Option<String>,
    /// Milliseconds since the Unix epoch, when it was stored.
    pub at_ms: i64,
}

/// Which part of a log to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogQuery {
    /// Only entries with `seq > after`.
    pub after: u64,
    /// Only entries with `seq < before`.
    pub before: u64,
    /// At most this many entries.
    pub limit: usize,
    /// `false`: the oldest `limit` entries of the range; `true`: the newest. Either way the
    /// page comes oldest first.
    pub backward: bool,
    /// Only what this user may see (with `own`: including what they sent).
    pub viewer: Option<(String, bool)>,
}

impl LogQuery {
    /// Everything after `after`, oldest first.
    pub fn after(after: u64, limit: usize) -> Self {
        LogQuery {
            after,
            before: u64::MAX,
            limit,
            backward: false,
            viewer: None,
        }
    }
}

/// What [`crate::Store::read_log`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogPage {
    /// Oldest first.
    pub entries: Vec<LogEntry>,
    /// The limit cut the page: more entries of the range exist beyond it (later ones for a
    /// forward read, earlier ones for a backward read).
    pub cut: bool,
}

/// A revoked token (`kind` `jti`: that one token) or user (`kind` `sub`: every token of
/// that subject issued at or before `at`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Revocation {
    pub kind: RevocationKind,
    pub value: String,
    /// Seconds since the Unix epoch.
    pub at: i64,
    /// Why, as the admin wrote it (shown in the console, never to the user).
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RevocationKind {
    Jti,
    Sub,
}

impl RevocationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationKind::Jti => "jti",
            RevocationKind::Sub => "sub",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "jti" => Some(RevocationKind::Jti),
            "sub" => Some(RevocationKind::Sub),
            _ => None,
        }
    }
}

/// The quotas a new object is created within. The store counts and inserts in one
/// transaction under a lock on the space, so creations on several servers of a cluster at
/// once cannot together go over a limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectQuota {
    /// Most objects the space may hold, not counting those whose plugin URL is
    /// `uncounted_url`.
    pub per_space: usize,
    /// The plugin URL of the objects the space's count leaves out (the floor object).
    pub uncounted_url: String,
    /// Most dynamic objects the new object's creator may have created in the space
    /// (`None`: not bounded, e.g. an admin's creation).
    pub per_creator: Option<usize>,
}

/// Which quota refused a creation, with the count found (at the limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaFull {
    /// The space holds `.0` counted objects.
    Space(usize),
    /// The creator has `.0` dynamic objects in the space.
    Creator(usize),
}

impl ObjectQuota {
    /// The refusal, if any, given the space's counted objects and the creator's.
    pub fn refusal(&self, in_space: usize, by_creator: usize) -> Option<QuotaFull> {
        if in_space >= self.per_space {
            return Some(QuotaFull::Space(in_space));
        }
        match self.per_creator {
            Some(max) if by_creator >= max => Some(QuotaFull::Creator(by_creator)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The id is taken.
    Conflict(String),
    /// A referenced row (e.g. the space of a new object) does not exist.
    Missing(String),
    /// The backend failed (or cannot be reached): retry later.
    Backend(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Conflict(m) => write!(f, "already exists: {m}"),
            StoreError::Missing(m) => write!(f, "not found: {m}"),
            StoreError::Backend(m) => write!(f, "storage failed: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

pub type StoreResult<T> = Result<T, StoreError>;

pub(crate) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// How SQLite syncs a commit. `Full`: an acknowledged write survives power loss. `Normal`:
/// it survives a crash of the process but not of the machine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SqliteSync {
    #[default]
    Full,
    Normal,
}

pub(crate) fn object_type_str(t: ObjectType) -> &'static str {
    match t {
        ObjectType::Static => "static",
        ObjectType::Dynamic => "dynamic",
    }
}

pub(crate) fn object_type_from(s: &str) -> ObjectType {
    if s == "dynamic" {
        ObjectType::Dynamic
    } else {
        ObjectType::Static
    }
}
