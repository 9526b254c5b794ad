//! The plugin's state machine, free of any browser API so it is tested natively.
//!
//! Every input (a Web App 3 event, a message from another window, a settled dial-out)
//! returns the list of [`Command`]s the TypeScript glue carries out, in order.

use std::collections::BTreeMap;

use meetbridge_protocol::pexip::{
    button_tooltip, DialOutError, DialOutParams, DialOutSuccess, Disconnected, PluginToTop,
    ToggleChat, TopToPlugin, ACTION_PREFIX,
};
use meetbridge_protocol::Parsed;
use serde::Serialize;
use serde_json::Value;

/// What the glue must do.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "do", rename_all = "camelCase")]
pub enum Command {
    /// `window.top.postMessage(message, targetOrigin)`.
    Post { message: PluginToTop },
    /// `console.warn(reason)`: a message that was ignored.
    Warn { reason: String },
    /// Update the Chat button: `isActive` and tooltip.
    #[serde(rename_all = "camelCase")]
    SetButton {
        active: bool,
        tooltip: &'static str,
        badge: bool,
    },
    /// Call `conference.dialOut(params)`; report the outcome with `token`.
    #[serde(rename_all = "camelCase")]
    Dial {
        token: u32,
        params: DialOutParams,
        #[serde(skip_serializing_if = "Option::is_none")]
        timeout_ms: Option<u32>,
    },
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

struct Pending {
    request_id: Option<String>,
    destination: String,
}

/// The plugin's state.
pub struct Plugin {
    host_origin: Option<String>,
    registered: bool,
    in_call: bool,
    button_active: bool,
    badge_visible: bool,
    next_token: u32,
    pending: BTreeMap<u32, Pending>,
}

/// Reads an origin as `scheme://host[:port]`, the form `event.origin` has.
pub fn normalize_origin(origin: &str) -> Result<String, String> {
    let origin = origin.trim().trim_end_matches('/');
    let Some((scheme, rest)) = origin.split_once("://") else {
        return Err(format!(
            "host origin `{origin}` is not `scheme://host[:port]`"
        ));
    };
    if scheme.is_empty() || rest.is_empty() || rest.contains(['/', '?', '#', ' ']) {
        return Err(format!(
            "host origin `{origin}` is not `scheme://host[:port]`"
        ));
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
            in_call: false,
            button_active: false,
            badge_visible: false,
            next_token: 1,
            pending: BTreeMap::new(),
        })
    }

    /// The `targetOrigin` for `window.top.postMessage`.
    pub fn target_origin(&self) -> &str {
        self.host_origin.as_deref().unwrap_or("*")
    }

    /// The Chat button as it must be added: inactive, no badge.
    pub fn initial_button(&self) -> Command {
        self.button()
    }

    fn button(&self) -> Command {
        Command::SetButton {
            active: self.button_active,
            tooltip: button_tooltip(self.button_active),
            badge: self.badge_visible,
        }
    }

    /// `registerPlugin` resolved and the button is added: tell the top window, once.
    pub fn registered(&mut self) -> Vec<Command> {
        if self.registered {
            return vec![];
        }
        self.registered = true;
        vec![post(PluginToTop::Ready)]
    }

    /// Web App 3 `event:connected`: the user passed preflight and is in the call.
    pub fn connected(&mut self) -> Vec<Command> {
        if self.in_call {
            return vec![];
        }
        self.in_call = true;
        vec![post(PluginToTop::Connected)]
    }

    /// Web App 3 `event:userInitiatedDisconnect`: the user clicked Leave.
    pub fn user_disconnected(&mut self) -> Vec<Command> {
        self.end_call(Disconnected {
            user_initiated: true,
            error: None,
            error_code: None,
        })
    }

    /// Web App 3 `event:disconnected`. After a Leave it is the same call ending, already
    /// reported; otherwise it is an involuntary drop.
    pub fn disconnected(
        &mut self,
        error: Option<String>,
        error_code: Option<String>,
    ) -> Vec<Command> {
        self.end_call(Disconnected {
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
        })
    }

    fn end_call(&mut self, how: Disconnected) -> Vec<Command> {
        if !self.in_call {
            return vec![];
        }
        self.in_call = false;
        let mut out = vec![post(PluginToTop::Disconnected(how))];
        // A dial-out still waiting for its participant can no longer succeed.
        for (_, pending) in std::mem::take(&mut self.pending) {
            out.push(dial_error(
                format!("the call ended before {} joined", pending.destination),
                pending.request_id,
                None,
            ));
        }
        out
    }

    /// The user clicked the Chat button: ask for the opposite state; change nothing.
    pub fn button_clicked(&mut self) -> Vec<Command> {
        vec![post(PluginToTop::ToggleChat(ToggleChat {
            active: !self.button_active,
        }))]
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
        match TopToPlugin::parse(data) {
            Parsed::Ignored(i) => warn(format!("ignored a message: {}", i.reason)),
            Parsed::Invalid(invalid) if invalid.name.as_deref() == Some("dial-out") => {
                vec![dial_error(
                    invalid.to_string(),
                    request_id_of(data),
                    Some(invalid.field.clone()),
                )]
            }
            Parsed::Invalid(invalid) => warn(format!("ignored a message: {invalid}")),
            Parsed::Message(TopToPlugin::ToggleChatButtonState(s)) => {
                self.button_active = s.active;
                vec![self.button()]
            }
            Parsed::Message(TopToPlugin::ToggleChatBadge(b)) => {
                self.badge_visible = b.visible;
                vec![self.button()]
            }
            Parsed::Message(TopToPlugin::DialOut(d)) => {
                if !self.in_call {
                    return vec![dial_error(
                        format!("cannot dial {}: not in a call", d.params.destination),
                        d.request_id,
                        None,
                    )];
                }
                if d.timeout_ms == Some(0) {
                    return vec![dial_error(
                        "invalid dial-out: field `timeoutMs`: must be greater than 0".into(),
                        d.request_id,
                        Some("timeoutMs".into()),
                    )];
                }
                let token = self.next_token;
                self.next_token = self.next_token.wrapping_add(1).max(1);
                self.pending.insert(
                    token,
                    Pending {
                        request_id: d.request_id,
                        destination: d.params.destination.clone(),
                    },
                );
                vec![Command::Dial {
                    token,
                    params: d.params,
                    timeout_ms: d.timeout_ms,
                }]
            }
        }
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
        vec![post(PluginToTop::DialOutSuccess(DialOutSuccess {
            uuid,
            display_name: display_name.filter(|n| !n.is_empty()),
            request_id: pending.request_id,
        }))]
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
        vec![dial_error(message, pending.request_id, None)]
    }

    /// The dial-out's `timeoutMs` elapsed before it settled.
    pub fn dial_timed_out(&mut self, token: u32, timeout_ms: u32) -> Vec<Command> {
        let Some(pending) = self.pending.remove(&token) else {
            return vec![];
        };
        vec![dial_error(
            format!(
                "dial-out to {} timed out: nobody answered within {timeout_ms} ms",
                pending.destination
            ),
            pending.request_id,
            None,
        )]
    }

    /// Dial-outs waiting for their participant.
    pub fn pending_dial_outs(&self) -> usize {
        self.pending.len()
    }
}

