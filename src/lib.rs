//! netipc: fast, safe IPC between the plugins of a monitoring agent on one host.
//!
//! Wire-compatible with netdata's `plugin-ipc` (C, Rust and Go peers). This
//! facade gathers the layers under the paths plugins use:
//!
//! - [`protocol`]: the codec, pure byte layouts with zero-copy views;
//! - [`transport`]: Level 1 transports (UDS SEQPACKET, shared memory);
//! - [`service`]: Level 2 typed clients and servers, and the Level 3 cache.
//!
//! ```
//! use netipc::protocol::{CgroupsBuilder, CgroupsResponseView, PROFILE_BASELINE};
//!
//! assert_eq!(PROFILE_BASELINE, 1);
//! let mut payload = Vec::new();
//! let mut b = CgroupsBuilder::new(&mut payload, 65536);
//! b.add(5381, 0, 1, b"", b"")?;
//! let n = b.finish();
//! assert_eq!(CgroupsResponseView::decode(&payload[..n])?.item_count, 1);
//! # Ok::<(), netipc::protocol::CodecError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use netipc_codec as protocol;
pub use netipc_transport as transport;

/// Typed services (Level 2) and the snapshot cache (Level 3).
pub mod service {
    pub use netipc_service::*;

    /// The `cgroups-snapshot` service: client, handler, managed server and cache.
    pub mod cgroups {
        pub use netipc_cache::{CacheReader, CacheSnapshot, CacheStatus, CgroupsCache};
        pub use netipc_service::cgroups::*;
    }
}

/// The Rust examples of the README and of the guides in `docs/`, compiled
/// (and run, unless marked `no_run`) as doctests, so that they follow the API.
#[cfg(doctest)]
mod guide_examples {
    #[doc = include_str!("../README.md")]
    struct Readme;

    #[doc = include_str!("../docs/service.md")]
    struct ServiceGuide;

    // Its example uses the POSIX socket, which macOS lacks.
    #[cfg(any(target_os = "linux", target_os = "freebsd"))]
    #[doc = include_str!("../docs/transport.md")]
    struct TransportGuide;
}
