//! The WebSocket frames between the browser host runtime and the meetbridge server.
//!
//! One socket per page carries many objects. Each text frame is one JSON object tagged by
//! `op`. The oVice messages travel inside, unchanged, wrapped with the object id and an
//! optional request id (`req`) that the server echoes in `ack` / `error`.
//! The server, never the client, decides who the sender is.
//!
//! ```text
//! client → server                          server → client
//! {op:"presence", req, object, status,     {op:"welcome", participant, limits, ...}
//!   since?}                                {op:"ack", req, seq?}
//! {op:"plugin", req, object, id?, message} {op:"plugin", object, seq?, message}
//! {op:"history", req, object, since?,      {op:"missed", object, from, to}
//!   limit?, before?, backward?}            {op:"error", req?, object?, code, message, field?}
//! {op:"ping", req?}                        {op:"pong", req?}
//!                                          {op:"floor", change, space, object?|id?|def?}
//! ```
//!
//! **Where a resume starts.** The `ack` of a `presence` that leaves the connection on the
//! object carries `seq`, the object's latest sequence number at that moment (absent while
//! nothing was relayed): a page that has received nothing since still resumes with
//! `since` = that number after a reconnect, and gets exactly what it missed.
//!
//! **The live floor.** `floor` frames ([`crate::space::FloorFrame`]) tell every page of a
//! space that an object was added, edited or removed, or that the space changed; they are
//! not sequenced or replayed (a page that reconnects reads the space again).
//!
//! **Idempotent sends.** A `plugin` frame may carry `id`, a string the client chooses,
//! unique per user (the host runtime uses a random per-page prefix and a counter, and
//! keeps the id when it sends a frame again after a reconnect). The server remembers the
//! ids of `ovice_broadcast_message`, `ovice_emit_message` and `ovice_save_and_emit_data`
//! that succeeded, per user and object, for a bounded window (a count and an age); a frame
//! whose id it remembers is not acted on again but answered as the first one was: the
//! same `ack` (same `seq`), and for a save the same `ovice_data_saved_success`, without
//! saving again. The id alone decides: an id reused for a different message is a
//! duplicate too. Ids on other messages are ignored (they change nothing).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::decode::decode;
use crate::ovice::{PlatformToPlugin, PluginToPlatform, PresenceStatus, StringOrNumber, UserId};
use crate::parsed::{ignored, invalid, Invalid, Parsed};
use crate::space::FloorFrame;

/// Browser → server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Moves this user's presence on an object: approaching subscribes, linking joins,
    /// unlinking leaves, moving away unsubscribes. With `since`, the server first replays
    /// what this user missed on the object after that sequence number.
    Presence(PresenceFrame),
    /// A message from the object's plugin, to be acted on by the server.
    Plugin(PluginFrame),
    /// Asks for the object's relayed messages (history extension): those addressed to this
    /// user and those this user sent, oldest first, then an `ack` that says which part of
    /// the history the answer covers (see [`HistoryFrame`]). The host runtime sends it for a
    /// plugin's `meetbridge_get_history`.
    History(HistoryFrame),
    /// Keep-alive.
    Ping(PingFrame),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub struct PresenceFrame {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional, type = "number"))]
    pub req: Option<u64>,
    pub object: String,
    pub status: PresenceStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional, type = "number"))]
    pub since: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub struct PluginFrame {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional, type = "number"))]
    pub req: Option<u64>,
    pub object: String,
    /// Client-chosen message id, unique per user (1 to [`MAX_MESSAGE_ID_BYTES`] bytes):
    /// a frame sent again with the same id is answered as the first time and not acted on
    /// again, as long as the server remembers the id (see the module docs). The id alone
    /// decides, even if the message differs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub id: Option<String>,
    pub message: PluginToPlatform,
}

/// The longest `id` a `plugin` frame may carry, in bytes (UTF-8).
pub const MAX_MESSAGE_ID_BYTES: usize = 128;

