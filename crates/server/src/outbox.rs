//! The sending side of one connection, as rooms hold it.
//!
//! Frames are queued (bounded) and written by the connection's own task in batches. A
//! frame shared by many recipients is one [`Utf8Bytes`]: queuing it is a reference-count
//! increment. A connection whose queue is full is too slow to keep up: it is marked and
//! closed by its task rather than slowing anyone else down; it can reconnect and recover
//! what it missed from the history.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::ws::{Message, Utf8Bytes};
use meetbridge_protocol::bridge::{Ack, ServerFrame};
use tokio::sync::{mpsc, Notify};

use crate::metrics::Metrics;
use crate::refusal::Refusal;

pub type ConnId = u64;

struct Inner {
    id: ConnId,
    tx: mpsc::Sender<Message>,
    too_slow: AtomicBool,
    /// Wakes the connection's task when it is marked too slow, even mid-write.
    slow: Notify,
    metrics: Arc<Metrics>,
}

#[derive(Clone)]
pub struct Outbox(Arc<Inner>);

impl Outbox {
    pub fn new(
        id: ConnId,
        capacity: usize,
        metrics: Arc<Metrics>,
    ) -> (Self, mpsc::Receiver<Message>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let inner = Inner {
            id,
            tx,
            too_slow: AtomicBool::new(false),
            slow: Notify::new(),
            metrics,
        };
        (Outbox(Arc::new(inner)), rx)
    }

    pub fn id(&self) -> ConnId {
        self.0.id
    }

    /// Queues an encoded frame. Never waits: a full queue marks the connection too slow.
    pub fn send_text(&self, frame: Utf8Bytes) -> bool {
        match self.0.tx.try_send(Message::Text(frame)) {
            Ok(()) => {
                self.0.metrics.frames_out.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                if !self.0.too_slow.swap(true, Ordering::Relaxed) {
                    self.0
                        .metrics
                        .slow_disconnects
                        .fetch_add(1, Ordering::Relaxed);
                    self.0.slow.notify_one();
                }
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    pub fn send(&self, frame: &ServerFrame) -> bool {
        self.send_text(frame.to_text().into())
    }

    /// Acknowledges request `req` (nothing to do without one).
    pub fn ack(&self, req: Option<u64>, seq: Option<u64>) {
        if let Some(req) = req {
            self.send_ack(Ack::new(req, seq));
        }
    }

    /// Sends an `ack` with more to say than its `seq` (a backward history page).
    pub fn send_ack(&self, ack: Ack) {
        self.send(&ServerFrame::Ack(ack));
    }

    /// Tells the client why its request (`req`, on `object`) was refused, and counts it.
    pub fn refuse(
        &self,
        req: Option<u64>,
        object: Option<String>,
        refusal: Refusal,
        field: Option<String>,
    ) {
        self.0.metrics.error(refusal.code);
        self.send(&refusal.frame(req, object, field));
    }

    pub fn too_slow(&self) -> bool {
        self.0.too_slow.load(Ordering::Relaxed)
    }

    /// Resolves once the connection has been marked too slow.
    pub async fn slowed(&self) {
        self.0.slow.notified().await
    }
}
