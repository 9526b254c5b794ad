//! The protocol crate for the browser (wasm-bindgen).
//!
//! Values cross the boundary as JSON through the browser's own `JSON` object, so the wasm
//! carries no second JSON parser for JS objects and stays small. Every `parse*` function
//! returns a [`ParseOutcome`]-shaped object:
//! `{kind: "message", message}` | `{kind: "ignored", reason}` | `{kind: "invalid", name?, field, error}`.
//! Every `build*` function validates a message and returns it as a plain object ready for
//! `postMessage`, or throws an `Error` naming the field.

#[cfg(feature = "bridge")]
use meetbridge_protocol::bridge::{ClientFrame, ServerFrame};
#[cfg(feature = "ovice")]
use meetbridge_protocol::ovice::{PlatformToPlugin, PluginToPlatform};
#[cfg(feature = "pexip")]
use meetbridge_protocol::pexip::{PluginToTop, TopToPlugin};
use meetbridge_protocol::Parsed;
use serde_json::Value;
use wasm_bindgen::prelude::*;

/// talc instead of std's dlmalloc: a few KB smaller, as fast for what the parsers allocate.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
import type { PluginToTop, TopToPlugin, PluginToPlatform, PlatformToPlugin, ClientFrame, ServerFrame, Invalid } from "./protocol";
export type ParseOutcome<T> =
  | { kind: "message"; message: T }
  | { kind: "ignored"; reason: string }
  | ({ kind: "invalid" } & Invalid);
"#;

