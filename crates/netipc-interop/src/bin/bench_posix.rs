//! Cross-process benchmark driver with the command line of the reference
//! drivers, so it pairs with any of them in either role.
//!
//! ```text
//! bench_posix <scenario>-server <run_dir> <service> [duration_sec]
//! bench_posix <scenario>-client <run_dir> <service> <duration_sec> <target_rps>
//! bench_posix uds-pipeline-client|uds-pipeline-batch-client <run_dir> <service> <duration_sec> <target_rps> <depth>
//! bench_posix lookup-bench <duration_sec>
//! bench_posix lookup-method-bench <duration_sec> <scenario> <target_rps>
//! ```
//!
//! Scenarios: uds-ping-pong, shm-ping-pong, snapshot, snapshot-shm,
//! uds-batch-ping-pong, shm-batch-ping-pong. Servers print `READY` once
//! bound, stop after the duration plus 3 s (or on SIGTERM/SIGINT), and print
//! `SERVER_CPU_SEC=<seconds>`. Clients print one CSV line.

#[cfg(unix)]
fn main() {
    std::process::exit(driver::main(std::env::args().skip(1).collect()));
}

#[cfg(not(unix))]
fn main() {
    eprintln!("bench_posix: POSIX only");
    std::process::exit(2);
}

#[cfg(unix)]
mod driver {
    use netipc::protocol::lookup::{
        AppsLookupRequestBuilder, AppsLookupResponseView, CgroupsLookupRequestBuilder,
        CgroupsLookupResponseView, CgroupsLookupStatus,
    };
    use netipc::protocol::{
        BatchBuilder, BatchView, CgroupsBuilder, CgroupsResponseView, FLAG_BATCH, Header, Kind,
        METHOD_INCREMENT, PROFILE_BASELINE, PROFILE_SHM_HYBRID, STATUS_OK, increment,
    };
    use netipc::service::cgroups::{CacheSnapshot, CgroupsClient};
    use netipc::service::lookup::{apps, cgroups};
    use netipc::service::{ClientConfig, ServerConfig, ServiceHandler};
    use netipc::transport::posix::UdsSession;
    use netipc_interop::bench::*;
    use netipc_interop::{block_termination_signals, serve_until_signal};
    use std::hint::black_box;
    use std::time::{Duration, Instant};

    const AUTH_TOKEN: u64 = 0xBE4C_4000_00C0_FFEE;
    const RESPONSE_BUF: u32 = 65536;
    const REQUEST_BUF: u32 = 4096;
    const BATCH_MAX_ITEMS: u32 = 1000;
    const BATCH_BUF: u32 = BATCH_MAX_ITEMS * 48 + 4096;
    const DEFAULT_DURATION: u64 = 30;
    const SERVER_GRACE: Duration = Duration::from_secs(3);
    const SNAPSHOT_ITEMS: u32 = 16;
    const BATCH_WORKERS: usize = 4;
    const CALL_TIMEOUT: Duration = Duration::from_secs(30);

    const USAGE: &str = "usage: bench_posix <scenario>-server <run_dir> <service> [duration_sec]\n\
        \x20      bench_posix <scenario>-client <run_dir> <service> <duration_sec> <target_rps>\n\
        \x20      bench_posix uds-pipeline-client|uds-pipeline-batch-client <run_dir> <service> <duration_sec> <target_rps> <depth>\n\
        \x20      bench_posix lookup-bench <duration_sec>\n\
        \x20      bench_posix lookup-method-bench <duration_sec> <scenario> <target_rps>";

    fn profiles(shm: bool) -> u32 {
        if shm {
            PROFILE_BASELINE | PROFILE_SHM_HYBRID
        } else {
            PROFILE_BASELINE
        }
    }

