//! Level 2 typed services of netipc: clients with reconnect and retry, and
//! managed servers with typed handlers. Built on [`netipc_transport`].
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub use netipc_transport as transport;
