//! Relay and saved data on one object: `ovice_broadcast_message`, `ovice_emit_message`,
//! `ovice_get_data`, `ovice_save_and_emit_data`.
//!
//! A relayed message is encoded once, outside the room lock; under the lock it only gets
//! its sequence number spliced in, goes into the history, and is queued (the same bytes)
//! to every recipient.

use std::sync::Arc;

use meetbridge_protocol::bridge::ErrorCode;
use meetbridge_protocol::ovice::{DataDocument, PlatformToPlugin};

use crate::history::Audience;
use crate::outbox::Outbox;
use crate::room::{DataCache, Room};

/// Why a request on an object was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
}

impl Refusal {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
        }
    }

    pub fn not_member(object: &str) -> Self {
        Refusal::new(
            ErrorCode::NotMember,
            format!("this connection is not subscribed to or joined to object `{object}`; send presence first"),
        )
    }
}

impl Room {
    /// Relays an encoded `ovice_message` (`message_json`, the whole `{type, payload}`)
    /// from `user` to every other member, or to `to` only. Returns its sequence number.
    pub fn relay(
        &self,
        out: &Outbox,
        user: &Arc<str>,
        to: Option<&str>,
        message_json: &str,
    ) -> Result<u64, Refusal> {
        let mut st = self.lock();
        let sender_present = st
            .members
            .get(user)
            .is_some_and(|m| m.conns.iter().any(|c| c.out.id() == out.id()));
        if !sender_present {
            return Err(Refusal::not_member(&self.def.id));
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
        let frame: axum::extract::ws::Utf8Bytes = format!(
            "{{\"op\":\"plugin\",\"object\":{},\"seq\":{seq},\"message\":{message_json}}}",
            self.id_json
        )
        .into();
        for (key, m) in &st.members {
            if audience.includes(key) {
                for c in &m.conns {
                    c.out.send_text(frame.clone());
                }
            }
        }
        st.history.push(user.clone(), audience, frame);
        self.metrics
            .relayed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(seq)
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

    /// Checks that this connection may save and gives the save its version.
    pub fn begin_save(&self, out: &Outbox, user: &str) -> Result<u64, Refusal> {
        let mut st = self.lock();
        let present = st
            .members
            .get(user)
            .is_some_and(|m| m.conns.iter().any(|c| c.out.id() == out.id()));
        if !present {
            return Err(Refusal::not_member(&self.def.id));
        }
        st.save_version += 1;
        Ok(st.save_version)
    }

    /// After the commit of save `version` by `user`: updates the cache (if newer) and
    /// sends `ovice_shared_data` to every other member, kept in the history too.
    pub fn finish_save(&self, version: u64, user: &Arc<str>, doc: Arc<DataDocument>) {
        let mut st = self.lock();
        if st.data.as_ref().is_none_or(|d| d.version < version) {
            st.data = Some(DataCache {
                doc: doc.clone(),
                version,
            });
        }
        let seq = st.history.next_seq();
        let frame = self.plugin_frame(Some(seq), PlatformToPlugin::SharedData((*doc).clone()));
        for (key, m) in &st.members {
            if key != user {
                for c in &m.conns {
                    c.out.send_text(frame.clone());
                }
            }
        }
        st.history
            .push(user.clone(), Audience::AllBut(user.clone()), frame);
    }
}
