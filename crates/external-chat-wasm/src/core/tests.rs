use super::*;
use serde_json::json;

const P: &str = "pexip:plugin:external-chat/";
const V: &str = "rocketchat:videoconf/";

fn posted(cmds: &[Command]) -> Vec<Value> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Post { message } => Some(serde_json::to_value(message).unwrap()),
            _ => None,
        })
        .collect()
}

fn actions(cmds: &[Command]) -> Vec<String> {
    posted(cmds)
        .iter()
        .map(|m| m["action"].as_str().unwrap().to_owned())
        .collect()
}

fn dial(prefix: &str, extra: Value) -> Value {
    let mut v = json!({"action": format!("{prefix}dial-out"), "role": "GUEST", "destination": "alice@example.com", "protocol": "sip"});
    for (k, val) in extra.as_object().unwrap() {
        v[k] = val.clone();
    }
    v
}

/// A registered plugin whose top window spoke `dialect` (so it answers only in that one).
fn plugin(dialect: Option<Dialect>) -> Plugin {
    let mut p = Plugin::new(None).unwrap();
    p.registered();
    match dialect {
        Some(Dialect::ExternalChat) => {
            p.message(
                &json!({"action": format!("{P}toggle-chat-badge"), "visible": false}),
                Source::Top,
                "x",
            );
        }
        Some(Dialect::Videoconf) => {
            p.message(
                &json!({"action": format!("{V}chat-unread"), "unread": 0}),
                Source::Top,
                "x",
            );
        }
        None => {}
    }
    p
}

fn ev(event: &str, payload: Value) -> Value {
    json!({"event": event, "payload": payload})
}

fn timer_token(cmds: &[Command]) -> u32 {
    cmds.iter()
        .find_map(|c| match c {
            Command::Timer { token, .. } => Some(*token),
            _ => None,
        })
        .expect("a timer")
}

#[test]
fn ready_is_posted_once_in_both_dialects_original_first() {
    let mut p = Plugin::new(None).unwrap();
    let out = posted(&p.registered());
    assert_eq!(out[0], json!({"action": format!("{P}ready")}));
    assert_eq!(out[1]["action"], format!("{V}ready"));
    let features: Vec<&str> = out[1]["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        features.contains(&"mute") && features.contains(&"dial-out") && features.contains(&"chat")
    );
    assert_eq!(out.len(), 2);
    assert!(p.registered().is_empty());
}

#[test]
fn events_before_the_button_exists_are_applied_after_ready() {
    let mut p = Plugin::new(None).unwrap();
    assert!(p.webapp(&ev("connected", Value::Null)).is_empty());
    assert!(p
        .webapp(&ev(
            "me",
            json!({"id": "main", "participant": {"uuid": "me-1", "displayName": "Me"}})
        ))
        .is_empty());
    let out = actions(&p.registered());
    assert_eq!(
        out,
        [
            format!("{P}ready"),
            format!("{V}ready"),
            format!("{P}connected"),
            format!("{V}connected"),
            format!("{V}self"),
            format!("{V}roster"),
        ]
    );
}

#[test]
fn only_the_top_window_is_obeyed() {
    let mut p = plugin(None);
    let msg = json!({"action": format!("{P}toggle-chat-badge"), "visible": true});
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
            tooltip: "Open Chat".into(),
            badge: true
        }]
    );
}

#[test]
fn channel_messages_are_silently_left_to_plugin_api() {
    let mut p = plugin(None);
    let reply = json!({"chanId": "external-chat-1", "replyTo": "x", "payload": {"ack": true}});
    assert!(p
        .message(&reply, Source::Parent, "https://webapp.example")
        .is_empty());
    assert!(p
        .message(&reply, Source::Top, "https://webapp.example")
        .is_empty());
}

#[test]
fn unprefixed_actions_are_warned_about() {
    let mut p = plugin(None);
    let cmds = p.message(
        &json!({"action": "toggle-chat-badge", "visible": true}),
        Source::Top,
        "x",
    );
    assert!(matches!(&cmds[..], [Command::Warn { reason }] if reason.contains("prefix")));
    assert!(matches!(
        &p.message(&json!("hello"), Source::Top, "x")[..],
        [Command::Warn { .. }]
    ));
    let cmds = p.message(&json!({"action": format!("{V}nope")}), Source::Top, "x");
    assert!(matches!(&cmds[..], [Command::Warn { reason }] if reason.contains("unknown action")));
}

