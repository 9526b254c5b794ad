//! The JSON body of an API request, refused in the API's own error shape: a 400 that
//! names the field (`position.x`, `settings.sandbox[1]`, `pluginUrl`) and says what was
//! wrong, rather than axum's plain-text 422.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A request body read as JSON into `T`.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("the request body: {}", e.body_text())))?;
        parse(&bytes).map(Body)
    }
}

/// Reads `bytes` as `T`, naming the field that does not fit.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let why = inner.to_string();
        // A missing field is reported at the enclosing object (an unknown one at itself).
        let missing = why
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next());
        let field = match (missing, path.as_str()) {
            (Some(name), ".") => name.to_owned(),
            (Some(name), parent) => format!("{parent}.{name}"),
            (None, ".") => String::new(),
            (None, at) => at.to_owned(),
        };
        // Drop serde's " at line 1 column 12": the field says where.
        let why = match why.rfind(" at line ") {
            Some(i) if inner.is_data() => why[..i].to_owned(),
            _ => why,
        };
        if field.is_empty() {
            ApiError::bad_request(format!(
                "the request body is not valid JSON for this request: {why}"
            ))
        } else if why.starts_with("missing field") {
            ApiError::bad_request(format!("`{field}` is required")).with_field(field)
        } else {
            ApiError::bad_field(field, format!("is not valid: {why}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Thing {
        plugin_url: String,
        #[serde(default)]
        position: Option<meetbridge_protocol::space::Position>,
    }

    fn field_of(text: &str) -> Option<String> {
        let e = parse::<Thing>(text.as_bytes()).unwrap_err();
        let body = axum::response::IntoResponse::into_response(e);
        assert_eq!(body.status(), 400);
        let e = parse::<Thing>(text.as_bytes()).unwrap_err();
        e.field().map(str::to_owned)
    }

    #[test]
    fn refusals_name_the_field() {
        assert_eq!(field_of("{}").as_deref(), Some("pluginUrl"));
        assert_eq!(
            field_of(r#"{"pluginUrl":"/p/","position":{"x":-1,"y":2}}"#).as_deref(),
            Some("position.x")
        );
        assert_eq!(
            field_of(r#"{"pluginUrl":"/p/","position":{"x":1,"y":2,"z":3}}"#).as_deref(),
            Some("position.z")
        );
        assert_eq!(
            field_of(r#"{"pluginUrl":"/p/","colour":1}"#).as_deref(),
            Some("colour")
        );
        assert_eq!(field_of("not json"), None);
    }
}
