//! What the provider answers, as functions of the request, so that a
//! consumer can tell its own answer from any other.

use netipc::service::cgroups::simple_hash;

/// The auth token of the soak.
pub const TOKEN: u64 = 0x50A6_50A6_50A6_50A6;
/// The service names.
pub const SNAPSHOT: &str = "cgroups-snapshot";
/// The cgroups lookup service.
pub const CGROUPS_LOOKUP: &str = "cgroups-lookup";
/// The apps lookup service.
pub const APPS_LOOKUP: &str = "apps-lookup";
/// The increment service.
pub const INCREMENT: &str = "increment";
/// The string-reverse service.
pub const REVERSE: &str = "reverse";
/// Every service, one socket each.
pub const SERVICES: [&str; 5] = [SNAPSHOT, CGROUPS_LOOKUP, APPS_LOOKUP, INCREMENT, REVERSE];

/// Items of the snapshot of `generation`.
pub fn snapshot_len(generation: u64) -> u32 {
    3 + (generation % 7) as u32
}

/// Name and path of item `i` of the snapshot of `generation`.
pub fn snapshot_item(generation: u64, i: u32) -> (String, String) {
    (
        format!("cg-{generation}-{i}"),
        format!("/sys/fs/cgroup/soak/{generation}/{i}"),
    )
}

/// Hash of an item name, as the agent computes it.
pub fn hash(name: &str) -> u32 {
    simple_hash(name.as_bytes())
}

/// The cgroup name a lookup answers for `path`.
pub fn lookup_name(path: &[u8]) -> Vec<u8> {
    let mut name = b"n:".to_vec();
    name.extend_from_slice(path);
    name
}

/// The uid and start time an apps lookup answers for `pid`.
pub fn app_of(pid: u32) -> (u32, u64) {
    (pid ^ 0x5A5A, u64::from(pid) * 3 + 1)
}
