//! `ExternalChatHost`'s decisions, free of any browser API so they are tested natively.
//!
//! The glue (`web/host/external-chat-host.ts`) feeds in what the plugin posted and what the
//! page asks for, and carries out the [`Effect`]s that come back, in order.
//!
//! Dialects: the plugin may speak `pexip:plugin:external-chat/*`, `rocketchat:videoconf/*`
//! or both. The host answers in the dialect of the plugin's last `ready` (ours announces
//! itself in the original dialect first, then in `rocketchat:videoconf`, so the host
//! settles on the richer one). A plugin that has not heard its top window yet posts every
//! event in both dialects, the original first and the `rocketchat:videoconf` one right
//! after: the second of such a pair is the same event and is not reported twice.

use std::collections::VecDeque;

use meetbridge_protocol::pexip::{
    self, DialOutError, DialOutSuccess, Disconnected, ToggleChat, ToggleChatBadge,
    ToggleChatButtonState,
};
use meetbridge_protocol::videoconf::{self, Dialect, Roster, SelfState};
use meetbridge_protocol::Parsed;
use serde::Serialize;
use serde_json::Value;

use crate::routing::{dial_out_message, request_id, target_origin};

/// How much longer than its `timeoutMs` the host waits for a dial-out's reply, so the
/// plugin's own timeout (which says more) normally wins.
pub const DIAL_TIMEOUT_GRACE_MS: u32 = 1_000;

/// What the glue must do.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS))]
#[serde(tag = "do", rename_all = "camelCase")]
pub enum Effect {
    /// The message's `event.source` is the plugin's window: answer it, with this target
    /// origin, from now on.
    #[serde(rename_all = "camelCase")]
    Adopt { target_origin: String },
    /// `pluginWindow.postMessage(message, targetOrigin)`.
    Post { message: Outgoing },
    /// Call the page's callbacks for `event`.
    Emit { event: HostEvent },
    /// Resolve the `dialOut` promise `id`.
    Resolve { id: String, value: DialOutSuccess },
    /// Reject the `dialOut` promise `id`.
    Reject { id: String, error: DialOutError },
    /// `setTimeout(() => core.timer(id), ms)`; cleared when `id` settles.
    Timer { id: String, ms: u32 },
    /// `console.warn`.
    Warn { text: String },
    /// The page's call was refused: throw `Error(message)`.
    Fail { message: String },
}

/// A message to the plugin, in either dialect.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS))]
#[serde(untagged)]
#[allow(clippy::large_enum_variant)]
pub enum Outgoing {
    ExternalChat(pexip::TopToPlugin),
    Videoconf(videoconf::TopToPlugin),
}

/// What the plugin told the page.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum HostEvent {
    /// The plugin (re)loaded and registered with Web App 3.
    Ready(Capabilities),
    /// The plugin also speaks another dialect: what it can do changed (no new `ready`).
    Capabilities(Capabilities),
    Connected,
    Disconnected(Disconnected),
    ToggleChat(ToggleChat),
    DialOutSuccess(DialOutSuccess),
    DialOutError(DialOutError),
    Roster(Roster),
    #[serde(rename = "self")]
    SelfState(SelfState),
}

/// The plugin's dialect and announced features.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS))]
pub struct Capabilities {
    pub dialect: Dialect,
    /// Feature names from `rocketchat:videoconf/ready`; empty for the original dialect.
    pub features: Vec<String>,
}

/// A snapshot for the page (`ExternalChatHost.state`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct HostState {
    pub ready: bool,
    pub dialect: Dialect,
    pub features: Vec<String>,
    pub participants: Vec<videoconf::RosterParticipant>,
    #[serde(rename = "self")]
    pub self_state: Option<SelfState>,
    pub pending_dial_outs: u32,
}

/// What `dialOut` returns to the glue: the promise's id, then the effects.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS))]
pub struct DialStarted {
    pub id: String,
    pub effects: Vec<Effect>,
}

