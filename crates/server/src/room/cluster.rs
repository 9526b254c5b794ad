//! An object in cluster mode: its relayed frames and saves go through JetStream, its
//! frames come back from JetStream (one consumer per object with members on this node)
//! in the stream's order, which is the object's one order on every node, and the members
//! of other nodes are known from the presence bucket.

use std::collections::HashMap;
use std::sync::{Arc, MutexGuard};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use bytes::Bytes;
use futures_util::StreamExt;
use meetbridge_broker::{BrokerError, Delivered, Kind, Outgoing, Published};
use meetbridge_protocol::bridge::Identity;
use meetbridge_protocol::ovice::{DataDocument, PlatformToPlugin, PresenceStatus};

use super::dedup::Answer;
use super::history::Audience;
use super::relay::BeginSave;
use super::{DataCache, Room, RoomState};
use crate::cluster::{frame_text, Cluster, Record};
use crate::outbox::Outbox;
use crate::refusal::Refusal;
use crate::store::{RememberedId, Save, StoreResult};

/// A user present on this object through other nodes.
pub(super) struct Remote {
    pub identity: Arc<Identity>,
    /// Each node's status of the user.
    pub nodes: HashMap<Arc<str>, PresenceStatus>,
    pub order: u64,
}

/// The summed status of one user over their presences (tabs, nodes): joined while any is
/// linked, then left, then subscribed.
pub(super) fn combine(
    statuses: impl IntoIterator<Item = PresenceStatus>,
) -> Option<PresenceStatus> {
    fn rank(s: PresenceStatus) -> u8 {
        match s {
            PresenceStatus::Joined => 3,
            PresenceStatus::Left => 2,
            PresenceStatus::Subscribed => 1,
            PresenceStatus::Unsubscribed => 0,
        }
    }
    statuses
        .into_iter()
        .filter(|s| *s != PresenceStatus::Unsubscribed)
        .max_by_key(|s| rank(*s))
}

impl RoomState {
    /// Cluster mode: moves `user`'s announced summed status to `summed` (their tabs and
    /// nodes, [`combine`]) and returns the move, `(old, new)`. A user who was joined or
    /// left and is now only subscribed anywhere has left.
    pub(super) fn move_shown(
        &mut self,
        user: &Arc<str>,
        summed: Option<PresenceStatus>,
    ) -> (Option<PresenceStatus>, Option<PresenceStatus>) {
        let old = self.shown.get(user).copied();
        let new = match (old, summed) {
            (
                Some(PresenceStatus::Joined | PresenceStatus::Left),
                Some(PresenceStatus::Subscribed),
            ) => Some(PresenceStatus::Left),
            (_, s) => s,
        };
        match new {
            Some(s) => {
                self.shown.insert(user.clone(), s);
            }
            None => {
                self.shown.remove(user);
            }
        }
        (old, new)
    }

    /// `user`'s status on other nodes.
    pub(super) fn remote_status(&self, user: &str) -> Option<PresenceStatus> {
        self.remote
            .get(user)
            .and_then(|r| combine(r.nodes.values().copied()))
    }
}

/// Why a frame could not go through JetStream, as the sender is told.
fn refusal_for(e: &BrokerError, what: &str) -> Refusal {
    match e {
        BrokerError::TooLarge { .. } => Refusal::internal(format!("{what}: {e}")),
        _ => Refusal::internal(format!(
            "{what} could not be stored (the cluster's NATS does not answer), so it was not sent; retry"
        )),
    }
}