#[test]
fn host_origin_gates_and_targets() {
    assert!(Plugin::new(Some("not an origin")).is_err());
    let mut p = Plugin::new(Some("https://Top.example/")).unwrap();
    assert_eq!(p.target_origin(), "https://top.example");
    let msg = json!({"action": format!("{P}toggle-chat-button-state"), "active": true});
    let cmds = p.message(&msg, Source::Top, "https://evil.example");
    assert!(matches!(&cmds[..], [Command::Warn { reason }] if reason.contains("origin")));
    let cmds = p.message(&msg, Source::Top, "https://top.example");
    assert_eq!(
        cmds,
        vec![Command::SetButton {
            active: true,
            tooltip: "Close Chat".into(),
            badge: false
        }]
    );
    assert_eq!(Plugin::new(None).unwrap().target_origin(), "*");
}

#[test]
fn the_button_asks_for_the_opposite_and_never_changes_itself() {
    let mut p = plugin(Some(Dialect::ExternalChat));
    let ask = |p: &mut Plugin| posted(&p.button_clicked());
    assert_eq!(
        ask(&mut p),
        vec![json!({"action": format!("{P}toggle-chat"), "active": true})]
    );
    assert_eq!(
        ask(&mut p),
        vec![json!({"action": format!("{P}toggle-chat"), "active": true})]
    );
    p.message(
        &json!({"action": format!("{P}toggle-chat-button-state"), "active": true}),
        Source::Top,
        "x",
    );
    assert_eq!(
        ask(&mut p),
        vec![json!({"action": format!("{P}toggle-chat"), "active": false})]
    );
    // The videoconf chat messages drive the same button, and switch the dialect.
    let cmds = p.message(
        &json!({"action": format!("{V}chat-state"), "active": false}),
        Source::Top,
        "x",
    );
    assert_eq!(
        cmds,
        vec![Command::SetButton {
            active: false,
            tooltip: "Open Chat".into(),
            badge: false
        }]
    );
    let cmds = p.message(
        &json!({"action": format!("{V}chat-unread"), "unread": 2}),
        Source::Top,
        "x",
    );
    assert_eq!(
        cmds,
        vec![Command::SetButton {
            active: false,
            tooltip: "Open Chat".into(),
            badge: true
        }]
    );
    assert_eq!(
        ask(&mut p),
        vec![json!({"action": format!("{V}toggle-chat"), "active": true})]
    );
}

fn in_call(dialect: Option<Dialect>) -> Plugin {
    let mut p = plugin(dialect);
    p.connected();
    p
}

#[test]
fn leave_then_disconnected_is_one_user_initiated_disconnect() {
    let mut p = plugin(Some(Dialect::ExternalChat));
    assert!(p.user_disconnected().is_empty(), "not in a call yet");
    assert_eq!(
        posted(&p.connected()),
        vec![json!({"action": format!("{P}connected")})]
    );
    assert!(p.connected().is_empty());
    assert_eq!(
        posted(&p.user_disconnected()),
        vec![json!({"action": format!("{P}disconnected"), "userInitiated": true})]
    );
    assert!(p
        .disconnected(Some("x".into()), Some("y".into()))
        .is_empty());
    assert!(p.user_disconnected().is_empty());
}

#[test]
fn disconnected_then_leave_within_the_window_is_a_leave() {
    let mut p = in_call(Some(Dialect::ExternalChat));
    let cmds = p.disconnected(Some("Call disconnected".into()), Some("#pex100".into()));
    assert!(
        posted(&cmds).is_empty(),
        "nothing is reported before the window closes"
    );
    let token = timer_token(&cmds);
    assert_eq!(
        posted(&p.user_disconnected()),
        vec![json!({"action": format!("{P}disconnected"), "userInitiated": true})]
    );
    assert!(
        p.timer(token).is_empty(),
        "the window closing reports nothing more"
    );
}

#[test]
fn disconnected_alone_is_a_drop_once_the_window_closes() {
    let mut p = in_call(Some(Dialect::ExternalChat));
    let token = timer_token(&p.disconnected(Some("Lost".into()), Some("#pex128".into())));
    assert_eq!(
        posted(&p.timer(token)),
        vec![
            json!({"action": format!("{P}disconnected"), "userInitiated": false, "error": "Lost", "errorCode": "#pex128"})
        ]
    );
    assert!(
        p.user_disconnected().is_empty(),
        "a late Leave does not report twice"
    );
    assert!(p.timer(token).is_empty());
}

