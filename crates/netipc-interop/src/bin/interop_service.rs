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

use netipc::service::ServiceHandler;
use netipc_interop::lookup::*;
use netipc_interop::*;

fn main() {
    let usage = format!("interop_service {SERVICE_MODES} <run_dir> <service>");
    let Some((mode, run_dir, service)) = args(&usage) else {
        std::process::exit(2);
    };
    let Some((exchange, role)) = ServiceExchange::parse(&mode) else {
        eprintln!("unknown mode {mode}");
        std::process::exit(2);
    };
    let (d, s) = (run_dir.as_str(), service.as_str());
    let workers = exchange.workers();
    let code = match (exchange, role) {
        (ServiceExchange::Snapshot, Role::Server) => serve_snapshot_fixture(d, s, BATCH_ITEMS),
        (ServiceExchange::AppsScale, Role::Server) => serve(d, s, apps_scale_handler(), workers),
        (ServiceExchange::CgroupsScale, Role::Server) => serve(d, s, cgroups_scale_handler(), workers),
        (ServiceExchange::AppsMixed, Role::Server) => serve(d, s, apps_mixed_handler(), workers),
        (ServiceExchange::CgroupsMixed, Role::Server) => serve(d, s, cgroups_mixed_handler(), workers),
        (_, Role::Client) => verdict(
            &format!("interop_service {mode}"),
            match exchange {
                ServiceExchange::Snapshot => snapshot_client(d, s),
                ServiceExchange::AppsScale => apps_scale_client(d, s),
                ServiceExchange::CgroupsScale => cgroups_scale_client(d, s),
                ServiceExchange::AppsMixed => apps_mixed_client(d, s),
                ServiceExchange::CgroupsMixed => cgroups_mixed_client(d, s),
            },
        ),
    };
    std::process::exit(code);
}

/// A managed lookup server with `workers` sessions, until stopped.
fn serve<H: ServiceHandler>(run_dir: &str, service: &str, handler: H, workers: usize) -> i32 {
    let termination = Termination::arm();
    let server = netipc::service::ManagedServer::new(run_dir, service, server_config(workers), handler);
    serve_until_stopped(&termination, |bound| server.run_notify(bound), || server.stop())
}

fn snapshot_client(run_dir: &str, service: &str) -> Result<(), String> {
    use netipc::service::cgroups::CgroupsClient;
    let mut client = CgroupsClient::new(run_dir, service, snapshot_client_config(BATCH_ITEMS));
    connect(|| {
        client.refresh();
        client.ready()
    })
    .map_err(|e| format!("{e} ({:?})", client.state()))?;
    let view = client.call_snapshot().map_err(|e| format!("call failed: {e}"))?;
    check_snapshot_fixture(&view)
}
