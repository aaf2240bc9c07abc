//! Wall time that follows tokio time: the one place kcl-core reads the system clock.
//!
//! Record ages ([`ProcessingPolicy::maximum_record_age`](crate::ProcessingPolicy::maximum_record_age)) and
//! tumbling windows compare record arrival times with "now". Reading "now" as a base captured once plus the
//! tokio time elapsed since then makes both deterministic under `#[tokio::test(start_paused = true)]`, where
//! the in-process emulator's clock (which stamps arrival times) moves the same way.

use std::time::SystemTime;

use tokio::time::Instant;

/// `base + (tokio now - start)`. Cheap to copy.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    base: SystemTime,
    start: Instant,
}

impl Clock {
    /// A clock reading the system time now and following tokio time from here on.
    pub(crate) fn new() -> Self {
        #[allow(clippy::disallowed_methods)] // the one place kcl-core reads wall time
        let base = SystemTime::now();
        Clock {
            base,
            start: Instant::now(),
        }
    }

    /// The current wall time.
    pub(crate) fn now(&self) -> SystemTime {
        let elapsed = Instant::now().saturating_duration_since(self.start);
        self.base.checked_add(elapsed).unwrap_or(self.base)
    }
}
