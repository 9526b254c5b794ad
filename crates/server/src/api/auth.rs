//! Signing pages in: how (`/api/auth/config`), the OpenID Connect code exchange that ends
//! in the server's own session token (`/api/auth/oidc/token`), and what a token is worth
//! (`/api/auth/session`, for pages handed a token by an embedding application).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use meetbridge_identity::oidc::OidcError;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error::{ApiError, ApiErrorCode, ApiResult};
use super::objects::{blocking, check_id};
use super::participant::require_participant;
use crate::auth::token::{Claims, Role, TokenRequest};
use crate::state::AppState;

/// How long a session that follows an OpenID Connect sign-in lasts.
const SESSION_TTL_SECS: i64 = 8 * 3600;

pub async fn config(State(state): State<AppState>) -> Json<Value> {
    let (oidc, error) = match &state.oidc {
        None => (Value::Null, None),
        Some(oidc) => match oidc.page_config().await {
            Ok(page) => (json!(page), None),
            Err(e) => {
                tracing::warn!(error = %e, "OpenID provider unavailable");
                (Value::Null, Some(format!("sign-in is unavailable: {e}")))
            }
        },
    };
    Json(json!({
        "devLogin": state.dev_login,
        "demoSpace": state.demo_space,
        "oidc": oidc,
        "oidcError": error,
        "embedOrigins": &*state.embed_origins,
    }))
}

fn session_body(token: Option<&str>, claims: &Claims) -> Value {
    let mut body = json!({
        "participant": claims.participant(),
        "role": claims.role,
        "space": claims.space,
        "expiresAt": claims.exp,
    });
    if let Some(token) = token {
        body["token"] = json!(token);
    }
    body
}

pub async fn session(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Json<Value>> {
    let claims = require_participant(&state, &headers).await?;
    Ok(Json(session_body(None, &claims)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CodeExchange {
    code: String,
    code_verifier: String,
    redirect_uri: String,
    nonce: String,
    #[serde(default)]
    space: Option<String>,
}

pub async fn oidc_token(
    State(state): State<AppState>,
    Json(body): Json<CodeExchange>,
) -> ApiResult<Json<Value>> {
    let Some(oidc) = &state.oidc else {
        return Err(ApiError::new(
            ApiErrorCode::NotFound,
            "OpenID Connect sign-in is not configured on this server (--oidc-issuer, --oidc-client-id)",
        ));
    };
    for (field, value) in [
        ("code", &body.code),
        ("codeVerifier", &body.code_verifier),
        ("redirectUri", &body.redirect_uri),
        ("nonce", &body.nonce),
    ] {
        if value.is_empty() || value.len() > 4096 {
            return Err(ApiError::bad_request(format!(
                "`{field}` must be 1 to 4096 bytes"
            )));
        }
    }
    // PKCE verifiers are 43 to 128 characters (RFC 7636).
    if !(43..=128).contains(&body.code_verifier.len()) {
        return Err(ApiError::bad_request(
            "`codeVerifier` must be 43 to 128 characters (PKCE)",
        ));
    }
    let id = oidc
        .exchange(
            &body.code,
            &body.code_verifier,
            &body.redirect_uri,
            &body.nonce,
        )
        .await
        .map_err(|e| {
            tracing::info!(reason = %e, "OpenID sign-in refused");
            let code = match &e {
                OidcError::Provider(_) => ApiErrorCode::Unavailable,
                OidcError::CodeRefused(_) => ApiErrorCode::BadRequest,
                OidcError::IdToken(r) if r.is_unavailable() => ApiErrorCode::Unavailable,
                OidcError::IdToken(_) | OidcError::Nonce => ApiErrorCode::Unauthorized,
            };
            ApiError::new(code, e.to_string())
        })?;
    let space = body.space.or(id.space.clone());
    if let Some(space) = &space {
        check_id(space).map_err(|_| ApiError::bad_request("`space` is not a space id"))?;
        let wanted = space.clone();
        let known = blocking(&state.hub.store, move |s| s.spaces()).await?;
        if !known.iter().any(|s| s.id == wanted) {
            return Err(ApiError::new(
                ApiErrorCode::NotFound,
                format!("space {space:?} does not exist"),
            ));
        }
    }
    let request = TokenRequest {
        id: id.sub.clone(),
        name: id.name.clone(),
        avatar_url: id.picture.clone(),
        workspace_id: match &id.workspace_id {
            meetbridge_protocol::ovice::StringOrNumber::Text(t) => t.clone(),
            meetbridge_protocol::ovice::StringOrNumber::Number(n) => n.to_string(),
        },
        language: id.locale.clone(),
        email: id.email.clone().filter(|e| e.contains('@')),
        is_visitor: id.is_visitor,
        space,
        role: id.role,
        ttl_secs: SESSION_TTL_SECS,
    };
    if request.space.is_none() && request.role != Role::Admin {
        return Err(ApiError::new(
            ApiErrorCode::Forbidden,
            format!(
                "signed in as {} (role {}), but no space was named: open the page of a space to enter it; administering needs role admin",
                id.name, id.role
            ),
        ));
    }
    let issued = state.tokens.mint(&request).map_err(|e| {
        ApiError::bad_request(format!("the identity provider's claims do not fit: {e}"))
    })?;
    tracing::info!(sub = %id.sub, role = %id.role, "signed in through OpenID Connect");
    Ok(Json(session_body(Some(&issued.token), &issued.claims)))
}
