//! Level 2 typed services of netipc: clients with caller-driven reconnect
//! and at-least-once retry, and managed servers with typed handlers.
//!
//! One module per service kind: [`cgroups`] (CGROUPS_SNAPSHOT),
//! [`lookup::cgroups`] (CGROUPS_LOOKUP), [`lookup::apps`] (APPS_LOOKUP),
//! [`increment`] and [`string_reverse`] (test methods). Each has a client, a
//! `Handler` and a `ManagedServer`. Callers never see transports, buffers
//! or wire bytes; responses are views that borrow the client until its next
//! call.
//!
//! Servers know their peers: [`ServerConfig::access`] decides who may open
//! a session, and a handler asks [`peer()`] who is calling.
//! [`ManagedServer::stats`] and [`ClientStatus`] count sessions, calls and
//! bytes. Both sides log through the `log` facade (nothing is written
//! unless the application installs a logger): sessions accepted and
//! refused, failed handshakes, failing and panicking handlers, a client's
//! changes of state with their cause; lines a peer can cause are rate
//! limited.
//!
//! # Event loops
//!
//! Calls block their thread until answered (or their timeout). A program
//! built around an event loop watches each client's connection instead:
//! `socket()` (POSIX; `pipe()` on Windows) gives the session's descriptor
//! while connected, which turns readable when the server hangs up, so the
//! loop knows when to `refresh()`. Register it again after a reconnect.
//! (For calls that never block a thread, see the `tokio` feature of the
//! `netipc` crate.)
//!
//! ```
//! # #[cfg(unix)] {
//! use netipc::service::increment::{Handler, IncrementClient, ManagedServer};
//! use netipc::service::{ClientConfig, ServerConfig};
//! use std::os::fd::AsRawFd;
//!
//! let run_dir = std::env::temp_dir().join(format!("netipc-doc-poll-{}", std::process::id()));
//! std::fs::create_dir_all(&run_dir).unwrap();
//! let handler = Handler { handle: Some(Box::new(|v| Some(v + 1))) };
//! let server = ManagedServer::new(&run_dir, "increment", ServerConfig::default(), handler);
//! std::thread::scope(|s| {
//!     let (bound, is_bound) = std::sync::mpsc::channel();
//!     let serving = s.spawn(|| server.run_notify(move || bound.send(()).unwrap()));
//!     is_bound.recv().unwrap();
//!     let mut client = IncrementClient::new(&run_dir, "increment", ClientConfig::default());
//!     client.refresh();
//!     assert_eq!(client.call(41).unwrap(), 42);
//!     // What a loop registers: the connected socket.
//!     let fd = client.socket().expect("connected").as_raw_fd();
//!     let mut watched = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
//!     // SAFETY: one valid pollfd, for a zero-timeout poll.
//!     assert_eq!(unsafe { libc::poll(&mut watched, 1, 0) }, 0, "quiet while the server is up");
//!     server.stop();
//!     serving.join().unwrap().unwrap();
//!     // SAFETY: as above, waiting up to 10 s.
//!     assert_eq!(unsafe { libc::poll(&mut watched, 1, 10_000) }, 1, "readable once it hung up");
//!     client.refresh();
//!     assert!(!client.ready());
//! });
//! std::fs::remove_dir_all(&run_dir).unwrap();
//! # }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub use netipc_transport as transport;

pub mod cgroups;
mod client;
mod client_api;
mod client_log;
mod client_stats;
mod config;
pub mod driver;
mod endpoint;
mod error;
pub mod increment;
pub mod lookup;
mod peer;
mod platform;
mod server;
mod server_log;
mod stats;
pub mod string_reverse;

pub use client::{ClientState, ClientStatus};
pub use client_stats::FailedClientCalls;
pub use config::{
    CALL_TIMEOUT_DEFAULT, ClientConfig, LOOKUP_MAX_ITEMS_DEFAULT, LOOKUP_MAX_STITCHED_BYTES_DEFAULT,
    LOOKUP_MAX_SUBCALLS_DEFAULT, MAX_SESSIONS_DEFAULT, OVERFLOW_RETRIES_MAX,
    RESPONSE_PAYLOAD_CEILING_DEFAULT, ServerConfig,
};
pub use endpoint::Endpoint;
pub use error::{LimitKind, Result, ServiceError};
pub use peer::peer;
pub use server::{Dispatch, ManagedServer, ServiceHandler};
pub use stats::{FailedCalls, ServerStats};
pub use transport::{AccessPolicy, EndpointMode, PeerCredentials};
