//! [`HeldSet`]: the leases this worker holds, by key.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex as StdMutex};

use super::HeldLease;

/// The leases this worker holds, shared by the taker, the renewer and the worker loop.
#[derive(Debug, Default)]
pub(crate) struct HeldSet {
    leases: StdMutex<BTreeMap<String, Arc<HeldLease>>>,
}

impl HeldSet {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<HeldLease>>> {
        self.leases.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every held lease.
    pub(crate) fn all(&self) -> Vec<Arc<HeldLease>> {
        self.lock().values().cloned().collect()
    }

    /// The keys of held leases.
    pub(crate) fn keys(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// The number of held leases.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when `key` is held.
    pub(crate) fn contains(&self, key: &str) -> bool {
        self.lock().contains_key(key)
    }

    pub(crate) fn insert(&self, key: String, lease: Arc<HeldLease>) {
        self.lock().insert(key, lease);
    }

    /// Drops `key` if it is still the given lease.
    pub(crate) fn remove(&self, key: &str, lease: &Arc<HeldLease>) {
        let mut held = self.lock();
        if held.get(key).is_some_and(|h| Arc::ptr_eq(h, lease)) {
            held.remove(key);
        }
    }
}
