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
///
/// serde's own errors do not say which field failed. Rather than wrap every deserializer
/// (serde_path_to_error doubled the browser build), the rare error path finds the field
/// itself: a top-level key is the culprit when taking it away makes the value parse or
/// turns the error into "missing field" for that key.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    name: &str,
    prefix: &str,
    value: &Value,
) -> Result<T, Invalid> {
    let error = match T::deserialize(value) {
        Ok(v) => return Ok(v),
        Err(e) => e.to_string(),
    };
    let mut field = missing_field(&error).map(str::to_owned);
    if field.is_none() {
        if let Value::Object(map) = value {
            field = map.keys().find_map(|key| {
                let mut without = map.clone();
                without.remove(key);
                match T::deserialize(&Value::Object(without)) {
                    Ok(_) => Some(key.clone()),
                    Err(e) if missing_field(&e.to_string()) == Some(key) => Some(key.clone()),
                    Err(_) => None,
                }
            });
        }
    }
    let path = match (prefix.is_empty(), field) {
        (true, Some(f)) => f,
        (true, None) => String::new(),
        (false, Some(f)) => format!("{prefix}.{f}"),
        (false, None) => prefix.to_owned(),
    };
    Err(invalid(name, &path, error))
}

/// The field of serde's "missing field `x`" error.
fn missing_field(error: &str) -> Option<&str> {
    error.strip_prefix("missing field `")?.split('`').next()
}
