//! Seed 003: the oVice custom-plugin contract.
//!
//! Every message is `{ "type": "ovice_<event>", "payload": ... }`.
//! [`PluginToPlatform`] is what a plugin posts to `window.parent`, [`PlatformToPlugin`]
//! what the platform posts into the plugin's iframe. Find an event by its seed name in
//! this file.
//!
//! Real plugins omit `source` and `objectId` from broadcast/emit: they are optional on the
//! way in ([`OutgoingMessage`]) and filled in by the platform from who the sender really
//! is, so always present on the way out ([`RelayedMessage`]).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::decode::decode;
use crate::limits::{map_json_len, over_limit, value_json_len, MAX_DATA_BYTES, MAX_MESSAGE_BYTES};
use crate::parsed::{ignored, invalid, Invalid, Parsed};

/// A saved-data document: a JSON object.
pub type DataDocument = Map<String, Value>;

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
    /// `ovice_ready`: legacy handshake, the plugin is ready.
    #[serde(rename = "ovice_ready")]
    Ready,
    /// `ovice_ready_confirmed`: legacy handshake, the plugin got `ovice_confirmation`.
    #[serde(rename = "ovice_ready_confirmed")]
    ReadyConfirmed,
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
    /// `ovice_confirmation`: legacy handshake, the answer to `ovice_ready`.
    #[serde(rename = "ovice_confirmation")]
    Confirmation,
    /// `meetbridge_error` (extension): why the platform refused what this plugin sent.
    /// A plugin that does not know it ignores it, as it ignores any unknown type.
    #[serde(rename = "meetbridge_error")]
    Error(PluginError),
    /// `meetbridge_history` (extension): the answer to `meetbridge_get_history`.
    #[serde(rename = "meetbridge_history")]
    History(HistoryPage),
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
    /// Any JSON value, at most [`MAX_MESSAGE_BYTES`] encoded.
    pub message: Value,
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
    pub message: Value,
    /// Set when the message was an emit to one user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub to: Option<String>,
}

/// Payload of `ovice_data_saved_success`: the saved document and when it was saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub struct SavedSuccess {
    /// Seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional, type = "number"))]
    pub updated_at: Option<i64>,
    #[serde(flatten)]
    pub data: DataDocument,
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

