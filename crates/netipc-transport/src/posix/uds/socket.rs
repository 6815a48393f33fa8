//! The socket of a session: creation, packet I/O, waiting and busy-polling.

use super::sys::{recv, send};
use crate::abort::AbortHandle;
use crate::error::{Result, TransportError};
#[cfg(target_os = "linux")]
use crate::framing::Staged;
use crate::framing::{PacketIo, TryPacketIo};
use crate::posix::descriptors::{RECV_FLAGS, SEND_FLAGS, seqpacket_socket};
use crate::spin::Spinner;
use netipc_codec::HEADER_LEN;
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{MsgFlags, UnixAddr, connect, getsockopt, recvmsg, sendmsg, setsockopt, sockopt};
use nix::sys::time::TimeVal;
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

/// Packet size when `SO_SNDBUF` cannot be read.
pub const PACKET_SIZE_FALLBACK: u32 = 65536;

/// A new blocking SEQPACKET socket (close-on-exec).
pub(super) fn seqpacket() -> Result<OwnedFd> {
    seqpacket_with(false)
}

/// A new SEQPACKET socket (close-on-exec), non-blocking when `nonblocking`.
/// A system without `AF_UNIX` SEQPACKET sockets (macOS) gives
/// [`TransportError::PlatformUnsupported`]: the protocol has no other
/// socket type to fall back to.
pub(super) fn seqpacket_with(nonblocking: bool) -> Result<OwnedFd> {
    seqpacket_socket(nonblocking).map_err(|e| match e {
        Errno::EPROTONOSUPPORT | Errno::EPROTOTYPE | Errno::ESOCKTNOSUPPORT | Errno::EAFNOSUPPORT => {
            TransportError::PlatformUnsupported {
                needed: "AF_UNIX sockets of type SOCK_SEQPACKET",
                source: e.into(),
            }
        }
        e => TransportError::io("socket", e),
    })
}

/// Connects `fd` to the endpoint `addr` (at `path`). A listener whose
/// backlog is full (its server accepts nobody more for now) makes `connect`
/// wait in the kernel for room; that wait ends at `deadline` with
/// `Timeout`. No server at the path is `NotFound`.
pub(super) fn connect_until(
    fd: &OwnedFd,
    addr: &UnixAddr,
    path: &std::path::Path,
    deadline: Instant,
) -> Result<()> {
    let wait_limit = |left: Duration| {
        // Whole microseconds: a zero timeout would mean no limit at all.
        let us = i64::try_from(left.as_micros()).unwrap_or(i64::MAX).max(1);
        // A 32-bit time_t holds 68 years of seconds: a longer wait is cut
        // to that, not wrapped to a negative (refused) one.
        let secs = libc::time_t::try_from(us / 1_000_000).unwrap_or(libc::time_t::MAX);
        // Under a million: fits every platform's `suseconds_t`.
        let micros = libc::suseconds_t::try_from(us % 1_000_000).unwrap_or(0);
        setsockopt(fd, sockopt::SendTimeout, &TimeVal::new(secs, micros))
            .map_err(|e| TransportError::io("setsockopt SO_SNDTIMEO", e))
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(TransportError::Timeout);
        }
        wait_limit(left)?;
        match connect(fd.as_raw_fd(), addr) {
            Ok(()) => break,
            Err(Errno::EINTR) => continue,
            // The time limit passed with the backlog still full.
            Err(Errno::EAGAIN) => return Err(TransportError::Timeout),
            Err(e @ (Errno::ENOENT | Errno::ECONNREFUSED | Errno::ENOTDIR)) => {
                return Err(TransportError::NotFound {
                    path: path.display().to_string(),
                    source: e.into(),
                });
            }
            Err(e) => return Err(TransportError::io_at("connect to", path.display(), e)),
        }
    }
    // No limit on later waits: sends never block in the kernel anyway.
    setsockopt(fd, sockopt::SendTimeout, &TimeVal::new(0, 0))
        .map_err(|e| TransportError::io("setsockopt SO_SNDTIMEO", e))
}

