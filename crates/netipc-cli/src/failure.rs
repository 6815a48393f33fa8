//! The one error type of the tool: what failed, as one line with its cause,
//! a hint at what to do, a stable kind for `--json`, and the exit code.
//!
//! Failures of clients are built from the library's typed values (the
//! client's state, the transport error of its last connection attempt, the
//! service error of a call), never from the library's message strings.

use crate::cli::Profile;
use crate::duration::human;
use netipc::protocol::{STATUS_BAD_ENVELOPE, STATUS_INTERNAL_ERROR, STATUS_UNSUPPORTED, status_name};
use netipc::service::{ClientState, LimitKind, ServiceError};
use netipc::transport::{Limit, TransportError};
use std::io;
use std::time::Duration;

/// Exit code of a failed call, probe or operation.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code of a usage error (clap uses the same).
pub const EXIT_USAGE: u8 = 2;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The command line asks for something impossible.
    #[error("{message}")]
    Usage {
        /// What is wrong.
        message: String,
        /// What to do instead.
        hint: Option<String>,
    },
    /// The run dir is not there.
    #[error("run dir {dir} does not exist")]
    RunDirMissing {
        /// The run dir.
        dir: String,
    },
    /// The run dir's path names something else.
    #[error("{dir} is not a directory")]
    RunDirNotDir {
        /// The run dir.
        dir: String,
    },
    /// The run dir cannot be listed or entered.
    #[error("permission denied on run dir {dir} ({source})")]
    RunDirDenied {
        /// The run dir.
        dir: String,
        /// The OS cause.
        source: io::Error,
    },
    /// No socket (or pipe) at the endpoint.
    #[error("no server at {endpoint}: {cause}")]
    NoServer {
        /// The endpoint.
        endpoint: String,
        /// The OS cause.
        cause: io::Error,
    },
    /// A socket file is there, but nobody listens on it.
    #[error("stale endpoint {endpoint}: nobody listens on it ({cause})")]
    Stale {
        /// The endpoint.
        endpoint: String,
        /// The OS cause.
        cause: io::Error,
    },
    /// The server rejected the auth token.
    #[error("{endpoint} rejected the auth token {token:#x}")]
    AuthRejected {
        /// The endpoint.
        endpoint: String,
        /// The token presented.
        token: u64,
    },
    /// Profiles, versions or limits cannot work together.
    #[error("{endpoint}: incompatible: {why}")]
    Incompatible {
        /// The endpoint.
        endpoint: String,
        /// What does not match.
        why: String,
        /// What to do.
        hint: String,
    },
    /// The deadline passed.
    #[error("{endpoint}: {what} timed out after {after}")]
    Timeout {
        /// The endpoint.
        endpoint: String,
        /// What was under way.
        what: &'static str,
        /// The deadline, as people write it.
        after: String,
    },
    /// The OS refused access to the endpoint.
    #[error("permission denied on {endpoint} ({cause})")]
    PermissionDenied {
        /// The endpoint.
        endpoint: String,
        /// The OS cause.
        cause: io::Error,
    },
    /// Something answered that does not speak the protocol.
    #[error("{endpoint} does not answer as a netipc server: {why}")]
    NotOurs {
        /// The endpoint.
        endpoint: String,
        /// What it did.
        why: String,
    },
    /// The server answered the call, but not with what was asked.
    #[error("{endpoint}: {what}")]
    Call {
        /// The endpoint.
        endpoint: String,
        /// What happened.
        what: String,
        /// What to do.
        hint: String,
    },
    /// The connection broke or an OS call failed.
    #[error("{endpoint}: {what}")]
    Connection {
        /// The endpoint.
        endpoint: String,
        /// What happened, with its OS cause.
        what: String,
    },
    /// Anything else (bench, serve, file system).
    #[error("{message}")]
    Other {
        /// What happened, with its cause.
        message: String,
        /// What to do.
        hint: Option<String>,
    },
}

impl Failure {
    /// A usage error without a hint.
    pub fn usage(message: impl Into<String>) -> Self {
        Failure::Usage {
            message: message.into(),
            hint: None,
        }
    }

