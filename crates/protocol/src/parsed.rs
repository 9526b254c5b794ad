//! The outcome of reading one message from another window or a socket.
//!
//! Parsing never panics. A message is either not ours (*ignored*, with the reason, so the
//! caller can log the warning the seeds ask for), ours but wrong (*invalid*, naming the
//! field), or a typed message.

use serde::{Deserialize, Serialize};
use serde_json::Value;

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

pub(crate) fn ignored<T>(reason: impl Into<String>) -> Parsed<T> {
    Parsed::Ignored(Ignored {
        reason: reason.into(),
    })
}

pub(crate) fn invalid(name: &str, field: &str, error: impl Into<String>) -> Invalid {
    Invalid {
        name: Some(name.to_owned()),
        field: field.to_owned(),
        error: error.into(),
    }
}

/// Deserialises `value` as `T`, turning a serde error into an [`Invalid`] that names the
/// field. `prefix` is prepended to the path (e.g. `payload`).
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    name: &str,
    prefix: &str,
    value: &Value,
) -> Result<T, Invalid> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let mut path = err.path().to_string();
        if path == "." {
            path.clear();
        }
        let inner = err.into_inner().to_string();
        // serde reports a missing field on the parent; name the field itself.
        if path.is_empty() {
            if let Some(rest) = inner.strip_prefix("missing field `") {
                if let Some(field) = rest.strip_suffix('`') {
                    path = field.to_owned();
                }
            }
        }
        let field = match (prefix.is_empty(), path.is_empty()) {
            (true, _) => path,
            (false, true) => prefix.to_owned(),
            (false, false) => format!("{prefix}.{path}"),
        };
        invalid(name, &field, inner)
    })
}
