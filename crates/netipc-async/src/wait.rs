//! What ends a wait besides its own event: a deadline and a raised signal.

use crate::abort::AbortHandle;
use netipc_service::transport::TransportError;
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;

/// The bounds of one wait: the call's deadline (`Timeout`) and an abort or
/// stop signal (`Aborted`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Waits<'a> {
    pub(crate) deadline: Option<tokio::time::Instant>,
    pub(crate) abort: Option<&'a AbortHandle>,
}

impl<'a> Waits<'a> {
    /// Bounds a call that must be over by `deadline`, watching `abort`.
    pub(crate) fn call(deadline: std::time::Instant, abort: &'a AbortHandle) -> Self {
        Self {
            deadline: Some(tokio::time::Instant::from_std(deadline)),
            abort: Some(abort),
        }
    }

    /// Runs `fut` until it completes, the deadline passes (`Timeout`) or
    /// the signal is raised (`Aborted`), whichever comes first. The timer
    /// is made only here: a call that never waits never arms one.
    pub(crate) async fn race<T>(
        &self,
        fut: impl Future<Output = Result<T, TransportError>>,
    ) -> Result<T, TransportError> {
        let mut fut = pin!(fut);
        let mut abort = pin!(self.abort.map(AbortHandle::raised));
        let mut sleep = pin!(self.deadline.map(tokio::time::sleep_until));
        poll_fn(move |cx| {
            if let Poll::Ready(r) = fut.as_mut().poll(cx) {
                return Poll::Ready(r);
            }
            if let Some(a) = abort.as_mut().as_pin_mut()
                && a.poll(cx).is_ready()
            {
                return Poll::Ready(Err(TransportError::Aborted));
            }
            if let Some(s) = sleep.as_mut().as_pin_mut()
                && s.poll(cx).is_ready()
            {
                return Poll::Ready(Err(TransportError::Timeout));
            }
            Poll::Pending
        })
        .await
    }
}
