//! Idempotent sends: the ids of recent `plugin` frames, per user, on one object.
//!
//! A client may give a `plugin` frame an `id` (unique per user). When a broadcast, an emit
//! or a save with an id succeeds, the room remembers what it answered; the same id from
//! the same user on the same object is then answered again (same `ack`, same `seq`, for a
//! save the same `ovice_data_saved_success`) instead of being acted on twice. This is what
//! makes the host runtime's resend after a reconnect safe when only the `ack` was lost.
//!
//! The window is bounded per (user, object) by a count, an age and the bytes of the
//! remembered save replies, oldest first; an id that fell out of it is new again. The id
//! alone decides: a different message under a remembered id is a duplicate too. The state
//! lives in the room, not in the connection, so it survives the reconnect it is for and
//! costs nothing to an idle connection or to frames without an id.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;

use crate::outbox::Outbox;
use crate::refusal::Refusal;

/// The bounds of what is remembered per (user, object).
#[derive(Debug, Clone, Copy)]
pub struct DedupWindow {
    /// Ids remembered per user on one object (the oldest go first). 0 turns dedup off.
    pub max_count: usize,
    pub max_age: Duration,
    /// Bytes of remembered save replies (and ids) per user on one object.
    pub max_bytes: usize,
}

/// What the first frame with an id was answered with.
#[derive(Clone)]
pub struct Answer {
    /// A frame sent before the `ack` (the saver's `ovice_data_saved_success`).
    pub reply: Option<Utf8Bytes>,
    /// The `seq` of the `ack`.
    pub seq: Option<u64>,
}

impl Answer {
    /// Sends the answer to request `req`: the reply frame if there is one, then the `ack`.
    pub fn send_to(&self, out: &Outbox, req: Option<u64>) {
        if let Some(reply) = &self.reply {
            out.send_text(reply.clone());
        }
        out.ack(req, self.seq);
    }
}

/// Who is told how a request with an id ended: its sender first, then the duplicates
/// that waited for it (those of a save in progress).
pub struct Requesters(Vec<(Outbox, Option<u64>)>);

impl Requesters {
    /// Sends every one of them `answer`.
    pub fn answer(self, answer: &Answer) {
        for (out, req) in self.0 {
            answer.send_to(&out, req);
        }
    }

    /// Refuses every one of them with `refusal`, on `object`.
    pub fn refuse(self, object: &str, refusal: &Refusal) {
        for (out, req) in self.0 {
            out.refuse(req, Some(object.to_owned()), refusal.clone(), None);
        }
    }
}

enum State {
    /// A save not committed yet: duplicates meanwhile wait for its answer.
    Pending(Vec<(Outbox, Option<u64>)>),
    Done(Answer),
}

/// What to do with a frame's id.
pub enum Seen {
    /// Not remembered: act on the frame (and remember it when it succeeds).
    New,
    /// A duplicate: send this answer again.
    Answer(Answer),
    /// A duplicate of a save still in progress: it will be answered with the first one.
    Waiting,
}

struct User {
    /// Ids, oldest first, with when they were remembered.
    order: VecDeque<(Arc<str>, Instant)>,
    states: HashMap<Arc<str>, State>,
    bytes: usize,
}

impl User {
    fn new() -> Self {
        User {
            order: VecDeque::new(),
            states: HashMap::new(),
            bytes: 0,
        }
    }

    fn cost(id: &str, state: &State) -> usize {
        id.len()
            + match state {
                State::Done(Answer {
                    reply: Some(reply), ..
                }) => reply.len(),
                _ => 0,
            }
    }

    /// Forgets the oldest ids while the window is exceeded. A save in progress is never
    /// forgotten (its duplicates wait on it): eviction stops there until it is done.
    fn evict(&mut self, window: &DedupWindow, now: Instant) {
        while let Some((id, at)) = self.order.front() {
            let over = self.order.len() > window.max_count
                || self.bytes > window.max_bytes
                || now.saturating_duration_since(*at) > window.max_age;
            if !over || matches!(self.states.get(id), Some(State::Pending(_))) {
                break;
            }
            if let Some(state) = self.states.remove(id) {
                self.bytes -= Self::cost(id, &state);
            }
            self.order.pop_front();
        }
    }
}

/// The remembered ids of one object, by user.
pub struct Dedup {
    window: DedupWindow,
    users: HashMap<Arc<str>, User>,
    /// When users who stopped sending are next swept for expired ids.
    next_sweep: Instant,
}

