//! The object registry: every known object's [`Room`], created from the store at startup
//! and when the admin API (or a participant, for dynamic objects) adds one, redefined when
//! an admin edits it and dropped when one deletes it. Objects added offline by the CLI
//! while the server runs are found on first use. Beside it, [`Floors`]: who follows which
//! space's floor.
//!
//! A room that nobody has used for `--room-idle-secs` is unloaded ([`Hub::sweep`]); the
//! next use brings it back from the store, as at startup.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use meetbridge_protocol::bridge::Limits;
use meetbridge_protocol::limits::{MAX_DATA_BYTES, MAX_MESSAGE_BYTES};
use meetbridge_protocol::space::FloorFrame;

use crate::cluster::Cluster;
use crate::config::LimitsConfig;
use crate::floor::Floors;
use crate::metrics::Metrics;
use crate::room::{DedupWindow, HistoryBudget, Room, RoomLimits, Window, MAX_REPLAY};
use crate::store::{ObjectDef, Retention, RetentionLimits, Store, StoreResult};

/// Log rows the pruner removes per transaction.
const PRUNE_BATCH: usize = 1000;

pub struct Hub {
    pub store: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
    pub limits: LimitsConfig,
    /// The connections following each space's floor.
    pub floors: Floors,
    /// Held while an object is checked and created on this server (one floor object per
    /// space); the quotas are the store's, atomic across servers.
    pub placing: tokio::sync::Mutex<()>,
    rooms: RwLock<HashMap<String, Arc<Room>>>,
    room_limits: RoomLimits,
    next_conn: AtomicU64,
    /// This node's link to the others, in cluster mode.
    pub cluster: Option<Arc<Cluster>>,
}

impl Hub {
    /// Loads every object of the store.
    pub fn new(
        store: Arc<dyn Store>,
        mut limits: LimitsConfig,
        metrics: Arc<Metrics>,
        cluster: Option<Arc<Cluster>>,
    ) -> StoreResult<Self> {
        // A resume replays up to a whole history window into the connection's queue at
        // once: the queue must hold it, or the returning client would be dropped as slow.
        let needed = limits.history_size.min(MAX_REPLAY) + 64;
        if limits.send_queue < needed {
            tracing::warn!(
                send_queue = limits.send_queue,
                needed,
                "send queue raised to hold a full history replay"
            );
            limits.send_queue = needed;
        }
        let room_limits = RoomLimits {
            window: Window {
                max_count: limits.history_size,
                max_age: Duration::from_secs(limits.history_age_secs),
                max_bytes: limits.history_bytes,
            },
            dedup: DedupWindow {
                max_count: limits.dedup_ids,
                max_age: Duration::from_secs(limits.dedup_age_secs),
                max_bytes: limits.dedup_bytes,
            },
            departure_grace: Duration::from_secs(limits.departure_grace_secs),
            budget: Arc::new(HistoryBudget::new(limits.history_total_bytes)),
        };
        let hub = Hub {
            store,
            metrics,
            limits,
            floors: Floors::default(),
            placing: tokio::sync::Mutex::new(()),
            rooms: RwLock::new(HashMap::new()),
            room_limits,
            next_conn: AtomicU64::new(1),
            cluster,
        };
        for def in hub.store.objects(None)? {
            hub.insert(def);
        }
        Ok(hub)
    }

