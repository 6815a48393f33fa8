//! A gate in a handler: calls that reach it wait until the test opens it.
//! While the gate holds a call, the test knows the call is being handled
//! and unanswered, and can check what the client does meanwhile (times
//! out, is aborted, is drained) without racing a handler that sleeps.

use crate::wait::PATIENCE;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Shared by a test and its handler.
#[derive(Debug, Default)]
pub struct Gate {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    open: bool,
    /// Calls that reached the gate.
    reached: u32,
    /// Calls that went through it.
    passed: u32,
}

impl Gate {
    /// A closed gate.
    pub fn closed() -> Arc<Self> {
        Arc::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// In the handler: counts the call, and waits while the gate is closed,
    /// for at most [`PATIENCE`] (so that a test that failed with the gate
    /// closed does not leave its server unable to stop).
    pub fn pass(&self) {
        let mut s = self.state();
        s.reached += 1;
        self.changed.notify_all();
        let (mut s, _) = self
            .changed
            .wait_timeout_while(s, PATIENCE, |s| !s.open)
            .unwrap_or_else(|p| p.into_inner());
        if !s.open {
            eprintln!("a call held at a gate for {PATIENCE:?} was let through");
        }
        s.passed += 1;
        self.changed.notify_all();
    }

    /// Lets every call through, held ones and later ones.
    pub fn open(&self) {
        self.state().open = true;
        self.changed.notify_all();
    }

    /// Holds calls that come from now on.
    pub fn close(&self) {
        self.state().open = false;
    }

    /// Calls that reached the gate so far.
    pub fn reached(&self) -> u32 {
        self.state().reached
    }

    /// Calls held at the gate now.
    pub fn held(&self) -> u32 {
        let s = self.state();
        s.reached - s.passed
    }

    /// Waits until `n` calls in all have reached the gate; fails after
    /// [`PATIENCE`].
    pub fn wait_reached(&self, n: u32) {
        let s = self.state();
        let (s, _) = self
            .changed
            .wait_timeout_while(s, PATIENCE, |s| s.reached < n)
            .unwrap_or_else(|p| p.into_inner());
        assert!(s.reached >= n, "{} calls reached the handler, not {n}", s.reached);
    }

    /// Waits until no call is held; fails after [`PATIENCE`].
    pub fn wait_none_held(&self) {
        let s = self.state();
        let (s, _) = self
            .changed
            .wait_timeout_while(s, PATIENCE, |s| s.passed < s.reached)
            .unwrap_or_else(|p| p.into_inner());
        assert_eq!(s.passed, s.reached, "calls still held");
    }
}
