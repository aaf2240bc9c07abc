//! Wall time that follows tokio time.
//!
//! The worker measures every duration (lease expiry, backoff, idle waits) on `tokio::time`. The few places
//! that need wall time (millis behind latest computed from arrival times, log lines) read a [`Clock`]: a
//! wall-clock base captured once plus the tokio time elapsed since, so paused-time tests
//! (`#[tokio::test(start_paused = true)]` with `tokio::time::advance`) drive it too.

use std::time::SystemTime;

use tokio::time::Instant;

/// A wall clock driven by tokio time: `base + (tokio::time::Instant::now() - start)`. Cheap to copy.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// Wall time at `start`.
    base: SystemTime,
    /// The tokio instant at which `base` was captured.
    start: Instant,
}

impl Clock {
    /// A clock reading the system time now and following tokio time from here on.
    pub fn new() -> Self {
        #[allow(clippy::disallowed_methods)] // the one place kcl-core reads the system clock
        let base = SystemTime::now();
        Self::starting_at(base)
    }

    /// A clock that reads `base` now and follows tokio time from here on.
    pub fn starting_at(base: SystemTime) -> Self {
        Clock {
            base,
            start: Instant::now(),
        }
    }

    /// The current wall time.
    pub fn now(&self) -> SystemTime {
        let elapsed = Instant::now().saturating_duration_since(self.start);
        self.base.checked_add(elapsed).unwrap_or(self.base)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn follows_paused_tokio_time() {
        let clock = Clock::new();
        let before = clock.now();
        tokio::time::advance(Duration::from_secs(90)).await;
        let moved = clock.now().duration_since(before).unwrap_or_default();
        assert_eq!(moved, Duration::from_secs(90));
    }
}
