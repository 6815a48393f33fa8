//! The credentials of the process at the other end of an accepted socket,
//! as the kernel recorded them at `connect` (see [`crate::PeerCredentials`]).

use crate::peer::PeerCredentials;
use std::os::fd::AsFd;

/// What the kernel reports about the peer of the connected socket `fd`;
/// fields it cannot tell are `None`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn peer_credentials(fd: impl AsFd) -> PeerCredentials {
    use nix::sys::socket::{getsockopt, sockopt::PeerCredentials as SoPeerCred};
    match getsockopt(&fd, SoPeerCred) {
        Ok(c) => PeerCredentials::posix(u32::try_from(c.pid()).ok(), Some(c.uid()), Some(c.gid())),
        Err(_) => PeerCredentials::default(),
    }
}

/// What the kernel reports about the peer of the connected socket `fd`;
/// fields it cannot tell are `None`. FreeBSD's `LOCAL_PEERCRED` carries
/// the effective user id and the groups, the effective group first; the
/// process id is left out.
#[cfg(any(target_os = "freebsd", target_os = "dragonfly"))]
pub(crate) fn peer_credentials(fd: impl AsFd) -> PeerCredentials {
    use nix::sys::socket::{getsockopt, sockopt::LocalPeerCred};
    match getsockopt(&fd, LocalPeerCred) {
        Ok(c) => PeerCredentials::posix(None, Some(c.uid()), c.groups().first().copied()),
        Err(_) => PeerCredentials::default(),
    }
}

/// What the kernel reports about the peer of the connected socket `fd`;
/// fields it cannot tell are `None`.
#[cfg(target_vendor = "apple")]
pub(crate) fn peer_credentials(fd: impl AsFd) -> PeerCredentials {
    use nix::sys::socket::{
        getsockopt,
        sockopt::{LocalPeerCred, LocalPeerPid},
    };
    let pid = getsockopt(&fd, LocalPeerPid)
        .ok()
        .and_then(|p| u32::try_from(p).ok());
    match getsockopt(&fd, LocalPeerCred) {
        Ok(c) => PeerCredentials::posix(pid, Some(c.uid()), c.groups().first().copied()),
        Err(_) => PeerCredentials::posix(pid, None, None),
    }
}

/// Other systems: `getpeereid`, where the C library has it, is not
/// reached through `nix`; nothing is known of the peer.
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly",
    target_vendor = "apple"
)))]
pub(crate) fn peer_credentials(_fd: impl AsFd) -> PeerCredentials {
    PeerCredentials::default()
}

/// The run dir check of a server's bind: a directory every user may write
/// to, without the sticky bit, lets any of them remove or replace the
/// endpoint. A run dir that cannot be examined is left to the bind, which
/// then reports why.
pub(crate) fn check_run_dir(run_dir: &std::path::Path, allow_unsafe: bool) -> crate::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if allow_unsafe {
        return Ok(());
    }
    let Ok(meta) = std::fs::metadata(run_dir) else {
        return Ok(());
    };
    let mode = meta.permissions().mode() & 0o7777;
    if meta.is_dir() && mode & 0o002 != 0 && mode & 0o1000 == 0 {
        return Err(crate::TransportError::UnsafeRunDir {
            path: run_dir.display().to_string(),
            mode,
        });
    }
    Ok(())
}