    /// Any other failure.
    pub fn other(message: impl Into<String>, hint: Option<&str>) -> Self {
        Failure::Other {
            message: message.into(),
            hint: hint.map(str::to_string),
        }
    }

    /// The process exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage { .. } => EXIT_USAGE,
            _ => EXIT_FAILURE,
        }
    }

    /// A stable name of the failure's kind, for scripts reading `--json`.
    pub fn kind(&self) -> &'static str {
        match self {
            Failure::Usage { .. } => "usage",
            Failure::RunDirMissing { .. } => "run-dir-missing",
            Failure::RunDirNotDir { .. } => "run-dir-not-a-directory",
            Failure::RunDirDenied { .. } => "run-dir-permission-denied",
            Failure::NoServer { .. } => "no-server",
            Failure::Stale { .. } => "stale",
            Failure::AuthRejected { .. } => "auth-rejected",
            Failure::Incompatible { .. } => "incompatible",
            Failure::Timeout { .. } => "timeout",
            Failure::PermissionDenied { .. } => "permission-denied",
            Failure::NotOurs { .. } => "not-ours",
            Failure::Call { .. } => "call-failed",
            Failure::Connection { .. } => "connection-failed",
            Failure::Other { .. } => "failed",
        }
    }

    /// What the person at the terminal can do about it.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Failure::Usage { hint, .. } | Failure::Other { hint, .. } => return hint.clone(),
            Failure::RunDirMissing { .. } => {
                "check the path; the agent creates its run dir when it starts (netdata: /run/netdata)".into()
            }
            Failure::RunDirNotDir { .. } => "give the directory the provider serves in".into(),
            Failure::RunDirDenied { .. } => {
                "run as the agent's user (e.g. `sudo -u netdata netipc ...`) or as root".into()
            }
            Failure::NoServer { .. } => {
                "is the provider running, in this run dir? `netipc ls` lists what is there".into()
            }
            Failure::Stale { .. } => {
                "its provider is gone; `netipc clean` removes stale endpoints, a restarted provider takes it over"
                    .into()
            }
            Failure::AuthRejected { .. } => {
                "give the provider's token with --token (or NETIPC_TOKEN); decimal or 0x-hex".into()
            }
            Failure::Incompatible { hint, .. } | Failure::Call { hint, .. } => hint.clone(),
            Failure::Timeout { .. } => {
                "the server is alive but slow or stuck; retry with a longer --timeout, check its load".into()
            }
            Failure::PermissionDenied { .. } => {
                "endpoints are owner-only: run as the provider's user (or root)".into()
            }
            Failure::NotOurs { .. } => {
                "something else uses this name; `netipc ls` shows what is at each endpoint".into()
            }
            Failure::Connection { .. } => {
                "the provider may have stopped or restarted; try again, `netipc ls` shows its state".into()
            }
        })
    }

    /// The failure and its hint, as one line.
    pub fn line(&self) -> String {
        match self.hint() {
            Some(hint) => format!("{self}; hint: {hint}"),
            None => self.to_string(),
        }
    }

    /// The failure as a JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "ok": false,
            "error": {
                "kind": self.kind(),
                "message": self.to_string(),
                "hint": self.hint(),
            }
        })
    }
}

/// What a client was doing and with what, to explain its failure.
#[derive(Debug, Clone)]
pub struct Context {
    /// The endpoint, as people find it (a path, or a pipe name).
    pub endpoint: String,
    /// The token presented.
    pub token: u64,
    /// The profiles offered.
    pub profile: Profile,
    /// The deadline of connecting and of each call.
    pub timeout: Duration,
}

