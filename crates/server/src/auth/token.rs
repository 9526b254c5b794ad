//! Participant tokens: `base64url(claims JSON) "." base64url(HMAC-SHA256(secret, first part))`.
//!
//! The identity a connection acts as comes only from here, never from what a client says.
//! Compact and JWT-like so it fits a query string, a subprotocol or a header.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use meetbridge_protocol::bridge::Identity;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// What a token asserts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    /// The participant, as plugins will see them.
    pub user: Identity,
    /// When set, the token only opens objects of this space.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space: Option<String>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    BadSignature,
    Expired,
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TokenError::Malformed => "malformed token",
            TokenError::BadSignature => "bad token signature",
            TokenError::Expired => "token expired",
        })
    }
}

impl std::error::Error for TokenError {}

/// Signs and verifies tokens with one secret.
#[derive(Clone)]
pub struct TokenKey {
    secret: Vec<u8>,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        TokenKey {
            secret: secret.as_ref().to_vec(),
        }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length.
        HmacSha256::new_from_slice(&self.secret).expect("hmac takes any key length")
    }

    pub fn sign(&self, claims: &Claims) -> String {
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let mut mac = self.mac();
        mac.update(body.as_bytes());
        let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{body}.{sig}")
    }

    /// Checks the signature (in constant time) and the expiry against `now` (seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let (body, sig) = token.split_once('.').ok_or(TokenError::Malformed)?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig)
            .map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac();
        mac.update(body.as_bytes());
        mac.verify_slice(&sig)
            .map_err(|_| TokenError::BadSignature)?;
        let json = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| TokenError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&json).map_err(|_| TokenError::Malformed)?;
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A random secret for a new data dir: 32 bytes, base64url.
pub fn random_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What an admin (API or CLI) asks a token for. Only `id` and `name` are required.
#[derive(Debug, Clone, Deserialize, Serialize, clap::Args)]
#[serde(rename_all = "camelCase")]
pub struct TokenRequest {
    /// The user id plugins see (`source`, `to`, participant `id`).
    #[arg(long)]
    pub id: String,
    /// Display name.
    #[arg(long)]
    pub name: String,
    #[arg(long, default_value = "")]
    #[serde(default)]
    pub avatar_url: String,
    /// Workspace id (kept as a string).
    #[arg(long, default_value = "default")]
    #[serde(default = "default_workspace")]
    pub workspace_id: String,
    #[arg(long)]
    #[serde(default)]
    pub language: Option<String>,
    /// Given to plugins only on objects whose settings allow it.
    #[arg(long)]
    #[serde(default)]
    pub email: Option<String>,
    #[arg(long)]
    #[serde(default)]
    pub is_visitor: bool,
    /// Restrict the token to one space.
    #[arg(long)]
    #[serde(default)]
    pub space: Option<String>,
    /// Lifetime in seconds.
    #[arg(long, default_value_t = DEFAULT_TTL_SECS)]
    #[serde(default = "default_ttl")]
    pub ttl_secs: i64,
}

pub const DEFAULT_TTL_SECS: i64 = 24 * 3600;

fn default_workspace() -> String {
    "default".into()
}

fn default_ttl() -> i64 {
    DEFAULT_TTL_SECS
}

/// A signed token and what it says.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedToken {
    pub token: String,
    pub claims: Claims,
}

impl TokenRequest {
    pub fn check(&self) -> Result<(), String> {
        if self.id.trim().is_empty() || self.id.len() > 128 {
            return Err("`id` must be 1 to 128 characters".into());
        }
        if self.name.trim().is_empty() || self.name.len() > 128 {
            return Err("`name` must be 1 to 128 characters".into());
        }
        if self.ttl_secs <= 0 {
            return Err("`ttlSecs` must be positive".into());
        }
        Ok(())
    }

    pub fn issue(&self, key: &TokenKey) -> Result<IssuedToken, String> {
        self.check()?;
        let claims = Claims {
            user: Identity {
                id: meetbridge_protocol::ovice::UserId::Text(self.id.clone()),
                name: self.name.clone(),
                avatar_url: self.avatar_url.clone(),
                workspace_id: meetbridge_protocol::ovice::StringOrNumber::Text(
                    self.workspace_id.clone(),
                ),
                language: self.language.clone(),
                email: self.email.clone(),
                is_visitor: self.is_visitor,
            },
            space: self.space.clone(),
            exp: now_secs() + self.ttl_secs,
        };
        Ok(IssuedToken {
            token: key.sign(&claims),
            claims,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meetbridge_protocol::ovice::{StringOrNumber, UserId};

    fn claims() -> Claims {
        Claims {
            user: Identity {
                id: UserId::Text("u1".into()),
                name: "Ann".into(),
                avatar_url: String::new(),
                workspace_id: StringOrNumber::Text("w".into()),
                language: None,
                email: Some("ann@example.com".into()),
                is_visitor: false,
            },
            space: Some("demo".into()),
            exp: 2_000,
        }
    }

    #[test]
    fn round_trip_and_rejections() {
        let key = TokenKey::new("s");
        let token = key.sign(&claims());
        assert_eq!(key.verify(&token, 1_000).unwrap(), claims());
        assert_eq!(key.verify(&token, 2_000), Err(TokenError::Expired));
        assert_eq!(
            TokenKey::new("other").verify(&token, 1_000),
            Err(TokenError::BadSignature)
        );
        // A changed body (another user) keeps the old signature: refused.
        let (_, sig) = token.split_once('.').unwrap();
        let mut forged = claims();
        forged.user.name = "Mallory".into();
        let body = key.sign(&forged);
        let (body, _) = body.split_once('.').unwrap();
        assert_eq!(
            key.verify(&format!("{body}.{sig}"), 1_000),
            Err(TokenError::BadSignature)
        );
        assert_eq!(key.verify("nodot", 0), Err(TokenError::Malformed));
        assert_eq!(key.verify("a.!!", 0), Err(TokenError::Malformed));
    }
}
