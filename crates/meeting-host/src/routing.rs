//! The host's decisions that need no browser, tested natively.

use meetbridge_protocol::pexip::{DialOut, TopToPlugin, ACTION_PREFIX};
use meetbridge_protocol::{Invalid, Parsed};
use serde_json::{Map, Value};

/// The `targetOrigin` for answering a window whose messages carry `origin`. An opaque
/// origin (`"null"`, a sandboxed frame) can only be addressed with `*`; the message is
/// still posted to that one window.
pub fn target_origin(origin: &str) -> String {
    match origin {
        "" | "null" => "*".into(),
        exact => exact.into(),
    }
}

/// A request id unique within this page: a random session prefix and a counter.
pub fn request_id(session: &str, n: u32) -> String {
    format!("mb-{session}-{n}")
}

/// Builds the `dial-out` message for `params` and `options` (`{ timeoutMs? }`), checked by
/// the protocol crate's parser, so an invalid request is refused before it is sent.
pub fn dial_out_message(
    params: &Value,
    options: &Value,
    request_id: &str,
) -> Result<DialOut, Invalid> {
    let Some(params) = params.as_object() else {
        return Err(Invalid::new(
            Some("dial-out".into()),
            "",
            "the dial parameters must be an object",
        ));
    };
    let mut message: Map<String, Value> = params.clone();
    message.insert(
        "action".into(),
        Value::String(format!("{ACTION_PREFIX}dial-out")),
    );
    message.insert("requestId".into(), Value::String(request_id.into()));
    message.remove("timeoutMs");
    match options.get("timeoutMs") {
        None | Some(Value::Null) => {}
        Some(timeout) => {
            message.insert("timeoutMs".into(), timeout.clone());
        }
    }
    match TopToPlugin::parse(&Value::Object(message)) {
        Parsed::Message(TopToPlugin::DialOut(d)) => Ok(d),
        Parsed::Invalid(invalid) => Err(invalid),
        // The action is dial-out: nothing else can come back.
        Parsed::Message(_) | Parsed::Ignored(_) => {
            Err(Invalid::new(Some("dial-out".into()), "", "not a dial-out"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn opaque_origins_need_a_star() {
        assert_eq!(target_origin("null"), "*");
        assert_eq!(target_origin(""), "*");
        assert_eq!(
            target_origin("https://webapp.example"),
            "https://webapp.example"
        );
    }

    #[test]
    fn dial_out_carries_the_request_id_and_timeout() {
        let params = json!({"role": "GUEST", "destination": "a@b", "protocol": "sip", "requestId": "spoofed"});
        let d = dial_out_message(&params, &json!({"timeoutMs": 1500}), "mb-x-1").unwrap();
        assert_eq!(d.request_id.as_deref(), Some("mb-x-1"));
        assert_eq!(d.timeout_ms, Some(1500));
        let wire = serde_json::to_value(TopToPlugin::DialOut(d)).unwrap();
        assert_eq!(wire["action"], "pexip:plugin:external-chat/dial-out");
        assert_eq!(wire["requestId"], "mb-x-1");
    }

    #[test]
    fn invalid_params_are_refused_naming_the_field() {
        let e = dial_out_message(
            &json!({"role": "GUEST", "protocol": "sip"}),
            &Value::Null,
            "r",
        )
        .unwrap_err();
        assert_eq!(e.field, "destination");
        let e = dial_out_message(
            &json!({"role": "GUEST", "destination": "x", "protocol": "fax"}),
            &Value::Null,
            "r",
        )
        .unwrap_err();
        assert_eq!(e.field, "protocol");
        let e = dial_out_message(&json!("nope"), &Value::Null, "r").unwrap_err();
        assert_eq!(e.field, "");
        let e = dial_out_message(
            &json!({"role": "GUEST", "destination": "x", "protocol": "sip"}),
            &json!({"timeoutMs": 0}),
            "r",
        )
        .unwrap_err();
        assert_eq!(e.field, "timeoutMs");
    }
}
