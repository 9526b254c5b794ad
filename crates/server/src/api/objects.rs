//! Objects as the admin and participant APIs create, edit and delete them, and the rules
//! they share: every object is checked against the plugin URL policy (the operator's
//! flags and the space's origin allow-list), its settings must narrow the default sandbox,
//! its position must be on the floor; quotas bound how many objects a space and a
//! participant hold; every change is told to the space's pages (`floor` frames).

use std::sync::Arc;

use meetbridge_protocol::ovice::ObjectType;
use meetbridge_protocol::plugin_url::{check_plugin_url, PluginUrl, PluginUrlPolicy, FLOOR_URL};
use meetbridge_protocol::space::{FloorFrame, Position};
use serde::{Deserialize, Deserializer};

use super::error::{ApiError, ApiErrorCode, ApiResult};
use crate::auth::token::{now_secs, Claims, Role};
use crate::state::AppState;
use crate::store::{
    CreateDynamic, ObjectDef, ObjectQuota, ObjectRemoval, ObjectSettings, QuotaFull, Retention,
    SpaceDef, Store, StoreError,
};

/// Longest object or space name, in bytes.
pub(super) const MAX_NAME_BYTES: usize = 128;

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
        Err(ApiError::bad_field(
            "id",
            "must be 1 to 128 characters of letters, digits, `-`, `_`, `.`",
        ))
    }
}

/// A trimmed name of 1 to [`MAX_NAME_BYTES`] bytes.
pub(super) fn check_name(field: &str, name: &str) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() || name.len() > MAX_NAME_BYTES {
        return Err(ApiError::bad_field(
            field,
            format!("must be 1 to {MAX_NAME_BYTES} bytes (it is {})", name.len()),
        ));
    }
    Ok(name.to_owned())
}

/// The space, or a 404 naming it.
pub(super) async fn space_def(state: &AppState, space: &str) -> ApiResult<SpaceDef> {
    let id = space.to_owned();
    blocking(&state.hub.store, move |s| s.space(&id))
        .await?
        .ok_or_else(|| ApiError::new(ApiErrorCode::NotFound, format!("space {space:?} not found")))
}

/// The object, which must be in `space`, or a 404 naming it.
pub(super) async fn object_in(state: &AppState, space: &str, object: &str) -> ApiResult<ObjectDef> {
    let id = object.to_owned();
    match blocking(&state.hub.store, move |s| s.object(&id)).await? {
        Some(def) if def.space_id == space => Ok(def),
        _ => Err(ApiError::new(
            ApiErrorCode::NotFound,
            format!("object {object:?} not found in space {space:?}"),
        )),
    }
}

/// Whether the holder of `claims` (whose token opens the space) may create dynamic objects
/// in a space with this setting.
pub(super) fn may_create_dynamic(setting: CreateDynamic, claims: &Claims) -> bool {
    if claims.role == Role::Visitor || claims.is_visitor {
        return false;
    }
    match setting {
        CreateDynamic::Members => true,
        CreateDynamic::Owners => matches!(claims.role, Role::Owner | Role::Admin),
        CreateDynamic::Admins => claims.role == Role::Admin,
    }
}

/// Reads a field that may be given as `null`: absent → `None`, `null` → `Some(None)`.
fn nullable<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// An object to create, as the admin and participant APIs take it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
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
    #[serde(default)]
    position: Option<Position>,
}

fn default_type() -> ObjectType {
    ObjectType::Static
}

/// Who creates an object: an admin (or the space's owner) through the admin API, or a
/// participant placing a dynamic object (a meeting) through the participant API.
pub(super) enum Placer<'a> {
    Admin,
    Participant(&'a Claims),
}

impl NewObject {
    /// The object as a participant places it: dynamic, with them as its creator (hence
    /// its host), and never sharing e-mail, which is the organisation owner's decision.
    /// Its history is kept as the server's defaults say: a participant may narrow the
    /// sandbox, but not set a retention that would outlast the operator's.
    fn placed_by(mut self, creator: String) -> ApiResult<Self> {
        if self.settings.retention.is_some() {
            return Err(ApiError::new(
                ApiErrorCode::Forbidden,
                "`settings.retention` of a meeting is set by the space's owner (admin API), not by its creator",
            )
            .with_field("settings.retention"));
        }
        self.object_type = ObjectType::Dynamic;
        self.creator = Some(creator);
        self.settings.share_email = false;
        Ok(self)
    }
}

