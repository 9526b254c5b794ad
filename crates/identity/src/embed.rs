//! The parent origins that may hand a token to an embedded page (`--embed-origin`). The page
//! compares `event.origin` with each one exactly, so each must be written the way a browser
//! writes an origin: `scheme://host[:port]`, lower case, no default port, no path, no
//! trailing slash. Anything else is refused at start, naming the flag, rather than silently
//! never matching.

/// The origin as a browser writes it, or the sentence that says why `value` is not one.
pub fn check_origin(value: &str) -> Result<String, String> {
    let refuse = |why: &str| {
        Err(format!(
            "`--embed-origin` {value:?} {why}: write an origin as a browser does, e.g. https://chat.example.com or http://127.0.0.1:3000"
        ))
    };
    let Some((scheme, rest)) = value.split_once("://") else {
        return refuse("has no scheme");
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => "443",
        "http" => "80",
        _ => return refuse("must be http:// or https://"),
    };
    if rest.is_empty() {
        return refuse("has no host");
    }
    if rest.contains(['/', '?', '#', '@']) || rest.chars().any(|c| c.is_whitespace()) {
        return refuse("must be only scheme://host[:port], without a path, query or user");
    }
    if rest == "*" || rest.contains('*') {
        return refuse("must name one origin (no wildcards)");
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !rest.ends_with(']') => (host, Some(port)),
        _ => (rest, None),
    };
    let host = host.to_ascii_lowercase();
    let valid_host = (host.starts_with('[') && host.ends_with(']'))
        || (!host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'));
    if !valid_host {
        return refuse("has an invalid host");
    }
    match port {
        None => Ok(format!("{scheme}://{host}")),
        Some(p) if p == default_port => Ok(format!("{scheme}://{host}")),
        Some(p) if p.parse::<u16>().is_ok_and(|n| n > 0) => Ok(format!("{scheme}://{host}:{p}")),
        Some(_) => refuse("has a port that is not a number from 1 to 65535"),
    }
}

#[cfg(test)]
mod tests {
    use super::check_origin;

    #[test]
    fn origins_are_written_as_browsers_write_them() {
        for (given, origin) in [
            ("https://chat.example.com", "https://chat.example.com"),
            ("https://Chat.Example.com/", "https://chat.example.com"),
            ("HTTPS://chat.example.com:443", "https://chat.example.com"),
            ("http://127.0.0.1:3000", "http://127.0.0.1:3000"),
            ("http://localhost:80", "http://localhost"),
            ("http://[::1]:8080", "http://[::1]:8080"),
        ] {
            assert_eq!(check_origin(given).as_deref(), Ok(origin), "{given}");
        }
    }

    #[test]
    fn anything_else_is_refused_naming_the_flag() {
        for (given, words) in [
            ("chat.example.com", "no scheme"),
            ("ftp://chat.example.com", "http:// or https://"),
            ("https://chat.example.com/app", "without a path"),
            (
                "https://user@chat.example.com",
                "without a path, query or user",
            ),
            ("https://*.example.com", "no wildcards"),
            ("*", "no scheme"),
            ("https://", "no host"),
            ("https://chat.example.com:99999", "port"),
            ("https://exa_mple.com", "invalid host"),
        ] {
            let why = check_origin(given).expect_err(given);
            assert!(why.starts_with("`--embed-origin`"), "{why}");
            assert!(why.contains(words), "{given}: {why}");
        }
    }
}
