//! The sending side of one connection, as rooms hold it.
//!
//! Frames are queued (bounded) and written by the connection's own task in batches. A
//! frame shared by many recipients is one [`Utf8Bytes`]: queuing it is a reference-count
//! increment. A connection whose queue is full is too slow to keep up: it is marked and
//! closed by its task rather than slowing anyone else down; it can reconnect and recover
//! what it missed from the history.
//!
//! The queue is bounded twice: in frames (`--send-queue`) and in bytes
//! (`--send-queue-bytes`), so a member that stops reading pins at most a few MiB however
//! large the frames are. Replayed history frames are not counted against the bytes: they
//! are the history's own (reference-counted) frames, already bounded by its window, and a
//! returning client must be able to take a whole window at once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::ws::{Message, Utf8Bytes};
use meetbridge_protocol::bridge::{Ack, ServerFrame};
use tokio::sync::{mpsc, Notify};

use crate::metrics::Metrics;
use crate::refusal::Refusal;

pub type ConnId = u64;

/// One queued frame, with the bytes it holds of the connection's byte budget.
pub struct Queued {
    pub message: Message,
    pub counted: usize,
}

struct Inner {
    id: ConnId,
    tx: mpsc::Sender<Queued>,
    /// Bytes of counted frames queued and not yet written.
    queued_bytes: AtomicUsize,
    max_bytes: usize,
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
        max_bytes: usize,
        metrics: Arc<Metrics>,
    ) -> (Self, mpsc::Receiver<Queued>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let inner = Inner {
            id,
            tx,
            queued_bytes: AtomicUsize::new(0),
            max_bytes,
            too_slow: AtomicBool::new(false),
            slow: Notify::new(),
            metrics,
        };
        (Outbox(Arc::new(inner)), rx)
    }

    pub fn id(&self) -> ConnId {
        self.0.id
    }

    /// Queues an encoded frame. Never waits: a queue full in frames or in bytes marks
    /// the connection too slow. One frame larger than the byte budget still goes into an
    /// empty queue.
    pub fn send_text(&self, frame: Utf8Bytes) -> bool {
        let len = frame.len();
        let before = self.0.queued_bytes.fetch_add(len, Ordering::Relaxed);
        if before > 0 && before + len > self.0.max_bytes {
            self.0.queued_bytes.fetch_sub(len, Ordering::Relaxed);
            self.mark_slow();
            return false;
        }
        let sent = self.queue(frame, len);
        if !sent {
            self.0.queued_bytes.fetch_sub(len, Ordering::Relaxed);
        }
        sent
    }

    /// Queues a frame of the history (a replay): bounded in frames, not in bytes.
    pub fn send_replayed(&self, frame: Utf8Bytes) -> bool {
        self.queue(frame, 0)
    }

    fn queue(&self, frame: Utf8Bytes, counted: usize) -> bool {
        let queued = Queued {
            message: Message::Text(frame),
            counted,
        };
        match self.0.tx.try_send(queued) {
            Ok(()) => {
                self.0.metrics.frames_out.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.mark_slow();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Queues a WebSocket ping (the socket answers the pong itself).
    pub fn send_ping(&self) {
        let _ = self.0.tx.try_send(Queued {
            message: Message::Ping(Default::default()),
            counted: 0,
        });
    }

    /// The connection's task took `queued` off the queue to write it.
    pub fn taken(&self, queued: &Queued) {
        if queued.counted > 0 {
            self.0
                .queued_bytes
                .fetch_sub(queued.counted, Ordering::Relaxed);
        }
    }

    /// Marks the connection too slow (once) and wakes its task, even mid-write.
    fn mark_slow(&self) {
        if !self.0.too_slow.swap(true, Ordering::Relaxed) {
            self.0
                .metrics
                .slow_disconnects
                .fetch_add(1, Ordering::Relaxed);
            self.0.slow.notify_one();
        }
    }

    /// A write blocked past the write timeout: the connection is dropped as too slow, and
    /// counted as such unless it was already.
    pub fn write_timed_out(&self) {
        if !self.0.too_slow.swap(true, Ordering::Relaxed) {
            self.0
                .metrics
                .slow_disconnects
                .fetch_add(1, Ordering::Relaxed);
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