/// `value` as serde_json, through the browser's JSON (undefined for non-JSON values).
fn to_json(value: &JsValue) -> Result<Value, String> {
    let text = js_sys::JSON::stringify(value)
        .map_err(|_| "not JSON-serialisable".to_owned())?
        .as_string()
        .ok_or_else(|| "not JSON-serialisable".to_owned())?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// Sets `key` on a plain object (cannot fail on one we created).
fn set(target: &js_sys::Object, key: &str, value: &JsValue) {
    let _ = js_sys::Reflect::set(target, &JsValue::from_str(key), value);
}

/// The JS outcome object, built directly (no serializer in the wasm). A message is returned
/// as the caller's own object: it was validated, and re-encoding it from Rust would ship
/// every type's serializer to the browser. Not generic, so there is one copy of it.
fn outcome(parsed: Parsed<()>, original: &JsValue) -> JsValue {
    let out = js_sys::Object::new();
    match parsed {
        Parsed::Message(()) => {
            set(&out, "kind", &"message".into());
            set(&out, "message", original);
        }
        Parsed::Ignored(i) => {
            set(&out, "kind", &"ignored".into());
            set(&out, "reason", &i.reason.into());
        }
        Parsed::Invalid(i) => {
            set(&out, "kind", &"invalid".into());
            if let Some(name) = i.name {
                set(&out, "name", &name.into());
            }
            set(&out, "field", &i.field.into());
            set(&out, "error", &i.error.into());
        }
    }
    out.into()
}

/// Reads `data` as JSON and parses it; the message itself is dropped (see [`outcome`]).
fn check(data: &JsValue, parse: &dyn Fn(&Value) -> Parsed<()>) -> Parsed<()> {
    match to_json(data) {
        Ok(value) => parse(&value),
        Err(reason) => Parsed::Ignored(meetbridge_protocol::Ignored { reason }),
    }
}

fn parse_with<T>(data: &JsValue, parse: impl Fn(&Value) -> Parsed<T>) -> JsValue {
    outcome(check(data, &|v| parse(v).map(drop)), data)
}

fn build_with<T>(data: &JsValue, parse: impl Fn(&Value) -> Parsed<T>) -> Result<JsValue, JsError> {
    built(data, check(data, &|v| parse(v).map(drop)))
}

fn built(data: &JsValue, parsed: Parsed<()>) -> Result<JsValue, JsError> {
    match parsed {
        Parsed::Message(()) => Ok(data.clone()),
        Parsed::Invalid(i) => Err(JsError::new(&i.to_string())),
        Parsed::Ignored(i) => Err(JsError::new(&format!("not a message: {}", i.reason))),
    }
}

#[cfg(feature = "pexip")]
/// Seed 000: reads what the top window posted to the plugin.
#[wasm_bindgen(js_name = parsePexipFromTop, unchecked_return_type = "ParseOutcome<TopToPlugin>")]
pub fn parse_pexip_from_top(data: &JsValue) -> JsValue {
    parse_with(data, TopToPlugin::parse)
}

#[cfg(feature = "pexip")]
/// Seed 000: reads what the plugin posted to the top window.
#[wasm_bindgen(js_name = parsePexipFromPlugin, unchecked_return_type = "ParseOutcome<PluginToTop>")]
pub fn parse_pexip_from_plugin(data: &JsValue) -> JsValue {
    parse_with(data, PluginToTop::parse)
}

#[cfg(feature = "pexip")]
/// Seed 000: validates a plugin → top message and returns it ready to post.
#[wasm_bindgen(js_name = buildPexipToTop, unchecked_return_type = "PluginToTop")]
pub fn build_pexip_to_top(
    #[wasm_bindgen(unchecked_param_type = "PluginToTop")] message: &JsValue,
) -> Result<JsValue, JsError> {
    build_with(message, PluginToTop::parse)
}

#[cfg(feature = "pexip")]
/// Seed 000: validates a top → plugin message and returns it ready to post.
#[wasm_bindgen(js_name = buildPexipToPlugin, unchecked_return_type = "TopToPlugin")]
pub fn build_pexip_to_plugin(
    #[wasm_bindgen(unchecked_param_type = "TopToPlugin")] message: &JsValue,
) -> Result<JsValue, JsError> {
    build_with(message, TopToPlugin::parse)
}

#[cfg(feature = "ovice")]
/// Seed 003: reads what a plugin posted to the platform (limits included).
#[wasm_bindgen(js_name = parseOviceFromPlugin, unchecked_return_type = "ParseOutcome<PluginToPlatform>")]
pub fn parse_ovice_from_plugin(data: &JsValue) -> JsValue {
    parse_with(data, PluginToPlatform::parse)
}

#[cfg(feature = "ovice")]
/// Seed 003: reads what the platform posted to a plugin.
#[wasm_bindgen(js_name = parseOviceFromPlatform, unchecked_return_type = "ParseOutcome<PlatformToPlugin>")]
pub fn parse_ovice_from_platform(data: &JsValue) -> JsValue {
    parse_with(data, PlatformToPlugin::parse)
}

#[cfg(feature = "ovice")]
/// Seed 003: validates a plugin → platform message and returns it ready to post.
#[wasm_bindgen(js_name = buildOviceToPlatform, unchecked_return_type = "PluginToPlatform")]
pub fn build_ovice_to_platform(
    #[wasm_bindgen(unchecked_param_type = "PluginToPlatform")] message: &JsValue,
) -> Result<JsValue, JsError> {
    build_with(message, PluginToPlatform::parse)
}

#[cfg(feature = "ovice")]
/// Seed 003: validates a platform → plugin message and returns it ready to post.
#[wasm_bindgen(js_name = buildOviceToPlugin, unchecked_return_type = "PlatformToPlugin")]
pub fn build_ovice_to_plugin(
    #[wasm_bindgen(unchecked_param_type = "PlatformToPlugin")] message: &JsValue,
) -> Result<JsValue, JsError> {
    build_with(message, PlatformToPlugin::parse)
}

#[cfg(feature = "bridge")]
/// Bridge: reads a client frame (as text), as the server does.
#[wasm_bindgen(js_name = parseClientFrame, unchecked_return_type = "ParseOutcome<ClientFrame>")]
pub fn parse_client_frame(text: &str) -> JsValue {
    frame_outcome(text, ClientFrame::parse(text))
}

#[cfg(feature = "bridge")]
/// Bridge: reads a server frame (as text).
#[wasm_bindgen(js_name = parseServerFrame, unchecked_return_type = "ParseOutcome<ServerFrame>")]
pub fn parse_server_frame(text: &str) -> JsValue {
    frame_outcome(text, ServerFrame::parse(text))
}

#[cfg(feature = "bridge")]
/// A frame's outcome: the message is the frame decoded by the browser's JSON.
fn frame_outcome<T>(text: &str, parsed: Parsed<T>) -> JsValue {
    let original = js_sys::JSON::parse(text).unwrap_or(JsValue::NULL);
    outcome(parsed.map(drop), &original)
}

/// The limits, for display: `{maxMessageBytes, maxDataBytes}`.
#[wasm_bindgen(js_name = limits, unchecked_return_type = "{ maxMessageBytes: number; maxDataBytes: number }")]
pub fn limits() -> JsValue {
    let out = js_sys::Object::new();
    let max_message = meetbridge_protocol::limits::MAX_MESSAGE_BYTES as f64;
    let max_data = meetbridge_protocol::limits::MAX_DATA_BYTES as f64;
    set(&out, "maxMessageBytes", &max_message.into());
    set(&out, "maxDataBytes", &max_data.into());
    out.into()
}
