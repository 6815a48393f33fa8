//! Interop peer for the Level 3 cache:
//!
//! ```text
//! interop_cache server|client <run_dir> <service>
//! ```
//!
//! The server is the snapshot server of `interop_service`. The client
//! refreshes its cache until ready (up to 2 s) and checks two lookups.

fn main() {
    use netipc_interop::*;
    let Some((mode, run_dir, service)) = args("interop_cache server|client <run_dir> <service>") else {
        std::process::exit(2);
    };
    let code = match mode.as_str() {
        "server" => serve_snapshot_fixture(&run_dir, &service, 1),
        "client" => verdict("interop_cache client", client(&run_dir, &service)),
        _ => {
            eprintln!("unknown mode {mode}");
            2
        }
    };
    std::process::exit(code);
}

fn client(run_dir: &str, service: &str) -> Result<(), String> {
    use netipc::service::cgroups::CgroupsCache;
    use netipc_interop::*;
    let mut cache = CgroupsCache::new(run_dir, service, snapshot_client_config(1));
    connect(|| cache.refresh()).map_err(|e| format!("cache {e}: {:?}", cache.last_error()))?;
    check_cache_fixture(&cache.status(), &cache.snapshot())?;
    cache.close();
    Ok(())
}
