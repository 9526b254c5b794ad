//! The `rocketchat:videoconf/*` dialect of the external-chat plugin: Rocket.Chat's richer
//! protocol between the plugin and the top window, beside the original one in
//! [`crate::pexip`].
//!
//! Same flat envelope, `{ "action": "rocketchat:videoconf/<name>", ...fields }`. Beyond
//! chat and dial-out it carries the call's participants (`roster`, `self`) and the host's
//! controls over them. The plugin announces what it can do in `ready { features }`; a top
//! window shows a control only for a feature named there. Participant controls do not
//! reply: the change arrives as the next `roster`. Unknown actions are ignored on both
//! sides. Payloads shared with the original dialect (`disconnected`, `toggle-chat`,
//! `dial-out` and its replies) are the same types.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::decode::decode;
use crate::parsed::{ignored, invalid, Invalid, Parsed};
use crate::pexip::{
    action_name, check_dtmf, parse_dial_out, DialOut, DialOutError, DialOutSuccess, Disconnected,
    ToggleChat,
};

/// Every action of this dialect starts with this namespace.
pub const VIDEOCONF_PREFIX: &str = "rocketchat:videoconf/";

/// Which of the two dialects a message speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Dialect {
    /// `pexip:plugin:external-chat/*`, the original contract.
    ExternalChat,
    /// `rocketchat:videoconf/*`.
    Videoconf,
}

impl Dialect {
    /// The dialect of `value`'s `action`, if it has either prefix.
    pub fn of(value: &Value) -> Option<Dialect> {
        let action = value.get("action")?.as_str()?;
        if action.starts_with(crate::pexip::ACTION_PREFIX) {
            Some(Dialect::ExternalChat)
        } else if action.starts_with(VIDEOCONF_PREFIX) {
            Some(Dialect::Videoconf)
        } else {
            None
        }
    }
}

/// What the plugin can do, as announced in `ready { features }`. A top window offers a
/// control only when its feature is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Feature {
    Chat,
    DialOut,
    Roster,
    Mute,
    MuteVideo,
    Admit,
    Disconnect,
    Spotlight,
    RaiseHand,
    SetRole,
    Transfer,
    Dtmf,
    MuteAllGuests,
}

impl Feature {
    /// Every feature, in announcement order.
    pub const ALL: [Feature; 13] = [
        Feature::Chat,
        Feature::DialOut,
        Feature::Roster,
        Feature::Mute,
        Feature::MuteVideo,
        Feature::Admit,
        Feature::Disconnect,
        Feature::Spotlight,
        Feature::RaiseHand,
        Feature::SetRole,
        Feature::Transfer,
        Feature::Dtmf,
        Feature::MuteAllGuests,
    ];

    /// The feature's name on the wire (the action that uses it).
    pub fn name(self) -> &'static str {
        match self {
            Feature::Chat => "chat",
            Feature::DialOut => "dial-out",
            Feature::Roster => "roster",
            Feature::Mute => "mute",
            Feature::MuteVideo => "mute-video",
            Feature::Admit => "admit",
            Feature::Disconnect => "disconnect",
            Feature::Spotlight => "spotlight",
            Feature::RaiseHand => "raise-hand",
            Feature::SetRole => "set-role",
            Feature::Transfer => "transfer",
            Feature::Dtmf => "dtmf",
            Feature::MuteAllGuests => "mute-all-guests",
        }
    }
}

