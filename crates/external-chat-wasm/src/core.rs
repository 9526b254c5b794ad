//! The plugin's state machine, free of any browser API so it is tested natively.
//!
//! Every input (a Web App 3 event, a message from another window, a settled dial-out, a
//! timer) returns the list of [`Command`]s the TypeScript glue carries out, in order.
//!
//! The plugin speaks both dialects of the top-window contract: the original
//! `pexip:plugin:external-chat/*` and `rocketchat:videoconf/*`. Until the top window has
//! spoken, every event goes out in both, the original first (so a top window that follows
//! the dialect it heard last settles on the richer one); once it has spoken, only in its
//! dialect. A reply to a request is in the request's dialect.

use std::collections::BTreeMap;

use meetbridge_protocol::pexip::{
    self, button_tooltip, DialOutError, DialOutParams, DialOutSuccess, Disconnected, ToggleChat,
};
use meetbridge_protocol::videoconf::{
    self, Can, Dialect, Feature, Ready, Roster, RosterParticipant, SelfState,
};
use meetbridge_protocol::Parsed;
use serde::Serialize;
use serde_json::Value;

use crate::calls::{self, ConferenceCall};

/// How long after one of Web App 3's two end-of-call events the other one still belongs
/// to the same end of call (their order is not documented).
pub const END_OF_CALL_WINDOW_MS: u32 = 500;

/// What the glue must do.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS))]
#[serde(tag = "do", rename_all = "camelCase")]
pub enum Command {
    /// `window.top.postMessage(message, targetOrigin)`.
    Post { message: Outgoing },
    /// `console.warn(reason)`: a message that was ignored.
    Warn { reason: String },
    /// Update the Chat button: `isActive`, tooltip and badge.
    #[serde(rename_all = "camelCase")]
    SetButton {
        active: bool,
        tooltip: String,
        badge: bool,
    },
    /// Call `conference.dialOut(params)`; report the outcome with `token`.
    Dial { token: u32, params: DialOutParams },
    /// Call `plugin.conference[call.method](call.payload)`; nothing is reported back.
    Call { call: ConferenceCall },
    /// `setTimeout(() => core.timer(token), ms)`.
    Timer { token: u32, ms: u32 },
}

/// A message to the top window, in either dialect.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS))]
#[serde(untagged)]
pub enum Outgoing {
    ExternalChat(pexip::PluginToTop),
    Videoconf(videoconf::PluginToTop),
}

/// Where a message came from, as the glue sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `event.source === window.top`.
    Top,
    /// `event.source === window.parent` (Web App 3 itself), not the top window.
    Parent,
    /// Anything else: the plugin itself, a sibling frame, a child frame, `null`.
    Other,
}

/// An event for the top window, before it is put in a dialect.
#[derive(Debug, Clone)]
enum Event {
    Ready,
    Connected,
    Disconnected(Disconnected),
    ToggleChat(ToggleChat),
    DialOutSuccess(DialOutSuccess),
    DialOutError(DialOutError),
    SelfState(SelfState),
    Roster(Roster),
}

struct Pending {
    request_id: Option<String>,
    destination: String,
    dialect: Dialect,
    timeout_ms: Option<u32>,
}

/// Where the call is, as far as the end-of-call events tell.
#[derive(Debug, Clone, PartialEq)]
enum Call {
    Idle,
    Active,
    /// `disconnected` came without a Leave: a drop, unless `userInitiatedDisconnect`
    /// follows before the timer `token` fires.
    EndPending {
        token: u32,
        error: Option<String>,
        error_code: Option<String>,
    },
    /// The end of the call was reported; its other event may still arrive.
    Ended,
}

/// The plugin's state.
pub struct Plugin {
    host_origin: Option<String>,
    registered: bool,
    /// Web App 3 events that arrived before the button existed, replayed after `ready`.
    early: Vec<Value>,
    call: Call,
    button_active: bool,
    badge_visible: bool,
    next_token: u32,
    pending: BTreeMap<u32, Pending>,
    /// The dialect the top window spoke last; `None` until it speaks.
    top_dialect: Option<Dialect>,
    me: Option<String>,
    roster: Vec<RosterParticipant>,
    posted_roster: Option<Vec<RosterParticipant>>,
    posted_self: Option<SelfState>,
}

