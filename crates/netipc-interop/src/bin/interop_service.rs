//! Interop peer for the typed services:
//!
//! ```text
//! interop_service server|client <run_dir> <service>
//! ```
//!
//! The server publishes a 3-item cgroups snapshot (systemd_enabled 1,
//! generation 42) until SIGTERM or SIGINT. The client retries `refresh` for
//! up to 2 s, calls once and checks the snapshot. `NIPC_PROFILE=shm` selects
//! SHM_HYBRID.

#[cfg(unix)]
fn main() {
    use netipc_interop::*;
    let Some((mode, run_dir, service)) = args("interop_service server|client <run_dir> <service>") else {
        std::process::exit(2);
    };
    let code = match mode.as_str() {
        "server" => serve_snapshot_fixture(&run_dir, &service, BATCH_ITEMS),
        "client" => verdict("interop_service client", client(&run_dir, &service)),
        _ => {
            eprintln!("unknown mode {mode}");
            2
        }
    };
    std::process::exit(code);
}

#[cfg(unix)]
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

#[cfg(not(unix))]
fn main() {
    eprintln!("interop_service: this build has no POSIX transport");
    std::process::exit(2);
}
