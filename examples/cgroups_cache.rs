//! A Level 3 cache: refresh from a `cgroups-snapshot` server, look items up.
//!
//! Run a server first (`cargo run --example cgroups_server -- /tmp`), then
//! `cargo run --example cgroups_cache -- /tmp`.

use netipc::service::cgroups::{CgroupsCache, ClientConfig};

fn main() {
    let run_dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| std::env::temp_dir().display().to_string());
    let config = ClientConfig {
        max_response_payload_bytes: 65536,
        auth_token: 0xDEADBEEFCAFEBABE,
        ..ClientConfig::default()
    };
    let mut cache = CgroupsCache::new(&run_dir, "cgroups-snapshot", config);
    if cache.refresh() {
        println!("cache updated: {} items", cache.len());
    } else {
        println!(
            "refresh failed ({:?}); the cache keeps what it had",
            cache.last_error()
        );
    }
    match cache.lookup(1001, "docker-abc123") {
        Some(item) => println!("{}: {}", item.name, item.path),
        None => println!("(1001, docker-abc123) not in the cache"),
    }
    cache.close();
}
