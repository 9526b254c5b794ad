//! `history` frames and a plugin's `meetbridge_get_history`: the object's past messages
//! this user may see, from the room's history, forwards from `since` or backwards from
//! `before` ("load earlier").

use meetbridge_protocol::bridge::{Ack, HistoryFrame};
use meetbridge_protocol::ovice::HistoryRequest;

use super::Session;
use crate::refusal::Refusal;
use crate::room::Room;

/// Most frames `history` returns at once.
const MAX_HISTORY_LIMIT: u32 = 1000;

impl Session {
    pub(super) fn history(&self, f: HistoryFrame) -> Result<(), Refusal> {
        let room = self.member_room(&f.object)?;
        self.send_history(&room, f);
        Ok(())
    }

    /// The host runtime turns it into a `history` frame; one sent raw is answered alike.
    pub(super) fn get_history(
        &self,
        room: &Room,
        req: Option<u64>,
        h: HistoryRequest,
    ) -> Result<(), Refusal> {
        room.require_member(&self.user, self.out.id())?;
        let frame = HistoryFrame {
            req,
            object: room.id().to_owned(),
            since: h.since,
            limit: h.limit,
            before: h.before,
            backward: h.backward,
        };
        self.send_history(room, frame);
        Ok(())
    }

    /// What is addressed to this user or was sent by them, then the `ack` that says how
    /// far the answer got.
    fn send_history(&self, room: &Room, f: HistoryFrame) {
        let limit = f.limit.unwrap_or(MAX_HISTORY_LIMIT).min(MAX_HISTORY_LIMIT) as usize;
        if f.is_backward() {
            let before = f.before.unwrap_or(u64::MAX);
            let page = room.page_back(f.since.unwrap_or(0), before, &self.user, limit);
            self.hub
                .metrics
                .replay_frames
                .observe_count(page.frames.len());
            for frame in page.frames {
                self.out.send_replayed(frame);
            }
            if let Some(req) = f.req {
                self.out.send_ack(Ack {
                    req,
                    seq: Some(page.upto),
                    from: Some(page.from),
                    start: page.start,
                });
            }
            return;
        }
        let mut replay = room.replay(f.since.unwrap_or(0), &self.user, limit, true);
        // Without `since` the client asked for whatever is kept: nothing is "missed".
        if f.since.is_none() {
            replay.missed = None;
        }
        let upto = replay.upto;
        self.hub
            .metrics
            .replay_frames
            .observe_count(replay.frames.len());
        replay.send_to(&self.out, room.id());
        self.out.ack(f.req, Some(upto));
    }
}
