//! A tour of the codec: build a realistic cgroups snapshot, frame it as a
//! response message, decode it back without copying, and print a table.
//!
//! Run: `cargo run --release --example codec_tour`

use netipc::protocol::*;
use std::time::Instant;

fn corpus() -> Vec<(String, String, u32, u32)> {
    let mut v = Vec::new();
    let root = "/sys/fs/cgroup";
    v.push(("init.scope".to_string(), format!("{root}/init.scope"), 0, 1));
    for svc in [
        "systemd-journald",
        "sshd",
        "cron",
        "netdata",
        "docker",
        "containerd",
    ] {
        let name = format!("system.slice/{svc}.service");
        v.push((name.clone(), format!("{root}/{name}"), 2, 1));
    }
    for (i, app) in ["nginx-proxy", "postgres-db", "redis-cache"].iter().enumerate() {
        let id = format!("{:064x}", 0x3f4e_5a6b_7c8d_u64 * (i as u64 + 1));
        v.push((
            format!("docker/{app}"),
            format!("{root}/system.slice/docker-{id}.scope"),
            4,
            1,
        ));
    }
    for uid in [0, 1000] {
        let name = format!("user.slice/user-{uid}.slice");
        v.push((name.clone(), format!("{root}/{name}"), 0, 1));
    }
    v.push((
        "podman/café-api".to_string(),
        format!("{root}/machine.slice/libpod-5c6d7e8f.scope"),
        6,
        1,
    ));
    v.push((String::new(), String::new(), 0, 0));
    v
}

fn main() -> Result<(), CodecError> {
    let items = corpus();

    // A server fills a builder; the buffer is reused from call to call.
    let mut payload = Vec::with_capacity(64 * 1024);
    let mut b = CgroupsBuilder::new(&mut payload, SERVICE_RESPONSE_BUF_DEFAULT as usize);
    b.set_header(1, 0x1_0000_0002);
    for (name, path, options, enabled) in &items {
        b.add(
            simple_hash(name.as_bytes()),
            *options,
            *enabled,
            name.as_bytes(),
            path.as_bytes(),
        )?;
    }
    let len = b.finish();

    // Level 1 puts a 32-byte header in front of it.
    let header = Header::new(Kind::Response, METHOD_CGROUPS_SNAPSHOT, 1, len as u32);
    let mut message = header.encode().to_vec();
    message.extend_from_slice(&payload[..len]);

    // A client decodes the header, then the payload, with no copy at all.
    let started = Instant::now();
    let h = Header::decode(&message)?;
    let view = CgroupsResponseView::decode(&message[HEADER_LEN..][..h.payload_len as usize])?;
    let decode_ns = started.elapsed().as_nanos();

    println!(
        "message: {} bytes ({} header + {} payload), {} items, generation {:#x}, decoded in {} ns",
        message.len(),
        HEADER_LEN,
        h.payload_len,
        view.item_count,
        view.generation,
        decode_ns
    );
    println!("{:>10}  {:>4}  {:>3}  {:<40}  path", "hash", "opts", "on", "name");
    for item in view.iter() {
        let name = if item.name.is_empty() {
            "(empty)".into()
        } else {
            item.name.to_string()
        };
        println!(
            "{:>10}  {:>4}  {:>3}  {:<40}  {}",
            item.hash, item.options, item.enabled, name, item.path
        );
    }

    // Owned copies are explicit.
    let owned = view.to_owned();
    assert_eq!(owned.items.len(), items.len());
    Ok(())
}
