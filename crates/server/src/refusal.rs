//! Why a request was refused: an [`ErrorCode`] clients switch on, and words for people.
//! Rooms and sessions return it; the session turns it into one `error` frame.

use meetbridge_protocol::bridge::{ErrorCode, ErrorFrame, ServerFrame};

/// The longest object id or field path an `error` frame echoes.
pub const MAX_ECHO_ID_BYTES: usize = 256;
/// The longest message an `error` frame carries, in bytes.
pub const MAX_ECHO_MESSAGE_BYTES: usize = 1024;

/// `text` cut to at most `max` bytes at a character boundary, with `…` when cut.
fn cut(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max - '…'.len_utf8();
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

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

    /// The `error` frame that says so. What it echoes of the request is bounded: an
    /// object id or a field path longer than [`MAX_ECHO_ID_BYTES`] is left out (no real
    /// one is that long), the message is cut at [`MAX_ECHO_MESSAGE_BYTES`], so a huge
    /// name in a request cannot make a huge answer.
    pub fn frame(
        self,
        req: Option<u64>,
        object: Option<String>,
        field: Option<String>,
    ) -> ServerFrame {
        ServerFrame::Error(ErrorFrame {
            req,
            object: object.filter(|o| o.len() <= MAX_ECHO_ID_BYTES),
            code: self.code,
            message: cut(self.message, MAX_ECHO_MESSAGE_BYTES),
            field: field.filter(|f| f.len() <= MAX_ECHO_ID_BYTES),
        })
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Refusal::new(ErrorCode::Internal, message)
    }
}
