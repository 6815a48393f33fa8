//! The peer of the session a handler is serving.
//!
//! A managed server serves each session on a thread of its own, and
//! records the session's peer there for as long as it serves it: a
//! handler, which keeps the seed's shape (`Handler { handle: Some(..) }`),
//! asks [`peer`] who is calling. Outside a session thread of a managed
//! server (in a thread the handler started, say) there is no peer.

use crate::transport::PeerCredentials;
use std::cell::RefCell;

thread_local! {
    static PEER: RefCell<Option<PeerCredentials>> = const { RefCell::new(None) };
}

/// The credentials of the peer whose request the calling thread is
/// handling, as the kernel reported them when its connection was
/// accepted; `None` outside a handler call of a managed server.
///
/// ```
/// use netipc::service::{increment, peer};
///
/// let handler = increment::Handler {
///     handle: Some(Box::new(|v| {
///         let caller = peer()?; // who is asking
///         (caller.uid == Some(0) || v < 100).then_some(v + 1)
///     })),
/// };
/// # drop(handler);
/// ```
pub fn peer() -> Option<PeerCredentials> {
    PEER.with(|p| p.borrow().clone())
}

/// Records a session's peer for the calling thread until dropped.
#[derive(Debug)]
pub(crate) struct PeerScope(());

impl PeerScope {
    /// Makes `peer` what [`peer`] answers on this thread.
    pub(crate) fn enter(peer: PeerCredentials) -> Self {
        PEER.with(|p| *p.borrow_mut() = Some(peer));
        Self(())
    }
}

impl Drop for PeerScope {
    fn drop(&mut self) {
        PEER.with(|p| *p.borrow_mut() = None);
    }
}
