//! Durable state: spaces, objects and each object's saved-data document.
//!
//! [`Store`] is the seam for other backends (PostgreSQL later); [`sqlite::SqliteStore`] is
//! the embedded default. Saves are asynchronous with a completion callback, called in
//! submission order only after the write has committed, so the relay can acknowledge
//! `ovice_save_and_emit_data` honestly and in order.

pub mod sqlite;

use meetbridge_protocol::ovice::ObjectType;
use serde::{Deserialize, Serialize};

/// A place that holds objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpaceDef {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

/// One plugin instance in a space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectDef {
    pub id: String,
    pub space_id: String,
    pub name: String,
    pub object_type: ObjectType,
    /// The plugin page loaded in the object's iframe.
    pub plugin_url: String,
    pub settings: ObjectSettings,
    /// For dynamic objects: the user id of the creator, who is the object's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<String>,
    pub created_at: i64,
}

/// Per-object settings set by the organisation's owner.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ObjectSettings {
    /// Whether participants' e-mail addresses are given to the plugin (the oVice contract: only
    /// when the owner allows it). Off unless set.
    pub share_email: bool,
}

/// An object's saved-data document as stored: its JSON text and when it was saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedDoc {
    pub json: String,
    /// Seconds since the Unix epoch.
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// The id is taken.
    Conflict(String),
    /// A referenced row (e.g. the space of a new object) does not exist.
    Missing(String),
    /// The backend failed.
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

/// Called once a save has committed (or failed), in submission order.
pub type SaveDone = Box<dyn FnOnce(StoreResult<()>) + Send>;

/// Durable storage. Methods other than [`Store::save_data`] block briefly; call them from
/// `spawn_blocking` or at startup.
pub trait Store: Send + Sync + 'static {
    fn create_space(&self, space: &SpaceDef) -> StoreResult<()>;
    fn spaces(&self) -> StoreResult<Vec<SpaceDef>>;
    fn create_object(&self, object: &ObjectDef) -> StoreResult<()>;
    /// All objects, or those of one space.
    fn objects(&self, space: Option<&str>) -> StoreResult<Vec<ObjectDef>>;
    fn object(&self, id: &str) -> StoreResult<Option<ObjectDef>>;
    fn load_data(&self, object: &str) -> StoreResult<Option<SavedDoc>>;
    /// Queues a durable write of `object`'s document; `done` runs after the commit.
    fn save_data(&self, object: &str, doc: SavedDoc, done: SaveDone);
}
