//! The liveness probe of `ls` and `clean`: a client handshake that offers
//! only the baseline profile and closes as soon as the server answers.
//!
//! A live server serves the probe like any client that connects and leaves
//! (it never sees a request), and creates no shared-memory region for it,
//! since the baseline is all the probe offers. The answer tells the
//! server's profiles and its response payload limit; a rejection tells its
//! reason (auth token, profiles, limits).
//!
//! On POSIX the probe speaks the handshake itself over a non-blocking
//! SEQPACKET socket, so that it can tell apart what the library's client
//! folds together: a full backlog, a socket of another type, an answer
//! that is not a HELLO_ACK. On Windows it connects with the library's pipe
//! session, which reports the negotiated values only.

use netipc::protocol::{
    CODE_HELLO_ACK, HEADER_LEN, Header, HelloAck, Kind, PROFILE_BASELINE, PROFILE_SHM_HYBRID,
    PROFILE_SHM_WAITADDR, STATUS_OK,
};
#[cfg(unix)]
use netipc::protocol::{Hello, MAX_PAYLOAD_DEFAULT};
use std::io;
#[cfg(unix)]
use std::path::Path;
use std::time::Duration;

/// What a server told the probe in its HELLO_ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answered {
    /// Every profile the server supports (not known on Windows, where the
    /// library's session reports only the selected one).
    pub server_profiles: Option<u32>,
    /// The profile selected for the probe's session.
    pub selected: u32,
    /// The response payload limit the server gives a new session.
    pub max_response_payload: u32,
    /// The packet size agreed.
    pub packet_size: u32,
}

impl From<&HelloAck> for Answered {
    fn from(a: &HelloAck) -> Self {
        Self {
            server_profiles: Some(a.server_supported_profiles),
            selected: a.selected_profile,
            max_response_payload: a.agreed_max_response_payload_bytes,
            packet_size: a.agreed_packet_size,
        }
    }
}

