//! The thread-safety promises of the public types, checked by the compiler.
//!
//! A plugin moves a client into the thread that uses it, shares one managed
//! server between the thread that runs it and the one that stops it, hands
//! cache readers to any thread, and sends errors across threads (as
//! `Box<dyn Error + Send + Sync>`). Losing one of these bounds (say, an `Rc`
//! or a raw pointer field added to a client) breaks this file's build.

use netipc::protocol::{CgroupsResponseView, CodecError};
use netipc::service::cgroups::{CacheReader, CacheSnapshot, CgroupsCache, CgroupsClient};
use netipc::service::increment::IncrementClient;
use netipc::service::lookup::apps::AppsLookupClient;
use netipc::service::lookup::cgroups::CgroupsLookupClient;
use netipc::service::string_reverse::StringReverseClient;
use netipc::service::{ClientConfig, ServerConfig, ServiceError, cgroups, increment, lookup, string_reverse};
use netipc::transport::{AbortHandle, TransportError};

fn send<T: Send>() {}
fn send_sync<T: Send + Sync>() {}
fn error<T: std::error::Error + Send + Sync + 'static>() {}

#[test]
fn clients_and_caches_move_between_threads() {
    send::<IncrementClient>();
    send::<StringReverseClient>();
    send::<CgroupsClient>();
    send::<CgroupsLookupClient>();
    send::<AppsLookupClient>();
    send::<CgroupsCache>();
}

#[test]
fn servers_readers_and_handles_are_shared_between_threads() {
    send_sync::<cgroups::ManagedServer>();
    send_sync::<increment::ManagedServer>();
    send_sync::<string_reverse::ManagedServer>();
    send_sync::<lookup::cgroups::ManagedServer>();
    send_sync::<lookup::apps::ManagedServer>();
    send_sync::<CacheReader>();
    send_sync::<CacheSnapshot>();
    send_sync::<AbortHandle>();
    send_sync::<ClientConfig>();
    send_sync::<ServerConfig>();
    send_sync::<CgroupsResponseView<'static>>();
}

#[test]
fn errors_cross_threads() {
    error::<CodecError>();
    error::<TransportError>();
    error::<ServiceError>();
}

#[cfg(unix)]
#[test]
fn transport_endpoints_move_between_threads() {
    use netipc::transport::posix::{PendingSession, UdsListener, UdsSession};
    send::<UdsSession>();
    send::<PendingSession>();
    send_sync::<UdsListener>();
    #[cfg(target_os = "linux")]
    send::<netipc::transport::posix::shm::ShmRegion>();
}

#[cfg(windows)]
#[test]
fn transport_endpoints_move_between_threads() {
    use netipc::transport::windows::{NpListener, NpPending, NpSession};
    send::<NpSession>();
    send::<NpPending>();
    send_sync::<NpListener>();
}
