//! What every handler gets, explicitly: the object registry (with the store and the
//! metrics), the participant tokens, the admin key, sign-in, demo mode, and the shutdown
//! signal.

use std::sync::Arc;

use meetbridge_identity::oidc::Oidc;
use meetbridge_protocol::plugin_url::PluginUrlPolicy;
use tokio::sync::watch;

use crate::auth::token::{Claims, Rejection, Tokens};
use crate::hub::Hub;

#[derive(Clone)]
pub struct AppState {
    pub hub: Arc<Hub>,
    pub tokens: Arc<Tokens>,
    pub admin_key: Arc<str>,
    /// OpenID Connect sign-in, when an issuer is configured.
    pub oidc: Option<Arc<Oidc>>,
    /// Parent origins that may hand a token to an embedded page (checked at start, written
    /// as browsers write `event.origin`).
    pub embed_origins: Arc<[String]>,
    /// The WebSocket URLs pages try in order (`--ws-url`); empty: this server's `/ws`.
    pub ws_urls: Arc<[String]>,
    /// Plain `http:` plugin URLs beyond loopback.
    pub allow_http_plugins: bool,
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

    /// The claims of a valid, unrevoked participant token.
    pub async fn verify_token(&self, token: &str) -> Result<Claims, Rejection> {
        self.tokens.verify(token).await
    }

    /// The plugin URL policy of the operator's flags.
    pub fn plugin_policy(&self) -> PluginUrlPolicy<'static> {
        PluginUrlPolicy {
            allow_http: self.allow_http_plugins,
            allowed_origins: &[],
        }
    }
}
