//! The two lookup services in one process: an `apps-lookup` and a
//! `cgroups-lookup` server on a temporary run dir, a client of each, a few
//! answers printed, and one call of 20 000 PIDs that the client splits into
//! requests that fit the session and stitches back into one answer.
//! Everything is shut down and removed at the end.
//!
//! Run: `cargo run --release --example lookups`

mod common;

use common::RunDir;
use netipc::protocol::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
use netipc::service::lookup::{apps, cgroups};
use netipc::service::{ClientConfig, ServerConfig};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const TOKEN: u64 = 0xDEAD_BEEF_CAFE_BABE;
/// The provider's process table holds the PIDs from 1000 up to here.
const LAST_WORKER: u32 = 30_999;

/// The provider's answer for a PID it knows: a worker in one of eight
/// containers.
fn worker(pid: u32) -> (String, String, String) {
    let container = format!("app-{}", pid % 8);
    (
        format!("worker-{pid}"),
        format!("/sys/fs/cgroup/system.slice/docker-{container}.scope"),
        container,
    )
}

/// Answers each PID: systemd, a worker, or not known.
fn apps_handler(requests: &'static AtomicU32) -> apps::Handler {
    apps::Handler {
        handle: Some(Box::new(move |r| {
            requests.fetch_add(1, Ordering::Relaxed);
            r.set_generation(1);
            while let Some(pid) = r.next_key() {
                let placed = match pid {
                    1 => r.answer(&apps::AppsLookupEntry {
                        pid,
                        status: apps::AppsLookupStatus::Known,
                        // In the host's root cgroup: no orchestrator, path or name.
                        cgroup_status: apps::CgroupStatus::HostRoot,
                        orchestrator: apps::Orchestrator::UNKNOWN,
                        ppid: 0,
                        uid: 0,
                        starttime: 1,
                        comm: b"systemd",
                        cgroup_path: b"",
                        cgroup_name: b"",
                        labels: &[],
                    }),
                    1000..=LAST_WORKER => {
                        let (comm, path, name) = worker(pid);
                        r.answer(&apps::AppsLookupEntry {
                            pid,
                            status: apps::AppsLookupStatus::Known,
                            cgroup_status: apps::CgroupStatus::Known,
                            orchestrator: apps::Orchestrator::DOCKER,
                            ppid: 1,
                            uid: 1000,
                            starttime: 4_200 + pid as u64,
                            comm: comm.as_bytes(),
                            cgroup_path: path.as_bytes(),
                            cgroup_name: name.as_bytes(),
                            labels: &[(b"image".as_slice(), b"registry.local/worker:2.1".as_slice())],
                        })
                    }
                    _ => r.not_known(apps::AppsLookupStatus::Unknown),
                };
                if placed.is_err() {
                    return false;
                }
            }
            true
        })),
    }
}

/// Answers each cgroup path: a container it knows, a path that will never
/// be enriched, or one it does not know yet.
fn cgroups_handler() -> cgroups::Handler {
    cgroups::Handler {
        handle: Some(Box::new(|r| {
            r.set_generation(1);
            while let Some(path) = r.next_key() {
                let path = path.as_bytes();
                let placed = if let Some(id) = path
                    .strip_prefix(b"/sys/fs/cgroup/system.slice/docker-")
                    .and_then(|rest| rest.strip_suffix(b".scope"))
                {
                    let labels = [
                        (b"image".as_slice(), b"nginx:1.27".as_slice()),
                        (b"compose.project", b"web"),
                    ];
                    r.known(cgroups::Orchestrator::DOCKER, id, &labels)
                } else if path.starts_with(b"/sys/fs/cgroup/user.slice") {
                    r.not_known(cgroups::CgroupsLookupStatus::UnknownPermanent)
                } else {
                    r.not_known(cgroups::CgroupsLookupStatus::UnknownRetryLater)
                };
                if placed.is_err() {
                    return false;
                }
            }
            true
        })),
    }
}

/// Payload budgets of the sessions. The protocol's defaults (1 KiB each
/// way) suit small calls: with them, the 20 000-PID call below still
/// works, in about 4 000 requests of 5 answers each.
const REQUEST_BUDGET: u32 = 16 * 1024;
const RESPONSE_BUDGET: u32 = 64 * 1024;

fn client_config(profiles: u32) -> ClientConfig {
    ClientConfig {
        supported_profiles: profiles,
        preferred_profiles: profiles,
        max_request_payload_bytes: REQUEST_BUDGET,
        max_response_payload_bytes: RESPONSE_BUDGET,
        auth_token: TOKEN,
        ..ClientConfig::default()
    }
}

