//! Relay and saved data on one object: `ovice_broadcast_message`, `ovice_emit_message`,
//! `ovice_get_data`, `ovice_save_and_emit_data`.
//!
//! A relayed message is encoded once, outside the room lock; under the lock it only gets
//! its sequence number spliced in, goes into the history, and is queued (the same bytes)
//! to every recipient.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::Utf8Bytes;
use meetbridge_protocol::bridge::ErrorCode;
use meetbridge_protocol::ovice::{DataDocument, PlatformToPlugin};

use super::dedup::{Answer, Seen};
use super::history::{now_ms, Audience};
use super::{DataCache, Room, RoomState};
use crate::outbox::Outbox;
use crate::refusal::Refusal;
use crate::store::{LogEntry, RememberedId, Save, StoreResult};

impl Room {
    /// Whether `user` sent message `id` recently (counted in the metrics when it did).
    fn seen(
        &self,
        st: &mut RoomState,
        user: &Arc<str>,
        id: &str,
        out: &Outbox,
        req: Option<u64>,
    ) -> Seen {
        let seen = st.dedup.check(user, id, out, req);
        if !matches!(seen, Seen::New) {
            self.metrics.duplicates.inc();
        }
        seen
    }

    /// Relays an encoded `ovice_message` (`message_json`, the whole `{type, payload}`)
    /// from `user` to every other member, or to `to` only. The frame gets the object's next
    /// `seq` and is appended to the store's log; only once that is committed is it sent to
    /// its recipients, kept in the memory tail and acknowledged to the sender (`out`,
    /// `req`), in sequence order. With a message `id` this user sent recently nothing is
    /// relayed: the first answer is returned (or, while the first copy is being committed,
    /// `None`: its commit answers this frame too). `received`: when the frame arrived, for
    /// the relay-time histogram.
    #[allow(clippy::too_many_arguments)]
    pub fn relay(
        self: &Arc<Self>,
        out: &Outbox,
        user: &Arc<str>,
        to: Option<&str>,
        id: Option<&str>,
        req: Option<u64>,
        message_json: &str,
        received: Instant,
    ) -> Result<Option<Answer>, Refusal> {
        let mut st = self.lock();
        self.member_check(&st, user, out.id())?;
        if let Some(id) = id {
            // Before the recipient check: a duplicate is answered even if `to` left since.
            match self.seen(&mut st, user, id, out, req) {
                Seen::New => {}
                Seen::Answer(answer) => return Ok(Some(answer)),
                Seen::Waiting => return Ok(None),
            }
        }
        let audience = match to {
            // A member here, or on another node.
            Some(to) => match st
                .members
                .get_key_value(to)
                .map(|(k, _)| k)
                .or_else(|| st.remote.get_key_value(to).map(|(k, _)| k))
            {
                Some(key) => Audience::Only(key.clone()),
                None => {
                    return Err(Refusal::new(
                        ErrorCode::RecipientNotMember,
                        format!(
                            "`to` ({to}) is not subscribed to or joined to object `{}`",
                            self.id
                        ),
                    ))
                }
            },
            None => Audience::AllBut(user.clone()),
        };
        if let Some(cluster) = self.cluster().cloned() {
            return self.relay_through(&cluster, st, out, user, to, id, req, message_json);
        }
        if let Some(id) = id {
            st.dedup.pending(user, id);
        }
        let seq = st.history.take_seq();
        let frame = format!(
            "{{\"op\":\"plugin\",\"object\":{},\"seq\":{seq},\"message\":{message_json}}}",
            self.id_json
        );
        let at_ms = now_ms();
        let entry = LogEntry {
            seq,
            at_ms,
            sender: user.to_string(),
            to: to.map(str::to_owned),
            frame: frame.clone(),
        };
        let remembered = id.map(|id| RememberedId {
            user: user.to_string(),
            id: id.to_owned(),
            seq: Some(seq),
            reply: None,
            at_ms,
        });
        let room = self.clone();
        let sender = user.clone();
        let out = out.clone();
        let id = id.map(str::to_owned);
        let frame: Utf8Bytes = frame.into();
        // Submitted under the lock: the store commits (and calls back) in `seq` order.
        self.store.append(
            &self.id,
            entry,
            remembered,
            Box::new(move |result| {
                let sent = Sent {
                    seq,
                    id,
                    out,
                    req,
                    received,
                };
                room.relayed(result, sender, audience, frame, sent)
            }),
        );
        Ok(None)
    }

    /// The append of `sent.seq` committed (or failed): deliver and acknowledge it, or refuse.
    fn relayed(
        &self,
        result: StoreResult<()>,
        user: Arc<str>,
        audience: Audience,
        frame: Utf8Bytes,
        sent: Sent,
    ) {
        let Sent {
            seq,
            id,
            out,
            req,
            received,
        } = sent;
        let mut st = self.lock();
        match result {
            Ok(()) => {
                st.fan_out(|key| audience.includes(key).then_some(&frame));
                self.metrics.relay.observe_time(received.elapsed());
                st.history.push_at(seq, user.clone(), audience, frame);
                let answer = Answer {
                    reply: None,
                    seq: Some(seq),
                };
                let told = st.dedup.succeeded(&user, id.as_deref(), &answer, out, req);
                drop(st);
                self.metrics.relayed.inc();
                told.answer(&answer);
            }
            Err(e) => {
                let told = st.dedup.failed(&user, id.as_deref(), out, req);
                drop(st);
                tracing::error!(object = %self.id, error = %e, "appending to the message log failed");
                let refusal =
                    Refusal::internal("the message could not be stored, so it was not sent; retry");
                told.refuse(&self.id, &refusal);
            }
        }
    }

