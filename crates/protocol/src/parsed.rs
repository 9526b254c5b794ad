//! The outcome of reading one message from another window or a socket.
//!
//! Parsing never panics. A message is either not ours (*ignored*, with the reason, so the
//! caller can log the warning the seeds ask for), ours but wrong (*invalid*, naming the
//! field), or a typed message.

use serde::{Deserialize, Serialize};

/// What a parser made of one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed<T> {
    /// Not addressed to this contract (no prefix, unknown type, not an object).
    Ignored(Ignored),
    /// Addressed to this contract but malformed.
    Invalid(Invalid),
    /// A well-formed message.
    Message(T),
}

impl<T> Parsed<T> {
    /// The message, if the input was one.
    pub fn message(self) -> Option<T> {
        match self {
            Parsed::Message(m) => Some(m),
            _ => None,
        }
    }

    /// Maps the message, keeping ignored and invalid outcomes.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Parsed<U> {
        match self {
            Parsed::Ignored(i) => Parsed::Ignored(i),
            Parsed::Invalid(i) => Parsed::Invalid(i),
            Parsed::Message(m) => Parsed::Message(f(m)),
        }
    }
}

impl<T> From<Result<T, Invalid>> for Parsed<T> {
    fn from(result: Result<T, Invalid>) -> Self {
        match result {
            Ok(message) => Parsed::Message(message),
            Err(error) => Parsed::Invalid(error),
        }
    }
}

/// Why a message was not for us.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub struct Ignored {
    pub reason: String,
}

/// Why a message for us was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
pub struct Invalid {
    /// The action or event name, when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "codegen", ts(optional))]
    pub name: Option<String>,
    /// Dotted path of the offending field (`""` for the message as a whole).
    pub field: String,
    /// What was wrong, in words.
    pub error: String,
    /// Whether the shape was wrong or a size limit was crossed: callers switch on this,
    /// never on the words.
    #[serde(default, skip_serializing_if = "InvalidKind::is_malformed")]
    #[cfg_attr(feature = "codegen", ts(as = "Option<InvalidKind>", optional))]
    pub kind: InvalidKind,
}

/// What kind of refusal an [`Invalid`] is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS, schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum InvalidKind {
    /// Malformed: a missing or mistyped field, a bad value.
    #[default]
    Malformed,
    /// Well-formed but over a size limit (2 MB message, 500 KB data), see
    /// [`crate::limits`].
    OverLimit,
}

impl InvalidKind {
    pub fn is_malformed(&self) -> bool {
        *self == InvalidKind::Malformed
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.name.as_deref().unwrap_or("message");
        if self.field.is_empty() {
            write!(f, "invalid {name}: {}", self.error)
        } else {
            write!(f, "invalid {name}: field `{}`: {}", self.field, self.error)
        }
    }
}

impl std::error::Error for Invalid {}

impl Invalid {
    /// A malformed message: `error` says what is wrong with `field` of `name`.
    pub fn new(name: Option<String>, field: impl Into<String>, error: impl Into<String>) -> Self {
        Invalid {
            name,
            field: field.into(),
            error: error.into(),
            kind: InvalidKind::Malformed,
        }
    }

    /// Whether the message was refused for its size (2 MB message, 500 KB data) rather
    /// than for its shape.
    pub fn is_over_limit(&self) -> bool {
        self.kind == InvalidKind::OverLimit
    }
}

pub(crate) fn ignored<T>(reason: impl Into<String>) -> Parsed<T> {
    Parsed::Ignored(Ignored {
        reason: reason.into(),
    })
}

pub(crate) fn invalid(name: &str, field: &str, error: impl Into<String>) -> Invalid {
    Invalid::new(Some(name.to_owned()), field, error)
}
