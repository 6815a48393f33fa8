//! The endpoints of a run dir and their states, as `ls` shows them and
//! `clean` acts on them.
//!
//! On POSIX a run dir holds `{service}.sock` sockets and, on Linux,
//! `{service}-{session:016x}.ipcshm` shared-memory regions, one per live
//! session. Sockets are probed with a handshake ([`crate::probe`]);
//! regions are judged by their header (magic, owner PID and generation),
//! read without changing anything. On Windows the run dir names a
//! namespace of pipes, `\\.\pipe\netipc-{hash}-{service}`, which are listed
//! and probed the same way.

use crate::failure::Failure;
use crate::output::bytes;
use crate::probe::{Answered, Probe, profile_names};
use netipc::protocol::{STATUS_AUTH_FAILED, STATUS_INCOMPATIBLE, STATUS_LIMIT_EXCEEDED, STATUS_UNSUPPORTED};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What an entry of the run dir is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum What {
    /// A Unix socket.
    Socket,
    /// A regular file named like a shared-memory region.
    #[cfg_attr(not(unix), allow(dead_code))]
    Region,
    /// A Windows named pipe.
    #[cfg_attr(not(windows), allow(dead_code))]
    Pipe,
    /// A regular file.
    #[cfg_attr(not(unix), allow(dead_code))]
    File,
    /// A directory.
    #[cfg_attr(not(unix), allow(dead_code))]
    Directory,
    /// A symbolic link.
    #[cfg_attr(not(unix), allow(dead_code))]
    Symlink,
    /// Anything else (FIFO, device).
    #[cfg_attr(not(unix), allow(dead_code))]
    Other,
}

/// The state of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// A server answered the handshake; a region whose owner lives.
    Alive,
    /// A server rejected the handshake.
    Refusing,
    /// A server whose backlog is full.
    Busy,
    /// Nobody listens; a region whose owner is gone.
    Stale,
    /// Not a netipc endpoint.
    NotOurs,
    /// It could not be told.
    Unknown,
}

impl State {
    /// The state's name.
    pub fn name(self) -> &'static str {
        match self {
            State::Alive => "alive",
            State::Refusing => "refusing",
            State::Busy => "busy",
            State::Stale => "stale",
            State::NotOurs => "not-ours",
            State::Unknown => "unknown",
        }
    }
}

/// One entry of the run dir.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// The file (or pipe) name.
    pub name: String,
    /// The full path (or pipe name).
    pub path: PathBuf,
    /// What it is.
    #[serde(rename = "kind")]
    pub what: What,
    /// The service its name gives, when it has an endpoint name.
    pub service: Option<String>,
    /// The session id of a region's name.
    pub session: Option<u64>,
    /// The owner's user id.
    pub uid: Option<u32>,
    /// The owner's user name.
    pub owner: Option<String>,
    /// The permission bits (in JSON, as octal text: "0600").
    #[serde(serialize_with = "octal")]
    pub mode: Option<u32>,
    /// Device and inode, to make sure what is removed is what was checked.
    #[serde(skip)]
    #[cfg_attr(not(unix), allow(dead_code))]
    pub id: Option<(u64, u64)>,
    /// Named by guess, not found by listing: left out if nothing is there.
    #[serde(skip)]
    pub guessed: bool,
}

/// Serializes permission bits as octal text.
fn octal<S: serde::Serializer>(mode: &Option<u32>, s: S) -> Result<S::Ok, S::Error> {
    match mode {
        Some(m) => s.serialize_str(&format!("{m:04o}")),
        None => s.serialize_none(),
    }
}

impl Entry {
    /// Whether the name is a netipc endpoint name (a socket name, or a
    /// region name, with a valid service name).
    pub fn endpoint_name(&self) -> bool {
        self.service.is_some()
    }
}

