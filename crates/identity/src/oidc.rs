//! OpenID Connect sign-in, the server's half: discovery of the issuer's endpoints, the
//! authorization-code exchange (the page did the redirect with PKCE and hands the server the
//! code and its verifier), and validation of the ID token against the issuer's JWKS, its
//! `iss`, the client id as `aud`, and the page's `nonce`.
//!
//! Discovery happens on first use, so the server starts even while the provider is down.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::claims::Claims;
use crate::rejection::Rejection;
use crate::verifier::{Verifier, VerifierConfig};

/// What the operator configured (`--oidc-issuer`, `--oidc-client-id`, `--oidc-client-secret`).
#[derive(Debug, Clone)]
pub struct OidcConfig {
    pub issuer: String,
    pub client_id: String,
    /// For confidential clients; public clients rely on PKCE alone.
    pub client_secret: Option<String>,
}

/// The endpoints of the issuer's `/.well-known/openid-configuration`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_endpoint: Option<String>,
}

/// Profile claims a provider may keep out of the ID token and answer at its userinfo
/// endpoint instead (OpenID Connect Core 5.4).
const PROFILE_CLAIMS: [&str; 8] = [
    "name",
    "preferred_username",
    "picture",
    "email",
    "locale",
    "role",
    "workspaceId",
    "isVisitor",
];

/// What a page needs to start the redirect.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PageConfig {
    pub issuer: String,
    pub client_id: String,
    pub authorization_endpoint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_session_endpoint: Option<String>,
    pub scope: &'static str,
}

/// Why a sign-in failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OidcError {
    /// The provider could not be reached or answered nonsense (503).
    Provider(String),
    /// The provider refused the code (400): expired, used twice, wrong verifier.
    CodeRefused(String),
    /// The ID token failed verification (401).
    IdToken(Rejection),
    /// The ID token's `nonce` is not the page's.
    Nonce,
}

impl std::fmt::Display for OidcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OidcError::Provider(why) => write!(f, "the identity provider is unavailable: {why}"),
            OidcError::CodeRefused(why) => {
                write!(f, "the identity provider refused the sign-in code: {why}")
            }
            OidcError::IdToken(r) => write!(f, "the identity provider's ID token was refused: {r}"),
            OidcError::Nonce => {
                f.write_str("the ID token's `nonce` is not the one this page sent: sign in again")
            }
        }
    }
}

impl std::error::Error for OidcError {}

/// One configured issuer.
pub struct Oidc {
    config: OidcConfig,
    http: reqwest::Client,
    discovery: OnceCell<(Discovery, Verifier)>,
}

