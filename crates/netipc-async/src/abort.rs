//! The abort signal of async clients and the stop signal of async servers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;

/// A sticky signal that ends the waits of an async client's calls (they
/// fail with `Aborted`) or an async server's sessions, now and later, until
/// cleared. Clones share the signal; raise it from any thread or task.
#[derive(Debug, Clone, Default)]
pub struct AbortHandle {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    raised: AtomicBool,
    notify: Notify,
}

impl AbortHandle {
    /// A new, unraised signal.
    pub fn new() -> Self {
        Self::default()
    }

    /// Raises the signal: every wait watching it ends. Idempotent.
    pub fn abort(&self) {
        self.inner.raised.store(true, Ordering::Release);
        self.inner.notify.notify_waiters();
    }

    /// Clears the signal, so later waits are no longer ended by it.
    pub fn clear(&self) {
        self.inner.raised.store(false, Ordering::Release);
    }

    /// Whether the signal is raised (one load).
    pub fn is_aborted(&self) -> bool {
        self.inner.raised.load(Ordering::Acquire)
    }

    /// Completes once the signal is raised.
    pub(crate) async fn raised(&self) {
        loop {
            let notified = self.inner.notify.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the flag is read: a raise in between still
            // wakes this wait.
            notified.as_mut().enable();
            if self.is_aborted() {
                return;
            }
            notified.await;
        }
    }
}