/// A few PIDs, then 20 000 in one call.
fn use_apps(run_dir: &Path, profiles: u32, requests: &AtomicU32) {
    let mut client = apps::AppsLookupClient::new(run_dir, "apps-lookup", client_config(profiles));
    client.refresh();
    let view = client.call(&[1, 1004, 77, 1011]).expect("apps lookup");
    println!("apps-lookup, generation {}:", view.generation);
    for item in view.iter() {
        let labels: Vec<String> = item.labels().map(|l| format!("{}={}", l.key, l.value)).collect();
        println!(
            "  pid {:>5}  {:<8}  {:<12}  {:<8}  {}",
            item.pid,
            format!("{:?}", item.status),
            item.comm,
            item.cgroup_name,
            labels.join(",")
        );
    }

    let pids: Vec<u32> = (1000..21_000).collect();
    let before = requests.load(Ordering::Relaxed);
    let started = Instant::now();
    let view = client.call(&pids).expect("the large apps lookup");
    let elapsed = started.elapsed();
    let known = view
        .iter()
        .filter(|i| i.status == apps::AppsLookupStatus::Known)
        .count();
    let in_order = view.iter().zip(&pids).all(|(item, &pid)| item.pid == pid);
    println!(
        "  {} PIDs in one call: {known} known, in request order: {in_order}, {} requests, {:.1} ms",
        view.item_count,
        requests.load(Ordering::Relaxed) - before,
        elapsed.as_secs_f64() * 1e3
    );
    assert!(in_order && known == pids.len());
}

fn use_cgroups(run_dir: &Path, profiles: u32) {
    let mut client = cgroups::CgroupsLookupClient::new(run_dir, "cgroups-lookup", client_config(profiles));
    client.refresh();
    let paths = [
        "/sys/fs/cgroup/system.slice/docker-app-3.scope",
        "/sys/fs/cgroup/user.slice/user-1000.slice",
        "/sys/fs/cgroup/machine.slice/new-vm.scope",
    ];
    let view = client.call(&paths).expect("cgroups lookup");
    println!("cgroups-lookup, generation {}:", view.generation);
    for item in view.iter() {
        let labels: Vec<String> = item.labels().map(|l| format!("{}={}", l.key, l.value)).collect();
        println!(
            "  {:<17}  {:<7}  {:<6}  {:<32}  {}",
            format!("{:?}", item.status),
            item.orchestrator.name().unwrap_or("?"),
            item.name,
            labels.join(","),
            item.path
        );
    }
}

/// Stops both servers when dropped, also when a client call panics, so
/// that the scope can join their threads.
struct StopServers<'a>(&'a apps::ManagedServer, &'a cgroups::ManagedServer);

impl Drop for StopServers<'_> {
    fn drop(&mut self) {
        self.0.stop();
        self.1.stop();
    }
}

fn main() {
    let dir = RunDir::create("lookups").expect("create the run dir");
    let run_dir = dir.path().to_owned();
    let profiles = if cfg!(target_os = "linux") {
        PROFILE_BASELINE | PROFILE_SHM_HYBRID
    } else {
        PROFILE_BASELINE
    };
    let server_config = ServerConfig {
        supported_profiles: profiles,
        preferred_profiles: profiles,
        max_request_payload_bytes: REQUEST_BUDGET,
        max_response_payload_bytes: RESPONSE_BUDGET,
        auth_token: TOKEN,
        ..ServerConfig::default()
    };
    static APPS_REQUESTS: AtomicU32 = AtomicU32::new(0);
    let apps_server = apps::ManagedServer::new(
        &run_dir,
        "apps-lookup",
        server_config.clone(),
        apps_handler(&APPS_REQUESTS),
    );
    let cgroups_server =
        cgroups::ManagedServer::new(&run_dir, "cgroups-lookup", server_config, cgroups_handler());

    std::thread::scope(|s| {
        let (bound, is_bound) = std::sync::mpsc::channel();
        let apps_bound = bound.clone();
        let apps_runner = s.spawn(|| apps_server.run_notify(move || apps_bound.send(()).unwrap()));
        let cgroups_runner = s.spawn(|| cgroups_server.run_notify(move || bound.send(()).unwrap()));
        let stop = StopServers(&apps_server, &cgroups_server);
        for _ in 0..2 {
            is_bound
                .recv_timeout(Duration::from_secs(10))
                .expect("both servers bound");
        }
        use_apps(&run_dir, profiles, &APPS_REQUESTS);
        use_cgroups(&run_dir, profiles);
        drop(stop);
        apps_runner.join().unwrap().expect("apps-lookup server");
        cgroups_runner.join().unwrap().expect("cgroups-lookup server");
    });
    drop(dir);
}
