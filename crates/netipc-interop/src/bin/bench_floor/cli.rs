//! Command-line dispatch, the scenarios, and the CSV line.

use crate::{shm, uds};
use std::time::Duration;

/// How long a server waits past its duration for the client to finish.
const SERVER_GRACE: Duration = Duration::from_secs(3);
/// Round trips between two looks at the clock.
pub(crate) const ROUND_TRIPS_PER_CHECK: u64 = 256;

const USAGE: &str = "usage: bench_floor <scenario>-server <run_dir> <service> [duration_sec]\n\
    \x20      bench_floor <scenario>-client <run_dir> <service> <duration_sec> 0\n\
    scenarios: uds-ping-pong, snapshot, uds-batch-ping-pong, shm-ping-pong";

/// What one scenario puts on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scenario {
    /// 40-byte request, 40-byte response.
    UdsPingPong,
    /// 36-byte request, 1333-byte response.
    Snapshot,
    /// n items: 32 + 16 n bytes each way.
    UdsBatch,
    /// Shared memory, one round trip of 40-byte messages.
    Shm,
}

impl Scenario {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "uds-ping-pong" => Self::UdsPingPong,
            "snapshot" => Self::Snapshot,
            "uds-batch-ping-pong" => Self::UdsBatch,
            "shm-ping-pong" => Self::Shm,
            _ => return None,
        })
    }

    /// The name in the CSV line, as `bench_posix` prints it.
    fn csv_name(self) -> &'static str {
        match self {
            Self::UdsPingPong => "uds-ping-pong",
            Self::Snapshot => "snapshot-baseline",
            Self::UdsBatch => "uds-batch-ping-pong",
            Self::Shm => "shm-ping-pong",
        }
    }
}

pub(crate) fn run(args: Vec<String>) -> i32 {
    let arg = |i: usize| args.get(i).map(String::as_str);
    let num = |i: usize| arg(i).and_then(|s| s.parse::<u64>().ok());
    let parsed = arg(0).and_then(|cmd| {
        let (name, server) = match cmd.strip_suffix("-server") {
            Some(name) => (name, true),
            None => (cmd.strip_suffix("-client")?, false),
        };
        Some((Scenario::parse(name)?, server, arg(1)?, arg(2)?))
    });
    let result = match parsed {
        Some((scenario, true, dir, svc)) => {
            let give_up = Duration::from_secs(num(3).unwrap_or(30)) + SERVER_GRACE;
            server(scenario, dir, svc, give_up)
        }
        Some((scenario, false, dir, svc)) if num(4) == Some(0) => match num(3) {
            Some(secs) => client(scenario, dir, svc, Duration::from_secs(secs)),
            None => Err("duration_sec must be a number".into()),
        },
        _ => {
            eprintln!("{USAGE}");
            return 2;
        }
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("bench_floor: {e}");
            1
        }
    }
}

fn server(scenario: Scenario, dir: &str, svc: &str, give_up: Duration) -> Result<(), String> {
    let cpu = netipc_interop::bench::Meter::start();
    if scenario == Scenario::Shm {
        shm::serve(dir, svc, give_up, || report_server(&cpu))
    } else {
        uds::serve(scenario, dir, svc, give_up, || report_server(&cpu))
    }
}

/// Prints the server's CPU seconds; called before the server acknowledges
/// the client's last message, so the line is out before anyone stops it.
fn report_server(cpu: &netipc_interop::bench::Meter) {
    use std::io::Write;
    let (wall, pct) = cpu.read();
    println!("SERVER_CPU_SEC={:.6}", wall * pct / 100.0);
    let _ = std::io::stdout().flush();
}

fn client(scenario: Scenario, dir: &str, svc: &str, duration: Duration) -> Result<(), String> {
    let (units, wall, cpu_pct) = if scenario == Scenario::Shm {
        shm::drive(dir, svc, duration)?
    } else {
        uds::drive(scenario, dir, svc, duration)?
    };
    let throughput = units as f64 / wall;
    println!(
        "{},floor,floor,{throughput:.0},-,-,-,{cpu_pct:.1},0.0,{cpu_pct:.1}",
        scenario.csv_name()
    );
    Ok(())
}
