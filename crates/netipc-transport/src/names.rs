//! Service names, and the endpoint names of the Windows transports, as
//! pure functions (they are part of the wire contract, so they are built
//! and tested on every platform).
//!
//! - Named pipe: `\\.\pipe\netipc-{fnv1a64(run_dir):016x}-{service}`.
//! - Shared memory objects:
//!   `Local\netipc-{hash:016x}-{service}-p{profile}-s{session_id:016x}-{mapping|req_event|resp_event}`,
//!   where `hash` is FNV-1a 64 of `run_dir "\n" service "\n" auth_token`
//!   (the token in decimal), so only peers sharing the token find them.

use crate::error::{Result, TransportError};

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01B3;

/// FNV-1a, 64 bits.
pub(crate) fn fnv1a_64(data: &[u8]) -> u64 {
    data.iter()
        .fold(FNV_OFFSET, |h, &b| (h ^ b as u64).wrapping_mul(FNV_PRIME))
}

/// Checks a service name: one to any number of ASCII letters, digits, `-`,
/// `_` and `.`, but not `.` or `..`. The rule is the same on every platform
/// and in every implementation of the protocol, so a name one peer accepts
/// is one every peer can reach; anything else is rejected, never rewritten.
pub fn validate_service_name(service: &str) -> Result<()> {
    let reason = if service.is_empty() {
        "empty"
    } else if service == "." || service == ".." {
        "is a directory name"
    } else if !service
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        "only letters, digits, '-', '_' and '.' are allowed"
    } else {
        return Ok(());
    };
    Err(TransportError::InvalidServiceName(reason))
}

/// Checks a run dir: it must name a directory, so it cannot be empty (an
/// empty one would put endpoints in whatever the current directory is).
pub fn validate_run_dir(run_dir: &std::path::Path) -> Result<()> {
    if run_dir.as_os_str().is_empty() {
        return Err(TransportError::InvalidRunDir("empty"));
    }
    Ok(())
}

/// The longest pipe or kernel object name, in characters: Windows allows
/// 256 with the terminating NUL, and every implementation of the protocol
/// refuses longer names rather than let the system cut or reject them.
pub const MAX_OBJECT_NAME: usize = 255;

/// `name`, if it fits [`MAX_OBJECT_NAME`]; `PathTooLong` otherwise.
fn fitting(name: String) -> Result<String> {
    // The names are ASCII (the service name is checked), so bytes are
    // characters.
    if name.len() > MAX_OBJECT_NAME {
        return Err(TransportError::PathTooLong {
            len: name.len(),
            max: MAX_OBJECT_NAME,
        });
    }
    Ok(name)
}

/// The named pipe of `service` in namespace `run_dir`.
pub fn pipe_name(run_dir: &str, service: &str) -> Result<String> {
    validate_service_name(service)?;
    fitting(format!(
        r"\\.\pipe\netipc-{:016x}-{service}",
        fnv1a_64(run_dir.as_bytes())
    ))
}

/// The kernel objects of one shared-memory session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShmObjectNames {
    /// The file mapping.
    pub mapping: String,
    /// The event the client signals after publishing a request.
    pub req_event: String,
    /// The event the server signals after publishing a response.
    pub resp_event: String,
}

/// The kernel object names of session `session_id` with `profile`.
pub fn shm_object_names(
    run_dir: &str,
    service: &str,
    auth_token: u64,
    profile: u32,
    session_id: u64,
) -> Result<ShmObjectNames> {
    validate_service_name(service)?;
    let hash = fnv1a_64(format!("{run_dir}\n{service}\n{auth_token}").as_bytes());
    let base = format!(r"Local\netipc-{hash:016x}-{service}-p{profile}-s{session_id:016x}");
    Ok(ShmObjectNames {
        mapping: fitting(format!("{base}-mapping"))?,
        req_event: fitting(format!("{base}-req_event"))?,
        resp_event: fitting(format!("{base}-resp_event"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published FNV-1a 64 test values.
    #[test]
    fn fnv1a_known_values() {
        assert_eq!(fnv1a_64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a_64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn service_names_follow_one_rule() {
        for good in ["cgroups-snapshot", "a.b_c-9", "...", ".hidden", "X"] {
            assert!(validate_service_name(good).is_ok(), "{good:?}");
        }
        for bad in ["", ".", "..", "a/b", "a b", "café", "x:y", "a\0b", "tab\t"] {
            assert!(
                matches!(
                    validate_service_name(bad),
                    Err(TransportError::InvalidServiceName(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn pipe_names() {
        let h = fnv1a_64(br"C:\ProgramData\netdata\run");
        assert_eq!(
            pipe_name(r"C:\ProgramData\netdata\run", "cgroups-snapshot").unwrap(),
            format!(r"\\.\pipe\netipc-{h:016x}-cgroups-snapshot")
        );
        assert_eq!(
            pipe_name("", "a.b_c-9").unwrap(),
            r"\\.\pipe\netipc-cbf29ce484222325-a.b_c-9"
        );
        for bad in ["", ".", "..", "a/b", r"a\b", "a b", "café", "x:y"] {
            assert!(
                matches!(pipe_name("d", bad), Err(TransportError::InvalidServiceName(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn names_longer_than_windows_allows_are_refused() {
        // `\\.\pipe\netipc-` and the hash and its dash take 33 characters.
        assert_eq!(pipe_name("d", &"s".repeat(222)).unwrap().len(), MAX_OBJECT_NAME);
        assert!(matches!(
            pipe_name("d", &"s".repeat(223)),
            Err(TransportError::PathTooLong { len: 256, max: 255 })
        ));
        // The response event's name is the longest of a session's three.
        let fits = shm_object_names("d", &"s".repeat(193), 1, 2, 1).unwrap();
        assert_eq!(fits.resp_event.len(), MAX_OBJECT_NAME);
        assert!(matches!(
            shm_object_names("d", &"s".repeat(194), 1, 2, 1),
            Err(TransportError::PathTooLong { len: 256, max: 255 })
        ));
    }

    #[test]
    fn shm_names_cover_dir_service_and_token() {
        let n = shm_object_names("dir", "svc", 100, 2, 1).unwrap();
        let h = fnv1a_64(b"dir\nsvc\n100");
        assert_eq!(
            n.mapping,
            format!(r"Local\netipc-{h:016x}-svc-p2-s0000000000000001-mapping")
        );
        assert!(n.req_event.ends_with("-s0000000000000001-req_event"));
        assert!(n.resp_event.ends_with("-resp_event"));
        assert_ne!(
            n,
            shm_object_names("dir", "svc", 200, 2, 1).unwrap(),
            "the token changes the names"
        );
        assert!(shm_object_names("dir", "s/v", 1, 2, 1).is_err());
    }
}
