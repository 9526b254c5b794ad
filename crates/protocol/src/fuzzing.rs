//! What every parser promises on any input, as functions of raw bytes, so that the fuzz
//! targets (`fuzz/`) and the replay of their regression corpus (`tests/fuzz_regressions.rs`)
//! check exactly the same thing.
//!
//! Each function panics when a promise is broken: a parser panicked, a message it accepted
//! does not read back as itself once re-encoded, or it accepted what the matching
//! `validate` refuses. Input that is not UTF-8 is read lossily (a window or a socket only
//! ever hands over strings).

use std::fmt::Debug;

use serde::Serialize;
use serde_json::Value;

use crate::bridge::{ClientFrame, ServerFrame};
use crate::plugin_url::{check_plugin_url, PluginUrl, PluginUrlPolicy};
use crate::{ovice, pexip, Parsed};

/// A check of one input.
pub type Check = fn(&[u8]);

/// The entry points by name, as the fuzz targets and the corpus folders are named.
pub const TARGETS: &[(&str, Check)] = &[
    ("pexip", pexip_messages),
    ("ovice", ovice_messages),
    ("bridge_client", bridge_client_frame),
    ("bridge_server", bridge_server_frame),
    ("plugin_url", plugin_url),
];

fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

fn json(data: &[u8]) -> Option<Value> {
    serde_json::from_str(&text(data)).ok()
}

/// A message a parser accepted reads back as the same message once encoded.
fn round_trips<T: Serialize + PartialEq + Debug>(message: &T, parse: impl Fn(&Value) -> Parsed<T>) {
    let encoded = serde_json::to_value(message).expect("every protocol message encodes");
    match parse(&encoded) {
        Parsed::Message(again) => assert_eq!(&again, message, "re-encoded as {encoded}"),
        other => panic!("{message:?} re-encoded as {encoded} reads as {other:?}"),
    }
}

/// Both directions of the Pexip external-chat contract (`event.data` of either window).
pub fn pexip_messages(data: &[u8]) {
    let Some(value) = json(data) else { return };
    if let Parsed::Message(m) = pexip::TopToPlugin::parse(&value) {
        if let pexip::TopToPlugin::DialOut(d) = &m {
            assert_eq!(d.validate(), Ok(()), "accepted a dial-out it refuses");
        }
        round_trips(&m, pexip::TopToPlugin::parse);
    }
    if let Parsed::Message(m) = pexip::PluginToTop::parse(&value) {
        round_trips(&m, pexip::PluginToTop::parse);
    }
}

/// Both directions of the oVice custom-plugin contract, limits included.
pub fn ovice_messages(data: &[u8]) {
    let Some(value) = json(data) else { return };
    if let Parsed::Message(m) = ovice::PluginToPlatform::parse(&value) {
        assert_eq!(m.validate(), Ok(()), "accepted a message it refuses");
        round_trips(&m, ovice::PluginToPlatform::parse);
    }
    if let Parsed::Message(m) = ovice::PlatformToPlugin::parse(&value) {
        round_trips(&m, ovice::PlatformToPlugin::parse);
    }
}

/// A text frame as the server reads it from a browser.
pub fn bridge_client_frame(data: &[u8]) {
    let text = text(data);
    let parsed = ClientFrame::parse(&text);
    if let Ok(value) = serde_json::from_str::<Value>(&text) {
        assert_eq!(
            ClientFrame::parse_value(&value),
            parsed,
            "parse and parse_value disagree"
        );
    }
    if let Parsed::Message(frame) = parsed {
        if let ClientFrame::Plugin(f) = &frame {
            assert_eq!(
                f.message.validate(),
                Ok(()),
                "accepted a message it refuses"
            );
        }
        let encoded = serde_json::to_string(&frame).expect("every frame encodes");
        assert_eq!(
            ClientFrame::parse(&encoded),
            Parsed::Message(frame),
            "re-encoded as {encoded}"
        );
    }
}

/// A text frame as the host runtime reads it from the server.
pub fn bridge_server_frame(data: &[u8]) {
    if let Parsed::Message(frame) = ServerFrame::parse(&text(data)) {
        let encoded = frame.to_text();
        assert_eq!(
            ServerFrame::parse(&encoded),
            Parsed::Message(frame),
            "re-encoded as {encoded}"
        );
    }
}

/// A plugin URL as an operator or a participant gives it. The first byte picks the policy
/// (plain HTTP allowed or not). An accepted path stays on this server; an accepted
/// absolute URL starts with the origin it reports, in the canonical form, and pinning
/// that origin still accepts it.
pub fn plugin_url(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let url = text(rest);
    let policy = PluginUrlPolicy {
        allow_http: flags & 1 == 1,
        allowed_origins: &[],
    };
    match check_plugin_url("pluginUrl", &url, &policy) {
        Err(e) => assert_eq!(e.field, "pluginUrl"),
        Ok(PluginUrl::Floor) => assert_eq!(url, crate::plugin_url::FLOOR_URL),
        Ok(PluginUrl::SameServer) => {
            assert!(url.starts_with('/') && !url.starts_with("//"), "{url:?}");
            assert!(!url.contains('\\'), "{url:?}");
            assert!(
                !url.chars().any(|c| c.is_whitespace() || c.is_control()),
                "{url:?}"
            );
        }
        Ok(PluginUrl::Absolute { origin }) => {
            let (scheme, host) = origin.split_once("://").expect("scheme://host");
            assert!(scheme == "https" || (scheme == "http"), "{origin}");
            assert!(
                !host.is_empty() && !host.contains(['/', '@', '?', '#', '\\']),
                "{origin}"
            );
            assert_eq!(origin, origin.to_ascii_lowercase());
            assert!(
                url.to_ascii_lowercase()
                    .starts_with(&format!("{scheme}://")),
                "{url:?} gave {origin}"
            );
            let pinned = [origin.clone()];
            let pinned = PluginUrlPolicy {
                allowed_origins: &pinned,
                ..policy
            };
            assert_eq!(
                check_plugin_url("pluginUrl", &url, &pinned),
                Ok(PluginUrl::Absolute { origin }),
                "{url:?} refused under its own origin"
            );
        }
    }
}
