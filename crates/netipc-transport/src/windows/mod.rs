//! Windows transports: the Named Pipe baseline and, when both sides offer
//! it, the shared-memory data plane (SHM_HYBRID or SHM_BUSYWAIT) with the
//! pipe kept for the handshake and liveness.

mod abort;
mod pipe;
mod region;
mod shm;
mod win32;

pub use abort::AbortHandle;
pub use pipe::{NpListener, NpPending, NpSession, PIPE_PACKET_SIZE_DEFAULT};
pub use region::WinShmRegion;
