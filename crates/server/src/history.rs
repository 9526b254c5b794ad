//! Per-object history of relayed frames, for recovery after a dropped connection.
//!
//! Every relayed frame gets the object's next sequence number and is kept, already
//! encoded, until it falls out of the window (count, age or bytes). Sequence numbers start
//! at the room's creation time in microseconds, so numbers handed out by an earlier run of
//! the server are always lower than this run's and a client coming back after a restart is
//! told it missed messages instead of being matched against unrelated numbers.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;

/// Who a kept frame was addressed to.
#[derive(Debug, Clone)]
pub enum Audience {
    /// A broadcast: every member but the sender (user key).
    AllBut(Arc<str>),
    /// An emit: one user.
    Only(Arc<str>),
}

impl Audience {
    pub fn includes(&self, user: &str) -> bool {
        match self {
            Audience::AllBut(sender) => &**sender != user,
            Audience::Only(to) => &**to == user,
        }
    }
}

struct Entry {
    seq: u64,
    at: Instant,
    audience: Audience,
    frame: Utf8Bytes,
}

/// The window's bounds.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub max_count: usize,
    pub max_age: Duration,
    pub max_bytes: usize,
}

pub struct History {
    entries: VecDeque<Entry>,
    bytes: usize,
    next_seq: u64,
    window: Window,
}

/// What a returning client gets: the range it can no longer have, then the frames.
#[derive(Debug, Default)]
pub struct Replay {
    pub missed: Option<(u64, u64)>,
    pub frames: Vec<Utf8Bytes>,
}

impl History {
    pub fn new(window: Window) -> Self {
        let base = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(1);
        History {
            entries: VecDeque::new(),
            bytes: 0,
            next_seq: base,
            window,
        }
    }

    /// The number the next relayed frame gets (encode the frame with it, then [`push`]).
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    pub fn push(&mut self, audience: Audience, frame: Utf8Bytes) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.bytes += frame.len();
        self.entries.push_back(Entry {
            seq,
            at: Instant::now(),
            audience,
            frame,
        });
        self.prune(Instant::now());
        seq
    }

    fn prune(&mut self, now: Instant) {
        while let Some(front) = self.entries.front() {
            let too_many = self.entries.len() > self.window.max_count;
            let too_big = self.bytes > self.window.max_bytes;
            let too_old = now.duration_since(front.at) > self.window.max_age;
            if !(too_many || too_big || too_old) {
                break;
            }
            self.bytes -= front.frame.len();
            self.entries.pop_front();
        }
    }

    /// What `user`, who saw everything up to `since`, is owed: at most `limit` frames.
    pub fn replay(&mut self, since: u64, user: &str, limit: usize) -> Replay {
        self.prune(Instant::now());
        let first_kept = self.entries.front().map_or(self.next_seq, |e| e.seq);
        let missed = (since.saturating_add(1) < first_kept).then(|| (since + 1, first_kept - 1));
        let frames = self
            .entries
            .iter()
            .filter(|e| e.seq > since && e.audience.includes(user))
            .take(limit)
            .map(|e| e.frame.clone())
            .collect();
        Replay { missed, frames }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(count: usize) -> Window {
        Window {
            max_count: count,
            max_age: Duration::from_secs(60),
            max_bytes: 1 << 20,
        }
    }

    #[test]
    fn replays_in_order_only_what_was_addressed_and_reports_the_gap() {
        let mut h = History::new(window(3));
        let base = h.next_seq();
        let a: Arc<str> = "a".into();
        let b: Arc<str> = "b".into();
        h.push(Audience::AllBut(a.clone()), "1".into());
        h.push(Audience::Only(b.clone()), "2".into());
        h.push(Audience::AllBut(b.clone()), "3".into());
        h.push(Audience::AllBut(a.clone()), "4".into());
        // Window of 3: seq base is gone.
        let r = h.replay(base - 1, "b", 100);
        assert_eq!(r.missed, Some((base, base)));
        assert_eq!(r.frames, vec![Utf8Bytes::from("2"), Utf8Bytes::from("4")]);
        let r = h.replay(base + 1, "a", 100);
        assert_eq!(r.missed, None);
        assert_eq!(r.frames, vec![Utf8Bytes::from("3")]);
        // Up to date: nothing.
        let r = h.replay(base + 3, "b", 100);
        assert!(r.missed.is_none() && r.frames.is_empty());
    }

    #[test]
    fn bytes_bound_the_window() {
        let mut h = History::new(Window {
            max_count: 100,
            max_age: Duration::from_secs(60),
            max_bytes: 10,
        });
        for _ in 0..5 {
            h.push(Audience::AllBut("x".into()), "abcd".into());
        }
        assert_eq!(h.entries.len(), 2);
    }
}