impl Dedup {
    pub fn new(window: DedupWindow) -> Self {
        Dedup {
            window,
            users: HashMap::new(),
            next_sweep: Instant::now() + window.max_age,
        }
    }

    pub fn enabled(&self) -> bool {
        self.window.max_count > 0
    }

    /// Whether `user` sent `id` on this object recently. A duplicate of a save in progress
    /// is added to its waiters (`out`, `req`).
    pub fn check(&mut self, user: &str, id: &str, out: &Outbox, req: Option<u64>) -> Seen {
        if !self.enabled() {
            return Seen::New;
        }
        let now = Instant::now();
        let Some(u) = self.users.get_mut(user) else {
            return Seen::New;
        };
        u.evict(&self.window, now);
        match u.states.get_mut(id) {
            None => Seen::New,
            Some(State::Done(answer)) => Seen::Answer(answer.clone()),
            Some(State::Pending(waiters)) => {
                waiters.push((out.clone(), req));
                Seen::Waiting
            }
        }
    }

    /// Remembers that `user`'s `id` was answered with `answer`.
    pub fn done(&mut self, user: &Arc<str>, id: &str, answer: Answer) {
        self.set(user, id, State::Done(answer));
    }

    /// Remembers that `user`'s `id` is a save in progress.
    pub fn pending(&mut self, user: &Arc<str>, id: &str) {
        self.set(user, id, State::Pending(Vec::new()));
    }

    /// The save under `id` committed: remembers its answer and returns the duplicates that
    /// waited for it.
    pub fn finish(
        &mut self,
        user: &Arc<str>,
        id: &str,
        answer: Answer,
    ) -> Vec<(Outbox, Option<u64>)> {
        let waiters = match self.users.get_mut(user).and_then(|u| u.states.remove(id)) {
            Some(State::Pending(waiters)) => waiters,
            Some(done @ State::Done(_)) => {
                // Not ours to overwrite (cannot happen: a pending id is never replaced).
                if let Some(u) = self.users.get_mut(user) {
                    u.states.insert(id.into(), done);
                }
                return Vec::new();
            }
            None => Vec::new(),
        };
        if let Some(u) = self.users.get_mut(user) {
            if let Some(pos) = u.order.iter().position(|(i, _)| &**i == id) {
                let (key, _) = u.order.remove(pos).expect("position found");
                u.bytes -= key.len();
            }
        }
        self.set(user, id, State::Done(answer));
        waiters
    }

    /// The request `req` of `out` succeeded with `answer`: remembers it under `id` (if it
    /// has one) and returns who to answer, the sender and the duplicates that waited.
    /// Call it under the room's lock, answer after releasing it.
    pub fn succeeded(
        &mut self,
        user: &Arc<str>,
        id: Option<&str>,
        answer: &Answer,
        out: Outbox,
        req: Option<u64>,
    ) -> Requesters {
        let mut told = vec![(out, req)];
        if let Some(id) = id {
            told.extend(self.finish(user, id, answer.clone()));
        }
        Requesters(told)
    }

    /// The request `req` of `out` failed: forgets its `id` (if it has one, so a retry is
    /// acted on) and returns who to refuse, the sender and the duplicates that waited.
    pub fn failed(
        &mut self,
        user: &Arc<str>,
        id: Option<&str>,
        out: Outbox,
        req: Option<u64>,
    ) -> Requesters {
        let mut told = vec![(out, req)];
        if let Some(id) = id {
            told.extend(self.fail(user, id));
        }
        Requesters(told)
    }

    /// The save under `id` failed: forgets the id (a retry saves) and returns the
    /// duplicates that waited for it.
    pub fn fail(&mut self, user: &Arc<str>, id: &str) -> Vec<(Outbox, Option<u64>)> {
        let Some(u) = self.users.get_mut(user) else {
            return Vec::new();
        };
        let Some(state) = u.states.remove(id) else {
            return Vec::new();
        };
        u.bytes -= User::cost(id, &state);
        if let Some(pos) = u.order.iter().position(|(i, _)| &**i == id) {
            u.order.remove(pos);
        }
        match state {
            State::Pending(waiters) => waiters,
            State::Done(_) => Vec::new(),
        }
    }

