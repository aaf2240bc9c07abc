//! Knowing whether the SDK client retried a write after an attempt that may have been applied.
//!
//! The caller's `aws_sdk_dynamodb::Client` may retry a request by itself (its retry configuration is the
//! caller's). When an attempt times out, loses its connection or gets a 5xx response, DynamoDB may or may
//! not have applied it; if the client then retries a fenced write, the retry can fail its condition *because
//! the first attempt landed*. A condition failure is only ambiguous in that case: [`AmbiguousAttempts`] is
//! attached to each fenced write and records whether an earlier attempt of that one call ended ambiguously.
//! Without it, a condition failure is definite and is never second-guessed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use aws_sdk_dynamodb::config::interceptors::FinalizerInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};

/// An SDK interceptor that notes when an attempt of one request ended without a definite answer (no
/// response at all, or a 5xx response).
#[derive(Clone, Debug, Default)]
pub(crate) struct AmbiguousAttempts {
    seen: Arc<AtomicBool>,
}

impl AmbiguousAttempts {
    /// True if some attempt of the request ended ambiguously (and so may have been applied).
    pub(crate) fn seen(&self) -> bool {
        self.seen.load(Ordering::SeqCst)
    }
}

impl Intercept for AmbiguousAttempts {
    fn name(&self) -> &'static str {
        "kcl-checkpoint::AmbiguousAttempts"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        // A 4xx (a failed condition, throttling, validation) is a definite "not applied"; a success is
        // definite too. No response (timeout, dropped connection) or a 5xx may have been applied.
        let ambiguous = context
            .response()
            .is_none_or(|response| response.status().is_server_error());
        if ambiguous {
            self.seen.store(true, Ordering::SeqCst);
        }
        Ok(())
    }
}
