//! Windows transports: the Named Pipe baseline.
//!
//! Only the baseline profile is offered here; the Windows shared-memory
//! profiles are not implemented yet, so a session always negotiates
//! [`PROFILE_BASELINE`](netipc_codec::PROFILE_BASELINE).

mod abort;
mod pipe;

pub use abort::AbortHandle;
pub use pipe::{NpListener, NpPending, NpSession, PIPE_PACKET_SIZE_DEFAULT};