impl Context {
    /// The failure of a connection attempt, from the transport error it
    /// ended with.
    pub fn connect_failure(&self, e: &TransportError) -> Failure {
        let endpoint = self.endpoint.clone();
        match e {
            TransportError::NotFound { source, .. } => match source.kind() {
                io::ErrorKind::ConnectionRefused => Failure::Stale {
                    endpoint,
                    cause: copy_io(source),
                },
                io::ErrorKind::NotADirectory => Failure::RunDirNotDir { dir: endpoint },
                _ => Failure::NoServer {
                    endpoint,
                    cause: copy_io(source),
                },
            },
            TransportError::AuthFailed => Failure::AuthRejected {
                endpoint,
                token: self.token,
            },
            TransportError::Unsupported => Failure::Incompatible {
                endpoint,
                why: "no common transport profile".into(),
                hint: match self.profile {
                    Profile::Shm => "the server does not offer shared memory: try --profile auto".into(),
                    _ => "the server offers neither the baseline nor shared memory; is it a netipc server?"
                        .into(),
                },
            },
            TransportError::Incompatible(why) => Failure::Incompatible {
                endpoint,
                why: (*why).to_string(),
                hint: "the server speaks another version or layout of the protocol".into(),
            },
            TransportError::LimitExceeded {
                what: Limit::ProposedRequestPayload,
                ..
            } => Failure::Incompatible {
                endpoint,
                why: "the server refuses requests as large as the client proposes".into(),
                hint: "the server's request payload limit is below the protocol's default (1024 bytes)"
                    .into(),
            },
            TransportError::LimitExceeded { what, .. } => Failure::Incompatible {
                endpoint,
                why: format!("a {what} limit does not fit"),
                hint: "check the limits configured on the server".into(),
            },
            TransportError::PlatformUnsupported { needed, source } => Failure::Incompatible {
                endpoint,
                why: format!("this platform lacks {needed} ({source})"),
                hint: "netipc's Unix transport needs SEQPACKET sockets (Linux, FreeBSD)".into(),
            },
            TransportError::ShmUnavailable(_) | TransportError::ShmNotReady(_) => Failure::Incompatible {
                endpoint,
                why: "the server's shared memory region cannot be attached".into(),
                hint: "try --profile uds; check the run dir's file system (shared memory files live there)"
                    .into(),
            },
            TransportError::Rejected(status) => Failure::Incompatible {
                endpoint,
                why: format!(
                    "handshake rejected with status {status} ({})",
                    status_text(*status)
                ),
                hint: "the server refused this client's proposal".into(),
            },
            TransportError::Timeout => Failure::Timeout {
                endpoint,
                what: "the connection",
                after: human(self.timeout),
            },
            TransportError::PeerClosed => Failure::NotOurs {
                endpoint,
                why: "it closed the connection during the handshake (or is at its session limit)".into(),
            },
            TransportError::Protocol(why) => Failure::NotOurs {
                endpoint,
                why: format!("its handshake answer broke the protocol ({why})"),
            },
            TransportError::Malformed(_) => Failure::NotOurs {
                endpoint,
                why: "its handshake answer is not a netipc HELLO_ACK".into(),
            },
            TransportError::Io { source, .. } if source.kind() == io::ErrorKind::PermissionDenied => {
                Failure::PermissionDenied {
                    endpoint,
                    cause: copy_io(source),
                }
            }
            e @ TransportError::Io { .. } => Failure::Connection {
                endpoint,
                what: e.to_string(),
            },
            TransportError::PathTooLong { len, max } => Failure::Usage {
                message: format!("the endpoint path {endpoint} is {len} bytes; this platform allows {max}"),
                hint: Some("use a shorter run dir or service name".into()),
            },
            TransportError::InvalidServiceName(why) => Failure::usage(format!("invalid service name: {why}")),
            TransportError::InvalidRunDir(why) => Failure::usage(format!("invalid run dir: {why}")),
            other => Failure::Connection {
                endpoint,
                what: format!("the connection failed: {other}"),
            },
        }
    }

    /// The failure of a client that is not ready after a refresh.
    pub fn not_ready(&self, state: ClientState, last: Option<&TransportError>) -> Failure {
        if let Some(e) = last {
            return self.connect_failure(e);
        }
        Failure::Connection {
            endpoint: self.endpoint.clone(),
            what: format!("the client is not connected (state {state:?})"),
        }
    }

