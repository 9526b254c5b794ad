//! Spaces and their objects as the HTTP API, the store and the live `floor` frame carry
//! them: one definition for the server, the host runtime and the pages (ts-rs).
//!
//! Also the one definition of what a plugin iframe may do by default
//! ([`DEFAULT_SANDBOX`], [`DEFAULT_ALLOW`]) and of the per-object narrowing of it, which
//! the server checks when an object is created or edited and the host runtime applies.

use serde::{Deserialize, Serialize};

use crate::ovice::{ObjectType, PresenceStatus, UserId};

/// The floor is this many floor units wide for every user; positions travel in these
/// units and each page scales them to its screen.
pub const FLOOR_WIDTH: u32 = 760;
/// The floor's height in floor units.
pub const FLOOR_HEIGHT: u32 = 520;

/// The sandbox every plugin iframe gets unless its object narrows it: what plugins written
/// for oVice use in its iframes — scripts, their own origin's storage (`localStorage`,
/// cookies), forms, `alert` / `confirm` / `prompt` (`allow-modals`), links and popups that
/// open normally, downloads. Never the top window's navigation. The host runtime drops
/// `allow-same-origin` for a plugin on the page's own origin.
pub const DEFAULT_SANDBOX: &str = "allow-scripts allow-same-origin allow-forms allow-modals allow-popups allow-popups-to-escape-sandbox allow-downloads";

/// The permissions policy (`allow`) every plugin iframe gets unless its object narrows it:
/// copying to and pasting from the clipboard, full screen, autoplay.
pub const DEFAULT_ALLOW: &str = "clipboard-read; clipboard-write; fullscreen; autoplay";

/// Where an object stands on the floor: its centre, in floor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Position {
    /// `0..=FLOOR_WIDTH`.
    pub x: u32,
    /// `0..=FLOOR_HEIGHT`.
    pub y: u32,
}

/// A place that holds objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SpaceDef {
    pub id: String,
    pub name: String,
    #[cfg_attr(feature = "codegen", ts(type = "number"))]
    pub created_at: i64,
    #[serde(default)]
    pub settings: SpaceSettings,
}

/// What a space's owner decides for the whole space.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct SpaceSettings {
    /// Who may create dynamic objects (meetings) in the space through the participant API.
    pub create_dynamic: CreateDynamic,
    /// When non-empty, the only origins (`https://plugins.example.com`) an absolute plugin
    /// URL of the space may have; paths on this server are always allowed.
    pub plugin_origins: Vec<String>,
}

/// Who may create dynamic objects in a space.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum CreateDynamic {
    /// Every participant but visitors.
    #[default]
    Members,
    /// The space's owners and the server's admins.
    Owners,
    /// The server's admins only.
    Admins,
}

impl CreateDynamic {
    pub fn as_str(self) -> &'static str {
        match self {
            CreateDynamic::Members => "members",
            CreateDynamic::Owners => "owners",
            CreateDynamic::Admins => "admins",
        }
    }
}

/// One plugin instance in a space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ObjectDef {
    pub id: String,
    pub space_id: String,
    pub name: String,
    pub object_type: ObjectType,
    /// The plugin page loaded in the object's iframe.
    pub plugin_url: String,
    pub settings: ObjectSettings,
    /// For dynamic objects: the user id of the creator, who is the object's host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub creator: Option<String>,
    #[cfg_attr(feature = "codegen", ts(type = "number"))]
    pub created_at: i64,
    /// Where the object stands on the floor; absent until placed (the page lays it out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub position: Option<Position>,
}

/// Per-object settings set by the organisation's owner.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default)]
pub struct ObjectSettings {
    /// Whether participants' e-mail addresses are given to the plugin (only when the owner
    /// allows it). Off unless set.
    pub share_email: bool,
    /// How much of the object's message history is kept; unset parts take the server's
    /// defaults.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub retention: Option<Retention>,
    /// The iframe's `sandbox` tokens, a subset of [`DEFAULT_SANDBOX`]; absent: the default.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub sandbox: Option<Vec<String>>,
    /// The iframe's `allow` features, a subset of [`DEFAULT_ALLOW`]; absent: the default,
    /// empty: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub allow: Option<Vec<String>>,
}

/// How much of an object's message log is kept: by count, age and bytes, whichever bites
/// first. Unset fields take the server's defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Retention {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional, type = "number"))]
    pub max_messages: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional, type = "number"))]
    pub max_age_secs: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional, type = "number"))]
    pub max_bytes: Option<u64>,
}

impl Retention {
    /// These settings over `defaults`.
    pub fn resolve(retention: Option<&Retention>, defaults: RetentionLimits) -> RetentionLimits {
        let r = retention.copied().unwrap_or_default();
        RetentionLimits {
            max_messages: r.max_messages.unwrap_or(defaults.max_messages),
            max_age_secs: r.max_age_secs.unwrap_or(defaults.max_age_secs),
            max_bytes: r.max_bytes.unwrap_or(defaults.max_bytes),
        }
    }
}

