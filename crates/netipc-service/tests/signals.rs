//! Calls go on while every thread of the process is hit by signals.
//!
//! A monitoring agent's plugins get signals all the time (children ending,
//! timers, reloads). A handler installed without `SA_RESTART` makes every
//! blocking system call it interrupts fail with `EINTR`: `connect`,
//! `accept`, `recv`, `send`, `poll` and the futex waits. Here a thread sends
//! `SIGUSR1` to every other thread of the process, clients and server
//! workers alike, many thousand times a second, while clients connect and
//! make calls of every shape over the socket and over shared memory. Every
//! call must succeed with the right answer.
#![cfg(target_os = "linux")]

mod common;

use common::*;
use netipc_service::increment::{self, IncrementClient};
use netipc_service::string_reverse::StringReverseClient;
use netipc_service::transport::codec::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Signals the handler has run for, over the whole process.
static DELIVERED: AtomicU64 = AtomicU64::new(0);

extern "C" fn count_signal(_: libc::c_int) {
    DELIVERED.fetch_add(1, Ordering::Relaxed);
}

/// Installs the counting handler for `SIGUSR1`, without `SA_RESTART`, so
/// that interrupted system calls fail with `EINTR` rather than restart.
fn install_handler() {
    // SAFETY: a zeroed sigaction is valid; the handler only does an atomic
    // add, which is async-signal-safe; the mask is initialised before use.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = count_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = 0;
        libc::sigemptyset(&mut action.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()), 0);
    }
}

/// Sends `SIGUSR1` to every other thread of the process, over and over,
/// until dropped; each thread gets one about every 50 µs.
struct SignalStorm {
    stop: std::sync::Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

impl SignalStorm {
    fn start() -> Self {
        install_handler();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            // SAFETY: plain system calls without memory arguments.
            let (pid, me) = unsafe { (libc::getpid(), libc::gettid()) };
            let mut sent = 0u64;
            while !flag.load(Ordering::Relaxed) {
                for entry in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
                    let Some(tid) = entry
                        .file_name()
                        .to_str()
                        .and_then(|s| s.parse::<libc::pid_t>().ok())
                    else {
                        continue;
                    };
                    if tid == me {
                        continue;
                    }
                    // SAFETY: signals a thread of this process; a thread
                    // that has just ended makes it fail, harmlessly.
                    if unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, libc::SIGUSR1) } == 0 {
                        sent += 1;
                    }
                }
                std::thread::sleep(Duration::from_micros(50));
            }
            sent
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the storm; returns how many signals were sent.
    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for SignalStorm {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A call that failed and then succeeded on a new session would hide an
/// interrupted system call taken for an error: every call must have
/// succeeded on the client's first session.
fn assert_unbroken(status: &netipc_service::ClientStatus) {
    assert_eq!(
        (status.connect_count, status.reconnect_count, status.error_count),
        (1, 0, 0)
    );
}

/// Stops the server, still under the storm: its acceptor's and workers'
/// waits are interrupted too. Fails if it takes longer than `limit`.
fn stop_within<H: netipc_service::ServiceHandler + 'static>(srv: Running<H>, limit: Duration) {
    finishes_within(limit, "the server's stop", move || srv.stop());
}

fn profiles(shm: bool) -> u32 {
    if shm {
        PROFILE_BASELINE | PROFILE_SHM_HYBRID
    } else {
        PROFILE_BASELINE
    }
}

/// Single and batch INCREMENT calls, on a new client every 50 calls, so
/// that connects, accepts and handshakes are hit too. The server serves 4
/// sessions at most: each client after the fourth is served only once the
/// server has seen an earlier one leave, while its own waits are being
/// interrupted.
fn increments_survive_signals(shm: bool) {
    let dir = RunDir::new("sig");
    let scfg = netipc_service::ServerConfig {
        supported_profiles: profiles(shm),
        preferred_profiles: profiles(shm),
        max_sessions: 4,
        ..server_config(1 << 16)
    };
    let handler = increment::Handler {
        handle: Some(Box::new(|v| Some(v + 1))),
    };
    let srv = Running::start(dir.path(), "inc", scfg, handler);
    let ccfg = netipc_service::ClientConfig {
        supported_profiles: profiles(shm),
        preferred_profiles: profiles(shm),
        ..client_config(1 << 16)
    };
    let storm = SignalStorm::start();
    let values: Vec<u64> = (0..300).collect();
    let mut out = Vec::new();
    for round in 0..40u64 {
        let mut c = IncrementClient::new(dir.path(), "inc", ccfg.clone());
        assert!(c.refresh(), "no session in round {round}");
        assert_eq!(c.status().shm, shm);
        for i in 0..50 {
            let v = round * 1000 + i;
            assert_eq!(c.call(v).unwrap(), v + 1);
        }
        c.call_batch_into(&values, &mut out).unwrap();
        assert!(out.iter().zip(&values).all(|(o, v)| *o == v + 1));
        assert_unbroken(&c.status());
    }
    stop_within(srv, Duration::from_secs(10));
    let sent = storm.finish();
    assert!(sent > 1000, "only {sent} signals sent");
}

#[test]
fn increments_over_the_socket_survive_signals() {
    increments_survive_signals(false);
}

#[test]
fn increments_over_shared_memory_survive_signals() {
    increments_survive_signals(true);
}

/// Messages of 200 KB travel in many chunks of a 4 KiB packet size: every
/// chunk's send and receive can be interrupted.
#[test]
fn chunked_messages_survive_signals() {
    let dir = RunDir::new("sig");
    let scfg = netipc_service::ServerConfig {
        packet_size: 4096,
        ..server_config(1 << 20)
    };
    let srv = Running::start(dir.path(), "rev", scfg, reverser());
    let ccfg = netipc_service::ClientConfig {
        packet_size: 4096,
        ..client_config(1 << 20)
    };
    let storm = SignalStorm::start();
    let mut c = StringReverseClient::new(dir.path(), "rev", ccfg);
    assert!(c.refresh());
    let text: Vec<u8> = (0..200_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let reversed: Vec<u8> = text.iter().rev().copied().collect();
    for _ in 0..100 {
        assert_eq!(c.call(&text).unwrap().as_bytes(), &reversed[..]);
    }
    assert_unbroken(&c.status());
    stop_within(srv, Duration::from_secs(10));
    let sent = storm.finish();
    assert!(sent > 1000, "only {sent} signals sent");
    assert!(DELIVERED.load(Ordering::Relaxed) > 0);
}
