//! New descriptors (sockets, accepted connections, the abort pipe), made
//! close-on-exec, and where asked non-blocking, from the start.
//!
//! Linux and the BSDs take both flags in the creating call itself
//! (`SOCK_CLOEXEC | SOCK_NONBLOCK`, `accept4`, `pipe2`), so no other thread
//! ever sees the descriptor without them. macOS has none of those calls:
//! there the flags are set with `fcntl` right after creation. Between the
//! two, another thread of the process that forks and execs a program passes
//! the new descriptor on to it, and the program holds it until it exits
//! (a peer would then not see this side close). A library cannot close
//! that window for the threads of its host; a program that starts children
//! while netipc sessions open in other threads closes it on its side by
//! spawning them with `posix_spawn` and Apple's
//! `POSIX_SPAWN_CLOEXEC_DEFAULT`, which passes on only the descriptors it
//! names. Nothing else is exposed: the descriptor is not yet connected,
//! and a receive never takes descriptors from a peer (see [`RECV_FLAGS`]).
//!
//! `SIGPIPE` goes the same way: a send to a closed peer must return
//! `EPIPE`, not kill the process. Linux and FreeBSD say so per call
//! ([`SEND_FLAGS`] holds `MSG_NOSIGNAL`); on macOS every socket made here
//! carries `SO_NOSIGPIPE` instead.

use nix::sys::socket::{AddressFamily, MsgFlags, SockFlag, SockType, socket};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// Flags of every send: never wait in the kernel, and a closed peer is
/// `EPIPE` rather than `SIGPIPE` (on macOS the socket's `SO_NOSIGPIPE`
/// does that part).
#[cfg(not(target_vendor = "apple"))]
pub(crate) const SEND_FLAGS: MsgFlags = MsgFlags::MSG_NOSIGNAL.union(MsgFlags::MSG_DONTWAIT);
/// Flags of every send: never wait in the kernel, and a closed peer is
/// `EPIPE` rather than `SIGPIPE` (on macOS the socket's `SO_NOSIGPIPE`
/// does that part).
#[cfg(target_vendor = "apple")]
pub(crate) const SEND_FLAGS: MsgFlags = MsgFlags::MSG_DONTWAIT;

/// Flags added to every `recvmsg`. No receive passes a control buffer, so
/// descriptors a peer sends along (`SCM_RIGHTS`) are discarded by the
/// kernel (the message reads as control-truncated) and never enter this
/// process; where the flag exists, `MSG_CMSG_CLOEXEC` says besides that
/// any that did would be close-on-exec. macOS lacks the flag and needs
/// none.
#[cfg(not(target_vendor = "apple"))]
pub(crate) const RECV_FLAGS: MsgFlags = MsgFlags::MSG_CMSG_CLOEXEC;
/// Flags added to every `recvmsg`. No receive passes a control buffer, so
/// descriptors a peer sends along (`SCM_RIGHTS`) are discarded by the
/// kernel and never enter this process; macOS lacks `MSG_CMSG_CLOEXEC`
/// and needs none.
#[cfg(target_vendor = "apple")]
pub(crate) const RECV_FLAGS: MsgFlags = MsgFlags::empty();

/// A new `AF_UNIX` `SOCK_SEQPACKET` socket, close-on-exec, non-blocking
/// when `nonblocking`.
#[cfg(not(target_vendor = "apple"))]
pub(crate) fn seqpacket_socket(nonblocking: bool) -> nix::Result<OwnedFd> {
    let mut flags = SockFlag::SOCK_CLOEXEC;
    if nonblocking {
        flags |= SockFlag::SOCK_NONBLOCK;
    }
    socket(AddressFamily::Unix, SockType::SeqPacket, flags, None)
}

/// A new `AF_UNIX` `SOCK_SEQPACKET` socket, close-on-exec, non-blocking
/// when `nonblocking`, with `SO_NOSIGPIPE`. (macOS has no such sockets
/// today, so the `socket` call fails; the rest is for a system that does.)
#[cfg(target_vendor = "apple")]
pub(crate) fn seqpacket_socket(nonblocking: bool) -> nix::Result<OwnedFd> {
    let fd = socket(AddressFamily::Unix, SockType::SeqPacket, SockFlag::empty(), None)?;
    set_cloexec(&fd)?;
    if nonblocking {
        set_nonblocking(&fd)?;
    }
    set_no_sigpipe(&fd)?;
    Ok(fd)
}

