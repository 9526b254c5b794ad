//! Property tests: typed messages survive encode → parse, and no JSON value panics a parser.
use meetbridge_protocol::bridge::ClientFrame;
use meetbridge_protocol::ovice::{
    DataDocument, JsonText, ObjectType, OutgoingMessage, Participant, PlatformToPlugin,
    PluginToPlatform, PresenceStatus, RelayedMessage, SavedSuccess, SentReceipt, SentRequest,
    StringOrNumber, UserId,
};
use meetbridge_protocol::pexip::{
    CallType, DialOut, DialOutParams, DialProtocol, Disconnected, PluginToTop, Role, TopToPlugin,
};
use meetbridge_protocol::Parsed;
use proptest::prelude::*;
use serde_json::{Map, Value};

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e9f64..1e9).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z_]{1,8}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("[a-z]{1,8}", json_value(), 0..5)
        .prop_map(|m| m.into_iter().collect())
}

fn opt_string() -> impl Strategy<Value = Option<String>> {
    prop::option::of("[a-zA-Z0-9 @.]{0,12}")
}

fn user_id() -> impl Strategy<Value = UserId> {
    prop_oneof![
        "[a-z0-9]{1,8}".prop_map(UserId::Text),
        any::<i64>().prop_map(UserId::Integer)
    ]
}

fn participant() -> impl Strategy<Value = Participant> {
    (
        user_id(),
        opt_string(),
        ".{0,10}",
        prop_oneof![Just(ObjectType::Static), Just(ObjectType::Dynamic)],
        prop_oneof![
            "[0-9]{1,5}".prop_map(StringOrNumber::Text),
            any::<u32>().prop_map(|n| StringOrNumber::Number(n.into()))
        ],
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
        any::<bool>(),
        prop::option::of(prop_oneof![
            Just(PresenceStatus::Subscribed),
            Just(PresenceStatus::Joined),
            Just(PresenceStatus::Left),
            Just(PresenceStatus::Unsubscribed)
        ]),
        opt_string(),
    )
        .prop_map(
            |(
                id,
                email,
                name,
                object_type,
                workspace_id,
                is_host,
                is_self,
                is_visitor,
                status,
                language,
            )| {
                Participant {
                    id,
                    email,
                    name,
                    object_id: "obj".into(),
                    object_type,
                    avatar_url: String::new(),
                    workspace_id,
                    is_host,
                    is_self,
                    is_visitor,
                    status,
                    language,
                }
            },
        )
}

fn outgoing(emit: bool) -> impl Strategy<Value = OutgoingMessage> {
    (
        opt_string(),
        "[a-zA-Z]{1,10}",
        opt_string(),
        json_value(),
        "[a-z0-9]{1,6}",
    )
        .prop_map(
            move |(source, event, object_id, message, to)| OutgoingMessage {
                source,
                event,
                object_id,
                message: JsonText::from_value(&message),
                to: emit.then_some(to),
            },
        )
}

fn plugin_to_platform() -> impl Strategy<Value = PluginToPlatform> {
    prop_oneof![
        Just(PluginToPlatform::GetParticipants),
        Just(PluginToPlatform::GetData),
        outgoing(false).prop_map(PluginToPlatform::BroadcastMessage),
        outgoing(true).prop_map(PluginToPlatform::EmitMessage),
        object().prop_map(|m| PluginToPlatform::SaveAndEmitData(DataDocument::from_map(&m))),
    ]
}

fn platform_to_plugin() -> impl Strategy<Value = PlatformToPlugin> {
    prop_oneof![
        prop::collection::vec(participant(), 0..4).prop_map(PlatformToPlugin::Participants),
        participant().prop_map(PlatformToPlugin::ParticipantSubscribed),
        participant().prop_map(PlatformToPlugin::ParticipantJoined),
        participant().prop_map(PlatformToPlugin::ParticipantLeft),
        participant().prop_map(PlatformToPlugin::ParticipantUnsubscribed),
        (
            "[a-z0-9]{1,5}",
            "[a-z]{1,5}",
            json_value(),
            prop::option::of("[0-9]{1,3}")
        )
            .prop_map(|(source, event, message, to)| PlatformToPlugin::Message(
                RelayedMessage {
                    source,
                    event,
                    object_id: "o".into(),
                    message: JsonText::from_value(&message),
                    to
                }
            )),
        object().prop_map(|m| PlatformToPlugin::SavedData(DataDocument::from_map(&m))),
        object().prop_map(|m| PlatformToPlugin::SharedData(DataDocument::from_map(&m))),
        (prop::option::of(0i64..2_000_000_000), object()).prop_map(|(updated_at, mut data)| {
            data.remove("updated_at");
            PlatformToPlugin::DataSavedSuccess(SavedSuccess {
                updated_at,
                data: DataDocument::from_map(&data),
            })
        }),
        (any::<bool>(), prop::option::of(any::<u64>())).prop_map(|(emit, seq)| {
            PlatformToPlugin::Sent(SentReceipt {
                request: if emit {
                    SentRequest::EmitMessage
                } else {
                    SentRequest::BroadcastMessage
                },
                seq,
            })
        }),
    ]
}

