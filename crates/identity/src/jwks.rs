//! An identity provider's signing keys, fetched from its JWKS URL and cached.
//!
//! Keys are fetched on first use, again when they are older than `max_age` (and by
//! [`Jwks::spawn_refresh`] on that schedule), and again when a token names a `kid` the
//! cache does not hold (rotation), at most once per `min_refetch` so a flood of made-up
//! `kid`s cannot turn into a flood of requests. When a refresh fails the keys already held
//! keep working; with no keys at all the token is refused as `jwks_unreachable`.

use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use crate::rejection::Rejection;

/// The algorithms a JWKS key may verify.
pub const ASYMMETRIC: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

/// A public key of the set.
pub struct Key {
    pub kid: Option<String>,
    /// The `alg` the key is pinned to, when the set says.
    pub alg: Option<Algorithm>,
    pub decoding: DecodingKey,
}

#[derive(Default)]
struct KeySet {
    keys: Vec<Arc<Key>>,
    fetched: Option<Instant>,
    attempted: Option<Instant>,
}

/// A cached JWKS.
pub struct Jwks {
    url: String,
    client: reqwest::Client,
    set: RwLock<KeySet>,
    fetching: tokio::sync::Mutex<()>,
    min_refetch: Duration,
    max_age: Duration,
}

impl Jwks {
    /// `max_age`: refresh schedule; `min_refetch`: least time between two fetches caused by
    /// unknown `kid`s.
    pub fn new(url: impl Into<String>, max_age: Duration, min_refetch: Duration) -> Jwks {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(3))
            .build()
            .unwrap_or_default();
        Jwks {
            url: url.into(),
            client,
            set: RwLock::new(KeySet::default()),
            fetching: tokio::sync::Mutex::new(()),
            min_refetch,
            max_age,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// How many keys are held.
    pub fn len(&self) -> usize {
        self.read().keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, KeySet> {
        self.set.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The key that verifies a token with this header.
    pub async fn key(&self, kid: Option<&str>, alg: Algorithm) -> Result<Arc<Key>, Rejection> {
        let stale = {
            let set = self.read();
            set.fetched.is_none_or(|at| at.elapsed() >= self.max_age)
        };
        if stale {
            if let Err(why) = self.refresh().await {
                if self.is_empty() {
                    return Err(Rejection::JwksUnreachable(why));
                }
                tracing::warn!(url = %self.url, %why, "JWKS refresh failed; keeping the keys held");
            }
        }
        if let Some(key) = self.find(kid, alg) {
            return Ok(key);
        }
        let may_refetch = self
            .read()
            .attempted
            .is_none_or(|at| at.elapsed() >= self.min_refetch);
        if may_refetch {
            if let Err(why) = self.refresh().await {
                return Err(Rejection::JwksUnreachable(why));
            }
            if let Some(key) = self.find(kid, alg) {
                return Ok(key);
            }
        }
        Err(Rejection::UnknownKid(kid.unwrap_or("(none)").to_owned()))
    }

    fn find(&self, kid: Option<&str>, alg: Algorithm) -> Option<Arc<Key>> {
        let set = self.read();
        let fits = |key: &&Arc<Key>| {
            key.alg.is_none_or(|a| a == alg) && key.decoding.family() == alg.family()
        };
        match kid {
            Some(kid) => set
                .keys
                .iter()
                .filter(fits)
                .find(|key| key.kid.as_deref() == Some(kid))
                .cloned(),
            // No `kid`: only unambiguous when the set holds one key for the algorithm.
            None => {
                let mut candidates = set.keys.iter().filter(fits);
                let first = candidates.next()?;
                candidates.next().is_none().then(|| first.clone())
            }
        }
    }

    /// Fetches the set now (one fetch at a time; a caller that waited for another's fetch
    /// uses its result).
    pub async fn refresh(&self) -> Result<usize, String> {
        let asked = Instant::now();
        let _one = self.fetching.lock().await;
        if self.read().attempted.is_some_and(|at| at >= asked) {
            return Ok(self.len());
        }
        let result = self.fetch().await;
        let mut set = self.set.write().unwrap_or_else(|e| e.into_inner());
        set.attempted = Some(Instant::now());
        match result {
            Ok(keys) => {
                let count = keys.len();
                tracing::info!(url = %self.url, keys = count, "JWKS fetched");
                set.keys = keys;
                set.fetched = Some(Instant::now());
                Ok(count)
            }
            Err(why) => {
                tracing::warn!(url = %self.url, %why, "JWKS fetch failed");
                Err(why)
            }
        }
    }

    async fn fetch(&self) -> Result<Vec<Arc<Key>>, String> {
        let response = self
            .client
            .get(&self.url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| format!("{} did not answer ({})", self.url, without_url(&e)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("{} answered HTTP {status}", self.url));
        }
        let body: Value = response
            .json()
            .await
            .map_err(|e| format!("{} did not answer JSON ({})", self.url, without_url(&e)))?;
        let entries = body
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{} answered no `keys` array", self.url))?;
        Ok(entries.iter().filter_map(parse_key).map(Arc::new).collect())
    }

    /// Refreshes every `max_age` until the set is dropped.
    pub fn spawn_refresh(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let weak: Weak<Jwks> = Arc::downgrade(self);
        let every = self.max_age;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(jwks) = weak.upgrade() else { return };
                let _ = jwks.refresh().await;
            }
        })
    }
}

/// One key of the set, or `None` (logged) for keys that cannot verify our algorithms.
fn parse_key(entry: &Value) -> Option<Key> {
    let jwk: Jwk = match serde_json::from_value(entry.clone()) {
        Ok(jwk) => jwk,
        Err(_) => {
            tracing::debug!("JWKS entry skipped: not a key type this server verifies");
            return None;
        }
    };
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return None;
    }
    let alg = match jwk.common.key_algorithm {
        None => None,
        Some(KeyAlgorithm::RS256) => Some(Algorithm::RS256),
        Some(KeyAlgorithm::ES256) => Some(Algorithm::ES256),
        Some(KeyAlgorithm::EdDSA) => Some(Algorithm::EdDSA),
        Some(_) => return None,
    };
    let decoding = DecodingKey::from_jwk(&jwk).ok()?;
    Some(Key {
        kid: jwk.common.key_id.clone(),
        alg,
        decoding,
    })
}

/// reqwest errors print the URL; ours already names it once.
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(&format!(" ({url})"), "");
    }
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection refused or unreachable".into()
    } else {
        text
    }
}