    fn set(&mut self, user: &Arc<str>, id: &str, state: State) {
        if !self.enabled() {
            return;
        }
        let now = Instant::now();
        let window = self.window;
        let u = self.users.entry(user.clone()).or_insert_with(User::new);
        let id: Arc<str> = id.into();
        u.bytes += User::cost(&id, &state);
        if let Some(old) = u.states.insert(id.clone(), state) {
            u.bytes -= User::cost(&id, &old);
        } else {
            u.order.push_back((id, now));
        }
        u.evict(&window, now);
        if now >= self.next_sweep {
            self.sweep(now);
        }
    }

    /// Forgets expired ids of every user; users with nothing left go.
    fn sweep(&mut self, now: Instant) {
        let window = self.window;
        self.users.retain(|_, u| {
            u.evict(&window, now);
            !u.order.is_empty()
        });
        self.next_sweep = now + window.max_age.max(Duration::from_secs(1));
    }

    /// Ids remembered for `user`.
    #[cfg(test)]
    fn len(&self, user: &str) -> usize {
        self.users.get(user).map_or(0, |u| u.order.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;

    fn outbox() -> Outbox {
        Outbox::new(1, 8, usize::MAX, Arc::new(Metrics::default()))
    }

    fn window(count: usize) -> DedupWindow {
        DedupWindow {
            max_count: count,
            max_age: Duration::from_secs(60),
            max_bytes: 1 << 20,
        }
    }

    fn relayed(seq: u64) -> Answer {
        Answer {
            reply: None,
            seq: Some(seq),
        }
    }

    #[test]
    fn remembers_per_user_within_the_count() {
        let out = outbox();
        let mut d = Dedup::new(window(2));
        let a: Arc<str> = "a".into();
        let b: Arc<str> = "b".into();
        assert!(matches!(d.check("a", "1", &out, None), Seen::New));
        d.done(&a, "1", relayed(10));
        assert!(matches!(
            d.check("a", "1", &out, None),
            Seen::Answer(Answer { seq: Some(10), .. })
        ));
        assert!(matches!(d.check("b", "1", &out, None), Seen::New));
        d.done(&b, "1", relayed(11));
        d.done(&a, "2", relayed(12));
        d.done(&a, "3", relayed(13));
        assert_eq!(d.len("a"), 2);
        assert!(matches!(d.check("a", "1", &out, None), Seen::New));
        assert!(matches!(d.check("a", "2", &out, None), Seen::Answer(_)));
        assert!(matches!(
            d.check("b", "1", &out, None),
            Seen::Answer(Answer { seq: Some(11), .. })
        ));
    }

    #[test]
    fn a_pending_save_collects_its_duplicates_and_is_not_evicted() {
        let out = outbox();
        let mut d = Dedup::new(window(1));
        let a: Arc<str> = "a".into();
        d.pending(&a, "s");
        d.done(&a, "x", relayed(1));
        assert!(matches!(d.check("a", "s", &out, Some(7)), Seen::Waiting));
        let answer = Answer {
            reply: Some(Utf8Bytes::from_static("{}")),
            seq: None,
        };
        let waiters = d.finish(&a, "s", answer);
        assert_eq!(waiters.len(), 1);
        assert_eq!(waiters[0].1, Some(7));
        assert!(matches!(
            d.check("a", "s", &out, None),
            Seen::Answer(Answer { reply: Some(_), .. })
        ));
        assert_eq!(d.len("a"), 1);
        // A failed save is forgotten: the retry saves.
        d.pending(&a, "t");
        d.fail(&a, "t");
        assert!(matches!(d.check("a", "t", &out, None), Seen::New));
    }

    #[test]
    fn bytes_and_age_bound_the_window() {
        let out = outbox();
        let a: Arc<str> = "a".into();
        let mut d = Dedup::new(DedupWindow {
            max_count: 100,
            max_age: Duration::from_secs(60),
            max_bytes: 10,
        });
        let big = Answer {
            reply: Some(Utf8Bytes::from_static("0123456789")),
            seq: None,
        };
        d.done(&a, "1", relayed(1));
        d.done(&a, "2", big);
        // "2" alone is over the bytes: everything older went, then "2" itself.
        assert_eq!(d.len("a"), 0);
        let mut d = Dedup::new(DedupWindow {
            max_count: 100,
            max_age: Duration::ZERO,
            max_bytes: 100,
        });
        d.done(&a, "1", relayed(1));
        std::thread::sleep(Duration::from_millis(2));
        assert!(matches!(d.check("a", "1", &out, None), Seen::New));
        assert_eq!(d.len("a"), 0);
    }
}
