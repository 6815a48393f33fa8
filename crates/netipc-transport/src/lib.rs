//! Level 1 transports of netipc: connection lifecycle, handshake, framing
//! and chunking.
//!
#![cfg_attr(
    unix,
    doc = "- [`posix`]: UDS SEQPACKET, the POSIX baseline, and Linux shared memory."
)]
#![cfg_attr(windows, doc = "- [`windows`]: the Named Pipe and Windows shared memory.")]
//! - [`handshake`]: the negotiation matrix as plain functions.
//! - [`names`]: the Windows endpoint names (pipe and shared-memory objects).
//! - [`AbortHandle`]: wakes a blocked receive from another thread.
//! - [`PeerCredentials`], [`AccessPolicy`], [`EndpointMode`]: who is at the
//!   other end, who a server lets in, who may open its files.
//! - [`LogLimit`]: the rate limit of the log lines a peer can cause. The
//!   crate logs through the `log` facade (nothing is written unless the
//!   application installs a logger): a shared-memory set-up that failed
//!   and fell back to the socket, and stale endpoint files removed.
//!
//! Payloads are opaque bytes here; their layouts live in the codec, which
//! this crate re-exports as [`codec`].
//!
//! ```no_run
//! # #[cfg(unix)]
//! # fn main() -> Result<(), netipc::transport::TransportError> {
//! use netipc::transport::posix::{UdsListener, UdsSession};
//! use netipc::transport::{ClientConfig, ServerConfig};
//! use netipc::protocol::{Header, Kind, METHOD_INCREMENT, increment};
//!
//! let listener = UdsListener::bind("/run/netdata", "echo", ServerConfig::default())?;
//! let mut client = UdsSession::connect("/run/netdata", "echo", &ClientConfig::default())?;
//! client.send(&Header::new(Kind::Request, METHOD_INCREMENT, 1, 8), &increment::encode(41))?;
//! # Ok(())
//! # }
//! # #[cfg(not(unix))]
//! # fn main() {}
//! ```
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub use netipc_codec as codec;

#[cfg(unix)]
mod abort;
mod config;
mod error;
mod framing;
pub mod handshake;
mod inflight;
mod log_limit;
pub mod names;
mod peer;
#[cfg(unix)]
pub mod posix;
#[cfg(any(target_os = "linux", windows))]
mod region_layout;
#[cfg(unix)]
mod spin;
#[cfg(windows)]
pub mod windows;

#[cfg(unix)]
pub use abort::AbortHandle;
pub use config::{
    BACKLOG_DEFAULT, BATCH_ITEMS_DEFAULT, ClientConfig, HANDSHAKE_TIMEOUT_DEFAULT, SHM_SPIN_TRIES_DEFAULT,
    ServerConfig, deadline_after,
};
pub use error::{Limit, Result, TransportError};
pub use framing::Role;
#[cfg(unix)]
pub use framing::SendProgress;
pub use log_limit::LogLimit;
pub use peer::{AccessPolicy, EndpointMode, PeerCredentials};
#[cfg(windows)]
pub use windows::AbortHandle;
