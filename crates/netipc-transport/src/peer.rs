//! Who is at the other end of a session, and who a server lets in.
//!
//! A server learns its peer's credentials from the kernel when it accepts
//! the connection, so a peer cannot claim to be someone else:
//!
//! - Linux: `SO_PEERCRED` gives the process id, user id and group id of the
//!   process that connected (as they were at `connect`).
//! - FreeBSD: `LOCAL_PEERCRED` gives the effective user id and group id;
//!   the process id is not reported.
//! - macOS: `LOCAL_PEERCRED` and `LOCAL_PEERPID`.
//! - Windows: `GetNamedPipeClientProcessId` gives the client's process id;
//!   the user SID of the client's token is read by impersonating the client
//!   at identification level (the level netipc's clients grant) while the
//!   handshake is read. Windows has no user or group ids.
//!
//! An [`AccessPolicy`] in the server's configuration decides who may open a
//! session; a peer it refuses gets the handshake's AUTH_FAILED status, as
//! for a wrong token, so every client of the protocol understands the
//! answer.

use std::fmt;

/// The credentials of a session's peer, as the kernel reported them when
/// the connection was accepted. A field the platform does not report is
/// `None` (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PeerCredentials {
    /// The peer's process id.
    pub pid: Option<u32>,
    /// The peer's effective user id (POSIX).
    pub uid: Option<u32>,
    /// The peer's effective (primary) group id (POSIX). Supplementary
    /// groups are not reported.
    pub gid: Option<u32>,
    /// The user SID of the peer's token, as `S-1-5-21-...` (Windows).
    pub sid: Option<String>,
}

impl PeerCredentials {
    /// Credentials with the given POSIX fields (no SID).
    pub fn posix(pid: Option<u32>, uid: Option<u32>, gid: Option<u32>) -> Self {
        Self {
            pid,
            uid,
            gid,
            sid: None,
        }
    }

    /// Credentials with a Windows process id and user SID.
    pub fn windows(pid: Option<u32>, sid: Option<String>) -> Self {
        Self {
            pid,
            uid: None,
            gid: None,
            sid,
        }
    }

    /// Whether the platform reported nothing about the peer.
    pub fn is_unknown(&self) -> bool {
        self.pid.is_none() && self.uid.is_none() && self.gid.is_none() && self.sid.is_none()
    }
}

impl fmt::Display for PeerCredentials {
    /// `pid 4242 uid 1000 gid 1000`, the fields known; `unknown peer` when none is.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_unknown() {
            return f.write_str("unknown peer");
        }
        let mut sep = "";
        for (name, value) in [("pid", self.pid), ("uid", self.uid), ("gid", self.gid)] {
            if let Some(v) = value {
                write!(f, "{sep}{name} {v}")?;
                sep = " ";
            }
        }
        if let Some(sid) = &self.sid {
            write!(f, "{sep}sid {sid}")?;
        }
        Ok(())
    }
}

/// Who may open a session with a server.
///
/// With every list empty (the default) anyone who can reach the endpoint
/// may, as the protocol's other implementations allow. Otherwise a peer is
/// let in when its user id is in `allow_uids`, or its group id in
/// `allow_gids`, or (on Windows) its user SID in `allow_sids`; a peer whose
/// credentials the platform did not report is refused. The lists of the
/// other platform never match: a policy of user ids only refuses every
/// Windows client, and one of SIDs only every POSIX client.
///
/// The group is the peer's primary group, as the kernel reports it; a
/// process that belongs to a group only as a supplementary group does not
/// match it.
///
/// ```
/// use netipc::service::{AccessPolicy, PeerCredentials};
/// let policy = AccessPolicy { allow_uids: vec![0], allow_gids: vec![998], ..AccessPolicy::default() };
/// assert!(policy.allows(&PeerCredentials::posix(Some(7), Some(1000), Some(998))));
/// assert!(!policy.allows(&PeerCredentials::posix(Some(7), Some(1000), Some(1000))));
/// assert!(AccessPolicy::default().allows(&PeerCredentials::default()));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessPolicy {
    /// User ids let in (POSIX).
    pub allow_uids: Vec<u32>,
    /// Primary group ids let in (POSIX).
    pub allow_gids: Vec<u32>,
    /// User SIDs let in, as `S-1-5-21-...` (Windows; compared without
    /// regard to case).
    pub allow_sids: Vec<String>,
}

