//! # meetbridge-space-host
//!
//! The host runtime a space page uses to embed oVice-style plugins (seed 003): it creates
//! each object's iframe, speaks the `ovice_*` protocol with it, and bridges every object of
//! the page to the meetbridge server over one WebSocket ([`meetbridge_protocol::bridge`]).
//!
//! The decisions live in [`core`] (plain Rust, tested natively); this file is the
//! wasm-bindgen glue that carries them out in the browser.
//!
//! ```js
//! import init, { SpaceHost } from "/host/space_host.js";
//! await init();
//! const host = new SpaceHost();
//! host.onEvent((e) => console.log(e));
//! host.connect("ws://localhost:8080/ws", token);
//! host.openObject("notes", "/plugins/notes/", document.querySelector("#slot"));
//! await host.setPresence("notes", "subscribed");
//! ```

pub mod core;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};

use js_sys::{Function, Object, Promise, Reflect};
use meetbridge_protocol::ovice::PresenceStatus;
use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{HtmlElement, HtmlIFrameElement, MessageEvent, WebSocket};

use crate::core::{frame_policy, Core, Effect};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
import type { ErrorFrame, Missed, PluginToPlatform, PresenceStatus, ServerPluginFrame, Welcome, Identity } from "./protocol";

/** What the page hears about through `SpaceHost.onEvent`. */
export type HostEvent =
  | { kind: "state"; state: "connecting" | "open" | "closed"; retryInMs?: number }
  | ({ kind: "welcome" } & Welcome)
  | ({ kind: "plugin" } & ServerPluginFrame)
  | { kind: "refused"; object: string; code: string; message: string; refused?: string }
  | ({ kind: "missed" } & Missed)
  | ({ kind: "error" } & ErrorFrame);

/** Options of `SpaceHost.openObject`. */
export interface OpenObjectOptions {
  /**
   * The iframe's `sandbox` attribute. Omitted: "allow-scripts allow-same-origin allow-forms
   * allow-popups", without allow-same-origin when the plugin is on the page's own origin.
   * `null`: no sandbox attribute at all.
   */
  sandbox?: string | null;
  /** The iframe's `allow` attribute (permissions policy), e.g. "clipboard-write". */
  allow?: string;
  /** The iframe's accessible title. */
  title?: string;
}
"#;

/// One plugin iframe.
struct Frame {
    iframe: HtmlIFrameElement,
    window: JsValue,
    /// `postMessage`'s target origin: the plugin's origin, or `*` when it is opaque.
    target: String,
    loaded: bool,
    /// Messages for the plugin before its document has loaded.
    buffer: Vec<JsValue>,
    _on_load: Closure<dyn FnMut()>,
}

struct Socket {
    ws: WebSocket,
    _handlers: Vec<Closure<dyn FnMut(JsValue)>>,
}

struct Host {
    core: Core,
    url: Option<String>,
    token: Option<String>,
    socket: Option<Socket>,
    generation: u32,
    frames: BTreeMap<String, Frame>,
    on_event: Option<Function>,
    promises: BTreeMap<u64, (Function, Function)>,
    timer: Option<i32>,
    timer_cb: Option<Closure<dyn FnMut()>>,
    stopped: bool,
    /// `Date.now()` before which no reconnect is attempted (set by `dropConnection(holdMs)`).
    hold_until: f64,
    listener: Option<Closure<dyn FnMut(MessageEvent)>>,
}

impl Drop for Host {
    fn drop(&mut self) {
        if let (Some(window), Some(listener)) = (web_sys::window(), &self.listener) {
            let _ = window
                .remove_event_listener_with_callback("message", listener.as_ref().unchecked_ref());
        }
        if let Some(socket) = &self.socket {
            let _ = socket.ws.close();
        }
    }
}

/// A random prefix for this page's message ids (64 bits, hex): ids are remembered per user,
/// and the same user's other pages must not hand out the same ones.
fn page_id_prefix() -> String {
    let part = || (js_sys::Math::random() * f64::from(u32::MAX)) as u32;
    format!("{:08x}{:08x}", part(), part())
}

