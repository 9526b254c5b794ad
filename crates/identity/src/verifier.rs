//! Verifies a participant token: picks the key by the header's `alg` (HS256: the shared
//! secret; RS256 / ES256 / EdDSA: the JWKS), lets `jsonwebtoken` check the signature, `iss`
//! and `aud`, then checks times and claims itself ([`Claims::from_payload`]).

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::claims::{Claims, Verified};
use crate::jwks::{Jwks, ASYMMETRIC};
use crate::rejection::Rejection;
use crate::time::now_secs;

/// Where keys come from and what the tokens must say.
#[derive(Debug, Clone, Default)]
pub struct VerifierConfig {
    /// HS256 shared secret.
    pub hs256_secret: Option<Vec<u8>>,
    /// An identity provider's key set.
    pub jwks_url: Option<String>,
    /// When set, `iss` must equal it.
    pub issuer: Option<String>,
    /// When non-empty, `aud` must name one of these.
    pub audience: Vec<String>,
    /// How often the JWKS is fetched again (default 10 minutes).
    pub jwks_max_age: Option<Duration>,
    /// Least time between two fetches caused by unknown `kid`s (default 10 seconds).
    pub jwks_min_refetch: Option<Duration>,
}

/// Checks tokens against one configuration.
#[derive(Clone)]
pub struct Verifier {
    hs256: Option<DecodingKey>,
    jwks: Option<Arc<Jwks>>,
    issuer: Option<String>,
    audience: Vec<String>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("hs256", &self.hs256.is_some())
            .field("jwks", &self.jwks.as_ref().map(|j| j.url().to_owned()))
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

impl Verifier {
    pub fn new(config: VerifierConfig) -> Verifier {
        let jwks = config.jwks_url.map(|url| {
            Arc::new(Jwks::new(
                url,
                config.jwks_max_age.unwrap_or(Duration::from_secs(600)),
                config.jwks_min_refetch.unwrap_or(Duration::from_secs(10)),
            ))
        });
        Verifier {
            hs256: config
                .hs256_secret
                .map(|secret| DecodingKey::from_secret(&secret)),
            jwks,
            issuer: config.issuer,
            audience: config.audience,
        }
    }

    /// The JWKS, for [`Jwks::spawn_refresh`] and for status pages.
    pub fn jwks(&self) -> Option<&Arc<Jwks>> {
        self.jwks.as_ref()
    }

    pub async fn verify(&self, token: &str) -> Result<Verified, Rejection> {
        self.verify_at(token, now_secs()).await
    }

    /// [`Verifier::verify`] at a given time (seconds since the epoch).
    pub async fn verify_at(&self, token: &str, now: i64) -> Result<Verified, Rejection> {
        let token = token.trim();
        if token.is_empty() {
            return Err(Rejection::Missing);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|e| match e.kind() {
            ErrorKind::InvalidAlgorithmName => Rejection::Algorithm("an unknown algorithm".into()),
            _ => Rejection::Malformed,
        })?;
        let (key, key_name): (DecodingKey, String) = match header.alg {
            Algorithm::HS256 => match &self.hs256 {
                Some(key) => (key.clone(), "hs256".into()),
                None => return Err(Rejection::NoKey("HS256 (no shared secret configured)")),
            },
            alg if ASYMMETRIC.contains(&alg) => match &self.jwks {
                Some(jwks) => {
                    let key = jwks.key(header.kid.as_deref(), alg).await?;
                    let name = key.kid.clone().unwrap_or_else(|| "jwks".into());
                    (key.decoding.clone(), name)
                }
                None => {
                    return Err(Rejection::NoKey(
                        "RS256/ES256/EdDSA (no JWKS URL configured)",
                    ))
                }
            },
            alg => return Err(Rejection::Algorithm(format!("{alg:?}"))),
        };
        let mut validation = Validation::new(header.alg);
        // Times are checked in `Claims::from_payload` against `now`, with one leeway.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let mut required = Vec::new();
        if let Some(issuer) = &self.issuer {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        if self.audience.is_empty() {
            validation.validate_aud = false;
        } else {
            validation.set_audience(&self.audience);
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        let data =
            jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation).map_err(|e| {
                match e.into_kind() {
                    ErrorKind::InvalidSignature => Rejection::BadSignature,
                    ErrorKind::InvalidIssuer => Rejection::WrongIssuer,
                    ErrorKind::InvalidAudience => Rejection::WrongAudience,
                    ErrorKind::MissingRequiredClaim(c) if c == "iss" => Rejection::WrongIssuer,
                    ErrorKind::MissingRequiredClaim(c) if c == "aud" => Rejection::WrongAudience,
                    ErrorKind::InvalidAlgorithm => {
                        Rejection::Algorithm(format!("{:?}", header.alg))
                    }
                    ErrorKind::Json(_) => Rejection::Claim {
                        field: "(payload)",
                        why: "is not a JSON object".into(),
                    },
                    _ => Rejection::Malformed,
                }
            })?;
        let claims = Claims::from_payload(&data.claims, now)?;
        let nonce = data
            .claims
            .get("nonce")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok(Verified {
            claims,
            key: key_name,
            nonce,
            payload: data.claims,
        })
    }
}