/// A `history` request. Two directions:
///
/// - **forward** (the default): the oldest `limit` messages with a sequence number above
///   `since` (the whole retained history without it); the `ack`'s `seq` is the highest
///   number the answer covers: ask again with `since` = that to go on.
/// - **backward** (`before`, or `backward: true` for the newest page): the newest `limit`
///   messages below `before` (and above `since`, when given), still oldest first within
///   the page; the `ack`'s `from` is the lowest number the answer covers: ask again with
///   `before` = that for the page before it. The `ack`'s `start` says the answer reached
///   the oldest message retained: there is nothing earlier to ask for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub struct HistoryFrame {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional, type = "number"))]
    pub req: Option<u64>,
    pub object: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional, type = "number"))]
    pub since: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub limit: Option<u32>,
    /// Page backwards from just below this sequence number (a previous answer's `from`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional, type = "number"))]
    pub before: Option<u64>,
    /// Page backwards from the newest message (implied by `before`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[cfg_attr(feature = "codegen", ts(as = "Option<bool>", optional))]
    pub backward: bool,
}

impl HistoryFrame {
    /// Whether this asks for a page backwards (`before` or `backward`).
    pub fn is_backward(&self) -> bool {
        self.backward || self.before.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub struct PingFrame {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional, type = "number"))]
    pub req: Option<u64>,
}

/// Server → browser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ServerFrame {
    /// First frame on a socket: who the server says this user is.
    Welcome(Welcome),
    /// A request succeeded. `seq` is the sequence number given to a relayed message; on a
    /// `history` request, the highest sequence number the answer covers (and `from`,
    /// `start` say where it begins).
    Ack(Ack),
    /// A message for the object's plugin. `seq` is set on relayed messages, which the
    /// history keeps; a client remembers the highest it saw to resume after a drop.
    Plugin(ServerPluginFrame),
    /// Messages `from..=to` of the object are past the history window and cannot be replayed.
    Missed(Missed),
    /// A request or frame was refused.
    Error(ErrorFrame),
    Pong(PingFrame),
    /// Something changed on a space's floor (see [`FloorFrame`]): sent to every socket of
    /// the space.
    Floor(FloorFrame),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Welcome {
    pub participant: Identity,
    pub limits: Limits,
}

/// A user as the server knows them from their signed token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    pub id: UserId,
    pub name: String,
    pub avatar_url: String,
    pub workspace_id: StringOrNumber,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub email: Option<String>,
    pub is_visitor: bool,
}

/// What a page learns from `GET /api/info` before it connects: where the socket is, how
/// to authenticate on it, the limits, and the demo server's dev-only login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    /// Whether the demo server's `POST /api/dev/login` is on.
    pub dev_login: bool,
    /// The demo space, when the server runs the demo.
    pub demo_space: Option<String>,
    /// The WebSocket's path.
    pub ws: String,
    /// The WebSocket URLs to try in order (the nodes of a cluster, `--ws-url`); empty: `ws`
    /// on this server.
    #[serde(default)]
    pub servers: Vec<String>,
    /// The first subprotocol of the WebSocket (the token travels as the second).
    pub subprotocol: String,
    /// Whether plain `http:` plugin URLs beyond loopback are accepted
    /// (`--allow-http-plugins`): the host runtime applies the same plugin URL policy.
    #[serde(default)]
    pub allow_http_plugins: bool,
    pub limits: Limits,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    pub max_message_bytes: u32,
    pub max_data_bytes: u32,
    /// Frames per second allowed on one connection before `rate_limited`.
    pub max_frames_per_second: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub struct Ack {
    #[cfg_attr(feature = "codegen", ts(type = "number"))]
    pub req: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional, type = "number"))]
    pub seq: Option<u64>,
    /// On a backward `history` request: the lowest sequence number the answer covers (the
    /// `before` of the page before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional, type = "number"))]
    pub from: Option<u64>,
    /// On a backward `history` request: the answer reaches the oldest message retained.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[cfg_attr(feature = "codegen", ts(as = "Option<bool>", optional))]
    pub start: bool,
}

impl Ack {
    /// The plain answer to a request (with the `seq` of a relayed message, if any).
    pub fn new(req: u64, seq: Option<u64>) -> Self {
        Ack {
            req,
            seq,
            from: None,
            start: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub struct ServerPluginFrame {
    pub object: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional, type = "number"))]
    pub seq: Option<u64>,
    pub message: PlatformToPlugin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub struct Missed {
    pub object: String,
    #[cfg_attr(feature = "codegen", ts(type = "number"))]
    pub from: u64,
    #[cfg_attr(feature = "codegen", ts(type = "number"))]
    pub to: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub struct ErrorFrame {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional, type = "number"))]
    pub req: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub object: Option<String>,
    pub code: ErrorCode,
    pub message: String,
    /// The offending field, for `bad_frame` / `invalid_message` / `too_large`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub field: Option<String>,
}

