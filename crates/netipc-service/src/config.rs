//! Level 2 configuration. Every field has a named default; a zero field
//! means that default.

use crate::transport::codec::{MAX_PAYLOAD_CAP, MAX_PAYLOAD_DEFAULT, PROFILE_BASELINE};
use crate::transport::{self, AccessPolicy, BATCH_ITEMS_DEFAULT, EndpointMode};
use std::time::Duration;

/// Default deadline of one typed call.
pub const CALL_TIMEOUT_DEFAULT: Duration = Duration::from_secs(30);
/// Default number of sessions a managed server serves at once.
pub const MAX_SESSIONS_DEFAULT: usize = 16;
/// Default ceiling of keys in one logical lookup call.
pub const LOOKUP_MAX_ITEMS_DEFAULT: u32 = 65_536;
/// Default ceiling of request/response cycles in one logical lookup call.
pub const LOOKUP_MAX_SUBCALLS_DEFAULT: u32 = 4_096;
/// Default ceiling of the stitched response of one logical lookup call.
pub const LOOKUP_MAX_STITCHED_BYTES_DEFAULT: u32 = 64 * 1024 * 1024;
/// How many times one call may reconnect with grown capacities.
pub const OVERFLOW_RETRIES_MAX: u32 = 8;
/// Default ceiling of a managed server's response payload growth: room for
/// a cgroups snapshot of about 270,000 items with 64-byte names and
/// 128-byte paths (100,000 such items take 24 MB). Sessions start small and
/// are offered what the answers need, so memory follows the data, not this
/// ceiling. Service policy, not a wire limit: the Level 1 default
/// (`MAX_PAYLOAD_CAP`, 1 MiB) would not hold a snapshot of 5,000 cgroups.
pub const RESPONSE_PAYLOAD_CEILING_DEFAULT: u32 = 64 * 1024 * 1024;

pub(crate) fn or(v: u32, default: u32) -> u32 {
    if v == 0 { default } else { v }
}

/// A typed client's configuration.
///
/// ```
/// use netipc::service::ClientConfig;
/// use netipc::protocol::PROFILE_BASELINE;
/// let config = ClientConfig {
///     supported_profiles: PROFILE_BASELINE,
///     max_response_payload_bytes: 65536,
///     auth_token: 0xDEADBEEFCAFEBABE,
///     ..ClientConfig::default()
/// };
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientConfig {
    /// Profiles to offer (0: baseline only).
    pub supported_profiles: u32,
    /// Profiles to prefer.
    pub preferred_profiles: u32,
    /// Initial request payload proposal (0: `MAX_PAYLOAD_DEFAULT`); grows on overflow.
    pub max_request_payload_bytes: u32,
    /// Request batch-item ceiling (0: 1).
    pub max_request_batch_items: u32,
    /// Response payload hint (0: `MAX_PAYLOAD_DEFAULT`).
    pub max_response_payload_bytes: u32,
    /// Response batch-item hint (0: 1).
    pub max_response_batch_items: u32,
    /// The auth token the server expects.
    pub auth_token: u64,
    /// Deadline of one call, reconnects included (zero: [`CALL_TIMEOUT_DEFAULT`];
    /// `Duration::MAX`: no limit).
    pub call_timeout: Duration,
    /// Packet size to propose (0: the socket's).
    pub packet_size: u32,
    /// Deadline of a connect and its handshake (zero: the transport's
    /// `HANDSHAKE_TIMEOUT_DEFAULT`, 5 s; `Duration::MAX`: no limit).
    pub handshake_timeout: Duration,
    /// Spin iterations of a shared-memory wait (0: the transport default).
    pub shm_spin_tries: u32,
    /// Time a shared-memory wait may spin before sleeping (`None`: automatic).
    pub shm_spin_budget: Option<Duration>,
    /// Time a socket receive may busy-poll before it blocks (`None`:
    /// automatic, none on a one-CPU machine; `Some(Duration::ZERO)` never
    /// spins, trading latency for CPU).
    pub socket_spin_budget: Option<Duration>,
    /// Ceiling of automatic request payload growth (0: [`MAX_PAYLOAD_CAP`],
    /// or the configured request payload if larger).
    pub request_payload_ceiling: u32,
    /// Keys one logical lookup call may carry (0: [`LOOKUP_MAX_ITEMS_DEFAULT`]).
    pub lookup_max_items: u32,
    /// Request/response cycles one logical lookup call may use
    /// (0: [`LOOKUP_MAX_SUBCALLS_DEFAULT`]).
    pub lookup_max_subcalls: u32,
    /// Bytes of the stitched response of one logical lookup call
    /// (0: [`LOOKUP_MAX_STITCHED_BYTES_DEFAULT`]).
    pub lookup_max_stitched_bytes: u32,
}

