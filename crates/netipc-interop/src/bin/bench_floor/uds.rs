//! The socket floor: SEQPACKET messages of our driver's sizes, no framing.

use crate::cli::{ROUND_TRIPS_PER_CHECK, Scenario};
use netipc_interop::bench::{Meter, XorShift};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{
    AddressFamily, Backlog, MsgFlags, SockFlag, SockType, UnixAddr, accept, bind, connect, listen, recv,
    send, socket,
};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// The largest message: a batch of 1000 items.
const MAX_MESSAGE: usize = 32 + 16 * 1000;
/// The snapshot answer's size on the wire.
const SNAPSHOT_RESPONSE: usize = 1333;
/// Yields between two looks at the clock while waiting.
const YIELDS_PER_CHECK: u32 = 1024;
/// Seconds a blocking receive waits for a quiet peer.
const QUIET_SECS: nix::libc::time_t = 10;
/// The message that ends a run (every real one is longer).
const STOP: &[u8] = &[0];

fn socket_path(dir: &str, svc: &str) -> String {
    format!("{dir}/{svc}.floor.sock")
}

fn new_socket() -> Result<OwnedFd, String> {
    socket(
        AddressFamily::Unix,
        SockType::SeqPacket,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|e| format!("socket: {e}"))
}

/// Receives messages: tries without blocking and yields between tries.
///
/// When the last message was there right after the first yield, the peer
/// shares this CPU and answers only once it gets it: the next receive then
/// yields before its first try, which would only find nothing (the library
/// learns the same).
///
/// With `NETIPC_FLOOR_WAIT=block` in its environment, a side instead waits
/// in a blocking `recv`, as the reference's drivers do: the floor can then
/// measure that pattern too, on either side or both.
struct Receiver {
    yield_first: bool,
    blocking: bool,
}

impl Receiver {
    /// A receiver on `fd`, waiting as the environment says.
    fn new(fd: BorrowedFd<'_>) -> Result<Self, String> {
        let blocking = match std::env::var("NETIPC_FLOOR_WAIT").as_deref() {
            Ok("block") => true,
            Ok("yield") | Err(_) => false,
            Ok(other) => return Err(format!("NETIPC_FLOOR_WAIT={other}: expected yield or block")),
        };
        if blocking {
            // A blocking receive still ends when the peer goes quiet.
            let quiet = nix::sys::time::TimeVal::new(QUIET_SECS, 0);
            nix::sys::socket::setsockopt(&fd, nix::sys::socket::sockopt::ReceiveTimeout, &quiet)
                .map_err(|e| format!("SO_RCVTIMEO: {e}"))?;
        }
        Ok(Self {
            yield_first: false,
            blocking,
        })
    }

    /// One message; `Ok(0)` when the peer closed.
    fn recv(&mut self, fd: RawFd, buf: &mut [u8], give_up: Instant) -> Result<usize, String> {
        if self.blocking {
            return loop {
                match recv(fd, buf, MsgFlags::empty()) {
                    Ok(n) => break Ok(n),
                    Err(Errno::EINTR) => {}
                    Err(Errno::EAGAIN) => break Err("the peer went quiet".into()),
                    Err(e) => break Err(format!("recv: {e}")),
                }
            };
        }
        let mut yields = 0u32;
        if self.yield_first {
            std::thread::yield_now();
            yields = 1;
        }
        loop {
            match recv(fd, buf, MsgFlags::MSG_DONTWAIT) {
                Ok(n) => {
                    self.yield_first = yields == 1;
                    return Ok(n);
                }
                Err(Errno::EAGAIN | Errno::EINTR) => {}
                Err(e) => return Err(format!("recv: {e}")),
            }
            std::thread::yield_now();
            yields = yields.wrapping_add(1);
            if yields.is_multiple_of(YIELDS_PER_CHECK) && Instant::now() >= give_up {
                return Err("the peer went quiet".into());
            }
        }
    }
}

fn send_all(fd: RawFd, msg: &[u8]) -> Result<(), String> {
    match send(fd, msg, MsgFlags::empty()) {
        Ok(n) if n == msg.len() => Ok(()),
        Ok(n) => Err(format!("send: {n} of {} bytes", msg.len())),
        Err(e) => Err(format!("send: {e}")),
    }
}

