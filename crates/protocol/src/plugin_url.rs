//! Which plugin URLs may become an iframe: the one policy, applied wherever a URL enters
//! (admin API, participant API, CLI, demo seed) and again by the host runtime before it
//! makes the iframe.
//!
//! Accepted: `https://host[:port]/…`; `http://` only for a loopback host (`localhost`,
//! `127.0.0.0/8`, `[::1]`) or when the operator allows plain HTTP; or a path on this server
//! (`/plugins/notes/`). Everything else (`javascript:`, `data:`, `blob:`, `//other.host`,
//! a relative path, user names in the URL, whitespace or control characters that browsers
//! strip before reading the scheme) is refused with a sentence naming the field. A space may
//! further pin absolute URLs to a list of origins.

/// The plugin URL that marks a space's floor object: no iframe, the space page itself is
/// its plugin (it broadcasts avatar positions on it).
pub const FLOOR_URL: &str = "meetbridge:floor";

/// Longest plugin URL accepted, in bytes.
pub const MAX_PLUGIN_URL_BYTES: usize = 2048;

/// What the operator and the space allow.
#[derive(Debug, Clone, Copy, Default)]
pub struct PluginUrlPolicy<'a> {
    /// Plain `http:` to hosts other than loopback (an operator flag; off by default).
    pub allow_http: bool,
    /// When non-empty, the only origins (`https://plugins.example.com`) an absolute URL may
    /// have. Paths on this server are always allowed.
    pub allowed_origins: &'a [String],
}

/// An accepted plugin URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginUrl {
    /// [`FLOOR_URL`]: the page draws it, nothing is loaded.
    Floor,
    /// A path on the server that serves the page: `/plugins/notes/`.
    SameServer,
    /// An absolute URL; its origin (`scheme://host[:port]`, lower-case, default port
    /// dropped) is what the iframe's messages will come from.
    Absolute { origin: String },
}

/// A refused plugin URL: `field` is where it was given (`pluginUrl`, `objects[2].pluginUrl`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginUrlError {
    pub field: String,
    pub why: String,
}

