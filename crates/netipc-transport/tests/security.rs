//! Peer credentials, the access policy, the modes of endpoint files and the
//! run dir check, on POSIX.
//!
//! The checks with a client under another user id need root (to start the
//! child as `nobody`); elsewhere they report themselves ignored, with the
//! reason, which is why this target has `harness = false`. The checks of
//! file modes run in a child process of their own, as they set the umask,
//! which the whole process shares.

use netipc_test_support::harness::{self, Trial};

fn main() {
    harness::run(trials());
}

#[cfg(not(unix))]
fn trials() -> Vec<Trial> {
    Vec::new()
}

#[cfg(unix)]
fn trials() -> Vec<Trial> {
    use harness::{child_trial, trial};
    vec![
        trial(
            "a_server_and_its_client_learn_each_others_credentials",
            posix::credentials,
        ),
        trial(
            "the_policy_lets_in_listed_uids_and_gids_only",
            posix::policy_in_process,
        ),
        trial(
            "another_user_is_let_in_or_refused_by_the_policy",
            posix::other_user,
        ),
        child_trial("child_other_user", posix::child_other_user),
        trial("endpoint_files_get_their_mode_whatever_the_umask", posix::modes),
        child_trial("child_modes", posix::child_modes),
        trial(
            "an_unsafe_run_dir_is_refused_unless_allowed",
            posix::unsafe_run_dir,
        ),
    ]
}

#[cfg(unix)]
mod posix {
    use netipc_test_support::harness::Ran;
    use netipc_test_support::{RunDir, child_env, child_test_args};
    use netipc_transport::posix::{UdsListener, UdsSession};
    use netipc_transport::{AccessPolicy, ClientConfig, EndpointMode, ServerConfig, TransportError};
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;
    use std::process::Command;

    fn me() -> (u32, u32, u32) {
        // SAFETY: plain queries of this process's ids.
        unsafe { (std::process::id(), libc::geteuid(), libc::getegid()) }
    }