/// Answers one client until it says stop, closes, or `give_up` passes.
pub(crate) fn serve(
    scenario: Scenario,
    dir: &str,
    svc: &str,
    give_up: Duration,
    report: impl FnOnce(),
) -> Result<(), String> {
    let give_up = Instant::now() + give_up;
    let path = socket_path(dir, svc);
    let listener = new_socket()?;
    let addr = UnixAddr::new(path.as_str()).map_err(|e| format!("address {path}: {e}"))?;
    bind(listener.as_raw_fd(), &addr).map_err(|e| format!("bind {path}: {e}"))?;
    let served = (|| {
        listen(&listener, Backlog::new(1).map_err(|e| e.to_string())?).map_err(|e| format!("listen: {e}"))?;
        println!("READY");
        let wait = give_up.saturating_duration_since(Instant::now());
        let timeout = PollTimeout::try_from(wait).unwrap_or(PollTimeout::MAX);
        let mut pfd = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
        if poll(&mut pfd, timeout).map_err(|e| format!("poll: {e}"))? == 0 {
            return Err("no client came".to_string());
        }
        let accepted = accept(listener.as_raw_fd()).map_err(|e| format!("accept: {e}"))?;
        // SAFETY: `accept` returned a new descriptor that nothing else owns.
        let conn = unsafe { OwnedFd::from_raw_fd(accepted) };
        let mut buf = vec![0u8; MAX_MESSAGE];
        let answer = vec![0u8; SNAPSHOT_RESPONSE];
        let mut rx = Receiver::new(conn.as_fd())?;
        loop {
            let n = rx.recv(conn.as_raw_fd(), &mut buf, give_up)?;
            if n <= STOP.len() {
                report();
                // A closed peer takes no acknowledgement.
                let _ = send_all(conn.as_raw_fd(), STOP);
                return Ok(());
            }
            match scenario {
                Scenario::Snapshot => send_all(conn.as_raw_fd(), &answer)?,
                _ => send_all(conn.as_raw_fd(), &buf[..n])?,
            }
        }
    })();
    let _ = std::fs::remove_file(&path);
    served
}

/// Runs round trips for `duration`: (requests or items, wall seconds, CPU %).
pub(crate) fn drive(
    scenario: Scenario,
    dir: &str,
    svc: &str,
    duration: Duration,
) -> Result<(u64, f64, f64), String> {
    let path = socket_path(dir, svc);
    let addr = UnixAddr::new(path.as_str()).map_err(|e| format!("address {path}: {e}"))?;
    let sock = new_socket()?;
    let fd = sock.as_raw_fd();
    let connect_by = Instant::now() + Duration::from_secs(2);
    while let Err(e) = connect(fd, &addr) {
        if Instant::now() >= connect_by {
            return Err(format!("connect {path}: {e}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut rng = XorShift::default();
    let request = vec![1u8; MAX_MESSAGE];
    let mut buf = vec![0u8; MAX_MESSAGE];
    let give_up = Instant::now() + duration + Duration::from_secs(10);
    let meter = Meter::start();
    let started = Instant::now();
    let mut units = 0u64;
    let mut rx = Receiver::new(sock.as_fd())?;
    let (wall, cpu_pct) = loop {
        for _ in 0..ROUND_TRIPS_PER_CHECK {
            let (len, items) = match scenario {
                Scenario::UdsBatch => {
                    let n = (rng.next_u32() % 999 + 2) as usize;
                    (32 + 16 * n, n as u64)
                }
                Scenario::Snapshot => (36, 1),
                _ => (40, 1),
            };
            send_all(fd, &request[..len])?;
            let got = rx.recv(fd, &mut buf, give_up)?;
            let want = if scenario == Scenario::Snapshot {
                SNAPSHOT_RESPONSE
            } else {
                len
            };
            if got != want {
                return Err(format!("answer of {got} bytes, expected {want}"));
            }
            units += items;
        }
        if started.elapsed() >= duration {
            break meter.read();
        }
    };
    send_all(fd, STOP)?;
    rx.recv(fd, &mut buf, Instant::now() + Duration::from_secs(5))?;
    Ok((units, wall, cpu_pct))
}
