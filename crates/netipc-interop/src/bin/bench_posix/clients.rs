//! The client scenarios.

use crate::driver::*;
use netipc::protocol::increment::INCREMENT_LEN;
use netipc::protocol::{
    BatchBuilder, BatchView, FLAG_BATCH, Header, Kind, METHOD_INCREMENT, STATUS_OK, increment,
};
use netipc::service::ClientConfig;
use netipc::service::cgroups::CgroupsClient;
use netipc::transport::posix::UdsSession;
use netipc_interop::bench::*;
use std::time::{Duration, Instant};

fn transport_config(shm: bool, batch: bool) -> netipc::transport::ClientConfig {
    let (req, resp, items) = if batch {
        (BATCH_BUF, BATCH_BUF, BATCH_MAX_ITEMS)
    } else {
        (REQUEST_BUF, RESPONSE_BUF, 1)
    };
    netipc::transport::ClientConfig {
        supported_profiles: profiles(shm),
        preferred_profiles: profiles(shm),
        max_request_payload_bytes: req,
        max_request_batch_items: items,
        max_response_payload_bytes: resp,
        max_response_batch_items: items,
        auth_token: AUTH_TOKEN,
        ..netipc::transport::ClientConfig::default()
    }
}

/// Connects with retries for up to 2 s (the server may still be starting).
fn connect(dir: &str, svc: &str, cfg: &netipc::transport::ClientConfig) -> Result<UdsSession, String> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match UdsSession::connect(dir, svc, cfg) {
            Ok(s) => return Ok(s),
            Err(e) if Instant::now() >= deadline => return Err(format!("connect: {e}")),
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

pub(crate) fn client(
    cmd: &str,
    dir: &str,
    svc: &str,
    duration: Duration,
    rps: u64,
    depth: usize,
) -> Result<(), String> {
    let scenario = cmd.trim_end_matches("-client");
    match scenario {
        "uds-ping-pong" | "shm-ping-pong" => ping_pong(scenario, dir, svc, duration, rps),
        "uds-batch-ping-pong" | "shm-batch-ping-pong" => {
            batch_ping_pong(scenario, dir, svc, duration, rps, 1, false)
        }
        "uds-pipeline" => pipeline(dir, svc, duration, rps, depth),
        "uds-pipeline-batch" => batch_ping_pong(scenario, dir, svc, duration, rps, depth, true),
        "snapshot" | "snapshot-shm" => snapshot(scenario, dir, svc, duration, rps),
        other => {
            if let Some(big) = crate::bigsnap::Big::parse(other) {
                crate::bigsnap::client(&big, dir, svc, duration, rps)
            } else if let Some(many) = crate::sessions::Many::parse(other) {
                let server = std::env::var("BENCH_SERVER_PID")
                    .ok()
                    .and_then(|p| p.parse().ok());
                crate::sessions::client(&many, dir, svc, duration, rps, server, false)
            } else {
                Err(format!("unknown client scenario {other}"))
            }
        }
    }
}

fn check_response(h: &Header, id: u64, items: u32) -> Result<(), String> {
    if h.kind != Kind::Response
        || h.code != METHOD_INCREMENT
        || h.transport_status != STATUS_OK
        || h.message_id != id
        || h.item_count != items
    {
        return Err(format!("unexpected response {h:?}"));
    }
    Ok(())
}

fn ping_pong(scenario: &str, dir: &str, svc: &str, duration: Duration, rps: u64) -> Result<(), String> {
    let shm = scenario.starts_with("shm");
    let mut s = connect(dir, svc, &transport_config(shm, false))?;
    if shm && !s.is_shm() {
        return Err("the server did not select SHM".into());
    }
    let mut lat = Latencies::new(if rps == 0 {
        5_000_000
    } else {
        (rps * duration.as_secs()) as usize
    });
    let mut counter = 0u64;
    let meter = Meter::start();
    let mut clock = CallClock::new(duration, rps);
    while let Some(t0) = clock.next_call() {
        let id = counter + 1;
        let (h, p) = s
            .exchange(
                &Header::new(Kind::Request, METHOD_INCREMENT, id, 8),
                &increment::encode(counter),
                Some(t0 + CALL_TIMEOUT),
            )
            .map_err(|e| e.to_string())?;
        check_response(&h, id, 1)?;
        let v = increment::decode(p).map_err(|e| e.to_string())?;
        if v != counter + 1 {
            return Err(format!("counter chain broken: expected {}, got {v}", counter + 1));
        }
        lat.record(clock.call_done(t0));
        counter += 1;
    }
    let (wall, cpu) = meter.read();
    print_csv(scenario, counter as f64 / wall, &mut lat, cpu);
    Ok(())
}

/// Builds a random batch of 2..=1000 INCREMENT items from `counter`.
fn build_batch(rng: &mut XorShift, counter: u64, buf: &mut Vec<u8>) -> Result<u32, String> {
    let n = rng.next_u32() % (BATCH_MAX_ITEMS - 1) + 2;
    let mut b = BatchBuilder::new(buf, n, BATCH_BUF as usize);
    let run = b.add_run(n, INCREMENT_LEN).map_err(|e| e.to_string())?;
    for (item, v) in run.chunks_exact_mut(INCREMENT_LEN).zip(counter..) {
        item.copy_from_slice(&increment::encode(v));
    }
    Ok(b.finish().1)
}

fn check_batch(p: &[u8], n: u32, first: u64) -> Result<(), String> {
    let v = BatchView::decode(p, n).map_err(|e| e.to_string())?;
    for (i, item) in v.iter().enumerate() {
        let got = increment::decode(item).map_err(|e| e.to_string())?;
        if got != first + i as u64 + 1 {
            return Err(format!(
                "batch item {i}: expected {}, got {got}",
                first + i as u64 + 1
            ));
        }
    }
    Ok(())
}

fn batch_ping_pong(
    scenario: &str,
    dir: &str,
    svc: &str,
    duration: Duration,
    rps: u64,
    depth: usize,
    label_depth: bool,
) -> Result<(), String> {
    let shm = scenario.starts_with("shm");
    let mut s = connect(dir, svc, &transport_config(shm, true))?;
    let mut lat = Latencies::new(2_000_000);
    let mut rng = XorShift::default();
    let mut bufs: Vec<Vec<u8>> = (0..depth)
        .map(|_| Vec::with_capacity(BATCH_BUF as usize))
        .collect();
    let mut sent: Vec<(u64, u32, u64)> = Vec::with_capacity(depth);
    let (mut counter, mut items, mut next_id) = (0u64, 0u64, 0u64);
    let meter = Meter::start();
    let mut clock = CallClock::new(duration, rps);
    while let Some(t0) = clock.next_call() {
        // Each batch but the last is sent as soon as it is built (the server
        // starts on it meanwhile); the last goes with the wait for the first
        // answer, and the others are received after it.
        let header = |&(id, n, _): &(u64, u32, u64)| Header {
            flags: FLAG_BATCH,
            item_count: n,
            ..Header::new(Kind::Request, METHOD_INCREMENT, id, 0)
        };
        sent.clear();
        for (i, buf) in bufs.iter_mut().enumerate() {
            let n = build_batch(&mut rng, counter, buf)?;
            next_id += 1;
            sent.push((next_id, n, counter));
            counter += n as u64;
            if i + 1 < depth {
                s.send(&header(&sent[i]), buf).map_err(|e| e.to_string())?;
            }
        }
        let deadline = t0 + CALL_TIMEOUT;
        for (i, &(id, n, first)) in sent.iter().enumerate() {
            let (h, p) = if i == 0 {
                s.exchange(&header(&sent[depth - 1]), &bufs[depth - 1], Some(deadline))
            } else {
                s.receive_until(deadline)
            }
            .map_err(|e| e.to_string())?;
            check_response(&h, id, n)?;
            check_batch(p, n, first)?;
            items += n as u64;
        }
        lat.record(clock.call_done(t0));
    }
    let (wall, cpu) = meter.read();
    let name = if label_depth {
        format!("{scenario}-d{depth}")
    } else {
        scenario.to_string()
    };
    print_csv(&name, items as f64 / wall, &mut lat, cpu);
    Ok(())
}

fn pipeline(dir: &str, svc: &str, duration: Duration, rps: u64, depth: usize) -> Result<(), String> {
    let mut s = connect(dir, svc, &transport_config(false, false))?;
    let mut lat = Latencies::new(2_000_000);
    let (mut counter, mut requests) = (0u64, 0u64);
    let meter = Meter::start();
    let mut clock = CallClock::new(duration, rps);
    let mut payloads = vec![[0u8; INCREMENT_LEN]; depth];
    while let Some(t0) = clock.next_call() {
        // The requests go out together, in one system call.
        for (p, v) in payloads.iter_mut().zip(counter..) {
            *p = increment::encode(v);
        }
        let batch = payloads
            .iter()
            .zip(counter + 1..)
            .map(|(p, id)| (Header::new(Kind::Request, METHOD_INCREMENT, id, 8), &p[..]));
        s.send_many(batch).map_err(|e| e.to_string())?;
        for _ in 0..depth {
            let (h, p) = s.receive_until(t0 + CALL_TIMEOUT).map_err(|e| e.to_string())?;
            let got = increment::decode(p).map_err(|e| e.to_string())?;
            if h.transport_status != STATUS_OK || got != h.message_id {
                return Err(format!(
                    "pipeline chain broken: id {} answered {got}",
                    h.message_id
                ));
            }
        }
        counter += depth as u64;
        requests += depth as u64;
        lat.record(clock.call_done(t0));
    }
    let (wall, cpu) = meter.read();
    print_csv(
        &format!("uds-pipeline-d{depth}"),
        requests as f64 / wall,
        &mut lat,
        cpu,
    );
    Ok(())
}

fn snapshot(scenario: &str, dir: &str, svc: &str, duration: Duration, rps: u64) -> Result<(), String> {
    let shm = scenario.ends_with("-shm");
    let cfg = ClientConfig {
        supported_profiles: profiles(shm),
        preferred_profiles: profiles(shm),
        max_request_payload_bytes: REQUEST_BUF,
        max_response_payload_bytes: RESPONSE_BUF,
        auth_token: AUTH_TOKEN,
        ..ClientConfig::default()
    };
    let mut c = CgroupsClient::new(dir, svc, cfg);
    let deadline = Instant::now() + Duration::from_secs(2);
    while !c.ready() && Instant::now() < deadline {
        if !c.refresh() {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    if !c.ready() {
        return Err(format!("not ready: {:?}", c.state()));
    }
    let mut lat = Latencies::new(if rps == 0 {
        5_000_000
    } else {
        (rps * duration.as_secs()) as usize
    });
    let mut requests = 0u64;
    let meter = Meter::start();
    let mut clock = CallClock::new(duration, rps);
    while let Some(t0) = clock.next_call() {
        let v = c.call_snapshot().map_err(|e| e.to_string())?;
        if v.item_count != SNAPSHOT_ITEMS {
            return Err(format!("expected {SNAPSHOT_ITEMS} items, got {}", v.item_count));
        }
        lat.record(clock.call_done(t0));
        requests += 1;
    }
    let (wall, cpu) = meter.read();
    let name = if shm { "snapshot-shm" } else { "snapshot-baseline" };
    print_csv(name, requests as f64 / wall, &mut lat, cpu);
    Ok(())
}