impl AccessPolicy {
    /// A policy that lets in the given user ids only.
    pub fn uids(uids: impl IntoIterator<Item = u32>) -> Self {
        Self {
            allow_uids: uids.into_iter().collect(),
            ..Self::default()
        }
    }

    /// A policy that lets in the given primary group ids only.
    pub fn gids(gids: impl IntoIterator<Item = u32>) -> Self {
        Self {
            allow_gids: gids.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Whether anyone who reaches the endpoint may open a session.
    pub fn is_open(&self) -> bool {
        self.allow_uids.is_empty() && self.allow_gids.is_empty() && self.allow_sids.is_empty()
    }

    /// Whether `peer` may open a session.
    pub fn allows(&self, peer: &PeerCredentials) -> bool {
        if self.is_open() {
            return true;
        }
        peer.uid.is_some_and(|u| self.allow_uids.contains(&u))
            || peer.gid.is_some_and(|g| self.allow_gids.contains(&g))
            || peer
                .sid
                .as_deref()
                .is_some_and(|s| self.allow_sids.iter().any(|a| a.eq_ignore_ascii_case(s)))
    }
}

/// Who may open a server's endpoint files (the socket, and the
/// shared-memory region files of its sessions). The mode is set exactly,
/// after the file is created, whatever the process umask; the umask itself
/// is never changed.
///
/// Files belong to the server's effective group, or to the run dir's group
/// where the run dir has the set-group-id bit; to share with a group, run
/// the plugins under that group or give the run dir to it with `chmod g+s`.
///
/// On Windows the mode has no effect: a pipe gets the system's default
/// security, under which only its creator's account, administrators and
/// the system may open it for writing, so other users cannot connect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum EndpointMode {
    /// Owner only: mode 0600.
    #[default]
    Owner,
    /// Owner and the file's group: mode 0660.
    Group,
}

impl EndpointMode {
    /// The permission bits of the endpoint's files.
    pub fn bits(self) -> u32 {
        match self {
            EndpointMode::Owner => 0o600,
            EndpointMode::Group => 0o660,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_policy_lets_in_even_an_unknown_peer() {
        assert!(AccessPolicy::default().is_open());
        assert!(AccessPolicy::default().allows(&PeerCredentials::default()));
    }

    #[test]
    fn a_closed_policy_matches_uid_gid_or_sid_and_refuses_the_unknown() {
        let p = AccessPolicy {
            allow_uids: vec![1000],
            allow_gids: vec![50],
            allow_sids: vec!["S-1-5-21-1-2-3-1001".into()],
        };
        assert!(p.allows(&PeerCredentials::posix(None, Some(1000), Some(1))));
        assert!(p.allows(&PeerCredentials::posix(None, Some(1), Some(50))));
        assert!(!p.allows(&PeerCredentials::posix(Some(9), Some(1), Some(1))));
        assert!(p.allows(&PeerCredentials::windows(
            None,
            Some("s-1-5-21-1-2-3-1001".into())
        )));
        assert!(!p.allows(&PeerCredentials::windows(Some(4), Some("S-1-5-18".into()))));
        assert!(!p.allows(&PeerCredentials::default()));
        assert!(!AccessPolicy::uids([0]).allows(&PeerCredentials::windows(Some(1), None)));
    }

    #[test]
    fn credentials_print_the_fields_known() {
        assert_eq!(
            PeerCredentials::posix(Some(42), Some(1000), Some(100)).to_string(),
            "pid 42 uid 1000 gid 100"
        );
        assert_eq!(
            PeerCredentials::windows(Some(7), Some("S-1-5-18".into())).to_string(),
            "pid 7 sid S-1-5-18"
        );
        assert_eq!(PeerCredentials::default().to_string(), "unknown peer");
    }

    #[test]
    fn modes_are_owner_only_or_group() {
        assert_eq!(EndpointMode::default().bits(), 0o600);
        assert_eq!(EndpointMode::Group.bits(), 0o660);
    }
}