    /// The failure of a call made by a client that was ready.
    pub fn call_failure(
        &self,
        method: &str,
        e: &ServiceError,
        state: ClientState,
        last: Option<&TransportError>,
    ) -> Failure {
        let endpoint = self.endpoint.clone();
        match e {
            // A reconnect the call made failed: its transport error says why.
            ServiceError::NotReady { .. } => self.not_ready(state, last),
            ServiceError::Timeout { .. } => Failure::Timeout {
                endpoint,
                what: "the call",
                after: human(self.timeout),
            },
            ServiceError::Aborted { .. } => Failure::other("the call was interrupted", None),
            ServiceError::LimitExceeded { limit, .. } => Failure::Call {
                endpoint,
                what: format!("the call does not fit ({})", limit_text(e)),
                hint: match limit {
                    LimitKind::Response => {
                        "the answer is larger than the server lets a session grow to; raise its response ceiling"
                            .into()
                    }
                    LimitKind::Request | LimitKind::RequestCeiling => {
                        "the request is larger than the server accepts; raise its request limit".into()
                    }
                    _ => "raise the client's lookup ceilings, or ask for fewer keys at once".into(),
                },
            },
            ServiceError::ServerStatus { status, .. } => Failure::Call {
                endpoint,
                what: format!("the server answered status {status} ({})", status_text(*status)),
                hint: match *status {
                    STATUS_UNSUPPORTED => {
                        format!("this service does not serve {method}: it is of another kind")
                    }
                    STATUS_INTERNAL_ERROR => "the provider's handler failed; see its log".into(),
                    STATUS_BAD_ENVELOPE => format!("the server could not read the {method} request"),
                    _ => "see the provider's log".into(),
                },
            },
            ServiceError::BadResponse { what: why, .. } => Failure::Call {
                endpoint,
                what: format!("the answer broke the {method} contract ({why})"),
                hint: format!("is this a {method} service? the provider may be faulty"),
            },
            ServiceError::Malformed { .. } => Failure::Call {
                endpoint,
                what: format!("the answer is not a valid {method} response"),
                hint: format!("is this a {method} service? the provider may be faulty"),
            },
            ServiceError::InvalidRequest { what: why, .. } => {
                Failure::usage(format!("invalid {method} request: {why}"))
            }
            ServiceError::Call {
                source: TransportError::PeerClosed,
                reconnect: None,
                ..
            } => Failure::Connection {
                endpoint,
                what: "the server closed the connection during the call".into(),
            },
            // The call failed and so did the reconnect of its retry: that
            // says why the server is out of reach.
            ServiceError::Call {
                reconnect: Some(why), ..
            } => self.connect_failure(why),
            ServiceError::Call {
                source: t @ TransportError::Io { .. },
                ..
            } => self.connect_failure(t),
            ServiceError::Call { source: t, .. } => Failure::Connection {
                endpoint,
                what: format!("the call failed: {t}"),
            },
            ServiceError::InvalidEndpoint { source, .. } | ServiceError::Serve { source, .. } => {
                self.connect_failure(source)
            }
            other => Failure::Connection {
                endpoint,
                what: format!("the call failed: {other}"),
            },
        }
    }
}

/// The part of a [`ServiceError::LimitExceeded`] message after its endpoint.
fn limit_text(e: &ServiceError) -> String {
    let full = e.to_string();
    let at = format!("{}: ", e.endpoint());
    full.strip_prefix(&at).map(str::to_string).unwrap_or(full)
}

/// A transport status as its name.
fn status_text(status: u16) -> &'static str {
    status_name(status).unwrap_or("not a defined status")
}

/// A copy of an OS error (its code where it has one, else its kind and text).
fn copy_io(e: &io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(e.kind(), e.to_string()),
    }
}

