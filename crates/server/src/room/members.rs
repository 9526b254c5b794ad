//! Presence on one object: `ovice_participant_*` events and `ovice_participants`.
//!
//! Presence is kept per connection (in range, or linked) and summed per user: a user with
//! several tabs is one participant, joined while any tab is linked, gone when no tab is in
//! range. Only changes of that sum are announced.

use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use meetbridge_protocol::bridge::Identity;
use meetbridge_protocol::ovice::{Participant, PresenceStatus};

use super::cluster::combine;
use super::{ConnEntry, Member, Room, RoomState, MAX_REPLAY};
use crate::outbox::{ConnId, Outbox};

impl Room {
    /// The highest sequence number this room has delivered: the presence `ack` carries
    /// it, so a page that has received nothing yet still resumes from the moment it
    /// arrived (`since`) and gets what it missed while its socket was down.
    pub fn head(&self) -> u64 {
        self.lock().history.committed()
    }

    /// Applies a presence change of one connection. Announces any change of the user's
    /// status to every member, then replays history after `since` to this connection.
    /// Returns whether the connection is present afterwards.
    pub fn presence(
        self: &Arc<Self>,
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
                skip_upto: since.unwrap_or(0),
            }),
        }
        st.note_departure(user, out.id(), removed.is_some(), self.departure_grace);
        let changed = self.settle(&mut st, user, old, removed.as_ref());
        let present = status != PresenceStatus::Unsubscribed;
        if present && newly_present && !changed {
            // The user's status did not move (another tab has it), but this tab's plugin
            // still has to learn where it stands.
            if let (Some(m), Some(status)) = (st.members.get(user), st.status_of(user)) {
                let event = status.event(self.participant(&m.identity, status, true));
                out.send_text(self.plugin_frame(None, event));
            }
        }
        if present {
            self.start_consuming(&mut st);
            if let Some(since) = since {
                let replay = self.replay_in(&mut st, since, user, MAX_REPLAY, false);
                self.metrics.replayed.inc_by(replay.frames.len() as u64);
                self.metrics
                    .replay_frames
                    .observe_count(replay.frames.len());
                replay.send_to(out, self.id());
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
        st.note_departure(user, conn, false, self.departure_grace);
        self.settle(&mut st, user, old, None);
    }

    /// Recomputes `user`'s status from their connections here, announces the transition
    /// of their summed status (with their presence on other nodes) from `old`, and drops
    /// the member when no connection is left. In cluster mode a change of this node's
    /// status of the user is written to the presence bucket. Returns whether the summed
    /// status changed.
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
        let identity = member.identity.clone();
        let (old_sum, new_sum) = if self.cluster().is_some() {
            let summed = combine(new.into_iter().chain(st.remote_status(user)));
            st.move_shown(user, summed)
        } else {
            (old, new)
        };
        let changed = self.announce(st, user, &identity, old_sum, new_sum, removed);
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
        if new != old {
            if let Some(cluster) = self.cluster() {
                let record = new.map(|status| crate::cluster::Record {
                    identity: (*identity).clone(),
                    status,
                });
                cluster.announce(&self.id, user, record);
            }
        }
        changed
    }

    /// Announces the move of `user`'s summed status from `old` to `new` to every member
    /// here (and to `removed`, the connection that just unsubscribed). Returns whether
    /// there was anything to announce.
    pub(super) fn announce(
        &self,
        st: &RoomState,
        user: &Arc<str>,
        identity: &Identity,
        old: Option<PresenceStatus>,
        new: Option<PresenceStatus>,
        removed: Option<&Outbox>,
    ) -> bool {
        let events = transition(old, new);
        for status in &events {
            // Encoded once; the user's own copy differs in one field.
            let others = self.plugin_frame(
                None,
                status.event(self.participant(identity, *status, false)),
            );
            let mine = own_copy(&others).unwrap_or_else(|| {
                self.plugin_frame(
                    None,
                    status.event(self.participant(identity, *status, true)),
                )
            });
            st.fan_out(|key| Some(if key == user { &mine } else { &others }));
            if let Some(out) = removed {
                out.send_text(mine.clone());
            }
        }
        !events.is_empty()
    }

    /// Who is on the object, in arrival order, with their summed status (the admin
    /// console's presence view). In cluster mode this includes the users present only
    /// through other nodes, as the presence bucket's watcher mirrors them here.
    /// `connections` counts this node's sockets of the user plus one for each other node
    /// they are on: other nodes write one presence record per user, not per socket.
    pub fn present(&self) -> Vec<meetbridge_protocol::space::PresentParticipant> {
        // Looking does not count as use: it keeps no idle room loaded.
        let st = self.lock_quietly();
        let mut present: Vec<(u64, &Arc<str>, &Arc<Identity>, u32)> = st
            .members
            .iter()
            .filter(|(_, m)| !m.conns.is_empty())
            .map(|(key, m)| {
                let remote = st.remote.get(key);
                let order = remote.map_or(m.order, |r| r.order.min(m.order));
                let far = remote.map_or(0, |r| r.nodes.len());
                (order, key, &m.identity, (m.conns.len() + far) as u32)
            })
            .collect();
        present.extend(
            st.remote
                .iter()
                .filter(|(key, r)| !st.members.contains_key(*key) && !r.nodes.is_empty())
                .map(|(key, r)| (r.order, key, &r.identity, r.nodes.len() as u32)),
        );
        present.sort_by_key(|(order, _, _, _)| *order);
        present
            .into_iter()
            .filter_map(|(_, key, identity, connections)| {
                Some(meetbridge_protocol::space::PresentParticipant {
                    id: identity.id.clone(),
                    name: identity.name.clone(),
                    status: st.status_of(key)?,
                    connections,
                })
            })
            .collect()
    }

    /// `ovice_participants` for `user`: the current members (of every node) in arrival
    /// order, each with their summed status.
    pub fn participants(&self, user: &str) -> Vec<Participant> {
        let st = self.lock();
        let mut members: Vec<(u64, &Arc<str>, &Arc<Identity>)> = st
            .members
            .iter()
            .map(|(key, m)| {
                let order = st.remote.get(key).map_or(m.order, |r| r.order.min(m.order));
                (order, key, &m.identity)
            })
            .collect();
        members.extend(
            st.remote
                .iter()
                .filter(|(key, r)| !st.members.contains_key(*key) && !r.nodes.is_empty())
                .map(|(key, r)| (r.order, key, &r.identity)),
        );
        members.sort_by_key(|(order, _, _)| *order);
        members
            .into_iter()
            .filter_map(|(_, key, identity)| {
                let status = st.status_of(key)?;
                Some(self.participant(identity, status, &**key == user))
            })
            .collect()
    }
}

