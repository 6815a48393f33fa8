//! The message of each failure a user meets, pinned: what was attempted,
//! on which endpoint, and the OS cause. A missing run dir, a run dir the
//! server may not write, an endpoint in use, an invalid service name, an
//! auth token the server refuses, and a server that went away.
#![cfg(target_os = "linux")]

use netipc_service::cgroups::{CgroupsClient, Handler, ManagedServer};
use netipc_service::{ClientConfig, ClientState, ServerConfig, ServiceError};
use netipc_test_support::{RunDir, child_env, child_test};
use std::path::Path;
use std::time::Duration;

const TOKEN: u64 = 0x3E55_A6E5;

fn server_config() -> ServerConfig {
    ServerConfig {
        auth_token: TOKEN,
        ..ServerConfig::default()
    }
}

fn client_config(token: u64) -> ClientConfig {
    ClientConfig {
        auth_token: token,
        ..ClientConfig::default()
    }
}

fn handler() -> Handler {
    Handler {
        handle: Some(Box::new(|_, b| {
            b.set_header(1, 1);
            true
        })),
    }
}

/// Runs a server in `dir` while `body` runs; stops it however `body` ends.
fn serving<R>(dir: &Path, body: impl FnOnce(&ManagedServer) -> R) -> R {
    let server = ManagedServer::new(dir, "cgroups-snapshot", server_config(), handler());
    std::thread::scope(|s| {
        let (ready, listening) = std::sync::mpsc::channel();
        let running = s.spawn(|| {
            server.run_notify(move || {
                let _ = ready.send(());
            })
        });
        struct Stop<'a>(&'a ManagedServer);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.stop();
            }
        }
        let _stop = Stop(&server);
        listening
            .recv_timeout(Duration::from_secs(10))
            .expect("the server listens");
        let r = body(&server);
        server.stop();
        running.join().unwrap().unwrap();
        r
    })
}

/// The message of `run()` of a server in `dir`, which must fail.
fn serve_error(dir: &Path) -> String {
    ManagedServer::new(dir, "cgroups-snapshot", server_config(), handler())
        .run()
        .unwrap_err()
        .to_string()
}

#[test]
fn a_missing_run_dir() {
    let dir = RunDir::new("msg");
    let missing = dir.path().join("missing");
    let m = missing.display();
    assert_eq!(
        serve_error(&missing),
        format!(
            "cannot serve cgroups-snapshot in {m}: cannot bind {m}/cgroups-snapshot.sock: No such file or \
             directory (os error 2)"
        )
    );
    let mut c = CgroupsClient::new(&missing, "cgroups-snapshot", client_config(TOKEN));
    c.refresh();
    assert_eq!(c.state(), ClientState::NotFound);
    assert_eq!(
        c.call_snapshot().unwrap_err().to_string(),
        format!(
            "cgroups-snapshot in {m} is not ready (no server): no server at {m}/cgroups-snapshot.sock: No \
             such file or directory (os error 2)"
        )
    );
}

/// Child half of `a_run_dir_the_server_may_not_write`: runs as `nobody`.
#[test]
#[ignore = "child process of a_run_dir_the_server_may_not_write"]
fn child_serves_in_a_read_only_dir() {
    let dir = child_env("NETIPC_READ_ONLY_DIR");
    let d = Path::new(&dir).display();
    assert_eq!(
        serve_error(Path::new(&dir)),
        format!(
            "cannot serve cgroups-snapshot in {d}: cannot bind {d}/cgroups-snapshot.sock: Permission denied \
             (os error 13)"
        )
    );
}

#[test]
fn a_run_dir_the_server_may_not_write() {
    use std::os::unix::fs::PermissionsExt;
    let dir = RunDir::new("msg");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root writes anywhere: the server then runs as `nobody`, in a child.
    // SAFETY: geteuid reads the process's effective user id.
    if unsafe { libc::geteuid() } == 0 {
        use std::os::unix::process::CommandExt;
        let out = child_test("child_serves_in_a_read_only_dir")
            .env("NETIPC_READ_ONLY_DIR", dir.path())
            .uid(65534)
            .gid(65534)
            .output()
            .expect("the child runs");
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        let d = dir.path().display();
        assert_eq!(
            serve_error(dir.path()),
            format!(
                "cannot serve cgroups-snapshot in {d}: cannot bind {d}/cgroups-snapshot.sock: Permission \
                 denied (os error 13)"
            )
        );
    }
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn an_endpoint_in_use() {
    let dir = RunDir::new("msg");
    let d = dir.path().display();
    serving(dir.path(), |_| {
        assert_eq!(
            serve_error(dir.path()),
            format!("cannot serve cgroups-snapshot in {d}: endpoint {d}/cgroups-snapshot.sock is in use")
        );
    });
}

#[test]
fn an_invalid_service_name() {
    let dir = RunDir::new("msg");
    let d = dir.path().display();
    let want = format!(
        "cannot use a/b in {d}: invalid service name: only letters, digits, '-', '_' and '.' are allowed"
    );
    let e = CgroupsClient::try_new(dir.path(), "a/b", client_config(TOKEN)).unwrap_err();
    assert_eq!(e.to_string(), want);
    let e = ManagedServer::try_new(dir.path(), "a/b", server_config(), handler()).unwrap_err();
    assert_eq!(e.to_string(), want);
    // `new` takes the name; what uses it says why it cannot.
    let e = ManagedServer::new(dir.path(), "a/b", server_config(), handler())
        .run()
        .unwrap_err();
    assert_eq!(e.to_string(), want);
    let mut c = CgroupsClient::new(dir.path(), "a/b", client_config(TOKEN));
    c.refresh();
    assert_eq!(c.state(), ClientState::Incompatible);
    assert_eq!(
        c.call_snapshot().unwrap_err().to_string(),
        format!(
            "a/b in {d} is not ready (incompatible): invalid service name: only letters, digits, '-', '_' \
             and '.' are allowed"
        )
    );
    let e = CgroupsClient::try_new("", "cgroups-snapshot", client_config(TOKEN)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot use cgroups-snapshot in : invalid run dir: empty"
    );
    assert!(matches!(e, ServiceError::InvalidEndpoint { .. }));
}

#[test]
fn an_auth_token_the_server_refuses() {
    let dir = RunDir::new("msg");
    let d = dir.path().display();
    serving(dir.path(), |_| {
        let mut c = CgroupsClient::new(dir.path(), "cgroups-snapshot", client_config(TOKEN + 1));
        c.refresh();
        assert_eq!(c.state(), ClientState::AuthFailed);
        assert_eq!(
            c.call_snapshot().unwrap_err().to_string(),
            format!(
                "cgroups-snapshot in {d} is not ready (the server refused the auth token): authentication \
                 failed"
            )
        );
    });
}

#[test]
fn a_server_that_went_away() {
    let dir = RunDir::new("msg");
    let d = dir.path().display();
    let mut c = CgroupsClient::new(dir.path(), "cgroups-snapshot", client_config(TOKEN));
    serving(dir.path(), |_| {
        c.refresh();
        assert_eq!(c.call_snapshot().unwrap().item_count, 0);
    });
    // The server is gone, its socket file with it: the call fails, and so
    // does the reconnect the client makes to retry it.
    let e = c.call_snapshot().unwrap_err();
    assert!(matches!(e, ServiceError::Call { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!(
            "call to cgroups-snapshot in {d} failed: peer closed the connection; reconnecting failed: no \
             server at {d}/cgroups-snapshot.sock: No such file or directory (os error 2)"
        )
    );
}
