//! One object at runtime: who is present and how, its history, its recent message ids and
//! its cached saved data. Everything about an object happens under its own lock, so events
//! about it reach every member in one order, and other objects never wait on it.
//!
//! The state is private to this module: the room offers operations ([`members`]: presence
//! and participants, [`relay`]: relayed messages and saves, [`Room::replay`]: history),
//! and nobody outside reaches into it.

mod cluster;
mod dedup;
mod history;
mod members;
pub mod relay;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;
use meetbridge_protocol::bridge::{Identity, ServerFrame, ServerPluginFrame};
use meetbridge_protocol::ovice::{
    DataDocument, ObjectType, Participant, PlatformToPlugin, PresenceStatus,
};

pub use dedup::{Answer, DedupWindow};
pub use history::{now_ms, HistoryBudget, Page, Replay, Window};

use crate::cluster::Cluster;
use crate::metrics::Metrics;
use crate::outbox::{ConnId, Outbox};
use crate::refusal::Refusal;
use crate::store::{LogQuery, ObjectDef, Store};
use dedup::Dedup;
use history::History;

/// Most history frames sent in answer to one `since`.
pub const MAX_REPLAY: usize = 10_000;

pub struct Room {
    /// The object's id and space, which never change.
    id: String,
    space_id: String,
    /// The object's definition as last stored: an admin may edit it while the room lives
    /// (settings, type, creator), and what follows reads the new one.
    def: RwLock<Arc<ObjectDef>>,
    /// Where the object's log, saved data and remembered ids are durable.
    store: Arc<dyn Store>,
    /// The object id as a JSON string, to splice into pre-encoded frames.
    id_json: String,
    state: Mutex<RoomState>,
    metrics: Arc<Metrics>,
    /// How long a connection that unsubscribed may still save and broadcast here
    /// (`--departure-grace-secs`): its plugin hears its own departure and may hand its
    /// document over before its iframe goes. It no longer receives anything.
    departure_grace: Duration,
    /// This node's link to the others, in cluster mode.
    cluster: Option<Arc<Cluster>>,
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
    /// Connections that just unsubscribed, and until when: each may still save and
    /// broadcast on the object until then (its plugin hands over as it goes).
    departed: Vec<(Arc<str>, ConnId, Instant)>,
    /// Someone took the lock since the last sweep ([`Room::sweep`]): the room is in use.
    touched: bool,
    /// When the sweeps first found it unused and empty.
    quiet_since: Option<Instant>,
    /// Users present through other nodes (cluster mode).
    remote: HashMap<Arc<str>, cluster::Remote>,
    /// Whether this node consumes the object's frames from the stream (cluster mode).
    consuming: bool,
    /// Cluster mode: each present user's summed status as last announced here. A user
    /// joined through one node and subscribed through another who unlinks has `left`,
    /// though no node's own status says so; this remembers it.
    shown: HashMap<Arc<str>, PresenceStatus>,
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
    /// Frames up to this `seq` reached the connection before (it resumed with `since`
    /// beyond what this node had): the stream's copies are not sent again.
    skip_upto: u64,
}

impl RoomState {
    /// Whether `conn` unsubscribed less than the departure grace ago.
    fn departing(&self, user: &str, conn: ConnId) -> bool {
        let now = Instant::now();
        self.departed
            .iter()
            .any(|(u, c, until)| &**u == user && *c == conn && now < *until)
    }

    /// Notes (or forgets, `gone: false`) that `conn` just unsubscribed, for `grace`; old
    /// notes expire.
    fn note_departure(&mut self, user: &Arc<str>, conn: ConnId, gone: bool, grace: Duration) {
        let now = Instant::now();
        self.departed
            .retain(|(u, c, until)| !(u == user && *c == conn) && now < *until);
        if gone && !grace.is_zero() {
            self.departed.push((user.clone(), conn, now + grace));
        }
    }

    /// `user`'s summed status: this node's connections and other nodes'.
    /// In cluster mode: the summed status last announced here (see [`RoomState::shown`]).
    fn status_of(&self, user: &str) -> Option<PresenceStatus> {
        if let Some(shown) = self.shown.get(user) {
            return Some(*shown);
        }
        let here = self.members.get(user).map(|m| m.status);
        cluster::combine(here.into_iter().chain(self.remote_status(user)))
    }

