//! Tumbling windows (Lambda's `TumblingWindowInSeconds`): a state value carried from one
//! `process_records` call to the next within a fixed window of arrival time, per shard.
//!
//! Windows are aligned to the Unix epoch (a 60 s window runs from one whole minute to the next) and a
//! record belongs to the window its approximate arrival time falls in; no batch spans two windows. Each
//! call of a window sees the state the previous successful call of that window set (none at the window's
//! start); a call that fails leaves the state as it was, so a retry sees the same state. When the window
//! is over (a record of a later window was read, or the window's end passed on the worker's clock), the
//! processor gets one more call with [`TumblingWindow::is_final`] set, no records and the window's state:
//! the place to emit the window's result. The next window starts with no state.
//!
//! The state lives in the worker's memory. With
//! [`checkpoint_after_batch`](super::ProcessingPolicyBuilder::checkpoint_after_batch) the worker checkpoints
//! only at each window's end, after its final call, so a worker that takes the shard over reads the
//! window again from its start and rebuilds the state.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

/// The tumbling window a batch belongs to, and its state (in
/// [`ProcessRecordsInput::tumbling_window`](crate::ProcessRecordsInput::tumbling_window)).
#[derive(Clone, Debug)]
pub struct TumblingWindow {
    start: SystemTime,
    end: SystemTime,
    is_final: bool,
    state: Arc<Mutex<Option<Bytes>>>,
}

impl PartialEq for TumblingWindow {
    fn eq(&self, other: &Self) -> bool {
        self.start == other.start
            && self.end == other.end
            && self.is_final == other.is_final
            && self.state() == other.state()
    }
}

impl TumblingWindow {
    pub(crate) fn new(start: SystemTime, length: Duration, is_final: bool, state: Option<Bytes>) -> Self {
        TumblingWindow {
            start,
            end: start + length,
            is_final,
            state: Arc::new(Mutex::new(state)),
        }
    }

    /// The window's start (inclusive).
    pub fn start(&self) -> SystemTime {
        self.start
    }

    /// The window's end (exclusive).
    pub fn end(&self) -> SystemTime {
        self.end
    }

    /// True for the call after the window is over (Lambda's `isFinalInvokeForWindow`): no records, the
    /// window's final state.
    pub fn is_final(&self) -> bool {
        self.is_final
    }

    /// The state the previous successful call of this window set (`None` at the window's start).
    pub fn state(&self) -> Option<Bytes> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Sets the state the next call of this window sees (kept only if this call returns `Ok`).
    pub fn set_state(&self, state: impl Into<Bytes>) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = Some(state.into());
    }

    /// Clears the state.
    pub fn clear_state(&self) {
        *self.state.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// The start of the window of length `length` that `at` falls in (windows aligned to the Unix epoch).
pub(crate) fn window_start(at: SystemTime, length: Duration) -> SystemTime {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let len = length.as_millis().max(1);
    let start_ms = since.as_millis() / len * len;
    UNIX_EPOCH + Duration::from_millis(start_ms as u64)
}
