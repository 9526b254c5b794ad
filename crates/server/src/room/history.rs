//! The recent tail of an object's message log, in memory, for quick resumes and history.
//!
//! Every relayed frame gets the object's next sequence number, is appended to the store's
//! log, and once committed is kept here too, already encoded, until it falls out of the
//! memory window (count, age or bytes). The durable log (the store) keeps what the object's
//! retention says; this tail is a cache of its newest part: everything from [`History::floor`]
//! on is here, anything older is read from the store. Numbering continues from the store's
//! last sequence number after a restart.
//!
//! Memory is bounded three ways: each object's window, a timer that drops what aged out
//! of it even when no message arrives ([`History::expire`]), and one budget of bytes for
//! the histories of all objects together ([`HistoryBudget`], `--history-total-bytes`):
//! past it, the object that is adding a frame gives up its oldest ones first, and reads
//! of what left memory go to the store.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;
use meetbridge_protocol::bridge::{Missed, ServerFrame};

use crate::outbox::Outbox;
use crate::store::LogEntry;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

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
    /// Who sent it (user key): a `history` request also returns what the user sent.
    sender: Arc<str>,
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

/// The bytes of history held in memory by every room together, and their bound.
#[derive(Debug)]
pub struct HistoryBudget {
    used: AtomicUsize,
    max: usize,
}

impl HistoryBudget {
    /// A budget of `max` bytes (`0`: unbounded).
    pub fn new(max: usize) -> Self {
        HistoryBudget {
            used: AtomicUsize::new(0),
            max: if max == 0 { usize::MAX } else { max },
        }
    }

    /// Bytes held now.
    pub fn used(&self) -> usize {
        self.used.load(Relaxed)
    }

    fn over(&self) -> bool {
        self.used.load(Relaxed) > self.max
    }
}

pub struct History {
    entries: VecDeque<Entry>,
    bytes: usize,
    budget: Arc<HistoryBudget>,
    next_seq: u64,
    /// Every committed frame from this number on is in `entries`.
    floor: u64,
    /// The highest committed number (what an answer can say it covers).
    committed: u64,
    window: Window,
}

impl Drop for History {
    /// An unloaded room gives its bytes back to the budget.
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Relaxed);
    }
}

/// What a returning client gets: the range it can no longer have, then the frames.
#[derive(Debug, Default)]
pub struct Replay {
    pub missed: Option<(u64, u64)>,
    pub frames: Vec<Utf8Bytes>,
    /// The highest sequence number this replay covers: the last frame's when `limit` cut
    /// it, else the last number handed out (later frames are relayed live).
    pub upto: u64,
}

impl Replay {
    /// Queues the replay to `out`: the `missed` range of `object` first, then the frames.
    pub fn send_to(self, out: &Outbox, object: &str) {
        if let Some((from, to)) = self.missed {
            out.send(&ServerFrame::Missed(Missed {
                object: object.to_owned(),
                from,
                to,
            }));
        }
        for frame in self.frames {
            out.send_replayed(frame);
        }
    }
}

impl History {
    /// An empty history of a new object.
    #[cfg(test)]
    pub fn new(window: Window) -> Self {
        History::resume(window, Arc::new(HistoryBudget::new(0)), 0, Vec::new())
    }

    /// The history of an object whose log ends at `last_seq`, with `tail` (oldest first,
    /// the newest entries of the log) in memory, counted in `budget`.
    pub fn resume(
        window: Window,
        budget: Arc<HistoryBudget>,
        last_seq: u64,
        tail: Vec<LogEntry>,
    ) -> Self {
        let now_ms = now_ms();
        let mut h = History {
            entries: VecDeque::new(),
            bytes: 0,
            budget,
            next_seq: last_seq + 1,
            floor: tail.first().map_or(last_seq + 1, |e| e.seq),
            committed: last_seq,
            window,
        };
        let now = Instant::now();
        for e in tail {
            let age = Duration::from_millis(now_ms.saturating_sub(e.at_ms).max(0) as u64);
            let sender: Arc<str> = e.sender.into();
            let audience = match e.to {
                Some(to) => Audience::Only(to.into()),
                None => Audience::AllBut(sender.clone()),
            };
            h.bytes += e.frame.len();
            h.budget.used.fetch_add(e.frame.len(), Relaxed);
            h.entries.push_back(Entry {
                seq: e.seq,
                at: now.checked_sub(age).unwrap_or(now),
                sender,
                audience,
                frame: e.frame.into(),
            });
        }
        h.prune(now);
        h
    }

    /// Hands out the next sequence number (the frame is kept once committed: [`push_at`]).
    pub fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// The highest committed sequence number.
    pub fn committed(&self) -> u64 {
        self.committed
    }

    /// Every committed frame from this number on is in memory.
    pub fn floor(&self) -> u64 {
        self.floor
    }

    /// Takes a number and keeps the frame at once (tests).
    #[cfg(test)]
    pub fn push(&mut self, sender: Arc<str>, audience: Audience, frame: Utf8Bytes) -> u64 {
        let seq = self.take_seq();
        self.push_at(seq, sender, audience, frame);
        seq
    }

