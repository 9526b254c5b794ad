//! What every handler gets, explicitly: the object registry (with the store and the
//! metrics), the token key, the admin key, demo mode, and the shutdown signal.

use std::sync::Arc;

use tokio::sync::watch;

use crate::auth::token::{now_secs, Claims, TokenError, TokenKey};
use crate::hub::Hub;

#[derive(Clone)]
pub struct AppState {
    pub hub: Arc<Hub>,
    pub tokens: TokenKey,
    pub admin_key: Arc<str>,
    /// Demo mode: the dev-only login is on.
    pub dev_login: bool,
    pub demo_space: Option<String>,
    pub shutdown: watch::Receiver<bool>,
    /// Page origins allowed to open `/ws` (empty: any).
    pub allowed_origins: Arc<[String]>,
    /// What `/metrics` needs: open, a key, or not here at all (another address).
    pub metrics_access: MetricsAccess,
}

/// Who may read `/metrics` on the main address.
#[derive(Clone)]
pub enum MetricsAccess {
    Open,
    Key(Arc<str>),
    /// Served on `--metrics-listen` instead.
    Elsewhere,
}

impl AppState {
    /// Whether a browser page of `origin` may open `/ws`.
    pub fn origin_allowed(&self, origin: &str) -> bool {
        let origin = origin.trim_end_matches('/');
        self.allowed_origins.is_empty()
            || self
                .allowed_origins
                .iter()
                .any(|o| o.trim_end_matches('/').eq_ignore_ascii_case(origin))
    }

    /// The claims of a participant token, if it is ours and has not expired.
    pub fn verify_token(&self, token: &str) -> Result<Claims, TokenError> {
        self.tokens.verify(token, now_secs())
    }
}
