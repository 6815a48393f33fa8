//! Interop peer for the Linux shared-memory region, with no socket at all:
//!
//! ```text
//! interop_shm server|client <run_dir> <service>
//! ```
//!
//! The server creates the region of session 1 (65536-byte areas), prints
//! `READY`, echoes one message, removes the region and exits. The client
//! attaches (retrying up to 5 s), sends one 256-byte INCREMENT request with
//! message_id 12345, and prints `PASS` or `FAIL`.

#[cfg(target_os = "linux")]
fn main() {
    std::process::exit(linux::run(std::env::args().skip(1).collect()));
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("interop_shm runs on Linux only");
    std::process::exit(2);
}

#[cfg(target_os = "linux")]
mod linux {
    use netipc::transport::TransportError;
    use netipc::transport::codec::{HEADER_LEN, Header, Kind, METHOD_INCREMENT, STATUS_OK};
    use netipc::transport::posix::shm::ShmRegion;
    use std::io::Write;
    use std::path::Path;
    use std::time::{Duration, Instant};

    const SESSION_ID: u64 = 1;
    const CAPACITY: usize = 65536;
    const MESSAGE_ID: u64 = 12345;
    const WAIT: Duration = Duration::from_secs(30);
    const ATTACH_WAIT: Duration = Duration::from_secs(5);

    pub fn run(args: Vec<String>) -> i32 {
        let (Some(mode), Some(dir), Some(service)) = (args.first(), args.get(1), args.get(2)) else {
            eprintln!("usage: interop_shm server|client <run_dir> <service>");
            return 2;
        };
        let dir = Path::new(dir);
        match mode.as_str() {
            "server" => match serve(dir, service) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("interop_shm server: {e}");
                    1
                }
            },
            "client" => match client(dir, service) {
                Ok(()) => {
                    println!("PASS");
                    0
                }
                Err(e) => {
                    eprintln!("interop_shm client: {e}");
                    println!("FAIL");
                    1
                }
            },
            _ => {
                eprintln!("usage: interop_shm server|client <run_dir> <service>");
                2
            }
        }
    }

    fn serve(dir: &Path, service: &str) -> Result<(), TransportError> {
        let mut region = ShmRegion::create(dir, service, SESSION_ID, CAPACITY, CAPACITY)?;
        println!("READY");
        let _ = std::io::stdout().flush();
        let mut buf = Vec::new();
        let n = region.receive(&mut buf, Some(Instant::now() + WAIT))?;
        let h = Header::decode(&buf[..n])?;
        let reply = Header {
            kind: Kind::Response,
            transport_status: STATUS_OK,
            ..h
        };
        region.send(&reply.encode(), &buf[HEADER_LEN..n])?;
        // Dropping the region removes its file.
        Ok(())
    }

    fn client(dir: &Path, service: &str) -> Result<(), String> {
        let deadline = Instant::now() + ATTACH_WAIT;
        let mut region = loop {
            match ShmRegion::attach(dir, service, SESSION_ID) {
                Ok(r) => break r,
                Err(TransportError::ShmNotReady(_)) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => return Err(e.to_string()),
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
}
