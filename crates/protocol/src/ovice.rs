//! The oVice custom-plugin contract.
//!
//! Every message is `{ "type": "ovice_<event>", "payload": ... }`.
//! [`PluginToPlatform`] is what a plugin posts to `window.parent`, [`PlatformToPlugin`]
//! what the platform posts into the plugin's iframe. Find an event by its oVice name in
//! this file; the older names and the old handshake are in [`crate::legacy`].
//!
//! Real plugins omit `source` and `objectId` from broadcast/emit: they are optional on the
//! way in ([`OutgoingMessage`]) and filled in by the platform from who the sender really
//! is, so always present on the way out ([`RelayedMessage`]).
//!
//! What a plugin sends arrives as it was sent: the `message` of a broadcast/emit and the
//! data document are [`JsonText`] / [`DataDocument`], the plugin's JSON text, checked and
//! measured but never rebuilt. Read messages from text with `parse_text` to keep it; `parse`
//! reads an already decoded `Value` (whose maps are sorted).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::decode::decode;
pub use crate::json_text::{DataDocument, JsonText};
use crate::limits::{json_len, over_limit, MAX_DATA_BYTES, MAX_MESSAGE_BYTES};
use crate::parsed::{ignored, invalid, Invalid, Parsed};

/// Plugin → platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(tag = "type", content = "payload")]
pub enum PluginToPlatform {
    /// `ovice_get_participants`: asks for the object's participants, self included.
    #[serde(rename = "ovice_get_participants")]
    GetParticipants,
    /// `ovice_broadcast_message`: a message for every other user of the object.
    #[serde(rename = "ovice_broadcast_message")]
    BroadcastMessage(OutgoingMessage),
    /// `ovice_emit_message`: a message for one user of the object (`to`).
    #[serde(rename = "ovice_emit_message")]
    EmitMessage(OutgoingMessage),
    /// `ovice_get_data`: asks for the object's saved data.
    #[serde(rename = "ovice_get_data")]
    GetData,
    /// `ovice_save_and_emit_data`: stores the document and shares it with the others.
    #[serde(rename = "ovice_save_and_emit_data")]
    SaveAndEmitData(DataDocument),
    /// `meetbridge_get_history` (extension): asks for the object's past messages; answered
    /// with `meetbridge_history`. oVice itself does not answer it: a plugin that asks must
    /// treat silence as "no history here" (the SDK's `getHistory` does).
    #[serde(rename = "meetbridge_get_history")]
    GetHistory(HistoryRequest),
}

/// Platform → plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(tag = "type", content = "payload")]
pub enum PlatformToPlugin {
    /// `ovice_participants`: the answer to `ovice_get_participants`.
    #[serde(rename = "ovice_participants")]
    Participants(Vec<Participant>),
    /// `ovice_participant_subscribed`: a user came within range of the object.
    #[serde(rename = "ovice_participant_subscribed")]
    ParticipantSubscribed(Participant),
    /// `ovice_participant_unsubscribed`: a user moved out of range.
    #[serde(rename = "ovice_participant_unsubscribed")]
    ParticipantUnsubscribed(Participant),
    /// `ovice_participant_joined`: a user linked to the object.
    #[serde(rename = "ovice_participant_joined")]
    ParticipantJoined(Participant),
    /// `ovice_participant_left`: a user unlinked from the object.
    #[serde(rename = "ovice_participant_left")]
    ParticipantLeft(Participant),
    /// `ovice_message`: a broadcast or emit from another user, reflected to this plugin.
    #[serde(rename = "ovice_message")]
    Message(RelayedMessage),
    /// `ovice_saved_data`: the answer to `ovice_get_data`.
    #[serde(rename = "ovice_saved_data")]
    SavedData(DataDocument),
    /// `ovice_shared_data`: another user saved the object's data.
    #[serde(rename = "ovice_shared_data")]
    SharedData(DataDocument),
    /// `ovice_data_saved_success`: this plugin's save is durable.
    #[serde(rename = "ovice_data_saved_success")]
    DataSavedSuccess(SavedSuccess),
    /// `meetbridge_error` (extension): why the platform refused what this plugin sent.
    /// A plugin that does not know it ignores it, as it ignores any unknown type.
    #[serde(rename = "meetbridge_error")]
    Error(PluginError),
    /// `meetbridge_history` (extension): the answer to `meetbridge_get_history`.
    #[serde(rename = "meetbridge_history")]
    History(HistoryPage),
    /// `meetbridge_sent` (extension): the platform accepted this plugin's broadcast or
    /// emit and relayed it under `seq`. One per accepted send, in the order of the sends;
    /// a refused send gets `meetbridge_error` instead, in the same order. oVice itself
    /// sends nothing: a plugin must not wait for it (the SDK resolves after a while).
    #[serde(rename = "meetbridge_sent")]
    Sent(SentReceipt),
}

