//! Relay and saved data on one object: `ovice_broadcast_message`, `ovice_emit_message`,
//! `ovice_get_data`, `ovice_save_and_emit_data`.
//!
//! A relayed message is encoded once, outside the room lock; under the lock it only gets
//! its sequence number spliced in, goes into the history, and is queued (the same bytes)
//! to every recipient.

use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use meetbridge_protocol::bridge::ErrorCode;
use meetbridge_protocol::ovice::{DataDocument, PlatformToPlugin};

use super::dedup::{Answer, Seen};
use super::history::Audience;
use super::{DataCache, Room, RoomState};
use crate::outbox::Outbox;
use crate::refusal::Refusal;

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
            self.metrics
                .duplicates
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        seen
    }

    /// Relays an encoded `ovice_message` (`message_json`, the whole `{type, payload}`)
    /// from `user` to every other member, or to `to` only, and returns the answer (its
    /// `seq`). With a message `id` this user sent recently nothing is relayed: the answer
    /// is the first one's, or `None` when the id is a save still being committed, whose
    /// commit answers this frame (`req`) too.
    pub fn relay(
        &self,
        out: &Outbox,
        user: &Arc<str>,
        to: Option<&str>,
        id: Option<&str>,
        req: Option<u64>,
        message_json: &str,
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
            Some(to) => match st.members.get_key_value(to) {
                Some((key, _)) => Audience::Only(key.clone()),
                None => {
                    return Err(Refusal::new(
                        ErrorCode::RecipientNotMember,
                        format!(
                            "`to` ({to}) is not subscribed to or joined to object `{}`",
                            self.def.id
                        ),
                    ))
                }
            },
            None => Audience::AllBut(user.clone()),
        };
        let seq = st.history.next_seq();
        let frame: Utf8Bytes = format!(
            "{{\"op\":\"plugin\",\"object\":{},\"seq\":{seq},\"message\":{message_json}}}",
            self.id_json
        )
        .into();
        st.fan_out(|key| audience.includes(key).then_some(&frame));
        st.history.push(user.clone(), audience, frame);
        let answer = Answer {
            reply: None,
            seq: Some(seq),
        };
        if let Some(id) = id {
            st.dedup.done(user, id, answer.clone());
        }
        self.metrics
            .relayed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Some(answer))
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

    /// Checks that this connection may save and gives the save its version. With a
    /// message `id` this user sent recently, there is nothing to save:
    /// [`BeginSave::Duplicate`] carries the first save's answer, and a duplicate of a save
    /// still being committed ([`BeginSave::Waiting`]) is answered when that one is.
    pub fn begin_save(
        &self,
        out: &Outbox,
        user: &Arc<str>,
        id: Option<&str>,
        req: Option<u64>,
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
        st.save_version += 1;
        Ok(BeginSave::Save(st.save_version))
    }

    /// The save under `id` failed: the id is forgotten (a retry saves). Returns the
    /// duplicates that waited for it, to be told.
    pub fn fail_save(&self, user: &Arc<str>, id: &str) -> Vec<(Outbox, Option<u64>)> {
        self.lock().dedup.fail(user, id)
    }

    /// After the commit of save `version` by `user`: updates the cache (if newer) and
    /// sends `ovice_shared_data` to every other member, kept in the history too. With the
    /// save's message `id`, `reply` (the saver's `ovice_data_saved_success`) is remembered
    /// as its answer; returns the duplicates that waited for it.
    pub fn finish_save(
        &self,
        version: u64,
        user: &Arc<str>,
        doc: Arc<DataDocument>,
        id: Option<(&str, Utf8Bytes)>,
    ) -> Vec<(Outbox, Option<u64>)> {
        let mut st = self.lock();
        let waiters = match id {
            Some((id, reply)) => st.dedup.finish(
                user,
                id,
                Answer {
                    reply: Some(reply),
                    seq: None,
                },
            ),
            None => Vec::new(),
        };
        if st.data.as_ref().is_none_or(|d| d.version < version) {
            st.data = Some(DataCache {
                doc: doc.clone(),
                version,
            });
        }
        let seq = st.history.next_seq();
        let frame = self.plugin_frame(Some(seq), PlatformToPlugin::SharedData((*doc).clone()));
        let audience = Audience::AllBut(user.clone());
        st.fan_out(|key| audience.includes(key).then_some(&frame));
        st.history.push(user.clone(), audience, frame);
        waiters
    }
}

/// What [`Room::begin_save`] decided.
pub enum BeginSave {
    /// Save, as this version.
    Save(u64),
    /// Already saved under this id: answer as the first time.
    Duplicate(Answer),
    /// Already being saved under this id: the first save's commit answers this one too.
    Waiting,
}
