//! The waiter thread of a shared-memory session: it sleeps on the futex
//! of the session's incoming lane so that no runtime worker does.
//!
//! A task that finds no message after its short spin registers its waker
//! and the sequence number it waits for, and returns `Pending`. The
//! session's waiter thread, parked until then, sleeps on the lane's futex
//! (in slices, to notice a shutdown), and wakes the task when the message
//! has arrived. Then it parks again. A call that was dropped leaves its
//! wish behind: the waiter goes on until that message comes or the
//! session drops, and then wakes a waker nobody waits on, which is
//! harmless.
//!
//! The thread holds a [`ShmWatch`], which keeps the mapping alive: when
//! the session drops while the thread sleeps in the futex, the memory it
//! sleeps on is still mapped; the drop interrupts the sleep and the thread
//! ends.

use netipc_service::transport::posix::shm::ShmWatch;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::thread::Thread;
use std::time::Duration;

/// Longest futex sleep of a waiter before it checks for shutdown.
const SLICE: Duration = Duration::from_millis(100);
/// Stack of a waiter thread: it only loops over a futex call.
const STACK: usize = 64 * 1024;

/// One session's waiter thread.
#[derive(Debug)]
pub(crate) struct ShmWaiter {
    shared: Arc<Shared>,
    thread: Thread,
}

#[derive(Debug)]
struct Shared {
    watch: ShmWatch,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The message waited for (0: none).
    want: u64,
    waker: Option<Waker>,
    closed: bool,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl ShmWaiter {
    /// Starts the waiter thread of the session watched by `watch`.
    pub(crate) fn start(watch: ShmWatch) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            watch,
            state: Mutex::new(State::default()),
        });
        let theirs = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name("netipc-shm-wait".into())
            .stack_size(STACK)
            .spawn(move || run(&theirs))?;
        Ok(Self {
            shared,
            thread: handle.thread().clone(),
        })
    }

    /// Whether message `seq` has arrived; if not, the waiter wakes the
    /// task of `cx` when it does.
    pub(crate) fn poll_arrived(&self, seq: u64, cx: &mut Context<'_>) -> Poll<()> {
        if self.shared.watch.arrived(seq) {
            return Poll::Ready(());
        }
        let newly = {
            let mut st = self.shared.state();
            match &st.waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => st.waker = Some(cx.waker().clone()),
            }
            std::mem::replace(&mut st.want, seq) != seq
        };
        if newly {
            self.thread.unpark();
        }
        // The message may have come before the wish was registered.
        if self.shared.watch.arrived(seq) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for ShmWaiter {
    fn drop(&mut self) {
        self.shared.state().closed = true;
        self.thread.unpark();
        self.shared.watch.interrupt();
    }
}

/// The waiter thread's loop.
fn run(shared: &Shared) {
    loop {
        let want = {
            let st = shared.state();
            if st.closed {
                return;
            }
            st.want
        };
        if want == 0 {
            std::thread::park();
            continue;
        }
        if shared.watch.wait(want, SLICE) {
            let waker = {
                let mut st = shared.state();
                if st.want == want {
                    st.want = 0;
                    st.waker.take()
                } else {
                    None
                }
            };
            if let Some(w) = waker {
                w.wake();
            }
        }
    }
}