/// The host's state.
pub struct Host {
    session: String,
    next_request: u32,
    ready: bool,
    dialect: Dialect,
    features: Vec<String>,
    button_active: Option<bool>,
    badge_visible: Option<bool>,
    /// `dialOut` promises waiting, oldest first: replies without `requestId` settle the
    /// oldest.
    pending: VecDeque<String>,
    /// The last event and its dialect, to drop the second of a pair.
    last: Option<(Dialect, Value)>,
    roster: Roster,
    self_state: Option<SelfState>,
}

impl Host {
    /// `session`: a random prefix that makes this page's request ids unique.
    pub fn new(session: &str) -> Host {
        Host {
            session: session.to_owned(),
            next_request: 0,
            ready: false,
            dialect: Dialect::ExternalChat,
            features: Vec::new(),
            button_active: None,
            badge_visible: None,
            pending: VecDeque::new(),
            last: None,
            roster: Roster::default(),
            self_state: None,
        }
    }

    pub fn state(&self) -> HostState {
        HostState {
            ready: self.ready,
            dialect: self.dialect,
            features: self.features.clone(),
            participants: self.roster.participants.clone(),
            self_state: self.self_state.clone(),
            pending_dial_outs: self.pending.len() as u32,
        }
    }

    /// A message from a window inside the Web App 3 iframe (the glue checked that).
    /// `origin` is `event.origin`.
    pub fn message(&mut self, data: &Value, origin: &str) -> Vec<Effect> {
        let (dialect, event) = match Dialect::of(data) {
            Some(Dialect::ExternalChat) => match pexip::PluginToTop::parse(data) {
                Parsed::Message(m) => (Dialect::ExternalChat, from_external_chat(m)),
                Parsed::Invalid(invalid) => {
                    return warn(format!("ignored a plugin message: {invalid}"))
                }
                Parsed::Ignored(_) => return vec![],
            },
            Some(Dialect::Videoconf) => match videoconf::PluginToTop::parse(data) {
                Parsed::Message(m) => (Dialect::Videoconf, from_videoconf(m)),
                Parsed::Invalid(invalid) => {
                    return warn(format!("ignored a plugin message: {invalid}"))
                }
                Parsed::Ignored(_) => return vec![],
            },
            // Web App 3 and other plugins post their own messages too: not ours, no noise.
            None => return vec![],
        };
        // The plugin posts a pair original first, then `rocketchat:videoconf`.
        let key = serde_json::to_value(&event).unwrap_or(Value::Null);
        let twin = dialect == Dialect::Videoconf
            && match (&self.last, &event) {
                (Some((Dialect::ExternalChat, Value::Object(o))), HostEvent::Ready(_)) => {
                    o.get("kind") == Some(&Value::from("ready"))
                }
                (Some((Dialect::ExternalChat, k)), _) => *k == key,
                _ => false,
            };
        self.last = if twin { None } else { Some((dialect, key)) };
        let mut out = vec![];
        match event {
            HostEvent::Ready(capabilities) => {
                self.dialect = capabilities.dialect;
                self.features = capabilities.features.clone();
                self.ready = true;
                out.push(Effect::Adopt {
                    target_origin: target_origin(origin),
                });
                // The page is the source of truth: bring a (re)loaded plugin up to date.
                out.extend(self.button_posts());
                out.push(Effect::Emit {
                    event: if twin {
                        HostEvent::Capabilities(capabilities)
                    } else {
                        HostEvent::Ready(capabilities)
                    },
                });
            }
            _ if twin => {}
            HostEvent::DialOutSuccess(s) => {
                let id = self.settle(s.request_id.as_deref());
                if let Some(id) = id {
                    out.push(Effect::Resolve {
                        id,
                        value: s.clone(),
                    });
                }
                out.push(Effect::Emit {
                    event: HostEvent::DialOutSuccess(s),
                });
            }
            HostEvent::DialOutError(e) => {
                let id = self.settle(e.request_id.as_deref());
                if let Some(id) = id {
                    out.push(Effect::Reject {
                        id,
                        error: e.clone(),
                    });
                }
                out.push(Effect::Emit {
                    event: HostEvent::DialOutError(e),
                });
            }
            HostEvent::Roster(r) => {
                self.roster = r.clone();
                out.push(Effect::Emit {
                    event: HostEvent::Roster(r),
                });
            }
            HostEvent::SelfState(s) => {
                self.self_state = Some(s.clone());
                out.push(Effect::Emit {
                    event: HostEvent::SelfState(s),
                });
            }
            event => out.push(Effect::Emit { event }),
        }
        out
    }

