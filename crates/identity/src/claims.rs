//! The claims of a participant token and how they map onto the participant plugins see.
//!
//! | claim | participant | notes |
//! |---|---|---|
//! | `sub` | `id` | required, 1 to 128 bytes |
//! | `name` | `name` | else `preferred_username`, else `email`, else `sub` |
//! | `picture` | `avatarUrl` | |
//! | `email` | `email` | given to plugins only where the object allows it |
//! | `locale` | `language` | |
//! | `workspaceId` | `workspaceId` | string or number, default `"default"` |
//! | `isVisitor` | `isVisitor` | also true for role `visitor` |
//! | `space` | | the one space the token opens |
//! | `role` | | `admin`, `owner`, `member` (default) or `visitor` |
//! | `exp`, `nbf`, `iat`, `jti` | | `exp` required; times within year 9999 |

use meetbridge_protocol::bridge::Identity;
use meetbridge_protocol::ovice::{StringOrNumber, UserId};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::rejection::Rejection;
use crate::role::Role;
use crate::time::{LEEWAY_SECS, MAX_TIME};

/// What a verified token asserts, checked field by field.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    pub sub: String,
    pub name: String,
    pub picture: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub space: Option<String>,
    pub workspace_id: StringOrNumber,
    pub is_visitor: bool,
    pub role: Role,
    pub exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
}

/// A token that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    pub claims: Claims,
    /// `hs256` or the JWKS key id: which key vouched for it (for logs).
    pub key: String,
    /// An ID token's `nonce`, for the sign-in that asked for it.
    pub nonce: Option<String>,
    /// The verified payload as sent, for claims read elsewhere (OpenID Connect's userinfo).
    pub payload: Map<String, Value>,
}

impl Claims {
    /// The participant as plugins see them.
    pub fn participant(&self) -> Identity {
        Identity {
            id: UserId::Text(self.sub.clone()),
            name: self.name.clone(),
            avatar_url: self.picture.clone(),
            workspace_id: self.workspace_id.clone(),
            language: self.locale.clone(),
            email: self.email.clone(),
            is_visitor: self.is_visitor,
        }
    }

    /// True when the token may act in `space`: scoped to it, or an unscoped admin.
    pub fn opens_space(&self, space: &str) -> bool {
        match &self.space {
            Some(scoped) => scoped == space,
            None => self.role == Role::Admin,
        }
    }

    /// Checks the decoded payload of a token whose signature was verified.
    pub fn from_payload(payload: &Map<String, Value>, now: i64) -> Result<Claims, Rejection> {
        let sub = text(payload, "sub", 128)?.ok_or_else(|| claim("sub", "is required"))?;
        if sub.trim().is_empty() {
            return Err(claim("sub", "must not be empty"));
        }
        let name = match text(payload, "name", 128)? {
            Some(name) if !name.trim().is_empty() => name,
            _ => text(payload, "preferred_username", 128)?
                .or(text(payload, "email", 254)?)
                .unwrap_or_else(|| sub.clone()),
        };
        let role = match text(payload, "role", 16)? {
            None => Role::Member,
            Some(role) => Role::parse(&role)
                .ok_or_else(|| claim("role", format!("must be {}, not {role:?}", Role::NAMES)))?,
        };
        let is_visitor = match payload.get("isVisitor") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(claim("isVisitor", "must be true or false")),
        } || role == Role::Visitor;
        let workspace_id = match payload.get("workspaceId") {
            None | Some(Value::Null) => StringOrNumber::Text("default".into()),
            Some(Value::String(s)) if s.len() <= 128 => StringOrNumber::Text(s.clone()),
            Some(Value::Number(n)) => StringOrNumber::Number(n.clone()),
            Some(_) => {
                return Err(claim(
                    "workspaceId",
                    "must be a string of at most 128 bytes or a number",
                ))
            }
        };
        let exp = time(payload, "exp")?.ok_or_else(|| claim("exp", "is required"))?;
        let iat = time(payload, "iat")?;
        let nbf = time(payload, "nbf")?;
        let leeway = LEEWAY_SECS as i64;
        if exp + leeway <= now {
            return Err(Rejection::Expired);
        }
        if nbf.is_some_and(|nbf| nbf > now + leeway) || iat.is_some_and(|iat| iat > now + leeway) {
            return Err(Rejection::NotYetValid);
        }
        Ok(Claims {
            sub,
            name,
            picture: text(payload, "picture", 2048)?.unwrap_or_default(),
            email: text(payload, "email", 254)?,
            locale: text(payload, "locale", 35)?,
            space: text(payload, "space", 128)?,
            workspace_id,
            is_visitor,
            role,
            exp,
            iat,
            jti: text(payload, "jti", 128)?,
            iss: text(payload, "iss", 2048)?,
        })
    }
}

