//! A Level 3 cache: refresh from a `cgroups-snapshot` server, look items
//! up by the producer's hash and name, and by name alone.
//!
//! Run a server first (`cargo run --example cgroups_server -- /tmp`), then
//! `cargo run --example cgroups_cache -- /tmp`. Exits non-zero, with the
//! reason, when the refresh fails.

use netipc::service::cgroups::{CgroupsCache, ClientConfig, simple_hash};
use std::process::ExitCode;

fn main() -> ExitCode {
    let run_dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| std::env::temp_dir().display().to_string());
    let config = ClientConfig {
        auth_token: 0xDEADBEEFCAFEBABE,
        ..ClientConfig::default()
    };
    let mut cache = CgroupsCache::new(&run_dir, "cgroups-snapshot", config);
    if !cache.refresh() {
        match (cache.last_error(), cache.last_connect_error()) {
            (Some(e), Some(why)) => eprintln!("refresh failed: {e} ({why})"),
            (Some(e), None) => eprintln!("refresh failed: {e}"),
            (None, _) => eprintln!("refresh failed"),
        }
        eprintln!("a real plugin keeps its last good cache and refreshes again later");
        return ExitCode::FAILURE;
    }
    println!("cache updated: {} items", cache.len());
    // The producer (netdata's agent, or the example server) hashes names
    // with `simple_hash`; `lookup_name` needs no hash at all.
    let name = "docker-abc123";
    match cache.lookup(simple_hash(name.as_bytes()), name) {
        Some(item) => println!("{}: {}", item.name, item.path),
        None => println!("{name} not in the cache"),
    }
    match cache.lookup_name("k8s-pod-xyz") {
        Some(item) => println!("{}: {} (by name)", item.name, item.path),
        None => println!("k8s-pod-xyz not in the cache"),
    }
    cache.close();
    ExitCode::SUCCESS
}
