//! One object at runtime: who is present and how (presence), its history and its cached
//! saved data. Everything about an object happens under its own lock, so events about it
//! reach every member in one order, and other objects never wait on it.
//!
//! Presence is kept per connection (in range, or linked) and summed per user: a user with
//! several tabs is one participant, joined while any tab is linked, gone when no tab is in
//! range. Only changes of that sum are announced.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::ws::Utf8Bytes;
use meetbridge_protocol::bridge::{Identity, Missed, ServerFrame, ServerPluginFrame};
use meetbridge_protocol::ovice::{
    DataDocument, ObjectType, Participant, PlatformToPlugin, PresenceStatus,
};

use crate::dedup::{Dedup, DedupWindow};
use crate::history::{History, Window};
use crate::metrics::Metrics;
use crate::outbox::{ConnId, Outbox};
use crate::store::ObjectDef;

/// Most history frames sent in answer to one `since`.
pub const MAX_REPLAY: usize = 10_000;

pub struct Room {
    pub def: Arc<ObjectDef>,
    /// The object id as a JSON string, to splice into pre-encoded frames.
    pub(crate) id_json: String,
    pub(crate) state: Mutex<RoomState>,
    pub(crate) metrics: Arc<Metrics>,
}

pub(crate) struct RoomState {
    pub(crate) members: HashMap<Arc<str>, Member>,
    next_order: u64,
    pub(crate) history: History,
    /// The saved document as last committed (or loaded), `None` until first needed.
    pub(crate) data: Option<DataCache>,
    /// Version handed to the last submitted save; commits apply only if newer.
    pub(crate) save_version: u64,
    /// Recent message ids per user (idempotent sends).
    pub(crate) dedup: Dedup,
}

pub(crate) struct DataCache {
    pub(crate) doc: Arc<DataDocument>,
    pub(crate) version: u64,
}

pub(crate) struct Member {
    identity: Arc<Identity>,
    status: PresenceStatus,
    order: u64,
    pub(crate) conns: Vec<ConnEntry>,
}

pub(crate) struct ConnEntry {
    pub(crate) out: Outbox,
    linked: bool,
}