/// Payload of `meetbridge_sent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub struct SentReceipt {
    /// What was sent.
    pub request: SentRequest,
    /// The sequence number the platform gave the message (its place in the history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional, type = "number"))]
    pub seq: Option<u64>,
}

/// The sends that get a `meetbridge_sent` receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub enum SentRequest {
    #[serde(rename = "ovice_broadcast_message")]
    BroadcastMessage,
    #[serde(rename = "ovice_emit_message")]
    EmitMessage,
}

/// A participant record, as the seed's examples give it. Optional fields are never
/// invented: a field that was not sent is not encoded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    /// Unique identifier of the user (string or integer).
    pub id: UserId,
    /// Given only when the organisation's owner allows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub email: Option<String>,
    pub name: String,
    pub object_id: String,
    pub object_type: ObjectType,
    pub avatar_url: String,
    /// Workspace of the user (the seed's examples use a string and a number).
    pub workspace_id: StringOrNumber,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub is_host: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub is_self: Option<bool>,
    pub is_visitor: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub status: Option<PresenceStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub language: Option<String>,
}

/// A user id: the seed allows a string or an integer; what was sent is kept.
// Deserialize is written by hand below: serde's derived `untagged` buffers the input and
// costs more code in the browser builds than the whole of this file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(untagged)]
pub enum UserId {
    Text(String),
    Integer(#[cfg_attr(feature = "codegen", ts(type = "number"))] i64),
}

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UserId::Text(s) => f.write_str(s),
            UserId::Integer(n) => write!(f, "{n}"),
        }
    }
}

impl UserId {
    /// The id as the string that `source` and `to` carry.
    pub fn as_source(&self) -> String {
        self.to_string()
    }
}

