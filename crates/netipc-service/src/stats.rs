//! A managed server's counters: sessions, calls, bytes.
//!
//! Counting stays off the shared path: each session thread counts its own
//! calls and bytes in atomics of its own (on a cache line of their own),
//! which only it writes, with plain relaxed loads and stores. The server
//! keeps a list of the live sessions' counters and the sums of the ended
//! ones; a session joins the list after its handshake and folds its
//! counts into the sums when it ends, both under a short lock, and
//! [`ManagedServer::stats`](crate::ManagedServer::stats) reads them under
//! the same lock, so a snapshot counts every call once. Nothing on the
//! path of a call takes a lock or a locked instruction.

use crate::transport::TransportError;
use crate::transport::codec::{
    HEADER_LEN, STATUS_BAD_ENVELOPE, STATUS_INTERNAL_ERROR, STATUS_LIMIT_EXCEEDED, STATUS_OK,
    STATUS_UNSUPPORTED,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Calls a managed server did not answer OK, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FailedCalls {
    /// The handler reported failure (answered INTERNAL_ERROR).
    pub handler_failed: u64,
    /// The handler panicked (answered INTERNAL_ERROR; the server goes on).
    pub handler_panicked: u64,
    /// The request did not decode (answered BAD_ENVELOPE).
    pub bad_request: u64,
    /// The answer, or the request, was larger than the session allows
    /// (answered LIMIT_EXCEEDED; the client reconnects with more room).
    pub limit_exceeded: u64,
    /// Another method than the endpoint's (answered UNSUPPORTED).
    pub unsupported_method: u64,
}

impl FailedCalls {
    /// All of them.
    pub fn total(&self) -> u64 {
        self.handler_failed
            + self.handler_panicked
            + self.bad_request
            + self.limit_exceeded
            + self.unsupported_method
    }
}

/// A snapshot of a managed server's counters, from its start
/// ([`ManagedServer::stats`](crate::ManagedServer::stats)).
///
/// Bytes are whole messages (32-byte header and payload) of the sessions'
/// calls; the handshake is not counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// Sessions open now.
    pub sessions_open: u64,
    /// Of those, sessions over shared memory.
    pub sessions_open_shm: u64,
    /// Sessions opened (handshakes accepted) since the start.
    pub sessions_total: u64,
    /// Of those, sessions over shared memory.
    pub sessions_shm: u64,
    /// Of those, sessions over the socket or pipe (including sessions
    /// whose shared-memory set-up failed).
    pub sessions_socket: u64,
    /// Connections refused AUTH_FAILED: a wrong token, or a peer the
    /// access policy refuses (counted in `refused_by_policy` too).
    pub sessions_refused: u64,
    /// Connections the access policy refused.
    pub refused_by_policy: u64,
    /// Other handshakes that failed: no HELLO in time, a malformed one,
    /// no common profile, limits that do not fit, a client gone.
    pub handshake_failures: u64,
    /// Calls answered OK.
    pub calls_ok: u64,
    /// Calls answered otherwise, by reason.
    pub calls_failed: FailedCalls,
    /// Bytes of requests received.
    pub bytes_in: u64,
    /// Bytes of answers sent.
    pub bytes_out: u64,
}

/// The counters of one session, written by its own thread only.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct SessionCounters {
    shm: bool,
    calls_ok: AtomicU64,
    handler_failed: AtomicU64,
    handler_panicked: AtomicU64,
    bad_request: AtomicU64,
    limit_exceeded: AtomicU64,
    unsupported_method: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
}

