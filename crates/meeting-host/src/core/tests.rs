use super::*;
use serde_json::json;

const P: &str = "pexip:plugin:external-chat/";
const V: &str = "rocketchat:videoconf/";

fn emitted(effects: &[Effect]) -> Vec<Value> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Emit { event } => Some(serde_json::to_value(event).unwrap()),
            _ => None,
        })
        .collect()
}

fn posted(effects: &[Effect]) -> Vec<Value> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Post { message } => Some(serde_json::to_value(message).unwrap()),
            _ => None,
        })
        .collect()
}

fn ready_both(h: &mut Host) -> (Vec<Effect>, Vec<Effect>) {
    let a = h.message(&json!({"action": format!("{P}ready")}), "null");
    let b = h.message(
        &json!({"action": format!("{V}ready"), "features": ["chat", "dial-out", "mute", "roster"]}),
        "null",
    );
    (a, b)
}

#[test]
fn a_plugin_in_both_dialects_is_ready_once_and_answered_in_the_last() {
    let mut h = Host::new("s");
    h.set_badge(true);
    let (a, b) = ready_both(&mut h);
    assert_eq!(
        a[0],
        Effect::Adopt {
            target_origin: "*".into()
        }
    );
    assert_eq!(
        posted(&a),
        vec![json!({"action": format!("{P}toggle-chat-badge"), "visible": true})]
    );
    assert_eq!(
        emitted(&a),
        vec![json!({"kind": "ready", "dialect": "external-chat", "features": []})]
    );
    assert_eq!(
        posted(&b),
        vec![json!({"action": format!("{V}chat-unread"), "unread": true})]
    );
    assert_eq!(emitted(&b)[0]["kind"], "capabilities");
    assert_eq!(h.state().dialect, Dialect::Videoconf);
    // The same event in both dialects, back to back: reported once.
    let c1 = h.message(&json!({"action": format!("{P}connected")}), "null");
    let c2 = h.message(&json!({"action": format!("{V}connected")}), "null");
    assert_eq!(emitted(&c1), vec![json!({"kind": "connected"})]);
    assert!(c2.is_empty());
    // Two clicks, each posted in both dialects: two toggles.
    let mut toggles = 0;
    for _ in 0..2 {
        for prefix in [P, V] {
            let out = h.message(
                &json!({"action": format!("{prefix}toggle-chat"), "active": true}),
                "null",
            );
            toggles += emitted(&out).len();
        }
    }
    assert_eq!(toggles, 2);
    // A reloaded plugin is ready again.
    let again = h.message(
        &json!({"action": format!("{P}ready")}),
        "https://plugin.example",
    );
    assert_eq!(emitted(&again)[0]["kind"], "ready");
    assert_eq!(
        again[0],
        Effect::Adopt {
            target_origin: "https://plugin.example".into()
        }
    );
}

#[test]
fn a_plugin_of_the_original_dialect_only_gets_the_original_dialect() {
    let mut h = Host::new("s");
    h.message(&json!({"action": format!("{P}ready")}), "null");
    assert_eq!(
        posted(&h.set_button_active(true)),
        vec![json!({"action": format!("{P}toggle-chat-button-state"), "active": true})]
    );
    let started = h.dial_out(
        &json!({"role": "GUEST", "destination": "a@b", "protocol": "sip"}),
        &Value::Null,
    );
    assert_eq!(
        posted(&started.effects)[0]["action"],
        format!("{P}dial-out")
    );
    let refused =
        h.control(&json!({"action": format!("{V}mute"), "participantUuid": "x", "muted": true}));
    assert!(
        matches!(&refused[..], [Effect::Fail { message }] if message.contains("does not offer"))
    );
}

#[test]
fn replies_without_request_id_settle_the_oldest_pending_dial_out() {
    let mut h = Host::new("s");
    h.message(&json!({"action": format!("{P}ready")}), "null");
    let params = json!({"role": "GUEST", "destination": "a@b", "protocol": "sip"});
    let first = h.dial_out(&params, &Value::Null).id;
    let second = h.dial_out(&params, &Value::Null).id;
    assert_ne!(first, second);
    let out = h.message(
        &json!({"action": format!("{P}dial-out-success"), "uuid": "u1"}),
        "null",
    );
    assert!(matches!(&out[0], Effect::Resolve { id, value } if *id == first && value.uuid == "u1"));
    let out = h.message(
        &json!({"action": format!("{P}dial-out-error"), "message": "busy"}),
        "null",
    );
    assert!(matches!(&out[0], Effect::Reject { id, .. } if *id == second));
    // Nothing left: the next reply only reaches the page's callback.
    let out = h.message(
        &json!({"action": format!("{P}dial-out-success"), "uuid": "u2"}),
        "null",
    );
    assert_eq!(emitted(&out).len(), 1);
    assert!(!out.iter().any(|e| matches!(e, Effect::Resolve { .. })));
}