#[test]
fn disconnected_whose_text_says_the_user_left_is_a_leave_at_once() {
    let mut p = in_call(Some(Dialect::ExternalChat));
    assert_eq!(
        posted(&p.disconnected(Some("User initiated disconnect".into()), None)),
        vec![json!({"action": format!("{P}disconnected"), "userInitiated": true})]
    );
    assert!(p.user_disconnected().is_empty());
}

#[test]
fn a_new_call_during_the_window_settles_the_drop_first() {
    let mut p = in_call(Some(Dialect::ExternalChat));
    let token = timer_token(&p.disconnected(None, None));
    let out = posted(&p.connected());
    assert_eq!(out[0]["userInitiated"], false);
    assert_eq!(out[0]["errorCode"], "unknown");
    assert_eq!(out[1]["action"], format!("{P}connected"));
    assert!(p.timer(token).is_empty());
}

#[test]
fn invalid_dial_out_names_the_field_and_echoes_the_request_id() {
    let mut p = in_call(None);
    let cmds = p.message(
        &dial(P, json!({"role": "ADMIN", "requestId": "r7"})),
        Source::Top,
        "x",
    );
    let out = posted(&cmds);
    assert_eq!(
        out.len(),
        1,
        "a reply goes out in the request's dialect only"
    );
    assert_eq!(out[0]["action"], format!("{P}dial-out-error"));
    assert_eq!(out[0]["field"], "role");
    assert_eq!(out[0]["requestId"], "r7");
    assert!(!cmds.iter().any(|c| matches!(c, Command::Dial { .. })));
    let out = posted(&p.message(&dial(V, json!({"dtmf_sequence": "12x"})), Source::Top, "x"));
    assert_eq!(out[0]["action"], format!("{V}dial-out-error"));
    assert_eq!(out[0]["field"], "dtmf_sequence");
    let out = posted(&p.message(&dial(P, json!({"timeoutMs": 0})), Source::Top, "x"));
    assert_eq!(out[0]["field"], "timeoutMs");
}

#[test]
fn dial_out_outside_a_call_is_refused() {
    let mut p = plugin(None);
    let out = posted(&p.message(&dial(P, json!({"requestId": "a"})), Source::Top, "x"));
    assert!(out[0]["message"]
        .as_str()
        .unwrap()
        .contains("not in a call"));
    assert_eq!(out[0]["requestId"], "a");
}

#[test]
fn concurrent_dial_outs_settle_once_each_in_their_dialect() {
    let mut p = in_call(None);
    let token = |cmds: Vec<Command>| match &cmds[..] {
        [Command::Dial { token, .. }, rest @ ..] => {
            assert!(rest.iter().all(|c| matches!(c, Command::Timer { .. })));
            *token
        }
        other => panic!("{other:?}"),
    };
    let a = token(p.message(
        &dial(P, json!({"requestId": "a", "timeoutMs": 50})),
        Source::Top,
        "x",
    ));
    let b = token(p.message(&dial(V, json!({"requestId": "b"})), Source::Top, "x"));
    assert_ne!(a, b);
    assert_eq!(p.pending_dial_outs(), 2);
    assert_eq!(
        posted(&p.dial_succeeded(b, "uuid-b".into(), Some("Bob".into()))),
        vec![
            json!({"action": format!("{V}dial-out-success"), "uuid": "uuid-b", "displayName": "Bob", "requestId": "b"})
        ]
    );
    let out = posted(&p.timer(a));
    assert_eq!(out[0]["action"], format!("{P}dial-out-error"));
    assert_eq!(out[0]["requestId"], "a");
    assert!(out[0]["message"].as_str().unwrap().contains("within 50 ms"));
    assert!(p.dial_succeeded(a, "late".into(), None).is_empty());
    assert!(p.dial_failed(b, "x".into()).is_empty());
    assert_eq!(p.pending_dial_outs(), 0);
}

#[test]
fn the_call_ending_fails_pending_dial_outs() {
    let mut p = in_call(Some(Dialect::ExternalChat));
    p.message(&dial(P, json!({"requestId": "z"})), Source::Top, "x");
    let out = posted(&p.user_disconnected());
    assert_eq!(out.len(), 2);
    assert_eq!(out[1]["action"], format!("{P}dial-out-error"));
    assert_eq!(out[1]["requestId"], "z");
}

