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
//!
//! The queue is a plain deque that the connection's task takes whole: an idle connection
//! holds no queue storage at all, and what a burst grew is freed with the batch that
//! carried it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::ws::Utf8Bytes;
use meetbridge_protocol::bridge::{Ack, ServerFrame};
use tokio::sync::Notify;

use crate::metrics::Metrics;
use crate::refusal::Refusal;

pub type ConnId = u64;

/// What the connection's task takes off the queue at once.
#[derive(Default)]
pub struct Batch {
    /// Text frames, oldest first.
    pub frames: VecDeque<Utf8Bytes>,
    /// A WebSocket ping is wanted (the socket answers the pong itself).
    pub ping: bool,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty() && !self.ping
    }

    /// Adds what was queued after this batch was taken.
    pub fn append(&mut self, later: Batch) {
        self.frames.extend(later.frames);
        self.ping |= later.ping;
    }
}

#[derive(Default)]
struct Queue {
    batch: Batch,
    /// Bytes of counted frames queued and not yet taken.
    bytes: usize,
    closed: bool,
}

struct Inner {
    id: ConnId,
    capacity: usize,
    max_bytes: usize,
    queue: Mutex<Queue>,
    /// Wakes the connection's task: frames arrived, or it was marked too slow.
    wake: Notify,
    too_slow: AtomicBool,
    metrics: Arc<Metrics>,
}

#[derive(Clone)]
pub struct Outbox(Arc<Inner>);

impl Outbox {
    pub fn new(id: ConnId, capacity: usize, max_bytes: usize, metrics: Arc<Metrics>) -> Self {
        Outbox(Arc::new(Inner {
            id,
            capacity: capacity.max(1),
            max_bytes,
            queue: Mutex::new(Queue::default()),
            wake: Notify::new(),
            too_slow: AtomicBool::new(false),
            metrics,
        }))
    }

    pub fn id(&self) -> ConnId {
        self.0.id
    }

    /// The server's metrics (the writer times its writes).
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.0.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues an encoded frame. Never waits: a queue full in frames or in bytes marks
    /// the connection too slow. One frame larger than the byte budget still goes into an
    /// empty queue.
    pub fn send_text(&self, frame: Utf8Bytes) -> bool {
        let len = frame.len();
        self.push(frame, len)
    }

    /// Queues a frame of the history (a replay): bounded in frames, not in bytes.
    pub fn send_replayed(&self, frame: Utf8Bytes) -> bool {
        self.push(frame, 0)
    }

    fn push(&self, frame: Utf8Bytes, counted: usize) -> bool {
        let mut q = self.queue();
        if q.closed || self.too_slow() {
            return false;
        }
        let full = q.batch.frames.len() >= self.0.capacity
            || (q.bytes > 0 && q.bytes + counted > self.0.max_bytes);
        if full {
            drop(q);
            self.mark_slow();
            return false;
        }
        let was_empty = q.batch.is_empty();
        q.batch.frames.push_back(frame);
        q.bytes += counted;
        drop(q);
        self.0.metrics.frames_out.inc();
        // The task takes the whole queue: only the first frame after that needs a wake.
        if was_empty {
            self.0.wake.notify_one();
        }
        true
    }

    /// Queues a WebSocket ping (the socket answers the pong itself).
    pub fn send_ping(&self) {
        let mut q = self.queue();
        if q.closed {
            return;
        }
        let was_empty = q.batch.is_empty();
        q.batch.ping = true;
        drop(q);
        if was_empty {
            self.0.wake.notify_one();
        }
    }

    /// Everything queued, oldest first; the queue is left without storage.
    pub fn take(&self) -> Batch {
        let mut q = self.queue();
        q.bytes = 0;
        std::mem::take(&mut q.batch)
    }

    /// Resolves when something may have been queued, or the connection was marked too
    /// slow.
    pub async fn woken(&self) {
        self.0.wake.notified().await
    }

    /// Refuses every later frame (the connection is closing).
    pub fn close(&self) {
        self.queue().closed = true;
    }

    /// Marks the connection too slow (once) and wakes its task, even mid-write.
    fn mark_slow(&self) {
        if !self.0.too_slow.swap(true, Ordering::Relaxed) {
            self.0.metrics.slow_disconnects.inc();
            self.0.wake.notify_one();
        }
    }

    /// A write blocked past the write timeout: the connection is dropped as too slow, and
    /// counted as such unless it was already.
    pub fn write_timed_out(&self) {
        if !self.0.too_slow.swap(true, Ordering::Relaxed) {
            self.0.metrics.slow_disconnects.inc();
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox(frames: usize, bytes: usize) -> Outbox {
        Outbox::new(1, frames, bytes, Arc::new(Metrics::default()))
    }

    #[test]
    fn a_taken_queue_keeps_no_storage() {
        let out = outbox(10_000, 1 << 20);
        for i in 0..5000 {
            assert!(out.send_text(i.to_string().into()));
        }
        let batch = out.take();
        assert_eq!(batch.frames.len(), 5000);
        assert_eq!(batch.frames[4999].as_str(), "4999");
        assert_eq!(out.queue().batch.frames.capacity(), 0);
        assert_eq!(out.queue().bytes, 0);
    }

    #[test]
    fn full_in_frames_or_bytes_marks_too_slow_and_refuses_more() {
        let out = outbox(2, 1 << 20);
        assert!(out.send_text("a".into()) && out.send_text("b".into()));
        assert!(!out.send_text("c".into()));
        assert!(out.too_slow());
        assert!(!outbox(2, 1 << 20).too_slow());

        let out = outbox(100, 10);
        // One frame over the budget still goes into an empty queue.
        assert!(out.send_text("x".repeat(20).into()));
        assert!(!out.send_text("y".into()));
        assert!(out.too_slow());

        // Replays are not counted in bytes; taking frees the budget.
        let out = outbox(100, 10);
        assert!(out.send_replayed("x".repeat(20).into()));
        assert!(out.send_text("y".repeat(10).into()));
        out.take();
        assert!(out.send_text("z".repeat(10).into()));
        assert!(!out.too_slow());
    }

    #[test]
    fn a_closed_outbox_takes_nothing_more() {
        let out = outbox(10, 100);
        out.close();
        assert!(!out.send_text("a".into()));
        out.send_ping();
        assert!(out.take().is_empty());
    }
}