    /// The pending request a reply answers: the one it names, or without a `requestId`
    /// (a plugin that follows the original contract only) the oldest.
    fn settle(&mut self, request_id: Option<&str>) -> Option<String> {
        match request_id {
            Some(id) => {
                let at = self.pending.iter().position(|p| p == id)?;
                self.pending.remove(at)
            }
            None => self.pending.pop_front(),
        }
    }

    fn button_posts(&self) -> Vec<Effect> {
        let mut out = vec![];
        if let Some(active) = self.button_active {
            out.push(self.chat_state(active));
        }
        if let Some(visible) = self.badge_visible {
            out.push(self.chat_unread(visible));
        }
        out
    }

    fn chat_state(&self, active: bool) -> Effect {
        Effect::Post {
            message: match self.dialect {
                Dialect::ExternalChat => Outgoing::ExternalChat(
                    pexip::TopToPlugin::ToggleChatButtonState(ToggleChatButtonState { active }),
                ),
                Dialect::Videoconf => {
                    Outgoing::Videoconf(videoconf::TopToPlugin::ChatState(videoconf::ChatState {
                        active,
                    }))
                }
            },
        }
    }

    fn chat_unread(&self, visible: bool) -> Effect {
        Effect::Post {
            message: match self.dialect {
                Dialect::ExternalChat => {
                    Outgoing::ExternalChat(pexip::TopToPlugin::ToggleChatBadge(ToggleChatBadge {
                        visible,
                    }))
                }
                Dialect::Videoconf => {
                    Outgoing::Videoconf(videoconf::TopToPlugin::ChatUnread(videoconf::ChatUnread {
                        unread: videoconf::Unread::Flag(visible),
                    }))
                }
            },
        }
    }

    /// Sets the Chat button's state; remembered and re-sent when the plugin (re)loads.
    pub fn set_button_active(&mut self, active: bool) -> Vec<Effect> {
        self.button_active = Some(active);
        if !self.ready {
            return vec![];
        }
        vec![self.chat_state(active)]
    }

    /// Shows or hides the unread badge; remembered like the button.
    pub fn set_badge(&mut self, visible: bool) -> Vec<Effect> {
        self.badge_visible = Some(visible);
        if !self.ready {
            return vec![];
        }
        vec![self.chat_unread(visible)]
    }

    /// Dials `params` (`DialOutParams`) with `options` (`{ timeoutMs? }`).
    pub fn dial_out(&mut self, params: &Value, options: &Value) -> DialStarted {
        self.next_request = self.next_request.wrapping_add(1);
        let id = request_id(&self.session, self.next_request);
        let reject = |message: String, field: Option<String>| Effect::Reject {
            id: id.clone(),
            error: DialOutError {
                message,
                request_id: Some(id.clone()),
                field,
            },
        };
        let message = match dial_out_message(params, options, &id) {
            Ok(d) => d,
            Err(invalid) => {
                let effects = vec![reject(invalid.to_string(), Some(invalid.field))];
                return DialStarted { id, effects };
            }
        };
        if !self.ready {
            let text = "the external-chat plugin is not ready (no `ready` received yet)".into();
            let effects = vec![reject(text, None)];
            return DialStarted { id, effects };
        }
        let timeout = message.timeout_ms;
        let post = Effect::Post {
            message: match self.dialect {
                Dialect::ExternalChat => {
                    Outgoing::ExternalChat(pexip::TopToPlugin::DialOut(message))
                }
                Dialect::Videoconf => Outgoing::Videoconf(videoconf::TopToPlugin::DialOut(message)),
            },
        };
        self.pending.push_back(id.clone());
        let mut effects = vec![post];
        if let Some(ms) = timeout {
            effects.push(Effect::Timer {
                id: id.clone(),
                ms: ms.saturating_add(DIAL_TIMEOUT_GRACE_MS),
            });
        }
        DialStarted { id, effects }
    }

