//! Wall time that follows tokio time.
//!
//! Every timestamp the emulator hands out (arrival timestamps, stream and shard creation times) and every
//! wall-time comparison it makes (iterator expiry, retention, ListShards timestamp filters) comes from one
//! [`Clock`]: a wall-clock base captured once, plus the time elapsed on the tokio clock since then. Under
//! `#[tokio::test(start_paused = true)]`, `tokio::time::advance` therefore moves the emulator's wall time
//! exactly, which makes time-dependent behaviour deterministic in tests.

use std::time::SystemTime;

use tokio::time::Instant;

use crate::timestamp::Timestamp;

/// A wall clock driven by tokio time: `base + (tokio::time::Instant::now() - start)`.
///
/// Cheap to copy. Each [`Emulator`](crate::Emulator) owns one, captured when it is created (or pinned to a
/// chosen start with [`EmulatorConfigBuilder::start_time`](crate::EmulatorConfigBuilder::start_time)).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// Wall time at `start`.
    base: SystemTime,
    /// The tokio instant at which `base` was captured.
    start: Instant,
}

impl Clock {
    /// A clock whose wall time is the system time now, following tokio time from here on.
    pub fn new() -> Self {
        #[allow(clippy::disallowed_methods)] // the one place wall time is read
        let base = SystemTime::now();
        Self::starting_at(base)
    }

    /// A clock that reads `base` now and follows tokio time from here on.
    pub fn starting_at(base: SystemTime) -> Self {
        Self {
            base,
            start: Instant::now(),
        }
    }

    /// The current wall time.
    pub fn now(&self) -> SystemTime {
        let elapsed = Instant::now().saturating_duration_since(self.start);
        self.base.checked_add(elapsed).unwrap_or(self.base)
    }

    /// The current wall time as a [`Timestamp`] (millisecond precision).
    pub fn timestamp(&self) -> Timestamp {
        Timestamp::from_system_time(self.now())
    }

    /// The current wall time in milliseconds since the Unix epoch.
    pub fn now_millis(&self) -> i64 {
        self.timestamp().as_millis()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn follows_paused_tokio_time() {
        let clock = Clock::starting_at(UNIX_EPOCH + Duration::from_secs(1_000));
        assert_eq!(clock.now_millis(), 1_000_000);
        tokio::time::advance(Duration::from_millis(1_500)).await;
        assert_eq!(clock.now_millis(), 1_001_500);
    }
}