impl std::fmt::Display for PluginUrlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` {}", self.field, self.why)
    }
}

impl std::error::Error for PluginUrlError {}

const ACCEPTED: &str =
    "a plugin URL must be https://…, http:// on loopback, or a path on this server starting with /";

/// Checks `url` (given as `field`) against `policy`.
pub fn check_plugin_url(
    field: &str,
    url: &str,
    policy: &PluginUrlPolicy<'_>,
) -> Result<PluginUrl, PluginUrlError> {
    let refuse = |why: String| PluginUrlError {
        field: field.to_owned(),
        why,
    };
    if url == FLOOR_URL {
        return Ok(PluginUrl::Floor);
    }
    if url.is_empty() {
        return Err(refuse(format!("is empty: {ACCEPTED}")));
    }
    if url.len() > MAX_PLUGIN_URL_BYTES {
        return Err(refuse(format!(
            "is {} bytes; at most {MAX_PLUGIN_URL_BYTES} are allowed",
            url.len()
        )));
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(refuse(
            "contains spaces or control characters (encode them as %20 and the like)".into(),
        ));
    }
    if url.contains('\\') {
        return Err(refuse(
            "contains a backslash, which browsers read as /".into(),
        ));
    }
    if let Some(rest) = url.strip_prefix('/') {
        if rest.starts_with('/') {
            return Err(refuse(format!(
                "starts with // (another host without a scheme): {ACCEPTED}"
            )));
        }
        return Ok(PluginUrl::SameServer);
    }
    let Some((scheme, rest)) = url.split_once(':') else {
        return Err(refuse(format!("is a relative path: {ACCEPTED}")));
    };
    let valid_scheme = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid_scheme {
        return Err(refuse(format!("is a relative path: {ACCEPTED}")));
    }
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err(refuse(format!("uses the `{scheme}:` scheme: {ACCEPTED}")));
    }
    let Some(rest) = rest.strip_prefix("//") else {
        return Err(refuse(format!("must be {scheme}://host/…")));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(refuse("must not carry a user name or password".into()));
    }
    let (host, port) = split_host_port(authority).map_err(refuse)?;
    let host = host.to_ascii_lowercase();
    if scheme == "http" && !policy.allow_http && !is_loopback(&host) {
        return Err(refuse(format!(
            "uses plain http:// to {host}: use https://, or ask the operator to allow plain HTTP"
        )));
    }
    let default_port = if scheme == "https" { 443 } else { 80 };
    let origin = match port {
        Some(port) if port != default_port => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    };
    if !policy.allowed_origins.is_empty()
        && !policy
            .allowed_origins
            .iter()
            .any(|allowed| allowed.trim_end_matches('/').eq_ignore_ascii_case(&origin))
    {
        return Err(refuse(format!(
            "has origin {origin}, which is not in this space's allowed plugin origins ({})",
            policy.allowed_origins.join(", ")
        )));
    }
    Ok(PluginUrl::Absolute { origin })
}

/// Host and optional port of an authority; IPv6 stays bracketed.
fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority
            .find(']')
            .ok_or_else(|| "has an unclosed [ in its host".to_owned())?;
        let (host, after) = authority.split_at(end + 1);
        // An IPv6 address in full (`[::1]`, `[2001:db8::7]`): not empty, no zone.
        if host[1..host.len() - 1]
            .parse::<std::net::Ipv6Addr>()
            .is_err()
        {
            return Err(format!("has host {host:?}: not an IPv6 address"));
        }
        match after {
            "" => (host, None),
            _ => (
                host,
                Some(after.strip_prefix(':').ok_or("has text after its host")?),
            ),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("has no host".into());
    }
    if !host.starts_with('[')
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Err(format!(
            "has host {host:?}: only letters, digits, - and . (IDN hosts as xn--…)"
        ));
    }
    let port = match port {
        None | Some("") => None,
        // Digits only: `u16::from_str` also takes a sign (`:+443`), which no URL has.
        Some(port) => Some(
            Some(port)
                .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse::<u16>().ok())
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("has port {port:?}: a number from 1 to 65535"))?,
        ),
    };
    Ok((host, port))
}

/// `localhost` (and `*.localhost`), `127.0.0.0/8`, `[::1]`.
fn is_loopback(host: &str) -> bool {
    if host == "localhost" || host.ends_with(".localhost") || host == "[::1]" {
        return true;
    }
    let octets: Vec<&str> = host.split('.').collect();
    octets.len() == 4
        && octets[0] == "127"
        && octets
            .iter()
            .all(|o| !o.is_empty() && o.len() <= 3 && o.parse::<u8>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str) -> Result<PluginUrl, PluginUrlError> {
        check_plugin_url("pluginUrl", url, &PluginUrlPolicy::default())
    }

    fn origin(url: &str) -> String {
        match check(url) {
            Ok(PluginUrl::Absolute { origin }) => origin,
            other => panic!("{url}: {other:?}"),
        }
    }

    #[test]
    fn accepts_https_loopback_http_and_paths() {
        assert_eq!(check("/plugins/notes/"), Ok(PluginUrl::SameServer));
        assert_eq!(check(FLOOR_URL), Ok(PluginUrl::Floor));
        assert!(check("meetbridge:other").is_err());
        assert_eq!(
            origin("https://Plugins.Example.com/poll/?x=1#y"),
            "https://plugins.example.com"
        );
        assert_eq!(origin("https://example.com:443/"), "https://example.com");
        assert_eq!(
            origin("https://example.com:8443"),
            "https://example.com:8443"
        );
        assert_eq!(origin("http://127.0.0.1:5173/p/"), "http://127.0.0.1:5173");
        assert_eq!(origin("http://localhost/p/"), "http://localhost");
        assert_eq!(origin("http://[::1]:9000/"), "http://[::1]:9000");
        assert_eq!(origin("https://[2001:DB8::7]/"), "https://[2001:db8::7]");
        assert_eq!(
            origin("https://[::ffff:1.2.3.4]:8443/"),
            "https://[::ffff:1.2.3.4]:8443"
        );
        assert_eq!(origin("https://example.com:0443/"), "https://example.com");
        assert_eq!(origin("HTTPS://example.com/"), "https://example.com");
    }

    #[test]
    fn refuses_everything_else_naming_the_field() {
        for (url, words) in [
            ("javascript:alert(1)", "`javascript:` scheme"),
            ("JavaScript:alert(1)", "`javascript:` scheme"),
            ("data:text/html,<script>1</script>", "`data:` scheme"),
            ("blob:https://x/1", "`blob:` scheme"),
            ("vbscript:x", "`vbscript:` scheme"),
            (" javascript:alert(1)", "spaces or control"),
            ("java\tscript:alert(1)", "spaces or control"),
            ("https://ex\nample.com/", "spaces or control"),
            ("//evil.example/p", "starts with //"),
            ("/\\evil.example/p", "backslash"),
            ("plugins/notes/", "relative path"),
            ("http://example.com/", "plain http://"),
            ("http://127.0.0.1.evil.com/", "plain http://"),
            ("https://user:pw@example.com/", "user name"),
            ("https:example.com", "https://host"),
            ("https:///path", "no host"),
            ("https://exa_mple.com/", "only letters"),
            ("https://example.com:99999/", "port"),
            ("https://example.com:0/", "port"),
            ("https://example.com:+443/", "has port \"+443\""),
            ("https://example.com:-1/", "has port \"-1\""),
            ("https://example.com: 443/", "spaces or control"),
            ("https://[]/", "has host \"[]\": not an IPv6 address"),
            ("https://[:]/", "not an IPv6 address"),
            ("https://[::1%25eth0]/", "not an IPv6 address"),
            ("https://[1.2.3.4]/", "not an IPv6 address"),
            ("https://[::1]x/", "text after its host"),
            ("", "is empty"),
        ] {
            let err = check(url).expect_err(url);
            assert_eq!(err.field, "pluginUrl");
            assert!(err.why.contains(words), "{url:?}: {}", err.why);
            assert!(err.to_string().starts_with("`pluginUrl` "));
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_PLUGIN_URL_BYTES));
        assert!(check(&long).unwrap_err().why.contains("bytes"));
    }

    #[test]
    fn operator_flag_and_space_allow_list() {
        let allow_http = PluginUrlPolicy {
            allow_http: true,
            ..Default::default()
        };
        assert!(check_plugin_url("u", "http://intranet.local/p", &allow_http).is_ok());
        assert!(check_plugin_url("u", "javascript:1", &allow_http).is_err());
        let allowed = vec!["https://plugins.example.com".to_owned()];
        let pinned = PluginUrlPolicy {
            allowed_origins: &allowed,
            ..Default::default()
        };
        assert!(check_plugin_url("u", "https://plugins.example.com/a", &pinned).is_ok());
        assert!(check_plugin_url("u", "/plugins/notes/", &pinned).is_ok());
        let err = check_plugin_url(
            "objects[1].pluginUrl",
            "https://other.example.com/",
            &pinned,
        )
        .unwrap_err();
        assert_eq!(err.field, "objects[1].pluginUrl");
        assert!(err.why.contains("allowed plugin origins"));
    }
}
