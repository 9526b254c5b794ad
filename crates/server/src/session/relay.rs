//! `ovice_broadcast_message`, and the relay path it shares with `ovice_emit_message`.

use meetbridge_protocol::ovice::{OutgoingMessage, PlatformToPlugin, RelayedMessage};

use std::sync::Arc;

use super::Session;
use crate::refusal::Refusal;
use crate::room::Room;

impl Session {
    /// To every other member of the object.
    pub(super) fn broadcast(
        &self,
        room: &Arc<Room>,
        req: Option<u64>,
        id: Option<&str>,
        message: OutgoingMessage,
    ) -> Result<(), Refusal> {
        self.relay(room, req, id, message, None)
    }

    /// Stamps the message with its sender and object (refusing a plugin's false claim of
    /// either), encodes it once, outside the room lock, for every recipient, and has the
    /// room relay it to `to` or to all but the sender. Answered with the `ack` carrying
    /// its `seq`; a duplicate `id` is answered as the first time.
    pub(super) fn relay(
        &self,
        room: &Arc<Room>,
        req: Option<u64>,
        id: Option<&str>,
        message: OutgoingMessage,
        to: Option<String>,
    ) -> Result<(), Refusal> {
        meetbridge_protocol::sender::check(&message, Some(&self.user), room.id())?;
        let relayed = PlatformToPlugin::Message(RelayedMessage {
            source: self.user.to_string(),
            event: message.event,
            object_id: room.id().to_owned(),
            message: message.message,
            to: to.clone(),
        });
        let json = serde_json::to_string(&relayed).map_err(|e| Refusal::internal(e.to_string()))?;
        let sent = room.relay(
            &self.out,
            &self.user,
            to.as_deref(),
            id,
            req,
            &json,
            self.received,
        )?;
        if let Some(answer) = sent {
            answer.send_to(&self.out, req);
        }
        Ok(())
    }
}
