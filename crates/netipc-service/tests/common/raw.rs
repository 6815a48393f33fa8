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
/// connects it.
fn socket_at(
    path: &std::path::Path,
    act: unsafe extern "C" fn(libc::c_int, *const libc::sockaddr, libc::socklen_t) -> libc::c_int,
) -> OwnedFd {
    let a = addr(path);
    let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    // SAFETY: plain socket calls on a descriptor we create and own; the
    // address outlives the call.
    unsafe {
        let fd = libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET, 0);
        assert!(fd >= 0);
        assert_eq!(act(fd, (&a as *const libc::sockaddr_un).cast(), len), 0);
        OwnedFd::from_raw_fd(fd)
    }
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

pub fn accept(fd: RawFd) -> OwnedFd {
    // SAFETY: accept on our listening socket; the new fd is owned here.
    unsafe {
        let c = libc::accept(fd, std::ptr::null_mut(), std::ptr::null_mut());
        assert!(c >= 0);
        OwnedFd::from_raw_fd(c)
    }
}

pub fn recv(fd: RawFd) -> Vec<u8> {
    let mut buf = vec![0u8; 65536];
    // SAFETY: receives into a buffer we own, within its length.
    let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
    buf.truncate(n.max(0) as usize);
    buf
}

pub fn send(fd: RawFd, data: &[u8]) {
    // SAFETY: sends from a slice we own.
    let n = unsafe { libc::send(fd, data.as_ptr().cast(), data.len(), libc::MSG_NOSIGNAL) };
    assert_eq!(n as usize, data.len());
}