/// Reads an origin as `scheme://host[:port]`, the form `event.origin` has.
pub fn normalize_origin(origin: &str) -> Result<String, String> {
    let origin = origin.trim().trim_end_matches('/');
    let bad = || format!("host origin `{origin}` is not `scheme://host[:port]`");
    let Some((scheme, rest)) = origin.split_once("://") else {
        return Err(bad());
    };
    if scheme.is_empty() || rest.is_empty() || rest.contains(['/', '?', '#', ' ']) {
        return Err(bad());
    }
    Ok(format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        rest.to_ascii_lowercase()
    ))
}

impl Plugin {
    /// A plugin that accepts top-window messages from any origin (`host_origin` `None`)
    /// or only from `host_origin`, which is then also the `postMessage` target origin.
    pub fn new(host_origin: Option<&str>) -> Result<Self, String> {
        let host_origin = match host_origin.map(str::trim) {
            None | Some("") => None,
            Some(origin) => Some(normalize_origin(origin)?),
        };
        Ok(Plugin {
            host_origin,
            registered: false,
            early: Vec::new(),
            call: Call::Idle,
            button_active: false,
            badge_visible: false,
            next_token: 1,
            pending: BTreeMap::new(),
            top_dialect: None,
            me: None,
            roster: Vec::new(),
            posted_roster: None,
            posted_self: None,
        })
    }

    /// The `targetOrigin` for `window.top.postMessage`.
    pub fn target_origin(&self) -> &str {
        self.host_origin.as_deref().unwrap_or("*")
    }

    /// The Chat button's current state (what to add it with).
    pub fn button_state(&self) -> Command {
        self.button()
    }

    fn button(&self) -> Command {
        Command::SetButton {
            active: self.button_active,
            tooltip: button_tooltip(self.button_active).into(),
            badge: self.badge_visible,
        }
    }

    fn token(&mut self) -> u32 {
        let token = self.next_token;
        self.next_token = self.next_token.wrapping_add(1).max(1);
        token
    }

    fn in_call(&self) -> bool {
        matches!(self.call, Call::Active)
    }

    /// Puts `event` in the dialect(s) the top window understands.
    fn emit(&self, event: Event) -> Vec<Command> {
        let dialects: &[Dialect] = match self.top_dialect {
            None => &[Dialect::ExternalChat, Dialect::Videoconf],
            Some(Dialect::ExternalChat) => &[Dialect::ExternalChat],
            Some(Dialect::Videoconf) => &[Dialect::Videoconf],
        };
        dialects
            .iter()
            .filter_map(|d| in_dialect(&event, *d))
            .map(|message| Command::Post { message })
            .collect()
    }

    fn reply(&self, event: Event, dialect: Dialect) -> Vec<Command> {
        in_dialect(&event, dialect)
            .map(|message| Command::Post { message })
            .into_iter()
            .collect()
    }

    /// `registerPlugin` resolved and the button was added (or could not be): tell the
    /// top window, once, then apply the Web App 3 events that arrived meanwhile.
    pub fn registered(&mut self) -> Vec<Command> {
        if self.registered {
            return vec![];
        }
        self.registered = true;
        let mut out = self.emit(Event::Ready);
        for event in std::mem::take(&mut self.early) {
            out.extend(self.webapp(&event));
        }
        out
    }