/// Plugin → top window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[cfg_attr(feature = "codegen", ts(rename = "VideoconfPluginToTop"))]
#[serde(tag = "action")]
pub enum PluginToTop {
    /// `ready`: the plugin is registered; `features` is what it can do.
    #[serde(rename = "rocketchat:videoconf/ready")]
    Ready(Ready),
    /// `connected`: the user joined the call.
    #[serde(rename = "rocketchat:videoconf/connected")]
    Connected,
    /// `disconnected`: the user left (`userInitiated`) or lost the call.
    #[serde(rename = "rocketchat:videoconf/disconnected")]
    Disconnected(Disconnected),
    /// `toggle-chat`: the user clicked the Chat button; `active` is the requested state.
    #[serde(rename = "rocketchat:videoconf/toggle-chat")]
    ToggleChat(ToggleChat),
    /// `self`: the local participant's own state.
    #[serde(rename = "rocketchat:videoconf/self")]
    SelfState(SelfState),
    /// `roster`: everybody in the call, the whole list every time anybody changes.
    #[serde(rename = "rocketchat:videoconf/roster")]
    Roster(Roster),
    /// `dial-out-success`: the dialed participant joined.
    #[serde(rename = "rocketchat:videoconf/dial-out-success")]
    DialOutSuccess(DialOutSuccess),
    /// `dial-out-error`: a dial-out request failed.
    #[serde(rename = "rocketchat:videoconf/dial-out-error")]
    DialOutError(DialOutError),
}

/// Top window → plugin.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[cfg_attr(feature = "codegen", ts(rename = "VideoconfTopToPlugin"))]
#[serde(tag = "action")]
pub enum TopToPlugin {
    /// `chat-state`: the chat panel is open (`active`) or closed; sets the Chat button.
    #[serde(rename = "rocketchat:videoconf/chat-state")]
    ChatState(ChatState),
    /// `chat-unread`: unread chat messages; shows or hides the Chat button's badge.
    #[serde(rename = "rocketchat:videoconf/chat-unread")]
    ChatUnread(ChatUnread),
    /// `participants-state`: the top window's participants panel opened or closed. When
    /// it opens, the plugin sends the current `self` and `roster` at once.
    #[serde(rename = "rocketchat:videoconf/participants-state")]
    ParticipantsState(ParticipantsState),
    /// `mute`: (un)mutes a participant's microphone; the local one mutes itself.
    #[serde(rename = "rocketchat:videoconf/mute")]
    Mute(Mute),
    /// `mute-video`: (un)mutes a participant's camera; the local one mutes itself.
    #[serde(rename = "rocketchat:videoconf/mute-video")]
    MuteVideo(Mute),
    /// `admit`: lets a participant in from the lobby.
    #[serde(rename = "rocketchat:videoconf/admit")]
    Admit(ParticipantRef),
    /// `disconnect`: removes a participant from the call.
    #[serde(rename = "rocketchat:videoconf/disconnect")]
    Disconnect(ParticipantRef),
    /// `spotlight`: pins (`active`) or unpins a participant.
    #[serde(rename = "rocketchat:videoconf/spotlight")]
    Spotlight(Spotlight),
    /// `raise-hand`: raises or lowers a participant's hand; the local one its own.
    #[serde(rename = "rocketchat:videoconf/raise-hand")]
    RaiseHand(RaiseHand),
    /// `set-role`: makes a participant a host or a guest.
    #[serde(rename = "rocketchat:videoconf/set-role")]
    SetRole(SetRole),
    /// `transfer`: moves a participant to another conference alias.
    #[serde(rename = "rocketchat:videoconf/transfer")]
    Transfer(Transfer),
    /// `dtmf`: sends DTMF tones to a participant.
    #[serde(rename = "rocketchat:videoconf/dtmf")]
    Dtmf(Dtmf),
    /// `mute-all-guests`: (un)mutes every guest.
    #[serde(rename = "rocketchat:videoconf/mute-all-guests")]
    MuteAllGuests(MuteAllGuests),
    /// `dial-out`: the same parameters (and extensions) as the original dialect.
    #[serde(rename = "rocketchat:videoconf/dial-out")]
    DialOut(DialOut),
}

/// Payload of `ready`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub struct Ready {
    /// Feature names ([`Feature::name`]); names this crate does not know are kept.
    pub features: Vec<String>,
}

/// Payload of `self`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SelfState {
    pub participant_uuid: String,
    /// Muted by the server (Infinity).
    pub mic_muted: bool,
    pub cam_muted: bool,
    /// Muted in the client only.
    pub client_muted: bool,
    pub is_host: bool,
    pub can_control: bool,
}

/// Payload of `roster`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub struct Roster {
    pub participants: Vec<RosterParticipant>,
}