    /// Makes an object (already stored) live. Its room reads its log tail and
    /// remembered ids from the store first, outside the registry's lock.
    pub fn insert(&self, def: ObjectDef) -> Arc<Room> {
        if let Some(room) = self
            .rooms
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&def.id)
        {
            return room.clone();
        }
        let id = def.id.clone();
        let room = Arc::new(Room::new(
            def,
            &self.room_limits,
            self.metrics.clone(),
            self.store.clone(),
            self.cluster.clone(),
        ));
        let mut rooms = self.rooms.write().unwrap_or_else(|e| e.into_inner());
        rooms.entry(id).or_insert(room).clone()
    }

    /// An edited object (already stored): its room, if loaded, reads the new definition
    /// (one not loaded reads it from the store when it next loads).
    pub fn redefine(&self, def: ObjectDef) {
        if let Some(room) = self.live_room(&def.id) {
            room.redefine(def);
        }
    }

    /// A deleted object (already gone from the store) is no longer live: new frames about
    /// it are answered `unknown_object`. Connections still present on it keep nothing of
    /// it but their own leaving.
    pub fn remove(&self, id: &str) -> Option<Arc<Room>> {
        self.rooms
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id)
    }

    /// A change of a space's floor made here (already stored): every socket of the space
    /// on this node is told, and so are the other nodes of a cluster.
    pub async fn floor_changed(&self, frame: FloorFrame) {
        if let Some(cluster) = &self.cluster {
            cluster.share_floor(&frame).await;
        }
        self.floors.tell(frame);
    }

    /// A change of a space's floor made on another node: the rooms loaded here follow it
    /// (an edited object is redefined, a deleted one dropped), then the sockets are told.
    pub fn floor_changed_elsewhere(&self, frame: FloorFrame) {
        match &frame {
            FloorFrame::Added { .. } | FloorFrame::SpaceUpdated { .. } => {}
            FloorFrame::Updated { object, .. } => self.redefine(object.clone()),
            FloorFrame::Removed { id, .. } => {
                self.remove(id);
            }
            FloorFrame::SpaceRemoved { space } => {
                for room in self.rooms_in(space) {
                    self.remove(room.id());
                }
            }
        }
        self.floors.tell(frame);
    }

    /// The loaded rooms of one space (a room nobody used for a while may be unloaded:
    /// nobody is on it).
    pub fn rooms_in(&self, space: &str) -> Vec<Arc<Room>> {
        let rooms = self.rooms.read().unwrap_or_else(|e| e.into_inner());
        rooms
            .values()
            .filter(|r| r.space_id() == space)
            .cloned()
            .collect()
    }

    /// Every live room (the background pruner walks them).
    pub fn rooms(&self) -> Vec<Arc<Room>> {
        let rooms = self.rooms.read().unwrap_or_else(|e| e.into_inner());
        rooms.values().cloned().collect()
    }

    /// The object `id` if it is live, without looking in the store.
    pub fn live_room(&self, id: &str) -> Option<Arc<Room>> {
        self.rooms
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// The live object `id`, looking in the store for one added offline.
    pub fn room(&self, id: &str) -> Option<Arc<Room>> {
        if let Some(room) = self.rooms.read().unwrap_or_else(|e| e.into_inner()).get(id) {
            return Some(room.clone());
        }
        // A primary-key read on the local file: quick enough to do inline.
        match self.store.object(id) {
            Ok(Some(def)) => Some(self.insert(def)),
            _ => None,
        }
    }

    /// Rooms in memory now.
    pub fn loaded_rooms(&self) -> usize {
        self.rooms.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Bytes of history held in memory by every room together (`--history-total-bytes`).
    pub fn history_bytes(&self) -> usize {
        self.room_limits.budget.used()
    }

    /// `/metrics`: the counters, and the gauges of the rooms.
    pub fn render_metrics(&self) -> String {
        self.metrics
            .render(self.loaded_rooms(), self.history_bytes())
    }

    /// One pass of the sweep timer: every room drops the history that aged out, and the
    /// rooms unused and empty for `--room-idle-secs` are unloaded (0: never). A room is
    /// unloaded only when nobody else holds it: no connection is present, none is in its
    /// departure grace, no commit is on its way (a commit's callback holds the room), no
    /// request is being served in it; so everything it knew is in the store. Returns the
    /// rooms unloaded.
    pub fn sweep(&self) -> usize {
        let now = Instant::now();
        let idle_after = (self.limits.room_idle_secs > 0)
            .then(|| Duration::from_secs(self.limits.room_idle_secs));
        let idle: Vec<Arc<Room>> = self
            .rooms()
            .into_iter()
            .filter(|room| room.sweep(now, idle_after))
            .collect();
        if idle.is_empty() {
            return 0;
        }
        let mut rooms = self.rooms.write().unwrap_or_else(|e| e.into_inner());
        let mut unloaded = 0;
        for room in idle {
            // The registry's reference and this one: nobody else holds the room, and
            // nobody can take it while the registry is locked.
            if Arc::strong_count(&room) == 2 && room.still_idle(now) {
                rooms.remove(room.id());
                unloaded += 1;
            }
        }
        drop(rooms);
        self.metrics.rooms_unloaded.inc_by(unloaded as u64);
        unloaded
    }

    /// The server-wide retention, for objects that set none of their own.
    pub fn default_retention(&self) -> RetentionLimits {
        RetentionLimits {
            max_messages: self.limits.retention_messages,
            max_age_secs: self.limits.retention_age_secs,
            max_bytes: self.limits.retention_bytes,
        }
    }

    /// One pass of the pruner: every logged object's log cut to its retention (a
    /// thousand rows per transaction, so appends never wait long), and message ids older
    /// than their window forgotten. Blocking: run it off the async threads. Returns the
    /// rows removed.
    pub fn prune(&self) -> StoreResult<u64> {
        let defaults = self.default_retention();
        let now = crate::room::now_ms();
        let mut removed = 0;
        for object in self.store.logged_objects()? {
            // Read from the store when the room is not loaded: pruning does not load rooms.
            let loaded = self
                .rooms
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .get(&object)
                .map(|room| room.settings().retention);
            let own = match loaded {
                Some(own) => own,
                None => self
                    .store
                    .object(&object)?
                    .and_then(|def| def.settings.retention),
            };
            let retention = Retention::resolve(own.as_ref(), defaults);
            loop {
                let n = self
                    .store
                    .prune_log(&object, &retention, now, PRUNE_BATCH)?;
                removed += n;
                if n < PRUNE_BATCH as u64 {
                    break;
                }
            }
        }
        let window_ms = (self.limits.dedup_age_secs as i64).saturating_mul(1000);
        removed += self.store.forget_ids(now - window_ms)?;
        Ok(removed)
    }

    /// The limits a client is told (`welcome`, `/api/info`).
    pub fn limits_frame(&self) -> Limits {
        Limits {
            max_message_bytes: MAX_MESSAGE_BYTES as u32,
            max_data_bytes: MAX_DATA_BYTES as u32,
            max_frames_per_second: self.limits.max_frames_per_second,
        }
    }

    pub fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }
}
