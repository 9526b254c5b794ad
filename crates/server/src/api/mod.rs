//! HTTP API: the admin API (guarded by the admin key), the participant API (guarded by a
//! participant token), the dev-only login of demo mode, and `/metrics`.
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

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use meetbridge_protocol::ovice::ObjectType;
use serde::Deserialize;
use serde_json::json;

use crate::server::AppState;
use crate::store::{ObjectDef, ObjectSettings, SpaceDef, Store, StoreError};
use crate::token::{now_secs, Claims, TokenRequest};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/info", get(info))
        .route("/api/dev/login", post(dev_login))
        .route(
            "/api/spaces/{space}/objects",
            get(space_objects).post(create_dynamic),
        )
        .route(
            "/api/admin/spaces",
            get(admin_spaces).post(admin_create_space),
        )
        .route(
            "/api/admin/spaces/{space}/objects",
            get(admin_objects).post(admin_create_object),
        )
        .route("/api/admin/tokens", post(admin_token))
}

/// An error as JSON: `{"error": code, "message": text}`.
#[derive(Debug)]
pub struct ApiError(StatusCode, &'static str, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1, "message": self.2}))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => ApiError(
                StatusCode::CONFLICT,
                "conflict",
                format!("{m} already exists"),
            ),
            StoreError::Missing(m) => {
                ApiError(StatusCode::NOT_FOUND, "not_found", format!("{m} not found"))
            }
            StoreError::Backend(m) => ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal", m),
        }
    }
}

fn bad_request(m: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, "bad_request", m.into())
}

type ApiResult<T> = Result<T, ApiError>;

/// Runs a blocking store call off the async threads.
async fn blocking<T: Send + 'static>(
    store: &Arc<dyn Store>,
    f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
) -> ApiResult<T> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || f(&*store))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
        .map_err(ApiError::from)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// Checks the admin key, in constant time.
fn require_admin(state: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    let given = bearer(headers)
        .or_else(|| headers.get("x-admin-key").and_then(|v| v.to_str().ok()))
        .unwrap_or("");
    let expected = state.admin_key.as_bytes();
    let same = given.len() == expected.len()
        && given
            .as_bytes()
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(())
    } else {
        Err(ApiError(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "admin key required (Authorization: Bearer <key> or X-Admin-Key)".into(),
        ))
    }
}

fn require_participant(state: &AppState, headers: &HeaderMap) -> ApiResult<Claims> {
    let token = bearer(headers).ok_or_else(|| {
        ApiError(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "participant token required (Authorization: Bearer <token>)".into(),
        )
    })?;
    state
        .tokens
        .verify(token, now_secs())
        .map_err(|e| ApiError(StatusCode::UNAUTHORIZED, "unauthorized", e.to_string()))
}

/// [`require_participant`], and the token must not be scoped to another space.
fn require_participant_in(state: &AppState, headers: &HeaderMap, space: &str) -> ApiResult<Claims> {
    let claims = require_participant(state, headers)?;
    if claims.space.as_deref().is_some_and(|s| s != space) {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this token is for another space".into(),
        ));
    }
    Ok(claims)
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
        Err(bad_request(
            "ids are 1 to 128 characters of letters, digits, `-`, `_`, `.`",
        ))
    }
}

async fn info(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({
        "devLogin": state.dev_login,
        "demoSpace": state.demo_space,
        "ws": "/ws",
        "subprotocol": crate::ws::SUBPROTOCOL,
        "limits": crate::connection::limits(&state.hub),
    }))
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.hub.metrics.render(),
    )
}

#[derive(Debug, Deserialize)]
pub struct DevLogin {
    name: String,
    #[serde(default)]
    space: Option<String>,
}

/// DEV ONLY (demo mode): anyone can become anyone by typing a name. The id is derived
/// from the name (`dev-<slug>`), so the same name in two tabs is the same participant.
async fn dev_login(
    State(state): State<AppState>,
    Json(body): Json<DevLogin>,
) -> ApiResult<Response> {
    if !state.dev_login {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            "not_found",
            "the dev login exists only in demo mode (serve --demo)".into(),
        ));
    }
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(bad_request("`name` must be 1 to 64 characters"));
    }
    let slug = dev_slug(name);
    let request = TokenRequest {
        id: format!("dev-{slug}"),
        name: name.to_owned(),
        avatar_url: String::new(),
        workspace_id: "demo".into(),
        language: Some("en".into()),
        email: Some(format!("{slug}@dev.invalid")),
        is_visitor: false,
        space: body.space.or_else(|| state.demo_space.clone()),
        ttl_secs: 12 * 3600,
    };
    let issued = request.issue(&state.tokens).map_err(bad_request)?;
    tracing::warn!(user = %request.id, "dev-only login used");
    Ok(Json(json!({
        "devOnly": true,
        "token": issued.token,
        "participant": issued.claims.user,
        "space": issued.claims.space,
        "expiresAt": issued.claims.exp,
    }))
    .into_response())
}