/// One participant of the call (read from plugin-api's `InfinityParticipant`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RosterParticipant {
    pub uuid: String,
    pub display_name: String,
    /// In the lobby, waiting to be admitted.
    pub is_waiting: bool,
    pub is_host: bool,
    pub is_muted: bool,
    pub is_client_muted: bool,
    pub is_camera_muted: bool,
    pub is_presenting: bool,
    pub is_spotlight: bool,
    pub raised_hand: bool,
    /// What the local participant may do to this one.
    pub can: Can,
}

/// Permissions on one participant, as Infinity reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Can {
    pub control: bool,
    pub mute: bool,
    pub disconnect: bool,
    pub transfer: bool,
    pub spotlight: bool,
    pub fecc: bool,
    pub raise_hand: bool,
    pub change_layout: bool,
}

/// Payload of `chat-state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub struct ChatState {
    pub active: bool,
}

/// Payload of `chat-unread`: a flag, or a count (more than 0 shows the badge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub struct ChatUnread {
    pub unread: Unread,
}

/// `unread` of `chat-unread`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(untagged)]
pub enum Unread {
    Flag(bool),
    Count(u32),
}

// By hand: serde's derived untagged reader buffers the value through its `Content`
// machinery, which costs the browser builds more than the rest of this dialect.
impl<'de> Deserialize<'de> for Unread {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Bool(flag) => Ok(Unread::Flag(flag)),
            Value::Number(n) => n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(Unread::Count)
                .ok_or_else(|| serde::de::Error::custom("expected a boolean or a count")),
            _ => Err(serde::de::Error::custom("expected a boolean or a count")),
        }
    }
}

impl Unread {
    /// Whether the badge shows.
    pub fn visible(self) -> bool {
        match self {
            Unread::Flag(flag) => flag,
            Unread::Count(count) => count > 0,
        }
    }
}

/// Payload of `participants-state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub struct ParticipantsState {
    pub active: bool,
}

/// Payload of `mute` and `mute-video`. Without `participantUuid`, the local participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Mute {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub participant_uuid: Option<String>,
    pub muted: bool,
}

/// Payload of `admit` and `disconnect`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ParticipantRef {
    pub participant_uuid: String,
}

/// Payload of `spotlight`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Spotlight {
    pub participant_uuid: String,
    pub active: bool,
}

/// Payload of `raise-hand`. Without `participantUuid`, the local participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct RaiseHand {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub participant_uuid: Option<String>,
    pub raised: bool,
}

/// A participant's role in this dialect (`set-role`, `transfer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum ParticipantRole {
    Host,
    #[default]
    Guest,
}

/// Payload of `set-role`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct SetRole {
    pub participant_uuid: String,
    pub role: ParticipantRole,
}

/// Payload of `transfer`: moves the participant to `alias`, as `role` (default guest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Transfer {
    pub participant_uuid: String,
    pub alias: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub role: Option<ParticipantRole>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub pin: Option<String>,
}

/// Payload of `dtmf`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Dtmf {
    pub participant_uuid: String,
    pub digits: String,
}

/// Payload of `mute-all-guests`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub struct MuteAllGuests {
    pub muted: bool,
}

fn uuid(name: &str, field: &str, uuid: &str) -> Result<(), Invalid> {
    if uuid.trim().is_empty() {
        return Err(invalid(name, field, "must not be empty"));
    }
    Ok(())
}