/// A string or a number, kept as sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(untagged)]
pub enum StringOrNumber {
    Text(String),
    Number(#[cfg_attr(feature = "codegen", ts(type = "number"))] serde_json::Number),
}

impl<'de> Deserialize<'de> for UserId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = UserId;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<UserId, E> {
                Ok(UserId::Text(v.to_owned()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<UserId, E> {
                Ok(UserId::Integer(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<UserId, E> {
                i64::try_from(v)
                    .map(UserId::Integer)
                    .map_err(|_| E::custom("integer id out of range"))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for StringOrNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = StringOrNumber;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<StringOrNumber, E> {
                Ok(StringOrNumber::Text(v.to_owned()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<StringOrNumber, E> {
                Ok(StringOrNumber::Number(v.into()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<StringOrNumber, E> {
                Ok(StringOrNumber::Number(v.into()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<StringOrNumber, E> {
                serde_json::Number::from_f64(v)
                    .map(StringOrNumber::Number)
                    .ok_or_else(|| E::custom("not a finite number"))
            }
        }
        d.deserialize_any(V)
    }
}

/// `static` or `dynamic` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum ObjectType {
    Static,
    Dynamic,
}

/// The seed's four statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum PresenceStatus {
    /// Within range of the object but not linked.
    Subscribed,
    /// Linked to the object.
    Joined,
    /// Was linked but left the object (still within range).
    Left,
    /// Moved out of range.
    Unsubscribed,
}

impl PresenceStatus {
    /// The event that announces this status.
    pub fn event_type(self) -> &'static str {
        match self {
            PresenceStatus::Subscribed => "ovice_participant_subscribed",
            PresenceStatus::Joined => "ovice_participant_joined",
            PresenceStatus::Left => "ovice_participant_left",
            PresenceStatus::Unsubscribed => "ovice_participant_unsubscribed",
        }
    }

    /// The platform message that announces `participant` with this status.
    pub fn event(self, participant: Participant) -> PlatformToPlugin {
        match self {
            PresenceStatus::Subscribed => PlatformToPlugin::ParticipantSubscribed(participant),
            PresenceStatus::Joined => PlatformToPlugin::ParticipantJoined(participant),
            PresenceStatus::Left => PlatformToPlugin::ParticipantLeft(participant),
            PresenceStatus::Unsubscribed => PlatformToPlugin::ParticipantUnsubscribed(participant),
        }
    }
}

/// Payload of `ovice_broadcast_message` / `ovice_emit_message` as a plugin sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct OutgoingMessage {
    /// The sender's user id; filled in by the platform, refused if it is not the sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub source: Option<String>,
    /// The plugin's own event name.
    pub event: String,
    /// The object; filled in by the platform, refused if it is another object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub object_id: Option<String>,
    /// Any JSON value, as the plugin wrote it (absent: `null`). The whole payload counts
    /// toward [`MAX_MESSAGE_BYTES`].
    #[serde(default = "JsonText::null")]
    pub message: JsonText,
    /// The recipient's user id: required for emit, absent for broadcast.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub to: Option<String>,
}

/// Payload of `ovice_message`: what a recipient gets. `source` and `objectId` are always set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RelayedMessage {
    pub source: String,
    pub event: String,
    pub object_id: String,
    /// The sender's `message`, exactly as it was sent.
    #[serde(default = "JsonText::null")]
    pub message: JsonText,
    /// Set when the message was an emit to one user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub to: Option<String>,
}

/// Payload of `ovice_data_saved_success`: the saved document and when it was saved.
///
/// On the wire `updated_at` sits beside the document's own keys, first. **The platform's
/// timestamp wins, exactly once**: a document with its own top-level `updated_at` is
/// saved, stored and shared with it, but in this reply that key carries the platform's
/// timestamp and appears once. Encoding leaves out `data`'s own `updated_at` whenever
/// `updated_at` is set; reading splits the key out of the document.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub struct SavedSuccess {
    /// Seconds since the Unix epoch.
    #[cfg_attr(
        feature = "codegen",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    #[cfg_attr(feature = "codegen", ts(optional, type = "number"))]
    pub updated_at: Option<i64>,
    #[cfg_attr(feature = "codegen", serde(flatten))]
    pub data: DataDocument,
}

impl SavedSuccess {
    /// The reply as it travels: the timestamp first, then the document's other entries.
    pub fn document(&self) -> DataDocument {
        match self.updated_at {
            Some(t) => self.data.with_first("updated_at", &t.to_string()),
            None => self.data.clone(),
        }
    }

    /// Reads the reply: `updated_at` (an integer or null) split out of the document.
    pub fn split(doc: &DataDocument) -> Result<Self, String> {
        let updated_at = match doc.raw_get("updated_at") {
            Some(raw) => serde_json::from_str::<Option<i64>>(raw)
                .map_err(|e| format!("`updated_at`: {e}"))?,
            None => {
                return Ok(SavedSuccess {
                    updated_at: None,
                    data: doc.clone(),
                })
            }
        };
        Ok(SavedSuccess {
            updated_at,
            data: doc.without("updated_at"),
        })
    }
}

impl Serialize for SavedSuccess {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.document().serialize(s)
    }
}

impl<'de> Deserialize<'de> for SavedSuccess {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let doc = DataDocument::deserialize(d)?;
        SavedSuccess::split(&doc).map_err(serde::de::Error::custom)
    }
}

/// Payload of `meetbridge_get_history`. Every field is optional; the payload may be absent.
/// Forward (the default): the oldest `limit` messages after `since`. Backward (`before`,
/// or `backward: true` for the newest page): the newest `limit` messages below `before`,
/// oldest first within the page; go on with `before` = the reply's `from`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub struct HistoryRequest {
    /// Only messages with a sequence number above this one (default: the whole window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional, type = "number"))]
    pub since: Option<u64>,
    /// At most this many messages (the server caps it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub limit: Option<u32>,
    /// Page backwards: only messages below this sequence number (a previous reply's `from`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional, type = "number"))]
    pub before: Option<u64>,
    /// Page backwards from the newest message (implied by `before`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[cfg_attr(feature = "codegen", ts(as = "Option<bool>", optional))]
    pub backward: bool,
}

/// One message of the object's history: the `ovice_message` payload and its sequence number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub struct HistoryEntry {
    #[cfg_attr(feature = "codegen", ts(type = "number"))]
    pub seq: u64,
    pub message: RelayedMessage,
}

/// Payload of `meetbridge_history`: the past messages this user may see (those addressed
/// to them and those they sent), oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub struct HistoryPage {
    pub entries: Vec<HistoryEntry>,
    /// The highest sequence number this page covers: ask again with `since` = `upto` when
    /// `more` is set.
    #[cfg_attr(feature = "codegen", ts(type = "number"))]
    pub upto: u64,
    /// A forward page was cut at `limit`: later messages exist.
    pub more: bool,
    /// On a backward page: the lowest sequence number it covers; ask with `before` = this
    /// for the page before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional, type = "number"))]
    pub from: Option<u64>,
    /// A backward page reaches the oldest message retained: there is nothing earlier to load.
    #[serde(default)]
    pub start: bool,
    /// Messages `[from, to]` were past the history window and are lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional, type = "[number, number]"))]
    pub missed: Option<(u64, u64)>,
}

/// Payload of `meetbridge_error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub struct PluginError {
    /// A stable machine-readable code (see `bridge::ErrorCode`).
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// The type of the refused message, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub refused: Option<String>,
}

/// The `type` of a value, or why it is not an oVice message.
fn event_type(value: &Value) -> Result<&str, String> {
    let Some(object) = value.as_object() else {
        return Err("not an object".into());
    };
    match object.get("type") {
        None => Err("no `type` field".into()),
        Some(Value::String(t)) => Ok(t.as_str()),
        Some(_) => Err("`type` is not a string".into()),
    }
}

fn payload(value: &Value) -> &Value {
    value.get("payload").unwrap_or(&Value::Null)
}

/// `{type, payload}` read from text without decoding the payload: its text is kept.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<&'a RawValue>,
    #[serde(borrow, default)]
    payload: Option<&'a RawValue>,
}

/// The `type` of a message given as text, when it reads as an object with a string `type`.
pub fn message_type(text: &str) -> Option<Cow<'_, str>> {
    envelope(text).map(|(name, _)| name)
}

