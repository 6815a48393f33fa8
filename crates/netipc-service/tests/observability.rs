//! What a managed server and a client tell about themselves: the caller's
//! credentials inside a handler, the access policy seen from the service
//! layer, the server's and the client's counters, and their log lines
//! (caught by a logger installed for this test binary). The checks of user
//! and group ids are POSIX ones; the transport's `win_pipe` tests check
//! what Windows tells.

mod common;

use common::{PATIENCE, RunDir, Running, client_config, poll_until, server_config};
use netipc_service::ClientState;
use netipc_service::increment::{Handler, IncrementClient};
#[cfg(unix)]
use netipc_service::{AccessPolicy, peer};
use std::sync::{Mutex, Once};

/// Every log line of this process: level, target, message.
static LINES: Mutex<Vec<(log::Level, String, String)>> = Mutex::new(Vec::new());

struct Catcher;

impl log::Log for Catcher {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        LINES.lock().unwrap().push((
            record.level(),
            record.target().to_string(),
            record.args().to_string(),
        ));
    }
    fn flush(&self) {}
}

fn catch_logs() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        log::set_logger(&Catcher).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
    });
}

/// The lines that mention `needle` (tests run in parallel: each looks for
/// its own run dir).
fn lines_with(needle: &str) -> Vec<(log::Level, String, String)> {
    LINES
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, _, m)| m.contains(needle))
        .cloned()
        .collect()
}

#[cfg(unix)]
fn my_ids() -> (u32, u32) {
    // SAFETY: plain queries of this process's ids.
    unsafe { (libc::geteuid(), libc::getegid()) }
}

fn ready_client(dir: &RunDir, config: netipc_service::ClientConfig) -> IncrementClient {
    let mut client = IncrementClient::new(dir.path(), "inc", config);
    assert!(poll_until(PATIENCE, || {
        client.refresh();
        client.ready()
    }));
    client
}

#[cfg(unix)]
#[test]
fn a_handler_knows_who_calls_and_nobody_else_does() {
    let dir = RunDir::new("obs-peer");
    let handler = Handler {
        handle: Some(Box::new(|v| {
            let caller = peer()?;
            Some(match v {
                0 => u64::from(caller.pid?),
                1 => u64::from(caller.uid?),
                _ => u64::from(caller.gid?),
            })
        })),
    };
    let _server = Running::start(dir.path(), "inc", server_config(4096), handler);
    let mut client = ready_client(&dir, client_config(4096));
    let (uid, gid) = my_ids();
    if !cfg!(target_os = "freebsd") {
        assert_eq!(client.call(0).unwrap(), u64::from(std::process::id()));
    }
    assert_eq!(client.call(1).unwrap(), u64::from(uid));
    assert_eq!(client.call(2).unwrap(), u64::from(gid));
    assert_eq!(peer(), None, "outside a handler there is no peer");
}

