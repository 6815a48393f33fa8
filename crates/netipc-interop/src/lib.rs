//! Helpers shared by the interop peers: the fixed parameters of the interop
//! matrix, profile selection from the environment, and the server lifecycle
//! (print `READY`, serve until told to stop).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bench;
#[cfg(any(unix, windows))]
pub mod echo;
pub mod lookup;
#[cfg(any(target_os = "linux", windows))]
pub mod region_echo;

use netipc::protocol::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
use std::io::Write;

/// Auth token of the interop matrix.
pub const AUTH_TOKEN: u64 = 0xDEAD_BEEF_CAFE_BABE;
/// Response payload limit of the interop servers and clients.
pub const RESPONSE_PAYLOAD: u32 = 65536;
/// Request payload limit of the interop servers.
pub const REQUEST_PAYLOAD: u32 = 4096;
/// Batch items of the interop matrix.
pub const BATCH_ITEMS: u32 = 16;

/// Profiles from `NIPC_PROFILE`: `shm` means SHM_HYBRID and baseline,
/// supported and preferred; anything else, baseline only.
pub fn profiles() -> u32 {
    match std::env::var("NIPC_PROFILE").as_deref() {
        Ok("shm") => PROFILE_SHM_HYBRID | PROFILE_BASELINE,
        _ => PROFILE_BASELINE,
    }
}

/// Prints `READY` and flushes, for the test driver.
pub fn announce_ready() {
    println!("READY");
    let _ = std::io::stdout().flush();
}

/// What stops an interop server: SIGTERM or SIGINT on Unix; on Windows,
/// which has no termination signal a console process can wait for, the end
/// of its standard input (the parent closing its pipe).
pub struct Termination {
    #[cfg(unix)]
    signals: nix::sys::signal::SigSet,
}

impl Termination {
    /// Prepares the wait. On Unix this blocks SIGTERM and SIGINT in this
    /// thread and in every thread it starts later (so call it before
    /// starting any), to be received by [`Termination::wait`].
    pub fn arm() -> Self {
        #[cfg(unix)]
        {
            use nix::sys::signal::{SigSet, Signal};
            let mut signals = SigSet::empty();
            signals.add(Signal::SIGTERM);
            signals.add(Signal::SIGINT);
            let _ = signals.thread_block();
            Self { signals }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Blocks until the server should stop.
    pub fn wait(&self) {
        #[cfg(unix)]
        let _ = self.signals.wait();
        #[cfg(not(unix))]
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
    }
}

/// Reports a client's verdict the way the matrix expects: `PASS` and exit
/// code 0, or `FAIL` and 1, with the reasons on stderr.
pub fn verdict(name: &str, result: Result<(), String>) -> i32 {
    match result {
        Ok(()) => {
            println!("PASS");
            0
        }
        Err(e) => {
            eprintln!("{name}: {e}");
            println!("FAIL");
            1
        }
    }
}

/// A server's exit code: 0, or 1 with the reason on stderr (servers print
/// no verdict).
pub fn server_exit(name: &str, result: Result<(), impl std::fmt::Display>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{name}: {e}");
            1
        }
    }
}

/// Parses `<mode> <run_dir> <service>`.
pub fn args(usage: &str) -> Option<(String, String, String)> {
    let mut a = std::env::args().skip(1);
    match (a.next(), a.next(), a.next()) {
        (Some(m), Some(d), Some(s)) => Some((m, d, s)),
        _ => {
            eprintln!("usage: {usage}");
            None
        }
    }
}

/// The snapshot the interop servers publish.
pub mod fixture {
    /// `(hash, options, enabled, name, path)` of each item.
    pub const ITEMS: [(u32, u32, u32, &str, &str); 3] = [
        (1001, 0, 1, "docker-abc123", "/sys/fs/cgroup/docker/abc123"),
        (2002, 0, 1, "k8s-pod-xyz", "/sys/fs/cgroup/kubepods/xyz"),
        (3003, 0, 0, "systemd-user", "/sys/fs/cgroup/user.slice/user-1000"),
    ];
    /// The producer's systemd flag.
    pub const SYSTEMD_ENABLED: u32 = 1;
    /// The snapshot generation.
    pub const GENERATION: u64 = 42;
}

/// A managed `cgroups-snapshot` server publishing [`fixture`], serving
/// until its [`Termination`].
pub fn serve_snapshot_fixture(run_dir: &str, service: &str, batch_items: u32) -> i32 {
    use netipc::service::cgroups::{Handler, ManagedServer, ServerConfig};
    let termination = Termination::arm();
    let handler = Handler {
        handle: Some(Box::new(|_req, b| {
            b.set_header(fixture::SYSTEMD_ENABLED, fixture::GENERATION);
            fixture::ITEMS
                .iter()
                .all(|(h, o, e, n, p)| b.add(*h, *o, *e, n.as_bytes(), p.as_bytes()).is_ok())
        })),
    };
    let profiles = profiles();
    let config = ServerConfig {
        supported_profiles: profiles,
        preferred_profiles: profiles,
        max_request_payload_bytes: REQUEST_PAYLOAD,
        max_request_batch_items: batch_items,
        max_response_payload_bytes: RESPONSE_PAYLOAD,
        max_response_batch_items: batch_items,
        auth_token: AUTH_TOKEN,
        ..ServerConfig::default()
    };
    let server = ManagedServer::new(run_dir, service, config, handler);
    serve_until_stopped(&termination, |bound| server.run_notify(bound), || server.stop())
}

/// Runs a server (`run` gets a callback to call once bound), prints
/// `READY` once bound, stops it at its [`Termination`]. Returns the exit
/// code.
pub fn serve_until_stopped<E: std::fmt::Display + Send>(
    termination: &Termination,
    run: impl FnOnce(Box<dyn FnOnce() + Send>) -> Result<(), E> + Send,
    stop: impl FnOnce(),
) -> i32 {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        let runner = s.spawn(move || {
            run(Box::new(move || {
                let _ = tx.send(());
            }))
        });
        if rx.recv().is_ok() {
            announce_ready();
            termination.wait();
            stop();
        }
        match runner.join() {
            Ok(Ok(())) => 0,
            Ok(Err(e)) => {
                eprintln!("server: {e}");
                1
            }
            Err(_) => 1,
        }
    })
}
