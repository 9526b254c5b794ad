//! The dev-only login of demo mode (`serve --demo`): a token for a typed name.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::error::{ApiError, ApiErrorCode, ApiResult};
use crate::auth::token::{Role, TokenRequest};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct DevLogin {
    name: String,
    #[serde(default)]
    space: Option<String>,
}

/// DEV ONLY (demo mode): anyone can become anyone by typing a name. The id is derived
/// from the name (`dev-<slug>`), so the same name in two tabs is the same participant.
pub async fn login(
    State(state): State<AppState>,
    Json(body): Json<DevLogin>,
) -> ApiResult<Response> {
    if !state.dev_login {
        return Err(ApiError::new(
            ApiErrorCode::NotFound,
            "the dev login exists only in demo mode (serve --demo)",
        ));
    }
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(ApiError::bad_request("`name` must be 1 to 64 characters"));
    }
    let slug = dev_slug(name);
    // Whatever space the request names, the dev login opens the demo space only.
    let Some(space) = state.demo_space.clone() else {
        return Err(ApiError::new(
            ApiErrorCode::NotFound,
            "the dev login needs the demo space (serve --demo)",
        ));
    };
    if body.space.as_deref().is_some_and(|asked| asked != space) {
        tracing::warn!(asked = ?body.space, "dev login asked for another space; it opens the demo space only");
    }
    let request = TokenRequest {
        id: format!("dev-{slug}"),
        name: name.to_owned(),
        avatar_url: String::new(),
        workspace_id: "demo".into(),
        language: Some("en".into()),
        email: Some(format!("{slug}@dev.invalid")),
        is_visitor: false,
        space: Some(space),
        role: Role::Member,
        ttl_secs: 12 * 3600,
    };
    let issued = state
        .tokens
        .mint(&request)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    tracing::warn!(user = %request.id, "dev-only login used");
    Ok(Json(json!({
        "devOnly": true,
        "token": issued.token,
        "participant": issued.claims.participant(),
        "role": issued.claims.role,
        "space": issued.claims.space,
        "expiresAt": issued.claims.exp,
    }))
    .into_response())
}

/// The id part of a dev login: the name's ASCII letters and digits, lower-cased and
/// joined by `-`; a name without any (say, in Japanese) gets a short stable hash instead,
/// so the same name is always the same participant.
pub fn dev_slug(name: &str) -> String {
    let slug = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if !slug.is_empty() {
        return slug;
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(name.as_bytes());
    digest[..5].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn dev_slugs_are_stable_and_never_empty() {
        assert_eq!(super::dev_slug("Alice"), "alice");
        assert_eq!(super::dev_slug("  Bob  Smith! "), "bob-smith");
        let jp = super::dev_slug("山田");
        assert_eq!(jp.len(), 10);
        assert_eq!(jp, super::dev_slug("山田"));
        assert_ne!(jp, super::dev_slug("田中"));
    }
}