    /// Nobody is present (here or, in cluster mode, through another node) and no departure
    /// is in its grace: the room holds nothing that
    /// is not in the store, and may be unloaded once nobody else holds it either.
    fn empty(&self, now: Instant) -> bool {
        self.members.is_empty()
            && self.remote.is_empty()
            && self.departed.iter().all(|(_, _, until)| now >= *until)
    }

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

/// What every room of the server is bounded by (the flags), built once by the hub.
#[derive(Clone)]
pub struct RoomLimits {
    pub window: Window,
    pub dedup: DedupWindow,
    pub departure_grace: Duration,
    /// The history bytes all rooms together may hold in memory.
    pub budget: Arc<HistoryBudget>,
}

impl Room {
    /// The object's room, resumed from the store: numbering goes on from its log, the
    /// newest part of the log is in memory, and the message ids it remembers are known.
    /// A store that cannot be read leaves the room empty (and logs it). The same call
    /// brings back a room that was unloaded while idle ([`Room::sweep`]): nothing of it
    /// lived only in memory.
    /// In cluster mode the store is read up to what is archived for sure, and the stream
    /// gives the rest.
    pub fn new(
        def: ObjectDef,
        limits: &RoomLimits,
        metrics: Arc<Metrics>,
        store: Arc<dyn Store>,
        cluster: Option<Arc<Cluster>>,
    ) -> Self {
        let (window, dedup_window) = (limits.window, limits.dedup);
        let id = def.id.clone();
        let upto = match (store.last_seq(&id), &cluster) {
            (Ok(last), Some(c)) => Ok(last.min(c.archive_floor())),
            (last, _) => last,
        };
        let tail_query = LogQuery {
            backward: true,
            before: upto.as_ref().map_or(u64::MAX, |u| u.saturating_add(1)),
            ..LogQuery::after(0, window.max_count)
        };
        let (last_seq, tail) = match (upto, store.read_log(&id, &tail_query)) {
            (Ok(last), Ok(page)) => (last, page.entries),
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(object = %id, error = %e, "reading the message log failed");
                (0, Vec::new())
            }
        };
        let mut dedup = Dedup::new(dedup_window);
        if dedup.enabled() {
            let since = history::now_ms() - dedup_window.max_age.as_millis() as i64;
            match store.remembered_ids(&id, since) {
                Ok(ids) => {
                    for r in ids {
                        let answer = Answer {
                            reply: r.reply.map(Into::into),
                            seq: r.seq,
                        };
                        dedup.done(&Arc::from(r.user), &r.id, answer);
                    }
                }
                Err(e) => {
                    tracing::error!(object = %id, error = %e, "reading remembered ids failed")
                }
            }
        }
        Room {
            id_json: serde_json::to_string(&def.id).unwrap_or_default(),
            space_id: def.space_id.clone(),
            id,
            def: RwLock::new(Arc::new(def)),
            store,
            state: Mutex::new(RoomState {
                members: HashMap::new(),
                next_order: 0,
                history: History::resume(window, limits.budget.clone(), last_seq, tail),
                data: None,
                save_version: 0,
                dedup,
                departed: Vec::new(),
                touched: true,
                quiet_since: None,
                remote: HashMap::new(),
                consuming: false,
                shown: HashMap::new(),
            }),
            metrics,
            cluster,
            departure_grace: limits.departure_grace,
        }
    }

    /// The object's definition as it stands.
    pub fn def(&self) -> Arc<ObjectDef> {
        self.def.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Takes an edited definition (same id and space): settings, type and creator apply
    /// from the next presence change or message on.
    pub fn redefine(&self, def: ObjectDef) {
        debug_assert_eq!(def.id, self.id);
        *self.def.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(def);
    }

    /// The object's settings (e-mail sharing, retention).
    pub fn settings(&self) -> crate::store::ObjectSettings {
        self.def().settings.clone()
    }

    /// The object's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The space the object is in.
    pub fn space_id(&self) -> &str {
        &self.space_id
    }

    /// The room's state, marked as in use (see [`Room::sweep`]).
    fn lock(&self) -> MutexGuard<'_, RoomState> {
        let mut st = self.lock_quietly();
        st.touched = true;
        st
    }

    fn lock_quietly(&self) -> MutexGuard<'_, RoomState> {
        // A panic while holding the lock cannot leave the state half-updated in a way that
        // matters more than losing the room; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The timer's look at the room: history past its age leaves memory now, not at the
    /// next message. Returns whether the room has been unused (nobody took its lock) and
    /// empty ([`RoomState::empty`]) for `idle_after`, so the hub may unload it; `None`
    /// never.
    pub fn sweep(&self, now: Instant, idle_after: Option<Duration>) -> bool {
        let mut st = self.lock_quietly();
        st.history.expire(now);
        if std::mem::take(&mut st.touched) || !st.empty(now) {
            st.quiet_since = None;
            return false;
        }
        let since = *st.quiet_since.get_or_insert(now);
        idle_after.is_some_and(|idle| now.duration_since(since) >= idle)
    }