fn to_js<T: Serialize>(value: &T) -> JsValue {
    let text = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
    js_sys::JSON::parse(&text).unwrap_or(JsValue::NULL)
}

fn from_js(value: &JsValue) -> Option<Value> {
    let text = js_sys::JSON::stringify(value).ok()?.as_string()?;
    serde_json::from_str(&text).ok()
}

fn warn(text: &str) {
    web_sys::console::warn_1(&JsValue::from_str(text));
}

fn post(window: &JsValue, message: &JsValue, target: &str) {
    // Looked up on the object itself: the window is usually cross-origin.
    let sent = Reflect::get(window, &JsValue::from_str("postMessage"))
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .map(|f| f.call2(window, message, &JsValue::from_str(target)));
    if let Some(Err(e)) = sent {
        web_sys::console::warn_2(&JsValue::from_str("meetbridge: postMessage failed"), &e);
    }
}

/// Carries out what the core decided. Never holds the borrow while calling page code.
fn run(rc: &Rc<RefCell<Host>>, effects: Vec<Effect>) {
    for effect in effects {
        match effect {
            Effect::Send(text) => {
                let host = rc.borrow();
                if let Some(socket) = &host.socket {
                    // A failed send is sent again after the reconnect (it stays unacked).
                    let _ = socket.ws.send_with_str(&text);
                }
            }
            Effect::ToPlugin { object, message } => {
                let js = to_js(&message);
                let mut host = rc.borrow_mut();
                if let Some(frame) = host.frames.get_mut(&object) {
                    if frame.loaded {
                        post(&frame.window, &js, &frame.target);
                    } else {
                        frame.buffer.push(js);
                    }
                }
            }
            Effect::Warn(text) => warn(&text),
            Effect::Event(event) => {
                let callback = rc.borrow().on_event.clone();
                if let Some(callback) = callback {
                    if let Err(e) = callback.call1(&JsValue::NULL, &to_js(&event)) {
                        web_sys::console::error_2(
                            &JsValue::from_str("meetbridge: onEvent handler threw"),
                            &e,
                        );
                    }
                }
            }
            Effect::PresenceDone { req, result } => {
                let settle = rc.borrow_mut().promises.remove(&req);
                if let Some((resolve, reject)) = settle {
                    let _ = match result {
                        Ok(()) => resolve.call0(&JsValue::NULL),
                        Err(e) => {
                            let error = js_sys::Error::new(&format!(
                                "presence refused ({}): {}",
                                e.code.as_str(),
                                e.message
                            ));
                            let _ = Reflect::set(&error, &"code".into(), &e.code.as_str().into());
                            reject.call1(&JsValue::NULL, &error)
                        }
                    };
                }
            }
        }
    }
}

fn on_message(rc: &Rc<RefCell<Host>>, event: MessageEvent) {
    let Some(source) = event.source() else {
        return;
    };
    let source: JsValue = source.into();
    let object = {
        let host = rc.borrow();
        host.frames
            .iter()
            .find(|(_, f)| Object::is(&f.window, &source))
            .map(|(id, _)| id.clone())
    };
    // Only an object's own iframe window speaks for it; anything else is not ours.
    let Some(object) = object else {
        return;
    };
    let data = from_js(&event.data());
    let effects = rc
        .borrow_mut()
        .core
        .from_plugin(&object, &event.origin(), data);
    run(rc, effects);
}

fn schedule_reconnect(rc: &Rc<RefCell<Host>>, delay: u32) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let weak = Rc::downgrade(rc);
    let cb = Closure::<dyn FnMut()>::new(move || {
        if let Some(rc) = weak.upgrade() {
            rc.borrow_mut().timer = None;
            open_socket(&rc);
        }
    });
    let id = window
        .set_timeout_with_callback_and_timeout_and_arguments_0(
            cb.as_ref().unchecked_ref(),
            delay as i32,
        )
        .ok();
    let mut host = rc.borrow_mut();
    host.timer = id;
    host.timer_cb = Some(cb);
}

