//! POSIX transports: UDS SEQPACKET (the baseline) and, on Linux, the
//! shared-memory data plane negotiated over it.
//!
//! FreeBSD runs the baseline; shared memory is compiled on Linux only, and
//! elsewhere neither side of a handshake offers it. macOS has no SEQPACKET
//! Unix sockets: there binding and connecting fail with
//! [`TransportError::PlatformUnsupported`](crate::TransportError::PlatformUnsupported),
//! never falling back to another socket type.

pub(crate) mod descriptors;
pub(crate) mod peer_cred;
#[cfg(target_os = "linux")]
pub mod shm;
mod uds;

pub use uds::{
    PACKET_SIZE_FALLBACK, PendingSession, UdsListener, UdsSession, endpoint_path, validate_service_name,
};

/// Removes whatever is at an endpoint name that turned out not to be a live
/// server: a file, a socket, a symlink (not its target), or an empty
/// directory. Gone already counts as removed. A directory with something in
/// it is left in place (`DirectoryNotEmpty`), and the caller reports the
/// endpoint in use.
pub(crate) fn remove_endpoint_entry(path: &std::path::Path) -> std::io::Result<()> {
    use std::io::ErrorKind;
    let gone = |r: std::io::Result<()>| match r {
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        r => r,
    };
    match std::fs::remove_file(path) {
        Err(e) if e.kind() == ErrorKind::IsADirectory => gone(std::fs::remove_dir(path)),
        r => gone(r),
    }
}