    /// A Web App 3 event, as `{ event, payload }` (`event` is the plugin-api signal name).
    pub fn webapp(&mut self, event: &Value) -> Vec<Command> {
        if !self.registered {
            self.early.push(event.clone());
            return vec![];
        }
        let payload = event.get("payload").unwrap_or(&Value::Null);
        let in_main = |p: &Value| {
            p.get("id")
                .or_else(|| p.get("roomId"))
                .and_then(Value::as_str)
                .is_none_or(|room| room == "main")
        };
        match event.get("event").and_then(Value::as_str).unwrap_or("") {
            "connected" => self.connected(),
            "userInitiatedDisconnect" => self.user_disconnected(),
            "disconnected" => self.disconnected(text(payload, "error"), text(payload, "errorCode")),
            "me" if in_main(payload) => {
                if let Some(p) = payload.get("participant").and_then(participant) {
                    self.me = Some(p.uuid.clone());
                    self.upsert(p);
                }
                self.changed()
            }
            "participants" if in_main(payload) => {
                let list = payload.get("participants").and_then(Value::as_array);
                self.roster = list.into_iter().flatten().filter_map(participant).collect();
                self.changed()
            }
            "participantJoined" | "raiseHand" if in_main(payload) => {
                if let Some(p) = payload.get("participant").and_then(participant) {
                    self.upsert(p);
                }
                self.changed()
            }
            "participantLeft" if in_main(payload) => {
                if let Some(p) = payload.get("participant").and_then(participant) {
                    self.roster.retain(|q| q.uuid != p.uuid);
                }
                self.changed()
            }
            "participantsActivities" => {
                for item in payload.as_array().into_iter().flatten() {
                    if !in_main(item) {
                        continue;
                    }
                    let activity = item.get("activity").unwrap_or(&Value::Null);
                    let Some(p) = activity.get("participant").and_then(participant) else {
                        continue;
                    };
                    // ParticipantActivities: 0 join, 1 leave, 2 update (`activity` before 22).
                    let kind = activity.get("type").or_else(|| activity.get("activity"));
                    if kind.and_then(Value::as_u64) == Some(1) {
                        self.roster.retain(|q| q.uuid != p.uuid);
                    } else {
                        self.upsert(p);
                    }
                }
                self.changed()
            }
            _ => vec![],
        }
    }

    fn upsert(&mut self, p: RosterParticipant) {
        match self.roster.iter_mut().find(|q| q.uuid == p.uuid) {
            Some(q) => *q = p,
            None => self.roster.push(p),
        }
    }

    /// Posts `self` and `roster` when they differ from what the top window last got.
    fn changed(&mut self) -> Vec<Command> {
        let mut out = vec![];
        if let Some(me) = self
            .self_state()
            .filter(|me| Some(me) != self.posted_self.as_ref())
        {
            self.posted_self = Some(me.clone());
            out.extend(self.emit(Event::SelfState(me)));
        }
        if self.posted_roster.as_ref() != Some(&self.roster) {
            self.posted_roster = Some(self.roster.clone());
            out.extend(self.emit(Event::Roster(Roster {
                participants: self.roster.clone(),
            })));
        }
        out
    }

    fn self_state(&self) -> Option<SelfState> {
        let uuid = self.me.as_ref()?;
        let p = self.roster.iter().find(|p| &p.uuid == uuid)?;
        Some(SelfState {
            participant_uuid: p.uuid.clone(),
            mic_muted: p.is_muted,
            cam_muted: p.is_camera_muted,
            client_muted: p.is_client_muted,
            is_host: p.is_host,
            can_control: p.can.control,
        })
    }

    /// Web App 3 `event:connected`: the user passed preflight and is in the call.
    pub fn connected(&mut self) -> Vec<Command> {
        let mut out = vec![];
        if let Call::EndPending { .. } = self.call {
            // The previous call's drop is certain now.
            out.extend(self.settle_end(false));
        }
        if self.in_call() {
            return out;
        }
        self.call = Call::Active;
        out.extend(self.emit(Event::Connected));
        out
    }

    /// Web App 3 `event:userInitiatedDisconnect`: the user clicked Leave.
    pub fn user_disconnected(&mut self) -> Vec<Command> {
        match self.call {
            Call::Active | Call::EndPending { .. } => self.settle_end(true),
            Call::Idle | Call::Ended => vec![],
        }
    }

    /// Web App 3 `event:disconnected`. After a Leave it is the same end of call, already
    /// reported. Otherwise a drop, unless its text says the user left, or a Leave follows
    /// within [`END_OF_CALL_WINDOW_MS`].
    pub fn disconnected(
        &mut self,
        error: Option<String>,
        error_code: Option<String>,
    ) -> Vec<Command> {
        if !self.in_call() {
            return vec![];
        }
        let says_leave = error
            .as_deref()
            .is_some_and(|e| e.to_ascii_lowercase().contains("user initiated disconnect"));
        if says_leave {
            return self.settle_end(true);
        }
        let token = self.token();
        self.call = Call::EndPending {
            token,
            error,
            error_code,
        };
        vec![Command::Timer {
            token,
            ms: END_OF_CALL_WINDOW_MS,
        }]
    }