    /// A `timer` effect's time elapsed: the dial-out `id` timed out here, the plugin having
    /// said nothing (it may not know `timeoutMs`).
    pub fn timer(&mut self, id: &str) -> Vec<Effect> {
        let Some(at) = self.pending.iter().position(|p| p == id) else {
            return vec![];
        };
        self.pending.remove(at);
        let error = DialOutError {
            message: "dial-out timed out: the plugin did not answer in time".into(),
            request_id: Some(id.to_owned()),
            field: None,
        };
        vec![
            Effect::Reject {
                id: id.to_owned(),
                error: error.clone(),
            },
            Effect::Emit {
                event: HostEvent::DialOutError(error),
            },
        ]
    }

    /// A participant control (a `rocketchat:videoconf` message, checked here), sent only
    /// when the plugin speaks that dialect and announced the feature.
    pub fn control(&mut self, request: &Value) -> Vec<Effect> {
        let fail = |message: String| vec![Effect::Fail { message }];
        let message = match videoconf::TopToPlugin::parse(request) {
            Parsed::Message(m) => m,
            Parsed::Invalid(invalid) => return fail(invalid.to_string()),
            Parsed::Ignored(i) => return fail(i.reason),
        };
        let name = message.name();
        let feature = match &message {
            videoconf::TopToPlugin::ParticipantsState(_) => "roster",
            _ => name,
        };
        if !self.ready {
            return fail("the external-chat plugin is not ready (no `ready` received yet)".into());
        }
        if self.dialect != Dialect::Videoconf || !self.features.iter().any(|f| f == feature) {
            return fail(format!(
                "the external-chat plugin does not offer `{feature}`"
            ));
        }
        vec![Effect::Post {
            message: Outgoing::Videoconf(message),
        }]
    }

    /// The page is going away: every pending `dialOut` rejects.
    pub fn destroy(&mut self) -> Vec<Effect> {
        self.ready = false;
        self.pending
            .drain(..)
            .map(|id| Effect::Reject {
                error: DialOutError {
                    message: "the host was destroyed".into(),
                    request_id: Some(id.clone()),
                    field: None,
                },
                id,
            })
            .collect()
    }
}

fn from_external_chat(m: pexip::PluginToTop) -> HostEvent {
    use pexip::PluginToTop as P;
    match m {
        P::Ready => HostEvent::Ready(Capabilities {
            dialect: Dialect::ExternalChat,
            features: Vec::new(),
        }),
        P::Connected => HostEvent::Connected,
        P::Disconnected(d) => HostEvent::Disconnected(d),
        P::ToggleChat(t) => HostEvent::ToggleChat(t),
        P::DialOutSuccess(s) => HostEvent::DialOutSuccess(s),
        P::DialOutError(e) => HostEvent::DialOutError(e),
    }
}

fn from_videoconf(m: videoconf::PluginToTop) -> HostEvent {
    use videoconf::PluginToTop as V;
    match m {
        V::Ready(r) => HostEvent::Ready(Capabilities {
            dialect: Dialect::Videoconf,
            features: r.features,
        }),
        V::Connected => HostEvent::Connected,
        V::Disconnected(d) => HostEvent::Disconnected(d),
        V::ToggleChat(t) => HostEvent::ToggleChat(t),
        V::SelfState(s) => HostEvent::SelfState(s),
        V::Roster(r) => HostEvent::Roster(r),
        V::DialOutSuccess(s) => HostEvent::DialOutSuccess(s),
        V::DialOutError(e) => HostEvent::DialOutError(e),
    }
}

fn warn(text: String) -> Vec<Effect> {
    vec![Effect::Warn { text }]
}

#[cfg(test)]
mod tests;
