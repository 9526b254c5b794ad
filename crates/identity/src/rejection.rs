//! Why a token was refused: one named reason each, safe to log and to show (never the token).

/// A refused token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// No token was presented at all.
    Missing,
    /// Not three base64url parts of JSON.
    Malformed,
    /// The header names an algorithm this server does not accept for it.
    Algorithm(String),
    /// The signature does not match the key.
    BadSignature,
    /// `iss` is not the configured issuer.
    WrongIssuer,
    /// `aud` does not name the configured audience.
    WrongAudience,
    /// `exp` has passed (beyond the leeway).
    Expired,
    /// `nbf` (or `iat`) lies in the future (beyond the leeway).
    NotYetValid,
    /// Its `jti`, or every token of its subject issued before a moment, was revoked.
    Revoked,
    /// The `kid` is in no key of the JWKS, even after fetching it again.
    UnknownKid(String),
    /// The JWKS URL did not answer with a key set.
    JwksUnreachable(String),
    /// No key is configured for this kind of token (no HS256 secret, no JWKS URL).
    NoKey(&'static str),
    /// A claim is missing, of the wrong type or out of range.
    Claim { field: &'static str, why: String },
}

impl Rejection {
    /// A stable name for logs, metrics and close reasons.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Missing => "missing_token",
            Rejection::Malformed => "malformed_token",
            Rejection::Algorithm(_) => "algorithm_not_accepted",
            Rejection::BadSignature => "bad_signature",
            Rejection::WrongIssuer => "wrong_issuer",
            Rejection::WrongAudience => "wrong_audience",
            Rejection::Expired => "token_expired",
            Rejection::NotYetValid => "token_not_yet_valid",
            Rejection::Revoked => "token_revoked",
            Rejection::UnknownKid(_) => "unknown_kid",
            Rejection::JwksUnreachable(_) => "jwks_unreachable",
            Rejection::NoKey(_) => "no_key_configured",
            Rejection::Claim { .. } => "bad_claim",
        }
    }

    /// True when the identity provider (not the token) is at fault: a 503, not a 401.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Rejection::JwksUnreachable(_))
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::Missing => f.write_str(
                "no token: sign in, or pass one as `Authorization: Bearer`, `?token=` or the `token` frame",
            ),
            Rejection::Malformed => f.write_str("the token is not a JWT (three base64url parts)"),
            Rejection::Algorithm(alg) => write!(
                f,
                "the token is signed with {alg}, which this server does not accept for it (HS256 with the shared secret; RS256, ES256 or EdDSA from the JWKS)"
            ),
            Rejection::BadSignature => f.write_str("the token's signature does not match"),
            Rejection::WrongIssuer => f.write_str("the token's `iss` is not the configured issuer"),
            Rejection::WrongAudience => {
                f.write_str("the token's `aud` does not name the configured audience")
            }
            Rejection::Expired => f.write_str("the token has expired (`exp`): get a fresh one"),
            Rejection::NotYetValid => f.write_str("the token is not valid yet (`nbf`/`iat`)"),
            Rejection::Revoked => f.write_str("the token was revoked"),
            Rejection::UnknownKid(kid) => {
                write!(f, "no key with id (`kid`) {kid:?} in the identity provider's key set")
            }
            Rejection::JwksUnreachable(why) => {
                write!(f, "the identity provider's key set (JWKS) could not be fetched: {why}")
            }
            Rejection::NoKey(what) => write!(f, "this server accepts no {what} tokens"),
            Rejection::Claim { field, why } => write!(f, "claim `{field}` {why}"),
        }
    }
}

impl std::error::Error for Rejection {}