/// The id part of a dev login: the name's ASCII letters and digits, lower-cased and
/// joined by `-`; a name without any (say, in Japanese) gets a short stable hash instead,
/// so the same name is always the same participant.
pub fn dev_slug(name: &str) -> String {
    let slug = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if !slug.is_empty() {
        return slug;
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(name.as_bytes());
    digest[..5].iter().map(|b| format!("{b:02x}")).collect()
}

async fn space_objects(
    State(state): State<AppState>,
    Path(space): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<ObjectDef>>> {
    require_participant_in(&state, &headers, &space)?;
    let objects = blocking(&state.hub.store, move |s| s.objects(Some(&space))).await?;
    Ok(Json(objects))
}

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

async fn create_object(
    state: &AppState,
    space: String,
    new: NewObject,
) -> ApiResult<(StatusCode, Json<ObjectDef>)> {
    let id = new.id.unwrap_or_else(|| new_id("obj"));
    check_id(&id)?;
    if new.plugin_url.trim().is_empty() {
        return Err(bad_request("`pluginUrl` is required"));
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

/// A participant places a dynamic object: they are its creator, hence its host.
async fn create_dynamic(
    State(state): State<AppState>,
    Path(space): Path<String>,
    headers: HeaderMap,
    Json(mut new): Json<NewObject>,
) -> ApiResult<(StatusCode, Json<ObjectDef>)> {
    let claims = require_participant_in(&state, &headers, &space)?;
    new.object_type = ObjectType::Dynamic;
    new.creator = Some(claims.user.id.as_source());
    // Sharing e-mail is the organisation owner's decision, not a participant's.
    new.settings.share_email = false;
    create_object(&state, space, new).await
}

async fn admin_spaces(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<SpaceDef>>> {
    require_admin(&state, &headers)?;
    Ok(Json(blocking(&state.hub.store, |s| s.spaces()).await?))
}

#[derive(Debug, Deserialize)]
pub struct NewSpace {
    #[serde(default)]
    id: Option<String>,
    name: String,
}

async fn admin_create_space(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(new): Json<NewSpace>,
) -> ApiResult<(StatusCode, Json<SpaceDef>)> {
    require_admin(&state, &headers)?;
    let id = new.id.unwrap_or_else(|| new_id("space"));
    check_id(&id)?;
    let space = SpaceDef {
        id,
        name: new.name,
        created_at: now_secs(),
    };
    let stored = space.clone();
    blocking(&state.hub.store, move |s| s.create_space(&stored)).await?;
    Ok((StatusCode::CREATED, Json(space)))
}

async fn admin_objects(
    State(state): State<AppState>,
    Path(space): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<ObjectDef>>> {
    require_admin(&state, &headers)?;
    Ok(Json(
        blocking(&state.hub.store, move |s| s.objects(Some(&space))).await?,
    ))
}

async fn admin_create_object(
    State(state): State<AppState>,
    Path(space): Path<String>,
    headers: HeaderMap,
    Json(new): Json<NewObject>,
) -> ApiResult<(StatusCode, Json<ObjectDef>)> {
    require_admin(&state, &headers)?;
    create_object(&state, space, new).await
}

async fn admin_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(request): Json<TokenRequest>,
) -> ApiResult<(StatusCode, Json<crate::token::IssuedToken>)> {
    require_admin(&state, &headers)?;
    let issued = request.issue(&state.tokens).map_err(bad_request)?;
    Ok((StatusCode::CREATED, Json(issued)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn dev_slugs_are_stable_and_never_empty() {
        assert_eq!(super::dev_slug("Alice"), "alice");
        assert_eq!(super::dev_slug("  Bob  Smith! "), "bob-smith");
        let jp = super::dev_slug("山田");
        assert_eq!(jp.len(), 10);
        assert_eq!(jp, super::dev_slug("山田"));
        assert_ne!(jp, super::dev_slug("田中"));
    }
}
