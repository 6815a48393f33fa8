//! The hash a netdata producer puts in each cgroups item.

/// The agent's `simple_hash`: 32-bit FNV-1a over the name's bytes (offset
/// basis `0x811c9dc5`, prime `0x01000193`), as netdata's C code computes
/// it for the names it publishes (the cgroups plugin hashes each item's
/// chart name with it). The C function stops at the first NUL; names on
/// the wire never hold one.
///
/// A consumer of a netdata provider looks items up with it:
///
/// ```
/// use netipc::protocol::simple_hash;
/// assert_eq!(simple_hash(b"foobar"), 0xbf9c_f968);
/// // cache.lookup(simple_hash(name.as_bytes()), name)
/// ```
///
/// Where a provider hashes otherwise, its own function is needed, or a
/// lookup by name alone, which `CgroupsCache::lookup_name` offers
/// whatever the hash.
#[inline]
pub fn simple_hash(name: &[u8]) -> u32 {
    name.iter().fold(0x811c_9dc5_u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::simple_hash;

    /// Values computed by the agent's own C function (netdata's
    /// `src/libnetdata/inlined.h`, `simple_hash` = `fnv1a_hash32`), compiled
    /// and run on these inputs; the first three are FNV-1a's published
    /// test values.
    #[test]
    fn the_agents_values() {
        let cases: [(&str, u32); 7] = [
            ("", 0x811c_9dc5),
            ("a", 0xe40c_292c),
            ("foobar", 0xbf9c_f968),
            ("cgroup_docker-abc123", 0x2d75_52a5),
            ("systemd_init.scope", 0xf31f_ec15),
            ("cgroup_kubepods_pod1234", 0x6d0a_bef7),
            ("cgroup_été", 0xcf0b_68e6),
        ];
        for (name, want) in cases {
            assert_eq!(simple_hash(name.as_bytes()), want, "{name:?}");
        }
    }

    /// Not djb2, a common guess for the hash of C code: a consumer that
    /// guessed it would miss every item.
    #[test]
    fn differs_from_djb2() {
        let djb2 = |s: &[u8]| {
            s.iter()
                .fold(5381u32, |h, &b| h.wrapping_mul(33).wrapping_add(u32::from(b)))
        };
        assert_ne!(simple_hash(b"docker-abc123"), djb2(b"docker-abc123"));
    }
}
