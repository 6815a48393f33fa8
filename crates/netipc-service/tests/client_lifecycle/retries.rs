//! Retries on a new session, and timeouts and aborts, which end a call without one.

use super::*;

#[test]
fn a_failed_call_is_retried_once_on_a_new_session() {
    let dir = RunDir::new("svc");
    let calls = Arc::new(AtomicU32::new(0));
    let seen = Arc::clone(&calls);
    // Fails the first request (INTERNAL_ERROR closes that session), then works.
    let handler = increment::Handler {
        handle: Some(Box::new(move |v| {
            (seen.fetch_add(1, Ordering::SeqCst) > 0).then_some(v + 1)
        })),
    };
    let srv = Running::start(dir.path(), "retry", server_config(1024), handler);
    let mut c = IncrementClient::new(dir.path(), "retry", client_config(1024));
    c.refresh();
    assert_eq!(c.call(1).unwrap(), 2);
    assert_eq!(calls.load(Ordering::SeqCst), 2, "the request was sent twice");
    assert_eq!(c.status().reconnect_count, 1);
    assert!(c.ready());
    drop(srv);
}

#[test]
fn a_retry_that_fails_again_reports_the_error() {
    let dir = RunDir::new("svc");
    let calls = Arc::new(AtomicU32::new(0));
    let seen = Arc::clone(&calls);
    let handler = increment::Handler {
        handle: Some(Box::new(move |_| {
            seen.fetch_add(1, Ordering::SeqCst);
            None
        })),
    };
    let _srv = Running::start(dir.path(), "fail", server_config(1024), handler);
    let mut c = IncrementClient::new(dir.path(), "fail", client_config(1024));
    c.refresh();
    assert!(matches!(
        c.call(1),
        Err(ServiceError::ServerStatus {
            status: STATUS_INTERNAL_ERROR,
            ..
        })
    ));
    assert_eq!(calls.load(Ordering::SeqCst), 2, "exactly one retry");
    assert_eq!(c.state(), ClientState::Broken);
    assert_eq!(c.status().error_count, 1);
    // The caller's loop reconnects.
    assert!(c.refresh());
    assert!(c.ready());
}

/// A call whose answer is held back ends with `Timeout` at its deadline,
/// and is not sent again on a new session.
#[test]
fn timeout_is_not_retried() {
    let dir = RunDir::new("svc");
    let gate = Gate::closed();
    let srv = Running::start(dir.path(), "slow", server_config(1024), gated(&gate));
    let cfg = netipc_service::ClientConfig {
        call_timeout: Duration::from_millis(100),
        ..client_config(1024)
    };
    let mut c = IncrementClient::new(dir.path(), "slow", cfg);
    c.refresh();
    let started = Instant::now();
    assert!(matches!(c.call(1), Err(ServiceError::Timeout { .. })));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(100),
        "not before the deadline: {took:?}"
    );
    assert_eq!(c.state(), ClientState::Broken);
    assert_eq!(c.status().reconnect_count, 0, "not retried on a new session");
    // The request reached the handler once; once let through and the
    // server stopped, nothing else did.
    gate.wait_reached(1);
    gate.open();
    srv.stop();
    assert_eq!(gate.reached(), 1);
}

/// An abort from another thread ends a call whose answer is held back,
/// is not retried, and holds until cleared.
#[test]
fn abort_from_another_thread_is_sticky_and_not_retried() {
    let dir = RunDir::new("svc");
    let gate = Gate::closed();
    let _srv = Running::start(dir.path(), "abort", server_config(1024), gated(&gate));
    let mut c = IncrementClient::new(dir.path(), "abort", client_config(1024));
    c.refresh();
    let abort = c.abort_handle().unwrap();
    let aborter = std::thread::spawn({
        let gate = Arc::clone(&gate);
        move || {
            // Once the server has the request, and the client waits.
            gate.wait_reached(1);
            abort.abort();
        }
    });
    assert!(matches!(c.call(1), Err(ServiceError::Aborted { .. })));
    assert_eq!(gate.held(), 1, "ended by the abort, the answer still held back");
    aborter.join().unwrap();
    assert_eq!(c.status().reconnect_count, 0, "not retried on a new session");
    gate.open();
    // Sticky until cleared.
    c.refresh();
    assert!(matches!(c.call(2), Err(ServiceError::Aborted { .. })));
    c.clear_abort();
    c.refresh();
    assert_eq!(c.call(2).unwrap(), 3);
    assert_eq!(gate.reached(), 2, "the aborted calls reached the server once");
}

