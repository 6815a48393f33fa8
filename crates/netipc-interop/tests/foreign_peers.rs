//! Our interop peers against another implementation's, in both directions.
//!
//! `NETIPC_PEERS` names the other implementations as space-separated
//! `NAME=DIR` entries, each `DIR` holding that implementation's builds of
//! the shared peers (`interop_uds`, `interop_shm`, `interop_service`,
//! `interop_cache`; on Windows `interop_named_pipe.exe`,
//! `interop_win_shm.exe`, `interop_service_win.exe` and
//! `interop_cache_win.exe`), for example
//! `NETIPC_PEERS="c=/opt/ipc-c/bin go=/opt/ipc-go/bin"`. Each pairing is a
//! test of its own, `<peer>_with_<NAME>`; a malformed `NETIPC_PEERS` fails
//! the run. On POSIX our async twins of the typed peers
//! (`interop_service_async`, `interop_cache_async`: the tokio layer) pair
//! with that implementation's `interop_service` and `interop_cache` in
//! every exchange too, as `<twin>_with_<NAME>`.
//!
//! A test that has nothing to pair with reports itself ignored, with the
//! reason, instead of passing: without `NETIPC_PEERS` every test here is
//! ignored, and a peer missing from an implementation's directory ignores
//! that pairing. The standard harness can only ignore a test when it is
//! compiled, so this target has `harness = false` and runs its tests with
//! `netipc_test_support::harness`; with `NETIPC_PEERS` set, a plain
//! `cargo test` runs them.

mod support;

use netipc_test_support::harness::{self, Ran, Trial};
use std::path::{Path, PathBuf};
use support::{ASYNC_TWINS, cases, exchange, foreign_file, ours};

/// Why the tests check nothing without `NETIPC_PEERS`.
const NO_PEERS: &str = "needs NETIPC_PEERS, the other implementations' peers (see the README)";

fn main() {
    harness::run(trials());
}

/// The interop peers of this platform that every implementation builds.
fn peers() -> Vec<&'static str> {
    let mut peers = Vec::new();
    if cfg!(unix) {
        peers.push("interop_uds");
    }
    if cfg!(windows) {
        peers.extend(["interop_named_pipe", "interop_win_shm"]);
    }
    if cfg!(target_os = "linux") {
        peers.push("interop_shm");
    }
    peers.extend(["interop_service", "interop_cache"]);
    peers
}

/// The implementations named by `NETIPC_PEERS`, as (name, directory);
/// `None` when it is unset or empty. Panics on a malformed entry.
fn implementations() -> Option<Vec<(String, PathBuf)>> {
    let spec = std::env::var("NETIPC_PEERS").ok()?;
    let named: Vec<_> = spec
        .split_whitespace()
        .map(|entry| {
            let (name, dir) = entry
                .split_once('=')
                .unwrap_or_else(|| panic!("NETIPC_PEERS entry {entry:?}: expected NAME=DIR"));
            let dir = PathBuf::from(dir);
            assert!(dir.is_dir(), "NETIPC_PEERS entry {entry:?}: no such directory");
            (name.to_string(), dir)
        })
        .collect();
    (!named.is_empty()).then_some(named)
}

fn trials() -> Vec<Trial> {
    let Some(implementations) = implementations() else {
        let mut names: Vec<String> = peers()
            .into_iter()
            .map(|peer| format!("{peer}_with_other_implementations"))
            .collect();
        if cfg!(unix) {
            for (_, twin) in ASYNC_TWINS {
                names.push(format!("{twin}_with_other_implementations"));
            }
        }
        if cfg!(target_os = "linux") {
            names.push("a_killed_servers_endpoint_is_taken_over_by_other_implementations".into());
        }
        if cfg!(unix) {
            names.push("a_client_of_other_implementations_refused_by_policy_hears_auth_failed".into());
        }
        return names
            .into_iter()
            .map(|name| harness::trial(name, || Ran::Lacking(NO_PEERS.into())))
            .collect();
    };
    let mut trials = Vec::new();
    for (name, dir) in implementations {
        for peer in peers() {
            let (name, dir) = (name.clone(), dir.clone());
            trials.push(harness::trial(format!("{peer}_with_{name}"), move || {
                against(peer, &name, &dir)
            }));
        }
        #[cfg(unix)]
        {
            for (peer, twin) in ASYNC_TWINS {
                let (name, dir) = (name.clone(), dir.clone());
                trials.push(harness::trial(format!("{twin}_with_{name}"), move || {
                    async_against(peer, twin, &name, &dir)
                }));
            }
            let (name, dir) = (name.clone(), dir.clone());
            trials.push(harness::trial(
                format!("a_client_of_{name}_refused_by_policy_hears_auth_failed"),
                move || refused_by_policy(&name, &dir),
            ));
        }
        #[cfg(target_os = "linux")]
        trials.push(harness::trial(
            format!("a_killed_servers_endpoint_is_taken_over_by_{name}"),
            move || endpoint_takeover(&name, &dir),
        ));
    }
    trials
}

