//! HTTP API: [`admin`] (guarded by the admin key), [`participant`] (guarded by a
//! participant token), [`dev`] (the dev-only login of demo mode), and the public
//! `/api/info` and `/metrics`.
//!
//! ```text
//! GET  /api/info                              public: dev login on?, demo space, limits
//! POST /api/dev/login            {name}       demo mode only: a token for a typed name
//! GET  /api/spaces/{space}/objects            participant: the space's objects
//! POST /api/spaces/{space}/objects            participant: create a dynamic object (host = you)
//! GET  /api/admin/spaces                      admin
//! POST /api/admin/spaces         {id?, name}  admin
//! GET  /api/admin/spaces/{space}/objects      admin
//! POST /api/admin/spaces/{space}/objects      admin: {id?, name?, type, pluginUrl, settings?, creator?}
//! POST /api/admin/tokens         {id, name, ...}  admin: a participant token
//! ```

pub mod admin;
pub mod dev;
pub mod participant;

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use meetbridge_protocol::ovice::ObjectType;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::token::now_secs;
use crate::state::AppState;
use crate::store::{ObjectDef, ObjectSettings, Store, StoreError};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/info", get(info))
        .route("/metrics", get(metrics))
        .route("/api/dev/login", post(dev::login))
        .route(
            "/api/spaces/{space}/objects",
            get(participant::space_objects).post(participant::create_dynamic),
        )
        .route(
            "/api/admin/spaces",
            get(admin::spaces).post(admin::create_space),
        )
        .route(
            "/api/admin/spaces/{space}/objects",
            get(admin::objects).post(admin::create_object),
        )
        .route("/api/admin/tokens", post(admin::token))
}

/// The `error` of an API error body. Stable strings: clients switch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    Internal,
}

impl ApiErrorCode {
    fn status(self) -> StatusCode {
        match self {
            ApiErrorCode::BadRequest => StatusCode::BAD_REQUEST,
            ApiErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ApiErrorCode::NotFound => StatusCode::NOT_FOUND,
            ApiErrorCode::Conflict => StatusCode::CONFLICT,
            ApiErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An error as JSON: `{"error": code, "message": text}`, with the code's HTTP status.
#[derive(Debug)]
pub struct ApiError {
    code: ApiErrorCode,
    message: String,
}

impl ApiError {
    pub fn new(code: ApiErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(ApiErrorCode::BadRequest, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({"error": self.code, "message": self.message}));
        (self.code.status(), body).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => {
                ApiError::new(ApiErrorCode::Conflict, format!("{m} already exists"))
            }
            StoreError::Missing(m) => {
                ApiError::new(ApiErrorCode::NotFound, format!("{m} not found"))
            }
            StoreError::Backend(m) => ApiError::new(ApiErrorCode::Internal, m),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Runs a blocking store call off the async threads.
async fn blocking<T: Send + 'static>(
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
fn new_id(prefix: &str) -> String {
    use rand::Rng;
    format!("{prefix}-{:08x}", rand::thread_rng().gen::<u32>())
}

fn check_id(id: &str) -> ApiResult<()> {
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

async fn info(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({
        "devLogin": state.dev_login,
        "demoSpace": state.demo_space,
        "ws": "/ws",
        "subprotocol": crate::auth::SUBPROTOCOL,
        "limits": state.hub.limits_frame(),
    }))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.hub.metrics.render(),
    )
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

fn default_type() -> ObjectType {
    ObjectType::Static
}

/// Stores the object and makes it live.
async fn create_object(
    state: &AppState,
    space: String,
    new: NewObject,
) -> ApiResult<(StatusCode, Json<ObjectDef>)> {
    let id = new.id.unwrap_or_else(|| new_id("obj"));
    check_id(&id)?;
    if new.plugin_url.trim().is_empty() {
        return Err(ApiError::bad_request("`pluginUrl` is required"));
    }
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
