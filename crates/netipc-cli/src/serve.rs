//! `netipc serve`: a demo provider of any service kind, serving the
//! synthetic data of [`crate::demo`] until Ctrl-C (or `--for`).

use crate::cli::{Kind, ServeArgs};
use crate::client::{check_service, endpoint, profile_bits};
use crate::demo::{Demo, FIRST_PID};
use crate::failure::Failure;
use crate::output;
use crate::probe::profile_names;
use netipc::service::lookup::apps::{AppsLookupEntry, AppsLookupStatus, CgroupStatus};
use netipc::service::lookup::cgroups::CgroupsLookupStatus;
use netipc::service::lookup::{apps, cgroups as cgroups_lookup};
use netipc::service::{ServerConfig, ServiceError, cgroups, increment, string_reverse};
use netipc::transport::TransportError;
use std::sync::mpsc;
use std::sync::{Arc, RwLock};
use std::time::Duration;

type Shared = Arc<RwLock<Demo>>;

/// How long a stopped server may take to end its sessions before the
/// process exits anyway.
const STOP_GRACE: Duration = Duration::from_secs(3);

fn read(d: &Shared) -> std::sync::RwLockReadGuard<'_, Demo> {
    d.read().unwrap_or_else(|p| p.into_inner())
}

fn snapshot_handler(data: Shared) -> cgroups::Handler {
    cgroups::Handler {
        handle: Some(Box::new(move |_request, builder| {
            let d = read(&data);
            builder.set_header(1, d.generation);
            d.cgroups.iter().all(|c| {
                builder
                    .add(
                        c.hash(),
                        c.options,
                        c.enabled,
                        c.name.as_bytes(),
                        c.path.as_bytes(),
                    )
                    .is_ok()
            })
        })),
    }
}

fn cgroups_lookup_handler(data: Shared) -> cgroups_lookup::Handler {
    cgroups_lookup::Handler {
        handle: Some(Box::new(move |r| {
            let d = read(&data);
            r.set_generation(d.generation);
            while let Some(path) = r.next_key() {
                let placed = match d.by_path(path.as_bytes()) {
                    Some(c) => {
                        let labels: Vec<_> = c
                            .labels
                            .iter()
                            .map(|(k, v)| (k.as_bytes(), v.as_bytes()))
                            .collect();
                        r.known(c.orchestrator, c.name.as_bytes(), &labels)
                    }
                    None => r.not_known(CgroupsLookupStatus::UnknownPermanent),
                };
                if placed.is_err() {
                    return false;
                }
            }
            true
        })),
    }
}

fn apps_lookup_handler(data: Shared) -> apps::Handler {
    apps::Handler {
        handle: Some(Box::new(move |r| {
            let d = read(&data);
            r.set_generation(d.generation);
            while let Some(pid) = r.next_key() {
                let placed = match d.process(pid) {
                    Some((k, c)) => {
                        let labels: Vec<_> = c
                            .labels
                            .iter()
                            .map(|(k, v)| (k.as_bytes(), v.as_bytes()))
                            .collect();
                        let comm = format!("demo-{k}");
                        r.answer(&AppsLookupEntry {
                            pid,
                            status: AppsLookupStatus::Known,
                            cgroup_status: CgroupStatus::Known,
                            orchestrator: c.orchestrator,
                            ppid: if k == 0 { 1 } else { FIRST_PID },
                            uid: 1000 + k % 3,
                            starttime: 1_000_000 + k as u64,
                            comm: &comm.as_bytes()[..comm.len().min(15)],
                            cgroup_path: c.path.as_bytes(),
                            cgroup_name: c.name.as_bytes(),
                            labels: &labels,
                        })
                    }
                    None => r.not_known(AppsLookupStatus::Unknown),
                };
                if placed.is_err() {
                    return false;
                }
            }
            true
        })),
    }
}

/// A server of any kind, behind one interface.
trait Serving: Send + Sync {
    fn run_notify(&self, bound: Box<dyn FnOnce() + '_>) -> Result<(), ServiceError>;
    fn stop(&self);
}

impl<H: netipc::service::ServiceHandler> Serving for netipc::service::ManagedServer<H> {
    fn run_notify(&self, bound: Box<dyn FnOnce() + '_>) -> Result<(), ServiceError> {
        netipc::service::ManagedServer::run_notify(self, bound)
    }

