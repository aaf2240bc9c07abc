//! Wall time that follows tokio time: the one place kcl-core reads the system clock.
//!
//! Record ages ([`ProcessingPolicy::maximum_record_age`](crate::ProcessingPolicy::maximum_record_age)) and
//! tumbling windows compare record arrival times with "now". Reading "now" as a base captured once plus the
//! tokio time elapsed since then makes both deterministic under `#[tokio::test(start_paused = true)]`, where
//! the in-process emulator's clock (which stamps arrival times) moves the same way.

use std::sync::Arc;
use std::time::SystemTime;

use tokio::time::Instant;

/// `base + (tokio now - start)`, or a clock the application gave
/// ([`WorkerBuilder::wall_clock`](crate::WorkerBuilder::wall_clock)). Cheap to clone.
#[derive(Clone)]
pub(crate) struct Clock {
    base: SystemTime,
    start: Instant,
    given: Option<Arc<dyn Fn() -> SystemTime + Send + Sync>>,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clock").field("now", &self.now()).finish()
    }
}

impl Clock {
    /// A clock reading the system time now and following tokio time from here on.
    pub(crate) fn new() -> Self {
        #[allow(clippy::disallowed_methods)] // the one place kcl-core reads wall time
        let base = SystemTime::now();
        Clock {
            base,
            start: Instant::now(),
            given: None,
        }
    }

    /// A clock reading `now`.
    pub(crate) fn from_fn(now: Arc<dyn Fn() -> SystemTime + Send + Sync>) -> Self {
        Clock {
            given: Some(now),
            ..Clock::new()
        }
    }

    /// The current wall time.
    pub(crate) fn now(&self) -> SystemTime {
        if let Some(now) = &self.given {
            return now();
        }
        let elapsed = Instant::now().saturating_duration_since(self.start);
        self.base.checked_add(elapsed).unwrap_or(self.base)
    }
}
