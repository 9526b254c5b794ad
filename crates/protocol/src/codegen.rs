//! Generates the TypeScript definitions and JSON Schemas of every message from the Rust
//! types, so no browser code copies a type by hand. `cargo run -p meetbridge-protocol
//! --features codegen --bin protocol-codegen` writes them; the `bindings` test fails when
//! the committed files differ from what the types generate.

use std::collections::BTreeMap;

use ts_rs::{Config, TS};

use crate::{bridge, legacy, ovice, pexip, space, videoconf, Ignored, Invalid, InvalidKind};

/// Relative path (under `bindings/`) → file content.
pub fn files() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert("protocol.ts".into(), typescript());
    for (name, schema) in schemas() {
        let text = serde_json::to_string_pretty(&schema).expect("schema is JSON") + "\n";
        out.insert(format!("schema/{name}.schema.json"), text);
    }
    out
}

macro_rules! decls {
    ($cfg:expr; $($t:ty),* $(,)?) => {
        vec![$(<$t as TS>::decl($cfg)),*]
    };
}

fn typescript() -> String {
    let cfg = Config::new().with_large_int("number");
    let cfg = &cfg;
    let mut out = String::from(
        "// Generated from crates/protocol by `make bindings`. Do not edit by hand.\n\
         // The single definition of meetbridge's wire contracts; see crates/protocol.\n\n\
         export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]?: JsonValue } | null;\n\n",
    );
    let sections: [(&str, Vec<String>); 7] = [
        (
            "Parse outcomes",
            decls!(cfg; Ignored, Invalid, InvalidKind),
        ),
        (
            "Pexip Web App 3 external-chat plugin",
            decls!(cfg; pexip::PluginToTop, pexip::TopToPlugin, pexip::Disconnected, pexip::ToggleChat,
                pexip::DialOutSuccess, pexip::DialOutError, pexip::ToggleChatButtonState,
                pexip::ToggleChatBadge, pexip::DialOut, pexip::DialOutParams, pexip::Role,
                pexip::DialProtocol, pexip::CallType, pexip::Streaming, pexip::KeepConferenceAlive),
        ),
        (
            "The external-chat plugin's rocketchat:videoconf/* dialect",
            decls!(cfg; videoconf::PluginToTop, videoconf::TopToPlugin, videoconf::Dialect,
                videoconf::Feature, videoconf::Ready, videoconf::SelfState, videoconf::Roster,
                videoconf::RosterParticipant, videoconf::Can, videoconf::ChatState,
                videoconf::ChatUnread, videoconf::Unread, videoconf::ParticipantsState,
                videoconf::Mute, videoconf::ParticipantRef, videoconf::Spotlight,
                videoconf::RaiseHand, videoconf::ParticipantRole, videoconf::SetRole,
                videoconf::Transfer, videoconf::Dtmf, videoconf::MuteAllGuests),
        ),
        (
            "oVice custom plugins (older wire formats: Legacy*)",
            decls!(cfg; ovice::PluginToPlatform, ovice::PlatformToPlugin, ovice::Participant,
                ovice::UserId, ovice::StringOrNumber, ovice::ObjectType, ovice::PresenceStatus,
                ovice::OutgoingMessage, ovice::RelayedMessage, ovice::SavedSuccess, ovice::PluginError,
                ovice::HistoryRequest, ovice::HistoryEntry, ovice::HistoryPage, ovice::SentReceipt,
                ovice::SentRequest, legacy::Handshake, legacy::ToPlugin),
        ),
        (
            "Bridge: host runtime <-> server WebSocket frames",
            decls!(cfg; bridge::ClientFrame, bridge::PresenceFrame, bridge::PluginFrame,
                bridge::HistoryFrame, bridge::PingFrame, bridge::ServerFrame, bridge::Welcome,
                bridge::Identity, bridge::Limits, bridge::ServerInfo, bridge::Ack, bridge::ServerPluginFrame,
                bridge::Missed, bridge::ErrorFrame, bridge::ErrorCode, bridge::HostErrorCode),
        ),
        (
            "Spaces and objects (HTTP API, store, the live floor frame)",
            decls!(cfg; space::FloorFrame, space::Position, space::SpaceDef, space::SpaceSettings,
                space::CreateDynamic, space::ObjectDef, space::ObjectSettings, space::Retention,
                space::SpaceView, space::PresenceView, space::ObjectPresence,
                space::PresentParticipant, space::ApiErrorCode, space::ApiErrorBody),
        ),
        (
            "Limits",
            vec![format!(
                "export const MAX_MESSAGE_BYTES = {};\nexport const MAX_DATA_BYTES = {};\nexport const PEXIP_ACTION_PREFIX = {:?};\nexport const PEXIP_PLUGIN_ID = {:?};\nexport const VIDEOCONF_ACTION_PREFIX = {:?};\nexport const MAX_DTMF_CHARS = {};\nexport const FLOOR_WIDTH = {};\nexport const FLOOR_HEIGHT = {};\nexport const DEFAULT_SANDBOX = {:?};\nexport const DEFAULT_ALLOW = {:?};",
                crate::limits::MAX_MESSAGE_BYTES,
                crate::limits::MAX_DATA_BYTES,
                pexip::ACTION_PREFIX,
                pexip::PLUGIN_ID,
                videoconf::VIDEOCONF_PREFIX,
                pexip::MAX_DTMF_CHARS,
                space::FLOOR_WIDTH,
                space::FLOOR_HEIGHT,
                space::DEFAULT_SANDBOX,
                space::DEFAULT_ALLOW
            )],
        ),
    ];
    for (title, decls) in sections {
        out.push_str(&format!("// ---- {title} ----\n\n"));
        for decl in decls {
            let decl = decl.trim();
            if decl.starts_with("export ") {
                out.push_str(decl);
            } else {
                out.push_str("export ");
                out.push_str(decl);
            }
            out.push_str("\n\n");
        }
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

fn schemas() -> Vec<(&'static str, serde_json::Value)> {
    use schemars::schema_for;
    let v = |s: schemars::Schema| serde_json::to_value(s).expect("schema is JSON");
    vec![
        ("pexip-plugin-to-top", v(schema_for!(pexip::PluginToTop))),
        ("pexip-top-to-plugin", v(schema_for!(pexip::TopToPlugin))),
        (
            "videoconf-plugin-to-top",
            v(schema_for!(videoconf::PluginToTop)),
        ),
        (
            "videoconf-top-to-plugin",
            v(schema_for!(videoconf::TopToPlugin)),
        ),
        (
            "ovice-plugin-to-platform",
            v(schema_for!(ovice::PluginToPlatform)),
        ),
        (
            "ovice-platform-to-plugin",
            v(schema_for!(ovice::PlatformToPlugin)),
        ),
        ("bridge-client-frame", v(schema_for!(bridge::ClientFrame))),
        ("bridge-server-frame", v(schema_for!(bridge::ServerFrame))),
    ]
}

/// For a crate that generates its own TypeScript next to its Rust (the browser crates'
/// glue commands): writes `text` to `path` when `UPDATE_BINDINGS` is set (`make
/// bindings`), and otherwise panics when the committed file differs.
pub fn check_or_write(path: &std::path::Path, text: &str) {
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::create_dir_all(path.parent().expect("a file path")).expect("create bindings dir");
        std::fs::write(path, text).expect("write bindings");
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == text,
        "{} is stale; run `make bindings` and commit",
        path.display()
    );
}

/// The TypeScript declarations of `decls`, each exported, after `header`.
pub fn module(header: &str, decls: Vec<String>) -> String {
    let mut out = String::from(header);
    for decl in decls {
        let decl = decl.trim();
        if !decl.starts_with("export ") {
            out.push_str("export ");
        }
        out.push_str(decl);
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}
