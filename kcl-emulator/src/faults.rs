//! Fault injection: scripted errors, added latency and forced throttling.
//!
//! A [`Faults`] handle (from [`Emulator::faults`](crate::Emulator::faults)) holds a list of [`FaultRule`]s.
//! Each rule has an action (an error with any code, latency, or throttling) and a scope: an operation, a
//! stream, a shard, a number of times, and a probability drawn from a seeded generator. The rules wrap
//! every operation at one place, the dispatch point (`dispatch.rs`): rules without a shard apply
//! before the operation runs; rules with a shard apply once the shard is known (GetShardIterator,
//! GetRecords, SubscribeToShard: after the request is validated and its shard found), and PutRecord /
//! PutRecords apply them to the individual records routed to that shard, as a partial failure. When no
//! rule is installed the check is a single atomic load.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::error::{ErrorCode, KinesisError};
use crate::operation::Operation;

/// What a rule does when it fires.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FaultAction {
    /// Fail with this error.
    Error(KinesisError),
    /// Delay the operation (tokio time, so paused-time tests skip it instantly).
    Latency(Duration),
    /// Fail with `ProvisionedThroughputExceededException` (per record inside PutRecords).
    Throttle,
}

/// One fault-injection rule: an action and the calls it applies to.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    action: FaultAction,
    operation: Option<Operation>,
    stream: Option<String>,
    shard: Option<String>,
    times: Option<u64>,
    probability: Option<f64>,
}

impl FaultRule {
    fn with_action(action: FaultAction) -> Self {
        Self {
            action,
            operation: None,
            stream: None,
            shard: None,
            times: None,
            probability: None,
        }
    }

    /// Fail with `code` and a generic message.
    pub fn error(code: ErrorCode) -> Self {
        let message = format!("Injected fault: {code}");
        Self::with_action(FaultAction::Error(KinesisError::new(code, message)))
    }

    /// Fail with exactly this error.
    pub fn error_with(error: KinesisError) -> Self {
        Self::with_action(FaultAction::Error(error))
    }

    /// Add `delay` before the operation runs.
    pub fn latency(delay: Duration) -> Self {
        Self::with_action(FaultAction::Latency(delay))
    }

    /// Fail with `ProvisionedThroughputExceededException`.
    pub fn throttle() -> Self {
        Self::with_action(FaultAction::Throttle)
    }

    /// Only for this operation (default: every operation).
    pub fn on(mut self, operation: Operation) -> Self {
        self.operation = Some(operation);
        self
    }

    /// Only for this stream name (default: every stream).
    pub fn on_stream(mut self, stream_name: impl Into<String>) -> Self {
        self.stream = Some(stream_name.into());
        self
    }

    /// Only when the operation touches this shard (e.g. `shardId-000000000001`).
    pub fn on_shard(mut self, shard_id: impl Into<String>) -> Self {
        self.shard = Some(shard_id.into());
        self
    }

    /// Fire at most `n` times, then remove itself (default: forever).
    pub fn times(mut self, n: u64) -> Self {
        self.times = Some(n);
        self
    }

    /// Fire with probability `p` (0.0..=1.0) on each matching call, drawn from the seeded generator.
    pub fn with_probability(mut self, p: f64) -> Self {
        self.probability = Some(if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) });
        self
    }

    /// The rule's action.
    pub fn action(&self) -> &FaultAction {
        &self.action
    }

    fn matches(&self, op: Operation, stream: Option<&str>, shard: Option<&str>) -> bool {
        self.operation.is_none_or(|o| o == op)
            && self.stream.as_deref().is_none_or(|s| Some(s) == stream)
            && self.shard.as_deref() == shard
    }
}

/// Identifies an installed rule, for [`Faults::remove`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FaultId(u64);

#[derive(Debug)]
struct FaultState {
    rules: Vec<(FaultId, FaultRule)>,
    next_id: u64,
    rng: StdRng,
    fired: u64,
}

/// The emulator's fault-injection handle; cheap to clone, shared with the emulator.
#[derive(Debug, Clone)]
pub struct Faults {
    /// Number of installed rules: lets the hot path skip the lock when there are none.
    active: Arc<AtomicUsize>,
    state: Arc<Mutex<FaultState>>,
}

/// What the rules decided for one call.
#[derive(Debug, Default)]
pub(crate) struct FaultOutcome {
    pub(crate) latency: Duration,
    pub(crate) error: Option<KinesisError>,
}

impl Faults {
    pub(crate) fn new(seed: u64) -> Self {
        Self {
            active: Arc::new(AtomicUsize::new(0)),
            state: Arc::new(Mutex::new(FaultState {
                rules: Vec::new(),
                next_id: 0,
                rng: StdRng::seed_from_u64(seed),
                fired: 0,
            })),
        }
    }

    /// Installs a rule; rules are consulted in installation order.
    pub fn add(&self, rule: FaultRule) -> FaultId {
        let mut state = self.state.lock();
        let id = FaultId(state.next_id);
        state.next_id += 1;
        state.rules.push((id, rule));
        self.active.store(state.rules.len(), Ordering::Release);
        id
    }