/// Adds `n` to a counter that only the calling thread writes: a plain
/// load and store, no locked instruction.
#[inline]
fn bump(c: &AtomicU64, n: u64) {
    c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

impl SessionCounters {
    /// Counts one call: its request's payload length, the status it was
    /// answered with, the answer's payload length.
    #[inline]
    pub(crate) fn call(&self, request_len: usize, status: u16, answer_len: usize) {
        let c = match status {
            STATUS_OK => &self.calls_ok,
            STATUS_BAD_ENVELOPE => &self.bad_request,
            STATUS_LIMIT_EXCEEDED => &self.limit_exceeded,
            STATUS_UNSUPPORTED => &self.unsupported_method,
            STATUS_INTERNAL_ERROR => &self.handler_failed,
            _ => &self.handler_failed,
        };
        bump(c, 1);
        bump(&self.bytes_in, (HEADER_LEN + request_len) as u64);
        bump(&self.bytes_out, (HEADER_LEN + answer_len) as u64);
    }

    /// Counts a handler that panicked (its call is counted by
    /// [`SessionCounters::call`] as a failure; this moves it to panics).
    pub(crate) fn panicked(&self) {
        bump(&self.handler_panicked, 1);
    }

    fn add_to(&self, s: &mut ServerStats) {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let panicked = get(&self.handler_panicked);
        s.calls_ok += get(&self.calls_ok);
        s.calls_failed.handler_failed += get(&self.handler_failed).saturating_sub(panicked);
        s.calls_failed.handler_panicked += panicked;
        s.calls_failed.bad_request += get(&self.bad_request);
        s.calls_failed.limit_exceeded += get(&self.limit_exceeded);
        s.calls_failed.unsupported_method += get(&self.unsupported_method);
        s.bytes_in += get(&self.bytes_in);
        s.bytes_out += get(&self.bytes_out);
    }
}

/// What the server counts beside the sessions' own counters.
#[derive(Debug, Default)]
struct Book {
    /// The counters of the live sessions.
    live: Vec<Arc<SessionCounters>>,
    /// Everything counted so far, ended sessions' calls included; the
    /// live sessions' calls are added when read.
    totals: ServerStats,
}

/// A server's counters.
#[derive(Debug, Default)]
pub(crate) struct ServerCounters {
    book: Mutex<Book>,
}

impl ServerCounters {
    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a handshake that failed with `e`.
    pub(crate) fn handshake_failed(&self, e: &TransportError) {
        let mut book = self.book();
        match e {
            TransportError::PeerRefused { .. } => {
                book.totals.sessions_refused += 1;
                book.totals.refused_by_policy += 1;
            }
            TransportError::AuthFailed => book.totals.sessions_refused += 1,
            _ => book.totals.handshake_failures += 1,
        }
    }

    /// Registers a new session; it is counted as open until the returned
    /// guard drops.
    pub(crate) fn open(self: &Arc<Self>, shm: bool) -> OpenSession {
        let counters = Arc::new(SessionCounters {
            shm,
            ..SessionCounters::default()
        });
        let mut book = self.book();
        book.totals.sessions_total += 1;
        if shm {
            book.totals.sessions_shm += 1;
        } else {
            book.totals.sessions_socket += 1;
        }
        book.live.push(Arc::clone(&counters));
        OpenSession {
            server: Arc::clone(self),
            counters,
        }
    }

    /// A snapshot of every counter.
    pub(crate) fn snapshot(&self) -> ServerStats {
        let book = self.book();
        let mut s = book.totals;
        s.sessions_open = book.live.len() as u64;
        s.sessions_open_shm = book.live.iter().filter(|c| c.shm).count() as u64;
        for c in &book.live {
            c.add_to(&mut s);
        }
        s
    }
}

/// A session counted as open; dropping it folds its counts into the
/// server's totals.
#[derive(Debug)]
pub(crate) struct OpenSession {
    server: Arc<ServerCounters>,
    counters: Arc<SessionCounters>,
}

impl std::ops::Deref for OpenSession {
    type Target = SessionCounters;

    fn deref(&self) -> &SessionCounters {
        &self.counters
    }
}

impl Drop for OpenSession {
    fn drop(&mut self) {
        let mut book = self.server.book();
        if let Some(i) = book.live.iter().position(|c| Arc::ptr_eq(c, &self.counters)) {
            book.live.swap_remove(i);
        }
        self.counters.add_to(&mut book.totals);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_counts_live_and_ended_sessions_once() {
        let server = Arc::new(ServerCounters::default());
        let a = server.open(true);
        let b = server.open(false);
        a.call(8, STATUS_OK, 8);
        a.call(8, STATUS_OK, 8);
        b.call(100, STATUS_LIMIT_EXCEEDED, 0);
        b.call(4, STATUS_INTERNAL_ERROR, 0);
        b.panicked();
        b.call(4, STATUS_INTERNAL_ERROR, 0);
        let s = server.snapshot();
        assert_eq!(
            (s.sessions_open, s.sessions_open_shm, s.sessions_total),
            (2, 1, 2)
        );
        assert_eq!((s.sessions_shm, s.sessions_socket), (1, 1));
        assert_eq!(s.calls_ok, 2);
        assert_eq!(s.calls_failed.limit_exceeded, 1);
        assert_eq!(s.calls_failed.handler_panicked, 1);
        assert_eq!(s.calls_failed.handler_failed, 1);
        assert_eq!(s.calls_failed.total(), 3);
        assert_eq!(s.bytes_in, 5 * 32 + 8 + 8 + 100 + 4 + 4);
        assert_eq!(s.bytes_out, 5 * 32 + 16);
        drop(a);
        let after = server.snapshot();
        assert_eq!((after.sessions_open, after.sessions_open_shm), (1, 0));
        assert_eq!(after.calls_ok, 2, "an ended session's calls stay counted, once");
        assert_eq!(after.bytes_in, s.bytes_in);
        drop(b);
        assert_eq!(server.snapshot().calls_failed, s.calls_failed);
        server.handshake_failed(&TransportError::AuthFailed);
        server.handshake_failed(&TransportError::PeerRefused {
            peer: crate::transport::PeerCredentials::default(),
        });
        server.handshake_failed(&TransportError::Timeout);
        let s = server.snapshot();
        assert_eq!(
            (s.sessions_refused, s.refused_by_policy, s.handshake_failures),
            (2, 1, 1)
        );
    }
}
