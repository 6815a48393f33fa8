//! Level 3 of netipc: an owned copy of the last good cgroups snapshot with
//! O(1) lookup by (hash, name). Built on [`netipc_service`].
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub use netipc_service as service;
