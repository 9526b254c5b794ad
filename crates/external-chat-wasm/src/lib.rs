//! # meetbridge-external-chat-wasm
//!
//! The logic of the Pexip Web App 3 external-chat plugin: which messages from the top
//! window to obey (in either dialect, `pexip:plugin:external-chat/*` or
//! `rocketchat:videoconf/*`), the dial-out parameters, the button state, the dial-outs in
//! flight, how a call ended, the roster and the participant controls.
//! `external-chat/src/index.ts` is glue: it feeds Web App 3 events and `message` events
//! in, and carries out the [`core::Command`]s that come back.
//!
//! Across the boundary: JSON text in (or primitives), a JSON array of commands out, whose
//! TypeScript type is generated from [`core::Command`] (`bindings/commands.ts`).

#[cfg(feature = "codegen")]
pub mod bindings;
pub mod calls;
pub mod core;

use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::core::{Command, Plugin, Source};

fn encode(commands: Vec<Command>) -> String {
    serde_json::to_string(&commands).unwrap_or_else(|_| "[]".into())
}

fn decode(json: &str) -> Value {
    serde_json::from_str(json).unwrap_or(Value::Null)
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

    /// The Chat button's current state, to add it with: one `setButton` command.
    #[wasm_bindgen(js_name = buttonState)]
    pub fn button_state(&self) -> String {
        serde_json::to_string(&self.inner.button_state()).unwrap_or_default()
    }

    /// `registerPlugin` resolved and the button was added (or failed to be).
    pub fn registered(&mut self) -> String {
        encode(self.inner.registered())
    }

    /// A Web App 3 event: `{ event: <plugin-api signal name>, payload }`.
    pub fn webapp(&mut self, event_json: &str) -> String {
        encode(self.inner.webapp(&decode(event_json)))
    }

    #[wasm_bindgen(js_name = buttonClicked)]
    pub fn button_clicked(&mut self) -> String {
        encode(self.inner.button_clicked())
    }

    /// A `message` event. `source`: `"top"`, `"parent"` or `"other"`.
    pub fn message(&mut self, data_json: &str, source: &str, origin: &str) -> String {
        let source = match source {
            "top" => Source::Top,
            "parent" => Source::Parent,
            _ => Source::Other,
        };
        encode(self.inner.message(&decode(data_json), source, origin))
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

    /// A `timer` command's time elapsed.
    pub fn timer(&mut self, token: u32) -> String {
        encode(self.inner.timer(token))
    }
}