/// An edit of an object (`PATCH`): what is given is set, `null` clears what may be unset,
/// what is absent stays.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectPatch {
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "type", default)]
    object_type: Option<ObjectType>,
    #[serde(default)]
    plugin_url: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    creator: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    position: Option<Option<Position>>,
    #[serde(default)]
    settings: Option<SettingsPatch>,
}

/// An edit of an object's settings: each key given replaces, `null` returns it to the
/// default, absent keys stay.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsPatch {
    #[serde(default)]
    share_email: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    retention: Option<Option<Retention>>,
    #[serde(default, deserialize_with = "nullable")]
    sandbox: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "nullable")]
    allow: Option<Option<Vec<String>>>,
}

impl ObjectPatch {
    fn apply(self, def: &mut ObjectDef) -> ApiResult<()> {
        if let Some(name) = self.name {
            def.name = check_name("name", &name)?;
        }
        if let Some(t) = self.object_type {
            def.object_type = t;
        }
        if let Some(url) = self.plugin_url {
            def.plugin_url = url;
        }
        if let Some(creator) = self.creator {
            def.creator = creator;
        }
        if let Some(position) = self.position {
            def.position = position;
        }
        if let Some(s) = self.settings {
            if let Some(share) = s.share_email {
                def.settings.share_email = share;
            }
            if let Some(r) = s.retention {
                def.settings.retention = r;
            }
            if let Some(sandbox) = s.sandbox {
                def.settings.sandbox = sandbox;
            }
            if let Some(allow) = s.allow {
                def.settings.allow = allow;
            }
        }
        Ok(())
    }
}

/// The plugin URL policy of the operator's flags and `space`'s origin allow-list.
fn policy<'a>(state: &AppState, space: &'a SpaceDef) -> PluginUrlPolicy<'a> {
    PluginUrlPolicy {
        allowed_origins: &space.settings.plugin_origins,
        ..state.plugin_policy()
    }
}

/// Everything an object must be, wherever it is created or edited.
fn check_object(state: &AppState, space: &SpaceDef, def: &ObjectDef) -> ApiResult<()> {
    let url = check_plugin_url("pluginUrl", &def.plugin_url, &policy(state, space))?;
    def.settings
        .check("settings", url == PluginUrl::SameServer)?;
    if let Some(p) = &def.position {
        p.check("position")?;
    }
    if let Some(creator) = &def.creator {
        if creator.is_empty() || creator.len() > 128 {
            return Err(ApiError::bad_field("creator", "must be 1 to 128 bytes"));
        }
    }
    Ok(())
}

/// Whether `def` is a space's floor object (drawn by the page, not a plugin): it is not
/// counted by the quotas, and anyone but a visitor may create a space's one floor object.
fn is_floor(def: &ObjectDef) -> bool {
    def.plugin_url == FLOOR_URL
}

/// Refuses an object the space's `createDynamic` does not allow, or a second floor
/// object (the quotas are the store's, see [`quota_for`]).
fn check_placement(
    space: &SpaceDef,
    existing: &[ObjectDef],
    def: &ObjectDef,
    placer: &Placer<'_>,
) -> ApiResult<()> {
    if is_floor(def) {
        if let Some(floor) = existing.iter().find(|o| is_floor(o)) {
            return Err(ApiError::new(
                ApiErrorCode::Conflict,
                format!(
                    "space {:?} already has its floor object {:?}",
                    space.id, floor.id
                ),
            )
            .with_field("pluginUrl"));
        }
        return Ok(());
    }
    if let Placer::Participant(claims) = placer {
        if !may_create_dynamic(space.settings.create_dynamic, claims) {
            let who = match space.settings.create_dynamic {
                CreateDynamic::Members => "participants other than visitors",
                CreateDynamic::Owners => "its owners and admins",
                CreateDynamic::Admins => "admins",
            };
            return Err(ApiError::new(
                ApiErrorCode::CreateNotAllowed,
                format!(
                    "in space {:?} only {who} may create meetings (dynamic objects); you are signed in as {} with role {}",
                    space.id, claims.name, claims.role
                ),
            )
            .with_field("createDynamic"));
        }
    }
    Ok(())
}

