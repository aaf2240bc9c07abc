//! The throughput bucket: a token bucket refilled continuously on tokio time.
//!
//! Each shard keeps four (write bytes, write records, read bytes, read calls) and each SubscribeToShard
//! subscription one (its read bytes); GetRecords and SubscribeToShard may overdraw the byte bucket with
//! one large read and are then held back until it is paid back, as in AWS.

use std::time::Duration;

use tokio::time::Instant;

/// A token bucket refilled continuously on tokio time.
#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    tokens: f64,
    last: Option<Instant>,
}

impl Bucket {
    pub(crate) const fn new() -> Self {
        Self {
            tokens: 0.0,
            last: None,
        }
    }

    fn refill(&mut self, rate: u64, now: Instant) {
        let rate = rate as f64;
        match self.last {
            None => self.tokens = rate,
            Some(last) => {
                let elapsed = now.saturating_duration_since(last).as_secs_f64();
                self.tokens = (self.tokens + elapsed * rate).min(rate);
            }
        }
        self.last = Some(now);
    }

    /// Takes `n` tokens if available.
    pub(crate) fn try_take(&mut self, rate: u64, n: u64, now: Instant) -> bool {
        self.refill(rate, now);
        let n = n as f64;
        if self.tokens >= n {
            self.tokens -= n;
            true
        } else {
            false
        }
    }

    /// Whether `n` tokens are available (without taking them).
    pub(crate) fn can_take(&mut self, rate: u64, n: u64, now: Instant) -> bool {
        self.refill(rate, now);
        self.tokens >= n as f64
    }

    /// Whether the bucket is in credit (reads may overdraw it).
    pub(crate) fn has_credit(&mut self, rate: u64, now: Instant) -> bool {
        self.refill(rate, now);
        self.tokens > 0.0
    }

    /// Whole tokens available (zero when in debt); call after a refill such as [`Bucket::has_credit`].
    pub(crate) fn available(&self) -> u64 {
        if self.tokens > 0.0 {
            self.tokens as u64
        } else {
            0
        }
    }

    /// Takes `n` tokens, going into debt if needed.
    pub(crate) fn overdraw(&mut self, n: u64) {
        self.tokens -= n as f64;
    }

    /// How long until the bucket is back in credit.
    pub(crate) fn time_to_credit(&self, rate: u64) -> Duration {
        if self.tokens > 0.0 || rate == 0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((-self.tokens / rate as f64).min(3600.0) + 0.001)
        }
    }
}

impl Default for Bucket {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bucket_refills_on_tokio_time() {
        let mut b = Bucket::new();
        let now = Instant::now();
        assert!(b.try_take(10, 10, now));
        assert!(!b.try_take(10, 1, now));
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(b.try_take(10, 5, Instant::now()));
        assert!(!b.try_take(10, 1, Instant::now()));
        b.overdraw(20);
        assert!(!b.has_credit(10, Instant::now()));
        assert!(b.time_to_credit(10) > Duration::from_secs(1));
    }
}
