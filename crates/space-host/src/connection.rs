//! Which server the host runtime connects to, and what a closed socket means for the next
//! attempt: the next URL of the page's list (a node that died is skipped; one URL behind a
//! load balancer is a list of one), a fresh token from the page when the server closed
//! with 4401 (the token expired or was revoked), or the end of the session.

use serde::Serialize;

/// The close code of a socket whose token is no longer valid (expired, revoked, refused).
pub const CLOSE_UNAUTHORIZED: u16 = 4401;

/// How many fresh tokens in a row the server may refuse (4401 before any `welcome`) before
/// the host runtime gives up: the page's callback keeps handing out bad tokens.
pub const MAX_TOKEN_REFUSALS: u32 = 3;

/// The server URLs a page may connect to, tried in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Servers {
    urls: Vec<String>,
    current: usize,
}

/// A refused list of server URLs: `field` names the entry (`servers[1]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServersError {
    pub field: String,
    pub why: String,
}

impl std::fmt::Display for ServersError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` {}", self.field, self.why)
    }
}

impl std::error::Error for ServersError {}

impl Servers {
    /// Checks every URL: `ws://` or `wss://` with a host, at most 2048 bytes; at least one.
    pub fn new(urls: Vec<String>) -> Result<Servers, ServersError> {
        if urls.is_empty() {
            return Err(ServersError {
                field: "servers".into(),
                why: "is empty: give at least one ws:// or wss:// URL".into(),
            });
        }
        for (i, url) in urls.iter().enumerate() {
            let refuse = |why: &str| ServersError {
                field: format!("servers[{i}]"),
                why: format!("{why} (got {:?})", truncated(url)),
            };
            let rest = url
                .strip_prefix("wss://")
                .or_else(|| url.strip_prefix("ws://"))
                .ok_or_else(|| refuse("must start with ws:// or wss://"))?;
            if url.len() > 2048 {
                return Err(refuse("is longer than 2048 bytes"));
            }
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            if host.is_empty() || host.contains('@') {
                return Err(refuse("must name a host, without a user name"));
            }
            if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(refuse("contains spaces or control characters"));
            }
        }
        Ok(Servers { urls, current: 0 })
    }

    /// The URL to open now.
    pub fn current(&self) -> Option<&str> {
        self.urls.get(self.current).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.urls.len()
    }

    pub fn is_empty(&self) -> bool {
        self.urls.is_empty()
    }

    /// Moves on to the next URL (wrapping around).
    pub fn rotate(&mut self) {
        if !self.urls.is_empty() {
            self.current = (self.current + 1) % self.urls.len();
        }
    }
}

fn truncated(url: &str) -> String {
    url.chars().take(80).collect()
}

/// What the glue does after a close.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "codegen", derive(ts_rs::TS))]
#[serde(tag = "next", rename_all = "camelCase")]
pub enum AfterClose {
    /// Stay closed (the page disconnected).
    Stay,
    /// Open `url` after `delayMs`.
    #[serde(rename_all = "camelCase")]
    Reconnect { url: String, delay_ms: u32 },
    /// Ask the page for a fresh token (its `refreshToken` callback, told `reason`), then
    /// call `tokenRefreshed` with what it gave.
    #[serde(rename_all = "camelCase")]
    RefreshToken { reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_naming_the_entry() {
        assert!(Servers::new(vec!["ws://127.0.0.1:8080/ws".into()]).is_ok());
        assert!(Servers::new(vec![
            "wss://a.example/ws".into(),
            "wss://b.example/ws".into()
        ])
        .is_ok());
        let err = Servers::new(vec![]).unwrap_err();
        assert_eq!(err.field, "servers");
        for (url, words) in [
            ("http://a.example/ws", "ws:// or wss://"),
            ("javascript:alert(1)", "ws:// or wss://"),
            ("ws:///ws", "must name a host"),
            ("wss://user@a.example/ws", "without a user name"),
            ("wss://a.example/w s", "spaces"),
        ] {
            let err = Servers::new(vec!["wss://ok.example/ws".into(), url.into()]).unwrap_err();
            assert_eq!(err.field, "servers[1]", "{url}");
            assert!(err.why.contains(words), "{url}: {}", err.why);
            assert!(err.to_string().starts_with("`servers[1]` "));
        }
    }

    #[test]
    fn rotation_wraps_and_a_single_url_stays() {
        let mut one = Servers::new(vec!["ws://lb.example/ws".into()]).unwrap();
        one.rotate();
        assert_eq!(one.current(), Some("ws://lb.example/ws"));
        let mut two = Servers::new(vec!["ws://a/ws".into(), "ws://b/ws".into()]).unwrap();
        assert_eq!(two.current(), Some("ws://a/ws"));
        two.rotate();
        assert_eq!(two.current(), Some("ws://b/ws"));
        two.rotate();
        assert_eq!(two.current(), Some("ws://a/ws"));
    }
}