/// The quotas a new object is created within (`None`: the floor object, not counted).
fn quota_for(state: &AppState, def: &ObjectDef, placer: &Placer<'_>) -> Option<ObjectQuota> {
    if is_floor(def) {
        return None;
    }
    let limits = &state.hub.limits;
    Some(ObjectQuota {
        per_space: limits.max_objects_per_space,
        uncounted_url: FLOOR_URL.to_owned(),
        per_creator: matches!(placer, Placer::Participant(_))
            .then_some(limits.max_dynamic_per_participant),
    })
}

/// The refusal of a creation the store found over a quota.
fn quota_exceeded(state: &AppState, space: &str, full: QuotaFull) -> ApiError {
    let limits = &state.hub.limits;
    let message = match full {
        QuotaFull::Space(objects) => format!(
            "space {space:?} holds {objects} objects, the most allowed (--max-objects-per-space {}); delete one first",
            limits.max_objects_per_space
        ),
        QuotaFull::Creator(mine) => format!(
            "you have created {mine} meetings (dynamic objects) in space {space:?}, the most allowed (--max-dynamic-per-participant {}); ask an owner to delete one",
            limits.max_dynamic_per_participant
        ),
    };
    ApiError::new(ApiErrorCode::QuotaExceeded, message)
}

/// Checks, stores and makes live a new object, and tells the space's pages.
pub(super) async fn create_object(
    state: &AppState,
    space: String,
    new: NewObject,
    placer: Placer<'_>,
) -> ApiResult<ObjectDef> {
    let new = match placer {
        Placer::Participant(claims) => new.placed_by(claims.sub.clone())?,
        Placer::Admin => new,
    };
    let id = new.id.unwrap_or_else(|| new_id("obj"));
    check_id(&id)?;
    let name = match &new.name {
        Some(name) => check_name("name", name)?,
        None => id.clone(),
    };
    let space = space_def(state, &space).await?;
    let def = ObjectDef {
        name,
        id,
        space_id: space.id.clone(),
        object_type: new.object_type,
        plugin_url: new.plugin_url,
        settings: new.settings,
        creator: new.creator,
        created_at: now_secs(),
        position: new.position,
    };
    check_object(state, &space, &def)?;
    // One creation at a time on this server keeps a space to one floor object; the
    // quotas are counted by the store in the insert's transaction, under a lock on the
    // space that holds on every server of a cluster.
    let _placing = state.hub.placing.lock().await;
    let space_id = space.id.clone();
    let existing = blocking(&state.hub.store, move |s| s.objects(Some(&space_id))).await?;
    if existing.iter().any(|o| o.id == def.id) {
        return Err(ApiError::new(
            ApiErrorCode::Conflict,
            format!("object {:?} already exists", def.id),
        )
        .with_field("id"));
    }
    check_placement(&space, &existing, &def, &placer)?;
    let stored = def.clone();
    match quota_for(state, &def, &placer) {
        None => blocking(&state.hub.store, move |s| s.create_object(&stored)).await?,
        Some(quota) => {
            blocking(&state.hub.store, move |s| {
                s.create_object_within(&stored, &quota)
            })
            .await?
            .map_err(|full| quota_exceeded(state, &space.id, full))?;
        }
    }
    state.hub.insert(def.clone());
    state
        .hub
        .floor_changed(FloorFrame::Added {
            space: space.id,
            object: def.clone(),
        })
        .await;
    Ok(def)
}

/// Applies an edit to an object of `space`, stores it, redefines its live room and tells
/// the space's pages.
pub(super) async fn update_object(
    state: &AppState,
    space: &str,
    object: &str,
    patch: ObjectPatch,
) -> ApiResult<ObjectDef> {
    let space = space_def(state, space).await?;
    let mut def = object_in(state, &space.id, object).await?;
    let was_floor = is_floor(&def);
    patch.apply(&mut def)?;
    if was_floor != is_floor(&def) {
        return Err(ApiError::bad_field(
            "pluginUrl",
            format!("cannot turn an object into the floor ({FLOOR_URL}) or the floor into a plugin; create or delete one instead"),
        ));
    }
    check_object(state, &space, &def)?;
    let stored = def.clone();
    blocking(&state.hub.store, move |s| s.update_object(&stored)).await?;
    state.hub.redefine(def.clone());
    state
        .hub
        .floor_changed(FloorFrame::Updated {
            space: space.id,
            object: def.clone(),
        })
        .await;
    Ok(def)
}

