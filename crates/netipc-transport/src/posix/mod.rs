//! POSIX transports: UDS SEQPACKET (the baseline) and, on Linux, the
//! shared-memory data plane negotiated over it.

#[cfg(target_os = "linux")]
pub mod shm;
mod uds;

pub use uds::{
    PACKET_SIZE_FALLBACK, PendingSession, UdsListener, UdsSession, endpoint_path, validate_service_name,
};