impl PluginToPlatform {
    /// Reads a message a plugin posted (`event.data`), as the platform does, limits included.
    ///
    /// Accepts the names of an older oVice document as aliases:
    /// `ovice_emit_to_others` (broadcast) and `ovice_emit_to` (emit).
    pub fn parse(value: &Value) -> Parsed<Self> {
        let name = match event_type(value) {
            Ok(name) => name,
            Err(reason) => return ignored(reason),
        };
        let result = match name {
            "ovice_get_participants" => Ok(PluginToPlatform::GetParticipants),
            "ovice_get_data" => Ok(PluginToPlatform::GetData),
            "ovice_ready" => Ok(PluginToPlatform::Ready),
            "ovice_ready_confirmed" => Ok(PluginToPlatform::ReadyConfirmed),
            "ovice_broadcast_message" | "ovice_emit_to_others" => {
                decode::<OutgoingMessage>(name, "payload", payload(value))
                    .and_then(|m| m.check(name, false).map(|()| m))
                    .map(PluginToPlatform::BroadcastMessage)
            }
            "ovice_emit_message" | "ovice_emit_to" => {
                decode::<OutgoingMessage>(name, "payload", payload(value))
                    .and_then(|m| m.check(name, true).map(|()| m))
                    .map(PluginToPlatform::EmitMessage)
            }
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

    /// The seed's name for this message.
    pub fn name(&self) -> &'static str {
        match self {
            PluginToPlatform::GetParticipants => "ovice_get_participants",
            PluginToPlatform::BroadcastMessage(_) => "ovice_broadcast_message",
            PluginToPlatform::EmitMessage(_) => "ovice_emit_message",
            PluginToPlatform::GetData => "ovice_get_data",
            PluginToPlatform::SaveAndEmitData(_) => "ovice_save_and_emit_data",
            PluginToPlatform::Ready => "ovice_ready",
            PluginToPlatform::ReadyConfirmed => "ovice_ready_confirmed",
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
}

impl OutgoingMessage {
    fn check(&self, name: &str, emit: bool) -> Result<(), Invalid> {
        if emit && self.to.is_none() {
            return Err(invalid(name, "payload.to", "missing field `to`"));
        }
        if self.event.is_empty() {
            return Err(invalid(name, "payload.event", "must not be empty"));
        }
        let size = value_json_len(&self.message);
        if size > MAX_MESSAGE_BYTES {
            return Err(over_limit(
                name,
                "payload.message",
                size,
                MAX_MESSAGE_BYTES,
                "2 MB",
            ));
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
    check_data(name, "payload", map)?;
    Ok(map.clone())
}

/// `ovice_data_saved_success`: `updated_at` beside the data, as `SavedSuccess`'s flattened
/// `Deserialize` reads it, without going through serde's buffering of flattened maps.
fn saved_success(name: &str, value: &Value) -> Result<PlatformToPlugin, Invalid> {
    let Value::Object(map) = value else {
        return data_document(name, value).map(PlatformToPlugin::SavedData);
    };
    check_data(name, "payload", map)?;
    let mut data = DataDocument::new();
    let mut updated_at = None;
    for (key, v) in map {
        if key == "updated_at" {
            updated_at = decode(name, "payload.updated_at", v)?;
        } else {
            data.insert(key.clone(), v.clone());
        }
    }
    Ok(PlatformToPlugin::DataSavedSuccess(SavedSuccess {
        updated_at,
        data,
    }))
}

fn check_data(name: &str, field: &str, data: &DataDocument) -> Result<(), Invalid> {
    let size = map_json_len(data);
    if size > MAX_DATA_BYTES {
        return Err(over_limit(name, field, size, MAX_DATA_BYTES, "500 KB"));
    }
    Ok(())
}

impl PlatformToPlugin {
    /// Reads a message the platform posted, as a plugin (or the SDK) does.
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
            "ovice_confirmation" => Ok(PlatformToPlugin::Confirmation),
            "meetbridge_error" => decode(name, "payload", p).map(PlatformToPlugin::Error),
            "meetbridge_history" => decode(name, "payload", p).map(PlatformToPlugin::History),
            other => return ignored(format!("unknown type `{other}`")),
        };
        result.into()
    }

    /// The seed's name for this message.
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
            PlatformToPlugin::Confirmation => "ovice_confirmation",
            PlatformToPlugin::Error(_) => "meetbridge_error",
            PlatformToPlugin::History(_) => "meetbridge_history",
        }
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
                message: json!(3),
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
    fn limits_are_enforced_on_the_json_encoding() {
        let big = "x".repeat(MAX_MESSAGE_BYTES - 2); // plus two quotes: exactly the limit
        let ok =
            json!({"type": "ovice_broadcast_message", "payload": {"event": "e", "message": big}});
        assert!(matches!(PluginToPlatform::parse(&ok), Parsed::Message(_)));
        let over = json!({"type": "ovice_broadcast_message", "payload": {"event": "e", "message": format!("{big}x")}});
        let Parsed::Invalid(e) = PluginToPlatform::parse(&over) else {
            panic!()
        };
        assert_eq!(e.field, "payload.message");
        assert!(e.error.contains("limit"), "{}", e.error);

        let data = "y".repeat(MAX_DATA_BYTES - 8); // {"k":"…"} adds 8 bytes
        let ok = json!({"type": "ovice_save_and_emit_data", "payload": {"k": data}});
        assert!(matches!(PluginToPlatform::parse(&ok), Parsed::Message(_)));
        let over =
            json!({"type": "ovice_save_and_emit_data", "payload": {"k": format!("{data}y")}});
        assert!(matches!(PluginToPlatform::parse(&over), Parsed::Invalid(_)));
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
            data: json!({"a": 1}).as_object().unwrap().clone(),
        });
        assert_eq!(
            serde_json::to_value(&msg).unwrap(),
            json!({"type": "ovice_data_saved_success", "payload": {"updated_at": 1703214224, "a": 1}})
        );
    }
}