    fn stop(&self) {
        netipc::service::ManagedServer::stop(self)
    }
}

/// The server of `kind` over `data`.
fn server(kind: Kind, args: &ServeArgs, config: ServerConfig, data: &Shared) -> Arc<dyn Serving> {
    let (dir, svc) = (&args.run_dir, args.service.as_str());
    match kind {
        Kind::CgroupsSnapshot => Arc::new(cgroups::ManagedServer::new(
            dir,
            svc,
            config,
            snapshot_handler(Arc::clone(data)),
        )),
        Kind::CgroupsLookup => Arc::new(cgroups_lookup::ManagedServer::new(
            dir,
            svc,
            config,
            cgroups_lookup_handler(Arc::clone(data)),
        )),
        Kind::AppsLookup => Arc::new(apps::ManagedServer::new(
            dir,
            svc,
            config,
            apps_lookup_handler(Arc::clone(data)),
        )),
        Kind::Increment => Arc::new(increment::ManagedServer::new(
            dir,
            svc,
            config,
            increment::Handler {
                handle: Some(Box::new(|v: u64| v.checked_add(1))),
            },
        )),
        Kind::StringReverse => Arc::new(string_reverse::ManagedServer::new(
            dir,
            svc,
            config,
            string_reverse::Handler {
                handle: Some(Box::new(|s: &[u8], out: &mut Vec<u8>| {
                    match std::str::from_utf8(s) {
                        Ok(text) => out.extend(text.chars().rev().collect::<String>().bytes()),
                        Err(_) => out.extend(s.iter().rev()),
                    }
                    true
                })),
            },
        )),
    }
}

/// What `serve` says once it listens: in words, a call to try.
fn try_hint(kind: Kind, args: &ServeArgs, demo: &Demo) -> String {
    let token = if args.token != 0 {
        format!(" --token {:#x}", args.token)
    } else {
        String::new()
    };
    let base = format!("netipc call {} {}", args.run_dir.display(), args.service);
    match kind {
        Kind::CgroupsSnapshot => format!("{base} snapshot{token}"),
        Kind::CgroupsLookup => match demo.cgroups.first() {
            Some(c) => format!("{base} cgroups-lookup {} /no/such/cgroup{token}", c.path),
            None => format!("{base} cgroups-lookup /no/such/cgroup{token}"),
        },
        Kind::AppsLookup => format!("{base} apps-lookup {FIRST_PID} 1{token}"),
        Kind::Increment => format!("{base} increment 41{token}"),
        Kind::StringReverse => format!("{base} string-reverse hello{token}"),
    }
}

/// Runs `netipc serve`.
pub fn run(args: &ServeArgs, json: bool) -> Result<(), Failure> {
    check_service(&args.service)?;
    let kind = match args.kind.or_else(|| Kind::from_service(&args.service)) {
        Some(k) => k,
        None => {
            return Err(Failure::Usage {
                message: format!("`{}` does not name a service kind", args.service),
                hint: Some(
                    "give --kind (cgroups-snapshot, cgroups-lookup, apps-lookup, increment, string-reverse)"
                        .into(),
                ),
            });
        }
    };
    #[cfg(unix)]
    std::fs::create_dir_all(&args.run_dir).map_err(|e| {
        Failure::other(
            format!("cannot create run dir {} ({e})", args.run_dir.display()),
            Some("pick a directory this user can write"),
        )
    })?;
    let (supported, preferred) = profile_bits(args.profile)?;
    let config = ServerConfig {
        supported_profiles: supported,
        preferred_profiles: preferred,
        auth_token: args.token,
        ..ServerConfig::default()
    };
    let data: Shared = Arc::new(RwLock::new(Demo::new(args.demo)));
    let server = server(kind, args, config, &data);
    let endpoint = endpoint(&args.run_dir, &args.service);

    // Ctrl-C, SIGTERM and --for all stop the server the same way.
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let on_signal = stop_tx.clone();
    ctrlc::set_handler(move || {
        let _ = on_signal.send(());
    })
    .map_err(|e| Failure::other(format!("cannot handle Ctrl-C ({e})"), None))?;
    if let Some(after) = args.run_for {
        let tx = stop_tx.clone();
        std::thread::spawn(move || {
            std::thread::sleep(after);
            let _ = tx.send(());
        });
    }
    if let Some(every) = args.change_every {
        let data = Arc::clone(&data);
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(every.max(Duration::from_millis(10)));
                data.write().unwrap_or_else(|p| p.into_inner()).change();
            }
        });
    }
    let stopper = Arc::clone(&server);
    std::thread::spawn(move || {
        let _ = stop_rx.recv();
        stopper.stop();
        // The server returns once its sessions have ended. A session can
        // outlast the stop (a handler that blocks, or a client that keeps
        // its shared-memory session busy): a second Ctrl-C, or the grace
        // period, ends the process. The socket is already gone by then; a
        // region file left behind is reclaimed by the next server.
        let _ = stop_rx.recv_timeout(STOP_GRACE);
        eprintln!("netipc: a session was still open when the server stopped; exiting");
        std::process::exit(0);
    });

    let hint = try_hint(kind, args, &read(&data));
    let profiles = profile_names(supported);
    let items = args.demo;
    let result = server.run_notify(Box::new(|| {
        if json {
            output::json(&serde_json::json!({
                "event": "listening",
                "endpoint": endpoint,
                "kind": kind.name(),
                "service": args.service,
                "items": items,
                "profiles": profiles,
                "token": args.token,
            }));
        } else {
            output::line(format!(
                "serving {} as `{}` at {endpoint} ({items} demo items; profiles {}; token {:#x})",
                kind.name(),
                args.service,
                profiles.join("+"),
                args.token
            ));
            output::line(format!("try: {hint}"));
            output::line("Ctrl-C stops");
        }
    }));
    match result {
        Ok(()) => {
            if json {
                output::json(&serde_json::json!({"event": "stopped", "endpoint": endpoint}));
            } else {
                output::line(format!("stopped; {endpoint} removed"));
            }
            Ok(())
        }
        Err(ServiceError::Serve {
            source: TransportError::AddressInUse { .. },
            ..
        }) => Err(Failure::other(
            format!("{endpoint} is in use: a live server answers there"),
            Some("stop that server, or serve under another service name"),
        )),
        Err(
            e @ ServiceError::Serve {
                source: TransportError::Io { .. },
                ..
            },
        ) if is_permission_denied(&e) => Err(Failure::other(
            e.to_string(),
            Some("run as a user who may write the run dir"),
        )),
        Err(e) => Err(Failure::other(
            e.to_string(),
            Some("check the run dir and the service name"),
        )),
    }
}

