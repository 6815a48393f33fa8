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
mod bigsnap;
#[cfg(unix)]
mod clients;
#[cfg(unix)]
mod driver;
#[cfg(unix)]
mod inproc;
#[cfg(unix)]
mod servers;
#[cfg(unix)]
mod sessions;
