//! Errors of the HTTP API: `{"error": code, "message": text, "field"?: name}` with the
//! code's status ([`ApiErrorBody`], defined in the protocol crate so the pages read it
//! typed). The message is a sentence a person can act on; `field` names the refused
//! field of the request when there is one.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use meetbridge_protocol::plugin_url::PluginUrlError;
use meetbridge_protocol::space::{ApiErrorBody, SettingError};

pub use meetbridge_protocol::space::ApiErrorCode;

use crate::store::StoreError;

fn status(code: ApiErrorCode) -> StatusCode {
    match code {
        ApiErrorCode::BadRequest => StatusCode::BAD_REQUEST,
        ApiErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        ApiErrorCode::Forbidden | ApiErrorCode::CreateNotAllowed | ApiErrorCode::QuotaExceeded => {
            StatusCode::FORBIDDEN
        }
        ApiErrorCode::NotFound => StatusCode::NOT_FOUND,
        ApiErrorCode::Conflict => StatusCode::CONFLICT,
        ApiErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ApiErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An error as JSON, with the code's HTTP status.
#[derive(Debug)]
pub struct ApiError {
    code: ApiErrorCode,
    message: String,
    field: Option<String>,
}

impl ApiError {
    pub fn new(code: ApiErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn code(&self) -> ApiErrorCode {
        self.code
    }

    /// The refused field of the request, when one is.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(ApiErrorCode::BadRequest, message)
    }

    /// A 400 about `field`: the message names it too, for whoever reads only the message.
    pub fn bad_field(field: impl Into<String>, why: impl std::fmt::Display) -> Self {
        let field = field.into();
        ApiError::bad_request(format!("`{field}` {why}")).with_field(field)
    }

    /// Names the refused field.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(ApiErrorBody {
            error: self.code,
            message: self.message,
            field: self.field,
        });
        (status(self.code), body).into_response()
    }
}

/// A refused token: 401, or 503 when the identity provider's keys could not be fetched.
impl From<crate::auth::token::Rejection> for ApiError {
    fn from(r: crate::auth::token::Rejection) -> Self {
        let code = if r.is_unavailable() {
            ApiErrorCode::Unavailable
        } else {
            ApiErrorCode::Unauthorized
        };
        ApiError::new(code, r.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => {
                ApiError::new(ApiErrorCode::Conflict, format!("{m} already exists"))
            }
            StoreError::Missing(m) => {
                ApiError::new(ApiErrorCode::NotFound, format!("{m} not found"))
            }
            StoreError::Backend(m) => ApiError::new(ApiErrorCode::Internal, m),
        }
    }
}

impl From<PluginUrlError> for ApiError {
    fn from(e: PluginUrlError) -> Self {
        ApiError::bad_request(e.to_string()).with_field(e.field)
    }
}

impl From<SettingError> for ApiError {
    fn from(e: SettingError) -> Self {
        ApiError::bad_request(e.to_string()).with_field(e.field)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
