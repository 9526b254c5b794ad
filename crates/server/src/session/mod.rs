//! What one connection is (a signed identity, maybe scoped to a space) and where it is
//! present, and the dispatch of its frames: one file per kind, as mini-redis has one per
//! command. [`presence`] (presence, `ovice_get_participants`), [`relay`]
//! (`ovice_broadcast_message`), [`emit`] (`ovice_emit_message`), [`data`]
//! (`ovice_get_data`, `ovice_save_and_emit_data`), [`history`] (history, `meetbridge_get_history`).
//!
//! The socket loop ([`crate::socket`]) hands every text frame to [`Session::on_text`]; a
//! refused request becomes one `error` frame here, with the request's `req` and object.

mod data;
mod emit;
mod history;
mod presence;
mod relay;

use std::sync::Arc;

use meetbridge_protocol::bridge::{ClientFrame, ErrorCode, Identity, PingFrame, ServerFrame};
use meetbridge_protocol::ovice::PluginToPlatform;
use meetbridge_protocol::Parsed;

use crate::auth::{
    self,
    token::{Claims, Role},
};
use crate::hub::Hub;
use crate::outbox::Outbox;
use crate::refusal::Refusal;
use crate::room::Room;

/// The largest refused frame whose `req` and `object` are still read for the error.
const RATE_LIMITED_HEAD_BYTES: usize = 1024;

pub struct Session {
    hub: Arc<Hub>,
    out: Outbox,
    user: Arc<str>,
    identity: Arc<Identity>,
    space: Option<String>,
    /// Without a space scope, only an admin opens spaces.
    role: Role,
    present: Vec<Arc<Room>>,
    /// When the frame being handled arrived (the relay histogram starts there).
    received: std::time::Instant,
    /// The spaces whose floor changes this connection hears about (`floor` frames).
    floors: Vec<String>,
}

/// The `req` and `object` of a frame that could not be read as a whole: each read on its
/// own, so either survives the other (or any other field) being malformed.
type Head = meetbridge_protocol::bridge::FrameHead;

impl Session {
    /// A session for the holder of `claims`, writing to `out`. Sends the `welcome`.
    pub fn start(hub: Arc<Hub>, out: Outbox, claims: Claims) -> Self {
        let mut session = Session {
            user: claims.sub.as_str().into(),
            identity: Arc::new(claims.participant()),
            role: claims.role,
            space: claims.space,
            present: Vec::new(),
            received: std::time::Instant::now(),
            floors: Vec::new(),
            out,
            hub,
        };
        session.out.send(&ServerFrame::Welcome(
            meetbridge_protocol::bridge::Welcome {
                participant: (*session.identity).clone(),
                limits: session.hub.limits_frame(),
            },
        ));
        if let Some(space) = session.space.clone() {
            session.follow_floor(&space);
        }
        session
    }

