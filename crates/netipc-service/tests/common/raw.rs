//! Raw SEQPACKET endpoints, for playing a misbehaving peer.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

fn addr(path: &std::path::Path) -> libc::sockaddr_un {
    // SAFETY: sockaddr_un is plain data; all-zero is a valid value.
    let mut a: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    a.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (d, s) in a.sun_path.iter_mut().zip(path.as_os_str().as_encoded_bytes()) {
        *d = *s as libc::c_char;
    }
    a
}

/// A new SEQPACKET socket, and `path` as its address; `act` binds or
/// connects it. Returns the socket and what `act` returned.
fn socket_with(
    path: &std::path::Path,
    act: unsafe extern "C" fn(libc::c_int, *const libc::sockaddr, libc::socklen_t) -> libc::c_int,
) -> (OwnedFd, libc::c_int) {
    let a = addr(path);
    let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    // SAFETY: plain socket calls on a descriptor we create and own; the
    // address outlives the call.
    unsafe {
        let fd = libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET, 0);
        assert!(fd >= 0);
        let fd = OwnedFd::from_raw_fd(fd);
        let rc = act(fd.as_raw_fd(), (&a as *const libc::sockaddr_un).cast(), len);
        (fd, rc)
    }
}

/// [`socket_with`], which must succeed.
fn socket_at(
    path: &std::path::Path,
    act: unsafe extern "C" fn(libc::c_int, *const libc::sockaddr, libc::socklen_t) -> libc::c_int,
) -> OwnedFd {
    let (fd, rc) = socket_with(path, act);
    assert_eq!(rc, 0, "{}: {}", path.display(), std::io::Error::last_os_error());
    fd
}

pub fn listen(path: &std::path::Path) -> OwnedFd {
    let fd = socket_at(path, libc::bind);
    // SAFETY: listen on a socket we own.
    assert_eq!(unsafe { libc::listen(fd.as_raw_fd(), 4) }, 0);
    fd
}

/// Connects to `path` without a handshake.
pub fn connect(path: &std::path::Path) -> OwnedFd {
    socket_at(path, libc::connect)
}

/// Connects to `path` if something listens there.
pub fn try_connect(path: &std::path::Path) -> Option<OwnedFd> {
    let (fd, rc) = socket_with(path, libc::connect);
    (rc == 0).then_some(fd)
}

pub fn accept(fd: RawFd) -> OwnedFd {
    // SAFETY: accept on our listening socket; the new fd is owned here.
    unsafe {
        let c = libc::accept(fd, std::ptr::null_mut(), std::ptr::null_mut());
        assert!(c >= 0);
        OwnedFd::from_raw_fd(c)
    }
}

/// One packet; empty when the peer has closed the connection (or on error).
pub fn recv(fd: RawFd) -> Vec<u8> {
    recv_result(fd).unwrap_or_default()
}

/// One packet, empty when the peer has closed the connection; the error of
/// a failed receive (a timeout set with [`set_recv_timeout`], say).
pub fn recv_result(fd: RawFd) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 65536];
    // SAFETY: receives into a buffer we own, within its length.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(buf)
}

pub fn send(fd: RawFd, data: &[u8]) {
    assert!(try_send(fd, data), "send of {} bytes", data.len());
}

/// Sends `data` if the peer still takes it; whether it did.
pub fn try_send(fd: RawFd, data: &[u8]) -> bool {
    // SAFETY: sends from a slice we own.
    let n = unsafe { libc::send(fd, data.as_ptr().cast(), data.len(), libc::MSG_NOSIGNAL) };
    n >= 0 && n as usize == data.len()
}

/// Tells the peer nothing more will be sent.
pub fn shutdown_write(fd: RawFd) {
    // SAFETY: shutdown of a socket we own; a socket the peer has closed
    // already reports an error, which changes nothing here.
    unsafe { libc::shutdown(fd, libc::SHUT_WR) };
}

/// Makes a blocking receive fail after `t` instead of waiting forever.
pub fn set_recv_timeout(fd: RawFd, t: std::time::Duration) {
    let tv = libc::timeval {
        tv_sec: t.as_secs() as libc::time_t,
        tv_usec: t.subsec_micros() as libc::suseconds_t,
    };
    // SAFETY: sets an option of a socket we own from a value that outlives
    // the call, with its exact size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
}

/// Whether the peer has closed the connection (nothing is read: a packet
/// waiting stays there).
pub fn closed(fd: RawFd) -> bool {
    let mut b = [0u8; 1];
    // SAFETY: peeks into a buffer we own, within its length.
    let n = unsafe { libc::recv(fd, b.as_mut_ptr().cast(), 1, libc::MSG_PEEK | libc::MSG_DONTWAIT) };
    n == 0 || (n < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ECONNRESET))
}
