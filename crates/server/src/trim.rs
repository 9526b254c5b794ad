//! Gives memory freed after a burst back to the system. glibc's allocator keeps the pages
//! of freed blocks in its arenas; after heavy traffic (a storm of presence announcements,
//! say) the connections' buffers are freed but the process's RSS would stay high. A trim
//! a few seconds after traffic has been heavy returns those pages, so RSS follows what the
//! connections hold. Quiet servers never trim.

use std::sync::Arc;
use std::time::Duration;

use crate::metrics::Metrics;

/// How often traffic is looked at.
const EVERY: Duration = Duration::from_secs(2);
/// Frames queued since the last look that make it worth a trim.
const BUSY_FRAMES: u64 = 20_000;

/// Runs until the runtime stops.
pub fn spawn(metrics: Arc<Metrics>) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    tokio::spawn(async move {
        let mut seen = metrics.frames_out.get();
        let mut busy = false;
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now = metrics.frames_out.get();
            let heavy = now.saturating_sub(seen) >= BUSY_FRAMES;
            seen = now;
            // Trim once the heavy traffic is over, not during it.
            if busy && !heavy {
                let _ = tokio::task::spawn_blocking(|| {
                    // SAFETY: malloc_trim only releases free memory of the allocator.
                    unsafe { libc::malloc_trim(0) }
                })
                .await;
            }
            busy = heavy;
        }
    });
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = metrics;
}