/// Why the server refused something. Stable strings: clients switch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not JSON or not a known `op`.
    BadFrame,
    /// The wrapped oVice message is malformed.
    InvalidMessage,
    /// A message or data document over the limit.
    TooLarge,
    /// No such object.
    UnknownObject,
    /// The sender is not subscribed to or joined to the object.
    NotMember,
    /// `to` names a user who is not a member of the object.
    RecipientNotMember,
    /// `source` names somebody other than the sender, or `objectId` another object.
    SpoofedSource,
    /// Too many frames on this connection.
    RateLimited,
    /// Missing or bad token.
    Unauthorized,
    /// The server failed; the request may be retried.
    Internal,
}

impl ErrorCode {
    /// Every code, in declaration order.
    pub const ALL: [ErrorCode; 10] = [
        ErrorCode::BadFrame,
        ErrorCode::InvalidMessage,
        ErrorCode::TooLarge,
        ErrorCode::UnknownObject,
        ErrorCode::NotMember,
        ErrorCode::RecipientNotMember,
        ErrorCode::SpoofedSource,
        ErrorCode::RateLimited,
        ErrorCode::Unauthorized,
        ErrorCode::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadFrame => "bad_frame",
            ErrorCode::InvalidMessage => "invalid_message",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::UnknownObject => "unknown_object",
            ErrorCode::NotMember => "not_member",
            ErrorCode::RecipientNotMember => "recipient_not_member",
            ErrorCode::SpoofedSource => "spoofed_source",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Internal => "internal",
        }
    }

    /// The code for an invalid message: `too_large` when a limit was crossed.
    pub fn for_invalid(invalid: &Invalid) -> Self {
        if invalid.is_over_limit() {
            ErrorCode::TooLarge
        } else {
            ErrorCode::InvalidMessage
        }
    }
}

/// Why the host runtime itself refused or reports something to a plugin, in a
/// `meetbridge_error` beside the server's [`ErrorCode`]s. Stable strings: plugins switch on
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum HostErrorCode {
    /// An `ovice_*` message of a type the contract does not have.
    UnknownType,
    /// Messages of the object were past the server's history window and are lost.
    MissedMessages,
}

impl HostErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            HostErrorCode::UnknownType => "unknown_type",
            HostErrorCode::MissedMessages => "missed_messages",
        }
    }
}

impl ClientFrame {
    /// Reads one text frame. The wrapped oVice message goes through the oVice parser, so
    /// the limits apply and an unknown `type` is invalid here (the host forwards only
    /// messages it understood).
    ///
    /// A `plugin` frame is read from the text itself, so the plugin's `message` and data
    /// document keep their text (nothing is rebuilt); other frames, and any frame that does
    /// not read cleanly, go through [`ClientFrame::parse_value`], which words the error.
    pub fn parse(text: &str) -> Parsed<Self> {
        if let Some(parsed) = plugin_frame_text(text) {
            return parsed;
        }
        let value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                return Parsed::Invalid(invalid("frame", "", format!("not JSON: {e}")));
            }
        };
        Self::parse_value(&value)
    }

    /// [`ClientFrame::parse`] for an already decoded value.
    pub fn parse_value(value: &Value) -> Parsed<Self> {
        let op = match value.get("op") {
            Some(Value::String(op)) => op.as_str(),
            _ => return ignored("no string `op` field"),
        };
        let result = match op {
            "presence" => decode(op, "", value).map(ClientFrame::Presence),
            "history" => decode(op, "", value).map(ClientFrame::History),
            "ping" => decode(op, "", value).map(ClientFrame::Ping),
            "plugin" => parse_plugin_frame(value).map(ClientFrame::Plugin),
            other => return ignored(format!("unknown op `{other}`")),
        };
        result.into()
    }

    /// The request id, when the frame has one.
    pub fn req(&self) -> Option<u64> {
        match self {
            ClientFrame::Presence(f) => f.req,
            ClientFrame::Plugin(f) => f.req,
            ClientFrame::History(f) => f.req,
            ClientFrame::Ping(f) => f.req,
        }
    }
}

#[derive(Deserialize)]
struct PluginFrameHead {
    #[serde(default)]
    req: Option<u64>,
    object: String,
    #[serde(default)]
    id: Option<String>,
}

