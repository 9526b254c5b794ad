//! Who a participant is.
//!
//! Participant tokens are JWTs, verified with `jsonwebtoken`: HS256 with a shared secret (an
//! embedding application mints them for its users, and so does this server for its own
//! sessions), or RS256 / ES256 / EdDSA with keys from an identity provider's JWKS URL. The
//! claims map onto the participant plugins see ([`claims`]), each refusal has a named reason
//! that is safe to log ([`rejection`]), and [`mint`] issues the server's own HS256 tokens.

pub mod claims;
pub mod embed;
pub mod jwks;
pub mod mint;
pub mod oidc;
pub mod rejection;
pub mod role;
pub mod time;
pub mod verifier;

pub use claims::{Claims, Verified};
pub use jwks::Jwks;
pub use mint::{Issued, Minter, TokenRequest};
pub use rejection::Rejection;
pub use role::Role;
pub use verifier::{Verifier, VerifierConfig};
