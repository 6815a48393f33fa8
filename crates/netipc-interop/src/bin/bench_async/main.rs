//! Cross-process benchmark driver of the tokio layer, with `bench_posix`'s
//! command line and output for the ping-pong scenarios, so that it pairs
//! with `bench_posix` (ours or the reference's) in either role:
//!
//! ```text
//! bench_async uds-ping-pong-server|shm-ping-pong-server <run_dir> <service> [duration_sec]
//! bench_async uds-ping-pong-client|shm-ping-pong-client <run_dir> <service> <duration_sec> <target_rps>
//! ```
//!
//! The server is an async managed INCREMENT server on a current-thread
//! runtime; it prints `READY` once bound, stops after the duration plus
//! 3 s (or on SIGTERM/SIGINT) and prints `SERVER_CPU_SEC=<seconds>`. The
//! client is an async `IncrementClient` making one call at a time in one
//! task of a current-thread runtime; it prints `bench_posix`'s CSV line,
//! with `netipc-async` in its client column. Durations may have a fraction
//! (`0.2`), for smoke runs. POSIX only: elsewhere it says so and exits 2.

#[cfg(unix)]
fn main() {
    std::process::exit(cli::main(std::env::args().skip(1).collect()));
}

#[cfg(not(unix))]
fn main() {
    eprintln!("bench_async: the tokio layer serves POSIX sockets only");
    std::process::exit(2);
}

#[cfg(unix)]
mod cli;
#[cfg(unix)]
mod client;
#[cfg(unix)]
mod server;