    /// Reports the end of the call, once, and fails the dial-outs still waiting.
    fn settle_end(&mut self, user_initiated: bool) -> Vec<Command> {
        let how = match std::mem::replace(&mut self.call, Call::Ended) {
            _ if user_initiated => Disconnected {
                user_initiated: true,
                error: None,
                error_code: None,
            },
            Call::EndPending {
                error, error_code, ..
            } => Disconnected {
                user_initiated: false,
                error: Some(
                    error
                        .filter(|e| !e.is_empty())
                        .unwrap_or_else(|| "Disconnected".into()),
                ),
                error_code: Some(
                    error_code
                        .filter(|c| !c.is_empty())
                        .unwrap_or_else(|| "unknown".into()),
                ),
            },
            _ => Disconnected {
                user_initiated: false,
                error: Some("Disconnected".into()),
                error_code: Some("unknown".into()),
            },
        };
        let mut out = self.emit(Event::Disconnected(how));
        for (_, pending) in std::mem::take(&mut self.pending) {
            let error = DialOutError {
                message: format!("the call ended before {} joined", pending.destination),
                request_id: pending.request_id,
                field: None,
            };
            out.extend(self.reply(Event::DialOutError(error), pending.dialect));
        }
        // Nobody is in a call that ended.
        self.roster.clear();
        self.me = None;
        self.posted_self = None;
        out.extend(self.changed());
        out
    }

    /// A timer the glue started for `token` fired.
    pub fn timer(&mut self, token: u32) -> Vec<Command> {
        match self.call {
            Call::EndPending { token: t, .. } if t == token => return self.settle_end(false),
            _ => {}
        }
        let Some(pending) = self.pending.remove(&token) else {
            return vec![];
        };
        let error = DialOutError {
            message: format!(
                "dial-out to {} timed out: nobody answered within {} ms",
                pending.destination,
                pending.timeout_ms.unwrap_or_default()
            ),
            request_id: pending.request_id,
            field: None,
        };
        self.reply(Event::DialOutError(error), pending.dialect)
    }

    /// The user clicked the Chat button: ask for the opposite state; change nothing.
    pub fn button_clicked(&mut self) -> Vec<Command> {
        self.emit(Event::ToggleChat(ToggleChat {
            active: !self.button_active,
        }))
    }

    /// A `message` event reached the plugin's window.
    pub fn message(&mut self, data: &Value, source: Source, origin: &str) -> Vec<Command> {
        match source {
            // The plugin-api channel (RPC replies and Web App 3 events) is not ours.
            Source::Parent | Source::Top if is_channel_message(data) => return vec![],
            Source::Top => {}
            Source::Parent | Source::Other => {
                return warn(format!(
                    "ignored a message that is not from the top window ({})",
                    describe(data)
                ))
            }
        }
        if let Some(expected) = &self.host_origin {
            if origin != expected {
                return warn(format!(
                    "ignored a message from origin `{origin}`; the configured host origin is `{expected}`"
                ));
            }
        }
        match Dialect::of(data) {
            Some(Dialect::Videoconf) => self.videoconf(data),
            _ => self.external_chat(data),
        }
    }

    fn refused_dial_out(
        &self,
        data: &Value,
        invalid: &meetbridge_protocol::Invalid,
        d: Dialect,
    ) -> Vec<Command> {
        let error = DialOutError {
            message: invalid.to_string(),
            request_id: request_id_of(data),
            field: Some(invalid.field.clone()),
        };
        self.reply(Event::DialOutError(error), d)
    }