#[test]
fn replies_with_request_id_settle_that_one() {
    let mut h = Host::new("s");
    h.message(&json!({"action": format!("{P}ready")}), "null");
    let params = json!({"role": "GUEST", "destination": "a@b", "protocol": "sip"});
    let first = h.dial_out(&params, &Value::Null).id;
    let second = h.dial_out(&params, &Value::Null).id;
    let out = h.message(
        &json!({"action": format!("{P}dial-out-success"), "uuid": "u", "requestId": second}),
        "null",
    );
    assert!(matches!(&out[0], Effect::Resolve { id, .. } if *id == second));
    assert_eq!(h.state().pending_dial_outs, 1);
    let out = h.message(&json!({"action": format!("{P}dial-out-success"), "uuid": "u", "requestId": "someone-else"}), "null");
    assert!(!out.iter().any(|e| matches!(e, Effect::Resolve { .. })));
    assert_eq!(h.destroy().len(), 1, "{first} rejects on destroy");
}

#[test]
fn the_host_runs_its_own_timeout() {
    let mut h = Host::new("s");
    h.message(&json!({"action": format!("{P}ready")}), "null");
    let started = h.dial_out(
        &json!({"role": "GUEST", "destination": "a@b", "protocol": "sip"}),
        &json!({"timeoutMs": 500}),
    );
    let [Effect::Post { .. }, Effect::Timer { id, ms }] = &started.effects[..] else {
        panic!("{:?}", started.effects)
    };
    assert_eq!(*id, started.id);
    assert_eq!(*ms, 500 + DIAL_TIMEOUT_GRACE_MS);
    let out = h.timer(id);
    assert!(matches!(&out[0], Effect::Reject { error, .. } if error.message.contains("timed out")));
    assert_eq!(emitted(&out)[0]["kind"], "dialOutError");
    assert!(h.timer(id).is_empty());
    // A late reply no longer settles anything.
    let out = h.message(
        &json!({"action": format!("{P}dial-out-success"), "uuid": "u", "requestId": started.id}),
        "null",
    );
    assert!(!out.iter().any(|e| matches!(e, Effect::Resolve { .. })));
}

#[test]
fn dial_outs_are_checked_before_sending_and_refused_before_ready() {
    let mut h = Host::new("s");
    let started = h.dial_out(
        &json!({"role": "GUEST", "destination": "a@b", "protocol": "sip"}),
        &Value::Null,
    );
    assert!(
        matches!(&started.effects[..], [Effect::Reject { error, .. }] if error.message.contains("not ready"))
    );
    h.message(&json!({"action": format!("{P}ready")}), "null");
    let started = h.dial_out(
        &json!({"role": "GUEST", "destination": "a@b", "protocol": "sip", "dtmf_sequence": "1x"}),
        &Value::Null,
    );
    assert!(
        matches!(&started.effects[..], [Effect::Reject { error, .. }] if error.field.as_deref() == Some("dtmf_sequence"))
    );
    assert_eq!(h.state().pending_dial_outs, 0);
}

#[test]
fn controls_need_the_feature_and_are_checked() {
    let mut h = Host::new("s");
    ready_both(&mut h);
    let ok =
        h.control(&json!({"action": format!("{V}mute"), "participantUuid": "x", "muted": true}));
    assert_eq!(
        posted(&ok),
        vec![json!({"action": format!("{V}mute"), "participantUuid": "x", "muted": true})]
    );
    let open = h.control(&json!({"action": format!("{V}participants-state"), "active": true}));
    assert_eq!(posted(&open).len(), 1);
    let missing = h.control(&json!({"action": format!("{V}admit"), "participantUuid": "x"}));
    assert!(matches!(&missing[..], [Effect::Fail { message }] if message.contains("`admit`")));
    let bad =
        h.control(&json!({"action": format!("{V}mute"), "participantUuid": "", "muted": true}));
    assert!(matches!(&bad[..], [Effect::Fail { message }] if message.contains("participantUuid")));
}

#[test]
fn roster_and_self_are_kept_for_the_page() {
    let mut h = Host::new("s");
    ready_both(&mut h);
    let roster = json!({"action": format!("{V}roster"), "participants": [{"uuid": "u", "displayName": "U", "isWaiting": true, "isHost": false, "isMuted": false, "isClientMuted": false, "isCameraMuted": false, "isPresenting": false, "isSpotlight": false, "raisedHand": true, "can": {"control": false, "mute": true, "disconnect": true, "transfer": false, "spotlight": false, "fecc": false, "raiseHand": true, "changeLayout": false}}]});
    assert_eq!(emitted(&h.message(&roster, "null"))[0]["kind"], "roster");
    let me = json!({"action": format!("{V}self"), "participantUuid": "me", "micMuted": true, "camMuted": false, "clientMuted": false, "isHost": true, "canControl": true});
    assert_eq!(emitted(&h.message(&me, "null"))[0]["kind"], "self");
    let state = h.state();
    assert_eq!(state.participants[0].uuid, "u");
    assert!(state.self_state.unwrap().mic_muted);
    let bad = h.message(
        &json!({"action": format!("{V}roster"), "participants": "nope"}),
        "null",
    );
    assert!(matches!(&bad[..], [Effect::Warn { .. }]));
    assert!(h
        .message(&json!({"action": "something/else"}), "null")
        .is_empty());
}

#[cfg(feature = "codegen")]
#[test]
fn bindings_are_up_to_date() {
    crate::bindings::check_or_write();
}
