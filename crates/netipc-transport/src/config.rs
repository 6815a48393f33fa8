//! Level 1 configuration. A zero field means the named default.

use crate::peer::{AccessPolicy, EndpointMode};
use netipc_codec::{MAX_PAYLOAD_DEFAULT, PROFILE_BASELINE};
use std::time::{Duration, Instant};

/// Default batch-item ceiling (single messages only).
pub const BATCH_ITEMS_DEFAULT: u32 = 1;
/// Default listen backlog.
pub const BACKLOG_DEFAULT: u32 = 16;
/// Spin iterations of a shared-memory receive before it sleeps (on the
/// futex); the specification's POSIX value. Ours are checks about 50 ns
/// apart (one pause apart where spinning is off), followed by the adaptive
/// spin.
#[cfg(not(windows))]
pub const SHM_SPIN_TRIES_DEFAULT: u32 = 128;
/// Spin iterations of a shared-memory receive before it sleeps (on its
/// event); the specification's Windows value, higher because kernel waits
/// cost more there. The server writes it into the region header.
#[cfg(windows)]
pub const SHM_SPIN_TRIES_DEFAULT: u32 = 1024;
/// Default time a handshake may take before the connection is dropped.
pub const HANDSHAKE_TIMEOUT_DEFAULT: Duration = Duration::from_secs(5);

/// The instant `timeout` from now. A timeout too long to add to the clock
/// (`Duration::MAX`, say, for "no limit") gives an instant about a century
/// away instead of overflowing, which would panic.
///
/// ```
/// use std::time::{Duration, Instant};
/// let far = netipc::transport::deadline_after(Duration::MAX);
/// assert!(far > Instant::now() + Duration::from_secs(3_000_000_000));
/// ```
pub fn deadline_after(timeout: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    let now = Instant::now();
    now.checked_add(timeout.min(FAR)).unwrap_or(now)
}

fn or(v: u32, default: u32) -> u32 {
    if v == 0 { default } else { v }
}

/// What a client proposes in its handshake.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientConfig {
    /// Profiles the client can run (0: baseline only).
    pub supported_profiles: u32,
    /// Profiles the client prefers.
    pub preferred_profiles: u32,
    /// Whole-request payload ceiling (0: [`MAX_PAYLOAD_DEFAULT`]).
    pub max_request_payload_bytes: u32,
    /// Request batch-item ceiling (0: [`BATCH_ITEMS_DEFAULT`]).
    pub max_request_batch_items: u32,
    /// Response payload hint (0: [`MAX_PAYLOAD_DEFAULT`]).
    pub max_response_payload_bytes: u32,
    /// Response batch-item hint (0: [`BATCH_ITEMS_DEFAULT`]).
    pub max_response_batch_items: u32,
    /// The caller's auth token.
    pub auth_token: u64,
    /// Packet size to propose (0: from the socket's `SO_SNDBUF` on POSIX,
    /// 65536 on the Named Pipe).
    pub packet_size: u32,
    /// Deadline of the connect and the handshake (zero:
    /// [`HANDSHAKE_TIMEOUT_DEFAULT`]; `Duration::MAX`: no limit).
    pub handshake_timeout: Duration,
    /// Checks a shared-memory receive makes for its message before it
    /// spins adaptively and then sleeps (0: [`SHM_SPIN_TRIES_DEFAULT`]).
    /// On Linux they are about 50 ns apart, one pause
    /// apart where spinning is off; on Windows one pause apart.
    pub shm_spin_tries: u32,
    /// Further spinning, by time, before a shared-memory receive sleeps
    /// (`None`: 50 µs on a machine with several CPUs, none on one).
    pub shm_spin_budget: Option<Duration>,
    /// Busy-polling of the socket before a receive blocks (`None`: as for
    /// shared memory; `Some(Duration::ZERO)` turns it off).
    pub socket_spin_budget: Option<Duration>,
}