    /// Bytes of frames held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Keeps the committed frame `seq` (commits arrive in sequence order).
    pub fn push_at(&mut self, seq: u64, sender: Arc<str>, audience: Audience, frame: Utf8Bytes) {
        self.committed = self.committed.max(seq);
        self.bytes += frame.len();
        self.budget.used.fetch_add(frame.len(), Relaxed);
        self.entries.push_back(Entry {
            seq,
            at: Instant::now(),
            sender,
            audience,
            frame,
        });
        self.prune(Instant::now());
    }

    /// Drops what is past the window's age now (the sweep's timer), and what is over the
    /// other bounds.
    pub fn expire(&mut self, now: Instant) {
        self.prune(now);
    }

    /// Drops the oldest frames while the window is exceeded, or the budget of all rooms
    /// is (the newest frames of this object stay longest).
    fn prune(&mut self, now: Instant) {
        while let Some(front) = self.entries.front() {
            let too_many = self.entries.len() > self.window.max_count;
            let too_big = self.bytes > self.window.max_bytes;
            let too_old = now.duration_since(front.at) > self.window.max_age;
            if !(too_many || too_big || too_old || self.budget.over()) {
                break;
            }
            self.bytes -= front.frame.len();
            self.budget.used.fetch_sub(front.frame.len(), Relaxed);
            self.floor = front.seq + 1;
            self.entries.pop_front();
        }
    }

    /// What `user`, who saw everything up to `since`, is owed: at most `limit` frames.
    /// With `own`, also what `user` sent (a history request; a resume leaves them out).
    pub fn replay(&mut self, since: u64, user: &str, limit: usize, own: bool) -> Replay {
        self.prune(Instant::now());
        let floor = self.floor;
        let missed = (since.saturating_add(1) < floor).then(|| (since + 1, floor - 1));
        let mut upto = self.committed;
        let mut frames = Vec::new();
        for e in self
            .entries
            .iter()
            .filter(|e| e.seq > since && (e.audience.includes(user) || (own && &*e.sender == user)))
        {
            if frames.len() == limit {
                upto = e.seq - 1;
                break;
            }
            frames.push(e.frame.clone());
        }
        Replay {
            missed,
            frames,
            upto: upto.max(since),
        }
    }
}

/// A backward page: the newest frames below a point, oldest first.
#[derive(Debug, Default)]
pub struct Page {
    pub frames: Vec<Utf8Bytes>,
    /// The lowest sequence number the page covers (the next page's `before`).
    pub from: u64,
    /// The highest sequence number the page covers.
    pub upto: u64,
    /// Nothing earlier that `user` may see is kept.
    pub start: bool,
}

impl History {
    /// The newest `limit` frames below `before` and above `since` that `user` sent or
    /// was sent, oldest first (a backward `history` request).
    pub fn page_back(&mut self, since: u64, before: u64, user: &str, limit: usize) -> Page {
        self.prune(Instant::now());
        let upto = before.saturating_sub(1).min(self.committed).max(since);
        let mut picked: Vec<&Entry> = Vec::new();
        let mut more = false;
        for e in self
            .entries
            .iter()
            .rev()
            .filter(|e| e.seq > since && e.seq <= upto)
            .filter(|e| e.audience.includes(user) || &*e.sender == user)
        {
            if picked.len() == limit {
                more = true;
                break;
            }
            picked.push(e);
        }
        // Exact: a page claims the start when nothing earlier is kept, a full one too
        // (the store's reads look one past the limit to know the same).
        let start = !more;
        let from = match (start, picked.last()) {
            (false, Some(e)) => e.seq,
            _ => self.floor.max(since + 1).min(upto + 1),
        };
        Page {
            frames: picked.iter().rev().map(|e| e.frame.clone()).collect(),
            from,
            upto,
            start,
        }
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
        let base = 1;
        let a: Arc<str> = "a".into();
        let b: Arc<str> = "b".into();
        h.push(a.clone(), Audience::AllBut(a.clone()), "1".into());
        h.push(a.clone(), Audience::Only(b.clone()), "2".into());
        h.push(b.clone(), Audience::AllBut(b.clone()), "3".into());
        h.push(a.clone(), Audience::AllBut(a.clone()), "4".into());
        // Window of 3: seq base is gone.
        let r = h.replay(base - 1, "b", 100, false);
        assert_eq!(r.missed, Some((base, base)));
        assert_eq!(r.frames, vec![Utf8Bytes::from("2"), Utf8Bytes::from("4")]);
        assert_eq!(r.upto, base + 3);
        let r = h.replay(base + 1, "a", 100, false);
        assert_eq!(r.missed, None);
        assert_eq!(r.frames, vec![Utf8Bytes::from("3")]);
        // Up to date: nothing.
        let r = h.replay(base + 3, "b", 100, false);
        assert!(r.missed.is_none() && r.frames.is_empty());
        assert_eq!(r.upto, base + 3);
    }

