//! `ovice_emit_message`: to one member of the object, named by `to`.

use meetbridge_protocol::ovice::OutgoingMessage;

use super::Session;
use crate::refusal::Refusal;
use crate::room::Room;

impl Session {
    /// The protocol's parser has made sure `to` is there; the room refuses a `to` who is
    /// not a member (`recipient_not_member`).
    pub(super) fn emit(
        &self,
        room: &std::sync::Arc<Room>,
        req: Option<u64>,
        id: Option<&str>,
        mut message: OutgoingMessage,
    ) -> Result<(), Refusal> {
        let to = message.to.take().unwrap_or_default();
        self.relay(room, req, id, message, Some(to))
    }
}