#[test]
fn the_server_counts_sessions_calls_failures_panics_and_bytes() {
    catch_logs();
    let dir = RunDir::new("obs-stats");
    let handler = Handler {
        handle: Some(Box::new(|v| match v {
            0 => None,
            1 => panic!("the handler's own panic"),
            v => Some(v + 1),
        })),
    };
    let running = Running::start(dir.path(), "inc", server_config(4096), handler);
    let server = &running.server;
    assert_eq!(server.stats(), Default::default());
    let mut client = ready_client(&dir, client_config(4096));
    for v in 2..5 {
        assert_eq!(client.call(v).unwrap(), v + 1);
    }
    let s = server.stats();
    assert_eq!((s.sessions_open, s.sessions_total, s.calls_ok), (1, 1, 3));
    assert_eq!((s.sessions_socket, s.sessions_shm), (1, 0));
    assert_eq!(
        (s.bytes_in, s.bytes_out),
        (3 * 40, 3 * 40),
        "header and payload of each message"
    );
    // A failing handler closes the session; so does a panicking one. The
    // client sends each request once more on a new session (at least
    // once), which fails the same way.
    assert!(client.call(0).is_err());
    let mut client = ready_client(&dir, client_config(4096));
    assert!(client.call(1).is_err());
    let st = client.status();
    assert_eq!((st.failed.server_status, st.retry_count), (1, 1), "{st:?}");
    assert_eq!(st.state, ClientState::Broken);
    assert!(poll_until(PATIENCE, || server.stats().sessions_open == 0));
    let s = server.stats();
    assert_eq!((s.sessions_total, s.calls_ok), (4, 3));
    assert_eq!(s.calls_failed.handler_failed, 2, "{s:?}");
    assert_eq!(s.calls_failed.handler_panicked, 2, "{s:?}");
    assert_eq!(s.calls_failed.total(), 4);
    let run_dir = dir.str();
    let logged = lines_with(run_dir);
    assert!(
        logged
            .iter()
            .any(|(l, _, m)| *l == log::Level::Error && m.contains("the handler's own panic")),
        "{logged:#?}"
    );
    assert!(
        logged
            .iter()
            .any(|(l, _, m)| *l == log::Level::Warn && m.contains("the handler failed")),
        "{logged:#?}"
    );
    assert!(
        logged
            .iter()
            .any(|(_, _, m)| m.contains("session accepted from pid")),
        "{logged:#?}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn sessions_over_shared_memory_are_counted_apart() {
    use netipc_service::transport::codec::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
    let dir = RunDir::new("obs-shm");
    let handler = Handler {
        handle: Some(Box::new(|v| Some(v + 1))),
    };
    let both = PROFILE_BASELINE | PROFILE_SHM_HYBRID;
    let config = netipc_service::ServerConfig {
        supported_profiles: both,
        preferred_profiles: PROFILE_SHM_HYBRID,
        ..server_config(4096)
    };
    let running = Running::start(dir.path(), "inc", config, handler);
    let mut shm = ready_client(
        &dir,
        netipc_service::ClientConfig {
            supported_profiles: both,
            preferred_profiles: PROFILE_SHM_HYBRID,
            ..client_config(4096)
        },
    );
    let mut plain = ready_client(&dir, client_config(4096));
    assert_eq!(shm.call(1).unwrap() + plain.call(1).unwrap(), 4);
    assert!(shm.status().shm && !plain.status().shm);
    let s = running.server.stats();
    assert_eq!((s.sessions_open, s.sessions_open_shm), (2, 1));
    assert_eq!((s.sessions_shm, s.sessions_socket), (1, 1));
    assert_eq!(s.calls_ok, 2);
}

#[test]
fn a_client_counts_bytes_retries_and_failures_by_reason() {
    let dir = RunDir::new("obs-client");
    let handler = || Handler {
        handle: Some(Box::new(|v| Some(v + 1))),
    };
    let first = Running::start(dir.path(), "inc", server_config(4096), handler());
    let mut client = ready_client(&dir, client_config(4096));
    client.call(1).unwrap();
    client.call(2).unwrap();
    let st = client.status();
    assert_eq!((st.bytes_sent, st.bytes_received), (80, 80));
    assert_eq!((st.call_count, st.retry_count, st.failed.total()), (2, 0, 0));
    // The server restarts between two calls: the next call finds its
    // session broken, reconnects and sends again.
    first.stop();
    let _second = Running::start(dir.path(), "inc", server_config(4096), handler());
    assert_eq!(client.call(3).unwrap(), 4);
    let st = client.status();
    assert_eq!(
        (st.call_count, st.retry_count, st.reconnect_count),
        (3, 1, 1),
        "{st:?}"
    );
    assert_eq!(st.bytes_sent, 120);
    client.close();
    assert!(client.call(4).is_err());
    let st = client.status();
    assert_eq!(st.failed.not_ready, 1, "{st:?}");
    assert_eq!(st.failed.total(), 1);
}

#[cfg(unix)]
#[test]
fn a_peer_the_policy_refuses_hears_auth_failed_and_is_counted_and_logged() {
    catch_logs();
    let dir = RunDir::new("obs-policy");
    let (uid, _) = my_ids();
    let config = netipc_service::ServerConfig {
        access: AccessPolicy::uids([uid.wrapping_add(1)]),
        ..server_config(4096)
    };
    let handler = Handler {
        handle: Some(Box::new(|v| Some(v + 1))),
    };
    let running = Running::start(dir.path(), "inc", config, handler);
    let mut client = IncrementClient::new(dir.path(), "inc", client_config(4096));
    client.refresh();
    assert_eq!(client.state(), ClientState::AuthFailed);
    // A flood of refused connections: every one is counted, a few logged.
    for _ in 0..29 {
        client.refresh();
    }
    assert!(poll_until(PATIENCE, || running.server.stats().sessions_refused == 30));
    let s = running.server.stats();
    assert_eq!(
        (s.refused_by_policy, s.sessions_total, s.handshake_failures),
        (30, 0, 0)
    );
    let refused: Vec<_> = lines_with(dir.str())
        .into_iter()
        .filter(|(l, _, m)| *l == log::Level::Warn && m.contains("session refused"))
        .collect();
    assert!(!refused.is_empty() && refused.len() <= 10, "{refused:#?}");
    let (_, target, first) = &refused[0];
    assert_eq!(target, "netipc_service::server");
    assert!(
        first.contains("access policy") && first.contains(&format!("uid {uid}")),
        "{first}"
    );
    // The client said what happened to it, once: its state changed once.
    let client_lines: Vec<_> = lines_with(dir.str())
        .into_iter()
        .filter(|(_, t, _)| t == "netipc_service::client")
        .collect();
    assert_eq!(client_lines.len(), 1, "{client_lines:#?}");
    assert!(
        client_lines[0].2.contains("refused the auth token")
            && client_lines[0].2.contains("authentication failed"),
        "{client_lines:#?}"
    );
}