    fn external_chat(&mut self, data: &Value) -> Vec<Command> {
        use pexip::TopToPlugin as M;
        let d = Dialect::ExternalChat;
        match M::parse(data) {
            Parsed::Ignored(i) => warn(format!("ignored a message: {}", i.reason)),
            Parsed::Invalid(invalid) if invalid.name.as_deref() == Some("dial-out") => {
                self.top_dialect = Some(d);
                self.refused_dial_out(data, &invalid, d)
            }
            Parsed::Invalid(invalid) => warn(format!("ignored a message: {invalid}")),
            Parsed::Message(message) => {
                self.top_dialect = Some(d);
                match message {
                    M::ToggleChatButtonState(s) => self.set_button(Some(s.active), None),
                    M::ToggleChatBadge(b) => self.set_button(None, Some(b.visible)),
                    M::DialOut(dial) => self.dial_out(dial, d),
                }
            }
        }
    }

    fn videoconf(&mut self, data: &Value) -> Vec<Command> {
        use videoconf::TopToPlugin as M;
        let d = Dialect::Videoconf;
        let message = match M::parse(data) {
            Parsed::Ignored(i) => return warn(format!("ignored a message: {}", i.reason)),
            Parsed::Invalid(invalid) if invalid.name.as_deref() == Some("dial-out") => {
                self.top_dialect = Some(d);
                return self.refused_dial_out(data, &invalid, d);
            }
            Parsed::Invalid(invalid) => return warn(format!("ignored a message: {invalid}")),
            Parsed::Message(message) => message,
        };
        self.top_dialect = Some(d);
        let call = match message {
            M::ChatState(s) => return self.set_button(Some(s.active), None),
            M::ChatUnread(u) => return self.set_button(None, Some(u.unread.visible())),
            M::DialOut(dial) => return self.dial_out(dial, d),
            M::ParticipantsState(s) => {
                if !s.active {
                    return vec![];
                }
                // A panel that opens gets the current state at once.
                self.posted_self = None;
                self.posted_roster = None;
                return self.changed();
            }
            other => other,
        };
        if !self.in_call() {
            return warn(format!("ignored `{}`: not in a call", call.name()));
        }
        let name = call.name();
        match calls::from_request(call, self.me.as_deref()) {
            Some(call) => vec![Command::Call { call }],
            None => warn(format!("ignored `{name}`: not a participant control")),
        }
    }

    fn set_button(&mut self, active: Option<bool>, badge: Option<bool>) -> Vec<Command> {
        if let Some(active) = active {
            self.button_active = active;
        }
        if let Some(badge) = badge {
            self.badge_visible = badge;
        }
        vec![self.button()]
    }

    fn dial_out(&mut self, d: pexip::DialOut, dialect: Dialect) -> Vec<Command> {
        if !self.in_call() {
            let error = DialOutError {
                message: format!("cannot dial {}: not in a call", d.params.destination),
                request_id: d.request_id,
                field: None,
            };
            return self.reply(Event::DialOutError(error), dialect);
        }
        let token = self.token();
        self.pending.insert(
            token,
            Pending {
                request_id: d.request_id,
                destination: d.params.destination.clone(),
                dialect,
                timeout_ms: d.timeout_ms,
            },
        );
        let mut out = vec![Command::Dial {
            token,
            params: d.params,
        }];
        if let Some(ms) = d.timeout_ms {
            out.push(Command::Timer { token, ms });
        }
        out
    }

    /// `conference.dialOut` resolved: the dialed participant joined.
    pub fn dial_succeeded(
        &mut self,
        token: u32,
        uuid: String,
        display_name: Option<String>,
    ) -> Vec<Command> {
        let Some(pending) = self.pending.remove(&token) else {
            return vec![];
        };
        let success = DialOutSuccess {
            uuid,
            display_name: display_name.filter(|n| !n.is_empty()),
            request_id: pending.request_id,
        };
        self.reply(Event::DialOutSuccess(success), pending.dialect)
    }

    /// `conference.dialOut` rejected.
    pub fn dial_failed(&mut self, token: u32, message: String) -> Vec<Command> {
        let Some(pending) = self.pending.remove(&token) else {
            return vec![];
        };
        let message = if message.trim().is_empty() {
            format!("dial-out to {} failed", pending.destination)
        } else {
            message
        };
        let error = DialOutError {
            message,
            request_id: pending.request_id,
            field: None,
        };
        self.reply(Event::DialOutError(error), pending.dialect)
    }