impl ClientConfig {
    pub(crate) fn call_timeout(&self) -> Duration {
        if self.call_timeout.is_zero() {
            CALL_TIMEOUT_DEFAULT
        } else {
            self.call_timeout
        }
    }

    pub(crate) fn lookup_limits(&self) -> (u32, u32, u32) {
        (
            or(self.lookup_max_items, LOOKUP_MAX_ITEMS_DEFAULT),
            or(self.lookup_max_subcalls, LOOKUP_MAX_SUBCALLS_DEFAULT),
            or(self.lookup_max_stitched_bytes, LOOKUP_MAX_STITCHED_BYTES_DEFAULT),
        )
    }

    pub(crate) fn request_ceiling(&self) -> u32 {
        or(self.request_payload_ceiling, MAX_PAYLOAD_CAP).max(self.max_request_payload_bytes)
    }

    /// The request payload size a first handshake proposes.
    pub(crate) fn initial_request(&self) -> u32 {
        or(self.max_request_payload_bytes, MAX_PAYLOAD_DEFAULT)
    }

    pub(crate) fn to_transport(&self) -> transport::ClientConfig {
        transport::ClientConfig {
            supported_profiles: or(self.supported_profiles, PROFILE_BASELINE),
            preferred_profiles: self.preferred_profiles,
            max_request_payload_bytes: self.initial_request(),
            max_request_batch_items: or(self.max_request_batch_items, BATCH_ITEMS_DEFAULT),
            max_response_payload_bytes: or(self.max_response_payload_bytes, MAX_PAYLOAD_DEFAULT),
            max_response_batch_items: or(self.max_response_batch_items, BATCH_ITEMS_DEFAULT),
            auth_token: self.auth_token,
            packet_size: self.packet_size,
            handshake_timeout: self.handshake_timeout,
            shm_spin_tries: self.shm_spin_tries,
            shm_spin_budget: self.shm_spin_budget,
            socket_spin_budget: self.socket_spin_budget,
        }
    }
}

/// A managed server's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerConfig {
    /// Profiles to offer (0: baseline only).
    pub supported_profiles: u32,
    /// Profiles to prefer.
    pub preferred_profiles: u32,
    /// Largest request payload a client may propose (0: `MAX_PAYLOAD_DEFAULT`).
    pub max_request_payload_bytes: u32,
    /// Request batch-item ceiling (informational: the client's proposal is echoed).
    pub max_request_batch_items: u32,
    /// Initial response payload ceiling of a session (0: `MAX_PAYLOAD_DEFAULT`).
    pub max_response_payload_bytes: u32,
    /// Response batch-item ceiling (informational).
    pub max_response_batch_items: u32,
    /// The auth token clients must present.
    pub auth_token: u64,
    /// Listen backlog (0: the transport default).
    pub backlog: u32,
    /// Packet size (0: the socket's).
    pub packet_size: u32,
    /// How long an accepted connection may take to complete its handshake
    /// before it is dropped, freeing its session slot (zero: the
    /// transport's `HANDSHAKE_TIMEOUT_DEFAULT`, 5 s; `Duration::MAX`: no
    /// limit).
    pub handshake_timeout: Duration,
    /// Sessions served at once (0: [`MAX_SESSIONS_DEFAULT`]).
    pub max_sessions: usize,
    /// Ceiling of response payload growth after overflows (0: the configured
    /// response payload when set, else [`RESPONSE_PAYLOAD_CEILING_DEFAULT`]).
    pub response_payload_ceiling: u32,
    /// Spin iterations of a shared-memory wait (0: the transport default).
    pub shm_spin_tries: u32,
    /// Time a shared-memory wait may spin before sleeping (`None`: automatic).
    pub shm_spin_budget: Option<Duration>,
    /// Time a socket receive may busy-poll before it blocks (`None`:
    /// automatic, none on a one-CPU machine; `Some(Duration::ZERO)` never
    /// spins, trading latency for CPU).
    pub socket_spin_budget: Option<Duration>,
    /// Who may open a session (default: anyone who can reach the
    /// endpoint, as in the protocol's other implementations). A refused
    /// peer gets the handshake's AUTH_FAILED, as for a wrong token; the
    /// server counts it ([`ServerStats`](crate::ServerStats)) and logs it.
    pub access: AccessPolicy,
    /// Permissions of the endpoint's socket and shared-memory files
    /// (default: owner only, 0600; [`EndpointMode::Group`] for 0660).
    pub endpoint_mode: EndpointMode,
    /// Serve from a run dir that every user may write to and that lacks
    /// the sticky bit. Refused by default: any local user could replace
    /// the endpoint there.
    pub allow_unsafe_run_dir: bool,
}

impl ServerConfig {
    pub(crate) fn initial_response(&self) -> u32 {
        or(self.max_response_payload_bytes, MAX_PAYLOAD_DEFAULT)
    }