impl TopToPlugin {
    /// Reads a message the top window posted (`event.data`).
    pub fn parse(value: &Value) -> Parsed<Self> {
        let name = match action_name(value, VIDEOCONF_PREFIX) {
            Ok(name) => name,
            Err(reason) => return ignored(reason),
        };
        let id = "participantUuid";
        let result = match name {
            "chat-state" => decode(name, "", value).map(TopToPlugin::ChatState),
            "chat-unread" => decode(name, "", value).map(TopToPlugin::ChatUnread),
            "participants-state" => decode(name, "", value).map(TopToPlugin::ParticipantsState),
            "mute" | "mute-video" => decode::<Mute>(name, "", value).and_then(|m| {
                if let Some(u) = &m.participant_uuid {
                    uuid(name, id, u)?;
                }
                Ok(if name == "mute" {
                    TopToPlugin::Mute(m)
                } else {
                    TopToPlugin::MuteVideo(m)
                })
            }),
            "admit" | "disconnect" => decode::<ParticipantRef>(name, "", value).and_then(|r| {
                uuid(name, id, &r.participant_uuid)?;
                Ok(if name == "admit" {
                    TopToPlugin::Admit(r)
                } else {
                    TopToPlugin::Disconnect(r)
                })
            }),
            "spotlight" => decode::<Spotlight>(name, "", value).and_then(|s| {
                uuid(name, id, &s.participant_uuid)?;
                Ok(TopToPlugin::Spotlight(s))
            }),
            "raise-hand" => decode::<RaiseHand>(name, "", value).and_then(|r| {
                if let Some(u) = &r.participant_uuid {
                    uuid(name, id, u)?;
                }
                Ok(TopToPlugin::RaiseHand(r))
            }),
            "set-role" => decode::<SetRole>(name, "", value).and_then(|r| {
                uuid(name, id, &r.participant_uuid)?;
                Ok(TopToPlugin::SetRole(r))
            }),
            "transfer" => decode::<Transfer>(name, "", value).and_then(|t| {
                uuid(name, id, &t.participant_uuid)?;
                if t.alias.trim().is_empty() {
                    return Err(invalid(name, "alias", "must not be empty"));
                }
                Ok(TopToPlugin::Transfer(t))
            }),
            "dtmf" => decode::<Dtmf>(name, "", value).and_then(|d| {
                uuid(name, id, &d.participant_uuid)?;
                check_dtmf(&d.digits, false).map_err(|e| invalid(name, "digits", e))?;
                Ok(TopToPlugin::Dtmf(d))
            }),
            "mute-all-guests" => decode(name, "", value).map(TopToPlugin::MuteAllGuests),
            "dial-out" => parse_dial_out(value).map(TopToPlugin::DialOut),
            other => return ignored(format!("unknown action `{VIDEOCONF_PREFIX}{other}`")),
        };
        result.into()
    }

    /// The action name without the prefix.
    pub fn name(&self) -> &'static str {
        match self {
            TopToPlugin::ChatState(_) => "chat-state",
            TopToPlugin::ChatUnread(_) => "chat-unread",
            TopToPlugin::ParticipantsState(_) => "participants-state",
            TopToPlugin::Mute(_) => "mute",
            TopToPlugin::MuteVideo(_) => "mute-video",
            TopToPlugin::Admit(_) => "admit",
            TopToPlugin::Disconnect(_) => "disconnect",
            TopToPlugin::Spotlight(_) => "spotlight",
            TopToPlugin::RaiseHand(_) => "raise-hand",
            TopToPlugin::SetRole(_) => "set-role",
            TopToPlugin::Transfer(_) => "transfer",
            TopToPlugin::Dtmf(_) => "dtmf",
            TopToPlugin::MuteAllGuests(_) => "mute-all-guests",
            TopToPlugin::DialOut(_) => "dial-out",
        }
    }
}