/// The server's answer to the probe, for JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Handshake {
    /// Every profile the server supports (absent where unknown).
    pub profiles: Option<Vec<String>>,
    /// The profile selected for the probe.
    pub selected: Vec<String>,
    /// The response payload limit of a new session.
    pub max_response_payload_bytes: u32,
    /// The packet size agreed.
    pub packet_size: u32,
}

/// An entry and what was found.
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    /// The entry.
    #[serde(flatten)]
    pub entry: Entry,
    /// Its state.
    pub state: State,
    /// What was found, in words.
    pub detail: String,
    /// The handshake answer of a live server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handshake: Option<Handshake>,
    /// The owner process of a region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_pid: Option<i32>,
    /// Whether nothing was there when it was probed.
    #[serde(skip)]
    pub absent: bool,
}

/// The service of a socket name `{service}.sock`.
#[cfg_attr(not(unix), allow(dead_code))]
pub fn socket_service(name: &str) -> Option<&str> {
    let service = name.strip_suffix(".sock")?;
    netipc::transport::names::validate_service_name(service).ok()?;
    Some(service)
}

/// The service and session of a region name `{service}-{session:016x}.ipcshm`.
#[cfg_attr(not(unix), allow(dead_code))]
pub fn region_service(name: &str) -> Option<(&str, u64)> {
    let stem = name.strip_suffix(".ipcshm")?;
    let (service, hex) = stem.rsplit_once('-')?;
    if hex.len() != 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    netipc::transport::names::validate_service_name(service).ok()?;
    Some((service, u64::from_str_radix(hex, 16).ok()?))
}

/// The state and detail of a probe's outcome.
pub fn judge_probe(probe: &Probe) -> (State, String) {
    match probe {
        Probe::Alive(a) => (State::Alive, describe_answer(a)),
        Probe::Refused(STATUS_AUTH_FAILED) => (State::Refusing, "auth token rejected".into()),
        Probe::Refused(STATUS_UNSUPPORTED) => (
            State::Refusing,
            "no common profile (the server does not offer the baseline)".into(),
        ),
        Probe::Refused(STATUS_LIMIT_EXCEEDED) => (
            State::Refusing,
            "requests of the protocol's default size (1024 bytes) refused".into(),
        ),
        Probe::Refused(STATUS_INCOMPATIBLE) => (State::Refusing, "incompatible protocol version".into()),
        Probe::Refused(status) => (
            State::Refusing,
            format!("handshake rejected with status {status}"),
        ),
        Probe::Busy => (State::Busy, "listening, backlog full".into()),
        Probe::Stale(e) => (State::Stale, format!("nobody listens ({e})")),
        Probe::Absent => (State::Unknown, "vanished while probed".into()),
        Probe::WrongType => (
            State::NotOurs,
            "a socket of another type (netipc uses SEQPACKET)".into(),
        ),
        Probe::Garbled(why) => (State::NotOurs, format!("answered {why}")),
        Probe::Silent => (
            State::Unknown,
            "accepted, then closed without answering (at its session limit, or not netipc)".into(),
        ),
        Probe::NoAnswer => (
            State::Unknown,
            "accepted, no answer in time (overloaded, or not netipc)".into(),
        ),
        Probe::Denied(e) => (State::Unknown, format!("cannot connect ({e})")),
        Probe::Failed(e) => (State::Unknown, format!("probe failed ({e})")),
    }
}

fn describe_answer(a: &Answered) -> String {
    let profiles = match a.server_profiles {
        Some(p) => profile_names(p).join("+"),
        None => format!("{} selected", profile_names(a.selected).join("+")),
    };
    format!(
        "{profiles}; responses up to {}, packets {}",
        bytes(a.max_response_payload as u64),
        bytes(a.packet_size as u64)
    )
}

fn handshake_of(probe: &Probe) -> Option<Handshake> {
    match probe {
        Probe::Alive(a) => Some(Handshake {
            profiles: a.server_profiles.map(profile_names),
            selected: profile_names(a.selected),
            max_response_payload_bytes: a.max_response_payload,
            packet_size: a.packet_size,
        }),
        _ => None,
    }
}

