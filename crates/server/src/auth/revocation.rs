//! The revocation list, mirrored in memory from the store so every check is a map lookup:
//! a token by its `jti`, or every token of a user (`sub`) issued at or before a moment (a
//! token without `iat` counts as issued before). Open sockets watch [`Revocations::changed`]
//! and close when their token is hit.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

use meetbridge_identity::Claims;
use tokio::sync::watch;

use crate::store::{Revocation, RevocationKind};

pub struct Revocations {
    by: RwLock<HashMap<(RevocationKind, String), Revocation>>,
    changed: watch::Sender<u64>,
    /// The claims of every open socket, by connection id, so a revocation can say how many
    /// it closes.
    open: Mutex<HashMap<u64, Claims>>,
}

impl Revocations {
    pub fn new(list: Vec<Revocation>) -> Revocations {
        let revocations = Revocations {
            by: RwLock::default(),
            changed: watch::channel(0).0,
            open: Mutex::default(),
        };
        revocations.replace(list);
        revocations
    }

    pub fn is_revoked(&self, claims: &Claims) -> bool {
        let by = self.by.read().unwrap_or_else(|e| e.into_inner());
        if let Some(jti) = &claims.jti {
            if by.contains_key(&(RevocationKind::Jti, jti.clone())) {
                return true;
            }
        }
        by.get(&(RevocationKind::Sub, claims.sub.clone()))
            .is_some_and(|r| claims.iat.is_none_or(|iat| iat <= r.at))
    }

    /// Adds one (already stored) and tells the open sockets; returns how many of them it
    /// closes.
    pub fn add(&self, revocation: Revocation) -> usize {
        let mut by = self.by.write().unwrap_or_else(|e| e.into_inner());
        let key = (revocation.kind, revocation.value.clone());
        let keep = by.get(&key).is_some_and(|old| old.at >= revocation.at);
        if !keep {
            by.insert(key, revocation);
        }
        drop(by);
        let hit = {
            let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            open.values()
                .filter(|claims| self.is_revoked(claims))
                .count()
        };
        self.changed.send_modify(|n| *n += 1);
        hit
    }

    /// Replaces the mirror with the store's list (another server of a cluster may have
    /// revoked something); tells the sockets when it changed.
    pub fn replace(&self, list: Vec<Revocation>) {
        let fresh: HashMap<_, _> = list
            .into_iter()
            .map(|r| ((r.kind, r.value.clone()), r))
            .collect();
        let mut by = self.by.write().unwrap_or_else(|e| e.into_inner());
        if *by != fresh {
            *by = fresh;
            drop(by);
            self.changed.send_modify(|n| *n += 1);
        }
    }

    pub fn list(&self) -> Vec<Revocation> {
        let by = self.by.read().unwrap_or_else(|e| e.into_inner());
        let mut list: Vec<_> = by.values().cloned().collect();
        list.sort_by(|a, b| (a.at, &a.value).cmp(&(b.at, &b.value)));
        list
    }

    /// An open socket and its token's claims, until [`Revocations::closed`].
    pub fn opened(&self, conn: u64, claims: &Claims) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.insert(conn, claims.clone());
    }

    pub fn closed(&self, conn: u64) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.remove(&conn);
    }

    /// Changes whenever the list does.
    pub fn changed(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meetbridge_identity::{Minter, TokenRequest};

    fn claims(sub: &str) -> Claims {
        let request: TokenRequest =
            serde_json::from_value(serde_json::json!({"id": sub, "name": sub, "space": "s"}))
                .unwrap();
        Minter::new(b"k", None, None)
            .mint_at(&request, 1_000)
            .unwrap()
            .claims
    }

    #[test]
    fn by_token_id_and_by_user_up_to_a_moment() {
        let list = Revocations::new(vec![]);
        let mut seen = list.changed();
        let a = claims("a");
        assert!(!list.is_revoked(&a));
        list.add(Revocation {
            kind: RevocationKind::Jti,
            value: a.jti.clone().unwrap(),
            at: 2_000,
            reason: String::new(),
        });
        assert!(list.is_revoked(&a));
        assert!(seen.has_changed().unwrap());
        seen.mark_unchanged();
        let b = claims("b");
        list.add(Revocation {
            kind: RevocationKind::Sub,
            value: "b".into(),
            at: 999,
            reason: String::new(),
        });
        assert!(!list.is_revoked(&b), "issued after the revocation");
        list.add(Revocation {
            kind: RevocationKind::Sub,
            value: "b".into(),
            at: 1_000,
            reason: String::new(),
        });
        assert!(list.is_revoked(&b));
        assert!(seen.has_changed().unwrap());
        assert_eq!(list.list().len(), 2);
    }
}
