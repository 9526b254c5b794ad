//! # meetbridge-space-host
//!
//! The host runtime a space page uses to embed oVice-style plugins: it decides what to do
//! with each plugin's messages, the server's frames and the page's requests, and bridges
//! every object of the page to the meetbridge server over one WebSocket
//! ([`meetbridge_protocol::bridge`]).
//!
//! The decisions live in [`core`] (plain Rust, tested natively). This file is the
//! wasm-bindgen surface: every export takes JSON text or primitives and returns JSON text
//! (the [`core::Effect`]s to carry out, or a value), whose TypeScript types are generated
//! from the Rust ones (`bindings/space-host.ts`). The TypeScript glue
//! (`web/host/space-host.ts`) owns the iframes, the `message` listener, the WebSocket and
//! the timers, and performs the effects in order.

#[cfg(feature = "codegen")]
pub mod codegen;
pub mod connection;
pub mod core;
mod legacy;

use meetbridge_protocol::ovice::PresenceStatus;
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::connection::AfterClose;
use crate::core::{Core, Effect, TimerKind};

fn json<T: Serialize + ?Sized>(value: &T) -> String {
    // Plain data (raw JSON inside is spliced as is); encoding cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

fn effects(effects: &[Effect]) -> String {
    json(effects)
}

/// What `closed` / `tokenRefreshed` decided: what comes next, and the effects.
#[derive(Serialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Closed {
    pub after: AfterClose,
    pub effects: Vec<Effect>,
}

/// What `setPresence` decided: the request its promise waits on, and the effects.
#[derive(Serialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS))]
pub struct PresenceRequest {
    #[cfg_attr(feature = "codegen", ts(type = "number"))]
    pub req: u64,
    pub effects: Vec<Effect>,
}

/// The host runtime's state machine for one page connection (one WebSocket).
#[wasm_bindgen]
pub struct HostCore {
    core: Core,
}

#[wasm_bindgen]
impl HostCore {
    /// `id_prefix` must be unique per page (random): the message ids of resends.
    #[wasm_bindgen(constructor)]
    pub fn new(id_prefix: &str) -> HostCore {
        HostCore {
            core: Core::with_id_prefix(id_prefix),
        }
    }

    /// A message from an object's iframe window (`event.source` checked by the glue), as
    /// `JSON.stringify(event.data)` (`undefined` when not serialisable). → `Effect[]`.
    #[wasm_bindgen(js_name = fromPlugin)]
    pub fn from_plugin(&mut self, object: &str, origin: &str, text: Option<String>) -> String {
        effects(&self.core.from_plugin(object, origin, text.as_deref()))
    }

    /// A plugin message the page sends for an object, as JSON text. → `Effect[]`.
    #[wasm_bindgen(js_name = fromPage)]
    pub fn from_page(&mut self, object: &str, text: Option<String>) -> String {
        effects(&self.core.from_page(object, text.as_deref()))
    }

    /// One text frame from the server. → `Effect[]`.
    #[wasm_bindgen(js_name = fromServer)]
    pub fn from_server(&mut self, text: &str) -> String {
        effects(&self.core.from_server(text))
    }

    /// The socket is being opened. → `Effect[]`.
    pub fn connecting(&mut self) -> String {
        effects(&self.core.connecting())
    }

    /// The server URLs to try in order, as a JSON array of strings; throws naming the bad
    /// entry.
    #[wasm_bindgen(js_name = setServers)]
    pub fn set_servers(&mut self, urls: &str) -> Result<(), JsError> {
        let urls: Vec<String> = serde_json::from_str(urls)
            .map_err(|_| JsError::new("`servers` must be a list of ws:// or wss:// URLs"))?;
        self.core
            .set_servers(urls)
            .map_err(|e| JsError::new(&e.to_string()))
    }

    /// The server URL to open now.
    #[wasm_bindgen(js_name = serverUrl)]
    pub fn server_url(&self) -> Option<String> {
        self.core.server_url().map(str::to_owned)
    }

    /// The socket closed with `code` and `reason`; `random` in [0, 1) jitters the backoff;
    /// `reconnect` false when the page disconnected. → `Closed`.
    pub fn closed(&mut self, code: u16, reason: &str, random: f64, reconnect: bool) -> String {
        let (after, effects) = self.core.closed(code, reason, random, reconnect);
        json(&Closed { after, effects })
    }

