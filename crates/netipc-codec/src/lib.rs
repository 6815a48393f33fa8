//! The wire codec of netipc: pure byte layouts, no I/O.
//!
//! Every layout here is byte-exact with netdata's `plugin-ipc` protocol, so
//! Rust peers built on it interoperate with its C and Go peers. Integers are
//! in host byte order, as the protocol requires.
//!
//! - [`Header`] and [`ChunkHeader`]: the 32-byte envelope and continuation
//!   headers; [`ChunkPlan`] cuts a message into packets.
//! - [`Hello`] / [`HelloAck`]: the handshake payloads.
//! - [`BatchBuilder`] / [`BatchView`]: L1 batch framing.
//! - [`increment`], [`string_reverse`]: the test methods.
//! - [`CgroupsBuilder`] / [`CgroupsResponseView`]: CGROUPS_SNAPSHOT.
//! - [`lookup`]: CGROUPS_LOOKUP and APPS_LOOKUP.
//! - [`simple_hash`]: the hash netdata's producers give each cgroups item.
//!
//! Decoding never allocates: `...View` types borrow the payload and are valid
//! only while it is. Builders write into a caller-owned `Vec<u8>` whose
//! capacity is reused, within a byte budget. `to_owned` makes owned copies.
//!
//! ```
//! use netipc::protocol::{CgroupsBuilder, CgroupsResponseView};
//!
//! let mut payload = Vec::new();
//! let mut b = CgroupsBuilder::new(&mut payload, 65536);
//! b.set_header(1, 7);
//! b.add(42, 0, 1, b"init.scope", b"/sys/fs/cgroup/init.scope")?;
//! let len = b.finish();
//!
//! let view = CgroupsResponseView::decode(&payload[..len])?;
//! for item in view.iter() {
//!     println!("{} {}", item.hash, item.path);
//! }
//! # Ok::<(), netipc::protocol::CodecError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod batch;
mod cgroups_snapshot;
mod chunk;
mod directory;
mod error;
mod header;
mod hello;
mod items;
mod simple_hash;
mod strview;
mod wire;

pub mod increment;
pub mod lookup;
pub mod string_reverse;

pub use batch::{BatchBuilder, BatchItems, BatchView};
pub use cgroups_snapshot::*;
pub use chunk::{CHUNK_HEADER_LEN, ChunkHeader, ChunkPlan, MAGIC_CHUNK};
pub use directory::DIR_ENTRY_SIZE;
pub use error::{CodecError, Result};
pub use header::*;
pub use hello::{HELLO_ACK_LEN, HELLO_LEN, Hello, HelloAck};
pub use items::{IndexedView, Items};
pub use simple_hash::simple_hash;
pub use strview::{StrView, WireString};
pub use wire::{ALIGN, align8};

/// The crate's README, whose example runs as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