/// What a scan found, and a note on how (when it could not list).
pub type Scan = (Vec<Entry>, Option<String>);

/// Lists `run_dir`: every entry, its kind, owner and mode (not yet checked).
#[cfg(unix)]
pub fn scan(run_dir: &Path) -> Result<Scan, Failure> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    crate::failure::check_run_dir(run_dir)?;
    let listing = std::fs::read_dir(run_dir)
        .map_err(|e| Failure::other(format!("cannot list {} ({e})", run_dir.display()), None))?;
    let mut owners = std::collections::HashMap::new();
    let mut entries = Vec::new();
    for dirent in listing.flatten() {
        let name = dirent.file_name().to_string_lossy().into_owned();
        let path = dirent.path();
        // Gone since the listing: nothing to show.
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let t = meta.file_type();
        let (service, session) = if let Some(s) = socket_service(&name) {
            (Some(s.to_string()), None)
        } else if let Some((s, id)) = region_service(&name) {
            (Some(s.to_string()), Some(id))
        } else {
            (None, None)
        };
        let what = if t.is_socket() {
            What::Socket
        } else if t.is_symlink() {
            What::Symlink
        } else if t.is_dir() {
            What::Directory
        } else if t.is_file() && session.is_some() {
            What::Region
        } else if t.is_file() {
            What::File
        } else {
            What::Other
        };
        let uid = meta.uid();
        let owner = owners.entry(uid).or_insert_with(|| user_name(uid)).clone();
        entries.push(Entry {
            name,
            path,
            what,
            service,
            session,
            uid: Some(uid),
            owner,
            mode: Some(meta.mode() & 0o7777),
            id: Some((meta.dev(), meta.ino())),
            guessed: false,
        });
    }
    entries.sort_by(|a, b| {
        let key = |e: &Entry| (e.service.is_none(), e.service.clone(), e.session, e.name.clone());
        key(a).cmp(&key(b))
    });
    Ok((entries, None))
}

#[cfg(unix)]
fn user_name(uid: u32) -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
}