    #[test]
    fn a_history_request_includes_what_the_user_sent_and_says_how_far_it_got() {
        let mut h = History::new(window(10));
        let base = 1;
        let a: Arc<str> = "a".into();
        let b: Arc<str> = "b".into();
        h.push(a.clone(), Audience::AllBut(a.clone()), "a to all".into());
        h.push(a.clone(), Audience::Only(b.clone()), "a to b".into());
        h.push(b.clone(), Audience::Only(a.clone()), "b to a".into());
        h.push(b.clone(), Audience::AllBut(b.clone()), "b to all".into());
        let c: Arc<str> = "c".into();
        h.push(c.clone(), Audience::Only(b.clone()), "c to b".into());
        let r = h.replay(0, "a", 100, true);
        let got: Vec<&str> = r.frames.iter().map(|f| f.as_str()).collect();
        assert_eq!(got, ["a to all", "a to b", "b to a", "b to all"]);
        assert_eq!(r.upto, base + 4);
        // Cut by the limit: `upto` stops before the first frame left out.
        let r = h.replay(0, "a", 2, true);
        assert_eq!(r.frames.len(), 2);
        assert_eq!(r.upto, base + 1);
        let r = h.replay(r.upto, "a", 2, true);
        let got: Vec<&str> = r.frames.iter().map(|f| f.as_str()).collect();
        assert_eq!(got, ["b to a", "b to all"]);
        // A resume still leaves out what the user sent.
        assert_eq!(h.replay(0, "a", 100, false).frames.len(), 2);
    }

    #[test]
    fn backward_pages_walk_to_the_start_oldest_first_within_each() {
        let mut h = History::new(window(100));
        let base = 1;
        let a: Arc<str> = "a".into();
        let b: Arc<str> = "b".into();
        for i in 0..5 {
            h.push(
                a.clone(),
                Audience::AllBut(a.clone()),
                format!("a{i}").into(),
            );
            h.push(
                b.clone(),
                Audience::Only(b.clone()),
                format!("to b {i}").into(),
            );
        }
        let texts = |p: &Page| p.frames.iter().map(|f| f.to_string()).collect::<Vec<_>>();
        let p = h.page_back(0, u64::MAX, "a", 2);
        assert_eq!(texts(&p), ["a3", "a4"]);
        assert_eq!((p.from, p.upto, p.start), (base + 6, base + 9, false));
        let p = h.page_back(0, p.from, "a", 2);
        assert_eq!(texts(&p), ["a1", "a2"]);
        let p = h.page_back(0, p.from, "a", 2);
        assert_eq!(texts(&p), ["a0"]);
        assert!(p.start);
        assert_eq!(p.from, base);
        // Exactly `limit` left: that page is the start.
        let p = h.page_back(0, base + 2, "a", 1);
        assert_eq!((texts(&p), p.start), (vec!["a0".to_owned()], true));
        let p = h.page_back(0, base + 3, "a", 1);
        assert_eq!((texts(&p), p.start), (vec!["a1".to_owned()], false));
        // `since` bounds it below.
        let p = h.page_back(base + 5, u64::MAX, "b", 10);
        assert_eq!(texts(&p), ["a3", "to b 3", "a4", "to b 4"]);
        assert!(p.start);
    }

    #[test]
    fn bytes_bound_the_window() {
        let mut h = History::new(Window {
            max_count: 100,
            max_age: Duration::from_secs(60),
            max_bytes: 10,
        });
        for _ in 0..5 {
            h.push("x".into(), Audience::AllBut("x".into()), "abcd".into());
        }
        assert_eq!(h.entries.len(), 2);
    }

    #[test]
    fn one_budget_bounds_every_history_together_and_is_given_back_on_drop() {
        let budget = Arc::new(HistoryBudget::new(10));
        let mut a = History::resume(window(100), budget.clone(), 0, Vec::new());
        let mut b = History::resume(window(100), budget.clone(), 0, Vec::new());
        a.push("x".into(), Audience::AllBut("x".into()), "abcd".into());
        a.push("x".into(), Audience::AllBut("x".into()), "efgh".into());
        assert_eq!(budget.used(), 8);
        // b's frame takes the total past 10: b gives up its own oldest (here, itself).
        b.push("x".into(), Audience::AllBut("x".into()), "ijkl".into());
        assert!(budget.used() <= 10, "{}", budget.used());
        assert_eq!(a.entries.len(), 2);
        assert_eq!(b.floor(), 2, "what left memory is read from the store");
        drop(a);
        assert_eq!(budget.used(), b.bytes());
    }

    #[test]
    fn the_timer_drops_what_aged_out_without_a_new_message() {
        let mut h = History::new(Window {
            max_count: 100,
            max_age: Duration::from_millis(50),
            max_bytes: 1 << 20,
        });
        h.push("x".into(), Audience::AllBut("x".into()), "abcd".into());
        assert_eq!(h.bytes(), 4);
        h.expire(Instant::now() + Duration::from_millis(60));
        assert_eq!((h.bytes(), h.entries.len(), h.floor()), (0, 0, 2));
    }
}