fn socket_closed(rc: &Rc<RefCell<Host>>, generation: u32) {
    let (delay, effects) = {
        let mut host = rc.borrow_mut();
        if host.generation != generation {
            return;
        }
        host.socket = None;
        let reconnect = !host.stopped;
        host.core.closed(js_sys::Math::random(), reconnect)
    };
    run(rc, effects);
    if let Some(delay) = delay {
        // A held drop waits out its hold; the backoff applies on top of nothing else.
        let held = (rc.borrow().hold_until - js_sys::Date::now()).max(0.0) as u32;
        schedule_reconnect(rc, delay.max(held));
    }
}

fn open_socket(rc: &Rc<RefCell<Host>>) {
    let (url, token, generation) = {
        let mut host = rc.borrow_mut();
        if host.stopped {
            return;
        }
        let Some(url) = host.url.clone() else {
            return;
        };
        host.generation += 1;
        (url, host.token.clone(), host.generation)
    };
    let effects = rc.borrow_mut().core.connecting();
    run(rc, effects);
    let opened = match &token {
        Some(token) => {
            let protocols = js_sys::Array::of2(&"meetbridge".into(), &token.into());
            WebSocket::new_with_str_sequence(&url, &protocols)
        }
        None => WebSocket::new(&url),
    };
    let ws = match opened {
        Ok(ws) => ws,
        Err(e) => {
            web_sys::console::warn_2(&JsValue::from_str("meetbridge: cannot open socket"), &e);
            socket_closed(rc, generation);
            return;
        }
    };
    let weak: Weak<RefCell<Host>> = Rc::downgrade(rc);
    let on_message = Closure::<dyn FnMut(JsValue)>::new({
        let weak = weak.clone();
        move |event: JsValue| {
            let Some(rc) = weak.upgrade() else { return };
            if rc.borrow().generation != generation {
                return;
            }
            let Some(text) = event.unchecked_into::<MessageEvent>().data().as_string() else {
                return;
            };
            let effects = rc.borrow_mut().core.from_server(&text);
            run(&rc, effects);
        }
    });
    let on_close = Closure::<dyn FnMut(JsValue)>::new(move |_event: JsValue| {
        if let Some(rc) = weak.upgrade() {
            socket_closed(&rc, generation);
        }
    });
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    rc.borrow_mut().socket = Some(Socket {
        ws,
        _handlers: vec![on_message, on_close],
    });
}

/// The host runtime of one page: one WebSocket, many plugin objects.
#[wasm_bindgen]
pub struct SpaceHost {
    rc: Rc<RefCell<Host>>,
}