#[derive(Deserialize)]
struct ServerPluginFrameHead {
    object: String,
    #[serde(default)]
    seq: Option<u64>,
}

fn parse_server_plugin_frame(value: &Value) -> Result<ServerPluginFrame, Invalid> {
    let head: ServerPluginFrameHead = decode("plugin", "", value)?;
    let message = value.get("message").unwrap_or(&Value::Null);
    match PlatformToPlugin::parse(message) {
        Parsed::Message(message) => Ok(ServerPluginFrame {
            object: head.object,
            seq: head.seq,
            message,
        }),
        Parsed::Invalid(e) => Err(nested(e)),
        Parsed::Ignored(i) => Err(invalid("plugin", "message", i.reason)),
    }
}

/// Re-roots an error of the wrapped message under `message`.
fn nested(mut e: Invalid) -> Invalid {
    e.field = if e.field.is_empty() {
        "message".into()
    } else {
        format!("message.{}", e.field)
    };
    e
}

fn parse_plugin_frame(value: &Value) -> Result<PluginFrame, Invalid> {
    let head: PluginFrameHead = decode("plugin", "", value)?;
    if let Some(id) = &head.id {
        if id.is_empty() || id.len() > MAX_MESSAGE_ID_BYTES {
            return Err(invalid(
                "plugin",
                "id",
                format!(
                    "`id` must be 1 to {MAX_MESSAGE_ID_BYTES} bytes long, not {}",
                    id.len()
                ),
            ));
        }
    }
    let message = value.get("message").unwrap_or(&Value::Null);
    match PluginToPlatform::parse(message) {
        Parsed::Message(message) => Ok(PluginFrame {
            req: head.req,
            object: head.object,
            id: head.id,
            message,
        }),
        Parsed::Invalid(e) => Err(nested(e)),
        Parsed::Ignored(i) => Err(invalid("plugin", "message", i.reason)),
    }
}

/// The fields of a frame read from its text, values kept as text.
#[derive(Deserialize)]
struct FrameText<'a> {
    #[serde(borrow, default)]
    op: Option<Cow<'a, str>>,
    #[serde(default)]
    req: Option<u64>,
    #[serde(default)]
    object: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(borrow, default)]
    message: Option<&'a RawValue>,
}

/// A `plugin` frame read from its text, when it reads cleanly (`None`: the `Value` path).
fn frame_text(text: &str) -> Option<FrameText<'_>> {
    if !text.trim_start().starts_with('{') {
        return None;
    }
    let frame: FrameText = serde_json::from_str(text).ok()?;
    (frame.op.as_deref() == Some("plugin") && frame.object.is_some() && frame.message.is_some())
        .then_some(frame)
}

fn plugin_frame_text(text: &str) -> Option<Parsed<ClientFrame>> {
    let frame = frame_text(text)?;
    if let Some(id) = &frame.id {
        if id.is_empty() || id.len() > MAX_MESSAGE_ID_BYTES {
            return None;
        }
    }
    let message = match PluginToPlatform::parse_text(frame.message?.get()) {
        Parsed::Message(message) => message,
        Parsed::Invalid(e) => return Some(Parsed::Invalid(nested(e))),
        Parsed::Ignored(i) => return Some(Parsed::Invalid(invalid("plugin", "message", i.reason))),
    };
    Some(Parsed::Message(ClientFrame::Plugin(PluginFrame {
        req: frame.req,
        object: frame.object?,
        id: frame.id,
        message,
    })))
}

fn server_plugin_frame_text(text: &str) -> Option<Parsed<ServerFrame>> {
    let frame = frame_text(text)?;
    let message = match PlatformToPlugin::parse_text(frame.message?.get()) {
        Parsed::Message(message) => message,
        Parsed::Invalid(e) => return Some(Parsed::Invalid(nested(e))),
        Parsed::Ignored(i) => return Some(Parsed::Invalid(invalid("plugin", "message", i.reason))),
    };
    Some(Parsed::Message(ServerFrame::Plugin(ServerPluginFrame {
        object: frame.object?,
        seq: frame.seq,
        message,
    })))
}

/// What an error frame echoes: the `req` and `object` of a client frame, read one by one
/// so that either survives another field being malformed (or the frame being too large).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrameHead {
    pub req: Option<u64>,
    pub object: Option<String>,
}

