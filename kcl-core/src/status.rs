//! What a running worker is doing, for its handle: the state of each shard consumer.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::consumer::ConsumerState;

/// Per-shard consumer states, updated by the consumers.
#[derive(Debug, Default)]
pub(crate) struct WorkerStatus {
    states: Mutex<BTreeMap<String, ConsumerState>>,
}

impl WorkerStatus {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, ConsumerState>> {
        self.states.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn set(&self, shard_id: &str, state: ConsumerState) {
        let mut states = self.lock();
        match states.get_mut(shard_id) {
            Some(s) => *s = state,
            None => {
                states.insert(shard_id.to_owned(), state);
            }
        }
    }

    pub(crate) fn remove(&self, shard_id: &str) {
        self.lock().remove(shard_id);
    }

    pub(crate) fn snapshot(&self) -> BTreeMap<String, ConsumerState> {
        self.lock().clone()
    }
}