impl Default for SpaceHost {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen]
impl SpaceHost {
    #[wasm_bindgen(constructor)]
    pub fn new() -> SpaceHost {
        let rc = Rc::new(RefCell::new(Host {
            core: Core::with_id_prefix(page_id_prefix()),
            url: None,
            token: None,
            socket: None,
            generation: 0,
            frames: BTreeMap::new(),
            on_event: None,
            promises: BTreeMap::new(),
            timer: None,
            timer_cb: None,
            stopped: false,
            hold_until: 0.0,
            listener: None,
        }));
        let weak = Rc::downgrade(&rc);
        let listener = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(rc) = weak.upgrade() {
                on_message(&rc, event);
            }
        });
        if let Some(window) = web_sys::window() {
            let _ = window
                .add_event_listener_with_callback("message", listener.as_ref().unchecked_ref());
        }
        rc.borrow_mut().listener = Some(listener);
        SpaceHost { rc }
    }

    /// Connects to the server's WebSocket (`ws://…/ws`), authenticated by `token`, which
    /// travels as a subprotocol (`["meetbridge", token]`), never in the URL, so it stays out
    /// of logs. Reconnects by itself until `disconnect()`.
    pub fn connect(&self, ws_url: &str, token: &str) {
        {
            let mut host = self.rc.borrow_mut();
            host.url = Some(ws_url.to_owned());
            host.token = (!token.is_empty()).then(|| token.to_owned());
            host.stopped = false;
        }
        open_socket(&self.rc);
    }

    /// Closes the socket for good (no reconnect).
    pub fn disconnect(&self) {
        let mut host = self.rc.borrow_mut();
        host.stopped = true;
        if let (Some(id), Some(window)) = (host.timer.take(), web_sys::window()) {
            window.clear_timeout_with_handle(id);
        }
        if let Some(socket) = &host.socket {
            let _ = socket.ws.close();
        }
    }

    /// Drops the socket as a network failure would: the host reconnects with backoff and
    /// resumes. With `hold_ms`, the network stays "down" at least that long before the
    /// first attempt, so a test (or a plugin author) can act while the host is offline.
    #[wasm_bindgen(js_name = dropConnection)]
    pub fn drop_connection(&self, hold_ms: Option<u32>) {
        let mut host = self.rc.borrow_mut();
        host.hold_until = js_sys::Date::now() + f64::from(hold_ms.unwrap_or(0));
        if let Some(socket) = &host.socket {
            let _ = socket
                .ws
                .close_with_code_and_reason(4000, "dropped by the page");
        }
    }

    /// Calls `callback` with every [`HostEvent`](core::HostEvent).
    #[wasm_bindgen(js_name = onEvent)]
    pub fn on_event(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(event: HostEvent) => void")] callback: Function,
    ) {
        self.rc.borrow_mut().on_event = Some(callback);
    }

    /// Whether the server has welcomed the current socket.
    #[wasm_bindgen(getter)]
    pub fn connected(&self) -> bool {
        self.rc.borrow().core.is_open()
    }

    /// Who the server says this user is, once welcomed.
    #[wasm_bindgen(unchecked_return_type = "Identity | undefined")]
    pub fn identity(&self) -> JsValue {
        match self.rc.borrow().core.identity() {
            Some(identity) => to_js(identity),
            None => JsValue::UNDEFINED,
        }
    }

    /// The highest message sequence number received for an object.
    #[wasm_bindgen(js_name = maxSeq)]
    pub fn max_seq(&self, object_id: &str) -> f64 {
        self.rc.borrow().core.max_seq(object_id) as f64
    }

    /// Plugin messages not yet sent or not yet acknowledged by the server.
    #[wasm_bindgen(getter)]
    pub fn pending(&self) -> u32 {
        self.rc.borrow().core.pending() as u32
    }

    /// Embeds object `id`'s plugin from `url` in `container`.
    #[wasm_bindgen(js_name = openObject)]
    pub fn open_object(
        &self,
        id: &str,
        url: &str,
        container: &HtmlElement,
        #[wasm_bindgen(unchecked_param_type = "OpenObjectOptions")] options: Option<Object>,
    ) -> Result<(), JsError> {
        self.close_object(id);
        let window = web_sys::window().ok_or_else(|| JsError::new("no window"))?;
        let document = window
            .document()
            .ok_or_else(|| JsError::new("no document"))?;
        let page = window
            .location()
            .href()
            .map_err(|_| JsError::new("no location"))?;
        let page_origin = window
            .location()
            .origin()
            .map_err(|_| JsError::new("no location"))?;
        let resolved = web_sys::Url::new_with_base(url, &page)
            .map_err(|_| JsError::new(&format!("not a URL: {url}")))?;
        let option = |name: &str| {
            options
                .as_ref()
                .and_then(|o| Reflect::get(o, &JsValue::from_str(name)).ok())
                .unwrap_or(JsValue::UNDEFINED)
        };
        let sandbox = option("sandbox");
        let requested = if sandbox.is_undefined() {
            None
        } else if sandbox.is_null() {
            Some(None)
        } else {
            Some(Some(sandbox.as_string().ok_or_else(|| {
                JsError::new("options.sandbox must be a string or null")
            })?))
        };
        let policy = frame_policy(
            requested.as_ref().map(|s| s.as_deref()),
            &resolved.origin(),
            &page_origin,
        );
        if let Some(warning) = &policy.warning {
            warn(&format!("meetbridge: object {id}: {warning}"));
        }
        let iframe: HtmlIFrameElement = document
            .create_element("iframe")
            .map_err(|_| JsError::new("cannot create an iframe"))?
            .unchecked_into();
        let set = |name: &str, value: &str| {
            let _ = iframe.set_attribute(name, value);
        };
        if let Some(sandbox) = &policy.sandbox {
            set("sandbox", sandbox);
        }
        if let Some(allow) = option("allow").as_string() {
            set("allow", &allow);
        }
        set(
            "title",
            &option("title")
                .as_string()
                .unwrap_or_else(|| format!("plugin {id}")),
        );
        set("data-object", id);
        set("class", "meetbridge-plugin");
        set("style", "border:0;width:100%;height:100%;display:block");
        set("src", &resolved.href());

        let weak = Rc::downgrade(&self.rc);
        let object = id.to_owned();
        let on_load = Closure::<dyn FnMut()>::new(move || {
            let Some(rc) = weak.upgrade() else { return };
            let mut host = rc.borrow_mut();
            if let Some(frame) = host.frames.get_mut(&object) {
                frame.loaded = true;
                for message in std::mem::take(&mut frame.buffer) {
                    post(&frame.window, &message, &frame.target);
                }
            }
        });
        let _ = iframe.add_event_listener_with_callback("load", on_load.as_ref().unchecked_ref());
        container
            .append_child(&iframe)
            .map_err(|_| JsError::new("cannot attach the iframe"))?;
        let frame_window: JsValue = iframe
            .content_window()
            .ok_or_else(|| JsError::new("the iframe has no window"))?
            .into();
        let mut host = self.rc.borrow_mut();
        host.core.open_object(id, policy.origin.clone());
        host.frames.insert(
            id.to_owned(),
            Frame {
                iframe,
                window: frame_window,
                target: policy.origin.unwrap_or_else(|| "*".into()),
                loaded: false,
                buffer: Vec::new(),
                _on_load: on_load,
            },
        );
        Ok(())
    }

    /// Removes object `id`'s iframe. Its presence stays as set: call `setPresence` too.
    #[wasm_bindgen(js_name = closeObject)]
    pub fn close_object(&self, id: &str) {
        let mut host = self.rc.borrow_mut();
        if let Some(frame) = host.frames.remove(id) {
            frame.iframe.remove();
        }
        host.core.close_object(id);
    }

    /// The iframe of object `id`, if open.
    #[wasm_bindgen(js_name = frameOf)]
    pub fn frame_of(&self, id: &str) -> Option<HtmlIFrameElement> {
        self.rc.borrow().frames.get(id).map(|f| f.iframe.clone())
    }

    /// Moves this user on an object: `subscribed` (near), `joined` (linked), `left`
    /// (unlinked), `unsubscribed` (moved away). Kept across reconnects. Resolves when the
    /// server acknowledges, rejects with its error.
    #[wasm_bindgen(js_name = setPresence, unchecked_return_type = "Promise<void>")]
    pub fn set_presence(
        &self,
        object_id: &str,
        #[wasm_bindgen(unchecked_param_type = "PresenceStatus")] status: JsValue,
    ) -> Result<Promise, JsError> {
        let status: PresenceStatus = status
            .as_string()
            .and_then(|s| serde_json::from_value(Value::String(s)).ok())
            .ok_or_else(|| {
                JsError::new("status must be subscribed, joined, left or unsubscribed")
            })?;
        let (req, effects) = self.rc.borrow_mut().core.set_presence(object_id, status);
        let rc = self.rc.clone();
        let promise = Promise::new(&mut |resolve, reject| {
            rc.borrow_mut().promises.insert(req, (resolve, reject));
        });
        run(&self.rc, effects);
        Ok(promise)
    }

    /// Sends a plugin message for an object from the page itself (no iframe needed), e.g.
    /// to broadcast on a floor-wide object. Validated like a plugin's; refusals arrive as
    /// `refused` events.
    #[wasm_bindgen(js_name = sendAsPage)]
    pub fn send_as_page(
        &self,
        object_id: &str,
        #[wasm_bindgen(unchecked_param_type = "PluginToPlatform")] message: JsValue,
    ) {
        let effects = self
            .rc
            .borrow_mut()
            .core
            .from_page(object_id, from_js(&message));
        run(&self.rc, effects);
    }
}