fn dial_out() -> impl Strategy<Value = DialOut> {
    (
        prop_oneof![Just(Role::Host), Just(Role::Guest)],
        "[a-z]{1,8}@[a-z]{1,8}",
        prop_oneof![
            Just(DialProtocol::Sip),
            Just(DialProtocol::H323),
            Just(DialProtocol::Rtmp),
            Just(DialProtocol::Mssip),
            Just(DialProtocol::Auto)
        ],
        prop::option::of(prop_oneof![
            Just(CallType::Video),
            Just(CallType::VideoOnly),
            Just(CallType::Audio)
        ]),
        opt_string(),
        opt_string(),
        prop::option::of(any::<u32>()),
    )
        .prop_map(
            |(
                role,
                destination,
                protocol,
                call_type,
                remote_display_name,
                request_id,
                timeout_ms,
            )| {
                DialOut {
                    params: DialOutParams {
                        role,
                        destination,
                        protocol,
                        call_type,
                        presentation_url: None,
                        streaming: None,
                        dtmf_sequence: None,
                        source: None,
                        source_display_name: None,
                        remote_display_name,
                        text: None,
                        keep_conference_alive: None,
                    },
                    request_id,
                    timeout_ms,
                }
            },
        )
}

fn round_trip<T: serde::Serialize + PartialEq + std::fmt::Debug>(
    message: T,
    parse: impl Fn(&Value) -> Parsed<T>,
) {
    let encoded = serde_json::to_value(&message).unwrap();
    assert_eq!(parse(&encoded), Parsed::Message(message));
}

/// Encoded as text and read back from the text: the same message, and the same text.
fn text_round_trip<T: serde::Serialize + PartialEq + std::fmt::Debug>(
    message: T,
    parse: impl Fn(&str) -> Parsed<T>,
) {
    let text = serde_json::to_string(&message).unwrap();
    let parsed = parse(&text);
    if let Parsed::Message(m) = &parsed {
        assert_eq!(serde_json::to_string(m).unwrap(), text);
    }
    assert_eq!(parsed, Parsed::Message(message));
}

proptest! {
    #[test]
    fn ovice_plugin_messages_round_trip(m in plugin_to_platform()) {
        round_trip(m.clone(), PluginToPlatform::parse);
        text_round_trip(m, PluginToPlatform::parse_text);
    }

    #[test]
    fn ovice_platform_messages_round_trip(m in platform_to_plugin()) {
        round_trip(m.clone(), PlatformToPlugin::parse);
        text_round_trip(m, PlatformToPlugin::parse_text);
    }

    #[test]
    fn text_and_value_paths_agree(kind in prop::sample::select(vec![
            "ovice_broadcast_message", "ovice_emit_message", "ovice_save_and_emit_data",
            "ovice_emit_to", "ovice_get_data", "meetbridge_get_history",
        ]), payload in json_value()) {
        let v = serde_json::json!({"type": kind, "payload": payload});
        let from_text = PluginToPlatform::parse_text(&v.to_string());
        prop_assert_eq!(from_text, PluginToPlatform::parse(&v));
        for kind in ["ovice_message", "ovice_saved_data", "ovice_data_saved_success", "meetbridge_sent", "ovice_participant_left"] {
            let v = serde_json::json!({"type": kind, "payload": v["payload"]});
            prop_assert_eq!(PlatformToPlugin::parse_text(&v.to_string()), PlatformToPlugin::parse(&v));
        }
    }

    #[test]
    fn pexip_messages_round_trip(d in dial_out(), active in any::<bool>(), err in opt_string()) {
        round_trip(TopToPlugin::DialOut(d), TopToPlugin::parse);
        round_trip(PluginToTop::ToggleChat(meetbridge_protocol::pexip::ToggleChat { active }), PluginToTop::parse);
        round_trip(PluginToTop::Disconnected(Disconnected { user_initiated: err.is_none(), error: err.clone(), error_code: err }), PluginToTop::parse);
    }

    #[test]
    fn arbitrary_json_never_panics(v in json_value()) {
        let _ = PluginToPlatform::parse(&v);
        let _ = PlatformToPlugin::parse(&v);
        let _ = PluginToTop::parse(&v);
        let _ = TopToPlugin::parse(&v);
        let _ = ClientFrame::parse_value(&v);
    }

    #[test]
    fn arbitrary_fields_under_known_names_never_panic(
        kind in prop::sample::select(vec![
            "ovice_broadcast_message", "ovice_emit_message", "ovice_save_and_emit_data",
            "ovice_participants", "ovice_participant_joined", "ovice_message",
            "ovice_data_saved_success", "ovice_saved_data",
        ]),
        action in prop::sample::select(vec!["dial-out", "toggle-chat-badge", "disconnected", "dial-out-success"]),
        payload in json_value(),
        fields in object(),
    ) {
        let ovice = serde_json::json!({"type": kind, "payload": payload});
        let _ = PluginToPlatform::parse(&ovice);
        let _ = PlatformToPlugin::parse(&ovice);
        let mut pexip = fields.clone();
        pexip.insert("action".into(), Value::String(format!("pexip:plugin:external-chat/{action}")));
        let pexip = Value::Object(pexip);
        let _ = TopToPlugin::parse(&pexip);
        let _ = PluginToTop::parse(&pexip);
        let frame = serde_json::json!({"op": "plugin", "object": "o", "message": ovice});
        let _ = ClientFrame::parse(&frame.to_string());
    }

    #[test]
    fn arbitrary_text_never_panics_the_frame_parser(s in ".{0,64}") {
        let _ = ClientFrame::parse(&s);
        let _ = meetbridge_protocol::bridge::ServerFrame::parse(&s);
        let _ = PluginToPlatform::parse_text(&s);
        let _ = PlatformToPlugin::parse_text(&s);
    }
}