fn claim(field: &'static str, why: impl Into<String>) -> Rejection {
    Rejection::Claim {
        field,
        why: why.into(),
    }
}

/// An optional string claim of at most `max` bytes.
fn text(
    payload: &Map<String, Value>,
    field: &'static str,
    max: usize,
) -> Result<Option<String>, Rejection> {
    match payload.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() <= max => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(claim(field, format!("must be at most {max} bytes"))),
        Some(_) => Err(claim(field, "must be a string")),
    }
}

/// An optional time claim: whole seconds since the epoch, between 0 and the year 9999.
fn time(payload: &Map<String, Value>, field: &'static str) -> Result<Option<i64>, Rejection> {
    match payload.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(t) if (0..=MAX_TIME).contains(&t) => Ok(Some(t)),
            _ => Err(claim(
                field,
                format!("must be whole seconds since 1970 between 0 and {MAX_TIME}"),
            )),
        },
        Some(_) => Err(claim(field, "must be a number of seconds since 1970")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn maps_claims_onto_the_participant() {
        let claims = Claims::from_payload(
            &map(json!({"sub": "u1", "name": "Ann", "picture": "https://x/a.png", "email": "a@x",
                "locale": "ja", "space": "s1", "workspaceId": 987, "role": "owner", "exp": 2000, "jti": "j1"})),
            1000,
        )
        .unwrap();
        let p = claims.participant();
        assert_eq!(p.id, UserId::Text("u1".into()));
        assert_eq!(p.name, "Ann");
        assert_eq!(p.avatar_url, "https://x/a.png");
        assert_eq!(p.language.as_deref(), Some("ja"));
        assert_eq!(p.email.as_deref(), Some("a@x"));
        assert_eq!(serde_json::to_value(&p.workspace_id).unwrap(), json!(987));
        assert!(!p.is_visitor);
        assert_eq!(claims.role, Role::Owner);
        assert!(claims.opens_space("s1") && !claims.opens_space("s2"));
    }

    #[test]
    fn defaults_and_fallbacks() {
        let c = Claims::from_payload(
            &map(json!({"sub": "u", "preferred_username": "ann", "exp": 2000})),
            1000,
        )
        .unwrap();
        assert_eq!((c.name.as_str(), c.role), ("ann", Role::Member));
        assert_eq!(c.workspace_id, StringOrNumber::Text("default".into()));
        // No space scope: only an admin opens every space.
        assert!(!c.opens_space("any"));
        let admin = Claims::from_payload(
            &map(json!({"sub": "u", "role": "admin", "exp": 2000})),
            1000,
        )
        .unwrap();
        assert!(admin.opens_space("any"));
        let visitor = Claims::from_payload(
            &map(json!({"sub": "u", "role": "visitor", "exp": 2000})),
            1000,
        )
        .unwrap();
        assert!(visitor.participant().is_visitor);
    }

    #[test]
    fn refusals_name_the_field() {
        let cases = [
            (json!({"exp": 2000}), "sub"),
            (json!({"sub": "u"}), "exp"),
            (json!({"sub": "u", "exp": 1e300}), "exp"),
            (json!({"sub": "u", "exp": -5}), "exp"),
            (
                json!({"sub": "u", "exp": 2000, "iat": 99_999_999_999_999i64}),
                "iat",
            ),
            (json!({"sub": "u", "exp": "soon"}), "exp"),
            (json!({"sub": "u", "exp": 2000, "role": "root"}), "role"),
            (
                json!({"sub": "u", "exp": 2000, "isVisitor": "yes"}),
                "isVisitor",
            ),
            (
                json!({"sub": "u", "exp": 2000, "name": "x".repeat(129)}),
                "name",
            ),
            (json!({"sub": 5, "exp": 2000}), "sub"),
        ];
        for (payload, field) in cases {
            match Claims::from_payload(&map(payload.clone()), 1000) {
                Err(Rejection::Claim { field: f, .. }) => assert_eq!(f, field, "{payload}"),
                other => panic!("{payload}: {other:?}"),
            }
        }
    }

    #[test]
    fn times_with_leeway() {
        let at = |exp: i64, nbf: i64| {
            Claims::from_payload(&map(json!({"sub": "u", "exp": exp, "nbf": nbf})), 1000)
        };
        assert!(at(1000 - LEEWAY_SECS as i64 + 1, 0).is_ok());
        assert_eq!(at(1000 - LEEWAY_SECS as i64, 0), Err(Rejection::Expired));
        assert!(at(5000, 1000 + LEEWAY_SECS as i64).is_ok());
        assert_eq!(
            at(5000, 1001 + LEEWAY_SECS as i64),
            Err(Rejection::NotYetValid)
        );
    }
}
