//! Why a request was refused: an [`ErrorCode`] clients switch on, and words for people.
//! Rooms and sessions return it; the session turns it into one `error` frame.

use meetbridge_protocol::bridge::{ErrorCode, ErrorFrame, ServerFrame};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
}

impl From<meetbridge_protocol::sender::Spoofed> for Refusal {
    fn from(spoofed: meetbridge_protocol::sender::Spoofed) -> Self {
        Refusal::new(spoofed.code(), spoofed.to_string())
    }
}

impl Refusal {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
        }
    }

    /// The connection is not subscribed to or joined to `object`.
    pub fn not_member(object: &str) -> Self {
        Refusal::new(
            ErrorCode::NotMember,
            format!("this connection is not subscribed to or joined to object `{object}`; send presence first"),
        )
    }

    /// No such object, or not one this connection's token may open (the same answer, so
    /// a token scoped to one space cannot probe another's object ids).
    pub fn unknown_object(object: &str) -> Self {
        Refusal::new(ErrorCode::UnknownObject, format!("no object `{object}`"))
    }

    /// The `error` frame that says so.
    pub fn frame(
        self,
        req: Option<u64>,
        object: Option<String>,
        field: Option<String>,
    ) -> ServerFrame {
        ServerFrame::Error(ErrorFrame {
            req,
            object,
            code: self.code,
            message: self.message,
            field,
        })
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Refusal::new(ErrorCode::Internal, message)
    }
}