fn person(uuid: &str, extra: Value) -> Value {
    let mut v =
        json!({"uuid": uuid, "displayName": uuid.to_uppercase(), "role": "guest", "canMute": true});
    for (k, val) in extra.as_object().unwrap() {
        v[k] = val.clone();
    }
    v
}

#[test]
fn the_roster_follows_every_participant_event_and_is_posted_whole_when_it_changes() {
    let mut p = in_call(Some(Dialect::Videoconf));
    let out = posted(&p.webapp(&ev("me", json!({"id": "main", "participant": person("me", json!({"role": "chair", "canControl": true}))}))));
    assert_eq!(
        out[0],
        json!({"action": format!("{V}self"), "participantUuid": "me", "micMuted": false, "camMuted": false, "clientMuted": false, "isHost": true, "canControl": true})
    );
    assert_eq!(out[1]["participants"].as_array().unwrap().len(), 1);
    let out = posted(&p.webapp(&ev(
        "participantJoined",
        json!({"id": "main", "participant": person("bob", json!({"isWaiting": true}))}),
    )));
    let roster = &out[0]["participants"];
    assert_eq!(roster[1]["uuid"], "bob");
    assert_eq!(roster[1]["isWaiting"], true);
    assert_eq!(roster[1]["can"]["mute"], true);
    // The newer activity event repeats the join: nothing changed, nothing is posted.
    let join = json!([{"roomId": "main", "activity": {"type": 0, "participant": person("bob", json!({"isWaiting": true}))}}]);
    assert!(p.webapp(&ev("participantsActivities", join)).is_empty());
    let update = json!([{"roomId": "main", "activity": {"type": 2, "participant": person("bob", json!({"raisedHand": true}))}}]);
    assert_eq!(
        posted(&p.webapp(&ev("participantsActivities", update)))[0]["participants"][1]
            ["raisedHand"],
        true
    );
    // Other rooms (breakouts) are not this call's roster.
    assert!(p
        .webapp(&ev(
            "participantJoined",
            json!({"id": "breakout-1", "participant": person("eve", json!({}))})
        ))
        .is_empty());
    let out = posted(&p.webapp(&ev(
        "participantLeft",
        json!({"id": "main", "participant": {"uuid": "bob"}}),
    )));
    assert_eq!(out[0]["participants"].as_array().unwrap().len(), 1);
    let out = posted(&p.webapp(&ev("participants", json!({"id": "main", "participants": [person("me", json!({"isMuted": true, "role": "chair"})), person("carol", json!({}))]}))));
    assert_eq!(out[0]["micMuted"], true);
    assert_eq!(out[1]["participants"][1]["displayName"], "CAROL");
    // The call ends: an empty roster.
    let out = posted(&p.user_disconnected());
    assert_eq!(out.last().unwrap()["participants"], json!([]));
}

#[test]
fn the_roster_is_not_posted_to_a_top_window_of_the_original_dialect() {
    let mut p = in_call(Some(Dialect::ExternalChat));
    assert!(p
        .webapp(&ev(
            "participantJoined",
            json!({"id": "main", "participant": person("bob", json!({}))})
        ))
        .is_empty());
}

#[test]
fn participants_state_sends_the_current_state_at_once() {
    let mut p = in_call(Some(Dialect::Videoconf));
    p.webapp(&ev(
        "me",
        json!({"id": "main", "participant": person("me", json!({}))}),
    ));
    let open = json!({"action": format!("{V}participants-state"), "active": true});
    assert_eq!(
        actions(&p.message(&open, Source::Top, "x")),
        [format!("{V}self"), format!("{V}roster")]
    );
    assert!(p
        .message(
            &json!({"action": format!("{V}participants-state"), "active": false}),
            Source::Top,
            "x"
        )
        .is_empty());
}

