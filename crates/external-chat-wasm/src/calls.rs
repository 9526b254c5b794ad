//! The `rocketchat:videoconf` participant controls, translated into the
//! `@pexip/plugin-api` 22 conference calls that carry them out.
//!
//! Where the two differ: `setRole` takes `'chair'`/`'guest'` (the dialect says
//! `'host'`/`'guest'`), `transfer` takes `destination` and a role defaulting to guest,
//! mute / muteVideo / raiseHand / spotlight take `mute` / `muteVideo` / `raise` / `enable`,
//! and for mute, muteVideo and raiseHand leaving the participant out means the local
//! participant, which is how a request naming the local participant is sent.

use meetbridge_protocol::videoconf::{ParticipantRole, TopToPlugin};
use serde::Serialize;

/// One call of `plugin.conference`: `method` is its name, `payload` its argument.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS))]
#[serde(tag = "method", content = "payload")]
pub enum ConferenceCall {
    #[serde(rename = "mute", rename_all = "camelCase")]
    Mute {
        #[serde(skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "codegen", ts(optional))]
        participant_uuid: Option<String>,
        mute: bool,
    },
    #[serde(rename = "muteVideo", rename_all = "camelCase")]
    MuteVideo {
        #[serde(skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "codegen", ts(optional))]
        participant_uuid: Option<String>,
        mute_video: bool,
    },
    #[serde(rename = "raiseHand", rename_all = "camelCase")]
    RaiseHand {
        #[serde(skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "codegen", ts(optional))]
        participant_uuid: Option<String>,
        raise: bool,
    },
    #[serde(rename = "admit", rename_all = "camelCase")]
    Admit { participant_uuid: String },
    #[serde(rename = "disconnect", rename_all = "camelCase")]
    Disconnect { participant_uuid: String },
    #[serde(rename = "spotlight", rename_all = "camelCase")]
    Spotlight {
        participant_uuid: String,
        enable: bool,
    },
    #[serde(rename = "setRole", rename_all = "camelCase")]
    SetRole {
        participant_uuid: String,
        role: PexipRole,
    },
    #[serde(rename = "transfer", rename_all = "camelCase")]
    Transfer {
        participant_uuid: String,
        destination: String,
        role: ParticipantRole,
        #[serde(skip_serializing_if = "Option::is_none")]
        #[cfg_attr(feature = "codegen", ts(optional))]
        pin: Option<String>,
    },
    #[serde(rename = "sendDTMF", rename_all = "camelCase")]
    SendDtmf {
        participant_uuid: String,
        digits: String,
    },
    #[serde(rename = "muteAllGuests")]
    MuteAllGuests { mute: bool },
}

/// The role names of `participant:setRole`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum PexipRole {
    Chair,
    Guest,
}

/// The call for a control `request` (`None` for the dialect's other messages); `me` is the local participant's uuid, left out of
/// the three calls a participant makes on itself.
pub fn from_request(request: TopToPlugin, me: Option<&str>) -> Option<ConferenceCall> {
    let other = |uuid: Option<String>| uuid.filter(|u| Some(u.as_str()) != me);
    Some(match request {
        TopToPlugin::Mute(m) => ConferenceCall::Mute {
            participant_uuid: other(m.participant_uuid),
            mute: m.muted,
        },
        TopToPlugin::MuteVideo(m) => ConferenceCall::MuteVideo {
            participant_uuid: other(m.participant_uuid),
            mute_video: m.muted,
        },
        TopToPlugin::RaiseHand(r) => ConferenceCall::RaiseHand {
            participant_uuid: other(r.participant_uuid),
            raise: r.raised,
        },
        TopToPlugin::Admit(r) => ConferenceCall::Admit {
            participant_uuid: r.participant_uuid,
        },
        TopToPlugin::Disconnect(r) => ConferenceCall::Disconnect {
            participant_uuid: r.participant_uuid,
        },
        TopToPlugin::Spotlight(s) => ConferenceCall::Spotlight {
            participant_uuid: s.participant_uuid,
            enable: s.active,
        },
        TopToPlugin::SetRole(r) => ConferenceCall::SetRole {
            participant_uuid: r.participant_uuid,
            role: match r.role {
                ParticipantRole::Host => PexipRole::Chair,
                ParticipantRole::Guest => PexipRole::Guest,
            },
        },
        TopToPlugin::Transfer(t) => ConferenceCall::Transfer {
            participant_uuid: t.participant_uuid,
            destination: t.alias,
            role: t.role.unwrap_or_default(),
            pin: t.pin,
        },
        TopToPlugin::Dtmf(d) => ConferenceCall::SendDtmf {
            participant_uuid: d.participant_uuid,
            digits: d.digits,
        },
        TopToPlugin::MuteAllGuests(m) => ConferenceCall::MuteAllGuests { mute: m.muted },
        // Not participant controls.
        TopToPlugin::ChatState(_)
        | TopToPlugin::ChatUnread(_)
        | TopToPlugin::ParticipantsState(_)
        | TopToPlugin::DialOut(_) => return None,
    })
}
