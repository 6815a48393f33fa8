//! Interop peer for the typed services:
//!
//! ```text
//! interop_service server|client <run_dir> <service>
//! interop_service apps-server|apps-client|cgroups-server|cgroups-client <run_dir> <service>
//! interop_service apps-mixed-server|apps-mixed-client|cgroups-mixed-server|cgroups-mixed-client <run_dir> <service>
//! ```
//!
//! The lookup modes follow the shared matrix: scale calls of
//! `NIPC_LOOKUP_SCALE_ITEMS` keys (8192 by default) against 8192-byte
//! requests, and mixed calls covering every item outcome.
//!
//! The server publishes a 3-item cgroups snapshot (systemd_enabled 1,
//! generation 42) until SIGTERM or SIGINT (on Windows, until its standard
//! input closes). The client retries `refresh` for up to 2 s, calls once
//! and checks the snapshot. `NIPC_PROFILE=shm` selects SHM_HYBRID.

fn main() {
    use netipc::service::lookup::{apps, cgroups};
    use netipc_interop::lookup::*;
    use netipc_interop::*;
    let Some((mode, run_dir, service)) = args("interop_service <mode> <run_dir> <service>") else {
        std::process::exit(2);
    };
    let (d, s) = (run_dir.as_str(), service.as_str());
    let serve_apps = |h, workers| {
        let termination = Termination::arm();
        let server = apps::ManagedServer::new(d, s, server_config(workers), h);
        serve_until_stopped(&termination, |bound| server.run_notify(bound), || server.stop())
    };
    let serve_cgroups = |h, workers| {
        let termination = Termination::arm();
        let server = cgroups::ManagedServer::new(d, s, server_config(workers), h);
        serve_until_stopped(&termination, |bound| server.run_notify(bound), || server.stop())
    };
    let code = match mode.as_str() {
        "server" => serve_snapshot_fixture(d, s, BATCH_ITEMS),
        "client" => verdict("interop_service client", client(d, s)),
        "apps-server" => serve_apps(apps_scale_handler(), 8),
        "cgroups-server" => serve_cgroups(cgroups_scale_handler(), 8),
        "apps-mixed-server" => serve_apps(apps_mixed_handler(), 2),
        "cgroups-mixed-server" => serve_cgroups(cgroups_mixed_handler(), 2),
        "apps-client" => verdict("apps client", apps_scale_client(d, s)),
        "cgroups-client" => verdict("cgroups lookup client", cgroups_scale_client(d, s)),
        "apps-mixed-client" => verdict("apps mixed client", apps_mixed_client(d, s)),
        "cgroups-mixed-client" => verdict("cgroups mixed client", cgroups_mixed_client(d, s)),
        _ => {
            eprintln!("unknown mode {mode}");
            2
        }
    };
    std::process::exit(code);
}

fn client(run_dir: &str, service: &str) -> Result<(), String> {
    use netipc::service::cgroups::{CgroupsClient, ClientConfig};
    use netipc_interop::*;
    use std::time::{Duration, Instant};
    let profiles = profiles();
    let config = ClientConfig {
        supported_profiles: profiles,
        preferred_profiles: profiles,
        max_request_batch_items: BATCH_ITEMS,
        max_response_payload_bytes: RESPONSE_PAYLOAD,
        auth_token: AUTH_TOKEN,
        ..ClientConfig::default()
    };
    let mut client = CgroupsClient::new(run_dir, service, config);
    let deadline = Instant::now() + Duration::from_secs(2);
    while !client.ready() && Instant::now() < deadline {
        if !client.refresh() {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    if !client.ready() {
        return Err(format!("not ready ({:?})", client.state()));
    }
    let view = client.call_snapshot().map_err(|e| format!("call failed: {e}"))?;
    if view.item_count != 3
        || view.systemd_enabled != fixture::SYSTEMD_ENABLED
        || view.generation != fixture::GENERATION
    {
        return Err(format!(
            "snapshot header: {} items, systemd {}, generation {}",
            view.item_count, view.systemd_enabled, view.generation
        ));
    }
    let item = view.item(0).map_err(|e| e.to_string())?;
    let (hash, _, _, name, path) = fixture::ITEMS[0];
    if item.hash != hash || item.name != name || item.path != path {
        return Err(format!("item 0: {item:?}"));
    }
    Ok(())
}
