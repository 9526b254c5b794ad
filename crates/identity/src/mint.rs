//! The server's own tokens: HS256 JWTs for `meetbridge token issue`, the admin API, the
//! demo login and the sessions that follow an OpenID Connect sign-in.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::claims::Claims;
use crate::role::Role;
use crate::time::{check_ttl, now_secs};

/// What an admin (API or CLI) asks a token for. Only `id` and `name` are required.
#[derive(Debug, Clone, Deserialize, Serialize, clap::Args)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenRequest {
    /// The user id plugins see (`source`, `to`, participant `id`): the `sub` claim.
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
    /// The one space the token opens (required unless the role is `admin`).
    #[arg(long)]
    #[serde(default)]
    pub space: Option<String>,
    /// admin, owner, member or visitor.
    #[arg(long, default_value = "member")]
    #[serde(default = "default_role")]
    pub role: Role,
    /// Lifetime in seconds (1 to 30 days).
    #[arg(long, default_value_t = DEFAULT_TTL_SECS)]
    #[serde(default = "default_ttl")]
    pub ttl_secs: i64,
}

pub const DEFAULT_TTL_SECS: i64 = 24 * 3600;

fn default_workspace() -> String {
    "default".into()
}

fn default_role() -> Role {
    Role::Member
}

fn default_ttl() -> i64 {
    DEFAULT_TTL_SECS
}

/// A signed token and what it says.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Issued {
    pub token: String,
    pub claims: Claims,
}

/// A refused request: the field and why, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub why: String,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` {}", self.field, self.why)
    }
}

impl std::error::Error for FieldError {}

fn field(field: &'static str, why: impl Into<String>) -> FieldError {
    FieldError {
        field,
        why: why.into(),
    }
}

impl TokenRequest {
    pub fn check(&self) -> Result<(), FieldError> {
        let bounded = |name: &'static str, value: &str, min: usize, max: usize| {
            if value.trim().len() < min || value.len() > max {
                Err(field(name, format!("must be {min} to {max} bytes")))
            } else {
                Ok(())
            }
        };
        bounded("id", &self.id, 1, 128)?;
        bounded("name", &self.name, 1, 128)?;
        bounded("avatarUrl", &self.avatar_url, 0, 2048)?;
        bounded("workspaceId", &self.workspace_id, 0, 128)?;
        if let Some(language) = &self.language {
            bounded("language", language, 1, 35)?;
        }
        if let Some(email) = &self.email {
            bounded("email", email, 3, 254)?;
            if !email.contains('@') {
                return Err(field("email", "must be an e-mail address"));
            }
        }
        if let Some(space) = &self.space {
            bounded("space", space, 1, 128)?;
        } else if self.role != Role::Admin {
            return Err(field(
                "space",
                "is required: a token opens one space unless its role is admin",
            ));
        }
        check_ttl(self.ttl_secs)
            .map_err(|why| field("ttlSecs", why.replacen("`ttlSecs` ", "", 1)))?;
        Ok(())
    }
}

/// Signs HS256 tokens with the shared secret.
#[derive(Clone)]
pub struct Minter {
    key: EncodingKey,
    issuer: Option<String>,
    audience: Option<String>,
}

impl std::fmt::Debug for Minter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Minter(..)")
    }
}

impl Minter {
    /// `issuer` / `audience`: what the verifier checks, so the server's own tokens pass it.
    pub fn new(secret: &[u8], issuer: Option<String>, audience: Option<String>) -> Minter {
        Minter {
            key: EncodingKey::from_secret(secret),
            issuer,
            audience,
        }
    }

    pub fn mint(&self, request: &TokenRequest) -> Result<Issued, FieldError> {
        self.mint_at(request, now_secs())
    }

    pub fn mint_at(&self, request: &TokenRequest, now: i64) -> Result<Issued, FieldError> {
        request.check()?;
        let mut payload = Map::new();
        let mut put = |k: &str, v: Value| {
            payload.insert(k.to_owned(), v);
        };
        put("sub", json!(request.id));
        put("name", json!(request.name));
        if !request.avatar_url.is_empty() {
            put("picture", json!(request.avatar_url));
        }
        if let Some(email) = &request.email {
            put("email", json!(email));
        }
        if let Some(language) = &request.language {
            put("locale", json!(language));
        }
        if let Some(space) = &request.space {
            put("space", json!(space));
        }
        put("workspaceId", json!(request.workspace_id));
        put("isVisitor", json!(request.is_visitor));
        put("role", json!(request.role));
        put("iat", json!(now));
        put("exp", json!(now + request.ttl_secs));
        put("jti", json!(random_id()));
        if let Some(issuer) = &self.issuer {
            put("iss", json!(issuer));
        }
        if let Some(audience) = &self.audience {
            put("aud", json!(audience));
        }
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &payload, &self.key)
            .map_err(|e| field("(token)", format!("could not be signed: {e}")))?;
        let claims =
            Claims::from_payload(&payload, now).map_err(|e| field("(claims)", e.to_string()))?;
        Ok(Issued { token, claims })
    }
}

/// 16 random bytes, base64url: a `jti`, or a new data dir's secret with [`random_secret`].
pub fn random_id() -> String {
    random_b64(16)
}

/// A random secret: 32 bytes, base64url.
pub fn random_secret() -> String {
    random_b64(32)
}

fn random_b64(len: usize) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = vec![0u8; len];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}
