//! Who sent a relayed message, and on which object, is the platform's to say.
//!
//! A plugin broadcasts or emits with only `{event, message}` (and `to`); the platform
//! stamps `source` and `objectId`. A plugin may still fill them in, but only with the
//! truth: its own user and its own object. Anything else is a spoofing attempt, refused
//! with [`ErrorCode::SpoofedSource`](crate::bridge::ErrorCode::SpoofedSource). The host
//! runtime checks this before a message leaves the page and the server checks it again
//! on arrival, with this one function.

use crate::bridge::ErrorCode;
use crate::ovice::OutgoingMessage;

/// A `source` or `objectId` that is not the sender's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spoofed {
    /// `source` names somebody other than the sender.
    Source { claimed: String, sender: String },
    /// `objectId` names another object.
    Object { claimed: String, object: String },
}

impl Spoofed {
    /// The error code clients get for it.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::SpoofedSource
    }
}

impl std::fmt::Display for Spoofed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Spoofed::Source { claimed, sender } => write!(
                f,
                "`source` is {claimed:?}, but this user is {sender:?}: leave it out or give your own id"
            ),
            Spoofed::Object { claimed, object } => write!(
                f,
                "`objectId` is {claimed:?}, but this plugin is object {object:?}: leave it out or give this object"
            ),
        }
    }
}

impl std::error::Error for Spoofed {}

/// Checks the `source` and `objectId` a plugin put on an outgoing message against the
/// sender (`None` when not known yet: then only the object is checked) and the object.
pub fn check(message: &OutgoingMessage, sender: Option<&str>, object: &str) -> Result<(), Spoofed> {
    if let (Some(claimed), Some(sender)) = (message.source.as_deref(), sender) {
        if claimed != sender {
            return Err(Spoofed::Source {
                claimed: claimed.to_owned(),
                sender: sender.to_owned(),
            });
        }
    }
    if let Some(claimed) = message.object_id.as_deref() {
        if claimed != object {
            return Err(Spoofed::Object {
                claimed: claimed.to_owned(),
                object: object.to_owned(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(source: Option<&str>, object_id: Option<&str>) -> OutgoingMessage {
        OutgoingMessage {
            source: source.map(str::to_owned),
            event: "e".into(),
            object_id: object_id.map(str::to_owned),
            message: serde_json::json!(1).into(),
            to: None,
        }
    }

    #[test]
    fn only_the_truth_or_nothing_passes() {
        assert_eq!(check(&message(None, None), Some("u1"), "o1"), Ok(()));
        assert_eq!(
            check(&message(Some("u1"), Some("o1")), Some("u1"), "o1"),
            Ok(())
        );
        assert_eq!(check(&message(Some("u2"), None), None, "o1"), Ok(()));
        let e = check(&message(Some("u2"), None), Some("u1"), "o1").unwrap_err();
        assert!(matches!(e, Spoofed::Source { .. }));
        assert_eq!(e.code(), ErrorCode::SpoofedSource);
        let e = check(&message(None, Some("o2")), Some("u1"), "o1").unwrap_err();
        assert!(matches!(e, Spoofed::Object { .. }));
        assert!(e.to_string().contains("\"o2\""), "{e}");
    }
}
