//! netipc: fast, safe IPC between the plugins of a monitoring agent on one host.
//!
//! netipc speaks the wire protocol of netdata's `plugin-ipc` byte for byte,
//! so a Rust plugin built on it serves and consumes typed services
//! (`cgroups-snapshot`, `cgroups-lookup`, `apps-lookup`, ...) together with
//! the protocol's C and Go peers. Sessions run over Unix SEQPACKET sockets
//! (Linux, FreeBSD), upgraded to shared memory on Linux when both sides
//! offer it, or over Named Pipes and Windows shared memory.
//!
//! # The three shapes
//!
//! A **typed client** asks a service; the view it returns borrows the
//! client until its next call:
//!
//! ```no_run
//! use netipc::protocol::PROFILE_BASELINE;
//! use netipc::service::cgroups::{CgroupsClient, ClientConfig};
//!
//! let config = ClientConfig {
//!     supported_profiles: PROFILE_BASELINE,
//!     auth_token: 0xDEADBEEFCAFEBABE,
//!     ..ClientConfig::default()
//! };
//! let mut client = CgroupsClient::new("/run/netdata", "cgroups-snapshot", config);
//! client.refresh(); // connects; call it from your loop
//! if client.ready() {
//!     match client.call_snapshot() {
//!         Ok(view) => {
//!             for item in view.iter() {
//!                 println!("{} {} {}", item.hash, item.name, item.path);
//!             }
//!         }
//!         Err(e) => eprintln!("call failed: {e}"),
//!     }
//! }
//! client.close();
//! ```
//!
//! A **managed server** serves one service kind with one typed handler:
//!
//! ```no_run
//! use netipc::service::cgroups::{Handler, ManagedServer, ServerConfig, simple_hash};
//!
//! let handler = Handler {
//!     handle: Some(Box::new(|_request, builder| {
//!         builder.set_header(1, 42); // systemd_enabled, generation
//!         let name = b"docker-abc123";
//!         builder.add(simple_hash(name), 0, 1, name, b"/sys/fs/cgroup/docker/abc123").is_ok()
//!     })),
//! };
//! let config = ServerConfig { auth_token: 0xDEADBEEFCAFEBABE, ..ServerConfig::default() };
//! let server = ManagedServer::new("/run/netdata", "cgroups-snapshot", config, handler);
//! // Blocks until `server.stop()` from another thread; errors say why.
//! if let Err(e) = server.run() {
//!     eprintln!("cannot serve: {e}");
//! }
//! ```
//!
//! The **L3 cache** keeps the last good snapshot, with O(1) lookups:
//!
//! ```no_run
//! use netipc::service::cgroups::{CgroupsCache, ClientConfig, simple_hash};
//!
//! let config = ClientConfig { auth_token: 0xDEADBEEFCAFEBABE, ..ClientConfig::default() };
//! let mut cache = CgroupsCache::new("/run/netdata", "cgroups-snapshot", config);
//! if cache.refresh() {
//!     println!("cache updated: {} items", cache.len());
//! }
//! if let Some(item) = cache.lookup(simple_hash(b"docker-abc123"), "docker-abc123") {
//!     println!("{}: {}", item.name, item.path);
//! }
//! cache.close();
//! ```
//!
//! The README's example runs a provider and a consumer together.
//!
//! # Layers
//!
//! | path | crate | what it holds |
//! |---|---|---|
//! | [`service`] | [`netipc_service`], [`netipc_cache`] | Level 2 typed clients and managed servers, one module per service kind; the Level 3 cache in [`service::cgroups`] |
//! | [`transport`] | [`netipc_transport`] | Level 1 sessions: handshake, framing, chunking, shared memory; for tools that need raw sessions |
//! | [`protocol`] | [`netipc_codec`] | constants and the codec: pure byte layouts with zero-copy views |
//!
//! Each crate uses only the one below it. Everything a plugin needs is in
//! [`service`] and [`protocol`]; each item has one path here.
//! [`service::ClientConfig`] (also at `service::cgroups::ClientConfig` and
//! the other service kinds' modules, as the reference's examples name it)
//! configures typed clients; [`transport::ClientConfig`] is the Level 1
//! handshake proposal of a raw session, which typed clients derive from
//! theirs.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use netipc_codec as protocol;

/// Level 1 transports: sessions, the handshake, framing and chunking,
/// shared memory. Payloads are opaque bytes here; their layouts are in
/// [`protocol`].
pub mod transport {
    pub use netipc_transport::{
        AbortHandle, BACKLOG_DEFAULT, BATCH_ITEMS_DEFAULT, ClientConfig, HANDSHAKE_TIMEOUT_DEFAULT, Limit,
        LogLimit, Result, Role, SHM_SPIN_TRIES_DEFAULT, ServerConfig, TransportError, deadline_after,
        handshake, names,
    };

    #[cfg(unix)]
    pub use netipc_transport::posix;
    #[cfg(windows)]
    pub use netipc_transport::windows;
}

/// Typed services (Level 2) and the snapshot cache (Level 3).
pub mod service {
    pub use netipc_service::{
        AccessPolicy, CALL_TIMEOUT_DEFAULT, ClientConfig, ClientState, ClientStatus, Dispatch, Endpoint,
        EndpointMode, FailedCalls, FailedClientCalls, LOOKUP_MAX_ITEMS_DEFAULT,
        LOOKUP_MAX_STITCHED_BYTES_DEFAULT, LOOKUP_MAX_SUBCALLS_DEFAULT, LimitKind, MAX_SESSIONS_DEFAULT,
        ManagedServer, OVERFLOW_RETRIES_MAX, PeerCredentials, RESPONSE_PAYLOAD_CEILING_DEFAULT, Result,
        ServerConfig, ServerStats, ServiceError, ServiceHandler, driver, increment, lookup, peer,
        string_reverse,
    };

    /// The `cgroups-snapshot` service: client, handler, managed server and cache.
    pub mod cgroups {
        pub use netipc_cache::{CacheReader, CacheSnapshot, CacheStatus, CgroupsCache};
        pub use netipc_service::cgroups::*;
    }
}

/// Async clients, the snapshot cache and managed servers on tokio (the
/// `tokio` feature; POSIX): the same services with `async` calls, cancel
/// safe, never blocking a runtime worker. See [`netipc_async`] and
/// `docs/async.md` (which says what Windows has instead).
#[cfg(all(feature = "tokio", unix))]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod tokio {
    pub use netipc_async::*;
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
