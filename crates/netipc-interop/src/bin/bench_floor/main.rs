//! The floor of this machine: the same exchanges as `bench_posix`, with no
//! library at all, so a figure of ours can be read against what the kernel
//! and the caches allow.
//!
//! ```text
//! bench_floor <scenario>-server <run_dir> <service> [duration_sec]
//! bench_floor <scenario>-client <run_dir> <service> <duration_sec> <target_rps>
//! ```
//!
//! The command line is `bench_posix`'s, so `benches/run-matrix.sh` runs it
//! as one more pair, named `floor`. `target_rps` must be 0: a floor is as
//! fast as possible. Scenarios:
//!
//! - `uds-ping-pong`, `snapshot`, `uds-batch-ping-pong`: a SEQPACKET
//!   socket carrying messages of the sizes our driver puts on the wire
//!   (40 bytes each way; 36 bytes out and 1333 back; 32 + 16 n bytes each
//!   way for a batch of n items, n drawn as the drivers draw it). A
//!   receiver tries a non-blocking `recv` and yields the CPU between tries:
//!   the cheapest wait both on one CPU (the peer runs at once) and on two
//!   (busy polling, no sleep).
//! - `shm-ping-pong`: a shared mapping with the region's layout reduced to
//!   its essence: one cache line of sequence words, one line for the
//!   request and one for the response. A receiver pauses between checks
//!   when the peer runs on another CPU and yields when it shares this one.
//!
//! Servers print `READY`, then `SERVER_CPU_SEC=<seconds>` when the client
//! says it is done (they give up after the duration plus 3 s). Clients
//! print `bench_posix`'s CSV line, with `-` for latencies: a floor takes no
//! clock reads per round trip.

#[cfg(target_os = "linux")]
mod shm;
#[cfg(target_os = "linux")]
mod uds;

#[cfg(target_os = "linux")]
fn main() {
    std::process::exit(run(std::env::args().skip(1).collect()));
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("bench_floor: Linux only");
    std::process::exit(2);
}

#[cfg(target_os = "linux")]
use std::time::Duration;

/// How long a server waits past its duration for the client to finish.
#[cfg(target_os = "linux")]
const SERVER_GRACE: Duration = Duration::from_secs(3);
/// Round trips between two looks at the clock.
#[cfg(target_os = "linux")]
const ROUND_TRIPS_PER_CHECK: u64 = 256;

#[cfg(target_os = "linux")]
const USAGE: &str = "usage: bench_floor <scenario>-server <run_dir> <service> [duration_sec]\n\
    \x20      bench_floor <scenario>-client <run_dir> <service> <duration_sec> 0\n\
    scenarios: uds-ping-pong, snapshot, uds-batch-ping-pong, shm-ping-pong";

/// What one scenario puts on the wire.
#[cfg(target_os = "linux")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    /// 40-byte request, 40-byte response.
    UdsPingPong,
    /// 36-byte request, 1333-byte response.
    Snapshot,
    /// n items: 32 + 16 n bytes each way.
    UdsBatch,
    /// Shared memory, one round trip of 40-byte messages.
    Shm,
}

#[cfg(target_os = "linux")]
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

#[cfg(target_os = "linux")]
fn run(args: Vec<String>) -> i32 {
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

#[cfg(target_os = "linux")]
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
#[cfg(target_os = "linux")]
fn report_server(cpu: &netipc_interop::bench::Meter) {
    use std::io::Write;
    let (wall, pct) = cpu.read();
    println!("SERVER_CPU_SEC={:.6}", wall * pct / 100.0);
    let _ = std::io::stdout().flush();
}

#[cfg(target_os = "linux")]
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
