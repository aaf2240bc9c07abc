//! A watched value with deterministic wake-ups: the subset of `tokio::sync::watch` the worker uses.
//!
//! Why not `tokio::sync::watch`: its receivers register on one of several internal wait queues picked
//! at random, so the order in which waiting tasks wake after a change varies from run to run. The worker
//! wakes many consumers from one value (shutdown, a lease lost, a new lease-table view), and a paused-time
//! simulation must replay exactly from its seed. Here every receiver waits on one
//! [`Notify`](tokio::sync::Notify) queue, woken in a fixed order.
//!
//! Semantics as `watch`: a [`Receiver`] remembers the version it saw last; [`Receiver::changed`] returns
//! once the value changed since then, or fails once the [`Sender`] is gone and nothing changed.

use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

#[derive(Debug)]
struct State<T> {
    value: T,
    version: u64,
    closed: bool,
}

#[derive(Debug)]
struct Shared<T> {
    state: Mutex<State<T>>,
    notify: Notify,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The sender was dropped: the value will not change any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Closed;

/// Creates a watched value starting at `value`.
pub(crate) fn channel<T>(value: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            value,
            version: 0,
            closed: false,
        }),
        notify: Notify::new(),
    });
    (
        Sender {
            shared: Arc::clone(&shared),
        },
        Receiver { shared, seen: 0 },
    )
}

/// Changes the value and wakes every waiting receiver.
#[derive(Debug)]
pub(crate) struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Replaces the value (always a change).
    pub(crate) fn send_replace(&self, value: T) {
        self.send_if_modified(|current| {
            *current = value;
            true
        });
    }

    /// Lets `modify` change the value in place; wakes receivers only if it returns true.
    pub(crate) fn send_if_modified(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        let changed = {
            let mut state = self.shared.lock();
            let changed = modify(&mut state.value);
            if changed {
                state.version += 1;
            }
            changed
        };
        if changed {
            self.shared.notify.notify_waiters();
        }
        changed
    }

    /// A receiver that has seen the current value.
    pub(crate) fn subscribe(&self) -> Receiver<T> {
        let seen = self.shared.lock().version;
        Receiver {
            shared: Arc::clone(&self.shared),
            seen,
        }
    }

    /// The current value.
    pub(crate) fn borrow(&self) -> Ref<'_, T> {
        Ref(self.shared.lock())
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.notify.notify_waiters();
    }
}

/// Reads the value and waits for changes.
#[derive(Debug)]
pub(crate) struct Receiver<T> {
    shared: Arc<Shared<T>>,
    seen: u64,
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        Receiver {
            shared: Arc::clone(&self.shared),
            seen: self.seen,
        }
    }
}

/// A borrowed value (holds a lock: do not keep it across an `.await`).
pub(crate) struct Ref<'a, T>(MutexGuard<'a, State<T>>);

impl<T> Deref for Ref<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0.value
    }
}

impl<T> Receiver<T> {
    /// The current value.
    pub(crate) fn borrow(&self) -> Ref<'_, T> {
        Ref(self.shared.lock())
    }

    /// The current value, marked as seen.
    pub(crate) fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let state = self.shared.lock();
        self.seen = state.version;
        Ref(state)
    }

    /// Waits until the value changed since it was last seen (and marks it seen).
    ///
    /// # Errors
    ///
    /// [`Closed`] once the sender is gone and nothing changed.
    pub(crate) async fn changed(&mut self) -> Result<(), Closed> {
        loop {
            let notified = self.shared.notify.notified();
            tokio::pin!(notified);
            // Registered before the state is read, so a change in between is not missed.
            notified.as_mut().enable();
            {
                let state = self.shared.lock();
                if state.version != self.seen {
                    self.seen = state.version;
                    return Ok(());
                }
                if state.closed {
                    return Err(Closed);
                }
            }
            notified.await;
        }
    }

    /// Waits until `condition` holds for the value (checked now, then after every change).
    ///
    /// # Errors
    ///
    /// [`Closed`] once the sender is gone while the condition does not hold.
    pub(crate) async fn wait_for(&mut self, mut condition: impl FnMut(&T) -> bool) -> Result<(), Closed> {
        loop {
            let notified = self.shared.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let state = self.shared.lock();
                self.seen = state.version;
                if condition(&state.value) {
                    return Ok(());
                }
                if state.closed {
                    return Err(Closed);
                }
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn receivers_see_changes_and_the_sender_going_away() {
        let (tx, mut rx) = channel(0u32);
        let mut other = tx.subscribe();
        tx.send_replace(1);
        rx.changed().await.unwrap();
        assert_eq!(*rx.borrow(), 1);
        assert!(!tx.send_if_modified(|_| false));
        let waiter = tokio::spawn(async move { other.wait_for(|v| *v == 3).await });
        tx.send_replace(2);
        tx.send_replace(3);
        waiter.await.unwrap().unwrap();
        drop(tx);
        assert_eq!(rx.changed().await, Ok(()), "the change to 3 was not seen yet");
        assert_eq!(rx.changed().await, Err(Closed));
        assert_eq!(rx.wait_for(|v| *v == 9).await, Err(Closed));
        assert!(rx.wait_for(|v| *v == 3).await.is_ok());
    }
}
