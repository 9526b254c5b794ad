//! The admin API: spaces, objects, participant tokens and revocation. A caller is an
//! admin with the admin key or a token whose role is `admin`; a token whose role is
//! `owner` administers the one space it is scoped to.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::{ApiError, ApiErrorCode, ApiResult};
use super::objects::{blocking, check_id, new_id, NewObject};
use super::participant::require_participant;
use crate::auth;
use crate::auth::token::{now_secs, IssuedToken, Role, TokenRequest};
use crate::state::AppState;
use crate::store::{ObjectDef, Revocation, RevocationKind, SpaceDef};

/// Who is administering.
enum Admin {
    /// The admin key, or a token with role admin: everything.
    Server,
    /// A token with role owner: its space only.
    Owner(String),
}

impl Admin {
    fn may(&self, space: &str) -> bool {
        match self {
            Admin::Server => true,
            Admin::Owner(own) => own == space,
        }
    }
}

async fn require_admin(state: &AppState, headers: &HeaderMap) -> ApiResult<Admin> {
    if auth::is_admin(headers, &state.admin_key) {
        return Ok(Admin::Server);
    }
    if auth::bearer(headers).is_none() {
        return Err(ApiError::new(
            ApiErrorCode::Unauthorized,
            "admin key or an admin's token required (Authorization: Bearer <key or token>, or X-Admin-Key)",
        ));
    }
    let claims = require_participant(state, headers).await.map_err(|e| {
        ApiError::new(
            ApiErrorCode::Unauthorized,
            format!("not the admin key, and not a valid token: {}", e.message()),
        )
    })?;
    match (claims.role, claims.space) {
        (Role::Admin, _) => Ok(Admin::Server),
        (Role::Owner, Some(space)) => Ok(Admin::Owner(space)),
        (role, _) => Err(ApiError::new(
            ApiErrorCode::Forbidden,
            format!("signed in as {} with role {role}: administering needs role admin (or owner of a space)", claims.name),
        )),
    }
}

async fn require_admin_of(state: &AppState, headers: &HeaderMap, space: &str) -> ApiResult<()> {
    if require_admin(state, headers).await?.may(space) {
        Ok(())
    } else {
        Err(ApiError::new(
            ApiErrorCode::Forbidden,
            format!("an owner administers only their own space, not {space:?}"),
        ))
    }
}

async fn require_server_admin(state: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    match require_admin(state, headers).await? {
        Admin::Server => Ok(()),
        Admin::Owner(_) => Err(ApiError::new(
            ApiErrorCode::Forbidden,
            "only a server admin may do this (a space owner may not)",
        )),
    }
}

pub async fn spaces(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<SpaceDef>>> {
    let admin = require_admin(&state, &headers).await?;
    let all = blocking(&state.hub.store, |s| s.spaces()).await?;
    Ok(Json(all.into_iter().filter(|s| admin.may(&s.id)).collect()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
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
    require_server_admin(&state, &headers).await?;
    let id = new.id.unwrap_or_else(|| new_id("space"));
    check_id(&id)?;
    let name = new.name.trim();
    if name.is_empty() || name.len() > 128 {
        return Err(ApiError::bad_request("`name` must be 1 to 128 bytes"));
    }
    let space = SpaceDef {
        id,
        name: name.to_owned(),
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
    require_admin_of(&state, &headers, &space).await?;
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
    require_admin_of(&state, &headers, &space).await?;
    super::objects::create_object(&state, space, new).await
}

pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(request): Json<TokenRequest>,
) -> ApiResult<(StatusCode, Json<IssuedToken>)> {
    require_server_admin(&state, &headers).await?;
    let issued = state
        .tokens
        .mint(&request)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok((StatusCode::CREATED, Json(issued)))
}

pub async fn revocations(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<Revocation>>> {
    require_server_admin(&state, &headers).await?;
    Ok(Json(state.tokens.revocations.list()))
}

/// `{jti}` revokes one token, `{sub}` every token of that user issued until now.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revoke {
    #[serde(default)]
    jti: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    reason: String,
}

pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<Revoke>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    require_server_admin(&state, &headers).await?;
    let (kind, value) = match (body.jti, body.sub) {
        (Some(jti), None) => (RevocationKind::Jti, jti),
        (None, Some(sub)) => (RevocationKind::Sub, sub),
        _ => {
            return Err(ApiError::bad_request(
                "give exactly one of `jti` (one token) or `sub` (every token of a user)",
            ))
        }
    };
    let value = value.trim().to_owned();
    if value.is_empty() || value.len() > 128 {
        return Err(ApiError::bad_request(format!(
            "`{}` must be 1 to 128 bytes",
            kind.as_str()
        )));
    }
    if body.reason.len() > 512 {
        return Err(ApiError::bad_request("`reason` must be at most 512 bytes"));
    }
    let revocation = Revocation {
        kind,
        value,
        at: now_secs(),
        reason: body.reason,
    };
    let stored = revocation.clone();
    blocking(&state.hub.store, move |s| s.revoke(&stored)).await?;
    let closed = state.tokens.revocations.add(revocation.clone());
    tracing::info!(kind = kind.as_str(), value = %revocation.value, closed, "revoked");
    Ok((
        StatusCode::CREATED,
        Json(json!({"revocation": revocation, "closed": closed})),
    ))
}