    /// Dial-outs waiting for their participant.
    pub fn pending_dial_outs(&self) -> usize {
        self.pending.len()
    }
}

/// `event` in `dialect`, or `None` where the dialect has no such message.
fn in_dialect(event: &Event, dialect: Dialect) -> Option<Outgoing> {
    use pexip::PluginToTop as P;
    use videoconf::PluginToTop as V;
    Some(match dialect {
        Dialect::ExternalChat => Outgoing::ExternalChat(match event.clone() {
            Event::Ready => P::Ready,
            Event::Connected => P::Connected,
            Event::Disconnected(d) => P::Disconnected(d),
            Event::ToggleChat(t) => P::ToggleChat(t),
            Event::DialOutSuccess(s) => P::DialOutSuccess(s),
            Event::DialOutError(e) => P::DialOutError(e),
            Event::SelfState(_) | Event::Roster(_) => return None,
        }),
        Dialect::Videoconf => Outgoing::Videoconf(match event.clone() {
            Event::Ready => V::Ready(Ready {
                features: Feature::ALL.iter().map(|f| f.name().to_owned()).collect(),
            }),
            Event::Connected => V::Connected,
            Event::Disconnected(d) => V::Disconnected(d),
            Event::ToggleChat(t) => V::ToggleChat(t),
            Event::DialOutSuccess(s) => V::DialOutSuccess(s),
            Event::DialOutError(e) => V::DialOutError(e),
            Event::SelfState(s) => V::SelfState(s),
            Event::Roster(r) => V::Roster(r),
        }),
    })
}

/// Reads the fields of plugin-api's `InfinityParticipant` the roster needs (by hand: a
/// derived deserializer here would double the wasm).
fn participant(value: &Value) -> Option<RosterParticipant> {
    let uuid = value.get("uuid")?.as_str().filter(|u| !u.is_empty())?;
    let flag = |key: &str| value.get(key).and_then(Value::as_bool).unwrap_or(false);
    let name = ["displayName", "overlayText", "uri"]
        .iter()
        .filter_map(|key| value.get(*key).and_then(Value::as_str))
        .find(|n| !n.is_empty())
        .unwrap_or_default();
    let is_host = match value.get("isHost").and_then(Value::as_bool) {
        Some(host) => host,
        None => value.get("role").and_then(Value::as_str) == Some("chair"),
    };
    Some(RosterParticipant {
        uuid: uuid.to_owned(),
        display_name: name.to_owned(),
        is_waiting: flag("isWaiting"),
        is_host,
        is_muted: flag("isMuted"),
        is_client_muted: flag("isClientMuted"),
        is_camera_muted: flag("isCameraMuted"),
        is_presenting: flag("isPresenting"),
        is_spotlight: flag("isSpotlight"),
        raised_hand: flag("raisedHand"),
        can: Can {
            control: flag("canControl"),
            mute: flag("canMute"),
            disconnect: flag("canDisconnect"),
            transfer: flag("canTransfer"),
            spotlight: flag("canSpotlight"),
            fecc: flag("canFecc"),
            raise_hand: flag("canRaiseHand"),
            change_layout: flag("canChangeLayout"),
        },
    })
}

fn text(payload: &Value, key: &str) -> Option<String> {
    match payload.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn warn(reason: String) -> Vec<Command> {
    vec![Command::Warn { reason }]
}

/// The plugin-api channel: `{ chanId, rpc | event | replyTo, ... }`.
fn is_channel_message(data: &Value) -> bool {
    data.as_object().is_some_and(|o| {
        o.contains_key("chanId")
            && !o.contains_key("action")
            && (o.contains_key("rpc") || o.contains_key("event") || o.contains_key("replyTo"))
    })
}

/// Reads `requestId` from a dial-out that failed validation, so the reply still correlates.
fn request_id_of(data: &Value) -> Option<String> {
    data.get("requestId")?.as_str().map(str::to_owned)
}

fn describe(data: &Value) -> String {
    match data.get("action").and_then(Value::as_str) {
        Some(action) if Dialect::of(data).is_some() => format!("action `{action}`"),
        Some(action) => format!("action `{action}` without a known prefix"),
        None => "no action".into(),
    }
}

#[cfg(test)]
mod tests;
