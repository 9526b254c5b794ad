//! Errors of the HTTP API: `{"error": code, "message": text}` with the code's status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;

use crate::store::StoreError;

/// The `error` of an API error body. Stable strings: clients switch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiErrorCode {
    BadRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    /// An identity provider (or another service the request needs) does not answer.
    Unavailable,
    Internal,
}

impl ApiErrorCode {
    fn status(self) -> StatusCode {
        match self {
            ApiErrorCode::BadRequest => StatusCode::BAD_REQUEST,
            ApiErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ApiErrorCode::NotFound => StatusCode::NOT_FOUND,
            ApiErrorCode::Conflict => StatusCode::CONFLICT,
            ApiErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An error as JSON: `{"error": code, "message": text}`, with the code's HTTP status.
#[derive(Debug)]
pub struct ApiError {
    code: ApiErrorCode,
    message: String,
}

impl ApiError {
    pub fn new(code: ApiErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(ApiErrorCode::BadRequest, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({"error": self.code, "message": self.message}));
        (self.code.status(), body).into_response()
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

pub type ApiResult<T> = Result<T, ApiError>;
