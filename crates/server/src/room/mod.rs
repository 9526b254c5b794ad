//! One object at runtime: who is present and how, its history, its recent message ids and
//! its cached saved data. Everything about an object happens under its own lock, so events
//! about it reach every member in one order, and other objects never wait on it.
//!
//! The state is private to this module: the room offers operations ([`members`]: presence
//! and participants, [`relay`]: relayed messages and saves, [`Room::replay`]: history),
//! and nobody outside reaches into it.

mod dedup;
mod history;
mod members;
pub mod relay;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::ws::Utf8Bytes;
use meetbridge_protocol::bridge::{Identity, ServerFrame, ServerPluginFrame};
use meetbridge_protocol::ovice::{
    DataDocument, ObjectType, Participant, PlatformToPlugin, PresenceStatus,
};

pub use dedup::{Answer, DedupWindow};
pub use history::{Page, Replay, Window};

use crate::metrics::Metrics;
use crate::outbox::{ConnId, Outbox};
use crate::refusal::Refusal;
use crate::store::ObjectDef;
use dedup::Dedup;
use history::History;

/// Most history frames sent in answer to one `since`.
pub const MAX_REPLAY: usize = 10_000;

pub struct Room {
    def: Arc<ObjectDef>,
    /// The object id as a JSON string, to splice into pre-encoded frames.
    id_json: String,
    state: Mutex<RoomState>,
    metrics: Arc<Metrics>,
}

struct RoomState {
    members: HashMap<Arc<str>, Member>,
    next_order: u64,
    history: History,
    /// The saved document as last committed (or loaded), `None` until first needed.
    data: Option<DataCache>,
    /// Version handed to the last submitted save; commits apply only if newer.
    save_version: u64,
    /// Recent message ids per user (idempotent sends).
    dedup: Dedup,
}

struct DataCache {
    doc: Arc<DataDocument>,
    version: u64,
}

struct Member {
    identity: Arc<Identity>,
    status: PresenceStatus,
    order: u64,
    conns: Vec<ConnEntry>,
}

struct ConnEntry {
    out: Outbox,
    linked: bool,
}

impl RoomState {
    /// Is this connection of `user` present on the object? The one membership rule.
    fn has_conn(&self, user: &str, conn: ConnId) -> bool {
        self.members
            .get(user)
            .is_some_and(|m| m.conns.iter().any(|c| c.out.id() == conn))
    }

    /// Queues to every connection of every member the frame `frame_for` picks for that
    /// member's user key (`None`: nothing for them). The one fan-out loop.
    fn fan_out<'f>(&self, frame_for: impl Fn(&Arc<str>) -> Option<&'f Utf8Bytes>) {
        for (key, m) in &self.members {
            if let Some(frame) = frame_for(key) {
                for c in &m.conns {
                    c.out.send_text(frame.clone());
                }
            }
        }
    }
}

impl Room {
    pub fn new(def: ObjectDef, window: Window, dedup: DedupWindow, metrics: Arc<Metrics>) -> Self {
        Room {
            id_json: serde_json::to_string(&def.id).unwrap_or_default(),
            def: Arc::new(def),
            state: Mutex::new(RoomState {
                members: HashMap::new(),
                next_order: 0,
                history: History::new(window),
                data: None,
                save_version: 0,
                dedup: Dedup::new(dedup),
            }),
            metrics,
        }
    }

    /// The object's id.
    pub fn id(&self) -> &str {
        &self.def.id
    }

    /// The space the object is in.
    pub fn space_id(&self) -> &str {
        &self.def.space_id
    }

    fn lock(&self) -> MutexGuard<'_, RoomState> {
        // A panic while holding the lock cannot leave the state half-updated in a way that
        // matters more than losing the room; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Only a connection that is present on the object may send to it.
    pub fn require_member(&self, user: &str, conn: ConnId) -> Result<(), Refusal> {
        let st = self.lock();
        self.member_check(&st, user, conn)
    }

    fn member_check(&self, st: &RoomState, user: &str, conn: ConnId) -> Result<(), Refusal> {
        if st.has_conn(user, conn) {
            Ok(())
        } else {
            Err(Refusal::not_member(&self.def.id))
        }
    }

    /// The participant record for `identity` as this object's plugin sees it.
    pub fn participant(
        &self,
        identity: &Identity,
        status: PresenceStatus,
        is_self: bool,
    ) -> Participant {
        let id = identity.id.as_source();
        Participant {
            id: identity.id.clone(),
            email: if self.def.settings.share_email {
                identity.email.clone()
            } else {
                None
            },
            name: identity.name.clone(),
            object_id: self.def.id.clone(),
            object_type: self.def.object_type,
            avatar_url: identity.avatar_url.clone(),
            workspace_id: identity.workspace_id.clone(),
            is_host: Some(
                self.def.object_type == ObjectType::Dynamic
                    && self.def.creator.as_deref() == Some(id.as_str()),
            ),
            is_self: Some(is_self),
            is_visitor: identity.is_visitor,
            status: Some(status),
            language: identity.language.clone(),
        }
    }

    /// An encoded `plugin` frame of this object.
    pub fn plugin_frame(&self, seq: Option<u64>, message: PlatformToPlugin) -> Utf8Bytes {
        ServerFrame::Plugin(ServerPluginFrame {
            object: self.def.id.clone(),
            seq,
            message,
        })
        .to_text()
        .into()
    }

    /// What `user`, who saw everything up to `since`, is owed from the history: at most
    /// `limit` frames; with `own`, also what `user` sent (a `history` request; a resume
    /// leaves them out).
    pub fn replay(&self, since: u64, user: &str, limit: usize, own: bool) -> Replay {
        self.lock().history.replay(since, user, limit, own)
    }

    /// The newest `limit` frames below `before` and above `since` that `user` sent or was
    /// sent, oldest first (a backward `history` request).
    pub fn page_back(&self, since: u64, before: u64, user: &str, limit: usize) -> Page {
        self.lock().history.page_back(since, before, user, limit)
    }
}