/// Deletes an object of `space` with everything it kept, and tells the space's pages.
pub(super) async fn delete_object(
    state: &AppState,
    space: &str,
    object: &str,
) -> ApiResult<ObjectRemoval> {
    let def = object_in(state, space, object).await?;
    let id = def.id.clone();
    let removal = blocking(&state.hub.store, move |s| s.delete_object(&id)).await?;
    state.hub.remove(&def.id);
    state
        .hub
        .floor_changed(FloorFrame::Removed {
            space: def.space_id,
            id: def.id,
        })
        .await;
    Ok(removal)
}

/// Refuses an origin allow-list that is not a list of origins, or that would leave an
/// object of the space with a plugin URL it no longer allows (naming the object).
pub(super) fn check_plugin_origins(
    state: &AppState,
    origins: &[String],
    objects: &[ObjectDef],
) -> ApiResult<()> {
    for (i, origin) in origins.iter().enumerate() {
        let field = format!("settings.pluginOrigins[{i}]");
        let url = format!("{}/", origin.trim_end_matches('/'));
        let accepted = check_plugin_url(&field, &url, &state.plugin_policy())?;
        let same = matches!(&accepted, PluginUrl::Absolute { origin: o }
            if o.eq_ignore_ascii_case(origin.trim_end_matches('/')));
        if !same {
            return Err(ApiError::bad_field(
                field,
                format!("is {origin:?}: an origin is scheme://host[:port], without a path (https://plugins.example.com)"),
            ));
        }
    }
    let policy = PluginUrlPolicy {
        allowed_origins: origins,
        ..state.plugin_policy()
    };
    for o in objects {
        if let Err(e) = check_plugin_url("pluginUrl", &o.plugin_url, &policy) {
            return Err(ApiError::bad_field(
                "settings.pluginOrigins",
                format!(
                    "would no longer allow object {:?} ({}): change or delete it first",
                    o.id, e.why
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(role: Role, is_visitor: bool) -> Claims {
        Claims {
            sub: "u1".into(),
            name: "U".into(),
            picture: String::new(),
            email: None,
            locale: None,
            space: Some("s".into()),
            workspace_id: meetbridge_protocol::ovice::StringOrNumber::Text("w".into()),
            is_visitor,
            role,
            exp: 0,
            iat: None,
            jti: None,
            iss: None,
        }
    }

    #[test]
    fn the_space_setting_decides_who_creates_meetings() {
        use CreateDynamic::*;
        let member = claims(Role::Member, false);
        let owner = claims(Role::Owner, false);
        let admin = claims(Role::Admin, false);
        let visitor = claims(Role::Visitor, false);
        let flagged = claims(Role::Member, true);
        assert!(may_create_dynamic(Members, &member));
        assert!(!may_create_dynamic(Members, &visitor));
        assert!(!may_create_dynamic(Members, &flagged));
        assert!(!may_create_dynamic(Owners, &member));
        assert!(may_create_dynamic(Owners, &owner) && may_create_dynamic(Owners, &admin));
        assert!(!may_create_dynamic(Admins, &owner));
        assert!(may_create_dynamic(Admins, &admin));
    }

    #[test]
    fn a_patch_sets_clears_and_keeps() {
        let mut def = ObjectDef {
            id: "o".into(),
            space_id: "s".into(),
            name: "Old".into(),
            object_type: ObjectType::Static,
            plugin_url: "/p/".into(),
            settings: ObjectSettings {
                share_email: true,
                sandbox: Some(vec!["allow-scripts".into()]),
                ..ObjectSettings::default()
            },
            creator: Some("u".into()),
            created_at: 1,
            position: Some(Position { x: 1, y: 2 }),
        };
        let patch: ObjectPatch = serde_json::from_value(serde_json::json!({
            "name": " New ", "position": null, "creator": null,
            "settings": {"retention": {"maxMessages": 5}, "sandbox": null}
        }))
        .unwrap();
        patch.apply(&mut def).unwrap();
        assert_eq!(def.name, "New");
        assert_eq!(def.position, None);
        assert_eq!(def.creator, None);
        assert!(def.settings.share_email, "absent keys stay");
        assert_eq!(def.settings.sandbox, None);
        assert_eq!(def.settings.retention.unwrap().max_messages, Some(5));
        let empty: ObjectPatch = serde_json::from_value(serde_json::json!({"name": "  "})).unwrap();
        assert_eq!(empty.apply(&mut def).unwrap_err().field(), Some("name"));
    }
}
