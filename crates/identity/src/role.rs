//! The four roles a token can carry.

use serde::{Deserialize, Serialize};

/// What a participant may do beyond joining objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A guest: joins what they are invited to, never creates.
    Visitor,
    /// The default.
    Member,
    /// Owns the space the token is scoped to: manages its objects.
    Owner,
    /// Server administrator: every space, every object, revocation.
    Admin,
}

impl Role {
    pub const NAMES: &'static str = "admin, owner, member or visitor";

    pub fn parse(text: &str) -> Option<Role> {
        Some(match text {
            "admin" => Role::Admin,
            "owner" => Role::Owner,
            "member" => Role::Member,
            "visitor" => Role::Visitor,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Owner => "owner",
            Role::Member => "member",
            Role::Visitor => "visitor",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::parse(s).ok_or_else(|| format!("role must be {}, not {s:?}", Role::NAMES))
    }
}