/// What the probe found.
#[derive(Debug)]
pub enum Probe {
    /// The handshake was accepted.
    Alive(Answered),
    /// The server rejected the handshake with this transport status.
    Refused(u16),
    /// The server's backlog is full: it is alive but accepts nobody now.
    #[cfg_attr(not(unix), allow(dead_code))]
    Busy,
    /// A socket file that nobody listens on.
    #[cfg_attr(not(unix), allow(dead_code))]
    Stale(io::Error),
    /// Nothing there (any more).
    Absent,
    /// A socket of another type (not SEQPACKET): not a netipc endpoint.
    #[cfg_attr(not(unix), allow(dead_code))]
    WrongType,
    /// It answered something that is not a HELLO_ACK.
    Garbled(&'static str),
    /// It accepted the connection and closed it without an answer.
    Silent,
    /// No answer before the deadline.
    NoAnswer,
    /// The OS refused access.
    Denied(io::Error),
    /// Another OS error.
    Failed(io::Error),
}

/// Reads a server's first packet as a HELLO_ACK (on Windows the library's
/// session reads it).
#[cfg_attr(not(unix), allow(dead_code))]
pub fn read_answer(packet: &[u8]) -> Probe {
    let Ok(header) = Header::decode(packet) else {
        return Probe::Garbled("not a netipc message header");
    };
    if header.kind != Kind::Control || header.code != CODE_HELLO_ACK {
        return Probe::Garbled("a netipc message, but not a HELLO_ACK");
    }
    if header.transport_status != STATUS_OK {
        return Probe::Refused(header.transport_status);
    }
    match HelloAck::decode(&packet[HEADER_LEN..]) {
        Ok(ack) => Probe::Alive(Answered::from(&ack)),
        Err(_) => Probe::Garbled("a HELLO_ACK that does not decode"),
    }
}

/// The names of the profile bits in `bits`.
pub fn profile_names(bits: u32) -> Vec<String> {
    (0..32)
        .map(|i| 1u32 << i)
        .filter(|b| bits & b != 0)
        .map(|b| match b {
            PROFILE_BASELINE => "baseline".to_string(),
            PROFILE_SHM_HYBRID => "shm-hybrid".to_string(),
            // 0x04 is SHM_FUTEX on POSIX and SHM_BUSYWAIT on Windows.
            0x04 => "shm-futex/busywait".to_string(),
            PROFILE_SHM_WAITADDR => "shm-waitaddr".to_string(),
            other => format!("{other:#x}"),
        })
        .collect()
}

/// The HELLO of the probe: the baseline only, the protocol's default
/// payload sizes, one batch item.
#[cfg(unix)]
fn probe_hello(token: u64, packet_size: u32) -> Hello {
    Hello {
        supported_profiles: PROFILE_BASELINE,
        preferred_profiles: PROFILE_BASELINE,
        max_request_payload_bytes: MAX_PAYLOAD_DEFAULT,
        max_request_batch_items: 1,
        max_response_payload_bytes: MAX_PAYLOAD_DEFAULT,
        max_response_batch_items: 1,
        auth_token: token,
        packet_size,
    }
}

/// Probes the socket at `path`, presenting `token`, within `timeout`.
#[cfg(unix)]
pub fn probe_socket(path: &Path, token: u64, timeout: Duration) -> Probe {
    use nix::errno::Errno;
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use nix::sys::socket::{
        AddressFamily, MsgFlags, SockFlag, SockType, UnixAddr, connect, getsockopt, recv, send, socket,
        sockopt,
    };
    use std::os::fd::{AsFd, AsRawFd};
    use std::time::Instant;

    let deadline = Instant::now() + timeout;
    let os = |e: Errno| io::Error::from_raw_os_error(e as i32);
    let addr = match UnixAddr::new(path) {
        Ok(a) => a,
        Err(e) => return Probe::Failed(os(e)),
    };
    let fd = match socket(AddressFamily::Unix, SockType::SeqPacket, SockFlag::empty(), None) {
        Ok(fd) => fd,
        Err(e) => return Probe::Failed(os(e)),
    };
    let nonblocking = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK));
    if let Err(e) = nonblocking {
        return Probe::Failed(os(e));
    }
    // Waits for `events` until the deadline; false when it passed.
    let wait = |events: PollFlags| -> Result<bool, Errno> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let ms = PollTimeout::try_from(left.max(Duration::from_millis(1))).unwrap_or(PollTimeout::MAX);
            let mut fds = [PollFd::new(fd.as_fd(), events)];
            match poll(&mut fds, ms) {
                Ok(0) if Instant::now() >= deadline => return Ok(false),
                Ok(0) => continue,
                Ok(_) => return Ok(true),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e),
            }
        }
    };
    match connect(fd.as_raw_fd(), &addr) {
        Ok(()) => {}
        Err(Errno::EAGAIN) => return Probe::Busy,
        Err(Errno::EINPROGRESS) => match wait(PollFlags::POLLOUT) {
            Ok(true) => match getsockopt(&fd, sockopt::SocketError) {
                Ok(0) => {}
                Ok(code) => return connect_failure(Errno::from_raw(code), os),
                Err(e) => return Probe::Failed(os(e)),
            },
            Ok(false) => return Probe::Busy,
            Err(e) => return Probe::Failed(os(e)),
        },
        Err(e) => return connect_failure(e, os),
    }
    // The packet size a client of this host would propose (the library's
    // rule: the send buffer less a reserve).
    let packet_size = getsockopt(&fd, sockopt::SndBuf)
        .ok()
        .filter(|&n| n > 64 + HEADER_LEN)
        .map_or(65536, |n| (n - 64).min(u32::MAX as usize) as u32);
    let hello = netipc::transport::handshake::hello_packet(&probe_hello(token, packet_size));
    match send(fd.as_raw_fd(), &hello, MsgFlags::empty()) {
        Ok(n) if n == hello.len() => {}
        Ok(_) => return Probe::Failed(io::Error::other("the HELLO was cut short")),
        Err(Errno::EPIPE | Errno::ECONNRESET) => return Probe::Silent,
        Err(e) => return Probe::Failed(os(e)),
    }
    let mut packet = [0u8; HEADER_LEN + 256];
    loop {
        match wait(PollFlags::POLLIN) {
            Ok(true) => {}
            Ok(false) => return Probe::NoAnswer,
            Err(e) => return Probe::Failed(os(e)),
        }
        match recv(fd.as_raw_fd(), &mut packet, MsgFlags::empty()) {
            Ok(0) => return Probe::Silent,
            Ok(n) => return read_answer(&packet[..n]),
            Err(Errno::EAGAIN | Errno::EINTR) => continue,
            Err(Errno::ECONNRESET) => return Probe::Silent,
            Err(e) => return Probe::Failed(os(e)),
        }
    }
}

/// What a failed connect means.
#[cfg(unix)]
fn connect_failure(e: nix::errno::Errno, os: impl Fn(nix::errno::Errno) -> io::Error) -> Probe {
    use nix::errno::Errno;
    match e {
        Errno::ECONNREFUSED => Probe::Stale(os(e)),
        Errno::ENOENT => Probe::Absent,
        Errno::EPROTOTYPE => Probe::WrongType,
        Errno::EACCES | Errno::EPERM => Probe::Denied(os(e)),
        Errno::EAGAIN => Probe::Busy,
        e => Probe::Failed(os(e)),
    }
}