/// Accepts one connection on the listening socket `listener`: the new
/// socket is close-on-exec (and blocking).
pub(crate) fn accept(listener: RawFd) -> nix::Result<OwnedFd> {
    #[cfg(not(target_vendor = "apple"))]
    let raw = nix::sys::socket::accept4(listener, SockFlag::SOCK_CLOEXEC)?;
    #[cfg(target_vendor = "apple")]
    let raw = nix::sys::socket::accept(listener)?;
    // SAFETY: the accept call just returned this descriptor to us, open,
    // and nothing else in the process owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    #[cfg(target_vendor = "apple")]
    {
        set_cloexec(&fd)?;
        set_no_sigpipe(&fd)?;
    }
    Ok(fd)
}

/// A new pipe, `(read end, write end)`, both ends close-on-exec and
/// non-blocking.
pub(crate) fn pipe_nonblocking() -> nix::Result<(OwnedFd, OwnedFd)> {
    #[cfg(not(target_vendor = "apple"))]
    return nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK);
    #[cfg(target_vendor = "apple")]
    {
        let (read, write) = nix::unistd::pipe()?;
        for end in [&read, &write] {
            set_cloexec(end)?;
            set_nonblocking(end)?;
        }
        Ok((read, write))
    }
}

/// Sets `FD_CLOEXEC` on `fd`.
#[cfg(target_vendor = "apple")]
fn set_cloexec(fd: &OwnedFd) -> nix::Result<()> {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)).map(drop)
}

/// Sets `O_NONBLOCK` on `fd`, keeping its other status flags.
#[cfg(target_vendor = "apple")]
fn set_nonblocking(fd: &OwnedFd) -> nix::Result<()> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    let flags = OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).map(drop)
}

/// Sets `SO_NOSIGPIPE` on the socket `fd`: a send to a closed peer returns
/// `EPIPE` without raising `SIGPIPE`.
#[cfg(target_vendor = "apple")]
fn set_no_sigpipe(fd: &OwnedFd) -> nix::Result<()> {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: `fd` is an open socket for the whole call. The option value
    // points at `on`, a live `c_int`, and the length given is its size;
    // the kernel only reads it.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_NOSIGPIPE,
            (&raw const on).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    nix::errno::Errno::result(r).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::fcntl::{FcntlArg, FdFlag, OFlag, fcntl};
    use std::os::fd::AsRawFd;

    fn cloexec(fd: &OwnedFd) -> bool {
        FdFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFD).unwrap()).contains(FdFlag::FD_CLOEXEC)
    }

    fn nonblocking(fd: &OwnedFd) -> bool {
        OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL).unwrap()).contains(OFlag::O_NONBLOCK)
    }

    #[test]
    fn sockets_and_pipes_carry_their_flags() {
        let blocking = seqpacket_socket(false).unwrap();
        assert!(cloexec(&blocking) && !nonblocking(&blocking));
        let polled = seqpacket_socket(true).unwrap();
        assert!(cloexec(&polled) && nonblocking(&polled));
        let (read, write) = pipe_nonblocking().unwrap();
        for end in [&read, &write] {
            assert!(cloexec(end) && nonblocking(end));
        }
    }

    #[test]
    fn accepted_sockets_are_close_on_exec() {
        use nix::sys::socket::{Backlog, UnixAddr, bind, connect, listen};
        let dir = std::env::temp_dir().join(format!("netipc-descriptors-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("accept.sock");
        let _ = std::fs::remove_file(&path);
        let addr = UnixAddr::new(&path).unwrap();
        let listener = seqpacket_socket(false).unwrap();
        bind(listener.as_raw_fd(), &addr).unwrap();
        listen(&listener, Backlog::new(1).unwrap()).unwrap();
        let client = seqpacket_socket(false).unwrap();
        connect(client.as_raw_fd(), &addr).unwrap();
        let accepted = accept(listener.as_raw_fd()).unwrap();
        assert!(cloexec(&accepted) && !nonblocking(&accepted));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
