//! The live floor: which connections follow which space, and the `floor` frame that tells
//! all of them at once that an object was added, edited or removed (or the space changed),
//! so every page of a space shows the same floor without reloading.
//!
//! A connection follows the space its token is scoped to from the start, and any space
//! it becomes present in (an admin's token opens every space). It stops when it closes.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::ws::Utf8Bytes;
use meetbridge_protocol::bridge::ServerFrame;
use meetbridge_protocol::space::FloorFrame;

use crate::outbox::{ConnId, Outbox};

#[derive(Default)]
pub struct Floors {
    /// Space id → the connections following it.
    spaces: Mutex<HashMap<String, HashMap<ConnId, Outbox>>>,
}

impl Floors {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashMap<ConnId, Outbox>>> {
        self.spaces.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `out` hears about `space` from now on.
    pub fn follow(&self, space: &str, out: &Outbox) {
        self.lock()
            .entry(space.to_owned())
            .or_default()
            .insert(out.id(), out.clone());
    }

    /// Connection `conn` no longer hears about `space`.
    pub fn unfollow(&self, space: &str, conn: ConnId) {
        let mut spaces = self.lock();
        if let Some(conns) = spaces.get_mut(space) {
            conns.remove(&conn);
            if conns.is_empty() {
                spaces.remove(space);
            }
        }
    }

    /// Sends `frame` to every connection following its space (encoded once); returns how
    /// many were told.
    pub fn tell(&self, frame: FloorFrame) -> usize {
        let space = frame.space().to_owned();
        let text: Utf8Bytes = ServerFrame::Floor(frame).to_text().into();
        let spaces = self.lock();
        let Some(conns) = spaces.get(&space) else {
            return 0;
        };
        for out in conns.values() {
            out.send_text(text.clone());
        }
        conns.len()
    }

    /// How many connections follow `space`.
    pub fn followers(&self, space: &str) -> usize {
        self.lock().get(space).map_or(0, HashMap::len)
    }
}
