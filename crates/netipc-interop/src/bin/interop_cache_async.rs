//! The async twin of `interop_cache`, with its command line:
//!
//! ```text
//! interop_cache_async server|client <run_dir> <service>
//! ```
//!
//! The server is `interop_cache`'s snapshot server as an async managed
//! server on a current-thread runtime, until SIGTERM or SIGINT. The client
//! is an async cache (`netipc::tokio::cgroups::CgroupsCache`): it refreshes
//! until loaded (up to 2 s) and checks what `interop_cache`'s client
//! checks. `NIPC_PROFILE=shm` selects SHM_HYBRID. POSIX only: elsewhere it
//! says so and exits 2.

fn main() {
    #[cfg(unix)]
    std::process::exit(app::main());
    #[cfg(not(unix))]
    {
        eprintln!("interop_cache_async: the tokio layer serves POSIX sockets only");
        std::process::exit(2);
    }
}

#[cfg(unix)]
mod app {
    use netipc_interop::tokio_peer::{cache_client, runtime, serve_snapshot_fixture};
    use netipc_interop::*;

    pub fn main() -> i32 {
        let Some((mode, run_dir, service)) = args("interop_cache_async server|client <run_dir> <service>")
        else {
            return 2;
        };
        match mode.as_str() {
            "server" => serve_snapshot_fixture(&Termination::arm(), &run_dir, &service, 1),
            "client" => verdict(
                "interop_cache_async client",
                runtime().and_then(|rt| rt.block_on(cache_client(&run_dir, &service))),
            ),
            _ => {
                eprintln!("unknown mode {mode}");
                2
            }
        }
    }
}
