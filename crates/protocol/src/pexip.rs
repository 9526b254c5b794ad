//! The Pexip Web App 3 external-chat plugin contract (`pexip:plugin:external-chat/*`).
//!
//! Every message, in both directions, is one flat JSON object:
//! `{ "action": "pexip:plugin:external-chat/<name>", ...payloadFields }`.
//! [`PluginToTop`] is what the plugin posts to the top window, [`TopToPlugin`] what the
//! top window posts to the plugin. Find an action by its contract name in this file.
//! The newer `rocketchat:videoconf/*` dialect of the same plugin is [`crate::videoconf`].
//!
//! Beyond the contract (both optional, ignored by a plugin that does not know them):
//! `requestId` on `dial-out`, echoed in `dial-out-success` / `dial-out-error`, so a page
//! can run several dial-outs at once; `timeoutMs` on `dial-out`, after which a
//! destination that never answers is reported as `dial-out-error`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::decode::decode;
use crate::parsed::{ignored, invalid, Invalid, Parsed};

/// Every action starts with this namespace; anything else is ignored (with a warning).
pub const ACTION_PREFIX: &str = "pexip:plugin:external-chat/";

/// The plugin id registered with Web App 3 (`registerPlugin({ id })`, `plugins[].id`).
pub const PLUGIN_ID: &str = "external-chat";

/// Plugin → top window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(tag = "action")]
pub enum PluginToTop {
    /// `ready`: the plugin finished loading and registering (before the user joins).
    #[serde(rename = "pexip:plugin:external-chat/ready")]
    Ready,
    /// `connected`: the user joined the call; the toolbar and Chat button are visible.
    #[serde(rename = "pexip:plugin:external-chat/connected")]
    Connected,
    /// `disconnected`: the user left or lost the call.
    #[serde(rename = "pexip:plugin:external-chat/disconnected")]
    Disconnected(Disconnected),
    /// `toggle-chat`: the user clicked the Chat button; `active` is the requested state.
    #[serde(rename = "pexip:plugin:external-chat/toggle-chat")]
    ToggleChat(ToggleChat),
    /// `dial-out-success`: the dialed participant joined.
    #[serde(rename = "pexip:plugin:external-chat/dial-out-success")]
    DialOutSuccess(DialOutSuccess),
    /// `dial-out-error`: a dial-out request failed.
    #[serde(rename = "pexip:plugin:external-chat/dial-out-error")]
    DialOutError(DialOutError),
}

/// Top window → plugin.
// A message lives only while it is handled; boxing `DialOut` would only cost clarity.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(tag = "action")]
pub enum TopToPlugin {
    /// `toggle-chat-button-state`: sets the button's active state and tooltip.
    #[serde(rename = "pexip:plugin:external-chat/toggle-chat-button-state")]
    ToggleChatButtonState(ToggleChatButtonState),
    /// `toggle-chat-badge`: shows or hides the unread badge on the Chat button.
    #[serde(rename = "pexip:plugin:external-chat/toggle-chat-badge")]
    ToggleChatBadge(ToggleChatBadge),
    /// `dial-out`: dials a destination into the conference via `conference.dialOut`.
    #[serde(rename = "pexip:plugin:external-chat/dial-out")]
    DialOut(DialOut),
}

/// Payload of `disconnected`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Disconnected {
    /// True when the user clicked Leave; false for an involuntary drop.
    pub user_initiated: bool,
    /// Set on an involuntary drop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub error: Option<String>,
    /// Set on an involuntary drop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub error_code: Option<String>,
}

/// Payload of `toggle-chat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub struct ToggleChat {
    /// The requested state: the opposite of the button's current one.
    pub active: bool,
}

/// Payload of `dial-out-success`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DialOutSuccess {
    pub uuid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub display_name: Option<String>,
    /// Echo of the `requestId` of the `dial-out` (extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub request_id: Option<String>,
}

/// Payload of `dial-out-error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DialOutError {
    pub message: String,
    /// Echo of the `requestId` of the `dial-out` (extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub request_id: Option<String>,
    /// The dial parameter that was refused, when the error is a validation error (extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub field: Option<String>,
}