    pub fn main(args: Vec<String>) -> i32 {
        let arg = |i: usize| args.get(i).map(String::as_str);
        let num = |i: usize| arg(i).and_then(|s| s.parse::<u64>().ok());
        let Some(cmd) = arg(0) else {
            eprintln!("{USAGE}");
            return 2;
        };
        let result = match cmd {
            "lookup-bench" => num(1).map(lookup_bench),
            "lookup-method-bench" => match (num(1), arg(2), num(3)) {
                (Some(d), Some(s), Some(r)) => Some(lookup_method_bench(d, s, r)),
                _ => None,
            },
            _ if cmd.ends_with("-server") => match (arg(1), arg(2)) {
                (Some(dir), Some(svc)) => Some(server(cmd, dir, svc, num(3).unwrap_or(DEFAULT_DURATION))),
                _ => None,
            },
            _ if cmd.ends_with("-client") => match (arg(1), arg(2), num(3), num(4)) {
                (Some(dir), Some(svc), Some(d), Some(rps)) => {
                    let depth = num(5).unwrap_or(1).clamp(1, 128) as usize;
                    Some(client(cmd, dir, svc, Duration::from_secs(d), rps, depth))
                }
                _ => None,
            },
            _ => None,
        };
        match result {
            Some(Ok(())) => 0,
            Some(Err(e)) => {
                eprintln!("bench_posix {cmd}: {e}");
                1
            }
            None => {
                eprintln!("{USAGE}");
                2
            }
        }
    }

    // ------------------------------------------------------------ servers

    fn server_config(shm: bool, batch: bool) -> ServerConfig {
        let (req, resp, items) = if batch {
            (BATCH_BUF, BATCH_BUF, BATCH_MAX_ITEMS)
        } else {
            (REQUEST_BUF, RESPONSE_BUF, 1)
        };
        ServerConfig {
            supported_profiles: profiles(shm),
            preferred_profiles: profiles(shm),
            max_request_payload_bytes: req,
            max_request_batch_items: items,
            max_response_payload_bytes: resp,
            max_response_batch_items: items,
            auth_token: AUTH_TOKEN,
            backlog: 4,
            max_sessions: if batch { BATCH_WORKERS } else { 0 },
            ..ServerConfig::default()
        }
    }

    fn increment_handler() -> netipc::service::increment::Handler {
        netipc::service::increment::Handler {
            handle: Some(Box::new(|v| Some(v.wrapping_add(1)))),
        }
    }

    /// The reference's 16-item snapshot, generation counting per call.
    fn snapshot_handler() -> netipc::service::cgroups::Handler {
        let items: Vec<(u32, u32, String, String)> = (0..SNAPSHOT_ITEMS)
            .map(|i| {
                (
                    1000 + i,
                    i % 2,
                    format!("cgroup-{i}"),
                    format!("/sys/fs/cgroup/bench/cg-{i}"),
                )
            })
            .collect();
        let generation = std::sync::atomic::AtomicU64::new(0);
        netipc::service::cgroups::Handler {
            handle: Some(Box::new(move |_, b| {
                let g = generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                b.set_header(1, g);
                items
                    .iter()
                    .all(|(h, e, n, p)| b.add(*h, 0, *e, n.as_bytes(), p.as_bytes()).is_ok())
            })),
        }
    }

    fn server(cmd: &str, dir: &str, svc: &str, duration: u64) -> Result<(), String> {
        let scenario = cmd.trim_end_matches("-server");
        let shm = scenario.starts_with("shm") || scenario.ends_with("-shm");
        let signals = block_termination_signals();
        let code = match scenario {
            "uds-ping-pong" | "shm-ping-pong" | "uds-batch-ping-pong" | "shm-batch-ping-pong" => {
                let batch = scenario.contains("batch");
                let s = netipc::service::increment::ManagedServer::new(
                    dir,
                    svc,
                    server_config(shm, batch),
                    increment_handler(),
                );
                run_for(&signals, duration, &s)
            }
            "snapshot" | "snapshot-shm" => {
                let s = netipc::service::cgroups::ManagedServer::new(
                    dir,
                    svc,
                    server_config(shm, false),
                    snapshot_handler(),
                );
                run_for(&signals, duration, &s)
            }
            other => return Err(format!("unknown server scenario {other}")),
        };
        println!("SERVER_CPU_SEC={:.6}", process_cpu().as_secs_f64());
        if code == 0 {
            Ok(())
        } else {
            Err("server failed".into())
        }
    }

