//! What the tests that run the real `meetbridge` binary share: the address a
//! `serve --print-addr` child prints, and a member's token signed with its secret.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::Child;

use meetbridge_identity::Minter;
use meetbridge_server::auth::token::{Role, TokenRequest};

/// The address on the first line of `child`'s stdout (`listening on <addr>`), or that
/// line when it says something else (the server did not start).
pub fn printed_addr(child: &mut Child) -> Result<SocketAddr, String> {
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    match line.trim().strip_prefix("listening on ") {
        Some(addr) => Ok(addr.parse().unwrap()),
        None => Err(line),
    }
}

/// A member's token for space "s", signed with `secret` (the server's `--token-secret`).
pub fn member_token(secret: &str, id: &str) -> String {
    let request = TokenRequest {
        id: id.into(),
        name: id.into(),
        avatar_url: String::new(),
        workspace_id: "w".into(),
        language: None,
        email: None,
        is_visitor: false,
        space: Some("s".into()),
        role: Role::Member,
        ttl_secs: 3600,
    };
    Minter::new(secret.as_bytes(), None, None)
        .mint(&request)
        .unwrap()
        .token
}