impl ClientConfig {
    // A Windows client takes the count from the region header instead.
    #[cfg(target_os = "linux")]
    pub(crate) fn effective_shm_spin_tries(&self) -> u32 {
        or(self.shm_spin_tries, SHM_SPIN_TRIES_DEFAULT)
    }
    pub(crate) fn effective_supported_profiles(&self) -> u32 {
        or(self.supported_profiles, PROFILE_BASELINE)
    }
    pub(crate) fn effective_max_request_payload_bytes(&self) -> u32 {
        or(self.max_request_payload_bytes, MAX_PAYLOAD_DEFAULT)
    }
    pub(crate) fn effective_max_request_batch_items(&self) -> u32 {
        or(self.max_request_batch_items, BATCH_ITEMS_DEFAULT)
    }
    pub(crate) fn effective_max_response_payload_bytes(&self) -> u32 {
        or(self.max_response_payload_bytes, MAX_PAYLOAD_DEFAULT)
    }
    pub(crate) fn effective_max_response_batch_items(&self) -> u32 {
        or(self.max_response_batch_items, BATCH_ITEMS_DEFAULT)
    }
    pub(crate) fn effective_handshake_timeout(&self) -> Duration {
        if self.handshake_timeout.is_zero() {
            HANDSHAKE_TIMEOUT_DEFAULT
        } else {
            self.handshake_timeout
        }
    }
}

/// What a server accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerConfig {
    /// Profiles the server can run (0: baseline only).
    pub supported_profiles: u32,
    /// Profiles the server prefers.
    pub preferred_profiles: u32,
    /// Largest request payload a client may propose (0: [`MAX_PAYLOAD_DEFAULT`]).
    pub max_request_payload_bytes: u32,
    /// Request batch-item ceiling (informational; the client's proposal is echoed).
    pub max_request_batch_items: u32,
    /// Response payload ceiling of every session (0: [`MAX_PAYLOAD_DEFAULT`]).
    pub max_response_payload_bytes: u32,
    /// Response batch-item ceiling (informational; symmetric with requests).
    pub max_response_batch_items: u32,
    /// The auth token clients must present.
    pub auth_token: u64,
    /// Packet size of the server side (0: from the socket's `SO_SNDBUF` on
    /// POSIX, 65536 on the Named Pipe).
    pub packet_size: u32,
    /// Listen backlog (0: [`BACKLOG_DEFAULT`]).
    pub backlog: u32,
    /// Deadline of a handshake (zero: [`HANDSHAKE_TIMEOUT_DEFAULT`];
    /// `Duration::MAX`: no limit).
    pub handshake_timeout: Duration,
    /// Checks a shared-memory receive makes for its message before it
    /// spins adaptively and then sleeps (0: [`SHM_SPIN_TRIES_DEFAULT`]).
    /// On Linux they are about 50 ns apart, one pause
    /// apart where spinning is off; on Windows one pause apart.
    pub shm_spin_tries: u32,
    /// Further spinning, by time, before a shared-memory receive sleeps
    /// (`None`: 50 µs on a machine with several CPUs, none on one).
    pub shm_spin_budget: Option<Duration>,
    /// Busy-polling of the socket before a receive blocks (`None`: as for
    /// shared memory; `Some(Duration::ZERO)` turns it off).
    pub socket_spin_budget: Option<Duration>,
    /// Who may open a session (default: anyone who can reach the
    /// endpoint). A refused peer is answered AUTH_FAILED.
    pub access: AccessPolicy,
    /// Permissions of the endpoint's socket and region files (default:
    /// owner only, 0600).
    pub endpoint_mode: EndpointMode,
    /// Serve from a run dir that every user may write to and that lacks
    /// the sticky bit, which is refused otherwise
    /// ([`TransportError::UnsafeRunDir`](crate::TransportError::UnsafeRunDir)).
    pub allow_unsafe_run_dir: bool,
}

impl ServerConfig {
    #[cfg(any(target_os = "linux", windows))]
    pub(crate) fn effective_shm_spin_tries(&self) -> u32 {
        or(self.shm_spin_tries, SHM_SPIN_TRIES_DEFAULT)
    }
    pub(crate) fn effective_supported_profiles(&self) -> u32 {
        or(self.supported_profiles, PROFILE_BASELINE)
    }
    pub(crate) fn effective_max_request_payload_bytes(&self) -> u32 {
        or(self.max_request_payload_bytes, MAX_PAYLOAD_DEFAULT)
    }
    pub(crate) fn effective_max_response_payload_bytes(&self) -> u32 {
        or(self.max_response_payload_bytes, MAX_PAYLOAD_DEFAULT)
    }
    #[cfg(unix)]
    pub(crate) fn effective_backlog(&self) -> u32 {
        or(self.backlog, BACKLOG_DEFAULT)
    }
    pub(crate) fn effective_handshake_timeout(&self) -> Duration {
        if self.handshake_timeout.is_zero() {
            HANDSHAKE_TIMEOUT_DEFAULT
        } else {
            self.handshake_timeout
        }
    }
}