/// Lists the pipes of namespace `run_dir`. Where the system does not let
/// its pipes be listed (Wine), the service names of the protocol's kinds
/// are probed instead, and the note says so.
#[cfg(windows)]
pub fn scan(run_dir: &Path) -> Result<Scan, Failure> {
    let namespace = run_dir.to_string_lossy();
    let probe_name = netipc::transport::names::pipe_name(&namespace, "x")
        .map_err(|_| Failure::usage(format!("the run dir {namespace} is too long to name a pipe")))?;
    let prefix = probe_name
        .trim_start_matches(r"\\.\pipe\")
        .trim_end_matches('x')
        .to_string();
    let pipe = |service: String, guessed: bool| Entry {
        name: format!("{prefix}{service}"),
        path: PathBuf::from(format!(r"\\.\pipe\{prefix}{service}")),
        what: What::Pipe,
        service: Some(service),
        session: None,
        uid: None,
        owner: None,
        mode: None,
        id: None,
        guessed,
    };
    let (mut entries, note): (Vec<Entry>, _) = match std::fs::read_dir(r"\\.\pipe\") {
        Ok(listing) => (
            listing
                .flatten()
                .filter_map(|d| {
                    let name = d.file_name().to_string_lossy().into_owned();
                    let service = name.strip_prefix(&prefix)?.to_string();
                    netipc::transport::names::validate_service_name(&service).ok()?;
                    Some(pipe(service, false))
                })
                .collect(),
            None,
        ),
        Err(e) => (
            <crate::cli::Kind as clap::ValueEnum>::value_variants()
                .iter()
                .map(|k| pipe(k.name().to_string(), true))
                .collect(),
            Some(format!(
                "this system does not list its pipes ({e}): only the kinds' service names were probed"
            )),
        ),
    };
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((entries, note))
}

/// Checks one entry: probes a socket or pipe with an endpoint name, reads
/// a region's header; other entries are not ours.
pub fn check(entry: Entry, run_dir: &Path, token: u64, timeout: Duration) -> Checked {
    // Only a pipe needs the namespace; a socket has its path.
    let _ = run_dir;
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut owner_pid = None;
    let mut handshake = None;
    let mut absent = false;
    let (state, detail) = match (entry.what, &entry.service) {
        #[cfg(unix)]
        (What::Socket, Some(_)) => {
            let probe = crate::probe::probe_socket(&entry.path, token, timeout);
            handshake = handshake_of(&probe);
            absent = matches!(probe, Probe::Absent);
            judge_probe(&probe)
        }
        #[cfg(windows)]
        (What::Pipe, Some(service)) => {
            let probe = crate::probe::probe_pipe(&run_dir.to_string_lossy(), service, token, timeout);
            handshake = handshake_of(&probe);
            absent = matches!(probe, Probe::Absent);
            judge_probe(&probe)
        }
        #[cfg(unix)]
        (What::Region, Some(_)) => {
            let region = region::read(&entry.path);
            owner_pid = region.owner_pid;
            (region.state, region.detail)
        }
        (What::Socket, None) => (State::NotOurs, "a socket without an endpoint name".into()),
        (what, Some(_)) => (
            State::NotOurs,
            format!("a {} at an endpoint name", what_name(what)),
        ),
        (what, None) => (State::NotOurs, format!("a {}, not an endpoint", what_name(what))),
    };
    Checked {
        entry,
        state,
        detail,
        handshake,
        owner_pid,
        absent,
    }
}

/// The name of what an entry is.
pub fn what_name(what: What) -> &'static str {
    match what {
        What::Socket => "socket",
        What::Region => "shm region",
        What::Pipe => "pipe",
        What::File => "file",
        What::Directory => "directory",
        What::Symlink => "symlink",
        What::Other => "special file",
    }
}

/// Shared-memory region headers, read without changing anything.
#[cfg(unix)]
pub mod region {
    use super::State;
    use std::path::Path;

    /// The region magic ("NSHM").
    const MAGIC: u32 = 0x4E53_484D;
    /// The region header's size.
    const HEADER_LEN: usize = 64;

    /// What a region's header says.
    #[derive(Debug)]
    pub struct Region {
        /// Alive, stale, not ours or unknown.
        pub state: State,
        /// In words.
        pub detail: String,
        /// The owner's PID, when the header has one.
        pub owner_pid: Option<i32>,
    }