    /// Still unused and empty since the last [`Room::sweep`] (the hub asks again while it
    /// holds the registry, so that nobody can reach the room meanwhile).
    pub fn still_idle(&self, now: Instant) -> bool {
        let st = self.lock_quietly();
        !st.touched && st.empty(now)
    }

    /// Bytes of history this room holds in memory.
    pub fn history_bytes(&self) -> usize {
        self.lock_quietly().history.bytes()
    }

    /// Only a connection that is present on the object may read from it.
    pub fn require_member(&self, user: &str, conn: ConnId) -> Result<(), Refusal> {
        if self.lock().has_conn(user, conn) {
            Ok(())
        } else {
            Err(Refusal::not_member(&self.id))
        }
    }

    /// Only a connection that is present on the object, or left it less than the
    /// departure grace ago, may broadcast, emit or save on it.
    fn member_check(&self, st: &RoomState, user: &str, conn: ConnId) -> Result<(), Refusal> {
        if st.has_conn(user, conn) || st.departing(user, conn) {
            Ok(())
        } else {
            Err(Refusal::not_member(&self.id))
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
        let def = self.def();
        Participant {
            id: identity.id.clone(),
            email: if def.settings.share_email {
                identity.email.clone()
            } else {
                None
            },
            name: identity.name.clone(),
            object_id: self.id.clone(),
            object_type: def.object_type,
            avatar_url: identity.avatar_url.clone(),
            workspace_id: identity.workspace_id.clone(),
            is_host: Some(
                def.object_type == ObjectType::Dynamic
                    && def.creator.as_deref() == Some(id.as_str()),
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
            object: self.id.clone(),
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
        let mut st = self.lock();
        self.replay_in(&mut st, since, user, limit, own)
    }

    /// [`Room::replay`] under the lock: from memory, and from the store for what is older
    /// than the memory's tail.
    fn replay_in(
        &self,
        st: &mut RoomState,
        since: u64,
        user: &str,
        limit: usize,
        own: bool,
    ) -> Replay {
        let floor = st.history.floor();
        if since.saturating_add(1) >= floor {
            return st.history.replay(since, user, limit, own);
        }
        let first_durable = match self.store.log_bounds(&self.id) {
            Ok(bounds) => bounds.map_or(floor, |(first, _)| first.min(floor)),
            Err(e) => {
                tracing::error!(object = %self.id, error = %e, "reading the message log failed");
                floor
            }
        };
        let missed = (since + 1 < first_durable).then(|| (since + 1, first_durable - 1));
        let query = LogQuery {
            after: since,
            before: floor,
            limit,
            backward: false,
            viewer: Some((user.to_owned(), own)),
        };
        let older = match self.store.read_log(&self.id, &query) {
            Ok(page) => page,
            Err(e) => {
                tracing::error!(object = %self.id, error = %e, "reading the message log failed");
                // What could not be read is reported as missed rather than skipped silently.
                let mut replay = st.history.replay(floor - 1, user, limit, own);
                replay.missed = Some((since + 1, floor - 1));
                return replay;
            }
        };
        let mut frames: Vec<Utf8Bytes> = older
            .entries
            .iter()
            .map(|e| e.frame.clone().into())
            .collect();
        if older.cut {
            let upto = older.entries.last().map_or(since, |e| e.seq);
            return Replay {
                missed,
                frames,
                upto,
            };
        }
        let newer = st
            .history
            .replay(floor - 1, user, limit - frames.len(), own);
        frames.extend(newer.frames);
        Replay {
            missed,
            frames,
            upto: newer.upto,
        }
    }

    /// The newest `limit` frames below `before` and above `since` that `user` sent or was
    /// sent, oldest first (a backward `history` request): from memory, then from the store
    /// once the memory's tail is exhausted.
    pub fn page_back(&self, since: u64, before: u64, user: &str, limit: usize) -> Page {
        let mut st = self.lock();
        let mut page = st.history.page_back(since, before, user, limit);
        let floor = st.history.floor();
        drop(st);
        if !page.start || since.saturating_add(1) >= floor {
            return page;
        }
        let query = LogQuery {
            after: since,
            before: floor.min(before),
            limit: limit - page.frames.len(),
            backward: true,
            viewer: Some((user.to_owned(), true)),
        };
        match self.store.read_log(&self.id, &query) {
            Ok(older) => {
                page.start = !older.cut;
                if let Some(first) = older.entries.first() {
                    page.from = first.seq;
                }
                let mut frames: Vec<Utf8Bytes> =
                    older.entries.into_iter().map(|e| e.frame.into()).collect();
                frames.append(&mut page.frames);
                page.frames = frames;
            }
            Err(e) => {
                tracing::error!(object = %self.id, error = %e, "reading the message log failed");
                // Not the start: the client may ask again.
                page.start = false;
            }
        }
        page
    }
}