    /// The saved document, if it is known in memory.
    pub fn cached_data(&self) -> Option<Arc<DataDocument>> {
        self.lock().data.as_ref().map(|d| d.doc.clone())
    }

    /// Fills the cache with what the store had, unless a save got there first.
    pub fn fill_data(&self, doc: DataDocument) -> Arc<DataDocument> {
        let mut st = self.lock();
        st.data
            .get_or_insert_with(|| DataCache {
                doc: Arc::new(doc),
                version: 0,
            })
            .doc
            .clone()
    }

    /// Saves `doc` (`json`, its encoding) for `user`: with a message `id` this user sent
    /// recently there is nothing to save ([`BeginSave::Duplicate`] carries the first save's
    /// answer; a duplicate of a save still being committed, [`BeginSave::Waiting`], is
    /// answered when that one is). Otherwise the document, the `ovice_shared_data` that
    /// announces it (with the object's next `seq`) and the id go to the store in one
    /// commit; after it, the cache is updated, the other members get the shared data and
    /// the saver `success` then the `ack`.
    #[allow(clippy::too_many_arguments)]
    pub fn save(
        self: &Arc<Self>,
        out: &Outbox,
        user: &Arc<str>,
        id: Option<&str>,
        req: Option<u64>,
        doc: Arc<DataDocument>,
        json: String,
        updated_at: i64,
        success: Utf8Bytes,
    ) -> Result<BeginSave, Refusal> {
        let mut st = self.lock();
        self.member_check(&st, user, out.id())?;
        if let Some(id) = id {
            match self.seen(&mut st, user, id, out, req) {
                Seen::New => st.dedup.pending(user, id),
                Seen::Answer(answer) => return Ok(BeginSave::Duplicate(answer)),
                Seen::Waiting => return Ok(BeginSave::Waiting),
            }
        }
        if let Some(cluster) = self.cluster().cloned() {
            drop(st);
            return self.save_through(&cluster, out, user, id, req, doc, json, updated_at, success);
        }
        st.save_version += 1;
        let version = st.save_version;
        let seq = st.history.take_seq();
        let shared = self.plugin_frame(Some(seq), PlatformToPlugin::SharedData((*doc).clone()));
        let at_ms = now_ms();
        let save = Save {
            json,
            updated_at,
            log: Some(LogEntry {
                seq,
                at_ms,
                sender: user.to_string(),
                to: None,
                frame: shared.to_string(),
            }),
            id: id.map(|id| RememberedId {
                user: user.to_string(),
                id: id.to_owned(),
                seq: None,
                reply: Some(success.to_string()),
                at_ms,
            }),
            at_version: None,
        };
        let room = self.clone();
        let saved = Saved {
            submitted: Instant::now(),
            version,
            seq,
            user: user.clone(),
            doc,
            shared,
            success,
            id: id.map(str::to_owned),
            out: out.clone(),
            req,
        };
        // Submitted under the lock: the store commits (and calls back) in `seq` order.
        self.store.save_data(
            &self.id,
            save,
            Box::new(move |result| room.saved(result.map(|_| ()), saved)),
        );
        Ok(BeginSave::Submitted)
    }

    /// The save committed (or failed): share it and answer, or refuse.
    fn saved(&self, result: StoreResult<()>, s: Saved) {
        let mut st = self.lock();
        let answer = Answer {
            reply: Some(s.success),
            seq: None,
        };
        match result {
            Ok(()) => {
                self.metrics.save_commit.observe_time(s.submitted.elapsed());
                let told = st
                    .dedup
                    .succeeded(&s.user, s.id.as_deref(), &answer, s.out, s.req);
                if st.data.as_ref().is_none_or(|d| d.version < s.version) {
                    st.data = Some(DataCache {
                        doc: s.doc.clone(),
                        version: s.version,
                    });
                }
                let audience = Audience::AllBut(s.user.clone());
                st.fan_out(|key| audience.includes(key).then_some(&s.shared));
                st.history
                    .push_at(s.seq, s.user.clone(), audience, s.shared);
                drop(st);
                self.metrics.saves.inc();
                told.answer(&answer);
            }
            Err(e) => {
                let told = st.dedup.failed(&s.user, s.id.as_deref(), s.out, s.req);
                drop(st);
                tracing::error!(object = %self.id, error = %e, "save failed");
                told.refuse(
                    &self.id,
                    &Refusal::internal("the data could not be saved; retry"),
                );
            }
        }
    }
}

/// Who is answered once a relayed frame's append commits.
struct Sent {
    seq: u64,
    id: Option<String>,
    out: Outbox,
    req: Option<u64>,
    received: Instant,
}

/// A save on its way to the store, and what to do once it is committed.
struct Saved {
    submitted: Instant,
    version: u64,
    seq: u64,
    user: Arc<str>,
    doc: Arc<DataDocument>,
    shared: Utf8Bytes,
    success: Utf8Bytes,
    id: Option<String>,
    out: Outbox,
    req: Option<u64>,
}

/// What [`Room::save`] did.
pub enum BeginSave {
    /// Submitted to the store: its commit answers.
    Submitted,
    /// Already saved under this id: answer as the first time.
    Duplicate(Answer),
    /// Already being saved under this id: the first save's commit answers this one too.
    Waiting,
}
