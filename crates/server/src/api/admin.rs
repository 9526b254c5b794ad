//! The admin API: spaces (create, rename, settings, delete), objects (create, edit,
//! delete), who is present where, participant tokens and revocation. A caller is an admin
//! with the admin key or a token whose role is `admin`; a token whose role is `owner`
//! administers the one space it is scoped to (its objects, its name and settings, its
//! presence), but creates and deletes no space.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use meetbridge_protocol::space::{
    CreateDynamic, FloorFrame, ObjectPresence, PresenceView, SpaceSettings,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::body::Body;
use super::error::{ApiError, ApiErrorCode, ApiResult};
use super::objects::{
    blocking, check_id, check_name, check_plugin_origins, new_id, space_def, NewObject,
    ObjectPatch, Placer,
};
use super::participant::require_participant;
use crate::auth;
use crate::auth::token::{now_secs, IssuedToken, Role, TokenRequest};
use crate::state::AppState;
use crate::store::{ObjectDef, ObjectRemoval, Revocation, RevocationKind, SpaceDef};

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
    #[serde(default)]
    settings: SpaceSettingsPatch,
}

/// Space settings as a request gives them: each key given replaces, absent keys stay.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SpaceSettingsPatch {
    #[serde(default)]
    create_dynamic: Option<CreateDynamic>,
    #[serde(default)]
    plugin_origins: Option<Vec<String>>,
}

impl SpaceSettingsPatch {
    /// The settings after this patch, checked against the space's objects.
    fn apply(
        self,
        state: &AppState,
        mut settings: SpaceSettings,
        objects: &[ObjectDef],
    ) -> ApiResult<SpaceSettings> {
        if let Some(c) = self.create_dynamic {
            settings.create_dynamic = c;
        }
        if let Some(origins) = self.plugin_origins {
            check_plugin_origins(state, &origins, objects)?;
            settings.plugin_origins = origins
                .into_iter()
                .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
                .collect();
        }
        Ok(settings)
    }
}

pub async fn create_space(
    State(state): State<AppState>,
    headers: HeaderMap,
    Body(new): Body<NewSpace>,
) -> ApiResult<(StatusCode, Json<SpaceDef>)> {
    require_server_admin(&state, &headers).await?;
    let id = new.id.unwrap_or_else(|| new_id("space"));
    check_id(&id)?;
    let space = SpaceDef {
        id,
        name: check_name("name", &new.name)?,
        created_at: now_secs(),
        settings: new.settings.apply(&state, SpaceSettings::default(), &[])?,
    };
    let stored = space.clone();
    blocking(&state.hub.store, move |s| s.create_space(&stored)).await?;
    Ok((StatusCode::CREATED, Json(space)))
}

/// A rename or a change of settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpacePatch {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    settings: Option<SpaceSettingsPatch>,
}

pub async fn update_space(
    State(state): State<AppState>,
    Path(space): Path<String>,
    headers: HeaderMap,
    Body(patch): Body<SpacePatch>,
) -> ApiResult<Json<SpaceDef>> {
    require_admin_of(&state, &headers, &space).await?;
    let mut def = space_def(&state, &space).await?;
    if let Some(name) = patch.name {
        def.name = check_name("name", &name)?;
    }
    if let Some(settings) = patch.settings {
        let id = def.id.clone();
        let objects = blocking(&state.hub.store, move |s| s.objects(Some(&id))).await?;
        def.settings = settings.apply(&state, def.settings, &objects)?;
    }
    let stored = def.clone();
    blocking(&state.hub.store, move |s| s.update_space(&stored)).await?;
    state
        .hub
        .floor_changed(FloorFrame::SpaceUpdated {
            space: def.id.clone(),
            def: def.clone(),
        })
        .await;
    Ok(Json(def))
}

/// Deletes a space and every object in it, with all they kept (saved data, logs,
/// remembered ids); answers how many objects went.
pub async fn delete_space(
    State(state): State<AppState>,
    Path(space): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    require_server_admin(&state, &headers).await?;
    let id = space.clone();
    let objects = blocking(&state.hub.store, move |s| s.delete_space(&id)).await?;
    for object in &objects {
        state.hub.remove(object);
    }
    state
        .hub
        .floor_changed(FloorFrame::SpaceRemoved {
            space: space.clone(),
        })
        .await;
    tracing::info!(space = %space, objects = objects.len(), "space deleted");
    Ok(Json(json!({"space": space, "objects": objects.len()})))
}

pub async fn objects(
    State(state): State<AppState>,
    Path(space): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<ObjectDef>>> {
    require_admin_of(&state, &headers, &space).await?;
    space_def(&state, &space).await?;
    Ok(Json(
        blocking(&state.hub.store, move |s| s.objects(Some(&space))).await?,
    ))
}

pub async fn create_object(
    State(state): State<AppState>,
    Path(space): Path<String>,
    headers: HeaderMap,
    Body(new): Body<NewObject>,
) -> ApiResult<(StatusCode, Json<ObjectDef>)> {
    require_admin_of(&state, &headers, &space).await?;
    let def = super::objects::create_object(&state, space, new, Placer::Admin).await?;
    Ok((StatusCode::CREATED, Json(def)))
}

pub async fn update_object(
    State(state): State<AppState>,
    Path((space, object)): Path<(String, String)>,
    headers: HeaderMap,
    Body(patch): Body<ObjectPatch>,
) -> ApiResult<Json<ObjectDef>> {
    require_admin_of(&state, &headers, &space).await?;
    Ok(Json(
        super::objects::update_object(&state, &space, &object, patch).await?,
    ))
}

/// Deletes an object with its saved data, message log and remembered ids; answers what
/// went.
pub async fn delete_object(
    State(state): State<AppState>,
    Path((space, object)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    require_admin_of(&state, &headers, &space).await?;
    let ObjectRemoval {
        log_entries,
        saved_data,
    } = super::objects::delete_object(&state, &space, &object).await?;
    tracing::info!(space = %space, object = %object, log_entries, saved_data, "object deleted");
    Ok(Json(
        json!({"object": object, "logEntries": log_entries, "savedData": saved_data}),
    ))
}

/// Who is present on which object of the space. In cluster mode every node's members are
/// in this node's rooms (the presence bucket's watcher loads the rooms they are on), so any
/// node gives the whole cluster's view.
pub async fn presence(
    State(state): State<AppState>,
    Path(space): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Json<PresenceView>> {
    require_admin_of(&state, &headers, &space).await?;
    space_def(&state, &space).await?;
    let mut objects: Vec<ObjectPresence> = state
        .hub
        .rooms_in(&space)
        .into_iter()
        .filter_map(|room| {
            let participants = room.present();
            (!participants.is_empty()).then(|| ObjectPresence {
                object: room.id().to_owned(),
                name: room.def().name.clone(),
                participants,
            })
        })
        .collect();
    objects.sort_by(|a, b| a.object.cmp(&b.object));
    Ok(Json(PresenceView { space, objects }))
}

pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    Body(request): Body<TokenRequest>,
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
    Body(body): Body<Revoke>,
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
