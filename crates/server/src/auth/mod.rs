//! Who is calling, read once: the bearer token of a request, the token a browser passes
//! as a WebSocket subprotocol, the admin key, and whether a token scoped to a space may
//! open something in another. [`token`] signs and verifies participant tokens; the data
//! dir's secrets are made here once ([`secret_in`]).

pub mod revocation;
pub mod token;

use std::path::Path;

use anyhow::Context;
use axum::http::{header, HeaderMap, HeaderValue};

/// The subprotocol a browser offers beside its token: `new WebSocket(url, ["meetbridge", token])`.
pub const SUBPROTOCOL: &str = "meetbridge";

/// The token of `Authorization: Bearer <token>`, if the request has one.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// The subprotocols a WebSocket handshake offers, one per entry (headers may repeat and
/// hold comma-separated lists).
pub fn offered_protocols<'a>(headers: impl Iterator<Item = &'a HeaderValue>) -> Vec<String> {
    headers
        .filter_map(|p| p.to_str().ok())
        .flat_map(|p| p.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The token among offered subprotocols: the one with a dot (tokens have one, the
/// protocol name has none).
pub fn token_in_protocols(offered: &[String]) -> Option<&str> {
    offered.iter().find(|p| p.contains('.')).map(String::as_str)
}

/// The admin key of a request (`Authorization: Bearer <key>` or `X-Admin-Key`) compared
/// with `expected` in constant time.
pub fn is_admin(headers: &HeaderMap, expected: &str) -> bool {
    let given = bearer(headers)
        .or_else(|| headers.get("x-admin-key").and_then(|v| v.to_str().ok()))
        .unwrap_or("");
    let expected = expected.as_bytes();
    given.len() == expected.len()
        && given
            .as_bytes()
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Whether a token scoped to `scope` may open what is in `space`. A token without a scope
/// opens every space only when its role is admin.
pub fn space_allows(scope: Option<&str>, role: token::Role, space: &str) -> bool {
    match scope {
        Some(scope) => scope == space,
        None => role == token::Role::Admin,
    }
}

/// Reads `<dir>/<file>`, or writes a new random secret there (mode 0600) and returns it;
/// a non-empty `given` wins. The server and the offline commands agree this way.
pub fn secret_in(dir: &Path, file: &str, given: Option<&str>) -> anyhow::Result<String> {
    if let Some(given) = given.filter(|s| !s.is_empty()) {
        return Ok(given.to_owned());
    }
    let path = dir.join(file);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim();
        if !existing.is_empty() {
            return Ok(existing.to_owned());
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let secret = token::random_secret();
    std::fs::write(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_found_where_clients_put_them() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "Bearer a.b".parse().unwrap());
        assert_eq!(bearer(&headers), Some("a.b"));
        assert!(is_admin(&headers, "a.b"));
        assert!(!is_admin(&headers, "a.c"));
        let values = [
            HeaderValue::from_static("meetbridge, x.y"),
            HeaderValue::from_static(" ,z"),
        ];
        let offered = offered_protocols(values.iter());
        assert_eq!(offered, ["meetbridge", "x.y", "z"]);
        assert_eq!(token_in_protocols(&offered), Some("x.y"));
        use token::Role;
        assert!(space_allows(None, Role::Admin, "s") && space_allows(Some("s"), Role::Member, "s"));
        assert!(!space_allows(Some("t"), Role::Admin, "s"));
        assert!(
            !space_allows(None, Role::Member, "s"),
            "no scope, no admin: no space"
        );
    }
}