/// The profiles `serve` offers for `profile`, as names (for tests).
#[cfg(test)]
fn offered(profile: crate::cli::Profile) -> Vec<String> {
    profile_bits(profile)
        .map(|(s, _)| profile_names(s))
        .unwrap_or_default()
}

/// Whether a server failed for want of permission on its run dir.
fn is_permission_denied(e: &ServiceError) -> bool {
    matches!(
        e,
        ServiceError::Serve { source: TransportError::Io { source, .. }, .. }
            if source.kind() == std::io::ErrorKind::PermissionDenied
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Profile;

    #[test]
    fn serve_offers_the_baseline_unless_told_shm() {
        assert_eq!(offered(Profile::Uds), ["baseline"]);
        assert!(offered(Profile::Auto).contains(&"baseline".to_string()));
    }

    #[test]
    fn the_try_line_is_a_call_of_the_right_method() {
        let args = ServeArgs {
            run_dir: "/tmp/x".into(),
            service: "svc".into(),
            demo: 3,
            kind: None,
            token: 42,
            profile: Profile::Auto,
            change_every: None,
            run_for: None,
        };
        let demo = Demo::new(3);
        let line = try_hint(Kind::CgroupsLookup, &args, &demo);
        assert!(
            line.starts_with("netipc call /tmp/x svc cgroups-lookup /sys/fs/cgroup/"),
            "{line}"
        );
        assert!(line.ends_with("--token 0x2a"), "{line}");
        assert_eq!(
            try_hint(Kind::Increment, &args, &demo),
            "netipc call /tmp/x svc increment 41 --token 0x2a"
        );
    }
}
