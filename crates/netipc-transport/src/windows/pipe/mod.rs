//! The Windows baseline transport: a Named Pipe in message mode.
//!
//! The endpoint is `\\.\pipe\netipc-{fnv1a64(run_dir):016x}-{service}`.
//! Every packet is one pipe message; the framing (limits, chunking,
//! correlation) is the same as on POSIX. All I/O is overlapped, so a wait
//! can watch a deadline and an abort event at the same time.
//!
//! `io` holds the overlapped reads and writes of one pipe handle,
//! `session` the handshake-complete session, `listener` the server's
//! endpoint and the handshake of an accepted client.

mod io;
mod listener;
mod peer_cred;
mod session;

pub use listener::{NpListener, NpPending};
pub use session::NpSession;

use netipc_codec::{PROFILE_BASELINE, PROFILE_SHM_BUSYWAIT, PROFILE_SHM_HYBRID};

/// The profiles this transport carries.
const IMPLEMENTED_PROFILES: u32 = PROFILE_BASELINE | PROFILE_SHM_HYBRID | PROFILE_SHM_BUSYWAIT;

/// Packet size when none is configured.
pub const PIPE_PACKET_SIZE_DEFAULT: u32 = 65536;
/// The configured packet size, or [`PIPE_PACKET_SIZE_DEFAULT`] for 0.
fn packet_size_or_default(configured: u32) -> u32 {
    if configured == 0 {
        PIPE_PACKET_SIZE_DEFAULT
    } else {
        configured
    }
}
