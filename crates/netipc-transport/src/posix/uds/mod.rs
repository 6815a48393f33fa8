//! The baseline POSIX transport: `AF_UNIX` / `SOCK_SEQPACKET`.
//!
//! The endpoint is `{run_dir}/{service}.sock`. One packet per SEQPACKET
//! message; messages over the packet size are chunked by [`crate::framing`].
//!
//! - [`socket`]: the descriptor, packet I/O, waiting and busy-polling;
//! - [`session`]: a handshake-complete session ([`UdsSession`]);
//! - [`listener`]: the endpoint, stale recovery, accept and the server
//!   side of the handshake.

mod listener;
mod session;
mod socket;
mod sys;

pub use crate::names::{validate_run_dir, validate_service_name};
pub use listener::{PendingSession, UdsListener};
pub use session::UdsSession;
pub use socket::PACKET_SIZE_FALLBACK;

use crate::error::{Result, TransportError};
use netipc_codec::PROFILE_BASELINE;
use std::path::{Path, PathBuf};

/// Profiles this platform can run: the baseline, and SHM_HYBRID on Linux.
/// Both sides of a handshake drop every other bit from their supported and
/// preferred profiles, so FreeBSD and macOS never offer shared memory: a
/// configuration that asks for baseline and SHM runs the baseline there.
#[cfg(target_os = "linux")]
const IMPLEMENTED_PROFILES: u32 = PROFILE_BASELINE | netipc_codec::PROFILE_SHM_HYBRID;
#[cfg(not(target_os = "linux"))]
const IMPLEMENTED_PROFILES: u32 = PROFILE_BASELINE;

/// How long a client retries attaching a region the server announced.
#[cfg(target_os = "linux")]
const SHM_ATTACH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Checks a run dir and a service name and derives `{run_dir}/{service}.sock`.
pub fn endpoint_path(run_dir: &Path, service: &str) -> Result<PathBuf> {
    validate_run_dir(run_dir)?;
    validate_service_name(service)?;
    let path = run_dir.join(format!("{service}.sock"));
    // sun_path holds the path and its NUL: 108 bytes on Linux, 104 on
    // FreeBSD and macOS.
    let max =
        std::mem::size_of::<libc::sockaddr_un>() - std::mem::offset_of!(libc::sockaddr_un, sun_path) - 1;
    let len = path.as_os_str().len();
    if len > max {
        return Err(TransportError::PathTooLong { len, max });
    }
    Ok(path)
}
