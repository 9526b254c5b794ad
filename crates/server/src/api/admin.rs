//! The admin API: spaces, objects and participant tokens, guarded by the admin key.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;

use super::error::{ApiError, ApiErrorCode, ApiResult};
use super::objects::{blocking, check_id, new_id, NewObject};
use crate::auth;
use crate::auth::token::{now_secs, IssuedToken, TokenRequest};
use crate::state::AppState;
use crate::store::{ObjectDef, SpaceDef};

/// Checks the admin key.
fn require_admin(state: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    if auth::is_admin(headers, &state.admin_key) {
        Ok(())
    } else {
        Err(ApiError::new(
            ApiErrorCode::Unauthorized,
            "admin key required (Authorization: Bearer <key> or X-Admin-Key)",
        ))
    }
}

pub async fn spaces(
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

pub async fn create_space(
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

pub async fn objects(
    State(state): State<AppState>,
    Path(space): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<ObjectDef>>> {
    require_admin(&state, &headers)?;
    Ok(Json(
        blocking(&state.hub.store, move |s| s.objects(Some(&space))).await?,
    ))
}

pub async fn create_object(
    State(state): State<AppState>,
    Path(space): Path<String>,
    headers: HeaderMap,
    Json(new): Json<NewObject>,
) -> ApiResult<(StatusCode, Json<ObjectDef>)> {
    require_admin(&state, &headers)?;
    super::objects::create_object(&state, space, new).await
}

pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(request): Json<TokenRequest>,
) -> ApiResult<(StatusCode, Json<IssuedToken>)> {
    require_admin(&state, &headers)?;
    let issued = request
        .issue(&state.tokens)
        .map_err(ApiError::bad_request)?;
    Ok((StatusCode::CREATED, Json(issued)))
}