    /// Serves until SIGTERM/SIGINT or `duration` + grace.
    fn run_for<H: ServiceHandler>(
        signals: &nix::sys::signal::SigSet,
        duration: u64,
        s: &netipc::service::ManagedServer<H>,
    ) -> i32 {
        std::thread::scope(|scope| {
            if duration > 0 {
                scope.spawn(|| {
                    let deadline = Instant::now() + Duration::from_secs(duration) + SERVER_GRACE;
                    while Instant::now() < deadline && !s.is_running() {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    while Instant::now() < deadline && s.is_running() {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    // Wake the signal wait in the main thread.
                    let _ = nix::sys::signal::kill(nix::unistd::getpid(), nix::sys::signal::Signal::SIGTERM);
                });
            }
            serve_until_signal(signals, |bound| s.run_notify(bound), || s.stop())
        })
    }

    // ------------------------------------------------------------ clients

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

    fn client(
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
            other => Err(format!("unknown client scenario {other}")),
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
        let mut limiter = RateLimiter::new(rps);
        let mut counter = 0u64;
        let meter = Meter::start();
        let end = Instant::now() + duration;
        while Instant::now() < end {
            limiter.wait();
            let t0 = Instant::now();
            let id = counter + 1;
            s.send(
                &Header::new(Kind::Request, METHOD_INCREMENT, id, 8),
                &increment::encode(counter),
            )
            .map_err(|e| e.to_string())?;
            let (h, p) = s.receive_until(t0 + CALL_TIMEOUT).map_err(|e| e.to_string())?;
            check_response(&h, id, 1)?;
            let v = increment::decode(p).map_err(|e| e.to_string())?;
            if v != counter + 1 {
                return Err(format!("counter chain broken: expected {}, got {v}", counter + 1));
            }
            lat.record(t0.elapsed());
            counter += 1;
        }
        let (wall, cpu) = meter.read();
        print_csv(scenario, counter as f64 / wall, &mut lat, cpu);
        Ok(())
    }

    /// Builds a random batch of 2..=1000 INCREMENT items from `counter`.
    fn build_batch(rng: &mut XorShift, counter: u64, buf: &mut Vec<u8>) -> u32 {
        let n = rng.next_u32() % (BATCH_MAX_ITEMS - 1) + 2;
        let mut b = BatchBuilder::new(buf, n, BATCH_BUF as usize);
        for i in 0..n as u64 {
            let _ = b.add(&increment::encode(counter + i));
        }
        b.finish().1
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
        let mut limiter = RateLimiter::new(rps);
        let mut rng = XorShift::default();
        let mut bufs: Vec<Vec<u8>> = (0..depth)
            .map(|_| Vec::with_capacity(BATCH_BUF as usize))
            .collect();
        let mut sent: Vec<(u64, u32, u64)> = Vec::with_capacity(depth);
        let (mut counter, mut items, mut next_id) = (0u64, 0u64, 0u64);
        let meter = Meter::start();
        let end = Instant::now() + duration;
        while Instant::now() < end {
            limiter.wait();
            let t0 = Instant::now();
            sent.clear();
            for buf in bufs.iter_mut() {
                let n = build_batch(&mut rng, counter, buf);
                next_id += 1;
                let h = Header {
                    flags: FLAG_BATCH,
                    item_count: n,
                    ..Header::new(Kind::Request, METHOD_INCREMENT, next_id, 0)
                };
                s.send(&h, buf).map_err(|e| e.to_string())?;
                sent.push((next_id, n, counter));
                counter += n as u64;
            }
            for &(id, n, first) in &sent {
                let (h, p) = s.receive_until(t0 + CALL_TIMEOUT).map_err(|e| e.to_string())?;
                check_response(&h, id, n)?;
                check_batch(p, n, first)?;
                items += n as u64;
            }
            lat.record(t0.elapsed());
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
        let mut limiter = RateLimiter::new(rps);
        let (mut counter, mut requests) = (0u64, 0u64);
        let meter = Meter::start();
        let end = Instant::now() + duration;
        while Instant::now() < end {
            limiter.wait();
            let t0 = Instant::now();
            for d in 0..depth as u64 {
                let v = counter + d;
                s.send(
                    &Header::new(Kind::Request, METHOD_INCREMENT, v + 1, 8),
                    &increment::encode(v),
                )
                .map_err(|e| e.to_string())?;
            }
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
            lat.record(t0.elapsed());
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
        let mut limiter = RateLimiter::new(rps);
        let mut requests = 0u64;
        let meter = Meter::start();
        let end = Instant::now() + duration;
        while Instant::now() < end {
            limiter.wait();
            let t0 = Instant::now();
            let v = c.call_snapshot().map_err(|e| e.to_string())?;
            if v.item_count != SNAPSHOT_ITEMS {
                return Err(format!("expected {SNAPSHOT_ITEMS} items, got {}", v.item_count));
            }
            lat.record(t0.elapsed());
            requests += 1;
        }
        let (wall, cpu) = meter.read();
        let name = if shm { "snapshot-shm" } else { "snapshot-baseline" };
        print_csv(name, requests as f64 / wall, &mut lat, cpu);
        Ok(())
    }

    // ------------------------------------------------------------ in-process

    fn lookup_bench(duration: u64) -> Result<(), String> {
        let mut payload = Vec::new();
        let mut b = CgroupsBuilder::new(&mut payload, usize::MAX);
        b.set_header(1, 1);
        let names: Vec<String> = (0..16).map(|i| format!("cgroup-{i}")).collect();
        for (i, n) in names.iter().enumerate() {
            let path = format!("/sys/fs/cgroup/bench/cg-{i}");
            b.add(1000 + i as u32, 0, (i % 2) as u32, n.as_bytes(), path.as_bytes())
                .map_err(|e| e.to_string())?;
        }
        let len = b.finish();
        let view = CgroupsResponseView::decode(&payload[..len]).map_err(|e| e.to_string())?;
        let cache = std::sync::Arc::new(CacheSnapshot::build(&view));
        let keys: Vec<(u32, &[u8])> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (1000 + i as u32, n.as_bytes()))
            .collect();
        let (mut lookups, mut hits) = (0u64, 0u64);
        let meter = Meter::start();
        let end = Instant::now() + Duration::from_secs(duration);
        while Instant::now() < end {
            // One guard per pass over the 16 items, as the reference does.
            let guard = std::sync::Arc::clone(&cache);
            for &(h, n) in &keys {
                hits += black_box(guard.lookup(h, n)).is_some() as u64;
            }
            lookups += keys.len() as u64;
        }
        let (wall, cpu) = meter.read();
        if hits != lookups {
            return Err(format!("missed {} of {lookups}", lookups - hits));
        }
        println!(
            "lookup,{DRIVER},{DRIVER},{:.0},0,0,0,{cpu:.1},0.0,{cpu:.1}",
            lookups as f64 / wall
        );
        Ok(())
    }

    fn lookup_method_bench(duration: u64, scenario: &str, rps: u64) -> Result<(), String> {
        let apps_kind = scenario.starts_with("apps-lookup-");
        if !apps_kind && !scenario.starts_with("cgroups-lookup-") {
            return Err(format!("invalid scenario {scenario}"));
        }
        let variant = ["-known-", "-unknown-", "-mixed-"]
            .iter()
            .position(|v| scenario.contains(v))
            .ok_or_else(|| format!("invalid scenario {scenario}"))?;
        let n: u32 = scenario
            .rsplit('-')
            .next()
            .and_then(|s| s.parse().ok())
            .filter(|&n| n > 0)
            .ok_or("bad item count")?;
        let known = move |i: u32| match variant {
            0 => true,
            1 => false,
            _ => i % 2 == 0,
        };
        let paths: Vec<String> = (0..n)
            .map(|i| format!("/sys/fs/cgroup/bench/cg-{i:03}"))
            .collect();
        let pids: Vec<u32> = (0..n).map(|i| 1000 + i).collect();
        let cg_handler = cgroups::Handler {
            handle: Some(Box::new(move |r| {
                let labels: [(&[u8], &[u8]); 2] = [(b"namespace", b"bench"), (b"image", b"bench:latest")];
                let mut i = 0;
                while r.next_key().is_some() {
                    let placed = if known(i) {
                        r.known(cgroups::Orchestrator::K8S, b"bench-pod", &labels)
                    } else {
                        r.not_known(CgroupsLookupStatus::UnknownRetryLater)
                    };
                    if placed.is_err() {
                        return false;
                    }
                    i += 1;
                }
                true
            })),
        };
        let apps_handler = apps::Handler {
            handle: Some(Box::new(move |r| {
                let labels: [(&[u8], &[u8]); 1] = [(b"image", b"bench:latest")];
                let mut i = 0;
                while let Some(pid) = r.next_key() {
                    let placed = if known(i) {
                        r.answer(&apps::AppsLookupEntry {
                            pid,
                            status: netipc::protocol::lookup::AppsLookupStatus::Known,
                            cgroup_status: apps::CgroupStatus::Known,
                            orchestrator: apps::Orchestrator::DOCKER,
                            ppid: 1,
                            uid: 1000,
                            starttime: 42,
                            comm: b"bench",
                            cgroup_path: b"/sys/fs/cgroup/bench",
                            cgroup_name: b"bench-container",
                            labels: &labels,
                        })
                    } else {
                        r.not_known(netipc::protocol::lookup::AppsLookupStatus::Unknown)
                    };
                    if placed.is_err() {
                        return false;
                    }
                    i += 1;
                }
                true
            })),
        };
        let buf = n as usize * 256 + 4096;
        let (mut req, mut resp) = (Vec::with_capacity(buf), Vec::with_capacity(buf));
        let mut lat = Latencies::new(if rps == 0 {
            2_000_000
        } else {
            (rps * duration) as usize
        });
        let mut limiter = RateLimiter::new(rps);
        let mut requests = 0u64;
        let meter = Meter::start();
        let end = Instant::now() + Duration::from_secs(duration);
        while Instant::now() < end {
            limiter.wait();
            let t0 = Instant::now();
            let count = if apps_kind {
                let mut b = AppsLookupRequestBuilder::new(&mut req, buf);
                for &p in &pids {
                    b.add(p).map_err(|e| e.to_string())?;
                }
                let l = b.finish();
                if apps_handler.dispatch(&req[..l], &mut resp, buf) != netipc::service::Dispatch::Done {
                    return Err("dispatch failed".into());
                }
                AppsLookupResponseView::decode(&resp)
                    .map_err(|e| e.to_string())?
                    .item_count
            } else {
                let mut b = CgroupsLookupRequestBuilder::new(&mut req, buf);
                for p in &paths {
                    b.add(p.as_bytes()).map_err(|e| e.to_string())?;
                }
                let l = b.finish();
                if cg_handler.dispatch(&req[..l], &mut resp, buf) != netipc::service::Dispatch::Done {
                    return Err("dispatch failed".into());
                }
                CgroupsLookupResponseView::decode(&resp)
                    .map_err(|e| e.to_string())?
                    .item_count
            };
            if count != n {
                return Err(format!("expected {n} items, got {count}"));
            }
            lat.record(t0.elapsed());
            requests += 1;
        }
        let (wall, cpu) = meter.read();
        let (p50, p95, p99) = lat.percentiles_us();
        println!(
            "{scenario},{DRIVER},{DRIVER},{:.0},{p50},{p95},{p99},{cpu:.1},0.0,{cpu:.1}",
            requests as f64 / wall
        );
        Ok(())
    }
}
