//! Gives freed memory back to the system. glibc's allocator keeps what a burst freed
//! (large frames, a flood of connections) in its arenas, so the RSS stays at the peak;
//! `malloc_trim` returns the free pages (`madvise`), on a timer, off the async threads.

use std::time::Duration;

/// Trims every `every` until the process ends; nothing where the allocator is not glibc's.
pub fn trim_every(every: Duration) {
    if every.is_zero() {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // SAFETY: malloc_trim only walks the allocator's own free lists.
            let _ = tokio::task::spawn_blocking(|| unsafe { libc::malloc_trim(0) }).await;
        }
    });
}
