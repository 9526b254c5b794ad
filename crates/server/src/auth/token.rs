//! Participant tokens as the server uses them: one [`Verifier`] (the HS256 shared secret,
//! and an identity provider's JWKS when configured), one [`Minter`] with the same secret for
//! the server's own tokens, and the [`Revocations`] checked on top. Every refusal is logged
//! with its reason and never with the token.

use std::sync::Arc;

pub use meetbridge_identity::mint::{
    random_secret, FieldError, Issued as IssuedToken, TokenRequest,
};
pub use meetbridge_identity::time::now_secs;
use meetbridge_identity::time::LEEWAY_SECS;
pub use meetbridge_identity::{Claims, Rejection, Role};
use meetbridge_identity::{Minter, Verifier, VerifierConfig};

use super::revocation::Revocations;

/// Where keys come from and what tokens must say (`serve` flags).
#[derive(Debug, Clone, Default)]
pub struct TokenConfig {
    /// The HS256 shared secret (`--jwt-hs256-secret`, else generated into the data dir).
    pub hs256_secret: String,
    pub jwks_url: Option<String>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
}

/// Verifies, mints and revokes participant tokens.
pub struct Tokens {
    verifier: Verifier,
    minter: Minter,
    pub revocations: Arc<Revocations>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("verifier", &self.verifier)
            .finish()
    }
}

impl Tokens {
    pub fn new(config: TokenConfig, revocations: Arc<Revocations>) -> Tokens {
        let verifier = Verifier::new(VerifierConfig {
            hs256_secret: Some(config.hs256_secret.as_bytes().to_vec()),
            jwks_url: config.jwks_url,
            issuer: config.issuer.clone(),
            audience: config.audience.iter().cloned().collect(),
            ..Default::default()
        });
        Tokens {
            verifier,
            minter: Minter::new(
                config.hs256_secret.as_bytes(),
                config.issuer,
                config.audience,
            ),
            revocations,
        }
    }

    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The claims of a valid, unrevoked token; a refusal is logged with its reason.
    pub async fn verify(&self, token: &str) -> Result<Claims, Rejection> {
        let result = match self.verifier.verify(token).await {
            Ok(verified) if self.revocations.is_revoked(&verified.claims) => {
                Err((Rejection::Revoked, Some(verified.claims.sub)))
            }
            Ok(verified) => Ok(verified.claims),
            Err(rejection) => Err((rejection, None)),
        };
        result.map_err(|(rejection, sub)| {
            tracing::info!(
                reason = rejection.code(),
                sub = sub.as_deref().unwrap_or("-"),
                "token refused: {rejection}"
            );
            rejection
        })
    }

    /// Whether claims that were valid still are: not expired, not revoked since.
    pub fn still_valid(&self, claims: &Claims) -> Result<(), Rejection> {
        if claims.exp + LEEWAY_SECS as i64 <= now_secs() {
            return Err(Rejection::Expired);
        }
        if self.revocations.is_revoked(claims) {
            return Err(Rejection::Revoked);
        }
        Ok(())
    }

    /// An HS256 token the verifier accepts.
    pub fn mint(&self, request: &TokenRequest) -> Result<IssuedToken, FieldError> {
        self.minter.mint(request)
    }

    /// When an open socket's token stops being valid (its `exp` plus the leeway).
    pub fn expires_in(claims: &Claims) -> std::time::Duration {
        let left = claims.exp + LEEWAY_SECS as i64 - now_secs();
        std::time::Duration::from_secs(left.max(0) as u64)
    }
}