    /// Makes the next `n` calls of `operation` fail with `code`.
    pub fn fail_next(&self, operation: Operation, code: ErrorCode, n: u64) -> FaultId {
        self.add(FaultRule::error(code).on(operation).times(n))
    }

    /// Removes a rule; returns whether it was still installed.
    pub fn remove(&self, id: FaultId) -> bool {
        let mut state = self.state.lock();
        let before = state.rules.len();
        state.rules.retain(|(rid, _)| *rid != id);
        self.active.store(state.rules.len(), Ordering::Release);
        state.rules.len() != before
    }

    /// Removes every rule.
    pub fn clear(&self) {
        let mut state = self.state.lock();
        state.rules.clear();
        self.active.store(0, Ordering::Release);
    }

    /// Reseeds the generator behind [`FaultRule::with_probability`].
    pub fn reseed(&self, seed: u64) {
        self.state.lock().rng = StdRng::seed_from_u64(seed);
    }

    /// Number of installed rules.
    pub fn len(&self) -> usize {
        self.active.load(Ordering::Acquire)
    }

    /// Whether no rule is installed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many times a rule has fired since the emulator started.
    pub fn fired(&self) -> u64 {
        self.state.lock().fired
    }

    /// Consults the rules for a call of `op` on `stream` (and `shard`, for shard-scoped rules).
    pub(crate) fn check(&self, op: Operation, stream: Option<&str>, shard: Option<&str>) -> FaultOutcome {
        let mut outcome = FaultOutcome::default();
        if self.is_empty() {
            return outcome;
        }
        let mut state = self.state.lock();
        let FaultState {
            rules, rng, fired, ..
        } = &mut *state;
        let mut exhausted = Vec::new();
        for (id, rule) in rules.iter_mut() {
            if !rule.matches(op, stream, shard) {
                continue;
            }
            let is_error = !matches!(rule.action, FaultAction::Latency(_));
            if is_error && outcome.error.is_some() {
                continue;
            }
            if let Some(p) = rule.probability {
                if rng.random::<f64>() >= p {
                    continue;
                }
            }
            match &rule.action {
                FaultAction::Error(e) => outcome.error = Some(e.clone()),
                FaultAction::Latency(d) => outcome.latency = outcome.latency.saturating_add(*d),
                FaultAction::Throttle => {
                    outcome.error = Some(KinesisError::throughput(format!(
                        "Rate exceeded for {} (injected fault).",
                        shard.or(stream).unwrap_or("the request")
                    )))
                }
            }
            *fired += 1;
            if let Some(t) = rule.times.as_mut() {
                *t = t.saturating_sub(1);
                if *t == 0 {
                    exhausted.push(*id);
                }
            }
        }
        if !exhausted.is_empty() {
            rules.retain(|(id, _)| !exhausted.contains(id));
            self.active.store(rules.len(), Ordering::Release);
        }
        outcome
    }

    /// [`check`](Self::check), then sleeps for the latency and returns the error, if any.
    pub(crate) async fn apply(
        &self,
        op: Operation,
        stream: Option<&str>,
        shard: Option<&str>,
    ) -> Result<(), KinesisError> {
        if self.is_empty() {
            return Ok(());
        }
        let outcome = self.check(op, stream, shard);
        if !outcome.latency.is_zero() {
            tokio::time::sleep(outcome.latency).await;
        }
        outcome.error.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_scope() {
        let f = Faults::new(1);
        f.fail_next(Operation::GetRecords, ErrorCode::InternalFailure, 2);
        assert!(f.check(Operation::PutRecord, None, None).error.is_none());
        assert!(f.check(Operation::GetRecords, Some("s"), None).error.is_some());
        assert!(f.check(Operation::GetRecords, Some("s"), None).error.is_some());
        assert!(f.check(Operation::GetRecords, Some("s"), None).error.is_none());
        assert!(f.is_empty());
        assert_eq!(f.fired(), 2);
    }

    #[test]
    fn shard_rules_only_match_shard_checks() {
        let f = Faults::new(1);
        f.add(FaultRule::throttle().on_shard("shardId-000000000001"));
        assert!(f.check(Operation::GetRecords, Some("s"), None).error.is_none());
        assert!(f
            .check(Operation::GetRecords, Some("s"), Some("shardId-000000000000"))
            .error
            .is_none());
        let e = f
            .check(Operation::GetRecords, Some("s"), Some("shardId-000000000001"))
            .error
            .expect("fires");
        assert!(e.is_throttling());
    }

    #[test]
    fn seeded_rate_is_reproducible() {
        let run = |seed| {
            let f = Faults::new(seed);
            f.add(FaultRule::error(ErrorCode::InternalFailure).with_probability(0.3));
            (0..200)
                .map(|_| f.check(Operation::ListShards, None, None).error.is_some())
                .collect::<Vec<_>>()
        };
        let a = run(7);
        assert_eq!(a, run(7));
        let hits = a.iter().filter(|h| **h).count();
        assert!((30..90).contains(&hits), "{hits} hits out of 200 at p=0.3");
    }
}