impl FrameHead {
    /// Reads `req` and `object` from a frame's text, each on its own; whatever does not
    /// read is `None`. A key given twice counts as its last value, as `JSON.parse` reads
    /// it (and the frame's own parser refuses or reads it alike), so a request is answered
    /// under the `req` its sender's JSON says.
    pub fn read(text: &str) -> Self {
        let Ok(fields) = serde_json::from_str::<std::collections::HashMap<String, &RawValue>>(text)
        else {
            return FrameHead::default();
        };
        let field = |name: &str| fields.get(name).map(|raw| raw.get());
        FrameHead {
            req: field("req").and_then(|r| serde_json::from_str(r).ok()),
            object: field("object").and_then(|o| serde_json::from_str(o).ok()),
        }
    }
}

impl ServerFrame {
    /// Reads one server frame, as the host runtime does. The wrapped platform message goes
    /// through the oVice parser, so an unknown `type` inside is reported, not swallowed.
    ///
    /// A `plugin` frame is read from the text itself: relayed messages and data documents
    /// keep the sender's text.
    pub fn parse(text: &str) -> Parsed<Self> {
        if let Some(parsed) = server_plugin_frame_text(text) {
            return parsed;
        }
        let value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                return Parsed::Invalid(invalid("frame", "", format!("not JSON: {e}")));
            }
        };
        let op = match value.get("op") {
            Some(Value::String(op)) => op.as_str(),
            _ => return ignored("no string `op` field"),
        };
        let result = match op {
            "welcome" => decode(op, "", &value).map(ServerFrame::Welcome),
            "ack" => decode(op, "", &value).map(ServerFrame::Ack),
            "missed" => decode(op, "", &value).map(ServerFrame::Missed),
            "error" => decode(op, "", &value).map(ServerFrame::Error),
            "pong" => decode(op, "", &value).map(ServerFrame::Pong),
            "floor" => decode(op, "", &value).map(ServerFrame::Floor),
            "plugin" => parse_server_plugin_frame(&value).map(ServerFrame::Plugin),
            other => return ignored(format!("unknown op `{other}`")),
        };
        result.into()
    }

    /// Encodes the frame as the text sent on the socket.
    pub fn to_text(&self) -> String {
        // Every frame type is plain data; encoding cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_head_of_a_frame_reads_a_key_given_twice_as_its_last_value() {
        // Found by the session_frames fuzz target: the refusal went out without its req.
        let text = r#"{"op":"presence","req":2,"object":"fy","req":9,"object":"f2","since":-1}"#;
        let head = FrameHead::read(text);
        assert_eq!((head.req, head.object.as_deref()), (Some(9), Some("f2")));
        let escaped = FrameHead::read(r#"{"r\u0065q":5,"object":7}"#);
        assert_eq!((escaped.req, escaped.object), (Some(5), None));
        assert_eq!(FrameHead::read("[1]"), FrameHead::default());
    }

    #[test]
    fn plugin_frame_errors_name_the_nested_field() {
        let text = json!({"op": "plugin", "req": 4, "object": "o1", "message": {"type": "ovice_emit_message", "payload": {"event": "e", "message": 1}}}).to_string();
        let Parsed::Invalid(e) = ClientFrame::parse(&text) else {
            panic!()
        };
        assert_eq!(e.field, "message.payload.to");
    }

    #[test]
    fn plugin_frames_carry_an_optional_id() {
        let msg =
            json!({"type": "ovice_broadcast_message", "payload": {"event": "e", "message": 1}});
        let text = json!({"op": "plugin", "req": 1, "object": "o", "id": "p1-7", "message": msg})
            .to_string();
        let Parsed::Message(ClientFrame::Plugin(frame)) = ClientFrame::parse(&text) else {
            panic!()
        };
        assert_eq!(frame.id.as_deref(), Some("p1-7"));
        let back = serde_json::to_string(&ClientFrame::Plugin(frame.clone())).unwrap();
        assert_eq!(
            ClientFrame::parse(&back),
            Parsed::Message(ClientFrame::Plugin(frame))
        );
        let without = json!({"op": "plugin", "object": "o", "message": msg}).to_string();
        let Parsed::Message(frame) = ClientFrame::parse(&without) else {
            panic!()
        };
        assert!(matches!(
            frame,
            ClientFrame::Plugin(PluginFrame { id: None, .. })
        ));
        // Absent stays absent on the wire.
        assert!(!serde_json::to_string(&frame).unwrap().contains("\"id\""));
        for bad in [
            json!(""),
            json!("x".repeat(MAX_MESSAGE_ID_BYTES + 1)),
            json!(5),
        ] {
            let text =
                json!({"op": "plugin", "object": "o", "id": bad, "message": msg}).to_string();
            assert!(
                matches!(ClientFrame::parse(&text), Parsed::Invalid(Invalid { ref field, .. }) if field == "id"),
                "{bad}"
            );
        }
    }

    #[test]
    fn garbage_is_invalid_not_a_panic() {
        assert!(matches!(ClientFrame::parse("{"), Parsed::Invalid(_)));
        assert!(matches!(ClientFrame::parse("[]"), Parsed::Ignored(_)));
        assert!(matches!(
            ClientFrame::parse(r#"{"op":"presence","object":"o","status":"dancing"}"#),
            Parsed::Invalid(Invalid { ref field, .. }) if field == "status"
        ));
    }

    #[test]
    fn server_frames_parse_back() {
        let frame = ServerFrame::Error(ErrorFrame {
            req: Some(3),
            object: Some("o".into()),
            code: ErrorCode::NotMember,
            message: "join first".into(),
            field: None,
        });
        assert_eq!(ServerFrame::parse(&frame.to_text()), Parsed::Message(frame));
        let plugin = r#"{"op":"plugin","object":"o","seq":4,"message":{"type":"ovice_shared_data","payload":{"a":1}}}"#;
        assert!(matches!(
            ServerFrame::parse(plugin),
            Parsed::Message(ServerFrame::Plugin(_))
        ));
        let bad =
            r#"{"op":"plugin","object":"o","message":{"type":"ovice_shared_data","payload":3}}"#;
        assert!(
            matches!(ServerFrame::parse(bad), Parsed::Invalid(Invalid { ref field, .. }) if field == "message.payload")
        );
    }

    #[test]
    fn error_codes_are_their_wire_strings() {
        for code in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(code).unwrap(), json!(code.as_str()));
        }
        for code in [HostErrorCode::UnknownType, HostErrorCode::MissedMessages] {
            assert_eq!(serde_json::to_value(code).unwrap(), json!(code.as_str()));
        }
    }

    #[test]
    fn frames_round_trip() {
        let frame = ClientFrame::Presence(PresenceFrame {
            req: Some(1),
            object: "o".into(),
            status: PresenceStatus::Joined,
            since: Some(7),
        });
        let text = serde_json::to_string(&frame).unwrap();
        assert_eq!(ClientFrame::parse(&text), Parsed::Message(frame));
    }

    #[test]
    fn history_frames_page_forward_or_backward() {
        let forward = ClientFrame::parse(r#"{"op":"history","object":"o","since":3,"limit":2}"#);
        let Parsed::Message(ClientFrame::History(f)) = forward else {
            panic!("{forward:?}")
        };
        assert!(!f.is_backward());
        let newest = ClientFrame::parse(r#"{"op":"history","object":"o","backward":true}"#);
        let Parsed::Message(ClientFrame::History(f)) = newest else {
            panic!("{newest:?}")
        };
        assert!(f.is_backward() && f.before.is_none());
        let earlier = HistoryFrame {
            req: Some(2),
            object: "o".into(),
            before: Some(40),
            limit: Some(50),
            ..HistoryFrame::default()
        };
        assert!(earlier.is_backward());
        let text = serde_json::to_string(&ClientFrame::History(earlier.clone())).unwrap();
        assert_eq!(
            text,
            r#"{"op":"history","req":2,"object":"o","limit":50,"before":40}"#
        );
        assert_eq!(
            ClientFrame::parse(&text),
            Parsed::Message(ClientFrame::History(earlier))
        );
        let bad = ClientFrame::parse(r#"{"op":"history","object":"o","backward":"yes"}"#);
        assert!(matches!(bad, Parsed::Invalid(Invalid { ref field, .. }) if field == "backward"));
        let ack = ServerFrame::Ack(Ack {
            req: 2,
            seq: Some(39),
            from: Some(12),
            start: true,
        });
        assert_eq!(
            ack.to_text(),
            r#"{"op":"ack","req":2,"seq":39,"from":12,"start":true}"#
        );
        assert_eq!(ServerFrame::parse(&ack.to_text()), Parsed::Message(ack));
        assert_eq!(
            ServerFrame::Ack(Ack::new(1, None)).to_text(),
            r#"{"op":"ack","req":1}"#
        );
    }
}
