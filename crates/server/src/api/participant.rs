//! The participant API, guarded by a participant token: list a space's objects, place a
//! dynamic object (the caller becomes its host).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;

use super::error::{ApiError, ApiErrorCode, ApiResult};
use super::objects::{blocking, NewObject};
use crate::auth;
use crate::auth::token::{Claims, Role};
use crate::state::AppState;
use crate::store::ObjectDef;

/// The claims of the request's participant token, which must open `space`.
pub(super) async fn require_participant_in(
    state: &AppState,
    headers: &HeaderMap,
    space: &str,
) -> ApiResult<Claims> {
    let claims = require_participant(state, headers).await?;
    if !auth::space_allows(claims.space.as_deref(), claims.role, space) {
        let why = match &claims.space {
            Some(other) => format!("this token opens space {other:?}, not {space:?}"),
            None => "this token names no space (`space` claim) and its role is not admin".into(),
        };
        return Err(ApiError::new(ApiErrorCode::Forbidden, why));
    }
    Ok(claims)
}

/// The claims of the request's participant token.
pub(super) async fn require_participant(
    state: &AppState,
    headers: &HeaderMap,
) -> ApiResult<Claims> {
    let token = auth::bearer(headers).ok_or_else(|| {
        ApiError::new(
            ApiErrorCode::Unauthorized,
            "participant token required (Authorization: Bearer <token>)",
        )
    })?;
    state.verify_token(token).await.map_err(ApiError::from)
}

pub async fn space_objects(
    State(state): State<AppState>,
    Path(space): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<ObjectDef>>> {
    require_participant_in(&state, &headers, &space).await?;
    let objects = blocking(&state.hub.store, move |s| s.objects(Some(&space))).await?;
    Ok(Json(objects))
}

/// A participant places a dynamic object: they are its creator, hence its host. Visitors
/// may not; e-mail sharing is the owner's decision, never a participant's.
pub async fn create_dynamic(
    State(state): State<AppState>,
    Path(space): Path<String>,
    headers: HeaderMap,
    Json(new): Json<NewObject>,
) -> ApiResult<(StatusCode, Json<ObjectDef>)> {
    let claims = require_participant_in(&state, &headers, &space).await?;
    if claims.role == Role::Visitor || claims.is_visitor {
        return Err(ApiError::new(
            ApiErrorCode::Forbidden,
            "visitors may not create objects (role visitor)",
        ));
    }
    let new = new.placed_by(claims.sub.clone());
    super::objects::create_object(&state, space, new).await
}