/// The name and the payload's text of a message, when they read cleanly from `text`.
/// `None` sends the caller to the `Value` path, which words every error.
pub(crate) fn envelope(text: &str) -> Option<(Cow<'_, str>, Option<&RawValue>)> {
    if !text.trim_start().starts_with('{') {
        return None;
    }
    let envelope: Envelope = serde_json::from_str(text).ok()?;
    let name: Cow<str> = serde_json::from_str(envelope.kind?.get()).ok()?;
    Some((name, envelope.payload))
}

/// Reads `payload` as `T` when present; `None` when it does not read (the caller then
/// words the error on the `Value` path).
fn from_payload<'a, T: Deserialize<'a>>(payload: Option<&'a RawValue>) -> Option<T> {
    serde_json::from_str(payload?.get()).ok()
}

/// Reads a message from its text: the name and the payload's text when they read cleanly
/// (`from_parts`, which keeps the text of what passes through), else the `Value` path.
fn parse_text_with<T>(
    text: &str,
    from_parts: impl Fn(&str, Option<&RawValue>) -> Option<Parsed<T>>,
    parse: impl Fn(&Value) -> Parsed<T>,
) -> Parsed<T> {
    envelope(text)
        .and_then(|(name, payload)| from_parts(&name, payload))
        .unwrap_or_else(|| via_value(text, parse))
}

/// Reads `text`; on failure the `Value` path gives the outcome (and the wording).
fn via_value<T>(text: &str, parse: impl Fn(&Value) -> Parsed<T>) -> Parsed<T> {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => parse(&value),
        Err(e) => Parsed::Invalid(invalid("message", "", format!("not JSON: {e}"))),
    }
}

impl PluginToPlatform {
    /// Reads a message a plugin posted, as JSON text (the host runtime stringifies
    /// `event.data` once), limits included. The `message` of a broadcast/emit and the data
    /// document keep their text.
    pub fn parse_text(text: &str) -> Parsed<Self> {
        parse_text_with(text, Self::from_parts, Self::parse)
    }

    /// The fast path of [`PluginToPlatform::parse_text`]: `None` when the payload does
    /// not read as the message's type.
    pub(crate) fn from_parts(name: &str, payload: Option<&RawValue>) -> Option<Parsed<Self>> {
        let result = match crate::legacy::current_name(name) {
            "ovice_get_participants" => Ok(PluginToPlatform::GetParticipants),
            "ovice_get_data" => Ok(PluginToPlatform::GetData),
            "ovice_broadcast_message" => {
                let m: OutgoingMessage = from_payload(payload)?;
                m.check(name, false)
                    .map(|()| PluginToPlatform::BroadcastMessage(m))
            }
            "ovice_emit_message" => {
                let m: OutgoingMessage = from_payload(payload)?;
                m.check(name, true)
                    .map(|()| PluginToPlatform::EmitMessage(m))
            }
            "ovice_save_and_emit_data" => {
                let d: DataDocument = from_payload(payload)?;
                check_data(name, "payload", &d).map(|()| PluginToPlatform::SaveAndEmitData(d))
            }
            "meetbridge_get_history" => match payload {
                None => Ok(PluginToPlatform::GetHistory(HistoryRequest::default())),
                p => Ok(PluginToPlatform::GetHistory(from_payload(p)?)),
            },
            other => return Some(ignored(format!("unknown type `{other}`"))),
        };
        Some(result.into())
    }

    /// Reads a message a plugin posted, already decoded as a `Value` (its maps are sorted:
    /// use [`PluginToPlatform::parse_text`] to keep the plugin's text), limits included.
    pub fn parse(value: &Value) -> Parsed<Self> {
        let name = match event_type(value) {
            Ok(name) => name,
            Err(reason) => return ignored(reason),
        };
        let result = match crate::legacy::current_name(name) {
            "ovice_get_participants" => Ok(PluginToPlatform::GetParticipants),
            "ovice_get_data" => Ok(PluginToPlatform::GetData),
            "ovice_broadcast_message" => decode::<OutgoingMessage>(name, "payload", payload(value))
                .and_then(|m| m.check(name, false).map(|()| m))
                .map(PluginToPlatform::BroadcastMessage),
            "ovice_emit_message" => decode::<OutgoingMessage>(name, "payload", payload(value))
                .and_then(|m| m.check(name, true).map(|()| m))
                .map(PluginToPlatform::EmitMessage),
            "ovice_save_and_emit_data" => {
                data_document(name, payload(value)).map(PluginToPlatform::SaveAndEmitData)
            }
            "meetbridge_get_history" => match payload(value) {
                Value::Null => Ok(PluginToPlatform::GetHistory(HistoryRequest::default())),
                p => decode(name, "payload", p).map(PluginToPlatform::GetHistory),
            },
            other => return ignored(format!("unknown type `{other}`")),
        };
        result.into()
    }