    /// From now on this connection hears about changes of `space`'s floor.
    fn follow_floor(&mut self, space: &str) {
        if !self.floors.iter().any(|s| s == space) {
            self.hub.floors.follow(space, &self.out);
            self.floors.push(space.to_owned());
        }
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// The connection is gone: its presence ends everywhere, without a word to it.
    pub fn end(&mut self) {
        for room in std::mem::take(&mut self.present) {
            room.remove_conn(&self.user, self.out.id());
        }
        for space in std::mem::take(&mut self.floors) {
            self.hub.floors.unfollow(&space, self.out.id());
        }
    }

    /// A text frame over the connection's rate: dropped unread, and said so. Only a
    /// small frame is looked into for its `req` and `object` (bounded work for a frame
    /// that is being refused).
    pub fn rate_limited(&self, text: &str) {
        let h = if text.len() <= RATE_LIMITED_HEAD_BYTES {
            Head::read(text)
        } else {
            Head::default()
        };
        let limits = &self.hub.limits;
        let message = format!(
            "over {} frames or {} bytes per second on this connection; frame dropped",
            limits.max_frames_per_second, limits.max_bytes_per_second
        );
        self.refuse(
            h.req,
            h.object,
            Refusal::new(ErrorCode::RateLimited, message),
            None,
        );
    }

    /// A binary frame: not part of the protocol.
    pub fn binary(&self) {
        let refusal = Refusal::new(
            ErrorCode::BadFrame,
            "binary frames are not used; send JSON text frames",
        );
        self.refuse(None, None, refusal, None);
    }

    fn refuse(
        &self,
        req: Option<u64>,
        object: Option<String>,
        refusal: Refusal,
        field: Option<String>,
    ) {
        self.out.refuse(req, object, refusal, field);
    }

    /// Reads one text frame and acts on it.
    pub fn on_text(&mut self, text: &str) {
        self.received = std::time::Instant::now();
        match ClientFrame::parse(text) {
            Parsed::Message(frame) => {
                let req = frame.req();
                let object = match &frame {
                    ClientFrame::Presence(f) => Some(f.object.clone()),
                    ClientFrame::Plugin(f) => Some(f.object.clone()),
                    ClientFrame::History(f) => Some(f.object.clone()),
                    ClientFrame::Ping(_) => None,
                };
                if let Err(refusal) = self.dispatch(frame) {
                    self.refuse(req, object, refusal, None);
                }
            }
            Parsed::Ignored(ignored) => {
                let h = Head::read(text);
                let refusal = Refusal::new(
                    ErrorCode::BadFrame,
                    format!("not a meetbridge frame: {}", ignored.reason),
                );
                self.refuse(h.req, h.object, refusal, None);
            }
            Parsed::Invalid(invalid) => {
                let h = Head::read(text);
                let in_message =
                    invalid.field == "message" || invalid.field.starts_with("message.");
                let code = if in_message || invalid.is_over_limit() {
                    ErrorCode::for_invalid(&invalid)
                } else {
                    ErrorCode::BadFrame
                };
                let refusal = Refusal::new(code, invalid.to_string());
                self.refuse(h.req, h.object, refusal, Some(invalid.field));
            }
        }
    }

    fn dispatch(&mut self, frame: ClientFrame) -> Result<(), Refusal> {
        match frame {
            ClientFrame::Ping(PingFrame { req }) => {
                self.out.send(&ServerFrame::Pong(PingFrame { req }));
                Ok(())
            }
            ClientFrame::Presence(f) => self.presence(f),
            ClientFrame::History(f) => self.history(f),
            ClientFrame::Plugin(f) => {
                let room = self.room(&f.object)?;
                let (req, id) = (f.req, f.id);
                match f.message {
                    PluginToPlatform::GetParticipants => self.get_participants(&room, req),
                    PluginToPlatform::BroadcastMessage(m) => {
                        self.broadcast(&room, req, id.as_deref(), m)
                    }
                    PluginToPlatform::EmitMessage(m) => self.emit(&room, req, id.as_deref(), m),
                    PluginToPlatform::GetData => self.get_data(room, req),
                    PluginToPlatform::SaveAndEmitData(doc) => self.save(room, req, id, doc),
                    PluginToPlatform::GetHistory(h) => self.get_history(&room, req, h),
                }
            }
        }
    }

    /// The object, if it exists and this connection's token may open it.
    fn room(&self, object: &str) -> Result<Arc<Room>, Refusal> {
        match self.hub.room(object) {
            Some(room) if auth::space_allows(self.space.as_deref(), self.role, room.space_id()) => {
                Ok(room)
            }
            _ => Err(Refusal::unknown_object(object)),
        }
    }

    /// [`Session::room`], and this connection must be present on it.
    fn member_room(&self, object: &str) -> Result<Arc<Room>, Refusal> {
        let room = self.room(object)?;
        room.require_member(&self.user, self.out.id())?;
        Ok(room)
    }
}
