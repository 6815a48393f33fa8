//! The Level 1 echo peer, over the platform's socket: UDS SEQPACKET
//! (`interop_uds`) on Unix, the Named Pipe (`interop_named_pipe`) on
//! Windows. The command line is the one every implementation shares:
//!
//! ```text
//! <peer> server|client <run_dir> <service>
//! <peer> pipeline-server|pipeline-client <run_dir> <service> <count>
//! ```
//!
//! `server` echoes one message and exits; `client` sends one 256-byte
//! INCREMENT request (message_id 12345) and checks the echo.
//! `pipeline-client` sends `count` requests before reading any answer, and
//! `pipeline-server` echoes `count` of them. Servers print `READY` once
//! listening; clients print `PASS` (exit 0) or `FAIL` (exit 1), with
//! diagnostics on stderr.

use crate::{AUTH_TOKEN, BATCH_ITEMS, announce_ready, server_exit, verdict};
use netipc::protocol::{Header, Kind, METHOD_INCREMENT, PROFILE_BASELINE, STATUS_OK};
use netipc::transport::{ClientConfig, ServerConfig, TransportError};

#[cfg(unix)]
use netipc::transport::posix::{UdsListener as Listener, UdsSession as Session};
#[cfg(windows)]
use netipc::transport::windows::{NpListener as Listener, NpSession as Session};

#[cfg(unix)]
fn accept(listener: &Listener) -> Result<Session, TransportError> {
    listener.accept()
}

#[cfg(windows)]
fn accept(listener: &Listener) -> Result<Session, TransportError> {
    listener.accept(None)
}

const PAYLOAD_LIMIT: u32 = 65536;
const ECHO_MESSAGE_ID: u64 = 12345;

fn server_config() -> ServerConfig {
    ServerConfig {
        supported_profiles: PROFILE_BASELINE,
        max_request_payload_bytes: PAYLOAD_LIMIT,
        max_request_batch_items: BATCH_ITEMS,
        max_response_payload_bytes: PAYLOAD_LIMIT,
        max_response_batch_items: BATCH_ITEMS,
        auth_token: AUTH_TOKEN,
        ..ServerConfig::default()
    }
}

fn client_config() -> ClientConfig {
    ClientConfig {
        supported_profiles: PROFILE_BASELINE,
        max_request_payload_bytes: PAYLOAD_LIMIT,
        max_request_batch_items: BATCH_ITEMS,
        max_response_payload_bytes: PAYLOAD_LIMIT,
        max_response_batch_items: BATCH_ITEMS,
        auth_token: AUTH_TOKEN,
        ..ClientConfig::default()
    }
}

fn echo_payload() -> Vec<u8> {
    (0..=255u8).collect()
}

/// Runs the peer named `name` with its arguments (after the program
/// name); returns the exit code.
pub fn run(name: &str, args: &[String]) -> i32 {
    let usage = format!(
        "usage: {name} server|client <run_dir> <service> | pipeline-server|pipeline-client <run_dir> <service> <count>"
    );
    let (mode, run_dir, service) = match (args.first(), args.get(1), args.get(2)) {
        (Some(m), Some(d), Some(s)) => (m.as_str(), d.as_str(), s.as_str()),
        _ => {
            eprintln!("{usage}");
            return 2;
        }
    };
    let count = args.get(3).and_then(|c| c.parse::<u64>().ok());
    let who = format!("{name} {mode}");
    match (mode, count) {
        ("server", _) => server_exit(&who, serve(run_dir, service, None)),
        ("pipeline-server", Some(n)) => server_exit(&who, serve(run_dir, service, Some(n))),
        ("client", _) => verdict(&who, client(run_dir, service)),
        ("pipeline-client", Some(n)) => verdict(&who, pipeline_client(run_dir, service, n)),
        _ => {
            eprintln!("{usage}");
            2
        }
    }
}

fn serve(run_dir: &str, service: &str, count: Option<u64>) -> Result<(), String> {
    let listener = Listener::bind(run_dir, service, server_config()).map_err(|e| e.to_string())?;
    announce_ready();
    let mut session = accept(&listener).map_err(|e| e.to_string())?;
    let mut served = 0u64;
    loop {
        if count.is_some_and(|n| served >= n) || (count.is_none() && served == 1) {
            return Ok(());
        }
        let (h, payload) = match session.receive() {
            Ok(m) => m,
            Err(TransportError::PeerClosed) if served > 0 => return Ok(()),
            Err(e) => return Err(e.to_string()),
        };
        let reply = Header {
            kind: Kind::Response,
            transport_status: STATUS_OK,
            ..h
        };
        let payload = payload.to_vec();
        session.send(&reply, &payload).map_err(|e| e.to_string())?;
        served += 1;
    }
}

fn client(run_dir: &str, service: &str) -> Result<(), String> {
    let mut s = Session::connect(run_dir, service, &client_config()).map_err(|e| e.to_string())?;
    let payload = echo_payload();
    let req = Header::new(
        Kind::Request,
        METHOD_INCREMENT,
        ECHO_MESSAGE_ID,
        payload.len() as u32,
    );
    s.send(&req, &payload).map_err(|e| e.to_string())?;
    let (h, got) = s.receive().map_err(|e| e.to_string())?;
    check(&h, METHOD_INCREMENT, ECHO_MESSAGE_ID)?;
    if got != payload.as_slice() {
        return Err("echoed payload differs".into());
    }
    Ok(())
}

fn check(h: &Header, code: u16, id: u64) -> Result<(), String> {
    if h.kind != Kind::Response || h.code != code || h.message_id != id || h.transport_status != STATUS_OK {
        return Err(format!("unexpected response header {h:?}"));
    }
    Ok(())
}

fn pipeline_client(run_dir: &str, service: &str, count: u64) -> Result<(), String> {
    let mut s = Session::connect(run_dir, service, &client_config()).map_err(|e| e.to_string())?;
    for i in 0..count {
        let req = Header::new(Kind::Request, METHOD_INCREMENT, i + 1, 8);
        s.send(&req, &(i + 1).to_ne_bytes()).map_err(|e| e.to_string())?;
    }
    let mut seen = vec![false; count as usize];
    for _ in 0..count {
        let (h, got) = s.receive().map_err(|e| e.to_string())?;
        let id = h.message_id;
        if id == 0 || id > count || seen[id as usize - 1] {
            return Err(format!("unexpected message_id {id}"));
        }
        check(&h, METHOD_INCREMENT, id)?;
        if got != id.to_ne_bytes() {
            return Err(format!("payload of {id} differs"));
        }
        seen[id as usize - 1] = true;
    }
    Ok(())
}