    /// The oVice name of this message.
    pub fn name(&self) -> &'static str {
        match self {
            PluginToPlatform::GetParticipants => "ovice_get_participants",
            PluginToPlatform::BroadcastMessage(_) => "ovice_broadcast_message",
            PluginToPlatform::EmitMessage(_) => "ovice_emit_message",
            PluginToPlatform::GetData => "ovice_get_data",
            PluginToPlatform::SaveAndEmitData(_) => "ovice_save_and_emit_data",
            PluginToPlatform::GetHistory(_) => "meetbridge_get_history",
        }
    }

    /// Checks a message built in code against the same rules the parser applies.
    pub fn validate(&self) -> Result<(), Invalid> {
        match self {
            PluginToPlatform::BroadcastMessage(m) => m.check(self.name(), false),
            PluginToPlatform::EmitMessage(m) => m.check(self.name(), true),
            PluginToPlatform::SaveAndEmitData(d) => check_data(self.name(), "payload", d),
            _ => Ok(()),
        }
    }

    /// The message as the JSON text that travels (the plugin's own text inside).
    pub fn to_text(&self) -> String {
        // Plain data with raw JSON inside; encoding cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl OutgoingMessage {
    /// The payload's size on the wire, `event` and `to` included: what the 2 MB limit counts.
    pub fn json_len(&self) -> usize {
        json_len(self)
    }

    fn check(&self, name: &str, emit: bool) -> Result<(), Invalid> {
        if emit && self.to.is_none() {
            return Err(invalid(name, "payload.to", "missing field `to`"));
        }
        if self.event.is_empty() {
            return Err(invalid(name, "payload.event", "must not be empty"));
        }
        let size = self.json_len();
        if size > MAX_MESSAGE_BYTES {
            return Err(over_limit(name, "payload", size, MAX_MESSAGE_BYTES, "2 MB"));
        }
        Ok(())
    }
}

fn data_document(name: &str, value: &Value) -> Result<DataDocument, Invalid> {
    let Value::Object(map) = value else {
        return Err(invalid(
            name,
            "payload",
            "must be a JSON object (the saved data document)",
        ));
    };
    let doc = DataDocument::from_map(map);
    check_data(name, "payload", &doc)?;
    Ok(doc)
}

/// `ovice_data_saved_success` from a `Value`: `updated_at` beside the data.
fn saved_success(name: &str, value: &Value) -> Result<PlatformToPlugin, Invalid> {
    let Value::Object(map) = value else {
        return data_document(name, value).map(PlatformToPlugin::SavedData);
    };
    let updated_at = match map.get("updated_at") {
        Some(v) => decode(name, "payload.updated_at", v)?,
        None => None,
    };
    let mut data = map.clone();
    data.remove("updated_at");
    let data = DataDocument::from_map(&data);
    check_data(name, "payload", &data)?;
    Ok(PlatformToPlugin::DataSavedSuccess(SavedSuccess {
        updated_at,
        data,
    }))
}

fn check_data(name: &str, field: &str, data: &DataDocument) -> Result<(), Invalid> {
    let size = data.len();
    if size > MAX_DATA_BYTES {
        return Err(over_limit(name, field, size, MAX_DATA_BYTES, "500 KB"));
    }
    Ok(())
}

impl PlatformToPlugin {
    /// Reads a message the platform posted, as JSON text, keeping the text of relayed
    /// messages and data documents.
    pub fn parse_text(text: &str) -> Parsed<Self> {
        parse_text_with(text, Self::from_parts, Self::parse)
    }

    fn from_parts(name: &str, payload: Option<&RawValue>) -> Option<Parsed<Self>> {
        let message = match name {
            "ovice_participants" => PlatformToPlugin::Participants(from_payload(payload)?),
            "ovice_participant_subscribed" => {
                PlatformToPlugin::ParticipantSubscribed(from_payload(payload)?)
            }
            "ovice_participant_unsubscribed" => {
                PlatformToPlugin::ParticipantUnsubscribed(from_payload(payload)?)
            }
            "ovice_participant_joined" => {
                PlatformToPlugin::ParticipantJoined(from_payload(payload)?)
            }
            "ovice_participant_left" => PlatformToPlugin::ParticipantLeft(from_payload(payload)?),
            "ovice_message" => PlatformToPlugin::Message(from_payload(payload)?),
            "ovice_saved_data" | "ovice_shared_data" | "ovice_data_saved_success" => {
                let doc: DataDocument = from_payload(payload)?;
                let checked = check_data(name, "payload", &doc);
                if let Err(e) = checked {
                    return Some(Parsed::Invalid(e));
                }
                match name {
                    "ovice_saved_data" => PlatformToPlugin::SavedData(doc),
                    "ovice_shared_data" => PlatformToPlugin::SharedData(doc),
                    _ => PlatformToPlugin::DataSavedSuccess(SavedSuccess::split(&doc).ok()?),
                }
            }
            "meetbridge_error" => PlatformToPlugin::Error(from_payload(payload)?),
            "meetbridge_history" => PlatformToPlugin::History(from_payload(payload)?),
            "meetbridge_sent" => PlatformToPlugin::Sent(from_payload(payload)?),
            other => return Some(ignored(format!("unknown type `{other}`"))),
        };
        Some(Parsed::Message(message))
    }

