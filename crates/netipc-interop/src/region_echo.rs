//! The raw shared-memory echo peer: two processes exchange one message over
//! a region with no socket or pipe at all. `interop_shm` runs it over the
//! Linux region, `interop_win_shm` over the Windows one (SHM_HYBRID):
//!
//! ```text
//! <peer> server|client <run_dir> <service>
//! ```
//!
//! The server creates the region of session 1 (65536-byte areas), prints
//! `READY`, echoes one message and exits (removing the region). The client
//! attaches (retrying up to 5 s while the region is not there yet), sends
//! one 256-byte INCREMENT request with message_id 12345, checks the echo,
//! and prints `PASS` or `FAIL`.

use crate::{announce_ready, server_exit, verdict};
use netipc::protocol::{HEADER_LEN, Header, Kind, METHOD_INCREMENT, STATUS_OK};
use netipc::transport::TransportError;
use std::time::{Duration, Instant};

/// The session id both sides name the region by.
pub const SESSION_ID: u64 = 1;
/// Bytes of each area of the region.
pub const CAPACITY: usize = 65536;
const MESSAGE_ID: u64 = 12345;
const WAIT: Duration = Duration::from_secs(30);
const ATTACH_WAIT: Duration = Duration::from_secs(5);

/// The two operations the exchange needs from a region.
pub trait Region: Sized {
    /// Publishes `head` and `body` as one message.
    fn send(&mut self, head: &[u8], body: &[u8]) -> Result<(), TransportError>;
    /// Receives one message into `out`; returns its length.
    fn receive(&mut self, out: &mut Vec<u8>, deadline: Option<Instant>) -> Result<usize, TransportError>;
}

/// Runs the peer named `name`: `create` makes the server's region, `attach`
/// opens the client's (retried while it fails with `ShmNotReady`). Returns
/// the exit code.
pub fn run<R: Region>(
    name: &str,
    args: &[String],
    create: impl FnOnce(&str, &str) -> Result<R, TransportError>,
    attach: impl FnMut(&str, &str) -> Result<R, TransportError>,
) -> i32 {
    let (Some(mode), Some(dir), Some(service)) = (args.first(), args.get(1), args.get(2)) else {
        eprintln!("usage: {name} server|client <run_dir> <service>");
        return 2;
    };
    match mode.as_str() {
        "server" => server_exit(&format!("{name} server"), serve(create(dir, service))),
        "client" => verdict(&format!("{name} client"), client(dir, service, attach)),
        _ => {
            eprintln!("usage: {name} server|client <run_dir> <service>");
            2
        }
    }
}

fn serve<R: Region>(region: Result<R, TransportError>) -> Result<(), TransportError> {
    let mut region = region?;
    announce_ready();
    let mut buf = Vec::new();
    let n = region.receive(&mut buf, Some(Instant::now() + WAIT))?;
    let h = Header::decode(&buf[..n])?;
    let reply = Header {
        kind: Kind::Response,
        transport_status: STATUS_OK,
        ..h
    };
    region.send(&reply.encode(), &buf[HEADER_LEN..n])
}

fn client<R: Region>(
    dir: &str,
    service: &str,
    mut attach: impl FnMut(&str, &str) -> Result<R, TransportError>,
) -> Result<(), String> {
    let deadline = Instant::now() + ATTACH_WAIT;
    let mut region = loop {
        match attach(dir, service) {
            Ok(r) => break r,
            Err(TransportError::ShmNotReady(_)) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(format!("attach: {e}")),
        }
    };
    let payload: Vec<u8> = (0..=255u8).collect();
    let req = Header::new(Kind::Request, METHOD_INCREMENT, MESSAGE_ID, payload.len() as u32);
    region.send(&req.encode(), &payload).map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let n = region
        .receive(&mut buf, Some(Instant::now() + WAIT))
        .map_err(|e| e.to_string())?;
    let h = Header::decode(&buf[..n]).map_err(|e| e.to_string())?;
    if h.kind != Kind::Response
        || h.message_id != MESSAGE_ID
        || h.code != METHOD_INCREMENT
        || h.transport_status != STATUS_OK
    {
        return Err(format!("unexpected header {h:?}"));
    }
    if buf[HEADER_LEN..n] != payload[..] {
        return Err("echoed payload differs".into());
    }
    Ok(())
}

#[cfg(target_os = "linux")]
impl Region for netipc::transport::posix::shm::ShmRegion {
    fn send(&mut self, head: &[u8], body: &[u8]) -> Result<(), TransportError> {
        netipc::transport::posix::shm::ShmRegion::send(self, head, body)
    }
    fn receive(&mut self, out: &mut Vec<u8>, deadline: Option<Instant>) -> Result<usize, TransportError> {
        netipc::transport::posix::shm::ShmRegion::receive(self, out, deadline)
    }
}

#[cfg(windows)]
impl Region for netipc::transport::windows::WinShmRegion {
    fn send(&mut self, head: &[u8], body: &[u8]) -> Result<(), TransportError> {
        netipc::transport::windows::WinShmRegion::send(self, head, body)
    }
    fn receive(&mut self, out: &mut Vec<u8>, deadline: Option<Instant>) -> Result<usize, TransportError> {
        netipc::transport::windows::WinShmRegion::receive(self, out, deadline)
    }
}