/// Bytes of `SO_SNDBUF` a single SEQPACKET message cannot use: Linux
/// refuses (EMSGSIZE) a message longer than the send buffer minus 32.
/// FreeBSD refuses one longer than the send buffer itself (its
/// `SO_SNDBUF` is `net.local.seqpacket.maxseqpacket` unless set), so the
/// same reserve serves both.
const SNDBUF_RESERVE: usize = 64;

/// The packet size this side proposes: the configured one, or the largest
/// message the socket's send buffer accepts. A send buffer that cannot be
/// read gives [`PACKET_SIZE_FALLBACK`], as the reference does; one too
/// small to carry a header and a byte of payload in a packet is
/// [`TransportError::PlatformUnsupported`].
pub(super) fn packet_size_of(fd: &OwnedFd, configured: u32) -> Result<u32> {
    if configured != 0 {
        return Ok(configured);
    }
    match getsockopt(fd, sockopt::SndBuf) {
        Ok(n) if n > SNDBUF_RESERVE + HEADER_LEN => Ok((n - SNDBUF_RESERVE).min(u32::MAX as usize) as u32),
        Ok(n) => Err(TransportError::PlatformUnsupported {
            needed: "a SEQPACKET send buffer large enough for one packet",
            source: std::io::Error::other(format!("SO_SNDBUF is {n} bytes")),
        }),
        Err(_) => Ok(PACKET_SIZE_FALLBACK),
    }
}

/// Waits until `fd` is readable, the deadline passes, or abort is signalled.
pub(super) fn wait_readable(
    fd: BorrowedFd<'_>,
    abort: Option<&AbortHandle>,
    deadline: Option<Instant>,
) -> Result<()> {
    wait_for(fd, PollFlags::POLLIN, abort, deadline)
}

/// Waits until `fd` can queue a packet again (its peer has read some), the
/// deadline passes, or abort is signalled.
fn wait_writable(fd: BorrowedFd<'_>, abort: Option<&AbortHandle>, deadline: Option<Instant>) -> Result<()> {
    wait_for(fd, PollFlags::POLLOUT, abort, deadline)
}

/// Waits until `fd` has one of `events` (or an error or hang-up, which the
/// next I/O call reports), the deadline passes, or abort is signalled.
fn wait_for(
    fd: BorrowedFd<'_>,
    events: PollFlags,
    abort: Option<&AbortHandle>,
    deadline: Option<Instant>,
) -> Result<()> {
    loop {
        let timeout = match deadline {
            None => PollTimeout::NONE,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(TransportError::Timeout);
                }
                // Round up so a sub-millisecond remainder still waits.
                let ms = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
                PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
            }
        };
        let mut fds = [PollFd::new(fd, events), PollFd::new(fd, PollFlags::empty())];
        if let Some(a) = abort {
            fds[1] = PollFd::new(a.as_fd(), PollFlags::POLLIN);
        }
        let nfds = if abort.is_some() { 2 } else { 1 };
        match poll(&mut fds[..nfds], timeout) {
            Ok(0) => continue,
            Ok(_) => {
                if nfds == 2 && fds[1].revents().is_some_and(|r| !r.is_empty()) {
                    return Err(TransportError::Aborted);
                }
                return Ok(());
            }
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(TransportError::io("poll", e)),
        }
    }
}

/// Packets up to this many bytes are gathered into one buffer and sent
/// with `send`, which costs the kernel less than a `sendmsg` (no message
/// header or I/O vector to copy in); the copy is a few cache lines. Longer
/// packets go out with `sendmsg` straight from their parts.
const GATHER_MAX: usize = 2048;

/// The socket side of a session.
#[derive(Debug)]
pub(super) struct Socket {
    pub(super) fd: OwnedFd,
    pub(super) abort: Option<AbortHandle>,
    /// Busy-polls a non-blocking receive before blocking in the kernel.
    pub(super) spinner: Spinner,
    /// Tries a send that found the socket full again before waiting for
    /// room (with the budget of `spinner`).
    send_spinner: Spinner,
    /// Where a short packet's header and body are joined for one `send`.
    gather: Box<[u8; GATHER_MAX]>,
}

