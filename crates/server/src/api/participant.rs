//! The participant API, guarded by a participant token that opens the space: read the
//! space (its objects with their positions, and whether the caller may create meetings),
//! read one object, place a dynamic object (the caller becomes its host) when the space's
//! `createDynamic` setting and the quotas allow.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;

use meetbridge_protocol::space::SpaceView;

use super::body::Body;
use super::error::{ApiError, ApiErrorCode, ApiResult};
use super::objects::{blocking, may_create_dynamic, object_in, space_def, NewObject, Placer};
use crate::auth;
use crate::auth::token::Claims;
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

/// The space as its page needs it: its definition, its objects (with their positions) and
/// whether the caller may create a meeting in it.
pub async fn space(
    State(state): State<AppState>,
    Path(space): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<SpaceView>> {
    let claims = require_participant_in(&state, &headers, &space).await?;
    let def = space_def(&state, &space).await?;
    let objects = blocking(&state.hub.store, move |s| s.objects(Some(&space))).await?;
    Ok(Json(SpaceView {
        may_create_dynamic: may_create_dynamic(def.settings.create_dynamic, &claims),
        space: def,
        objects,
    }))
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

/// One object of the space (a meeting page asks whether its meeting exists).
pub async fn space_object(
    State(state): State<AppState>,
    Path((space, object)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Json<ObjectDef>> {
    require_participant_in(&state, &headers, &space).await?;
    Ok(Json(object_in(&state, &space, &object).await?))
}

/// A participant places a dynamic object: they are its creator, hence its host. The
/// space's `createDynamic` setting says who may (never visitors), the quotas how many;
/// e-mail sharing is the owner's decision, never a participant's.
pub async fn create_dynamic(
    State(state): State<AppState>,
    Path(space): Path<String>,
    headers: HeaderMap,
    Body(new): Body<NewObject>,
) -> ApiResult<(StatusCode, Json<ObjectDef>)> {
    let claims = require_participant_in(&state, &headers, &space).await?;
    if claims.is_visitor || claims.role == crate::auth::token::Role::Visitor {
        return Err(ApiError::new(
            ApiErrorCode::CreateNotAllowed,
            "visitors may not create objects (role visitor)",
        ));
    }
    let def =
        super::objects::create_object(&state, space, new, Placer::Participant(&claims)).await?;
    Ok((StatusCode::CREATED, Json(def)))
}
