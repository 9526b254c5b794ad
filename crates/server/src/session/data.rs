//! The object's saved data: `ovice_get_data` and `ovice_save_and_emit_data`.
//!
//! A read is served from the room's cache, or loaded once from the store off the async
//! threads. A save is acknowledged only after its commit: the store's writer runs the
//! completion, in submission order, which replies to the saver, shares the document with
//! the other members and answers any duplicate that waited for it.

use std::sync::Arc;

use meetbridge_protocol::ovice::{DataDocument, PlatformToPlugin, SavedSuccess};

use super::Session;
use crate::auth::token::now_secs;
use crate::outbox::Outbox;
use crate::refusal::Refusal;
use crate::room::relay::BeginSave;
use crate::room::{Answer, Room};
use crate::store::{SavedDoc, StoreResult};

impl Session {
    pub(super) fn get_data(&self, room: Arc<Room>, req: Option<u64>) -> Result<(), Refusal> {
        room.require_member(&self.user, self.out.id())?;
        let reply = move |room: &Room, out: &Outbox, doc: &DataDocument| {
            out.send_text(room.plugin_frame(None, PlatformToPlugin::SavedData(doc.clone())));
            out.ack(req, None);
        };
        if let Some(doc) = room.cached_data() {
            reply(&room, &self.out, &doc);
            return Ok(());
        }
        // First read of this object since start: load it off the async threads.
        let store = self.hub.store.clone();
        let out = self.out.clone();
        tokio::spawn(async move {
            let id = room.id().to_owned();
            let loaded = tokio::task::spawn_blocking(move || store.load_data(&id)).await;
            let doc = match loaded {
                Ok(Ok(Some(saved))) => {
                    serde_json::from_str::<DataDocument>(&saved.json).map_err(|e| e.to_string())
                }
                Ok(Ok(None)) => Ok(DataDocument::new()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match doc {
                Ok(doc) => {
                    let doc = room.fill_data(doc);
                    reply(&room, &out, &doc);
                }
                Err(e) => {
                    tracing::error!(object = %room.id(), error = %e, "loading saved data failed");
                    let refusal = Refusal::internal("could not load the saved data; retry");
                    out.refuse(req, Some(room.id().to_owned()), refusal, None);
                }
            }
        });
        Ok(())
    }

    pub(super) fn save(
        &self,
        room: Arc<Room>,
        req: Option<u64>,
        message_id: Option<String>,
        doc: DataDocument,
    ) -> Result<(), Refusal> {
        let version = match room.begin_save(&self.out, &self.user, message_id.as_deref(), req)? {
            BeginSave::Save(version) => version,
            // Saved already under this id: the same success reply, no second save.
            BeginSave::Duplicate(answer) => {
                answer.send_to(&self.out, req);
                return Ok(());
            }
            // Being saved under this id: answered by that save's commit.
            BeginSave::Waiting => return Ok(()),
        };
        let updated_at = now_secs();
        let json = match serde_json::to_string(&doc) {
            Ok(json) => json,
            Err(e) => {
                if let Some(message_id) = &message_id {
                    room.fail_save(&self.user, message_id);
                }
                return Err(Refusal::internal(e.to_string()));
            }
        };
        let doc = Arc::new(doc);
        let out = self.out.clone();
        let user = self.user.clone();
        let metrics = self.hub.metrics.clone();
        let id = room.id().to_owned();
        // Runs on the store's writer thread, in submission order, after the commit.
        let done = Box::new(move |result: StoreResult<()>| match result {
            Ok(()) => {
                let success = PlatformToPlugin::DataSavedSuccess(SavedSuccess {
                    updated_at: Some(updated_at),
                    data: (*doc).clone(),
                });
                let reply = room.plugin_frame(None, success);
                let remembered = message_id.as_deref().map(|m| (m, reply.clone()));
                let waiters = room.finish_save(version, &user, doc.clone(), remembered);
                let answer = Answer {
                    reply: Some(reply),
                    seq: None,
                };
                answer.send_to(&out, req);
                for (waiter, req) in waiters {
                    answer.send_to(&waiter, req);
                }
                metrics
                    .saves
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Err(e) => {
                tracing::error!(object = %room.id(), error = %e, "save failed");
                let mut told = vec![(out.clone(), req)];
                if let Some(message_id) = &message_id {
                    told.extend(room.fail_save(&user, message_id));
                }
                for (out, req) in told {
                    let refusal = Refusal::internal("the data could not be saved; retry");
                    out.refuse(req, Some(room.id().to_owned()), refusal, None);
                }
            }
        });
        self.hub
            .store
            .save_data(&id, SavedDoc { json, updated_at }, done);
        Ok(())
    }
}
