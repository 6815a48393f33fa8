//! Command-line dispatch and the parameters every scenario shares.

use crate::clients::client;
use crate::inproc::{lookup_bench, lookup_method_bench};
use crate::servers::server;
use netipc::protocol::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
use std::time::Duration;

pub(crate) const AUTH_TOKEN: u64 = 0xBE4C_4000_00C0_FFEE;
pub(crate) const RESPONSE_BUF: u32 = 65536;
pub(crate) const REQUEST_BUF: u32 = 4096;
pub(crate) const BATCH_MAX_ITEMS: u32 = 1000;
pub(crate) const BATCH_BUF: u32 = BATCH_MAX_ITEMS * 48 + 4096;
pub(crate) const DEFAULT_DURATION: u64 = 30;
pub(crate) const SERVER_GRACE: Duration = Duration::from_secs(3);
pub(crate) const SNAPSHOT_ITEMS: u32 = 16;
pub(crate) const BATCH_WORKERS: usize = 4;
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(30);

const USAGE: &str = "usage: bench_posix <scenario>-server <run_dir> <service> [duration_sec]\n\
    \x20      bench_posix <scenario>-client <run_dir> <service> <duration_sec> <target_rps>\n\
    \x20      bench_posix uds-pipeline-client|uds-pipeline-batch-client <run_dir> <service> <duration_sec> <target_rps> <depth>\n\
    \x20      bench_posix lookup-bench <duration_sec>\n\
    \x20      bench_posix lookup-method-bench <duration_sec> <scenario> <target_rps>\n\
    \x20      bench_posix payload-copy <items> <duration_sec>\n\
    \x20      bench_posix sessions-inproc-uds-<N>|sessions-inproc-shm-<N> <duration_sec> <target_rps>";

pub(crate) fn profiles(shm: bool) -> u32 {
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
        _ if cmd.starts_with("sessions-inproc-") => {
            let many = crate::sessions::Many::parse(&cmd.replacen("sessions-inproc-", "sessions-", 1));
            match (many, num(1), num(2)) {
                (Some(many), Some(d), Some(rps)) => Some(crate::sessions::inproc(&many, d, rps)),
                _ => None,
            }
        }
        "payload-copy" => match (num(1), num(2)) {
            (Some(n), Some(d)) if (1..=1_000_000).contains(&n) => {
                Some(crate::bigsnap::payload_copy(n as u32, d))
            }
            _ => None,
        },
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
