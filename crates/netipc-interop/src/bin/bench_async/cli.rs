//! The command line: which side of which scenario.

use netipc_interop::bench::ping_pong::DEFAULT_DURATION;
use std::time::Duration;

const USAGE: &str = "usage: bench_async uds-ping-pong-server|shm-ping-pong-server <run_dir> <service> [duration_sec]\n\
    \x20      bench_async uds-ping-pong-client|shm-ping-pong-client <run_dir> <service> <duration_sec> <target_rps>";

/// The scenario of a `<scenario>-server` or `<scenario>-client` command and
/// whether it runs over shared memory.
pub(crate) fn scenario(cmd: &str) -> Result<(&str, bool), String> {
    let scenario = cmd.trim_end_matches("-server").trim_end_matches("-client");
    match scenario {
        "uds-ping-pong" => Ok((scenario, false)),
        "shm-ping-pong" => Ok((scenario, true)),
        other => Err(format!("unknown scenario {other} (only the ping-pong ones)")),
    }
}

pub fn main(args: Vec<String>) -> i32 {
    let arg = |i: usize| args.get(i).map(String::as_str);
    let num = |i: usize| arg(i).and_then(|s| s.parse::<u64>().ok());
    // Seconds, whole as `bench_posix` takes them or (for short smoke runs)
    // with a fraction.
    let secs = |i: usize| {
        arg(i)
            .and_then(|s| s.parse::<f64>().ok())
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
    };
    let result = match arg(0) {
        Some(cmd) if cmd.ends_with("-server") => match (arg(1), arg(2)) {
            (Some(dir), Some(svc)) => Some(crate::server::run(
                cmd,
                dir,
                svc,
                secs(3).unwrap_or(Duration::from_secs(DEFAULT_DURATION)),
            )),
            _ => None,
        },
        Some(cmd) if cmd.ends_with("-client") => match (arg(1), arg(2), secs(3), num(4)) {
            (Some(dir), Some(svc), Some(d), Some(rps)) => Some(crate::client::run(cmd, dir, svc, d, rps)),
            _ => None,
        },
        _ => None,
    };
    match result {
        Some(Ok(())) => 0,
        Some(Err(e)) => {
            eprintln!("bench_async {}: {e}", arg(0).unwrap_or_default());
            1
        }
        None => {
            eprintln!("{USAGE}");
            2
        }
    }
}