/// The announcing user's own copy of an announcement encoded for the others: the same
/// bytes with `isSelf` true, spliced as the relay splices `seq`. A JSON string cannot
/// hold an unescaped `"isSelf":false`, so the one match is the record's field.
fn own_copy(others: &Utf8Bytes) -> Option<Utf8Bytes> {
    const NOT_SELF: &str = "\"isSelf\":false";
    const SELF: &str = "\"isSelf\":true";
    let text = others.as_str();
    let at = text.find(NOT_SELF)?;
    let mut mine = String::with_capacity(text.len());
    mine.push_str(&text[..at]);
    mine.push_str(SELF);
    mine.push_str(&text[at + NOT_SELF.len()..]);
    Some(mine.into())
}

/// The events that announce a move of a user's summed status from `old` to `new`
/// (`None`: not a member). Joining from afar passes through `subscribed`; going away
/// while linked passes through `left`.
fn transition(old: Option<PresenceStatus>, new: Option<PresenceStatus>) -> Vec<PresenceStatus> {
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
    use meetbridge_protocol::bridge::{ServerFrame, ServerPluginFrame};
    use meetbridge_protocol::ovice::{ObjectType, StringOrNumber, UserId};
    use PresenceStatus::*;

    #[test]
    fn the_own_copy_is_the_others_copy_encoded_with_is_self() {
        // Names that look like the field must not fool the splice.
        let participant = |is_self| Participant {
            id: UserId::Text("u\"isSelf\":false".into()),
            email: None,
            name: "\"isSelf\":false, \\\"isSelf\\\":false".into(),
            object_id: "o1".into(),
            object_type: ObjectType::Static,
            avatar_url: String::new(),
            workspace_id: StringOrNumber::Text("w".into()),
            is_host: Some(false),
            is_self: Some(is_self),
            is_visitor: false,
            status: Some(Joined),
            language: Some("isSelf".into()),
        };
        let frame = |is_self| -> Utf8Bytes {
            ServerFrame::Plugin(ServerPluginFrame {
                object: "o1".into(),
                seq: None,
                message: Joined.event(participant(is_self)),
            })
            .to_text()
            .into()
        };
        let mine = own_copy(&frame(false)).expect("the field is there");
        assert_eq!(mine.as_str(), frame(true).as_str());
    }

    #[test]
    fn transitions_follow_the_contract() {
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
