//! The participant API: a space's objects, and placing a dynamic object, for the holder
//! of a participant token valid in that space.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;

use super::error::{ApiError, ApiErrorCode, ApiResult};
use super::objects::{blocking, NewObject};
use crate::auth;
use crate::auth::token::Claims;
use crate::state::AppState;
use crate::store::ObjectDef;

/// The claims of the request's participant token, which must not be scoped to another
/// space than `space`.
fn require_participant_in(state: &AppState, headers: &HeaderMap, space: &str) -> ApiResult<Claims> {
    let token = auth::bearer(headers).ok_or_else(|| {
        ApiError::new(
            ApiErrorCode::Unauthorized,
            "participant token required (Authorization: Bearer <token>)",
        )
    })?;
    let claims = state
        .verify_token(token)
        .map_err(|e| ApiError::new(ApiErrorCode::Unauthorized, e.to_string()))?;
    if !auth::space_allows(claims.space.as_deref(), space) {
        return Err(ApiError::new(
            ApiErrorCode::Forbidden,
            "this token is for another space",
        ));
    }
    Ok(claims)
}

pub async fn space_objects(
    State(state): State<AppState>,
    Path(space): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<ObjectDef>>> {
    require_participant_in(&state, &headers, &space)?;
    let objects = blocking(&state.hub.store, move |s| s.objects(Some(&space))).await?;
    Ok(Json(objects))
}

/// A participant places a dynamic object: they are its creator, hence its host.
pub async fn create_dynamic(
    State(state): State<AppState>,
    Path(space): Path<String>,
    headers: HeaderMap,
    Json(new): Json<NewObject>,
) -> ApiResult<(StatusCode, Json<ObjectDef>)> {
    let claims = require_participant_in(&state, &headers, &space)?;
    let new = new.placed_by(claims.user.id.as_source());
    super::objects::create_object(&state, space, new).await
}