    /// The page's `refreshToken` answered: `given` a token or not. → `Closed`.
    #[wasm_bindgen(js_name = tokenRefreshed)]
    pub fn token_refreshed(&mut self, given: bool, reason: &str) -> String {
        let (after, effects) = self.core.token_refreshed(given, reason);
        json(&Closed { after, effects })
    }

    /// Whether `url` may become object `object`'s iframe (the server's plugin URL policy;
    /// `allow_http`: the operator allows plain `http:`). → `Effect[]`, empty when it may.
    #[wasm_bindgen(js_name = checkPluginUrl)]
    pub fn check_plugin_url(&self, object: &str, url: &str, allow_http: bool) -> String {
        effects(&self.core.check_frame_url(object, url, allow_http))
    }

    /// Moves this user on an object. → `PresenceRequest`; throws on an unknown status.
    #[wasm_bindgen(js_name = setPresence)]
    pub fn set_presence(&mut self, object: &str, status: &str) -> Result<String, JsError> {
        let status: PresenceStatus = serde_json::from_value(serde_json::Value::from(status))
            .map_err(|_| JsError::new("status must be subscribed, joined, left or unsubscribed"))?;
        let (req, effects) = self.core.set_presence(object, status);
        Ok(json(&PresenceRequest { req, effects }))
    }

    /// An iframe was attached for the object; `origin` is the plugin's when known.
    #[wasm_bindgen(js_name = openObject)]
    pub fn open_object(&mut self, object: &str, origin: Option<String>) {
        self.core.open_object(object, origin);
    }

    /// The iframe's document has loaded. → `Effect[]`.
    #[wasm_bindgen(js_name = frameLoaded)]
    pub fn frame_loaded(&mut self, object: &str) -> String {
        effects(&self.core.frame_loaded(object))
    }

    /// The page closes the object's iframe, after a grace period of `grace_ms`. → `Effect[]`.
    #[wasm_bindgen(js_name = closeObject)]
    pub fn close_object(&mut self, object: &str, grace_ms: u32) -> String {
        effects(&self.core.close_object(object, grace_ms))
    }

    /// A timer asked for by a `timer` effect fired. → `Effect[]`.
    #[wasm_bindgen(js_name = timerFired)]
    pub fn timer_fired(&mut self, object: &str, timer: &str, token: f64) -> String {
        let Ok(kind) = serde_json::from_value::<TimerKind>(serde_json::Value::from(timer)) else {
            return "[]".into();
        };
        effects(&self.core.timer_fired(object, kind, token as u64))
    }

    /// Who the server says this user is (`Identity` JSON), once welcomed.
    pub fn identity(&self) -> Option<String> {
        self.core.identity().map(json)
    }

    /// Whether the server has welcomed the current socket.
    #[wasm_bindgen(getter)]
    pub fn connected(&self) -> bool {
        self.core.is_open()
    }

    /// The highest message sequence number received for an object.
    #[wasm_bindgen(js_name = maxSeq)]
    pub fn max_seq(&self, object: &str) -> f64 {
        self.core.max_seq(object) as f64
    }

    /// Plugin messages not yet sent or not yet acknowledged by the server.
    #[wasm_bindgen(getter)]
    pub fn pending(&self) -> u32 {
        self.core.pending() as u32
    }

    /// Whether the object's plugin is in its grace period.
    #[wasm_bindgen(js_name = isLeaving)]
    pub fn is_leaving(&self, object: &str) -> bool {
        self.core.is_leaving(object)
    }
}

/// The sandbox, permissions policy and expected origin of a plugin iframe. `sandbox`:
/// `undefined` = the default, else exactly that (`no_sandbox`: no attribute at all);
/// `allow`: `undefined` = the default. → `FramePolicy`.
#[wasm_bindgen(js_name = framePolicy)]
pub fn frame_policy(
    sandbox: Option<String>,
    no_sandbox: bool,
    allow: Option<String>,
    plugin_origin: &str,
    page_origin: &str,
) -> String {
    let requested = if no_sandbox {
        Some(None)
    } else {
        sandbox.as_deref().map(Some)
    };
    json(&core::frame_policy_with(
        requested,
        allow.as_deref(),
        plugin_origin,
        page_origin,
    ))
}