/// Retention with every bound set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetentionLimits {
    pub max_messages: u64,
    pub max_age_secs: u64,
    pub max_bytes: u64,
}

/// A refused setting: which field (`position.x`, `settings.sandbox[1]`) and why, in words
/// a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingError {
    pub field: String,
    pub why: String,
}

impl std::fmt::Display for SettingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` {}", self.field, self.why)
    }
}

impl std::error::Error for SettingError {}

fn refuse(field: impl Into<String>, why: impl Into<String>) -> SettingError {
    SettingError {
        field: field.into(),
        why: why.into(),
    }
}

impl Position {
    /// Refuses a position off the floor.
    pub fn check(&self, field: &str) -> Result<(), SettingError> {
        if self.x > FLOOR_WIDTH {
            return Err(refuse(
                format!("{field}.x"),
                format!("is {}; the floor is 0 to {FLOOR_WIDTH} units wide", self.x),
            ));
        }
        if self.y > FLOOR_HEIGHT {
            return Err(refuse(
                format!("{field}.y"),
                format!("is {}; the floor is 0 to {FLOOR_HEIGHT} units high", self.y),
            ));
        }
        Ok(())
    }
}

/// The tokens of [`DEFAULT_SANDBOX`].
pub fn default_sandbox_tokens() -> impl Iterator<Item = &'static str> + Clone {
    DEFAULT_SANDBOX.split_whitespace()
}

/// The features of [`DEFAULT_ALLOW`].
pub fn default_allow_features() -> impl Iterator<Item = &'static str> + Clone {
    DEFAULT_ALLOW
        .split(';')
        .map(str::trim)
        .filter(|f| !f.is_empty())
}

/// Checks that `items` (given as `field`) narrow `defaults`: each one of them, once.
fn check_narrowing<'d>(
    field: &str,
    items: &[String],
    defaults: impl Iterator<Item = &'d str> + Clone,
    what: &str,
) -> Result<(), SettingError> {
    for (i, item) in items.iter().enumerate() {
        let at = format!("{field}[{i}]");
        if !defaults.clone().any(|d| d == item) {
            let known: Vec<&str> = defaults.clone().collect();
            return Err(refuse(
                at,
                format!(
                    "is {item:?}, which the default {what} does not grant: an object may only narrow it, to some of {}",
                    known.join(", ")
                ),
            ));
        }
        if items[..i].contains(item) {
            return Err(refuse(at, format!("repeats {item:?}")));
        }
    }
    Ok(())
}

impl ObjectSettings {
    /// Refuses settings that widen the default sandbox or permissions policy (the server
    /// checks this wherever settings enter; `field` is where they were given).
    /// `same_origin`: the plugin is served by the page's own server, where the default
    /// drops `allow-same-origin`, because with `allow-scripts` too it could reach into the
    /// page; a narrowing may not ask for both there either.
    pub fn check(&self, field: &str, same_origin: bool) -> Result<(), SettingError> {
        if let Some(sandbox) = &self.sandbox {
            let at = format!("{field}.sandbox");
            check_narrowing(&at, sandbox, default_sandbox_tokens(), "sandbox")?;
            let has = |t: &str| sandbox.iter().any(|s| s == t);
            if same_origin && has("allow-scripts") && has("allow-same-origin") {
                return Err(refuse(
                    at,
                    "asks for allow-scripts with allow-same-origin for a plugin served by this server: it could reach into the page; drop allow-same-origin (or serve the plugin from another origin)",
                ));
            }
        }
        if let Some(allow) = &self.allow {
            check_narrowing(
                &format!("{field}.allow"),
                allow,
                default_allow_features(),
                "permissions policy (allow)",
            )?;
        }
        Ok(())
    }

    /// The iframe's `sandbox` attribute these settings ask for (`None`: the default).
    pub fn sandbox_attribute(&self) -> Option<String> {
        self.sandbox.as_ref().map(|s| s.join(" "))
    }

    /// The iframe's `allow` attribute these settings ask for (`None`: the default).
    pub fn allow_attribute(&self) -> Option<String> {
        self.allow.as_ref().map(|a| a.join("; "))
    }
}

/// What changed on a space's floor: the live `floor` frame, sent to every page of the
/// space so that everyone sees the same floor without reloading. Not sequenced and not
/// replayed: a page that reconnects reads the space again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum FloorFrame {
    /// An object was created (by an admin, an owner, or a participant's meeting).
    Added { space: String, object: ObjectDef },
    /// An object was moved, renamed or otherwise edited: its whole new definition.
    Updated { space: String, object: ObjectDef },
    /// An object was deleted.
    Removed { space: String, id: String },
    /// The space was renamed or its settings changed.
    SpaceUpdated { space: String, def: SpaceDef },
    /// The space was deleted, with every object in it.
    SpaceRemoved { space: String },
}

impl FloorFrame {
    /// The space it is about.
    pub fn space(&self) -> &str {
        match self {
            FloorFrame::Added { space, .. }
            | FloorFrame::Updated { space, .. }
            | FloorFrame::Removed { space, .. }
            | FloorFrame::SpaceUpdated { space, .. }
            | FloorFrame::SpaceRemoved { space } => space,
        }
    }
}

/// What `GET /api/spaces/{space}` answers: the space, its objects (with their positions),
/// and whether the caller may create a dynamic object (a meeting) in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SpaceView {
    pub space: SpaceDef,
    pub objects: Vec<ObjectDef>,
    pub may_create_dynamic: bool,
}

/// Who is present where in a space (`GET /api/admin/spaces/{space}/presence`), from this
/// server's rooms; objects nobody is on are left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PresenceView {
    pub space: String,
    pub objects: Vec<ObjectPresence>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ObjectPresence {
    pub object: String,
    pub name: String,
    pub participants: Vec<PresentParticipant>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct PresentParticipant {
    pub id: UserId,
    pub name: String,
    pub status: PresenceStatus,
    /// How many of the user's sockets are on the object (tabs, devices).
    pub connections: u32,
}

/// The `error` of an HTTP API error body. Stable strings: clients switch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ApiErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    /// The space's `createDynamic` setting does not let this participant create a dynamic
    /// object (a meeting) there.
    CreateNotAllowed,
    /// A quota (objects per space, dynamic objects per participant) is used up.
    QuotaExceeded,
    /// An identity provider (or another service the request needs) does not answer.
    Unavailable,
    Internal,
}

/// Every HTTP API error: `{"error": code, "message": text, "field"?: name}`. The message is
/// a sentence for a person; `field` names the refused field of the request, when one is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS))]
pub struct ApiErrorBody {
    pub error: ApiErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub field: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_may_narrow_the_defaults_only() {
        let narrow = ObjectSettings {
            sandbox: Some(vec!["allow-scripts".into(), "allow-modals".into()]),
            allow: Some(vec![]),
            ..ObjectSettings::default()
        };
        narrow.check("settings", true).unwrap();
        assert_eq!(
            narrow.sandbox_attribute().as_deref(),
            Some("allow-scripts allow-modals")
        );
        assert_eq!(narrow.allow_attribute().as_deref(), Some(""));
        let wider = ObjectSettings {
            sandbox: Some(vec!["allow-scripts".into(), "allow-top-navigation".into()]),
            ..ObjectSettings::default()
        };
        let e = wider.check("settings", false).unwrap_err();
        assert_eq!(e.field, "settings.sandbox[1]");
        assert!(e.why.contains("allow-top-navigation"), "{e}");
        let twice = ObjectSettings {
            allow: Some(vec!["fullscreen".into(), "fullscreen".into()]),
            ..ObjectSettings::default()
        };
        assert_eq!(twice.check("s", false).unwrap_err().field, "s.allow[1]");
        let camera = ObjectSettings {
            allow: Some(vec!["camera".into()]),
            ..ObjectSettings::default()
        };
        assert_eq!(camera.check("s", false).unwrap_err().field, "s.allow[0]");
        let reach = ObjectSettings {
            sandbox: Some(vec!["allow-scripts".into(), "allow-same-origin".into()]),
            ..ObjectSettings::default()
        };
        reach.check("s", false).unwrap();
        let e = reach.check("s", true).unwrap_err();
        assert_eq!(e.field, "s.sandbox");
        assert!(e.why.contains("reach into the page"), "{e}");
        assert_eq!(default_allow_features().count(), 4);
    }

    #[test]
    fn positions_stay_on_the_floor() {
        Position { x: 0, y: 0 }.check("position").unwrap();
        Position {
            x: FLOOR_WIDTH,
            y: FLOOR_HEIGHT,
        }
        .check("position")
        .unwrap();
        let e = Position { x: 761, y: 3 }.check("position").unwrap_err();
        assert_eq!(e.field, "position.x");
        let e = Position { x: 1, y: 521 }.check("position").unwrap_err();
        assert_eq!(e.field, "position.y");
    }

    #[test]
    fn floor_frames_are_tagged_by_change() {
        let frame = FloorFrame::Removed {
            space: "demo".into(),
            id: "o1".into(),
        };
        assert_eq!(
            serde_json::to_value(&frame).unwrap(),
            json!({"change": "removed", "space": "demo", "id": "o1"})
        );
        let frame = FloorFrame::SpaceRemoved {
            space: "demo".into(),
        };
        assert_eq!(frame.space(), "demo");
        assert_eq!(
            serde_json::to_value(&frame).unwrap(),
            json!({"change": "space_removed", "space": "demo"})
        );
    }

    #[test]
    fn space_settings_default_to_members_and_any_origin() {
        let s: SpaceSettings = serde_json::from_value(json!({})).unwrap();
        assert_eq!(s.create_dynamic, CreateDynamic::Members);
        assert!(s.plugin_origins.is_empty());
        let s: SpaceSettings = serde_json::from_value(json!({"createDynamic": "owners"})).unwrap();
        assert_eq!(s.create_dynamic, CreateDynamic::Owners);
        assert!(serde_json::from_value::<SpaceSettings>(json!({"createDynamic": "all"})).is_err());
    }
}
