//! `presence` frames (approach, link, unlink, move away) and `ovice_get_participants`.

use std::sync::Arc;

use meetbridge_protocol::bridge::PresenceFrame;
use meetbridge_protocol::ovice::PlatformToPlugin;

use super::Session;
use crate::refusal::Refusal;
use crate::room::Room;

impl Session {
    /// Moves this connection's presence on the object; the room announces the change
    /// and replays what was missed after `since`. The session remembers where it is
    /// present, to leave those rooms when the connection ends, and follows the space's
    /// floor from then on. The `ack` of a presence that leaves it present carries the
    /// object's latest `seq`, where a resume of this connection starts.
    pub(super) fn presence(&mut self, f: PresenceFrame) -> Result<(), Refusal> {
        let room = self.room(&f.object)?;
        self.follow_floor(room.space_id());
        let present = room.presence(&self.out, &self.user, &self.identity, f.status, f.since);
        // Read after the connection is a member: every frame above it reaches this socket.
        let head = present.then(|| room.head()).filter(|&h| h > 0);
        let known = self.present.iter().position(|r| Arc::ptr_eq(r, &room));
        match (present, known) {
            (true, None) => self.present.push(room),
            (false, Some(i)) => {
                self.present.swap_remove(i);
            }
            _ => {}
        }
        self.out.ack(f.req, head);
        Ok(())
    }

    /// `ovice_participants`: the members, this user marked as self.
    pub(super) fn get_participants(&self, room: &Room, req: Option<u64>) -> Result<(), Refusal> {
        room.require_member(&self.user, self.out.id())?;
        let list = room.participants(&self.user);
        self.out
            .send_text(room.plugin_frame(None, PlatformToPlugin::Participants(list)));
        self.out.ack(req, None);
        Ok(())
    }
}
