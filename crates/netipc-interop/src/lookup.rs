//! The lookup fixtures of the interop matrix: scale and mixed servers, and
//! the clients that check them.

use crate::{AUTH_TOKEN, RESPONSE_PAYLOAD, connect, profiles};
use netipc::service::lookup::{apps, cgroups};
use netipc::service::{ClientConfig, ServerConfig};
use std::time::Duration;

/// Request payload limit of the lookup servers.
pub const LOOKUP_REQUEST_PAYLOAD: u32 = 8192;
/// Keys of a scale call, unless `NIPC_LOOKUP_SCALE_ITEMS` says otherwise.
pub const SCALE_ITEMS_DEFAULT: u32 = 8192;
/// Call timeout of the lookup clients.
pub const LOOKUP_CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// Keys of a scale call.
pub fn scale_items() -> u32 {
    std::env::var("NIPC_LOOKUP_SCALE_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(SCALE_ITEMS_DEFAULT)
}

/// The lookup servers' configuration, with `workers` sessions.
pub fn server_config(workers: usize) -> ServerConfig {
    let p = profiles();
    ServerConfig {
        supported_profiles: p,
        preferred_profiles: p,
        max_request_payload_bytes: LOOKUP_REQUEST_PAYLOAD,
        max_request_batch_items: 16,
        max_response_payload_bytes: RESPONSE_PAYLOAD,
        max_response_batch_items: 16,
        auth_token: AUTH_TOKEN,
        max_sessions: workers,
        ..ServerConfig::default()
    }
}

/// The lookup clients' configuration for calls of `items` keys.
pub fn client_config(items: u32) -> ClientConfig {
    let p = profiles();
    ClientConfig {
        supported_profiles: p,
        preferred_profiles: p,
        max_request_payload_bytes: LOOKUP_REQUEST_PAYLOAD,
        max_request_batch_items: 16,
        max_response_payload_bytes: RESPONSE_PAYLOAD,
        auth_token: AUTH_TOKEN,
        call_timeout: LOOKUP_CALL_TIMEOUT,
        lookup_max_items: items.max(1),
        lookup_max_subcalls: 4096,
        lookup_max_stitched_bytes: 64 << 20,
        ..ClientConfig::default()
    }
}

/// Scale apps server: every PID known, generation 9.
pub fn apps_scale_handler() -> apps::Handler {
    apps::Handler {
        handle: Some(Box::new(|r| {
            r.set_generation(9);
            while let Some(pid) = r.next_key() {
                let e = apps::AppsLookupEntry {
                    pid,
                    status: netipc::protocol::lookup::AppsLookupStatus::Known,
                    cgroup_status: apps::CgroupStatus::Known,
                    orchestrator: apps::Orchestrator::DOCKER,
                    ppid: 1,
                    uid: 1000,
                    starttime: 42,
                    comm: b"ok",
                    cgroup_path: b"/ok",
                    cgroup_name: b"name",
                    labels: &[],
                };
                if r.answer(&e).is_err() {
                    return false;
                }
            }
            true
        })),
    }
}

/// Scale cgroups server: every path known to K8S as "ok", generation 7.
pub fn cgroups_scale_handler() -> cgroups::Handler {
    cgroups::Handler {
        handle: Some(Box::new(|r| {
            r.set_generation(7);
            while r.next_key().is_some() {
                if r.known(cgroups::Orchestrator::K8S, b"ok", &[]).is_err() {
                    return false;
                }
            }
            true
        })),
    }
}

/// Mixed apps server (PIDs 1001..1005), generation 19.
pub fn apps_mixed_handler() -> apps::Handler {
    use netipc::protocol::lookup::AppsLookupStatus as S;
    apps::Handler {
        handle: Some(Box::new(|r| {
            r.set_generation(19);
            while let Some(pid) = r.next_key() {
                let known = |cgroup_status, uid, starttime, comm: &'static [u8]| apps::AppsLookupEntry {
                    pid,
                    status: S::Known,
                    cgroup_status,
                    orchestrator: apps::Orchestrator::UNKNOWN,
                    ppid: 1,
                    uid,
                    starttime,
                    comm,
                    cgroup_path: b"",
                    cgroup_name: b"",
                    labels: &[],
                };
                let labels: [apps::LabelInput<'_>; 1] = [(b"role", b"api")];
                let placed = match pid {
                    1001 => r.answer(&apps::AppsLookupEntry {
                        orchestrator: apps::Orchestrator::DOCKER,
                        cgroup_path: b"/cg/known",
                        cgroup_name: b"pod-a",
                        labels: &labels,
                        ..known(apps::CgroupStatus::Known, 1000, 42, b"known")
                    }),
                    1002 => r.answer(&known(apps::CgroupStatus::HostRoot, 1001, 43, b"host")),
                    1003 => r.not_known(S::Unknown),
                    1004 => r.not_known(S::OversizedItem),
                    _ => r.answer(&known(apps::CgroupStatus::UnknownRetryLater, 1002, 44, b"retry")),
                };
                if placed.is_err() {
                    return false;
                }
            }
            true
        })),
    }
}

/// Mixed cgroups server, generation 17.
pub fn cgroups_mixed_handler() -> cgroups::Handler {
    use netipc::protocol::lookup::CgroupsLookupStatus as S;
    cgroups::Handler {
        handle: Some(Box::new(|r| {
            r.set_generation(17);
            while let Some(path) = r.next_key() {
                let labels: [cgroups::LabelInput<'_>; 1] = [(b"role", b"db")];
                let placed = match path.as_bytes() {
                    b"/known" => r.known(cgroups::Orchestrator::K8S, b"pod-a", &labels),
                    b"/retry" => r.not_known(S::UnknownRetryLater),
                    b"/permanent" => r.not_known(S::UnknownPermanent),
                    b"/oversized" => r.not_known(S::OversizedItem),
                    _ => r.known(cgroups::Orchestrator::DOCKER, b"pod-b", &[]),
                };
                if placed.is_err() {
                    return false;
                }
            }
            true
        })),
    }
}

/// The PIDs of a scale apps call of `n` keys: 100000 + i.
pub fn apps_scale_keys(n: u32) -> Vec<u32> {
    (0..n).map(|i| 100_000 + i).collect()
}

/// Checks the answer of a scale apps call for `pids`.
pub fn check_apps_scale(v: &apps::AppsLookupResponseView<'_>, pids: &[u32]) -> Result<(), String> {
    use netipc::protocol::lookup::AppsLookupStatus as S;
    if v.item_count as usize != pids.len() || v.generation != 9 {
        return Err(format!("count {} generation {}", v.item_count, v.generation));
    }
    for (i, it) in v.iter().enumerate() {
        if it.status != S::Known || it.pid != pids[i] || it.comm != "ok" || it.cgroup_path != "/ok" {
            return Err(format!("item {i}: {it:?}"));
        }
    }
    Ok(())
}

/// The paths of a scale cgroups call of `n` keys: `/cg/%05u`.
pub fn cgroups_scale_keys(n: u32) -> Vec<String> {
    (0..n).map(|i| format!("/cg/{i:05}")).collect()
}

/// Checks the answer of a scale cgroups call for `paths`.
pub fn check_cgroups_scale(
    v: &cgroups::CgroupsLookupResponseView<'_>,
    paths: &[String],
) -> Result<(), String> {
    use netipc::protocol::lookup::CgroupsLookupStatus as S;
    if v.item_count as usize != paths.len() || v.generation != 7 {
        return Err(format!("count {} generation {}", v.item_count, v.generation));
    }
    for (i, it) in v.iter().enumerate() {
        if it.status != S::Known || it.path != paths[i].as_str() || it.name != "ok" {
            return Err(format!("item {i}: {it:?}"));
        }
    }
    Ok(())
}

/// The PIDs of the mixed apps call.
pub const APPS_MIXED_PIDS: [u32; 5] = [1001, 1002, 1003, 1004, 1005];

/// Checks every listed field of the answer to the mixed apps call.
pub fn check_apps_mixed(v: &apps::AppsLookupResponseView<'_>) -> Result<(), String> {
    use netipc::protocol::lookup::AppsLookupStatus as S;
    if v.item_count != 5 || v.generation != 19 {
        return Err(format!("count {} generation {}", v.item_count, v.generation));
    }
    let it: Vec<_> = v.iter().collect();
    let a = &it[0];
    let ok0 = a.pid == 1001
        && a.status == S::Known
        && a.cgroup_status == apps::CgroupStatus::Known
        && a.orchestrator == apps::Orchestrator::DOCKER
        && (a.ppid, a.uid, a.starttime) == (1, 1000, 42)
        && a.comm == "known"
        && a.cgroup_path == "/cg/known"
        && a.cgroup_name == "pod-a"
        && a.label_count == 1
        && a.label(0)
            .map(|l| l.key == "role" && l.value == "api")
            .unwrap_or(false);
    let b = &it[1];
    let ok1 = b.pid == 1002
        && b.status == S::Known
        && b.cgroup_status == apps::CgroupStatus::HostRoot
        && b.orchestrator == apps::Orchestrator::UNKNOWN
        && (b.ppid, b.uid, b.starttime) == (1, 1001, 43)
        && b.comm == "host"
        && b.cgroup_path.is_empty();
    let not_known = |x: &netipc::protocol::lookup::AppsLookupItemView<'_>, pid, status| {
        x.pid == pid
            && x.status == status
            && (x.ppid, x.uid, x.starttime) == (0, apps::UID_UNSET, 0)
            && x.comm.is_empty()
            && x.label_count == 0
    };
    let ok2 = not_known(&it[2], 1003, S::Unknown);
    let ok3 = not_known(&it[3], 1004, S::OversizedItem);
    let e = &it[4];
    let ok4 = e.pid == 1005
        && e.status == S::Known
        && e.cgroup_status == apps::CgroupStatus::UnknownRetryLater
        && (e.ppid, e.uid, e.starttime) == (1, 1002, 44)
        && e.comm == "retry";
    if !(ok0 && ok1 && ok2 && ok3 && ok4) {
        return Err(format!("bad mixed response: {:?}", [ok0, ok1, ok2, ok3, ok4]));
    }
    Ok(())
}

/// The paths of the mixed cgroups call.
pub const CGROUPS_MIXED_PATHS: [&str; 5] = ["/known", "/retry", "/permanent", "/oversized", "/known2"];

/// Checks every listed field of the answer to the mixed cgroups call.
pub fn check_cgroups_mixed(v: &cgroups::CgroupsLookupResponseView<'_>) -> Result<(), String> {
    use netipc::protocol::lookup::CgroupsLookupStatus as S;
    if v.item_count != 5 || v.generation != 17 {
        return Err(format!("count {} generation {}", v.item_count, v.generation));
    }
    let it: Vec<_> = v.iter().collect();
    let echo = it.iter().zip(CGROUPS_MIXED_PATHS).all(|(i, p)| i.path == p);
    let ok0 = it[0].status == S::Known
        && it[0].orchestrator == cgroups::Orchestrator::K8S
        && it[0].name == "pod-a"
        && it[0]
            .label(0)
            .map(|l| l.key == "role" && l.value == "db")
            .unwrap_or(false);
    let bare = |x: &cgroups::CgroupsLookupItemView<'_>, s| {
        x.status == s
            && x.orchestrator == cgroups::Orchestrator::UNKNOWN
            && x.name.is_empty()
            && x.label_count == 0
    };
    let ok1 = bare(&it[1], S::UnknownRetryLater)
        && bare(&it[2], S::UnknownPermanent)
        && bare(&it[3], S::OversizedItem);
    let ok4 = it[4].status == S::Known
        && it[4].orchestrator == cgroups::Orchestrator::DOCKER
        && it[4].name == "pod-b"
        && it[4].label_count == 0;
    if !(echo && ok0 && ok1 && ok4) {
        return Err(format!("bad mixed response: {:?}", [echo, ok0, ok1, ok4]));
    }
    Ok(())
}

