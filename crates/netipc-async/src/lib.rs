//! Async netipc on tokio: typed clients, the snapshot cache and managed
//! servers that never block a runtime worker, on the wire exactly as the
//! blocking ones (reached through the `tokio` feature of `netipc`, as
//! `netipc::tokio`).
//!
//! - [`cgroups`]: [`cgroups::CgroupsClient`], [`cgroups::CgroupsCache`]
//!   (async refresh, synchronous O(1) lookups) and the server;
//! - [`lookup::cgroups`], [`lookup::apps`]: the lookup clients and servers;
//! - [`increment`], [`string_reverse`]: the test services.
//!
//! The clients have the blocking clients' API with `async` calls:
//! `refresh`, `ready`, `status`, at-least-once retry after a failure in
//! READY, overflow regrowth, per-call timeouts (on tokio's clock) and
//! abort. The policy is the blocking clients' own code
//! (`netipc_service::driver`); only the I/O differs. The servers take the
//! blocking servers' `Handler`s; each session is a task.
//!
//! # How the I/O waits
//!
//! - Before it waits, a task yields its CPU once (a peer on the same CPU
//!   answers meanwhile) and spins for a short while (a busy peer on
//!   another CPU answers within it): 5 µs for a client's answer, 50 µs for
//!   a server session's next request. Waits skip whichever stops paying,
//!   for a while.
//! - Sockets are registered with the runtime (`tokio::io::unix::AsyncFd`);
//!   messages are sent and received without blocking, packet by packet,
//!   and a chunked message resumes where the socket stopped it.
//! - Shared memory (Linux): after the yield and the spin, a task hands the
//!   wait to its session's waiter thread, which sleeps on the futex and
//!   wakes the task. Every message this side publishes wakes the peer, as
//!   any peer, ours or the reference's, expects. Meanwhile the socket is
//!   watched for the peer's hang-up.
//! - Connects and handshakes (a few per session) run on the runtime's
//!   blocking pool.
//!
//! The runtime needs its I/O and time drivers (`Builder::enable_all`, as
//! `#[tokio::main]` does).
//!
//! # Cancellation
//!
//! Every async method is cancel safe: a future dropped at any await point
//! leaves its client usable. If a call's request may already be out, the
//! client drops that session at its next call or refresh and connects
//! again, so a later call can never receive an earlier call's answer.
//!
//! # Platforms
//!
//! Linux (sockets and shared memory), FreeBSD (sockets). On macOS the
//! protocol's socket type does not exist, as for the blocking API. On
//! Windows this crate has no types yet: see `docs/async.md`.
//!
//! ```
//! # #[cfg(unix)]
//! # fn main() {
//! use netipc::tokio::increment::{Handler, IncrementClient, ManagedServer};
//! use netipc::service::{ClientConfig, ServerConfig};
//! use std::sync::Arc;
//!
//! let run_dir = std::env::temp_dir().join(format!("netipc-doc-async-{}", std::process::id()));
//! std::fs::create_dir_all(&run_dir).unwrap();
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
//! runtime.block_on(async {
//!     let handler = Handler { handle: Some(Box::new(|v| Some(v + 1))) };
//!     let server = Arc::new(ManagedServer::new(&run_dir, "increment", ServerConfig::default(), handler));
//!     let (bound, is_bound) = tokio::sync::oneshot::channel();
//!     let serving = tokio::spawn({
//!         let server = Arc::clone(&server);
//!         async move { server.run_notify(move || drop(bound.send(()))).await }
//!     });
//!     is_bound.await.unwrap();
//!     let mut client = IncrementClient::new(&run_dir, "increment", ClientConfig::default());
//!     client.refresh().await;
//!     assert_eq!(client.call(41).await.unwrap(), 42);
//!     server.stop();
//!     serving.await.unwrap().unwrap();
//! });
//! std::fs::remove_dir_all(&run_dir).unwrap();
//! # }
//! # #[cfg(not(unix))]
//! # fn main() {}
//! ```
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(unix)]
mod abort;
#[cfg(unix)]
mod cache;
#[cfg(unix)]
pub mod cgroups;
#[cfg(unix)]
mod client;
#[cfg(unix)]
mod client_api;
#[cfg(unix)]
pub mod increment;
#[cfg(unix)]
pub mod lookup;
#[cfg(unix)]
mod server;
#[cfg(unix)]
mod session;
#[cfg(target_os = "linux")]
mod shm_waiter;
#[cfg(unix)]
pub mod string_reverse;
#[cfg(unix)]
mod wait;

#[cfg(unix)]
pub use abort::AbortHandle;
#[cfg(unix)]
pub use server::{HandlerMode, ManagedServer};