impl Socket {
    pub(super) fn new(fd: OwnedFd) -> Self {
        Self {
            fd,
            abort: None,
            spinner: Spinner::new(Duration::ZERO).watching_quiet(),
            send_spinner: Spinner::new(Duration::ZERO),
            gather: Box::new([0; GATHER_MAX]),
        }
    }
}

/// What one receive call returned: `None` when nothing is there yet (with
/// `MSG_DONTWAIT`), else the packet length or the error. `call` is retried
/// when a signal interrupts it.
fn received(what: &'static str, mut call: impl FnMut() -> nix::Result<usize>) -> Option<Result<usize>> {
    loop {
        return match call() {
            Ok(0) => Some(Err(TransportError::PeerClosed)),
            Ok(n) => Some(Ok(n)),
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => None,
            Err(Errno::ECONNRESET) => Some(Err(TransportError::PeerClosed)),
            Err(e) => Some(Err(TransportError::io(what, e))),
        };
    }
}

/// Sends with `call` (a non-blocking send): the bytes sent, or the error,
/// with a closed peer told apart. While the socket cannot queue the packet
/// (`EAGAIN`: the peer has not read the packets before it), tries again
/// while `spinner` spins, then waits for room until `deadline` or the abort
/// signal. A message larger than a packet goes out in chunks, each of
/// which waits for the peer to read the one before: a peer that reads as
/// it comes makes room within the spin, which spares a sleep and a wake-up
/// per chunk. `call` is made again when a signal interrupts it.
fn sent(
    (fd, abort): (BorrowedFd<'_>, Option<&AbortHandle>),
    spinner: &mut Spinner,
    what: &'static str,
    deadline: Option<Instant>,
    mut call: impl FnMut() -> nix::Result<usize>,
) -> Result<usize> {
    loop {
        if let Some(n) = try_sent(what, &mut call)? {
            return Ok(n);
        }
        let mut again = None;
        spinner.spin(|| match try_sent(what, &mut call) {
            Ok(None) => false,
            other => {
                again = Some(other);
                true
            }
        });
        match again {
            Some(Ok(Some(n))) => return Ok(n),
            Some(Err(e)) => return Err(e),
            Some(Ok(None)) | None => wait_writable(fd, abort, deadline)?,
        }
    }
}

/// Sends with `call` (a non-blocking send) once: the bytes sent, `None`
/// when the socket cannot queue the packet now, or the error, with a
/// closed peer told apart. `call` is made again when a signal interrupts it.
fn try_sent(what: &'static str, mut call: impl FnMut() -> nix::Result<usize>) -> Result<Option<usize>> {
    loop {
        return match call() {
            Ok(n) => Ok(Some(n)),
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => Ok(None),
            Err(Errno::EPIPE | Errno::ECONNRESET | Errno::ENOTCONN) => Err(TransportError::PeerClosed),
            // The socket refuses a packet of the size the handshake
            // agreed (a `packet_size` configured over what it takes).
            Err(e @ Errno::EMSGSIZE) => Err(TransportError::PlatformUnsupported {
                needed: "SEQPACKET messages of the negotiated packet size",
                source: e.into(),
            }),
            Err(e) => Err(TransportError::io(what, e)),
        };
    }
}

/// One `recvmsg` of a packet into `head` and `body`; a packet longer than
/// both is refused.
fn recv_once(fd: &OwnedFd, head: &mut [u8; 32], body: &mut [u8], flags: MsgFlags) -> Option<Result<usize>> {
    let mut iov = [IoSliceMut::new(head), IoSliceMut::new(body)];
    let mut truncated = false;
    let got = received("recvmsg", || {
        recvmsg::<()>(fd.as_raw_fd(), &mut iov, None, flags | RECV_FLAGS).map(|m| {
            truncated = m.flags.contains(MsgFlags::MSG_TRUNC);
            m.bytes
        })
    });
    if truncated {
        return Some(Err(TransportError::Protocol(
            "packet larger than the negotiated packet size",
        )));
    }
    got
}

/// One `recv` of a whole packet into `buf` (cut to its length if longer).
/// Cheaper in the kernel than a `recvmsg`, which copies in a message header
/// and an I/O vector.
fn recv_whole_once(fd: &OwnedFd, buf: &mut [u8], flags: MsgFlags) -> Option<Result<usize>> {
    received("recv", || recv(fd.as_raw_fd(), buf, flags))
}

impl Socket {
    /// Receives one packet with `once`: busy-polls it first (a packet that
    /// comes within the spin budget costs no sleep and no wake-up on either
    /// side), then waits for the socket, the deadline or abort.
    fn recv_with(
        &mut self,
        deadline: Option<Instant>,
        mut once: impl FnMut(&OwnedFd, MsgFlags) -> Option<Result<usize>>,
    ) -> Result<usize> {
        if self.abort.as_ref().is_some_and(AbortHandle::is_aborted) {
            return Err(TransportError::Aborted);
        }
        let mut got = None;
        let fd = &self.fd;
        let spun = self.spinner.spin(|| {
            got = once(fd, MsgFlags::MSG_DONTWAIT);
            got.is_some()
        });
        if let (true, Some(r)) = (spun, got) {
            return r;
        }
        if deadline.is_some() || self.abort.is_some() {
            wait_readable(self.fd.as_fd(), self.abort.as_ref(), deadline)?;
        }
        loop {
            if let Some(r) = once(&self.fd, MsgFlags::empty()) {
                if r.is_ok() {
                    self.spinner.note_blocked_arrival();
                }
                return r;
            }
        }
    }
}

/// Receives one handshake packet if it is there, without waiting: the
/// buffer and the packet's length, or `None`.
pub(super) fn try_recv_control(
    fd: &OwnedFd,
) -> Result<Option<([u8; crate::handshake::CONTROL_ROOM], usize)>> {
    let mut head = [0u8; HEADER_LEN];
    let mut body = [0u8; crate::handshake::CONTROL_ROOM - HEADER_LEN];
    let Some(n) = recv_once(fd, &mut head, &mut body, MsgFlags::MSG_DONTWAIT).transpose()? else {
        return Ok(None);
    };
    let mut packet = [0u8; crate::handshake::CONTROL_ROOM];
    packet[..HEADER_LEN].copy_from_slice(&head);
    packet[HEADER_LEN..].copy_from_slice(&body);
    Ok(Some((packet, n)))
}

impl TryPacketIo for Socket {
    fn try_send_packet(&mut self, head: &[u8], body: &[u8]) -> Result<bool> {
        let len = head.len() + body.len();
        let fd = self.fd.as_raw_fd();
        let n = if len <= GATHER_MAX {
            let packet = &mut self.gather[..len];
            packet[..head.len()].copy_from_slice(head);
            packet[head.len()..].copy_from_slice(body);
            let packet = &*packet;
            try_sent("send", || send(fd, packet, SEND_FLAGS))
        } else {
            let iov = [IoSlice::new(head), IoSlice::new(body)];
            try_sent("sendmsg", || sendmsg::<()>(fd, &iov, &[], SEND_FLAGS, None))
        }?;
        match n {
            None => Ok(false),
            Some(n) if n == len => Ok(true),
            Some(_) => Err(TransportError::Protocol("short SEQPACKET send")),
        }
    }

    fn try_recv_packet(&mut self, head: &mut [u8; 32], body: &mut [u8]) -> Result<Option<usize>> {
        recv_once(&self.fd, head, body, MsgFlags::MSG_DONTWAIT).transpose()
    }

    fn try_recv_whole_packet(&mut self, buf: &mut [u8]) -> Result<Option<usize>> {
        recv_whole_once(&self.fd, buf, MsgFlags::MSG_DONTWAIT).transpose()
    }
}

impl PacketIo for Socket {
    fn send_packet(&mut self, head: &[u8], body: &[u8], deadline: Option<Instant>) -> Result<()> {
        let len = head.len() + body.len();
        let fd = self.fd.as_raw_fd();
        let flags = SEND_FLAGS;
        let waits = (self.fd.as_fd(), self.abort.as_ref());
        let spinner = self.send_spinner.with_budget_of(&self.spinner);
        let n = if len <= GATHER_MAX {
            let packet = &mut self.gather[..len];
            packet[..head.len()].copy_from_slice(head);
            packet[head.len()..].copy_from_slice(body);
            let packet = &*packet;
            sent(waits, spinner, "send", deadline, || send(fd, packet, flags))
        } else {
            let iov = [IoSlice::new(head), IoSlice::new(body)];
            sent(waits, spinner, "sendmsg", deadline, || {
                sendmsg::<()>(fd, &iov, &[], flags, None)
            })
        }?;
        if n != len {
            return Err(TransportError::Protocol("short SEQPACKET send"));
        }
        Ok(())
    }

    /// Several packets go out in one `sendmmsg`; a lone one as
    /// [`PacketIo::send_packet`] sends it (a `send` is cheaper).
    #[cfg(target_os = "linux")]
    fn send_packets(
        &mut self,
        packets: &Staged<'_>,
        deadline: Option<Instant>,
    ) -> core::result::Result<(), (usize, TransportError)> {
        use crate::framing::STAGED_MAX;
        let n = packets.len();
        if n <= 1 {
            return match packets.iter().next() {
                Some((head, body)) => self.send_packet(head, body, deadline).map_err(|e| (0, e)),
                None => Ok(()),
            };
        }
        let mut iov = [libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }; 2 * STAGED_MAX];
        let mut lens = [0usize; STAGED_MAX];
        for (i, (head, body)) in packets.iter().enumerate() {
            iov[2 * i] = libc::iovec {
                iov_base: head.as_ptr().cast_mut().cast(),
                iov_len: head.len(),
            };
            iov[2 * i + 1] = libc::iovec {
                iov_base: body.as_ptr().cast_mut().cast(),
                iov_len: body.len(),
            };
            lens[i] = head.len() + body.len();
        }
        // SAFETY: all-zero bytes are a valid `mmsghdr`: null pointers,
        // zero lengths and flags.
        let mut msgs: [libc::mmsghdr; STAGED_MAX] = unsafe { std::mem::zeroed() };
        for (i, m) in msgs[..n].iter_mut().enumerate() {
            m.msg_hdr.msg_iov = iov.as_mut_ptr().wrapping_add(2 * i);
            m.msg_hdr.msg_iovlen = 2;
        }
        let fd = self.fd.as_raw_fd();
        let mut done = 0;
        while done < n {
            let batch = msgs[done..n].as_mut_ptr();
            let count = (n - done) as libc::c_uint;
            let waits = (self.fd.as_fd(), self.abort.as_ref());
            let spinner = self.send_spinner.with_budget_of(&self.spinner);
            let flags = SEND_FLAGS.bits();
            let went = sent(waits, spinner, "sendmmsg", deadline, || {
                // SAFETY: `batch` points at `count` initialised headers
                // whose I/O vectors point into `iov`, and those at the
                // staged heads and bodies: all alive and unmoved until the
                // call returns. The kernel reads them and writes only the
                // headers' `msg_len`.
                Errno::result(unsafe { libc::sendmmsg(fd, batch, count, flags) }).map(|r| r as usize)
            })
            .map_err(|e| (done, e))?;
            if went == 0 {
                return Err((done, TransportError::Protocol("sendmmsg sent no packet")));
            }
            for (k, m) in msgs[done..done + went].iter().enumerate() {
                if m.msg_len as usize != lens[done + k] {
                    return Err((done + k, TransportError::Protocol("short SEQPACKET send")));
                }
            }
            done += went;
        }
        Ok(())
    }

    fn recv_packet(
        &mut self,
        head: &mut [u8; 32],
        body: &mut [u8],
        deadline: Option<Instant>,
    ) -> Result<usize> {
        self.recv_with(deadline, |fd, flags| recv_once(fd, head, body, flags))
    }

    fn recv_whole_packet(&mut self, buf: &mut [u8], deadline: Option<Instant>) -> Result<usize> {
        self.recv_with(deadline, |fd, flags| recv_whole_once(fd, buf, flags))
    }
}
