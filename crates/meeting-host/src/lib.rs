//! # meetbridge-meeting-host
//!
//! The decisions of `ExternalChatHost`, the SDK the page embedding Pexip Web App 3 (the
//! top window) uses to talk to the external-chat plugin, in either of its dialects. The
//! browser side is thin TypeScript glue (`web/host/external-chat-host.ts`): it finds the
//! plugin's messages, posts to the plugin's window, runs the timers and the page's
//! callbacks. Everything it decides is here ([`core`]), compiled to wasm.
//!
//! Across the boundary: JSON text in (or primitives), JSON text out, whose TypeScript
//! types are generated from the Rust ones (`bindings/host.ts`): a list of [`core::Effect`]s.

pub mod core;
pub mod routing;

#[cfg(feature = "codegen")]
pub mod bindings;

use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use crate::core::Host;

fn encode<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".into())
}

fn decode(json: &str) -> Value {
    serde_json::from_str(json).unwrap_or(Value::Null)
}

/// The host's state machine. Methods return JSON: an `Effect[]`, or what they name.
#[wasm_bindgen]
pub struct HostCore {
    inner: Host,
}

#[wasm_bindgen]
impl HostCore {
    /// `session`: a random prefix for this page's request ids.
    #[wasm_bindgen(constructor)]
    pub fn new(session: &str) -> HostCore {
        HostCore {
            inner: Host::new(session),
        }
    }

    /// A message from a window inside the Web App 3 iframe; `Effect[]`.
    pub fn message(&mut self, data_json: &str, origin: &str) -> String {
        encode(&self.inner.message(&decode(data_json), origin))
    }

    /// `Effect[]`.
    #[wasm_bindgen(js_name = setButtonActive)]
    pub fn set_button_active(&mut self, active: bool) -> String {
        encode(&self.inner.set_button_active(active))
    }

    /// `Effect[]`.
    #[wasm_bindgen(js_name = setBadge)]
    pub fn set_badge(&mut self, visible: bool) -> String {
        encode(&self.inner.set_badge(visible))
    }

    /// `DialStarted`.
    #[wasm_bindgen(js_name = dialOut)]
    pub fn dial_out(&mut self, params_json: &str, options_json: &str) -> String {
        encode(
            &self
                .inner
                .dial_out(&decode(params_json), &decode(options_json)),
        )
    }

    /// A `timer` effect elapsed; `Effect[]`.
    pub fn timer(&mut self, id: &str) -> String {
        encode(&self.inner.timer(id))
    }

    /// A `rocketchat:videoconf` control message; `Effect[]`.
    pub fn control(&mut self, request_json: &str) -> String {
        encode(&self.inner.control(&decode(request_json)))
    }

    /// `Effect[]`.
    pub fn destroy(&mut self) -> String {
        encode(&self.inner.destroy())
    }

    /// `HostState`.
    pub fn state(&self) -> String {
        encode(&self.inner.state())
    }
}