/// Payload of `toggle-chat-button-state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub struct ToggleChatButtonState {
    pub active: bool,
}

/// Payload of `toggle-chat-badge`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub struct ToggleChatBadge {
    pub visible: bool,
}

/// Payload of `dial-out`: the Pexip Infinity dial request body, plus our extensions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct DialOut {
    #[serde(flatten)]
    pub params: DialOutParams,
    /// Correlates the reply with this request (extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub request_id: Option<String>,
    /// Milliseconds after which an unanswered dial-out is reported as failed (extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub timeout_ms: Option<u32>,
}

/// The extension fields of `dial-out`, read apart from the dial parameters.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DialOutExtensions {
    #[serde(default)]
    request_id: Option<String>,
    #[serde(default)]
    timeout_ms: Option<u32>,
}

/// The dial parameters, as `conference.dialOut` takes them (`@pexip/infinity-api` `DialMap['Body']`).
/// `role`, `destination` and `protocol` are required; the rest are optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub struct DialOutParams {
    /// Privilege level of the dialed participant.
    pub role: Role,
    /// The target address to call.
    pub destination: String,
    /// Protocol used to place the call.
    pub protocol: DialProtocol,
    /// Limits the media content of the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub call_type: Option<CallType>,
    /// For RTMP calls, sends presentation to a separate destination.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub presentation_url: Option<String>,
    /// Marks the participant as a streaming/recording device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub streaming: Option<Streaming>,
    /// DTMF tones to send once the call connects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub dtmf_sequence: Option<String>,
    /// Source URI (must be valid for the conference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub source: Option<String>,
    /// Calling display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub source_display_name: Option<String>,
    /// Friendly name shown in participant lists / overlays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub remote_display_name: Option<String>,
    /// Overlay text used instead of `remote_display_name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub text: Option<String>,
    /// Whether the conference continues after others leave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub keep_conference_alive: Option<KeepConferenceAlive>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub enum Role {
    #[serde(rename = "HOST")]
    Host,
    #[serde(rename = "GUEST")]
    Guest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum DialProtocol {
    Sip,
    H323,
    Rtmp,
    Mssip,
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub enum CallType {
    #[serde(rename = "video")]
    Video,
    #[serde(rename = "video-only")]
    VideoOnly,
    #[serde(rename = "audio")]
    Audio,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Streaming {
    Yes,
    No,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum KeepConferenceAlive {
    KeepConferenceAlive,
    KeepConferenceAliveIfMultiple,
    KeepConferenceAliveNever,
}

/// Reads the action name after `prefix`, or says why the message is not ours.
pub(crate) fn action_name<'v>(value: &'v Value, prefix: &str) -> Result<&'v str, String> {
    let Some(object) = value.as_object() else {
        return Err("not an object".into());
    };
    match object.get("action") {
        None => Err("no `action` field".into()),
        Some(Value::String(action)) => action
            .strip_prefix(prefix)
            .ok_or_else(|| format!("action `{action}` lacks the `{prefix}` prefix")),
        Some(_) => Err("`action` is not a string".into()),
    }
}

impl TopToPlugin {
    /// Reads a message the top window posted (`event.data`).
    pub fn parse(value: &Value) -> Parsed<Self> {
        let name = match action_name(value, ACTION_PREFIX) {
            Ok(name) => name,
            Err(reason) => return ignored(reason),
        };
        let result = match name {
            "toggle-chat-button-state" => {
                decode(name, "", value).map(TopToPlugin::ToggleChatButtonState)
            }
            "toggle-chat-badge" => decode(name, "", value).map(TopToPlugin::ToggleChatBadge),
            "dial-out" => parse_dial_out(value).map(TopToPlugin::DialOut),
            other => return ignored(format!("unknown action `{ACTION_PREFIX}{other}`")),
        };
        result.into()
    }

    /// The action name without the prefix, as the contract writes it.
    pub fn name(&self) -> &'static str {
        match self {
            TopToPlugin::ToggleChatButtonState(_) => "toggle-chat-button-state",
            TopToPlugin::ToggleChatBadge(_) => "toggle-chat-badge",
            TopToPlugin::DialOut(_) => "dial-out",
        }
    }
}