impl Room {
    /// The cluster link, in cluster mode.
    pub(super) fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.as_ref()
    }

    /// Publishes a relayed message (cluster mode; the checks are done). It is delivered
    /// here, as on every node, when it comes back from the stream; the sender is
    /// acknowledged with its `seq` once JetStream has stored it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn relay_through(
        self: &Arc<Self>,
        cluster: &Arc<Cluster>,
        mut st: MutexGuard<'_, RoomState>,
        out: &Outbox,
        user: &Arc<str>,
        to: Option<&str>,
        id: Option<&str>,
        req: Option<u64>,
        message_json: &str,
    ) -> Result<Option<Answer>, Refusal> {
        if let Some(id) = id {
            st.dedup.pending(user, id);
        }
        let outgoing = Outgoing {
            sender: user.to_string(),
            to: to.map(str::to_owned),
            kind: Kind::Message,
            message: Bytes::copy_from_slice(message_json.as_bytes()),
            id: id.map(str::to_owned),
        };
        let room = self.clone();
        let user = user.clone();
        let out = out.clone();
        let id = id.map(str::to_owned);
        // Submitted under the lock: this object's frames reach the stream in this order.
        cluster.publish(
            &self.id,
            outgoing,
            Box::new(move |result| room.published(result, user, id, out, req)),
        );
        Ok(None)
    }

    /// JetStream answered a relayed message: acknowledge its `seq`, or refuse.
    fn published(
        &self,
        result: Result<Published, BrokerError>,
        user: Arc<str>,
        id: Option<String>,
        out: Outbox,
        req: Option<u64>,
    ) {
        let mut st = self.lock();
        match result {
            Ok(p) => {
                let answer = Answer {
                    reply: None,
                    seq: Some(p.seq),
                };
                let told = st.dedup.succeeded(&user, id.as_deref(), &answer, out, req);
                drop(st);
                let counter = if p.duplicate {
                    &self.metrics.duplicates
                } else {
                    &self.metrics.relayed
                };
                counter.inc();
                told.answer(&answer);
            }
            Err(e) => {
                let told = st.dedup.failed(&user, id.as_deref(), out, req);
                drop(st);
                tracing::warn!(object = %self.id, error = %e, "publishing to JetStream failed");
                told.refuse(&self.id, &refusal_for(&e, "the message"));
            }
        }
    }

    /// A save in cluster mode: the `ovice_shared_data` goes to the stream first (its
    /// `seq` is the save's place in the one order everyone sees, and a resend of its id on
    /// any node is recognised there), then the document to the store as version `seq`
    /// (a save that commits late never replaces a later one); then the saver is answered.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn save_through(
        self: &Arc<Self>,
        cluster: &Arc<Cluster>,
        out: &Outbox,
        user: &Arc<str>,
        id: Option<&str>,
        req: Option<u64>,
        doc: Arc<DataDocument>,
        json: String,
        updated_at: i64,
        success: Utf8Bytes,
    ) -> Result<BeginSave, Refusal> {
        if !cluster.health.store_ok() {
            // Not announced to anyone when it is known that it cannot be stored.
            let refusal = || {
                Refusal::internal("the data could not be saved (the store does not answer); retry")
            };
            if let Some(id) = id {
                let waiters = self.lock().dedup.fail(user, id);
                for (waiter, req) in waiters {
                    waiter.refuse(req, Some(self.id().to_owned()), refusal(), None);
                }
            }
            return Err(refusal());
        }
        let message = serde_json::to_string(&PlatformToPlugin::SharedData((*doc).clone()))
            .map_err(|e| Refusal::internal(e.to_string()))?;
        let outgoing = Outgoing {
            sender: user.to_string(),
            to: None,
            kind: Kind::SharedData,
            message: message.into(),
            id: id.map(str::to_owned),
        };
        let room = self.clone();
        let user = user.clone();
        let out = out.clone();
        let id = id.map(str::to_owned);
        cluster.publish(
            &self.id,
            outgoing,
            Box::new(move |result| match result {
                Ok(p) => {
                    let save = Save {
                        json,
                        updated_at,
                        log: None,
                        id: id.as_ref().map(|id| RememberedId {
                            user: user.to_string(),
                            id: id.clone(),
                            seq: None,
                            reply: Some(success.to_string()),
                            at_ms: super::now_ms(),
                        }),
                        at_version: Some(p.seq),
                    };
                    let store = room.store.clone();
                    let object = room.id.clone();
                    store.save_data(
                        &object,
                        save,
                        Box::new(move |r| {
                            room.saved_through(r.map(|_| ()), p.seq, user, doc, success, id, out, req)
                        }),
                    );
                }
                Err(e) => {
                    let told = room.lock().dedup.failed(&user, id.as_deref(), out, req);
                    tracing::warn!(object = %room.id, error = %e, "publishing a save to JetStream failed");
                    told.refuse(&room.id, &refusal_for(&e, "the data"));
                }
            }),
        );
        Ok(BeginSave::Submitted)
    }

    /// The document of the save of stream sequence `seq` is committed (or not).
    #[allow(clippy::too_many_arguments)]
    fn saved_through(
        &self,
        result: StoreResult<()>,
        seq: u64,
        user: Arc<str>,
        doc: Arc<DataDocument>,
        success: Utf8Bytes,
        id: Option<String>,
        out: Outbox,
        req: Option<u64>,
    ) {
        let mut st = self.lock();
        match result {
            Ok(()) => {
                let answer = Answer {
                    reply: Some(success),
                    seq: None,
                };
                let told = st.dedup.succeeded(&user, id.as_deref(), &answer, out, req);
                if st.data.as_ref().is_none_or(|d| d.version < seq) {
                    st.data = Some(DataCache { doc, version: seq });
                }
                drop(st);
                self.metrics.saves.inc();
                told.answer(&answer);
            }
            Err(e) => {
                let told = st.dedup.failed(&user, id.as_deref(), out, req);
                drop(st);
                tracing::error!(object = %self.id, error = %e, "save failed");
                told.refuse(
                    &self.id,
                    &Refusal::internal("the data could not be saved; retry"),
                );
            }
        }
    }

    /// Starts consuming the object's frames from the stream, after what the room has
    /// (once: it runs while the room lives). Called when a member arrives here.
    pub(super) fn start_consuming(self: &Arc<Self>, st: &mut RoomState) {
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        if st.consuming {
            return;
        }
        st.consuming = true;
        let room = Arc::downgrade(self);
        let object = self.id.clone();
        tokio::spawn(async move {
            loop {
                let Some(after) = room.upgrade().map(|r| r.lock().history.committed()) else {
                    return;
                };
                match cluster.broker.subscribe(&object, after).await {
                    Ok(frames) => {
                        let mut frames = Box::pin(frames);
                        loop {
                            // Wakes now and then to notice a room that went away.
                            let next =
                                tokio::time::timeout(Duration::from_secs(30), frames.next()).await;
                            let Some(r) = room.upgrade() else { return };
                            match next {
                                Err(_) => continue,
                                Ok(Some(Ok(frame))) => r.delivered(frame),
                                Ok(Some(Err(e))) => {
                                    tracing::debug!(object = %object, error = %e, "consumer failed; resubscribing");
                                    break;
                                }
                                Ok(None) => break,
                            }
                        }
                    }
                    Err(e) => {
                        tracing::debug!(object = %object, error = %e, "subscribing failed; retrying")
                    }
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }

    /// A frame of the stream: delivered to this node's members it is addressed to (in
    /// stream order), kept in the memory tail, and a shared document cached.
    pub(crate) fn delivered(&self, d: Delivered) {
        let Ok(message) = std::str::from_utf8(&d.message) else {
            return;
        };
        let frame: Utf8Bytes = frame_text(&self.id_json, d.seq, message).into();
        let sender: Arc<str> = d.sender.into();
        let audience = match d.to {
            Some(to) => Audience::Only(to.into()),
            None => Audience::AllBut(sender.clone()),
        };
        let shared = match d.kind {
            Kind::SharedData => shared_document(message),
            Kind::Message => None,
        };
        let mut st = self.lock();
        if d.seq <= st.history.committed() {
            // Already here (a consumer that started again).
            return;
        }
        for (key, m) in &st.members {
            if audience.includes(key) {
                for c in &m.conns {
                    if c.skip_upto < d.seq {
                        c.out.send_text(frame.clone());
                    }
                }
            }
        }
        if let Some(doc) = shared {
            if st.data.as_ref().is_none_or(|c| c.version < d.seq) {
                st.data = Some(DataCache {
                    doc: Arc::new(doc),
                    version: d.seq,
                });
            }
        }
        st.history.push_at(d.seq, sender, audience, frame);
    }

    /// A change of `user`'s presence through another node (`None`: gone from it).
    pub fn remote_presence(&self, node: &str, user: &str, record: Option<Record>) {
        let mut st = self.lock();
        let record = record.filter(|r| r.status != PresenceStatus::Unsubscribed);
        match record {
            Some(r) => {
                let order = st.next_order;
                let remote = st.remote.entry(user.into()).or_insert_with(|| Remote {
                    identity: Arc::new(r.identity.clone()),
                    nodes: HashMap::new(),
                    order,
                });
                if remote.nodes.is_empty() {
                    st.next_order += 1;
                }
                let remote = st.remote.get_mut(user).expect("inserted above");
                remote.identity = Arc::new(r.identity);
                remote.nodes.insert(node.into(), r.status);
            }
            None => {
                let Some(remote) = st.remote.get_mut(user) else {
                    return;
                };
                // An emptied entry is kept until announced below (its identity is needed).
                remote.nodes.remove(node);
            }
        }
        let (key, identity) = match (
            st.members.get_key_value(user),
            st.remote.get_key_value(user),
        ) {
            (Some((k, m)), _) => (k.clone(), m.identity.clone()),
            (None, Some((k, r))) => (k.clone(), r.identity.clone()),
            (None, None) => return,
        };
        let here = st.members.get(user).map(|m| m.status);
        let summed = combine(here.into_iter().chain(st.remote_status(user)));
        let (old, new) = st.move_shown(&key, summed);
        self.announce(&st, &key, &identity, old, new, None);
        if st.remote.get(user).is_some_and(|r| r.nodes.is_empty()) {
            st.remote.remove(user);
        }
    }

    /// Node `node` is dead: its users are gone from this object.
    pub fn remote_node_gone(&self, node: &str) {
        let users: Vec<Arc<str>> = {
            let st = self.lock();
            st.remote
                .iter()
                .filter(|(_, r)| r.nodes.contains_key(node))
                .map(|(u, _)| u.clone())
                .collect()
        };
        for user in users {
            self.remote_presence(node, &user, None);
        }
    }

    /// This node's presence of `user`, as written to the bucket.
    pub fn local_record(&self, user: &str) -> Option<Record> {
        let st = self.lock();
        st.members.get(user).map(|m| Record {
            identity: (*m.identity).clone(),
            status: m.status,
        })
    }

    /// Every member of this node, as written to the bucket.
    pub fn local_records(&self) -> Vec<(String, Record)> {
        let st = self.lock();
        st.members
            .iter()
            .map(|(k, m)| {
                (
                    k.to_string(),
                    Record {
                        identity: (*m.identity).clone(),
                        status: m.status,
                    },
                )
            })
            .collect()
    }
}

/// The document of an `ovice_shared_data` message.
fn shared_document(message: &str) -> Option<DataDocument> {
    #[derive(serde::Deserialize)]
    struct Shared {
        payload: DataDocument,
    }
    serde_json::from_str::<Shared>(message)
        .ok()
        .map(|s| s.payload)
}
