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
use crate::room::Room;

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
        let updated_at = now_secs();
        let json = serde_json::to_string(&doc).map_err(|e| Refusal::internal(e.to_string()))?;
        let success = room.plugin_frame(
            None,
            PlatformToPlugin::DataSavedSuccess(SavedSuccess {
                updated_at: Some(updated_at),
                data: doc.clone(),
            }),
        );
        let begun = room.save(
            &self.out,
            &self.user,
            message_id.as_deref(),
            req,
            Arc::new(doc),
            json,
            updated_at,
            success,
        )?;
        match begun {
            // Answered by the commit.
            BeginSave::Submitted | BeginSave::Waiting => {}
            // Saved already under this id: the same success reply, no second save.
            BeginSave::Duplicate(answer) => answer.send_to(&self.out, req),
        }
        Ok(())
    }
}
