//! `send` and `recv`, the two socket calls of every short message.
//!
//! glibc makes both cancellation points: in a process with more than one
//! thread (any managed server), each call turns the thread's asynchronous
//! cancellation on before the system call and off after it, two atomic
//! updates of the thread's cancellation state. netipc never cancels a
//! thread, so on Linux these calls enter the kernel directly, as
//! `sendto`/`recvfrom` with no address: the kernel's work is the same, and
//! a multi-threaded side saves two updates a call, four a round trip,
//! wherever its peer runs. Elsewhere they are the C library's.

#[cfg(not(target_os = "linux"))]
pub(super) use nix::sys::socket::{recv, send};

#[cfg(target_os = "linux")]
use {nix::errno::Errno, nix::sys::socket::MsgFlags, std::os::fd::RawFd};

/// `send(2)` on a connected socket: the bytes sent.
#[cfg(target_os = "linux")]
pub(super) fn send(fd: RawFd, buf: &[u8], flags: MsgFlags) -> nix::Result<usize> {
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes until the call
    // returns, and the kernel only reads it. A null address of length zero
    // sends to the connected peer. Integers go as `c_long`, the width the
    // variadic `syscall` takes them at.
    let sent = unsafe {
        libc::syscall(
            libc::SYS_sendto,
            libc::c_long::from(fd),
            buf.as_ptr(),
            buf.len(),
            libc::c_long::from(flags.bits()),
            std::ptr::null::<libc::sockaddr>(),
            0 as libc::c_long,
        )
    };
    Errno::result(sent).map(|n| n as usize)
}

/// `recv(2)`: the length of the packet taken (more than `buf.len()` only
/// with `MSG_TRUNC`).
#[cfg(target_os = "linux")]
pub(super) fn recv(fd: RawFd, buf: &mut [u8], flags: MsgFlags) -> nix::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes until the call
    // returns, nothing else touches it meanwhile, and the kernel writes at
    // most that many. Null address pointers ask for no sender address.
    // Integers go as `c_long`, as for `send`.
    let got = unsafe {
        libc::syscall(
            libc::SYS_recvfrom,
            libc::c_long::from(fd),
            buf.as_mut_ptr(),
            buf.len(),
            libc::c_long::from(flags.bits()),
            std::ptr::null_mut::<libc::sockaddr>(),
            std::ptr::null_mut::<libc::socklen_t>(),
        )
    };
    Errno::result(got).map(|n| n as usize)
}

// The direct system calls are Linux's; elsewhere these are nix's own.
#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
    use std::os::fd::AsRawFd;

    fn pair() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
        socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .unwrap()
    }

    #[test]
    fn a_packet_goes_through_whole() {
        let (a, b) = pair();
        let flags = MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT;
        assert_eq!(send(a.as_raw_fd(), b"forty-two", flags), Ok(9));
        let mut buf = [0u8; 16];
        assert_eq!(recv(b.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT), Ok(9));
        assert_eq!(&buf[..9], b"forty-two");
    }

    #[test]
    fn errors_come_back_as_errno() {
        let (a, b) = pair();
        let mut buf = [0u8; 4];
        // Nothing there yet.
        assert_eq!(
            recv(b.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT),
            Err(Errno::EAGAIN)
        );
        // A packet longer than the buffer: its tail is cut, and MSG_TRUNC
        // tells its whole length.
        send(a.as_raw_fd(), b"0123456789", MsgFlags::MSG_NOSIGNAL).unwrap();
        assert_eq!(recv(b.as_raw_fd(), &mut buf, MsgFlags::MSG_TRUNC), Ok(10));
        assert_eq!(&buf, b"0123");
        // A closed peer: EPIPE (no SIGPIPE with MSG_NOSIGNAL), and end of
        // stream on the other side.
        drop(b);
        assert_eq!(
            send(a.as_raw_fd(), b"x", MsgFlags::MSG_NOSIGNAL),
            Err(Errno::EPIPE)
        );
        assert_eq!(recv(a.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT), Ok(0));
        // Not a socket at all.
        assert_eq!(recv(-1, &mut buf, MsgFlags::MSG_DONTWAIT), Err(Errno::EBADF));
    }
}