/// Abort reaches a call waiting on shared memory too.
#[cfg(any(target_os = "linux", windows))]
#[test]
fn abort_over_shared_memory() {
    use netipc_service::transport::codec::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
    let dir = RunDir::new("svc");
    let shm = PROFILE_BASELINE | PROFILE_SHM_HYBRID;
    let gate = Gate::closed();
    let scfg = netipc_service::ServerConfig {
        supported_profiles: shm,
        preferred_profiles: shm,
        ..server_config(1024)
    };
    let _srv = Running::start(dir.path(), "shm-abort", scfg, gated(&gate));
    let ccfg = netipc_service::ClientConfig {
        supported_profiles: shm,
        preferred_profiles: shm,
        ..client_config(1024)
    };
    let mut c = IncrementClient::new(dir.path(), "shm-abort", ccfg);
    c.refresh();
    assert!(c.status().shm);
    let abort = c.abort_handle().unwrap();
    let aborter = std::thread::spawn({
        let gate = Arc::clone(&gate);
        move || {
            gate.wait_reached(1);
            abort.abort();
        }
    });
    assert!(matches!(c.call(1), Err(ServiceError::Aborted { .. })));
    assert_eq!(gate.held(), 1, "ended by the abort, the answer still held back");
    aborter.join().unwrap();
    gate.open();
}

/// A call's own timeout overrides the client's; zero means the client's,
/// which `set_call_timeout` changes. A timed-out call is not retried.
#[test]
fn per_call_timeouts_and_the_client_default() {
    let dir = RunDir::new("svc");
    let gate = Gate::closed();
    let srv = Running::start(dir.path(), "per-call", server_config(1024), gated(&gate));
    let cfg = netipc_service::ClientConfig {
        call_timeout: Duration::from_secs(20),
        ..client_config(1024)
    };
    let mut c = IncrementClient::new(dir.path(), "per-call", cfg);
    let timed = |c: &mut IncrementClient, f: &dyn Fn(&mut IncrementClient) -> netipc_service::Result<u64>| {
        assert!(c.ready() || c.refresh());
        let started = Instant::now();
        (f(c), started.elapsed())
    };

    // While the answer is held back: Timeout, not before the call's own limit.
    let (r, took) = timed(&mut c, &|c| c.call_with_timeout(1, Duration::from_millis(50)));
    assert!(matches!(r, Err(ServiceError::Timeout { .. })), "{r:?}");
    assert!(
        took >= Duration::from_millis(50),
        "not before the deadline: {took:?}"
    );
    // Zero: the client's 20 s, within which the answer, let through, comes.
    gate.open();
    let (r, _) = timed(&mut c, &|c| c.call_with_timeout(1, Duration::ZERO));
    assert_eq!(r.unwrap(), 2);
    // The same for a batch.
    gate.close();
    let (r, _) = timed(&mut c, &|c| {
        let mut out = Vec::new();
        c.call_batch_into_with_timeout(&[1], &mut out, Duration::from_millis(50))
            .map(|()| out[0])
    });
    assert!(matches!(r, Err(ServiceError::Timeout { .. })), "{r:?}");
    // A new client default applies to calls that give none.
    c.set_call_timeout(Duration::from_millis(50));
    let (r, _) = timed(&mut c, &|c| c.call(1));
    assert!(matches!(r, Err(ServiceError::Timeout { .. })), "{r:?}");
    c.set_call_timeout(Duration::ZERO);
    gate.open();
    let (r, _) = timed(&mut c, &|c| c.call(1));
    assert_eq!(r.unwrap(), 2, "zero is the 30 s default again");
    assert_eq!(c.status().reconnect_count, 0, "no timed-out call was retried");
    gate.wait_reached(5);
    srv.stop();
    assert_eq!(gate.reached(), 5, "each call reached the server once");
}

/// `abort()` on the client itself, as through its handle.
#[test]
fn abort_on_the_client_itself() {
    let dir = RunDir::new("svc");
    let _srv = Running::start(dir.path(), "abort-self", server_config(1024), plus_one());
    let mut c = IncrementClient::new(dir.path(), "abort-self", client_config(1024));
    assert!(c.refresh());
    c.abort();
    assert!(matches!(c.call(1), Err(ServiceError::Aborted { .. })));
    c.clear_abort();
    c.refresh();
    assert_eq!(c.call(1).unwrap(), 2);
}