/// Implementation `name`'s build of `peer` in `dir`, if it has one.
fn foreign_build(peer: &str, name: &str, dir: &Path) -> Result<String, Ran> {
    let theirs = dir.join(foreign_file(peer));
    if !theirs.is_file() {
        return Err(Ran::Lacking(format!("{name} has no {}", theirs.display())));
    }
    Ok(theirs.to_str().expect("a UTF-8 path").to_string())
}

/// Every exchange of `peer` with implementation `name`, each side serving
/// in turn.
fn against(peer: &str, name: &str, dir: &Path) -> Ran {
    let theirs = match foreign_build(peer, name, dir) {
        Ok(path) => path,
        Err(lacking) => return lacking,
    };
    for case in cases().iter().filter(|c| c.peer == peer) {
        for profile in case.profiles {
            exchange(case, profile, ours(peer), &theirs, true);
            exchange(case, profile, &theirs, ours(peer), false);
        }
    }
    Ran::Checked
}

/// Our async twin `twin` of `peer` (on the tokio layer) against
/// implementation `name`'s `peer`: every exchange of `peer`, each side
/// serving in turn, over the socket and shared memory.
#[cfg(unix)]
fn async_against(peer: &str, twin: &str, name: &str, dir: &Path) -> Ran {
    let theirs = match foreign_build(peer, name, dir) {
        Ok(path) => path,
        Err(lacking) => return lacking,
    };
    for case in cases().iter().filter(|c| c.peer == peer) {
        for profile in case.profiles {
            exchange(case, profile, ours(twin), &theirs, true);
            exchange(case, profile, &theirs, ours(twin), false);
        }
    }
    Ran::Checked
}

/// A server of one implementation is killed mid-life (its socket and its
/// SHM region stay behind); a server of the other takes the endpoint over,
/// and the first one's client gets through to it over SHM. Both ways.
#[cfg(target_os = "linux")]
fn endpoint_takeover(name: &str, dir: &Path) -> Ran {
    use support::{RunDir, Server, client};
    let ours = ours("interop_service");
    let theirs = match foreign_build("interop_service", name, dir) {
        Ok(path) => path,
        Err(lacking) => return lacking,
    };
    for (first, second) in [(ours, theirs.as_str()), (theirs.as_str(), ours)] {
        let run = RunDir::new("peers");
        let server = Server::start(first, "shm", &["server", run.str(), "svc"]);
        assert_eq!(client(first, "shm", &["client", run.str(), "svc"]), "PASS");
        server.kill();
        assert!(
            run.path().join("svc.sock").exists(),
            "{first} left no stale socket behind: {:?}",
            run.entries()
        );
        let server = Server::start(second, "shm", &["server", run.str(), "svc"]);
        // The first implementation's client, against the second's server.
        assert_eq!(
            client(first, "shm", &["client", run.str(), "svc"]),
            "PASS",
            "{second} after {first} was killed"
        );
        server.kill();
    }
    Ran::Checked
}

/// Our server, whose access policy lets in another user id only, refuses
/// the other implementation's typed client, which hears AUTH_FAILED (the
/// answer to a wrong token) and fails; the server counts the refusal and
/// opens no session.
#[cfg(unix)]
fn refused_by_policy(name: &str, dir: &Path) -> Ran {
    use netipc::service::AccessPolicy;
    use netipc::service::cgroups::{Handler, ManagedServer, ServerConfig};
    use support::RunDir;
    let theirs = match foreign_build("interop_service", name, dir) {
        Ok(path) => path,
        Err(lacking) => return lacking,
    };
    let run = RunDir::new("peers-policy");
    // The run dir was made by this process: its owner is our user id.
    let me = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(run.path()).unwrap());
    let someone_else = me.wrapping_add(1);
    let config = ServerConfig {
        auth_token: netipc_interop::AUTH_TOKEN,
        access: AccessPolicy::uids([someone_else]),
        ..ServerConfig::default()
    };
    let handler = Handler {
        handle: Some(Box::new(|_, b| {
            b.set_header(1, 1);
            true
        })),
    };
    let server = ManagedServer::new(run.path(), "svc", config, handler);
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::channel();
        let running = s.spawn(|| {
            server.run_notify(move || {
                let _ = tx.send(());
            })
        });
        rx.recv_timeout(netipc_test_support::PATIENCE)
            .expect("our server bound");
        let out = std::process::Command::new(&theirs)
            .args(["client", run.str(), "svc"])
            .output()
            .expect("their client runs");
        server.stop();
        running.join().unwrap().unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !out.status.success(),
            "{name}'s client passed a server that refuses it: {said}"
        );
        let stats = server.stats();
        assert!(
            stats.refused_by_policy >= 1,
            "{stats:?}; {name}'s client said {said}"
        );
        assert_eq!(stats.sessions_total, 0, "{stats:?}");
        assert_eq!(stats.refused_by_policy, stats.sessions_refused);
        eprintln!("{name}'s client, refused by policy, said: {}", said.trim());
    });
    Ran::Checked
}