impl PluginToTop {
    /// Reads a message the plugin posted (`event.data`), as the top window does.
    pub fn parse(value: &Value) -> Parsed<Self> {
        let name = match action_name(value, VIDEOCONF_PREFIX) {
            Ok(name) => name,
            Err(reason) => return ignored(reason),
        };
        let result = match name {
            "ready" => decode(name, "", value).map(PluginToTop::Ready),
            "connected" => Ok(PluginToTop::Connected),
            "disconnected" => decode(name, "", value).map(PluginToTop::Disconnected),
            "toggle-chat" => decode(name, "", value).map(PluginToTop::ToggleChat),
            "self" => decode(name, "", value).map(PluginToTop::SelfState),
            "roster" => decode(name, "", value).map(PluginToTop::Roster),
            "dial-out-success" => decode(name, "", value).map(PluginToTop::DialOutSuccess),
            "dial-out-error" => decode(name, "", value).map(PluginToTop::DialOutError),
            other => return ignored(format!("unknown action `{VIDEOCONF_PREFIX}{other}`")),
        };
        result.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Parsed<TopToPlugin> {
        TopToPlugin::parse(&v)
    }

    #[test]
    fn controls_are_read_and_checked() {
        let a = |n: &str| format!("{VIDEOCONF_PREFIX}{n}");
        assert!(matches!(
            parse(json!({"action": a("mute"), "muted": true})),
            Parsed::Message(TopToPlugin::Mute(Mute {
                participant_uuid: None,
                muted: true
            }))
        ));
        assert!(matches!(
            parse(json!({"action": a("chat-unread"), "unread": 3})),
            Parsed::Message(TopToPlugin::ChatUnread(ChatUnread {
                unread: Unread::Count(3)
            }))
        ));
        assert!(matches!(
            parse(json!({"action": a("chat-unread"), "unread": false})),
            Parsed::Message(TopToPlugin::ChatUnread(ChatUnread {
                unread: Unread::Flag(false)
            }))
        ));
        let Parsed::Message(TopToPlugin::Transfer(t)) =
            parse(json!({"action": a("transfer"), "participantUuid": "p", "alias": "room2"}))
        else {
            panic!()
        };
        assert_eq!(t.role, None);
        for (msg, field) in [
            (
                json!({"action": a("dtmf"), "participantUuid": "p", "digits": "12,3"}),
                "digits",
            ),
            (
                json!({"action": a("admit"), "participantUuid": " "}),
                "participantUuid",
            ),
            (
                json!({"action": a("set-role"), "participantUuid": "p", "role": "chair"}),
                "role",
            ),
            (
                json!({"action": a("transfer"), "participantUuid": "p", "alias": ""}),
                "alias",
            ),
            (
                json!({"action": a("spotlight"), "participantUuid": "p"}),
                "active",
            ),
            (
                json!({"action": a("dial-out"), "role": "GUEST", "protocol": "sip"}),
                "destination",
            ),
        ] {
            let Parsed::Invalid(e) = parse(msg.clone()) else {
                panic!("{msg} should be invalid")
            };
            assert_eq!(e.field, field, "{e}");
        }
        assert!(matches!(
            parse(json!({"action": a("nope")})),
            Parsed::Ignored(_)
        ));
        assert!(matches!(
            parse(
                json!({"action": "pexip:plugin:external-chat/toggle-chat-badge", "visible": true})
            ),
            Parsed::Ignored(_)
        ));
    }

    #[test]
    fn plugin_messages_round_trip_on_the_wire() {
        let roster = PluginToTop::Roster(Roster {
            participants: vec![RosterParticipant {
                uuid: "u1".into(),
                display_name: "Alice".into(),
                raised_hand: true,
                can: Can {
                    mute: true,
                    ..Can::default()
                },
                ..RosterParticipant::default()
            }],
        });
        let wire = serde_json::to_value(&roster).unwrap();
        assert_eq!(wire["action"], "rocketchat:videoconf/roster");
        assert_eq!(wire["participants"][0]["displayName"], "Alice");
        assert_eq!(wire["participants"][0]["raisedHand"], true);
        assert_eq!(wire["participants"][0]["can"]["raiseHand"], false);
        assert_eq!(PluginToTop::parse(&wire), Parsed::Message(roster));
        let ready =
            json!({"action": "rocketchat:videoconf/ready", "features": ["chat", "future-thing"]});
        assert!(
            matches!(PluginToTop::parse(&ready), Parsed::Message(PluginToTop::Ready(r)) if r.features.len() == 2)
        );
        assert_eq!(Dialect::of(&ready), Some(Dialect::Videoconf));
        assert_eq!(
            Dialect::of(&json!({"action": "pexip:plugin:external-chat/ready"})),
            Some(Dialect::ExternalChat)
        );
        assert_eq!(Dialect::of(&json!({"action": "other"})), None);
        let names: Vec<_> = Feature::ALL
            .iter()
            .map(|f| serde_json::to_value(f).unwrap())
            .collect();
        assert_eq!(
            names,
            Feature::ALL
                .iter()
                .map(|f| json!(f.name()))
                .collect::<Vec<_>>()
        );
    }
}
