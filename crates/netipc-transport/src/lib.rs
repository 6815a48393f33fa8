//! Level 1 transports of netipc: connection lifecycle, handshake, framing
//! and chunking over UDS SEQPACKET and Linux shared memory (POSIX), and
//! Named Pipes and Windows shared memory.
//!
//! Payloads are opaque bytes here; their layouts live in the codec, which
//! this crate re-exports as [`codec`].
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub use netipc_codec as codec;
