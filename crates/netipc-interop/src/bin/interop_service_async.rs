//! The async twin of `interop_service` (our tokio layer), with its command
//! line and every one of its modes:
//!
//! ```text
//! interop_service_async server|client <run_dir> <service>
//! interop_service_async apps-server|apps-client|cgroups-server|cgroups-client <run_dir> <service>
//! interop_service_async apps-mixed-server|apps-mixed-client|cgroups-mixed-server|cgroups-mixed-client <run_dir> <service>
//! ```
//!
//! The servers are async managed servers on a current-thread runtime, with
//! `interop_service`'s handlers, until SIGTERM or SIGINT; the clients are
//! async clients on a current-thread runtime, with `interop_service`'s
//! checks. `NIPC_PROFILE=shm` selects SHM_HYBRID,
//! `NIPC_LOOKUP_SCALE_ITEMS` the keys of a scale call. POSIX only:
//! elsewhere it says so and exits 2.

fn main() {
    #[cfg(unix)]
    std::process::exit(app::main());
    #[cfg(not(unix))]
    {
        eprintln!("interop_service_async: the tokio layer serves POSIX sockets only");
        std::process::exit(2);
    }
}

#[cfg(unix)]
mod app {
    use netipc_interop::tokio_peer::{client_exchange, runtime, serve_exchange};
    use netipc_interop::*;

    pub fn main() -> i32 {
        let usage = format!("interop_service_async {SERVICE_MODES} <run_dir> <service>");
        let Some((mode, run_dir, service)) = args(&usage) else {
            return 2;
        };
        let Some((exchange, role)) = ServiceExchange::parse(&mode) else {
            eprintln!("unknown mode {mode}");
            return 2;
        };
        match role {
            Role::Server => serve_exchange(exchange, &run_dir, &service),
            Role::Client => verdict(
                &format!("interop_service_async {mode}"),
                runtime().and_then(|rt| rt.block_on(client_exchange(exchange, &run_dir, &service))),
            ),
        }
    }
}
