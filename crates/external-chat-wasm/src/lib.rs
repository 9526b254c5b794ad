//! # external-chat-wasm
//!
//! The logic of the Pexip Web App 3 external-chat plugin (seed 000): which messages from
//! the top window to obey, the dial-out parameters, the button state, the dial-outs in
//! flight. `external-chat/src/index.ts` is glue: it feeds Web App 3 events and
//! `message` events in, and carries out the [`core::Command`]s that come back.
//!
//! Values cross the boundary as JSON text (the glue calls `JSON.stringify` /
//! `JSON.parse`), which keeps this module free of `js-sys` and small.

pub mod core;

use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::core::{Command, Plugin, Source};

fn encode(commands: Vec<Command>) -> String {
    serde_json::to_string(&commands).unwrap_or_else(|_| "[]".into())
}

/// The plugin's state. Every method returns a JSON array of commands.
#[wasm_bindgen]
pub struct ExternalChat {
    inner: Plugin,
}

#[wasm_bindgen]
impl ExternalChat {
    /// `host_origin`: the only origin whose top-window messages are obeyed, also used as
    /// the `postMessage` target origin; empty for any origin and `*`.
    #[wasm_bindgen(constructor)]
    pub fn new(host_origin: &str) -> Result<ExternalChat, String> {
        Ok(ExternalChat {
            inner: Plugin::new(Some(host_origin))?,
        })
    }

    /// The `targetOrigin` for posting to the top window.
    #[wasm_bindgen(js_name = targetOrigin)]
    pub fn target_origin(&self) -> String {
        self.inner.target_origin().to_owned()
    }

    /// The Chat button to add: `{ do: "setButton", active, tooltip, badge }`.
    #[wasm_bindgen(js_name = initialButton)]
    pub fn initial_button(&self) -> String {
        serde_json::to_string(&self.inner.initial_button()).unwrap_or_default()
    }

    pub fn registered(&mut self) -> String {
        encode(self.inner.registered())
    }

    pub fn connected(&mut self) -> String {
        encode(self.inner.connected())
    }

    #[wasm_bindgen(js_name = userDisconnected)]
    pub fn user_disconnected(&mut self) -> String {
        encode(self.inner.user_disconnected())
    }

    /// `payload_json`: the `event:disconnected` payload (`{ error, errorCode }`).
    pub fn disconnected(&mut self, payload_json: &str) -> String {
        let payload: Value = serde_json::from_str(payload_json).unwrap_or(Value::Null);
        let text = |key: &str| match payload.get(key) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        encode(self.inner.disconnected(text("error"), text("errorCode")))
    }

    #[wasm_bindgen(js_name = buttonClicked)]
    pub fn button_clicked(&mut self) -> String {
        encode(self.inner.button_clicked())
    }

    /// A `message` event. `source`: `"top"`, `"parent"` or `"other"`.
    pub fn message(&mut self, data_json: &str, source: &str, origin: &str) -> String {
        let data: Value = serde_json::from_str(data_json).unwrap_or(Value::Null);
        let source = match source {
            "top" => Source::Top,
            "parent" => Source::Parent,
            _ => Source::Other,
        };
        encode(self.inner.message(&data, source, origin))
    }

    #[wasm_bindgen(js_name = dialSucceeded)]
    pub fn dial_succeeded(
        &mut self,
        token: u32,
        uuid: String,
        display_name: Option<String>,
    ) -> String {
        encode(self.inner.dial_succeeded(token, uuid, display_name))
    }

    #[wasm_bindgen(js_name = dialFailed)]
    pub fn dial_failed(&mut self, token: u32, message: String) -> String {
        encode(self.inner.dial_failed(token, message))
    }

    #[wasm_bindgen(js_name = dialTimedOut)]
    pub fn dial_timed_out(&mut self, token: u32, timeout_ms: u32) -> String {
        encode(self.inner.dial_timed_out(token, timeout_ms))
    }
}