/// Checks that `dir` is a directory this process can enter and list, so
/// that a missing or forbidden run dir is reported as such.
pub fn check_run_dir(dir: &std::path::Path) -> Result<(), Failure> {
    let shown = dir.display().to_string();
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(Failure::RunDirNotDir { dir: shown }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Failure::RunDirMissing { dir: shown }),
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => {
            return Err(Failure::RunDirMissing { dir: shown });
        }
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            return Err(Failure::RunDirDenied {
                dir: shown,
                source: e,
            });
        }
        Err(e) => {
            return Err(Failure::other(format!("cannot read run dir {shown} ({e})"), None));
        }
    }
    match std::fs::read_dir(dir) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Err(Failure::RunDirDenied {
            dir: shown,
            source: e,
        }),
        Err(e) => Err(Failure::other(format!("cannot read run dir {shown} ({e})"), None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(profile: Profile) -> Context {
        Context {
            endpoint: "/run/x/svc.sock".into(),
            token: 42,
            profile,
            timeout: Duration::from_secs(2),
        }
    }

    #[test]
    fn a_refused_connection_is_stale_and_an_absent_socket_is_no_server() {
        let refused = TransportError::NotFound {
            path: "p".into(),
            source: io::Error::from(io::ErrorKind::ConnectionRefused),
        };
        let f = ctx(Profile::Auto).connect_failure(&refused);
        assert_eq!(f.kind(), "stale");
        assert!(f.hint().unwrap().contains("netipc clean"), "{}", f.line());
        let absent = TransportError::NotFound {
            path: "p".into(),
            source: io::Error::from(io::ErrorKind::NotFound),
        };
        let f = ctx(Profile::Auto).connect_failure(&absent);
        assert_eq!(f.kind(), "no-server");
        assert!(f.to_string().starts_with("no server at /run/x/svc.sock"), "{f}");
    }

    fn at() -> netipc::service::Endpoint {
        netipc::service::Endpoint::new("/run/x", "svc")
    }

    #[test]
    fn each_failure_is_one_line_with_a_hint() {
        let c = ctx(Profile::Shm);
        let failures = [
            c.connect_failure(&TransportError::AuthFailed),
            c.connect_failure(&TransportError::Unsupported),
            c.connect_failure(&TransportError::Timeout),
            c.connect_failure(&TransportError::Io {
                op: "connect",
                path: None,
                source: io::Error::from(io::ErrorKind::PermissionDenied),
            }),
            c.call_failure(
                "snapshot",
                &ServiceError::ServerStatus {
                    endpoint: at(),
                    status: STATUS_UNSUPPORTED,
                },
                ClientState::Ready,
                None,
            ),
            c.call_failure(
                "snapshot",
                &ServiceError::Timeout { endpoint: at() },
                ClientState::Broken,
                None,
            ),
            c.connect_failure(&TransportError::LimitExceeded {
                what: Limit::ProposedRequestPayload,
                value: None,
                limit: None,
            }),
        ];
        let kinds: Vec<_> = failures.iter().map(Failure::kind).collect();
        assert_eq!(
            kinds,
            [
                "auth-rejected",
                "incompatible",
                "timeout",
                "permission-denied",
                "call-failed",
                "timeout",
                "incompatible"
            ]
        );
        for f in &failures {
            let line = f.line();
            assert!(!line.contains('\n'), "{line}");
            assert!(line.contains("; hint: "), "{line}");
            assert_eq!(f.exit_code(), EXIT_FAILURE);
        }
        assert!(failures[0].to_string().contains("0x2a"), "{}", failures[0]);
        assert!(failures[1].hint().unwrap().contains("--profile auto"));
        assert!(failures[4].hint().unwrap().contains("another kind"));
        assert!(
            failures[6].to_string().contains("refuses requests"),
            "{}",
            failures[6]
        );
    }

    #[test]
    fn a_failed_reconnect_is_explained_by_its_transport_error() {
        let c = ctx(Profile::Auto);
        let f = c.call_failure(
            "snapshot",
            &ServiceError::NotReady {
                endpoint: at(),
                state: ClientState::AuthFailed,
                cause: None,
            },
            ClientState::AuthFailed,
            Some(&TransportError::AuthFailed),
        );
        assert_eq!(f.kind(), "auth-rejected");
        let f = c.call_failure(
            "snapshot",
            &ServiceError::InvalidRequest {
                endpoint: at(),
                what: "empty",
                source: None,
            },
            ClientState::Ready,
            None,
        );
        assert_eq!(f.exit_code(), EXIT_USAGE);
    }

    #[test]
    fn json_errors_carry_kind_message_and_hint() {
        let f = Failure::RunDirMissing { dir: "/nope".into() };
        let v = f.to_json();
        assert_eq!(v["ok"], false);
        assert_eq!(v["error"]["kind"], "run-dir-missing");
        assert_eq!(v["error"]["message"], "run dir /nope does not exist");
        assert!(v["error"]["hint"].as_str().unwrap().contains("/run/netdata"));
    }
}