/// Scale apps client: PIDs 100000+i.
pub fn apps_scale_client(run_dir: &str, service: &str) -> Result<(), String> {
    let pids = apps_scale_keys(scale_items());
    let mut c = apps::AppsLookupClient::new(run_dir, service, client_config(pids.len() as u32));
    connect(|| {
        c.refresh();
        c.ready()
    })?;
    let v = c.call(&pids).map_err(|e| format!("call failed: {e}"))?;
    check_apps_scale(&v, &pids)
}

/// Scale cgroups client: paths `/cg/%05u`.
pub fn cgroups_scale_client(run_dir: &str, service: &str) -> Result<(), String> {
    let paths = cgroups_scale_keys(scale_items());
    let mut c = cgroups::CgroupsLookupClient::new(run_dir, service, client_config(paths.len() as u32));
    connect(|| {
        c.refresh();
        c.ready()
    })?;
    let v = c.call(&paths).map_err(|e| format!("call failed: {e}"))?;
    check_cgroups_scale(&v, &paths)
}

/// Mixed apps client: checks every listed field.
pub fn apps_mixed_client(run_dir: &str, service: &str) -> Result<(), String> {
    let mut c = apps::AppsLookupClient::new(run_dir, service, client_config(5));
    connect(|| {
        c.refresh();
        c.ready()
    })?;
    let v = c
        .call(&APPS_MIXED_PIDS)
        .map_err(|e| format!("call failed: {e}"))?;
    check_apps_mixed(&v)
}

/// Mixed cgroups client: checks every listed field.
pub fn cgroups_mixed_client(run_dir: &str, service: &str) -> Result<(), String> {
    let mut c = cgroups::CgroupsLookupClient::new(run_dir, service, client_config(5));
    connect(|| {
        c.refresh();
        c.ready()
    })?;
    let v = c
        .call(&CGROUPS_MIXED_PATHS)
        .map_err(|e| format!("call failed: {e}"))?;
    check_cgroups_mixed(&v)
}
