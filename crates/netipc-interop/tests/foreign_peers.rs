//! Our interop peers against another implementation's, in both directions.
//!
//! `NETIPC_PEERS` names the other implementations as space-separated
//! `NAME=DIR` entries, each `DIR` holding that implementation's builds of
//! the shared peers (`interop_uds`, `interop_shm`, `interop_service`,
//! `interop_cache`; on Windows `interop_named_pipe.exe`,
//! `interop_win_shm.exe`, `interop_service_win.exe` and
//! `interop_cache_win.exe`), for example
//! `NETIPC_PEERS="c=/opt/ipc-c/bin go=/opt/ipc-go/bin"`. A peer missing from
//! a directory is reported and skipped. Without `NETIPC_PEERS` the test
//! prints a notice and checks nothing.
mod support;

use std::path::PathBuf;
use support::{cases, exchange, foreign_file, ours};

/// The implementations named by `NETIPC_PEERS`, as (name, directory).
fn implementations() -> Vec<(String, PathBuf)> {
    let Ok(spec) = std::env::var("NETIPC_PEERS") else {
        return Vec::new();
    };
    spec.split_whitespace()
        .map(|entry| {
            let (name, dir) = entry
                .split_once('=')
                .unwrap_or_else(|| panic!("NETIPC_PEERS entry {entry:?}: expected NAME=DIR"));
            let dir = PathBuf::from(dir);
            assert!(dir.is_dir(), "NETIPC_PEERS entry {entry:?}: no such directory");
            (name.to_string(), dir)
        })
        .collect()
}

/// The named implementations' builds of `peer`, as (name, path); those
/// without one, or no `NETIPC_PEERS` at all, are reported and left out.
fn foreign_builds(peer: &str) -> Vec<(String, String)> {
    let implementations = implementations();
    if implementations.is_empty() {
        eprintln!("NETIPC_PEERS is not set: {peer} not paired with other implementations");
    }
    implementations
        .into_iter()
        .filter_map(|(name, dir)| {
            let theirs = dir.join(foreign_file(peer));
            if !theirs.is_file() {
                eprintln!("{name}: no {} (skipped)", theirs.display());
                return None;
            }
            Some((name, theirs.to_str().expect("a UTF-8 path").to_string()))
        })
        .collect()
}

/// Every exchange of `peer` with every named implementation, each side
/// serving in turn.
fn against_foreign(peer: &str) {
    for (name, theirs) in foreign_builds(peer) {
        for case in cases().iter().filter(|c| c.peer == peer) {
            for profile in case.profiles {
                exchange(case, profile, ours(peer), &theirs, true);
                exchange(case, profile, &theirs, ours(peer), false);
            }
        }
        eprintln!("{name}: {peer} passes both ways");
    }
}

#[cfg(unix)]
#[test]
fn interop_uds_with_other_implementations() {
    against_foreign("interop_uds");
}

#[cfg(windows)]
#[test]
fn interop_named_pipe_with_other_implementations() {
    against_foreign("interop_named_pipe");
}

#[cfg(windows)]
#[test]
fn interop_win_shm_with_other_implementations() {
    against_foreign("interop_win_shm");
}

#[cfg(target_os = "linux")]
#[test]
fn interop_shm_with_other_implementations() {
    against_foreign("interop_shm");
}

#[test]
fn interop_service_with_other_implementations() {
    against_foreign("interop_service");
}

#[test]
fn interop_cache_with_other_implementations() {
    against_foreign("interop_cache");
}

/// A server of one implementation is killed mid-life (its socket and its
/// SHM region stay behind); a server of the other takes the endpoint over,
/// and the first one's client gets through to it over SHM. Both ways, with
/// every named implementation.
#[cfg(target_os = "linux")]
#[test]
fn a_killed_servers_endpoint_is_taken_over_by_the_other_implementation() {
    use support::{RunDir, Server, client};
    let ours = ours("interop_service");
    for (name, theirs) in foreign_builds("interop_service") {
        for (first, second) in [(ours, theirs.as_str()), (theirs.as_str(), ours)] {
            let run = RunDir::new();
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
        eprintln!("{name}: endpoint takeover passes both ways");
    }
}