impl Room {
    pub fn new(def: ObjectDef, window: Window, dedup: DedupWindow, metrics: Arc<Metrics>) -> Self {
        Room {
            id_json: serde_json::to_string(&def.id).unwrap_or_default(),
            def: Arc::new(def),
            state: Mutex::new(RoomState {
                members: HashMap::new(),
                next_order: 0,
                history: History::new(window),
                data: None,
                save_version: 0,
                dedup: Dedup::new(dedup),
            }),
            metrics,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, RoomState> {
        // A panic while holding the lock cannot leave the state half-updated in a way that
        // matters more than losing the room; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The participant record for `identity` as this object's plugin sees it.
    pub fn participant(
        &self,
        identity: &Identity,
        status: PresenceStatus,
        is_self: bool,
    ) -> Participant {
        let id = identity.id.as_source();
        Participant {
            id: identity.id.clone(),
            email: if self.def.settings.share_email {
                identity.email.clone()
            } else {
                None
            },
            name: identity.name.clone(),
            object_id: self.def.id.clone(),
            object_type: self.def.object_type,
            avatar_url: identity.avatar_url.clone(),
            workspace_id: identity.workspace_id.clone(),
            is_host: Some(
                self.def.object_type == ObjectType::Dynamic
                    && self.def.creator.as_deref() == Some(id.as_str()),
            ),
            is_self: Some(is_self),
            is_visitor: identity.is_visitor,
            status: Some(status),
            language: identity.language.clone(),
        }
    }

    pub(crate) fn plugin_frame(&self, seq: Option<u64>, message: PlatformToPlugin) -> Utf8Bytes {
        ServerFrame::Plugin(ServerPluginFrame {
            object: self.def.id.clone(),
            seq,
            message,
        })
        .to_text()
        .into()
    }

    /// Is this connection present on the object (and so allowed to send to it)?
    pub fn is_present(&self, user: &str, conn: ConnId) -> bool {
        self.lock()
            .members
            .get(user)
            .is_some_and(|m| m.conns.iter().any(|c| c.out.id() == conn))
    }

    /// Applies a presence change of one connection. Announces any change of the user's
    /// status to every member, then replays history after `since` to this connection.
    /// Returns whether the connection is present afterwards.
    pub fn presence(
        &self,
        out: &Outbox,
        user: &Arc<str>,
        identity: &Arc<Identity>,
        status: PresenceStatus,
        since: Option<u64>,
    ) -> bool {
        let mut st = self.lock();
        let old = st.members.get(user).map(|m| m.status);
        if old.is_none() && status == PresenceStatus::Unsubscribed {
            return false;
        }
        let order = st.next_order;
        st.members.entry(user.clone()).or_insert_with(|| Member {
            identity: identity.clone(),
            status: PresenceStatus::Subscribed,
            order,
            conns: Vec::new(),
        });
        if old.is_none() {
            st.next_order += 1;
        }
        let member = st.members.get_mut(user).expect("inserted above");
        member.identity = identity.clone();
        let pos = member.conns.iter().position(|c| c.out.id() == out.id());
        let newly_present = pos.is_none() && status != PresenceStatus::Unsubscribed;
        let mut removed = None;
        match (status, pos) {
            (PresenceStatus::Unsubscribed, Some(i)) => {
                removed = Some(member.conns.swap_remove(i).out);
            }
            (PresenceStatus::Unsubscribed, None) => {}
            (s, Some(i)) => member.conns[i].linked = s == PresenceStatus::Joined,
            (s, None) => member.conns.push(ConnEntry {
                out: out.clone(),
                linked: s == PresenceStatus::Joined,
            }),
        }
        let changed = self.settle(&mut st, user, old, removed.as_ref());
        let present = status != PresenceStatus::Unsubscribed;
        if present && newly_present && !changed {
            // The user's status did not move (another tab has it), but this tab's plugin
            // still has to learn where it stands.
            if let Some(m) = st.members.get(user) {
                let event = m
                    .status
                    .event(self.participant(&m.identity, m.status, true));
                out.send_text(self.plugin_frame(None, event));
            }
        }
        if present {
            if let Some(since) = since {
                let replay = st.history.replay(since, user, MAX_REPLAY, false);
                if let Some((from, to)) = replay.missed {
                    out.send(&ServerFrame::Missed(Missed {
                        object: self.def.id.clone(),
                        from,
                        to,
                    }));
                }
                self.metrics.replayed.fetch_add(
                    replay.frames.len() as u64,
                    std::sync::atomic::Ordering::Relaxed,
                );
                for frame in replay.frames {
                    out.send_text(frame);
                }
            }
        }
        present
    }

    /// A connection went away: its presence ends without a word to it.
    pub fn remove_conn(&self, user: &Arc<str>, conn: ConnId) {
        let mut st = self.lock();
        let Some(member) = st.members.get_mut(user) else {
            return;
        };
        let old = Some(member.status);
        member.conns.retain(|c| c.out.id() != conn);
        self.settle(&mut st, user, old, None);
    }

    /// Recomputes `user`'s status from their connections, announces the transition from
    /// `old`, and drops the member when no connection is left. Returns whether it changed.
    fn settle(
        &self,
        st: &mut RoomState,
        user: &Arc<str>,
        old: Option<PresenceStatus>,
        removed: Option<&Outbox>,
    ) -> bool {
        let Some(member) = st.members.get(user) else {
            return false;
        };
        let new = if member.conns.is_empty() {
            None
        } else if member.conns.iter().any(|c| c.linked) {
            Some(PresenceStatus::Joined)
        } else if matches!(old, Some(PresenceStatus::Joined | PresenceStatus::Left)) {
            Some(PresenceStatus::Left)
        } else {
            Some(PresenceStatus::Subscribed)
        };
        let events = transition(old, new);
        let identity = member.identity.clone();
        for status in &events {
            let others = self.plugin_frame(
                None,
                status.event(self.participant(&identity, *status, false)),
            );
            let mine = self.plugin_frame(
                None,
                status.event(self.participant(&identity, *status, true)),
            );
            for (key, m) in &st.members {
                let frame = if key == user { &mine } else { &others };
                for c in &m.conns {
                    c.out.send_text(frame.clone());
                }
            }
            if let Some(out) = removed {
                out.send_text(mine.clone());
            }
        }
        match new {
            Some(status) => {
                if let Some(m) = st.members.get_mut(user) {
                    m.status = status;
                }
            }
            None => {
                st.members.remove(user);
            }
        }
        !events.is_empty()
    }

    /// `ovice_participants` for `user`: the current members in arrival order.
    pub fn participants(&self, user: &str) -> Vec<Participant> {
        let st = self.lock();
        let mut members: Vec<(&Arc<str>, &Member)> = st.members.iter().collect();
        members.sort_by_key(|(_, m)| m.order);
        members
            .into_iter()
            .map(|(key, m)| self.participant(&m.identity, m.status, &**key == user))
            .collect()
    }
}

/// The events that announce a move of a user's summed status from `old` to `new`
/// (`None`: not a member). Joining from afar passes through `subscribed`; going away
/// while linked passes through `left`.
pub fn transition(old: Option<PresenceStatus>, new: Option<PresenceStatus>) -> Vec<PresenceStatus> {
    use PresenceStatus::*;
    match (old, new) {
        (a, b) if a == b => vec![],
        (None, Some(Joined)) => vec![Subscribed, Joined],
        (None, Some(s)) => vec![s],
        (Some(Joined), None) => vec![Left, Unsubscribed],
        (Some(_), None) => vec![Unsubscribed],
        (Some(_), Some(s)) => vec![s],
        (None, None) => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PresenceStatus::*;

    #[test]
    fn transitions_follow_the_seed() {
        assert_eq!(transition(None, Some(Subscribed)), vec![Subscribed]);
        assert_eq!(transition(None, Some(Joined)), vec![Subscribed, Joined]);
        assert_eq!(transition(Some(Subscribed), Some(Joined)), vec![Joined]);
        assert_eq!(transition(Some(Joined), Some(Left)), vec![Left]);
        assert_eq!(transition(Some(Left), Some(Joined)), vec![Joined]);
        assert_eq!(transition(Some(Joined), None), vec![Left, Unsubscribed]);
        assert_eq!(transition(Some(Left), None), vec![Unsubscribed]);
        assert_eq!(transition(Some(Subscribed), Some(Subscribed)), vec![]);
    }
}