    fn mode_of(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    /// Connects from a thread and handshakes on this one: the client's
    /// result and the server's.
    fn meet(
        dir: &Path,
        server: ServerConfig,
        client: ClientConfig,
    ) -> (
        Result<UdsSession, TransportError>,
        Result<UdsSession, TransportError>,
        netipc_transport::PeerCredentials,
    ) {
        let listener = UdsListener::bind(dir, "svc", server).unwrap();
        let dir = dir.to_path_buf();
        let t = std::thread::spawn(move || UdsSession::connect(&dir, "svc", &client));
        let pending = listener.accept_connection().unwrap();
        let peer = pending.peer().clone();
        let served = pending.handshake();
        (t.join().unwrap(), served, peer)
    }

    pub fn credentials() -> Ran {
        let dir = RunDir::new("sec-creds");
        let (client, server, peer) = meet(dir.path(), ServerConfig::default(), ClientConfig::default());
        let (pid, uid, gid) = me();
        assert_eq!(
            peer.pid,
            if cfg!(target_os = "freebsd") {
                None
            } else {
                Some(pid)
            }
        );
        assert_eq!((peer.uid, peer.gid), (Some(uid), Some(gid)));
        let server = server.unwrap();
        assert_eq!(server.peer_credentials(), &peer);
        // The client learns who serves: this process too.
        assert_eq!(client.unwrap().peer_credentials().uid, Some(uid));
        Ran::Checked
    }

    pub fn policy_in_process() -> Ran {
        let (_, uid, gid) = me();
        let other = uid.wrapping_add(1);
        for (policy, allowed) in [
            (AccessPolicy::uids([uid]), true),
            (AccessPolicy::gids([gid]), true),
            (
                AccessPolicy {
                    allow_uids: vec![other],
                    allow_gids: vec![gid],
                    ..AccessPolicy::default()
                },
                true,
            ),
            (AccessPolicy::uids([other]), false),
            (AccessPolicy::gids([gid.wrapping_add(1)]), false),
        ] {
            let dir = RunDir::new("sec-policy");
            let cfg = ServerConfig {
                access: policy.clone(),
                ..ServerConfig::default()
            };
            let (client, server, _) = meet(dir.path(), cfg, ClientConfig::default());
            if allowed {
                assert!(
                    client.is_ok() && server.is_ok(),
                    "{policy:?}: {client:?} {server:?}"
                );
            } else {
                assert!(
                    matches!(client, Err(TransportError::AuthFailed)),
                    "{policy:?}: {client:?}"
                );
                match server {
                    Err(TransportError::PeerRefused { peer }) => assert_eq!(peer.uid, Some(uid)),
                    other => panic!("{policy:?}: the server got {other:?}"),
                }
            }
        }
        Ran::Checked
    }

    const NOBODY: u32 = 65534;
    const DIR_ENV: &str = "NETIPC_CHILD_SEC_DIR";
    const EXPECT_ENV: &str = "NETIPC_CHILD_SEC_EXPECT";

    /// Child half of `other_user`: connects as `nobody` and reports what
    /// the handshake answered.
    pub fn child_other_user() {
        let dir = child_env(DIR_ENV);
        let expect = child_env(EXPECT_ENV);
        // SAFETY: a plain query of this process's user id.
        assert_eq!(unsafe { libc::geteuid() }, NOBODY, "the child runs as nobody");
        let got = match UdsSession::connect(Path::new(&dir), "svc", &ClientConfig::default()) {
            Ok(_) => "ok".to_string(),
            Err(TransportError::AuthFailed) => "auth-failed".to_string(),
            Err(e) => format!("error: {e}"),
        };
        assert_eq!(got, expect.to_string_lossy(), "the handshake's answer");
    }

    pub fn other_user() -> Ran {
        // SAFETY: a plain query of this process's user id.
        if unsafe { libc::geteuid() } != 0 {
            return Ran::Lacking("needs root, to start a client as another user".into());
        }
        let dir = RunDir::new("sec-other");
        // The test binary, where `nobody` may run it (the build tree may
        // not be reachable by other users).
        let exe = dir.path().join("client-exe");
        std::fs::copy(std::env::current_exe().unwrap(), &exe).unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        for (policy, expect) in [
            (AccessPolicy::uids([NOBODY]), "ok"),
            (AccessPolicy::gids([NOBODY]), "ok"),
            (AccessPolicy::uids([0]), "auth-failed"),
            (AccessPolicy::gids([0]), "auth-failed"),
        ] {
            let cfg = ServerConfig {
                access: policy.clone(),
                ..ServerConfig::default()
            };
            let listener = UdsListener::bind(dir.path(), "svc", cfg).unwrap();
            // The socket is owner-only: open it up, so that it is the
            // policy that decides.
            std::fs::set_permissions(listener.path(), std::fs::Permissions::from_mode(0o666)).unwrap();
            let mut child = {
                use std::os::unix::process::CommandExt;
                Command::new(&exe)
                    .args(child_test_args("child_other_user"))
                    .env(DIR_ENV, dir.path())
                    .env(EXPECT_ENV, expect)
                    .uid(NOBODY)
                    .gid(NOBODY)
                    .spawn()
                    .unwrap()
            };
            let pending = listener.accept_connection().unwrap();
            assert_eq!(pending.peer().uid, Some(NOBODY));
            assert_eq!(pending.peer().gid, Some(NOBODY));
            assert_eq!(pending.peer().pid, Some(child.id()));
            let served = pending.handshake();
            match expect {
                "ok" => assert!(served.is_ok(), "{policy:?}: {served:?}"),
                _ => match served {
                    Err(TransportError::PeerRefused { peer }) => assert_eq!(peer.uid, Some(NOBODY)),
                    other => panic!("{policy:?}: the server got {other:?}"),
                },
            }
            let status = child.wait().unwrap();
            assert!(
                status.success(),
                "{policy:?}: the child saw another answer than {expect}"
            );
        }
        Ran::Checked
    }

    const MODES_DIR_ENV: &str = "NETIPC_CHILD_MODES_DIR";

    /// Child half of `modes`: sets its umask, binds with each mode, and
    /// checks the socket's and (on Linux) a region's permissions, and that
    /// the umask is still the one it set.
    pub fn child_modes() {
        let dir = child_env(MODES_DIR_ENV);
        let dir = Path::new(&dir);
        for (umask, mode, want) in [
            (0o077, EndpointMode::Group, 0o660),
            (0o000, EndpointMode::Owner, 0o600),
            (0o277, EndpointMode::Owner, 0o600),
        ] {
            // SAFETY: sets this child's umask; it has no other thread
            // creating files.
            unsafe { libc::umask(umask) };
            let cfg = ServerConfig {
                endpoint_mode: mode,
                supported_profiles: netipc_transport::codec::PROFILE_BASELINE
                    | netipc_transport::codec::PROFILE_SHM_HYBRID,
                ..ServerConfig::default()
            };
            let listener = UdsListener::bind(dir, "svc", cfg).unwrap();
            assert_eq!(mode_of(listener.path()), want, "socket, umask {umask:03o}");
            #[cfg(target_os = "linux")]
            {
                let client_dir = dir.to_path_buf();
                let t = std::thread::spawn(move || {
                    let cfg = ClientConfig {
                        supported_profiles: netipc_transport::codec::PROFILE_SHM_HYBRID,
                        ..ClientConfig::default()
                    };
                    UdsSession::connect(&client_dir, "svc", &cfg).map(|s| s.is_shm())
                });
                let server = listener.accept().unwrap();
                assert!(server.is_shm());
                assert!(t.join().unwrap().unwrap(), "the client runs over shared memory");
                let region = std::fs::read_dir(dir)
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .find(|p| p.extension().is_some_and(|e| e == "ipcshm"))
                    .expect("a region file");
                assert_eq!(mode_of(&region), want, "region, umask {umask:03o}");
            }
            // SAFETY: reads the umask back (and sets it again).
            let now = unsafe { libc::umask(umask) };
            assert_eq!(now, umask, "the umask was changed");
        }
    }

    pub fn modes() -> Ran {
        let dir = RunDir::new("sec-modes");
        let exe = std::env::current_exe().unwrap();
        let status = Command::new(exe)
            .args(child_test_args("child_modes"))
            .env(MODES_DIR_ENV, dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "the child's checks failed (see above)");
        Ran::Checked
    }

    pub fn unsafe_run_dir() -> Ran {
        let dir = RunDir::new("sec-unsafe");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let refused = UdsListener::bind(dir.path(), "svc", ServerConfig::default());
        match refused {
            Err(ref e @ TransportError::UnsafeRunDir { ref path, mode }) => {
                assert_eq!((path.as_str(), mode), (dir.str(), 0o777));
                let msg = e.to_string();
                assert!(
                    msg.contains(dir.str()) && msg.contains("0777") && msg.contains("allow_unsafe_run_dir"),
                    "{msg}"
                );
            }
            other => panic!("expected UnsafeRunDir, got {other:?}"),
        }
        assert!(
            dir.entries().is_empty(),
            "nothing was created: {:?}",
            dir.entries()
        );
        let allowed = ServerConfig {
            allow_unsafe_run_dir: true,
            ..ServerConfig::default()
        };
        drop(UdsListener::bind(dir.path(), "svc", allowed).unwrap());
        // With the sticky bit (as /tmp has it), a shared directory is safe.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
        drop(UdsListener::bind(dir.path(), "svc", ServerConfig::default()).unwrap());
        // Group-writable is not refused: that is how a group shares it.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o770)).unwrap();
        drop(UdsListener::bind(dir.path(), "svc", ServerConfig::default()).unwrap());
        Ran::Checked
    }
}
