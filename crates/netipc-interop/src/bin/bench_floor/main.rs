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
//!   (busy polling, no sleep). Once its peer is seen to share the CPU, it
//!   yields before the first try, which could only find nothing.
//! - `shm-ping-pong`: a shared mapping with the region's layout reduced to
//!   its essence: one cache line of sequence words, one line for the
//!   request and one for the response. A receiver pauses between checks
//!   when the peer runs on another CPU and yields when it shares this one.
//!
//! With `NETIPC_FLOOR_WAIT=block` in a side's environment, that side's
//! socket receives block in the kernel instead (as the reference's drivers
//! do), so the floor can measure that pattern on either side or both.
//!
//! Servers print `READY`, then `SERVER_CPU_SEC=<seconds>` when the client
//! says it is done (they give up after the duration plus 3 s). Clients
//! print `bench_posix`'s CSV line, with `-` for latencies: a floor takes no
//! clock reads per round trip.

#[cfg(target_os = "linux")]
mod cli;
#[cfg(target_os = "linux")]
mod shm;
#[cfg(target_os = "linux")]
mod uds;

#[cfg(target_os = "linux")]
fn main() {
    std::process::exit(cli::run(std::env::args().skip(1).collect()));
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("bench_floor: Linux only");
    std::process::exit(2);
}