    pub(crate) fn response_ceiling(&self) -> u32 {
        let base = if self.max_response_payload_bytes != 0 {
            self.max_response_payload_bytes
        } else {
            RESPONSE_PAYLOAD_CEILING_DEFAULT
        };
        or(self.response_payload_ceiling, base).max(self.initial_response())
    }

    pub(crate) fn max_sessions(&self) -> usize {
        if self.max_sessions == 0 {
            MAX_SESSIONS_DEFAULT
        } else {
            self.max_sessions
        }
    }

    pub(crate) fn to_transport(&self) -> transport::ServerConfig {
        transport::ServerConfig {
            supported_profiles: or(self.supported_profiles, PROFILE_BASELINE),
            preferred_profiles: self.preferred_profiles,
            max_request_payload_bytes: or(self.max_request_payload_bytes, MAX_PAYLOAD_DEFAULT),
            max_request_batch_items: self.max_request_batch_items,
            max_response_payload_bytes: self.initial_response(),
            max_response_batch_items: self.max_response_batch_items,
            auth_token: self.auth_token,
            packet_size: self.packet_size,
            handshake_timeout: self.handshake_timeout,
            backlog: self.backlog,
            shm_spin_tries: self.shm_spin_tries,
            shm_spin_budget: self.shm_spin_budget,
            socket_spin_budget: self.socket_spin_budget,
            access: self.access.clone(),
            endpoint_mode: self.endpoint_mode,
            allow_unsafe_run_dir: self.allow_unsafe_run_dir,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The knobs both transport configurations share, as both tests set them.
    macro_rules! assert_common_knobs {
        ($t:expr) => {{
            let t = &$t;
            assert_eq!((t.supported_profiles, t.preferred_profiles), (3, 2));
            assert_eq!((t.max_request_payload_bytes, t.max_request_batch_items), (100, 7));
            assert_eq!(
                (t.max_response_payload_bytes, t.max_response_batch_items),
                (200, 8)
            );
            assert_eq!(t.handshake_timeout, Duration::from_millis(300));
            assert_eq!(t.shm_spin_tries, 9);
            assert_eq!(t.shm_spin_budget, Some(Duration::from_micros(11)));
            assert_eq!(t.socket_spin_budget, Some(Duration::ZERO));
        }};
    }

    #[test]
    fn the_transport_gets_every_knob_of_the_client() {
        let c = ClientConfig {
            supported_profiles: 3,
            preferred_profiles: 2,
            max_request_payload_bytes: 100,
            max_request_batch_items: 7,
            max_response_payload_bytes: 200,
            max_response_batch_items: 8,
            auth_token: 42,
            packet_size: 512,
            handshake_timeout: Duration::from_millis(300),
            shm_spin_tries: 9,
            shm_spin_budget: Some(Duration::from_micros(11)),
            socket_spin_budget: Some(Duration::ZERO),
            ..ClientConfig::default()
        };
        let t = c.to_transport();
        assert_eq!((t.auth_token, t.packet_size), (42, 512));
        assert_common_knobs!(t);
    }

    #[test]
    fn the_transport_gets_every_knob_of_the_server() {
        let c = ServerConfig {
            supported_profiles: 3,
            preferred_profiles: 2,
            max_request_payload_bytes: 100,
            max_request_batch_items: 7,
            max_response_payload_bytes: 200,
            max_response_batch_items: 8,
            auth_token: 42,
            backlog: 5,
            packet_size: 512,
            handshake_timeout: Duration::from_millis(300),
            shm_spin_tries: 9,
            shm_spin_budget: Some(Duration::from_micros(11)),
            socket_spin_budget: Some(Duration::ZERO),
            access: AccessPolicy::uids([7]),
            endpoint_mode: EndpointMode::Group,
            allow_unsafe_run_dir: true,
            ..ServerConfig::default()
        };
        let t = c.to_transport();
        assert_eq!((t.auth_token, t.backlog, t.packet_size), (42, 5, 512));
        assert_eq!(t.access, AccessPolicy::uids([7]));
        assert_eq!(t.endpoint_mode, EndpointMode::Group);
        assert!(t.allow_unsafe_run_dir);
        assert_common_knobs!(t);
    }

    #[test]
    fn zero_means_the_named_defaults() {
        let t = ClientConfig::default().to_transport();
        assert_eq!(t.supported_profiles, PROFILE_BASELINE);
        assert_eq!(t.max_request_payload_bytes, MAX_PAYLOAD_DEFAULT);
        assert_eq!(t.max_response_batch_items, BATCH_ITEMS_DEFAULT);
        let t = ServerConfig::default().to_transport();
        assert_eq!(t.supported_profiles, PROFILE_BASELINE);
        assert_eq!(t.max_response_payload_bytes, MAX_PAYLOAD_DEFAULT);
    }
}
