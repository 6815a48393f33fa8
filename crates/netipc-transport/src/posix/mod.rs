//! POSIX transports: UDS SEQPACKET (the baseline).

mod uds;

pub use uds::{
    PACKET_SIZE_FALLBACK, PendingSession, UdsListener, UdsSession, endpoint_path, validate_service_name,
};
