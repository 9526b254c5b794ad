//! Objects and spaces as the admin and participant APIs create them, and the store
//! calls they share.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::Json;
use meetbridge_protocol::ovice::ObjectType;
use serde::Deserialize;

use super::error::{ApiError, ApiErrorCode, ApiResult};
use crate::auth::token::now_secs;
use crate::state::AppState;
use crate::store::{ObjectDef, ObjectSettings, Store, StoreError};
use meetbridge_protocol::plugin_url::check_plugin_url;

/// Runs a blocking store call off the async threads.
pub(super) async fn blocking<T: Send + 'static>(
    store: &Arc<dyn Store>,
    f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
) -> ApiResult<T> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || f(&*store))
        .await
        .map_err(|e| ApiError::new(ApiErrorCode::Internal, e.to_string()))?
        .map_err(ApiError::from)
}

/// A random id with a readable prefix.
pub(super) fn new_id(prefix: &str) -> String {
    use rand::Rng;
    format!("{prefix}-{:08x}", rand::thread_rng().gen::<u32>())
}

pub(super) fn check_id(id: &str) -> ApiResult<()> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "ids are 1 to 128 characters of letters, digits, `-`, `_`, `.`",
        ))
    }
}

/// An object to create, as the admin and participant APIs take it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewObject {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "type", default = "default_type")]
    object_type: ObjectType,
    plugin_url: String,
    #[serde(default)]
    settings: ObjectSettings,
    #[serde(default)]
    creator: Option<String>,
}

impl NewObject {
    /// The object as a participant places it: dynamic, with them as its creator (hence
    /// its host), and never sharing e-mail, which is the organisation owner's decision.
    pub(super) fn placed_by(mut self, creator: String) -> Self {
        self.object_type = ObjectType::Dynamic;
        self.creator = Some(creator);
        self.settings.share_email = false;
        self
    }
}

fn default_type() -> ObjectType {
    ObjectType::Static
}

/// Stores the object and makes it live.
pub(super) async fn create_object(
    state: &AppState,
    space: String,
    new: NewObject,
) -> ApiResult<(StatusCode, Json<ObjectDef>)> {
    let id = new.id.unwrap_or_else(|| new_id("obj"));
    check_id(&id)?;
    check_plugin_url("pluginUrl", &new.plugin_url, &state.plugin_policy())
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let def = ObjectDef {
        name: new.name.unwrap_or_else(|| id.clone()),
        id,
        space_id: space,
        object_type: new.object_type,
        plugin_url: new.plugin_url,
        settings: new.settings,
        creator: new.creator,
        created_at: now_secs(),
    };
    let stored = def.clone();
    blocking(&state.hub.store, move |s| s.create_object(&stored)).await?;
    state.hub.insert(def.clone());
    Ok((StatusCode::CREATED, Json(def)))
}
