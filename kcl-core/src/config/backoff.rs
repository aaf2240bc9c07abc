//! [`Backoff`]: the bounds of a retry backoff, and [`Jitter`]: where the worker's backoff jitter comes
//! from (entropy, or a seed so that a simulation replays exactly).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::ConfigError;

/// Exponential backoff bounds (with jitter), used for retries driven through `backon`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay.
    pub min_delay: Duration,
    /// The largest delay.
    pub max_delay: Duration,
}

impl Backoff {
    /// Backoff between `min_delay` and `max_delay`.
    pub const fn new(min_delay: Duration, max_delay: Duration) -> Self {
        Backoff { min_delay, max_delay }
    }

    /// The `backon` builder for these bounds (exponential, factor 2, with jitter, unlimited attempts).
    fn builder(&self) -> backon::ExponentialBuilder {
        backon::ExponentialBuilder::default()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_jitter()
            .without_max_times()
    }

    /// A fresh iterator of delays whose jitter is seeded with `seed` (entropy when `None`).
    pub(crate) fn delays_seeded(&self, seed: Option<u64>) -> impl Iterator<Item = Duration> + Send + 'static {
        use backon::BackoffBuilder;
        let builder = self.builder();
        match seed {
            Some(seed) => builder.with_jitter_seed(seed),
            None => builder,
        }
        .build()
    }

    pub(super) fn validate(&self, field: &'static str) -> Result<(), ConfigError> {
        if self.min_delay.is_zero() {
            return Err(ConfigError::new(
                field,
                "min_delay must be above zero (e.g. 100 ms)",
            ));
        }
        if self.min_delay > self.max_delay {
            return Err(ConfigError::new(
                field,
                format!(
                    "min_delay {:?} is above max_delay {:?}; raise max_delay or lower min_delay",
                    self.min_delay, self.max_delay
                ),
            ));
        }
        Ok(())
    }
}

/// Where a worker's backoff jitter comes from: entropy by default, or a seed
/// ([`WorkerConfigBuilder::jitter_seed`]) so that a simulation replays exactly. Each backoff sequence the
/// worker starts draws the next seed of a deterministic series, so the delays depend only on the seed and
/// on the order in which the worker starts its retries.
#[derive(Clone, Debug)]
pub(crate) struct Jitter {
    seed: Option<u64>,
    draws: Arc<AtomicU64>,
}

impl Jitter {
    pub(crate) fn new(seed: Option<u64>) -> Self {
        Jitter {
            seed,
            draws: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A fresh iterator of delays within `backoff`'s bounds.
    pub(crate) fn delays(&self, backoff: Backoff) -> impl Iterator<Item = Duration> + Send + 'static {
        let seed = self.seed.map(|seed| {
            let n = self.draws.fetch_add(1, Ordering::Relaxed);
            splitmix64(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        });
        backoff.delays_seeded(seed)
    }
}

/// One step of SplitMix64: spreads consecutive inputs over the whole `u64` range.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
