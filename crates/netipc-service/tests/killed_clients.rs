//! Clients killed at any moment. Client processes (this test binary, started
//! again) make calls without pause, over the socket in 4 KiB chunks and over
//! shared memory, and are killed (SIGKILL; TerminateProcess on Windows) at
//! random moments, a few at a time. The server must go on answering, and
//! its sessions, descriptors, mappings and run-dir files must come back to
//! where they were. The counts are process-wide, so this file holds one
//! test (and its child half).
#![cfg(any(target_os = "linux", windows))]

mod common;

use common::counts::*;
use common::*;
use netipc_service::string_reverse::StringReverseClient;
use netipc_service::transport::codec::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
use netipc_test_support::{ReadyChild, child_env, child_test};
use std::process::Child;
use std::time::{Duration, Instant};

const SERVICE: &str = "killed";
const PACKET: u32 = 4096;
const MAX_PAYLOAD: u32 = 256 * 1024;
/// Kills of starting children fall within this many µs of the start; a
/// child of a debug build has made its first call 5-15 ms after it on
/// Linux (later under Wine, where most of these kills come before the
/// connect).
const EARLY_KILL_WINDOW_US: u64 = 12_000;

fn configs(profiles: u32) -> (netipc_service::ServerConfig, netipc_service::ClientConfig) {
    let server = netipc_service::ServerConfig {
        supported_profiles: profiles,
        preferred_profiles: profiles,
        packet_size: PACKET,
        ..server_config(MAX_PAYLOAD)
    };
    let client = netipc_service::ClientConfig {
        supported_profiles: profiles,
        preferred_profiles: profiles,
        packet_size: PACKET,
        ..client_config(MAX_PAYLOAD)
    };
    (server, client)
}

/// A small xorshift: the kill moments need variety, not quality.
struct Rng(u64);

impl Rng {
    fn seeded() -> Self {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64;
        Self(0x9E37_79B9_7F4A_7C15 ^ t ^ u64::from(std::process::id()) << 32)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Child half: calls until killed, with strings from 1 byte to 200 KB (the
/// long ones chunked over the socket), after printing `READY` once the
/// first call has succeeded on the profile asked for. Gives up after 60 s
/// in case the parent is gone.
#[test]
#[ignore = "child process of clients_killed_mid_call_leave_the_server_whole"]
fn child_busy_client() {
    let dir = child_env("NETIPC_CHILD_KILLED_DIR");
    let shm = std::env::var_os("NETIPC_CHILD_KILLED_SHM").is_some();
    let profiles = if shm {
        PROFILE_BASELINE | PROFILE_SHM_HYBRID
    } else {
        PROFILE_BASELINE
    };
    let mut c = StringReverseClient::new(std::path::Path::new(&dir), SERVICE, configs(profiles).1);
    assert!(
        connect(|| {
            c.refresh();
            c.ready()
        }),
        "the child never connected"
    );
    assert_eq!(c.status().shm, shm);
    let mut rng = Rng::seeded();
    let text: Vec<u8> = (0..200_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let give_up = Instant::now() + Duration::from_secs(60);
    let mut announced = false;
    while Instant::now() < give_up {
        let len = match rng.below(3) {
            0 => 1 + rng.below(64) as usize,
            1 => 1 + rng.below(8192) as usize,
            _ => 1 + rng.below(text.len() as u64) as usize,
        };
        let answer = c.call(&text[..len]).expect("a call of a live child");
        assert_eq!(answer.len(), len);
        if !announced {
            println!("READY");
            announced = true;
        }
    }
}

/// Starts a child client, watched for its `READY`.
fn spawn_busy_client(dir: &std::path::Path, shm: bool) -> ReadyChild {
    let mut cmd = child_test("child_busy_client");
    cmd.env("NETIPC_CHILD_KILLED_DIR", dir);
    if shm {
        cmd.env("NETIPC_CHILD_KILLED_SHM", "1");
    }
    ReadyChild::spawn(&mut cmd)
}

#[test]
fn clients_killed_mid_call_leave_the_server_whole() {
    let mut rng = Rng::seeded();
    for profiles in [PROFILE_BASELINE, PROFILE_BASELINE | PROFILE_SHM_HYBRID] {
        let shm = profiles != PROFILE_BASELINE;
        let dir = RunDir::new("killed");
        let before = Holdings::now(dir.path());
        let (server_cfg, client_cfg) = configs(profiles);
        let srv = Running::start(dir.path(), SERVICE, server_cfg, reverser());
        let serving = Holdings::now(dir.path());
        for _round in 0..4 {
            // One child is killed at a random moment after its start:
            // while it starts, connects, shakes hands or makes its first
            // calls.
            let mut early = spawn_busy_client(dir.path(), shm).child;
            std::thread::sleep(Duration::from_micros(rng.below(EARLY_KILL_WINDOW_US)));
            early.kill().expect("kill a child client");
            early.wait().unwrap();
            let mut children: Vec<Child> = (0..3)
                .map(|_| spawn_busy_client(dir.path(), shm).wait_ready())
                .collect();
            for child in &mut children {
                // Not a wait for readiness: every child is calling already;
                // this only spreads the kills over the phases of a call.
                std::thread::sleep(Duration::from_micros(rng.below(3000)));
                child.kill().expect("kill a child client");
                child.wait().unwrap();
            }
        }
        serving.settles_back(dir.path(), || srv.server.active_sessions());

        // The server still answers, on the same profile.
        let mut c = StringReverseClient::new(dir.path(), SERVICE, client_cfg);
        assert!(connect(|| {
            c.refresh();
            c.ready()
        }));
        assert_eq!(c.status().shm, shm);
        let long: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let answer = c.call(&long).unwrap();
        assert!(answer.as_bytes().iter().eq(long.iter().rev()));
        drop(c);

        srv.stop();
        before.settles_back(dir.path(), || 0);
    }
}