fn call_of(cmds: Vec<Command>) -> Value {
    match &cmds[..] {
        [Command::Call { call }] => serde_json::to_value(call).unwrap(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn controls_become_plugin_api_calls() {
    let mut p = in_call(Some(Dialect::Videoconf));
    p.webapp(&ev(
        "me",
        json!({"id": "main", "participant": person("me", json!({}))}),
    ));
    let mut c = |m: Value| call_of(p.message(&m, Source::Top, "x"));
    let a = |n: &str| format!("{V}{n}");
    assert_eq!(
        c(json!({"action": a("mute"), "participantUuid": "bob", "muted": true})),
        json!({"method": "mute", "payload": {"participantUuid": "bob", "mute": true}})
    );
    // The local participant mutes itself: no participant in the call.
    assert_eq!(
        c(json!({"action": a("mute"), "participantUuid": "me", "muted": false})),
        json!({"method": "mute", "payload": {"mute": false}})
    );
    assert_eq!(
        c(json!({"action": a("mute-video"), "participantUuid": "me", "muted": true})),
        json!({"method": "muteVideo", "payload": {"muteVideo": true}})
    );
    assert_eq!(
        c(json!({"action": a("raise-hand"), "participantUuid": "me", "raised": true})),
        json!({"method": "raiseHand", "payload": {"raise": true}})
    );
    assert_eq!(
        c(json!({"action": a("raise-hand"), "participantUuid": "bob", "raised": false})),
        json!({"method": "raiseHand", "payload": {"participantUuid": "bob", "raise": false}})
    );
    assert_eq!(
        c(json!({"action": a("spotlight"), "participantUuid": "bob", "active": true})),
        json!({"method": "spotlight", "payload": {"participantUuid": "bob", "enable": true}})
    );
    assert_eq!(
        c(json!({"action": a("set-role"), "participantUuid": "bob", "role": "host"})),
        json!({"method": "setRole", "payload": {"participantUuid": "bob", "role": "chair"}})
    );
    assert_eq!(
        c(json!({"action": a("set-role"), "participantUuid": "bob", "role": "guest"})),
        json!({"method": "setRole", "payload": {"participantUuid": "bob", "role": "guest"}})
    );
    assert_eq!(
        c(json!({"action": a("transfer"), "participantUuid": "bob", "alias": "room2"})),
        json!({"method": "transfer", "payload": {"participantUuid": "bob", "destination": "room2", "role": "guest"}})
    );
    assert_eq!(
        c(
            json!({"action": a("transfer"), "participantUuid": "bob", "alias": "room2", "role": "host", "pin": "1234"})
        ),
        json!({"method": "transfer", "payload": {"participantUuid": "bob", "destination": "room2", "role": "host", "pin": "1234"}})
    );
    assert_eq!(
        c(json!({"action": a("dtmf"), "participantUuid": "bob", "digits": "12#"})),
        json!({"method": "sendDTMF", "payload": {"participantUuid": "bob", "digits": "12#"}})
    );
    assert_eq!(
        c(json!({"action": a("admit"), "participantUuid": "bob"})),
        json!({"method": "admit", "payload": {"participantUuid": "bob"}})
    );
    assert_eq!(
        c(json!({"action": a("disconnect"), "participantUuid": "bob"})),
        json!({"method": "disconnect", "payload": {"participantUuid": "bob"}})
    );
    assert_eq!(
        c(json!({"action": a("mute-all-guests"), "muted": true})),
        json!({"method": "muteAllGuests", "payload": {"mute": true}})
    );
}

#[test]
fn controls_outside_a_call_or_invalid_are_warned_about() {
    let mut p = plugin(Some(Dialect::Videoconf));
    let cmds = p.message(
        &json!({"action": format!("{V}admit"), "participantUuid": "bob"}),
        Source::Top,
        "x",
    );
    assert!(matches!(&cmds[..], [Command::Warn { reason }] if reason.contains("not in a call")));
    p.connected();
    let cmds = p.message(
        &json!({"action": format!("{V}dtmf"), "participantUuid": "bob", "digits": "9,9"}),
        Source::Top,
        "x",
    );
    assert!(matches!(&cmds[..], [Command::Warn { reason }] if reason.contains("digits")));
}

#[test]
fn commands_serialize_as_the_glue_reads_them() {
    let mut p = in_call(None);
    let cmds = p.message(
        &dial(P, json!({"timeoutMs": 10, "call_type": "audio"})),
        Source::Top,
        "x",
    );
    assert_eq!(
        serde_json::to_value(&cmds).unwrap(),
        json!([
            {"do": "dial", "token": 1, "params": {"role": "GUEST", "destination": "alice@example.com", "protocol": "sip", "call_type": "audio"}},
            {"do": "timer", "token": 1, "ms": 10}
        ])
    );
    assert_eq!(
        serde_json::to_value(p.button_state()).unwrap(),
        json!({"do": "setButton", "active": false, "tooltip": "Open Chat", "badge": false})
    );
}

#[cfg(feature = "codegen")]
#[test]
fn bindings_are_up_to_date() {
    crate::bindings::check_or_write();
}