    /// Reads a message the platform posted, already decoded as a `Value`.
    pub fn parse(value: &Value) -> Parsed<Self> {
        let name = match event_type(value) {
            Ok(name) => name,
            Err(reason) => return ignored(reason),
        };
        let p = payload(value);
        let result = match name {
            "ovice_participants" => decode(name, "payload", p).map(PlatformToPlugin::Participants),
            "ovice_participant_subscribed" => {
                decode(name, "payload", p).map(PlatformToPlugin::ParticipantSubscribed)
            }
            "ovice_participant_unsubscribed" => {
                decode(name, "payload", p).map(PlatformToPlugin::ParticipantUnsubscribed)
            }
            "ovice_participant_joined" => {
                decode(name, "payload", p).map(PlatformToPlugin::ParticipantJoined)
            }
            "ovice_participant_left" => {
                decode(name, "payload", p).map(PlatformToPlugin::ParticipantLeft)
            }
            "ovice_message" => decode(name, "payload", p).map(PlatformToPlugin::Message),
            "ovice_saved_data" => data_document(name, p).map(PlatformToPlugin::SavedData),
            "ovice_shared_data" => data_document(name, p).map(PlatformToPlugin::SharedData),
            "ovice_data_saved_success" => saved_success(name, p),
            "meetbridge_error" => decode(name, "payload", p).map(PlatformToPlugin::Error),
            "meetbridge_history" => decode(name, "payload", p).map(PlatformToPlugin::History),
            "meetbridge_sent" => decode(name, "payload", p).map(PlatformToPlugin::Sent),
            other => return ignored(format!("unknown type `{other}`")),
        };
        result.into()
    }