impl Oidc {
    pub fn new(config: OidcConfig) -> Oidc {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(3))
            .build()
            .unwrap_or_default();
        Oidc {
            config,
            http,
            discovery: OnceCell::new(),
        }
    }

    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// Fetches the discovery document once (a failure is retried on the next call).
    pub async fn discovery(&self) -> Result<&(Discovery, Verifier), OidcError> {
        self.discovery
            .get_or_try_init(|| async {
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    self.config.issuer.trim_end_matches('/')
                );
                let response = self
                    .http
                    .get(&url)
                    .send()
                    .await
                    .map_err(|e| OidcError::Provider(format!("{url} did not answer: {e}")))?;
                if !response.status().is_success() {
                    return Err(OidcError::Provider(format!(
                        "{url} answered HTTP {}",
                        response.status()
                    )));
                }
                let discovery: Discovery = response.json().await.map_err(|e| {
                    OidcError::Provider(format!("{url} is not a discovery document: {e}"))
                })?;
                if discovery.issuer.trim_end_matches('/')
                    != self.config.issuer.trim_end_matches('/')
                {
                    return Err(OidcError::Provider(format!(
                        "{url} names issuer {:?}, not the configured {:?}",
                        discovery.issuer, self.config.issuer
                    )));
                }
                let verifier = Verifier::new(VerifierConfig {
                    jwks_url: Some(discovery.jwks_uri.clone()),
                    issuer: Some(discovery.issuer.clone()),
                    audience: vec![self.config.client_id.clone()],
                    ..Default::default()
                });
                tracing::info!(issuer = %discovery.issuer, "OpenID provider discovered");
                Ok((discovery, verifier))
            })
            .await
    }

    pub async fn page_config(&self) -> Result<PageConfig, OidcError> {
        let (discovery, _) = self.discovery().await?;
        Ok(PageConfig {
            issuer: discovery.issuer.clone(),
            client_id: self.config.client_id.clone(),
            authorization_endpoint: discovery.authorization_endpoint.clone(),
            end_session_endpoint: discovery.end_session_endpoint.clone(),
            scope: "openid profile email",
        })
    }

    /// Trades the code for tokens and returns the verified ID token's claims.
    pub async fn exchange(
        &self,
        code: &str,
        code_verifier: &str,
        redirect_uri: &str,
        nonce: &str,
    ) -> Result<Claims, OidcError> {
        let (discovery, verifier) = self.discovery().await?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", code_verifier),
            ("client_id", self.config.client_id.as_str()),
        ];
        if let Some(secret) = &self.config.client_secret {
            form.push(("client_secret", secret.as_str()));
        }
        let response = self
            .http
            .post(&discovery.token_endpoint)
            .form(&form)
            .send()
            .await
            .map_err(|e| OidcError::Provider(format!("the token endpoint did not answer: {e}")))?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| {
            OidcError::Provider(format!("the token endpoint answered no JSON: {e}"))
        })?;
        if !status.is_success() {
            let what = body
                .get("error_description")
                .or(body.get("error"))
                .and_then(Value::as_str);
            return Err(OidcError::CodeRefused(
                what.unwrap_or("no reason given").to_owned(),
            ));
        }
        let id_token = body
            .get("id_token")
            .and_then(Value::as_str)
            .ok_or_else(|| OidcError::Provider("the token endpoint answered no id_token".into()))?;
        let verified = verifier.verify(id_token).await.map_err(|r| {
            tracing::warn!(reason = r.code(), %r, "ID token refused");
            OidcError::IdToken(r)
        })?;
        if verified.nonce.as_deref() != Some(nonce) {
            return Err(OidcError::Nonce);
        }
        let missing = PROFILE_CLAIMS
            .iter()
            .any(|c| !verified.payload.contains_key(*c));
        let access_token = body.get("access_token").and_then(Value::as_str);
        match (&discovery.userinfo_endpoint, access_token) {
            (Some(endpoint), Some(access_token)) if missing => {
                self.with_userinfo(endpoint, access_token, verified.payload)
                    .await
            }
            _ => Ok(verified.claims),
        }
    }

    /// Adds the userinfo answer's profile claims to those of the ID token (which win), when
    /// its `sub` is the ID token's (OpenID Connect Core 5.3.2).
    async fn with_userinfo(
        &self,
        endpoint: &str,
        access_token: &str,
        mut payload: serde_json::Map<String, Value>,
    ) -> Result<Claims, OidcError> {
        let response = self
            .http
            .get(endpoint)
            .bearer_auth(access_token)
            .send()
            .await
            .map_err(|e| {
                OidcError::Provider(format!("the userinfo endpoint did not answer: {e}"))
            })?;
        if !response.status().is_success() {
            return Err(OidcError::Provider(format!(
                "the userinfo endpoint answered HTTP {}",
                response.status()
            )));
        }
        let info: serde_json::Map<String, Value> = response.json().await.map_err(|e| {
            OidcError::Provider(format!(
                "the userinfo endpoint answered no JSON object: {e}"
            ))
        })?;
        if info.get("sub") != payload.get("sub") {
            return Err(OidcError::Provider(
                "the userinfo answer is about another subject than the ID token".into(),
            ));
        }
        for claim in PROFILE_CLAIMS {
            if let (false, Some(value)) = (payload.contains_key(claim), info.get(claim)) {
                payload.insert(claim.to_owned(), value.clone());
            }
        }
        Claims::from_payload(&payload, crate::time::now_secs()).map_err(OidcError::IdToken)
    }
}
