//! Older oVice wire formats, in one place, so the current contract ([`crate::ovice`])
//! reads clean.
//!
//! Plugins written against an earlier oVice document still run:
//! - **The handshake.** A plugin posts `ovice_ready`; the platform answers
//!   `ovice_confirmation`; the plugin acknowledges with `ovice_ready_confirmed`. It carries
//!   no data: the host runtime answers it itself (and takes it as a sign that the plugin
//!   listens). The server never sees it.
//! - **Old names** of broadcast and emit: `ovice_emit_to_others` and `ovice_emit_to`, read
//!   as `ovice_broadcast_message` and `ovice_emit_message` (errors keep the name the plugin
//!   used).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ovice::{envelope, PluginToPlatform};
use crate::parsed::Parsed;

/// What a plugin may post: the current contract, or a step of the old handshake.
#[derive(Debug, Clone, PartialEq)]
pub enum FromPlugin {
    Current(PluginToPlatform),
    Handshake(Handshake),
}

/// The plugin's steps of the old handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[cfg_attr(feature = "codegen", ts(rename = "LegacyHandshake"))]
#[serde(tag = "type")]
pub enum Handshake {
    /// `ovice_ready`: the plugin is ready; answered with `ovice_confirmation`.
    #[serde(rename = "ovice_ready")]
    Ready,
    /// `ovice_ready_confirmed`: the plugin got `ovice_confirmation`.
    #[serde(rename = "ovice_ready_confirmed")]
    ReadyConfirmed,
}

/// The platform's step of the old handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[cfg_attr(feature = "codegen", ts(rename = "LegacyToPlugin"))]
#[serde(tag = "type")]
pub enum ToPlugin {
    /// `ovice_confirmation`: the answer to `ovice_ready`.
    #[serde(rename = "ovice_confirmation")]
    Confirmation,
}

impl ToPlugin {
    pub fn to_text(self) -> String {
        match self {
            ToPlugin::Confirmation => r#"{"type":"ovice_confirmation"}"#.to_owned(),
        }
    }

    /// Reads a legacy platform message (a plugin's, or the SDK's, view).
    pub fn parse(value: &Value) -> Option<Self> {
        (value.get("type")?.as_str()? == "ovice_confirmation").then_some(ToPlugin::Confirmation)
    }
}

impl Handshake {
    fn named(name: &str) -> Option<Self> {
        match name {
            "ovice_ready" => Some(Handshake::Ready),
            "ovice_ready_confirmed" => Some(Handshake::ReadyConfirmed),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Handshake::Ready => "ovice_ready",
            Handshake::ReadyConfirmed => "ovice_ready_confirmed",
        }
    }
}

/// The current name for an old one (`ovice_emit_to_others`, `ovice_emit_to`); other names
/// are returned as they are.
pub fn current_name(name: &str) -> &str {
    match name {
        "ovice_emit_to_others" => "ovice_broadcast_message",
        "ovice_emit_to" => "ovice_emit_message",
        other => other,
    }
}

impl FromPlugin {
    /// Reads what a plugin posted, as JSON text: the handshake, or
    /// [`PluginToPlatform::parse_text`].
    pub fn parse_text(text: &str) -> Parsed<Self> {
        if let Some((name, _)) = envelope(text) {
            if let Some(step) = Handshake::named(&name) {
                return Parsed::Message(FromPlugin::Handshake(step));
            }
        }
        PluginToPlatform::parse_text(text).map(FromPlugin::Current)
    }

    /// [`FromPlugin::parse_text`] for an already decoded value.
    pub fn parse(value: &Value) -> Parsed<Self> {
        if let Some(step) = value
            .get("type")
            .and_then(Value::as_str)
            .and_then(Handshake::named)
        {
            if value.is_object() {
                return Parsed::Message(FromPlugin::Handshake(step));
            }
        }
        PluginToPlatform::parse(value).map(FromPlugin::Current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handshake_is_read_apart_from_the_current_contract() {
        assert_eq!(
            FromPlugin::parse_text(r#"{"type":"ovice_ready"}"#),
            Parsed::Message(FromPlugin::Handshake(Handshake::Ready))
        );
        assert_eq!(
            FromPlugin::parse_text(r#"{"type":"ovice_ready_confirmed","payload":null}"#),
            Parsed::Message(FromPlugin::Handshake(Handshake::ReadyConfirmed))
        );
        assert!(matches!(
            PluginToPlatform::parse_text(r#"{"type":"ovice_ready"}"#),
            Parsed::Ignored(_)
        ));
        assert!(matches!(
            FromPlugin::parse_text(r#"{"type":"ovice_get_data"}"#),
            Parsed::Message(FromPlugin::Current(PluginToPlatform::GetData))
        ));
        assert_eq!(
            ToPlugin::Confirmation.to_text(),
            serde_json::to_string(&ToPlugin::Confirmation).unwrap()
        );
    }

    #[test]
    fn old_names_read_as_broadcast_and_emit() {
        let text =
            r#"{"type":"ovice_emit_to_others","payload":{"event":"e","message":{"b":1,"a":2}}}"#;
        let Parsed::Message(PluginToPlatform::BroadcastMessage(m)) =
            PluginToPlatform::parse_text(text)
        else {
            panic!()
        };
        assert_eq!(m.message.get(), r#"{"b":1,"a":2}"#);
        let text = r#"{"type":"ovice_emit_to","payload":{"event":"e","message":1}}"#;
        let Parsed::Invalid(e) = PluginToPlatform::parse_text(text) else {
            panic!()
        };
        assert_eq!(
            (e.name.as_deref(), e.field.as_str()),
            (Some("ovice_emit_to"), "payload.to")
        );
    }
}
