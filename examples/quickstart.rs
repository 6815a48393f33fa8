//! netipc in one command: a `cgroups-snapshot` server with a realistic
//! corpus of about 200 cgroups on a temporary run dir (shared memory on
//! Linux), a Level 3 cache refreshed from it, a table of items, and the
//! measured lookup rate. Everything is shut down and removed at the end.
//!
//! Run: `cargo run --release --example quickstart`

mod common;

use common::RunDir;
use netipc::protocol::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
use netipc::service::cgroups::{
    CgroupsCache, ClientConfig, Handler, ManagedServer, ServerConfig, simple_hash,
};
use std::hint::black_box;
use std::time::{Duration, Instant};

const SERVICE: &str = "cgroups-snapshot";
const TOKEN: u64 = 0xDEAD_BEEF_CAFE_BABE;

struct Cgroup {
    name: String,
    path: String,
    options: u32,
    enabled: u32,
}

/// About 200 cgroups shaped like a busy host's.
fn corpus() -> Vec<Cgroup> {
    let root = "/sys/fs/cgroup";
    let mut v = Vec::new();
    let mut add = |name: String, path: String, options: u32, enabled: u32| {
        v.push(Cgroup {
            name,
            path,
            options,
            enabled,
        })
    };
    add("init.scope".into(), format!("{root}/init.scope"), 0, 1);
    let services = [
        "systemd-journald",
        "systemd-logind",
        "systemd-udevd",
        "systemd-resolved",
        "systemd-timesyncd",
        "sshd",
        "cron",
        "dbus",
        "rsyslog",
        "netdata",
        "docker",
        "containerd",
        "polkit",
        "chronyd",
        "nginx",
        "postgresql",
        "redis-server",
        "unattended-upgrades",
        "snapd",
        "multipathd",
    ];
    for s in services {
        let name = format!("system.slice/{s}.service");
        add(name.clone(), format!("{root}/{name}"), 2, 1);
    }
    for i in 0..60u64 {
        let id = format!(
            "{:016x}{:016x}{:016x}{:016x}",
            i * 0x9E37_79B9,
            i ^ 0xABCD,
            i * 31,
            i + 7
        );
        add(
            format!("docker/app-{i:02}"),
            format!("{root}/system.slice/docker-{id}.scope"),
            4,
            (i % 7 != 0) as u32,
        );
    }
    for ns in ["default", "monitoring", "ingress", "payments"] {
        for p in 0..25 {
            let uid = format!("{:08x}_{:04x}_{:04x}", p * 7919, p, ns.len());
            add(
                format!("k8s/{ns}/pod-{p:02}"),
                format!("{root}/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{uid}.slice"),
                4,
                1,
            );
        }
    }
    for u in [0, 1000, 1001] {
        add(
            format!("user.slice/user-{u}.slice"),
            format!("{root}/user.slice/user-{u}.slice"),
            0,
            1,
        );
    }
    for m in ["qemu-ubuntu22", "qemu-debian12", "nspawn-build"] {
        add(
            format!("machine/{m}"),
            format!("{root}/machine.slice/machine-{m}.scope"),
            0,
            1,
        );
    }
    add(
        "podman/café-api".into(),
        format!("{root}/machine.slice/libpod-5c6d7e8f90a1.scope"),
        6,
        1,
    );
    v
}

fn main() {
    let dir = RunDir::create("quickstart").expect("create the run dir");
    let run_dir = dir.path().to_owned();
    let profiles = if cfg!(target_os = "linux") {
        PROFILE_BASELINE | PROFILE_SHM_HYBRID
    } else {
        PROFILE_BASELINE
    };

    let items = corpus();
    let served = items.len();
    let handler = Handler {
        handle: Some(Box::new(move |_request, builder| {
            builder.set_header(1, 1);
            items.iter().all(|c| {
                builder
                    .add(
                        simple_hash(c.name.as_bytes()),
                        c.options,
                        c.enabled,
                        c.name.as_bytes(),
                        c.path.as_bytes(),
                    )
                    .is_ok()
            })
        })),
    };
    let server_config = ServerConfig {
        supported_profiles: profiles,
        preferred_profiles: profiles,
        max_response_payload_bytes: 256 * 1024,
        auth_token: TOKEN,
        ..ServerConfig::default()
    };
    let server = ManagedServer::new(&run_dir, SERVICE, server_config, handler);

    std::thread::scope(|s| {
        let (bound_tx, bound_rx) = std::sync::mpsc::channel();
        let runner = s.spawn(|| server.run_notify(move || bound_tx.send(()).unwrap()));
        bound_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("server bound");

        let client_config = ClientConfig {
            supported_profiles: profiles,
            preferred_profiles: profiles,
            max_response_payload_bytes: 256 * 1024,
            auth_token: TOKEN,
            ..ClientConfig::default()
        };
        let mut cache = CgroupsCache::new(&run_dir, SERVICE, client_config);
        let started = Instant::now();
        assert!(cache.refresh(), "refresh failed: {:?}", cache.last_error());
        let first_refresh = started.elapsed();
        let started = Instant::now();
        assert!(cache.refresh(), "refresh failed: {:?}", cache.last_error());
        let next_refresh = started.elapsed();

        let snapshot = cache.snapshot();
        println!(
            "served {served} cgroups from {}/{SERVICE}.sock over {}",
            run_dir.display(),
            if cache.status().shm {
                "shared memory"
            } else {
                "a UNIX socket"
            },
        );
        println!(
            "first refresh (connect, handshake, snapshot, index) {:.0} µs; next refresh {:.0} µs",
            first_refresh.as_secs_f64() * 1e6,
            next_refresh.as_secs_f64() * 1e6
        );
        println!();
        println!("{:>10}  {:>4}  {:>2}  {:<38}  path", "hash", "opts", "on", "name");
        let shown = [
            0usize,
            1,
            5,
            21,
            22,
            50,
            81,
            82,
            130,
            181,
            184,
            snapshot.len() - 1,
        ];
        for it in shown.iter().filter_map(|&i| snapshot.item(i)) {
            let path = it.path.to_string();
            let path = if path.chars().count() > 60 {
                format!("{}…", path.chars().take(60).collect::<String>())
            } else {
                path
            };
            println!(
                "{:>10}  {:>4}  {:>2}  {:<38}  {}",
                it.hash, it.options, it.enabled, it.name, path
            );
        }
        println!("  … {} more", snapshot.len().saturating_sub(shown.len()));

        // Lookup rate: every item by (hash, name), plus misses.
        let keys: Vec<(u32, String)> = snapshot.items().map(|i| (i.hash, i.name.to_string())).collect();
        let rounds = 20_000;
        let started = Instant::now();
        let mut hits = 0usize;
        for _ in 0..rounds {
            for (h, n) in &keys {
                hits += black_box(cache.lookup(*h, n.as_bytes())).is_some() as usize;
            }
        }
        let elapsed = started.elapsed();
        let lookups = rounds * keys.len();
        assert_eq!(hits, lookups);
        assert!(cache.lookup(1, "no-such-cgroup").is_none());
        println!();
        println!(
            "{lookups} lookups in {:.1} ms: {:.1} M lookups/s ({:.1} ns each)",
            elapsed.as_secs_f64() * 1e3,
            lookups as f64 / elapsed.as_secs_f64() / 1e6,
            elapsed.as_nanos() as f64 / lookups as f64
        );

        cache.close();
        server.stop();
        runner.join().expect("server thread").expect("server run");
    });
    drop(dir);
    println!("server stopped, {} removed", run_dir.display());
}