impl PluginToTop {
    /// Reads a message the plugin posted (`event.data`), as the top window does.
    pub fn parse(value: &Value) -> Parsed<Self> {
        let name = match action_name(value, ACTION_PREFIX) {
            Ok(name) => name,
            Err(reason) => return ignored(reason),
        };
        let result = match name {
            "ready" => Ok(PluginToTop::Ready),
            "connected" => Ok(PluginToTop::Connected),
            "disconnected" => decode(name, "", value).map(PluginToTop::Disconnected),
            "toggle-chat" => decode(name, "", value).map(PluginToTop::ToggleChat),
            "dial-out-success" => decode(name, "", value).map(PluginToTop::DialOutSuccess),
            "dial-out-error" => decode(name, "", value).map(PluginToTop::DialOutError),
            other => return ignored(format!("unknown action `{ACTION_PREFIX}{other}`")),
        };
        result.into()
    }

    /// The action name without the prefix, as the contract writes it.
    pub fn name(&self) -> &'static str {
        match self {
            PluginToTop::Ready => "ready",
            PluginToTop::Connected => "connected",
            PluginToTop::Disconnected(_) => "disconnected",
            PluginToTop::ToggleChat(_) => "toggle-chat",
            PluginToTop::DialOutSuccess(_) => "dial-out-success",
            PluginToTop::DialOutError(_) => "dial-out-error",
        }
    }
}

/// Reads `dial-out`, naming the offending field, and checks what types alone cannot.
pub(crate) fn parse_dial_out(value: &Value) -> Result<DialOut, Invalid> {
    let params: DialOutParams = decode("dial-out", "", value)?;
    let extensions: DialOutExtensions = decode("dial-out", "", value)?;
    let dial_out = DialOut {
        params,
        request_id: extensions.request_id,
        timeout_ms: extensions.timeout_ms,
    };
    dial_out.validate()?;
    Ok(dial_out)
}

impl DialOutParams {
    /// Checks the rules beyond the types: a destination must name somebody, and a DTMF
    /// sequence holds only what Infinity can play.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.destination.trim().is_empty() {
            return Err(invalid("dial-out", "destination", "must not be empty"));
        }
        if let Some(sequence) = &self.dtmf_sequence {
            check_dtmf(sequence, true).map_err(|e| invalid("dial-out", "dtmf_sequence", e))?;
        }
        Ok(())
    }
}

impl DialOut {
    /// The one check of a dial-out beyond its types, used by the parser: the parameters'
    /// rules, and a `timeoutMs` that is not 0.
    pub fn validate(&self) -> Result<(), Invalid> {
        self.params.validate()?;
        if self.timeout_ms == Some(0) {
            return Err(invalid("dial-out", "timeoutMs", "must be greater than 0"));
        }
        Ok(())
    }
}

/// The longest DTMF string accepted, in characters (all ASCII, so also in bytes).
pub const MAX_DTMF_CHARS: usize = 128;

/// Checks a DTMF string: the keypad digits `0`-`9`, `*` and `#`, and, where `pauses` is
/// true (a dial-out's `dtmf_sequence`), the comma, which Infinity plays as a pause.
pub fn check_dtmf(digits: &str, pauses: bool) -> Result<(), String> {
    if digits.is_empty() {
        return Err("must not be empty".into());
    }
    if digits.len() > MAX_DTMF_CHARS {
        return Err(format!(
            "is {} bytes, over the limit of {MAX_DTMF_CHARS}",
            digits.len()
        ));
    }
    let allowed = |c: char| c.is_ascii_digit() || c == '*' || c == '#' || (pauses && c == ',');
    match digits.chars().find(|c| !allowed(*c)) {
        None => Ok(()),
        Some(c) if pauses => Err(format!(
            "`{c}` is not a DTMF tone: use 0-9, *, # and , (a pause)"
        )),
        Some(c) => Err(format!("`{c}` is not a DTMF tone: use 0-9, * and #")),
    }
}

