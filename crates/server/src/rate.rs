//! How much one connection may send: frames and bytes per second on average, with bursts
//! (two token buckets), decided on a frame's length before it is read as JSON. A refused
//! frame is dropped; a connection that keeps sending regardless (more than a set number
//! of frames or bytes refused within one window) is closed with 1008.

use std::time::{Duration, Instant};

/// The window over which refused traffic is counted.
pub const ABUSE_WINDOW: Duration = Duration::from_secs(10);

/// The limits, from the `serve` flags.
#[derive(Debug, Clone, Copy)]
pub struct RateRule {
    pub frames_per_second: u32,
    pub burst_frames: u32,
    pub bytes_per_second: u64,
    pub burst_bytes: u64,
    /// Refused frames within one [`ABUSE_WINDOW`] after which the connection is closed.
    pub abuse_frames: u32,
    /// Refused bytes within one [`ABUSE_WINDOW`] after which the connection is closed.
    pub abuse_bytes: u64,
}

/// What to do with one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Drop it, say so.
    Refuse,
    /// Drop it and close the connection (1008).
    Abuse,
}

struct Bucket {
    tokens: f64,
    rate: f64,
    burst: f64,
}

impl Bucket {
    fn new(rate: f64, burst: f64) -> Self {
        Bucket {
            tokens: burst,
            rate,
            burst,
        }
    }

    fn refill(&mut self, elapsed: f64) {
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
    }
}

/// One connection's account.
pub struct RateLimit {
    rule: RateRule,
    frames: Bucket,
    bytes: Bucket,
    last: Instant,
    window_start: Instant,
    refused_frames: u32,
    refused_bytes: u64,
}

impl RateLimit {
    pub fn new(rule: RateRule, now: Instant) -> Self {
        RateLimit {
            frames: Bucket::new(
                f64::from(rule.frames_per_second),
                f64::from(rule.burst_frames.max(1)),
            ),
            bytes: Bucket::new(rule.bytes_per_second as f64, rule.burst_bytes.max(1) as f64),
            rule,
            last: now,
            window_start: now,
            refused_frames: 0,
            refused_bytes: 0,
        }
    }

    /// Decides on a frame of `len` bytes arriving at `now`.
    pub fn check(&mut self, len: usize, now: Instant) -> Verdict {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.frames.refill(elapsed);
        self.bytes.refill(elapsed);
        let len = len as f64;
        // A frame larger than the byte burst could never pass: it needs a full bucket.
        let bytes_needed = len.min(self.bytes.burst);
        if self.frames.tokens >= 1.0 && self.bytes.tokens >= bytes_needed {
            self.frames.tokens -= 1.0;
            self.bytes.tokens -= bytes_needed;
            return Verdict::Allow;
        }
        if now.saturating_duration_since(self.window_start) >= ABUSE_WINDOW {
            self.window_start = now;
            self.refused_frames = 0;
            self.refused_bytes = 0;
        }
        self.refused_frames = self.refused_frames.saturating_add(1);
        self.refused_bytes = self.refused_bytes.saturating_add(len as u64);
        if self.refused_frames > self.rule.abuse_frames
            || self.refused_bytes > self.rule.abuse_bytes
        {
            Verdict::Abuse
        } else {
            Verdict::Refuse
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> RateRule {
        RateRule {
            frames_per_second: 10,
            burst_frames: 20,
            bytes_per_second: 1000,
            burst_bytes: 2000,
            abuse_frames: 50,
            abuse_bytes: 100_000,
        }
    }

    #[test]
    fn bursts_pass_then_the_rate_holds_in_frames_and_in_bytes() {
        let t = Instant::now();
        let mut r = RateLimit::new(rule(), t);
        let allowed = (0..30).filter(|_| r.check(10, t) == Verdict::Allow).count();
        assert_eq!(allowed, 20);
        // One second later: ten more frames.
        let t1 = t + Duration::from_secs(1);
        let allowed = (0..30)
            .filter(|_| r.check(10, t1) == Verdict::Allow)
            .count();
        assert_eq!(allowed, 10);
        // Bytes: 2000 at once, then 1000 a second, whatever the frame count.
        let mut r = RateLimit::new(rule(), t);
        assert_eq!(r.check(1500, t), Verdict::Allow);
        assert_eq!(r.check(600, t), Verdict::Refuse);
        assert_eq!(r.check(500, t), Verdict::Allow);
        assert_eq!(
            r.check(900, t + Duration::from_millis(500)),
            Verdict::Refuse
        );
        assert_eq!(r.check(900, t + Duration::from_secs(1)), Verdict::Allow);
    }

    #[test]
    fn a_frame_larger_than_the_byte_burst_passes_on_a_full_bucket() {
        let t = Instant::now();
        let rule = RateRule {
            abuse_bytes: 10_000_000,
            ..rule()
        };
        let mut r = RateLimit::new(rule, t);
        assert_eq!(r.check(1_000_000, t), Verdict::Allow);
        assert_eq!(r.check(1_000_000, t), Verdict::Refuse);
        assert_eq!(
            r.check(1_000_000, t + Duration::from_secs(2)),
            Verdict::Allow
        );
    }

    #[test]
    fn refusals_add_up_over_the_window_whatever_passes_between_them() {
        // The refill between frames lets some through: the count of refusals does not
        // start again for it (sending steadily at twice the rate is abuse).
        let t = Instant::now();
        let mut r = RateLimit::new(rule(), t);
        let mut verdicts = Vec::new();
        for i in 0..200u64 {
            verdicts.push(r.check(10, t + Duration::from_millis(50 * i)));
        }
        let first_abuse = verdicts.iter().position(|v| *v == Verdict::Abuse);
        assert!(first_abuse.is_some(), "{verdicts:?}");
        assert!(verdicts.contains(&Verdict::Allow));
        // Refused bytes count as well: a few huge frames are enough.
        let mut r = RateLimit::new(rule(), t);
        let verdicts: Vec<_> = (0..5).map(|_| r.check(60_000, t)).collect();
        assert_eq!(verdicts.last(), Some(&Verdict::Abuse), "{verdicts:?}");
        // A burst now and then, a window apart, is not abuse.
        let mut r = RateLimit::new(rule(), t);
        for w in 0..5u64 {
            let at = t + ABUSE_WINDOW * (w as u32) + Duration::from_secs(1);
            for _ in 0..60 {
                assert_ne!(r.check(10, at), Verdict::Abuse);
            }
        }
    }
}