    fn u32_at(h: &[u8; HEADER_LEN], at: usize) -> u32 {
        u32::from_ne_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]])
    }

    /// Whether process `pid` exists (a process of another user counts).
    pub fn pid_alive(pid: i32) -> bool {
        use nix::errno::Errno;
        pid > 0
            && matches!(
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
                Ok(()) | Err(Errno::EPERM)
            )
    }

    /// Judges the header of a region file, by the protocol's rules: a
    /// region is live while its owner process lives and its generation is
    /// not zero.
    pub fn judge(header: &[u8; HEADER_LEN], alive: impl Fn(i32) -> bool) -> Region {
        let verdict = |state, detail: String, owner_pid| Region {
            state,
            detail,
            owner_pid,
        };
        if u32_at(header, 0) != MAGIC {
            return verdict(State::NotOurs, "no region magic".into(), None);
        }
        let pid = u32_at(header, 8) as i32;
        let generation = u32_at(header, 12);
        let (request, response) = (u32_at(header, 20), u32_at(header, 28));
        if generation == 0 {
            return verdict(State::Stale, "never initialised (generation 0)".into(), Some(pid));
        }
        if !alive(pid) {
            return verdict(State::Stale, format!("owner pid {pid} is gone"), Some(pid));
        }
        verdict(
            State::Alive,
            format!(
                "session of pid {pid}; request area {}, response area {}",
                super::bytes(request as u64),
                super::bytes(response as u64)
            ),
            Some(pid),
        )
    }

    /// Reads and judges the region at `path`, without following a symlink
    /// or waiting on a FIFO.
    pub fn read(path: &Path) -> Region {
        use std::os::unix::fs::{FileExt, OpenOptionsExt};
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK)
            .open(path);
        let unknown = |detail: String| Region {
            state: State::Unknown,
            detail,
            owner_pid: None,
        };
        let file = match file {
            Ok(f) => f,
            Err(e) => return unknown(format!("cannot read its header ({e})")),
        };
        let mut header = [0u8; HEADER_LEN];
        match file.read_exact_at(&mut header, 0) {
            Ok(()) => judge(&header, pid_alive),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Region {
                state: State::NotOurs,
                detail: "shorter than a region header".into(),
                owner_pid: None,
            },
            Err(e) => unknown(format!("cannot read its header ({e})")),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn header(magic: u32, pid: i32, generation: u32) -> [u8; HEADER_LEN] {
            let mut h = [0u8; HEADER_LEN];
            h[0..4].copy_from_slice(&magic.to_ne_bytes());
            h[4..6].copy_from_slice(&3u16.to_ne_bytes());
            h[8..12].copy_from_slice(&pid.to_ne_bytes());
            h[12..16].copy_from_slice(&generation.to_ne_bytes());
            h[20..24].copy_from_slice(&4096u32.to_ne_bytes());
            h[28..32].copy_from_slice(&65536u32.to_ne_bytes());
            h
        }

        #[test]
        fn a_region_lives_while_its_owner_does_and_its_generation_is_set() {
            let live = judge(&header(MAGIC, 10, 1), |p| p == 10);
            assert_eq!((live.state, live.owner_pid), (State::Alive, Some(10)));
            assert!(live.detail.contains("64 KiB"), "{}", live.detail);
            assert_eq!(judge(&header(MAGIC, 10, 1), |_| false).state, State::Stale);
            assert_eq!(judge(&header(MAGIC, 10, 0), |_| true).state, State::Stale);
            assert_eq!(judge(&header(0x1234, 10, 1), |_| true).state, State::NotOurs);
        }

        #[test]
        fn this_process_is_alive_and_pid_zero_is_not() {
            assert!(pid_alive(std::process::id() as i32));
            assert!(!pid_alive(0));
            assert!(!pid_alive(-1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_names_give_their_service() {
        assert_eq!(socket_service("cgroups-snapshot.sock"), Some("cgroups-snapshot"));
        assert_eq!(socket_service("a b.sock"), None);
        assert_eq!(socket_service(".sock"), None);
        assert_eq!(socket_service("netdata.pid"), None);
        assert_eq!(
            region_service("cgroups-snapshot-00000000000000ff.ipcshm"),
            Some(("cgroups-snapshot", 255))
        );
        assert_eq!(region_service("svc-ff.ipcshm"), None);
        assert_eq!(region_service("-00000000000000ff.ipcshm"), None);
        assert_eq!(region_service("svc-00000000000000zz.ipcshm"), None);
    }

    #[test]
    fn probe_outcomes_map_to_states() {
        let states: Vec<State> = [
            Probe::Refused(STATUS_AUTH_FAILED),
            Probe::Busy,
            Probe::Stale(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
            Probe::WrongType,
            Probe::Garbled("x"),
            Probe::NoAnswer,
        ]
        .iter()
        .map(|p| judge_probe(p).0)
        .collect();
        assert_eq!(
            states,
            [
                State::Refusing,
                State::Busy,
                State::Stale,
                State::NotOurs,
                State::NotOurs,
                State::Unknown
            ]
        );
    }
}