fn post(message: PluginToTop) -> Command {
    Command::Post { message }
}

fn warn(reason: String) -> Vec<Command> {
    vec![Command::Warn { reason }]
}

fn dial_error(message: String, request_id: Option<String>, field: Option<String>) -> Command {
    post(PluginToTop::DialOutError(DialOutError {
        message,
        request_id,
        field,
    }))
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
        Some(action) if action.starts_with(ACTION_PREFIX) => format!("action `{action}`"),
        Some(action) => format!("action `{action}` without the prefix"),
        None => "no action".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn action(name: &str) -> String {
        format!("{ACTION_PREFIX}{name}")
    }

    fn posted(cmds: &[Command]) -> Vec<Value> {
        cmds.iter()
            .filter_map(|c| match c {
                Command::Post { message } => Some(serde_json::to_value(message).unwrap()),
                _ => None,
            })
            .collect()
    }

    fn dial(extra: Value) -> Value {
        let mut v = json!({"action": action("dial-out"), "role": "GUEST", "destination": "alice@example.com", "protocol": "sip"});
        for (k, val) in extra.as_object().unwrap() {
            v[k] = val.clone();
        }
        v
    }

    #[test]
    fn ready_is_posted_once() {
        let mut p = Plugin::new(None).unwrap();
        assert_eq!(
            posted(&p.registered()),
            vec![json!({"action": action("ready")})]
        );
        assert!(p.registered().is_empty());
    }

    #[test]
    fn only_the_top_window_is_obeyed() {
        let mut p = Plugin::new(None).unwrap();
        let msg = json!({"action": action("toggle-chat-badge"), "visible": true});
        for source in [Source::Parent, Source::Other] {
            let cmds = p.message(&msg, source, "https://top.example");
            assert!(
                matches!(&cmds[..], [Command::Warn { reason }] if reason.contains("not from the top window"))
            );
        }
        let cmds = p.message(&msg, Source::Top, "https://top.example");
        assert_eq!(
            cmds,
            vec![Command::SetButton {
                active: false,
                tooltip: "Open Chat",
                badge: true
            }]
        );
    }

    #[test]
    fn channel_messages_are_silently_left_to_plugin_api() {
        let mut p = Plugin::new(None).unwrap();
        let reply = json!({"chanId": "external-chat-1", "replyTo": "x", "payload": {"ack": true}});
        assert!(p
            .message(&reply, Source::Parent, "https://webapp.example")
            .is_empty());
        // When Web App 3 is itself the top window, its channel messages come from the top.
        assert!(p
            .message(&reply, Source::Top, "https://webapp.example")
            .is_empty());
    }

    #[test]
    fn unprefixed_actions_are_warned_about() {
        let mut p = Plugin::new(None).unwrap();
        let cmds = p.message(
            &json!({"action": "toggle-chat-badge", "visible": true}),
            Source::Top,
            "x",
        );
        assert!(matches!(&cmds[..], [Command::Warn { reason }] if reason.contains("prefix")));
        let cmds = p.message(&json!("hello"), Source::Top, "x");
        assert!(matches!(&cmds[..], [Command::Warn { .. }]));
    }

    #[test]
    fn host_origin_gates_and_targets() {
        assert!(Plugin::new(Some("not an origin")).is_err());
        let mut p = Plugin::new(Some("https://Top.example/")).unwrap();
        assert_eq!(p.target_origin(), "https://top.example");
        let msg = json!({"action": action("toggle-chat-button-state"), "active": true});
        let cmds = p.message(&msg, Source::Top, "https://evil.example");
        assert!(matches!(&cmds[..], [Command::Warn { reason }] if reason.contains("origin")));
        let cmds = p.message(&msg, Source::Top, "https://top.example");
        assert_eq!(
            cmds,
            vec![Command::SetButton {
                active: true,
                tooltip: "Close Chat",
                badge: false
            }]
        );
        assert_eq!(Plugin::new(None).unwrap().target_origin(), "*");
    }

    #[test]
    fn the_button_asks_for_the_opposite_and_never_changes_itself() {
        let mut p = Plugin::new(None).unwrap();
        let ask = |p: &mut Plugin| posted(&p.button_clicked());
        assert_eq!(
            ask(&mut p),
            vec![json!({"action": action("toggle-chat"), "active": true})]
        );
        assert_eq!(
            ask(&mut p),
            vec![json!({"action": action("toggle-chat"), "active": true})]
        );
        p.message(
            &json!({"action": action("toggle-chat-button-state"), "active": true}),
            Source::Top,
            "x",
        );
        assert_eq!(
            ask(&mut p),
            vec![json!({"action": action("toggle-chat"), "active": false})]
        );
    }

    #[test]
    fn leave_then_disconnected_is_one_user_initiated_disconnect() {
        let mut p = Plugin::new(None).unwrap();
        assert!(p.user_disconnected().is_empty(), "not in a call yet");
        assert_eq!(
            posted(&p.connected()),
            vec![json!({"action": action("connected")})]
        );
        assert!(p.connected().is_empty());
        assert_eq!(
            posted(&p.user_disconnected()),
            vec![json!({"action": action("disconnected"), "userInitiated": true})]
        );
        assert!(p
            .disconnected(Some("x".into()), Some("y".into()))
            .is_empty());
        p.connected();
        assert_eq!(
            posted(&p.disconnected(Some("Lost".into()), Some("#pex1".into()))),
            vec![
                json!({"action": action("disconnected"), "userInitiated": false, "error": "Lost", "errorCode": "#pex1"})
            ]
        );
    }

    #[test]
    fn invalid_dial_out_names_the_field_and_echoes_the_request_id() {
        let mut p = Plugin::new(None).unwrap();
        p.connected();
        let cmds = p.message(
            &dial(json!({"role": "ADMIN", "requestId": "r7"})),
            Source::Top,
            "x",
        );
        let out = posted(&cmds);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0]["action"], action("dial-out-error"));
        assert_eq!(out[0]["field"], "role");
        assert_eq!(out[0]["requestId"], "r7");
        assert!(out[0]["message"].as_str().unwrap().contains("role"));
        assert!(!cmds.iter().any(|c| matches!(c, Command::Dial { .. })));
        let cmds = p.message(&dial(json!({"timeoutMs": 0})), Source::Top, "x");
        assert_eq!(posted(&cmds)[0]["field"], "timeoutMs");
    }

    #[test]
    fn dial_out_outside_a_call_is_refused() {
        let mut p = Plugin::new(None).unwrap();
        let out = posted(&p.message(&dial(json!({"requestId": "a"})), Source::Top, "x"));
        assert!(out[0]["message"]
            .as_str()
            .unwrap()
            .contains("not in a call"));
        assert_eq!(out[0]["requestId"], "a");
    }

    #[test]
    fn concurrent_dial_outs_settle_once_each() {
        let mut p = Plugin::new(None).unwrap();
        p.connected();
        let token = |cmds: Vec<Command>| match &cmds[..] {
            [Command::Dial { token, .. }] => *token,
            other => panic!("{other:?}"),
        };
        let a = token(p.message(
            &dial(json!({"requestId": "a", "timeoutMs": 50})),
            Source::Top,
            "x",
        ));
        let b = token(p.message(&dial(json!({"requestId": "b"})), Source::Top, "x"));
        assert_ne!(a, b);
        assert_eq!(p.pending_dial_outs(), 2);
        let out = posted(&p.dial_succeeded(b, "uuid-b".into(), Some("Bob".into())));
        assert_eq!(
            out,
            vec![
                json!({"action": action("dial-out-success"), "uuid": "uuid-b", "displayName": "Bob", "requestId": "b"})
            ]
        );
        let out = posted(&p.dial_timed_out(a, 50));
        assert_eq!(out[0]["requestId"], "a");
        assert!(out[0]["message"].as_str().unwrap().contains("timed out"));
        // A late answer after the timeout is not reported twice.
        assert!(p.dial_succeeded(a, "late".into(), None).is_empty());
        assert!(p.dial_failed(b, "x".into()).is_empty());
        assert_eq!(p.pending_dial_outs(), 0);
    }

    #[test]
    fn the_call_ending_fails_pending_dial_outs() {
        let mut p = Plugin::new(None).unwrap();
        p.connected();
        p.message(&dial(json!({"requestId": "z"})), Source::Top, "x");
        let out = posted(&p.disconnected(None, None));
        assert_eq!(out.len(), 2);
        assert_eq!(out[1]["action"], action("dial-out-error"));
        assert_eq!(out[1]["requestId"], "z");
    }

    #[test]
    fn commands_serialize_as_the_glue_reads_them() {
        let mut p = Plugin::new(None).unwrap();
        p.connected();
        let cmds = p.message(
            &dial(json!({"timeoutMs": 10, "call_type": "audio"})),
            Source::Top,
            "x",
        );
        assert_eq!(
            serde_json::to_value(&cmds).unwrap(),
            json!([{"do": "dial", "token": 1, "timeoutMs": 10, "params": {"role": "GUEST", "destination": "alice@example.com", "protocol": "sip", "call_type": "audio"}}])
        );
        assert_eq!(
            serde_json::to_value(p.initial_button()).unwrap(),
            json!({"do": "setButton", "active": false, "tooltip": "Open Chat", "badge": false})
        );
    }
}
