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
#[cfg(unix)]
pub mod tokio_peer;

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

/// The side a peer plays in an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Serves until stopped.
    Server,
    /// Connects, checks, prints its verdict and exits.
    Client,
}

/// The exchanges of `interop_service` (and its async twin), one per mode
/// prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceExchange {
    /// `server`, `client`: the [`fixture`] snapshot.
    Snapshot,
    /// `apps-`: an apps lookup of [`lookup::scale_items`] PIDs.
    AppsScale,
    /// `cgroups-`: a cgroups lookup of [`lookup::scale_items`] paths.
    CgroupsScale,
    /// `apps-mixed-`: an apps lookup with every item outcome.
    AppsMixed,
    /// `cgroups-mixed-`: a cgroups lookup with every item outcome.
    CgroupsMixed,
}

/// The modes `interop_service` and its async twin accept.
pub const SERVICE_MODES: &str = "server|client|apps-server|apps-client|cgroups-server|cgroups-client|\
    apps-mixed-server|apps-mixed-client|cgroups-mixed-server|cgroups-mixed-client";

impl ServiceExchange {
    /// The exchange and the role a mode of `interop_service` names.
    pub fn parse(mode: &str) -> Option<(Self, Role)> {
        let (prefix, role) = match (mode.strip_suffix("server"), mode.strip_suffix("client")) {
            (Some(p), _) => (p, Role::Server),
            (_, Some(p)) => (p, Role::Client),
            _ => return None,
        };
        let exchange = match prefix {
            "" => Self::Snapshot,
            "apps-" => Self::AppsScale,
            "cgroups-" => Self::CgroupsScale,
            "apps-mixed-" => Self::AppsMixed,
            "cgroups-mixed-" => Self::CgroupsMixed,
            _ => return None,
        };
        Some((exchange, role))
    }

    /// Sessions a lookup server of this exchange serves at once.
    pub fn workers(self) -> usize {
        match self {
            Self::AppsScale | Self::CgroupsScale => 8,
            _ => 2,
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

/// The handler of the interop snapshot servers: publishes [`fixture`].
pub fn snapshot_fixture_handler() -> netipc::service::cgroups::Handler {
    netipc::service::cgroups::Handler {
        handle: Some(Box::new(|_req, b| {
            b.set_header(fixture::SYSTEMD_ENABLED, fixture::GENERATION);
            fixture::ITEMS
                .iter()
                .all(|(h, o, e, n, p)| b.add(*h, *o, *e, n.as_bytes(), p.as_bytes()).is_ok())
        })),
    }
}

/// The configuration of the interop snapshot servers, with `batch_items`
/// items per batch.
pub fn snapshot_server_config(batch_items: u32) -> netipc::service::ServerConfig {
    let profiles = profiles();
    netipc::service::ServerConfig {
        supported_profiles: profiles,
        preferred_profiles: profiles,
        max_request_payload_bytes: REQUEST_PAYLOAD,
        max_request_batch_items: batch_items,
        max_response_payload_bytes: RESPONSE_PAYLOAD,
        max_response_batch_items: batch_items,
        auth_token: AUTH_TOKEN,
        ..netipc::service::ServerConfig::default()
    }
}

/// The configuration of the interop snapshot clients and caches, with
/// `batch_items` items per batch.
pub fn snapshot_client_config(batch_items: u32) -> netipc::service::ClientConfig {
    let profiles = profiles();
    netipc::service::ClientConfig {
        supported_profiles: profiles,
        preferred_profiles: profiles,
        max_request_batch_items: batch_items,
        max_response_payload_bytes: RESPONSE_PAYLOAD,
        auth_token: AUTH_TOKEN,
        ..netipc::service::ClientConfig::default()
    }
}

/// Checks a snapshot answer against [`fixture`]: its header and every item.
pub fn check_snapshot_fixture(view: &netipc::protocol::CgroupsResponseView<'_>) -> Result<(), String> {
    if view.item_count != fixture::ITEMS.len() as u32
        || view.systemd_enabled != fixture::SYSTEMD_ENABLED
        || view.generation != fixture::GENERATION
    {
        return Err(format!(
            "snapshot header: {} items, systemd {}, generation {}",
            view.item_count, view.systemd_enabled, view.generation
        ));
    }
    for (i, (hash, _, enabled, name, path)) in fixture::ITEMS.iter().enumerate() {
        let item = view.item(i as u32).map_err(|e| e.to_string())?;
        if item.hash != *hash || item.enabled != *enabled || item.name != *name || item.path != *path {
            return Err(format!("item {i}: {item:?}"));
        }
    }
    Ok(())
}

/// Checks a cache loaded from a [`fixture`] server: its status, a lookup
/// that finds an item and one that finds none.
pub fn check_cache_fixture(
    status: &netipc::service::cgroups::CacheStatus,
    snapshot: &netipc::service::cgroups::CacheSnapshot,
) -> Result<(), String> {
    if status.item_count != fixture::ITEMS.len() || status.generation != fixture::GENERATION {
        return Err(format!("cache status {status:?}"));
    }
    let (hash, _, _, name, path) = fixture::ITEMS[0];
    match snapshot.lookup(hash, name.as_bytes()) {
        Some(item) if item.path == path && item.hash == hash => {}
        other => return Err(format!("lookup ({hash}, {name}): {other:?}")),
    }
    if let Some(item) = snapshot.lookup(9999, b"nonexistent") {
        return Err(format!("lookup (9999, nonexistent) found {item:?}"));
    }
    Ok(())
}

/// How long a client retries its connect: the server may still be starting.
pub const CONNECT_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);
/// The pause between two connect attempts.
pub const CONNECT_RETRY: std::time::Duration = std::time::Duration::from_millis(10);

/// Calls `attempt` (a refresh that says whether the client is now ready)
/// until it succeeds, pausing [`CONNECT_RETRY`] between attempts, for up
/// to [`CONNECT_PATIENCE`].
pub fn connect(mut attempt: impl FnMut() -> bool) -> Result<(), String> {
    let deadline = std::time::Instant::now() + CONNECT_PATIENCE;
    while !attempt() {
        if std::time::Instant::now() >= deadline {
            return Err("not ready".into());
        }
        std::thread::sleep(CONNECT_RETRY);
    }
    Ok(())
}

/// A managed `cgroups-snapshot` server publishing [`fixture`], serving
/// until its [`Termination`].
pub fn serve_snapshot_fixture(run_dir: &str, service: &str, batch_items: u32) -> i32 {
    use netipc::service::cgroups::ManagedServer;
    let termination = Termination::arm();
    let config = snapshot_server_config(batch_items);
    let server = ManagedServer::new(run_dir, service, config, snapshot_fixture_handler());
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