/// Probes the pipe of `service` in namespace `run_dir`, presenting
/// `token`, within `timeout`.
#[cfg(windows)]
pub fn probe_pipe(run_dir: &str, service: &str, token: u64, timeout: Duration) -> Probe {
    use netipc::transport::{ClientConfig, TransportError, windows::NpSession};
    let cfg = ClientConfig {
        supported_profiles: PROFILE_BASELINE,
        preferred_profiles: PROFILE_BASELINE,
        auth_token: token,
        handshake_timeout: timeout,
        ..ClientConfig::default()
    };
    match NpSession::connect(run_dir, service, &cfg) {
        Ok(session) => {
            let p = session.params();
            Probe::Alive(Answered {
                server_profiles: None,
                selected: p.selected_profile,
                max_response_payload: p.max_response_payload_bytes,
                packet_size: p.packet_size,
            })
        }
        Err(TransportError::AuthFailed) => Probe::Refused(netipc::protocol::STATUS_AUTH_FAILED),
        Err(TransportError::Unsupported) => Probe::Refused(netipc::protocol::STATUS_UNSUPPORTED),
        Err(TransportError::Incompatible(_)) => Probe::Refused(netipc::protocol::STATUS_INCOMPATIBLE),
        Err(TransportError::LimitExceeded { .. }) => Probe::Refused(netipc::protocol::STATUS_LIMIT_EXCEEDED),
        Err(TransportError::Rejected(status)) => Probe::Refused(status),
        Err(TransportError::NotFound { .. }) => Probe::Absent,
        Err(TransportError::Timeout) => Probe::NoAnswer,
        Err(TransportError::PeerClosed) => Probe::Silent,
        Err(TransportError::Protocol(_)) => Probe::Garbled("its answer broke the handshake"),
        Err(TransportError::Malformed(_)) => Probe::Garbled("not a HELLO_ACK"),
        Err(TransportError::Io { source, .. }) if source.kind() == io::ErrorKind::PermissionDenied => {
            Probe::Denied(source)
        }
        Err(TransportError::Io { source, .. }) => Probe::Failed(source),
        Err(other) => Probe::Failed(io::Error::other(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netipc::protocol::STATUS_AUTH_FAILED;
    use netipc::transport::handshake::{Decision, ack_packet};

    #[test]
    fn an_accepting_ack_gives_the_servers_profiles_and_limits() {
        let ack = HelloAck {
            server_supported_profiles: PROFILE_BASELINE | PROFILE_SHM_HYBRID,
            intersection_profiles: PROFILE_BASELINE,
            selected_profile: PROFILE_BASELINE,
            agreed_max_request_payload_bytes: 1024,
            agreed_max_request_batch_items: 1,
            agreed_max_response_payload_bytes: 65536,
            agreed_max_response_batch_items: 1,
            agreed_packet_size: 4096,
            session_id: 3,
        };
        let Probe::Alive(a) = read_answer(&ack_packet(&Decision::Accept(ack))) else {
            panic!("not alive");
        };
        assert_eq!(a.server_profiles, Some(PROFILE_BASELINE | PROFILE_SHM_HYBRID));
        assert_eq!((a.max_response_payload, a.packet_size), (65536, 4096));
        assert_eq!(
            profile_names(a.server_profiles.unwrap()),
            ["baseline", "shm-hybrid"]
        );
    }

    #[test]
    fn a_rejection_and_foreign_bytes_are_told_apart() {
        let rejected = ack_packet(&Decision::Reject(STATUS_AUTH_FAILED, "token"));
        assert!(matches!(
            read_answer(&rejected),
            Probe::Refused(STATUS_AUTH_FAILED)
        ));
        assert!(matches!(
            read_answer(b"HTTP/1.1 400 Bad Request\r\n\r\n"),
            Probe::Garbled(_)
        ));
        assert!(matches!(read_answer(&[]), Probe::Garbled(_)));
        let mut not_an_ack = rejected;
        not_an_ack[12] = 9; // the code field
        assert!(matches!(read_answer(&not_an_ack), Probe::Garbled(_)));
    }

    #[test]
    fn unknown_profile_bits_show_as_hex() {
        assert_eq!(profile_names(0x01 | 0x100), ["baseline", "0x100"]);
        assert!(profile_names(0).is_empty());
    }
}