    /// The oVice name of this message.
    pub fn name(&self) -> &'static str {
        match self {
            PlatformToPlugin::Participants(_) => "ovice_participants",
            PlatformToPlugin::ParticipantSubscribed(_) => "ovice_participant_subscribed",
            PlatformToPlugin::ParticipantUnsubscribed(_) => "ovice_participant_unsubscribed",
            PlatformToPlugin::ParticipantJoined(_) => "ovice_participant_joined",
            PlatformToPlugin::ParticipantLeft(_) => "ovice_participant_left",
            PlatformToPlugin::Message(_) => "ovice_message",
            PlatformToPlugin::SavedData(_) => "ovice_saved_data",
            PlatformToPlugin::SharedData(_) => "ovice_shared_data",
            PlatformToPlugin::DataSavedSuccess(_) => "ovice_data_saved_success",
            PlatformToPlugin::Error(_) => "meetbridge_error",
            PlatformToPlugin::History(_) => "meetbridge_history",
            PlatformToPlugin::Sent(_) => "meetbridge_sent",
        }
    }

    /// The message as the JSON text posted to a plugin (relayed text spliced in as is).
    pub fn to_text(&self) -> String {
        // Plain data with raw JSON inside; encoding cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn real_plugins_broadcast_without_source_and_object() {
        let msg =
            json!({"type": "ovice_broadcast_message", "payload": {"event": "vote", "message": 3}});
        let Parsed::Message(PluginToPlatform::BroadcastMessage(m)) = PluginToPlatform::parse(&msg)
        else {
            panic!()
        };
        assert_eq!((m.source, m.object_id), (None, None));
        // Encoding keeps them absent.
        assert_eq!(
            serde_json::to_value(PluginToPlatform::BroadcastMessage(OutgoingMessage {
                source: None,
                event: "vote".into(),
                object_id: None,
                message: json!(3).into(),
                to: None
            }))
            .unwrap(),
            msg
        );
    }

    #[test]
    fn emit_needs_to() {
        let msg = json!({"type": "ovice_emit_message", "payload": {"event": "e", "message": null}});
        let Parsed::Invalid(e) = PluginToPlatform::parse(&msg) else {
            panic!()
        };
        assert_eq!(e.field, "payload.to");
    }

    #[test]
    fn the_message_limit_counts_the_whole_payload() {
        // {"event":"e","message":"…"}: 26 bytes around the string's content.
        let fits = "x".repeat(MAX_MESSAGE_BYTES - 26);
        let ok =
            json!({"type": "ovice_broadcast_message", "payload": {"event": "e", "message": fits}});
        assert!(matches!(
            PluginToPlatform::parse_text(&ok.to_string()),
            Parsed::Message(_)
        ));
        assert!(matches!(PluginToPlatform::parse(&ok), Parsed::Message(_)));
        let over = json!({"type": "ovice_broadcast_message", "payload": {"event": "e", "message": format!("{fits}x")}});
        for parsed in [
            PluginToPlatform::parse_text(&over.to_string()),
            PluginToPlatform::parse(&over),
        ] {
            let Parsed::Invalid(e) = parsed else { panic!() };
            assert_eq!(e.field, "payload");
            assert!(e.is_over_limit(), "{}", e.error);
        }
        // A huge `event` or `to` counts as much as a huge message.
        let big_event = json!({"type": "ovice_broadcast_message", "payload": {"event": "e".repeat(MAX_MESSAGE_BYTES), "message": 1}});
        assert!(
            matches!(PluginToPlatform::parse_text(&big_event.to_string()), Parsed::Invalid(e) if e.is_over_limit())
        );
        let big_to = json!({"type": "ovice_emit_message", "payload": {"event": "e", "message": 1, "to": "u".repeat(MAX_MESSAGE_BYTES)}});
        assert!(
            matches!(PluginToPlatform::parse_text(&big_to.to_string()), Parsed::Invalid(e) if e.is_over_limit())
        );

        let data = "y".repeat(MAX_DATA_BYTES - 8); // {"k":"…"} adds 8 bytes
        let ok = json!({"type": "ovice_save_and_emit_data", "payload": {"k": data}});
        assert!(matches!(
            PluginToPlatform::parse_text(&ok.to_string()),
            Parsed::Message(_)
        ));
        let over =
            json!({"type": "ovice_save_and_emit_data", "payload": {"k": format!("{data}y")}});
        assert!(matches!(
            PluginToPlatform::parse_text(&over.to_string()),
            Parsed::Invalid(_)
        ));
        assert!(matches!(PluginToPlatform::parse(&over), Parsed::Invalid(_)));
    }

    /// Key order, number spelling, big integers and escapes, as a plugin may write them.
    const EXACT: &str = r#"{"z":1,"a":{"y":[1.0,1e3,-0.0,12345678901234567890123],"b":"\u00e9\n\"\/\ud83d\ude00\ud800"},"k":[{"2":0,"1":0}]}"#;

    #[test]
    fn what_a_plugin_sends_keeps_its_text() {
        let text = format!(
            r#"{{"type":"ovice_broadcast_message","payload":{{"event":"e","message":{EXACT}}}}}"#
        );
        let Parsed::Message(PluginToPlatform::BroadcastMessage(m)) =
            PluginToPlatform::parse_text(&text)
        else {
            panic!()
        };
        assert_eq!(m.message.get(), EXACT);
        let relayed = PlatformToPlugin::Message(RelayedMessage {
            source: "u1".into(),
            event: m.event,
            object_id: "o".into(),
            message: m.message,
            to: None,
        });
        let out = relayed.to_text();
        assert!(out.contains(EXACT), "{out}");
        let Parsed::Message(PlatformToPlugin::Message(back)) = PlatformToPlugin::parse_text(&out)
        else {
            panic!()
        };
        assert_eq!(back.message.get(), EXACT);

        let save = format!(r#"{{"type":"ovice_save_and_emit_data","payload":{EXACT}}}"#);
        let Parsed::Message(PluginToPlatform::SaveAndEmitData(doc)) =
            PluginToPlatform::parse_text(&save)
        else {
            panic!()
        };
        assert_eq!(doc.get(), EXACT);
        assert_eq!(
            PlatformToPlugin::SharedData(doc).to_text(),
            format!(r#"{{"type":"ovice_shared_data","payload":{EXACT}}}"#)
        );
    }

    #[test]
    fn the_platforms_updated_at_wins_once() {
        let doc = DataDocument::from_text(r#"{"title":"t","updated_at":"mine","n":1.0}"#).unwrap();
        let reply = PlatformToPlugin::DataSavedSuccess(SavedSuccess {
            updated_at: Some(1703214224),
            data: doc.clone(),
        });
        let text = reply.to_text();
        assert_eq!(
            text,
            r#"{"type":"ovice_data_saved_success","payload":{"updated_at":1703214224,"title":"t","n":1.0}}"#
        );
        assert_eq!(text.matches("updated_at").count(), 1);
        let Parsed::Message(PlatformToPlugin::DataSavedSuccess(back)) =
            PlatformToPlugin::parse_text(&text)
        else {
            panic!()
        };
        assert_eq!(back.updated_at, Some(1703214224));
        assert_eq!(back.data.get(), r#"{"title":"t","n":1.0}"#);
        // Without a platform timestamp the document is the reply, as it is.
        let plain = SavedSuccess {
            updated_at: None,
            data: doc.clone(),
        };
        assert_eq!(plain.document().get(), doc.get());
    }

    #[test]
    fn sent_receipts_round_trip() {
        let msg = json!({"type": "meetbridge_sent", "payload": {"request": "ovice_emit_message", "seq": 7}});
        let Parsed::Message(PlatformToPlugin::Sent(r)) =
            PlatformToPlugin::parse_text(&msg.to_string())
        else {
            panic!()
        };
        assert_eq!(
            r,
            SentReceipt {
                request: SentRequest::EmitMessage,
                seq: Some(7)
            }
        );
        assert_eq!(
            serde_json::from_str::<Value>(&PlatformToPlugin::Sent(r).to_text()).unwrap(),
            msg
        );
        let bad = json!({"type": "meetbridge_sent", "payload": {"request": "ovice_get_data"}});
        assert!(
            matches!(PlatformToPlugin::parse_text(&bad.to_string()), Parsed::Invalid(e) if e.field == "payload.request")
        );
    }

    #[test]
    fn data_must_be_an_object() {
        let msg = json!({"type": "ovice_save_and_emit_data", "payload": [1]});
        let Parsed::Invalid(e) = PluginToPlatform::parse(&msg) else {
            panic!()
        };
        assert_eq!(e.field, "payload");
    }

    #[test]
    fn unknown_types_and_non_objects_are_ignored() {
        for v in [
            json!(null),
            json!("ovice_get_data"),
            json!({"type": "other"}),
            json!({"payload": 1}),
        ] {
            assert!(
                matches!(PluginToPlatform::parse(&v), Parsed::Ignored(_)),
                "{v}"
            );
        }
    }

    #[test]
    fn participant_keeps_id_and_workspace_as_sent() {
        let p = json!({"id": 42, "name": "A", "objectId": "o", "objectType": "static", "avatarUrl": "", "workspaceId": "987", "isVisitor": false});
        let msg = json!({"type": "ovice_participant_joined", "payload": p});
        let Parsed::Message(parsed) = PlatformToPlugin::parse(&msg) else {
            panic!()
        };
        assert_eq!(serde_json::to_value(&parsed).unwrap(), msg);
    }

    #[test]
    fn history_request_payload_is_optional_and_checked() {
        let bare = json!({"type": "meetbridge_get_history"});
        assert_eq!(
            PluginToPlatform::parse(&bare),
            Parsed::Message(PluginToPlatform::GetHistory(HistoryRequest::default()))
        );
        let full = json!({"type": "meetbridge_get_history", "payload": {"since": 7, "limit": 50}});
        let back =
            json!({"type": "meetbridge_get_history", "payload": {"limit": 20, "before": 90}});
        let Parsed::Message(PluginToPlatform::GetHistory(h)) = PluginToPlatform::parse(&back)
        else {
            panic!()
        };
        assert_eq!((h.before, h.backward, h.limit), (Some(90), false, Some(20)));
        let newest = json!({"type": "meetbridge_get_history", "payload": {"backward": true}});
        let Parsed::Message(msg) = PluginToPlatform::parse(&newest) else {
            panic!()
        };
        assert_eq!(serde_json::to_value(&msg).unwrap(), newest);
        let Parsed::Message(msg) = PluginToPlatform::parse(&full) else {
            panic!()
        };
        assert_eq!(msg.name(), "meetbridge_get_history");
        assert_eq!(serde_json::to_value(&msg).unwrap(), full);
        let bad = json!({"type": "meetbridge_get_history", "payload": {"limit": "all"}});
        let Parsed::Invalid(e) = PluginToPlatform::parse(&bad) else {
            panic!()
        };
        assert_eq!(e.field, "payload.limit");
    }

    #[test]
    fn history_page_round_trips_with_seq_numbered_entries() {
        let msg = json!({"type": "meetbridge_history", "payload": {
            "entries": [{"seq": 41, "message": {"source": "u1", "event": "chat", "objectId": "o", "message": {"text": "hi"}}},
                        {"seq": 42, "message": {"source": "u2", "event": "chat", "objectId": "o", "message": "dm", "to": "u1"}}],
            "upto": 42, "more": false, "from": 41, "start": true, "missed": [3, 40]}});
        let Parsed::Message(PlatformToPlugin::History(page)) = PlatformToPlugin::parse(&msg) else {
            panic!()
        };
        assert_eq!(page.entries[1].seq, 42);
        assert_eq!(page.entries[1].message.to.as_deref(), Some("u1"));
        assert_eq!(page.missed, Some((3, 40)));
        assert_eq!((page.from, page.start), (Some(41), true));
        assert_eq!(
            serde_json::to_value(PlatformToPlugin::History(page)).unwrap(),
            msg
        );
        let no_seq = json!({"type": "meetbridge_history", "payload": {"entries": [{"message": {"source": "u", "event": "e", "objectId": "o", "message": 1}}], "upto": 1, "more": false}});
        assert!(matches!(
            PlatformToPlugin::parse(&no_seq),
            Parsed::Invalid(_)
        ));
    }

    #[test]
    fn saved_success_has_updated_at_beside_the_data() {
        let msg = PlatformToPlugin::DataSavedSuccess(SavedSuccess {
            updated_at: Some(1703214224),
            data: DataDocument::from_map(json!({"a": 1}).as_object().unwrap()),
        });
        assert_eq!(
            serde_json::to_value(&msg).unwrap(),
            json!({"type": "ovice_data_saved_success", "payload": {"updated_at": 1703214224, "a": 1}})
        );
    }
}
