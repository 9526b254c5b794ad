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
}

impl AppState {
    /// The claims of a participant token, if it is ours and has not expired.
    pub fn verify_token(&self, token: &str) -> Result<Claims, TokenError> {
        self.tokens.verify(token, now_secs())
    }
}