/// The Chat button's tooltip for an active state (`toggle-chat-button-state`).
pub fn button_tooltip(active: bool) -> &'static str {
    if active {
        "Close Chat"
    } else {
        "Open Chat"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn no_prefix_is_ignored_with_a_reason() {
        let Parsed::Ignored(i) = TopToPlugin::parse(&json!({"action": "toggle-chat-badge"})) else {
            panic!("expected ignored")
        };
        assert!(i.reason.contains("prefix"), "{}", i.reason);
        assert!(matches!(
            TopToPlugin::parse(&json!("hello")),
            Parsed::Ignored(_)
        ));
        assert!(matches!(
            TopToPlugin::parse(&json!({"action": "pexip:plugin:external-chat/nope"})),
            Parsed::Ignored(_)
        ));
    }

    #[test]
    fn dial_out_names_the_missing_and_the_wrong_field() {
        let base = json!({"action": "pexip:plugin:external-chat/dial-out", "role": "GUEST", "destination": "a@b", "protocol": "sip"});
        assert!(matches!(TopToPlugin::parse(&base), Parsed::Message(_)));
        for (field, bad) in [
            ("role", json!("ADMIN")),
            ("protocol", json!("http")),
            ("call_type", json!("hologram")),
            ("streaming", json!(true)),
            ("keep_conference_alive", json!("forever")),
            ("destination", json!(42)),
        ] {
            let mut msg = base.clone();
            msg[field] = bad;
            let Parsed::Invalid(e) = TopToPlugin::parse(&msg) else {
                panic!("{field} should be invalid")
            };
            assert_eq!(e.field, field, "{e}");
        }
        for field in ["role", "destination", "protocol"] {
            let mut msg = base.clone();
            msg.as_object_mut().unwrap().remove(field);
            let Parsed::Invalid(e) = TopToPlugin::parse(&msg) else {
                panic!("missing {field} should be invalid")
            };
            assert_eq!(e.field, field, "{e}");
        }
        let mut empty = base.clone();
        empty["destination"] = json!("  ");
        let Parsed::Invalid(e) = TopToPlugin::parse(&empty) else {
            panic!()
        };
        assert_eq!(e.field, "destination");
    }

    #[test]
    fn dtmf_sequence_allows_keypad_tones_and_pauses_only() {
        let base = json!({"action": "pexip:plugin:external-chat/dial-out", "role": "GUEST", "destination": "a@b", "protocol": "sip"});
        for ok in ["1234#", "*9,,1", "0"] {
            let mut msg = base.clone();
            msg["dtmf_sequence"] = json!(ok);
            assert!(
                matches!(TopToPlugin::parse(&msg), Parsed::Message(_)),
                "{ok}"
            );
        }
        for bad in ["", "12a", "1 2", "1;2", &"1".repeat(MAX_DTMF_CHARS + 1)] {
            let mut msg = base.clone();
            msg["dtmf_sequence"] = json!(bad);
            let Parsed::Invalid(e) = TopToPlugin::parse(&msg) else {
                panic!("{bad} should be invalid")
            };
            assert_eq!(e.field, "dtmf_sequence", "{e}");
        }
        assert!(check_dtmf("12,3", false).is_err());
        assert!(check_dtmf("12#*", false).is_ok());
    }

    #[test]
    fn dial_out_extensions_are_read() {
        let msg = json!({"action": "pexip:plugin:external-chat/dial-out", "role": "HOST", "destination": "x", "protocol": "auto", "requestId": "r1", "timeoutMs": 5000, "extra": 1});
        let Parsed::Message(TopToPlugin::DialOut(d)) = TopToPlugin::parse(&msg) else {
            panic!()
        };
        assert_eq!(d.request_id.as_deref(), Some("r1"));
        assert_eq!(d.timeout_ms, Some(5000));
        assert_eq!(d.params.role, Role::Host);
    }

    #[test]
    fn disconnected_keeps_optional_fields_absent() {
        let msg = PluginToTop::Disconnected(Disconnected {
            user_initiated: true,
            error: None,
            error_code: None,
        });
        assert_eq!(
            serde_json::to_value(&msg).unwrap(),
            json!({"action": "pexip:plugin:external-chat/disconnected", "userInitiated": true})
        );
    }
}
