//! What the POSIX transport does on each platform: the packet-size and
//! endpoint-path limits of the socket, shared memory only where it exists,
//! and a typed error where the platform has no SEQPACKET sockets (macOS).
#![cfg(unix)]

use netipc_test_support::RunDir;
#[cfg(not(target_vendor = "apple"))]
use netipc_transport::codec::{Header, Kind, PROFILE_BASELINE, PROFILE_SHM_HYBRID};
use netipc_transport::posix::{UdsListener, UdsSession, endpoint_path};
use netipc_transport::{ClientConfig, ServerConfig, TransportError};
use std::path::Path;

#[cfg(not(target_vendor = "apple"))]
const TOKEN: u64 = 0x51DE;

/// The longest endpoint path: `sun_path` less its NUL.
#[cfg(target_os = "linux")]
const PATH_MAX: usize = 107;
#[cfg(not(target_os = "linux"))]
const PATH_MAX: usize = 103;

#[test]
fn endpoint_paths_fit_the_platforms_sun_path() {
    // "/" + name + "/s.sock": a name of PATH_MAX - 8 bytes makes a path
    // of exactly PATH_MAX.
    let run_dir = format!("/{}", "d".repeat(PATH_MAX - 8));
    let fits = endpoint_path(Path::new(&run_dir), "s").unwrap();
    assert_eq!(fits.as_os_str().len(), PATH_MAX);
    let err = endpoint_path(Path::new(&format!("{run_dir}d")), "s").unwrap_err();
    assert!(
        matches!(err, TransportError::PathTooLong { len, max } if len == PATH_MAX + 1 && max == PATH_MAX),
        "{err:?}"
    );
}

/// macOS has no `AF_UNIX` SEQPACKET sockets: binding and connecting say so
/// with `PlatformUnsupported`, and nothing is left at the endpoint (no
/// socket of another type stands in).
#[cfg(target_vendor = "apple")]
#[test]
fn without_seqpacket_sockets_the_error_says_so() {
    let dir = RunDir::new("platform");
    let unsupported = |e: &TransportError| matches!(e, TransportError::PlatformUnsupported { needed, .. } if needed.contains("SOCK_SEQPACKET"));
    let err = UdsListener::bind(dir.path(), "svc", ServerConfig::default()).unwrap_err();
    assert!(unsupported(&err), "{err:?}");
    assert!(!dir.path().join("svc.sock").exists());
    let err = UdsSession::connect(dir.path(), "svc", &ClientConfig::default()).unwrap_err();
    assert!(unsupported(&err), "{err:?}");
}

/// A pair configured to support and prefer shared memory: on Linux it
/// runs over shared memory, elsewhere over the socket (neither side offers
/// shared memory there).
#[cfg(not(target_vendor = "apple"))]
#[test]
fn shared_memory_is_negotiated_only_on_linux() {
    let dir = RunDir::new("platform");
    let profiles = PROFILE_BASELINE | PROFILE_SHM_HYBRID;
    let server_cfg = ServerConfig {
        supported_profiles: profiles,
        preferred_profiles: PROFILE_SHM_HYBRID,
        auth_token: TOKEN,
        ..ServerConfig::default()
    };
    let listener = UdsListener::bind(dir.path(), "svc", server_cfg).unwrap();
    // The server's session lives until the end: its region goes with it.
    let server = std::thread::spawn(move || listener.accept());
    let client_cfg = ClientConfig {
        supported_profiles: profiles,
        preferred_profiles: PROFILE_SHM_HYBRID,
        auth_token: TOKEN,
        ..ClientConfig::default()
    };
    let client = UdsSession::connect(dir.path(), "svc", &client_cfg).unwrap();
    let want = if cfg!(target_os = "linux") {
        PROFILE_SHM_HYBRID
    } else {
        PROFILE_BASELINE
    };
    assert_eq!(client.params().selected_profile, want);
    assert_eq!(client.is_shm(), cfg!(target_os = "linux"));
    assert_eq!(server.join().unwrap().unwrap().params().selected_profile, want);
}

/// Both sides configured with a packet size far over what the socket's
/// send buffer takes: the first packet that size is refused by the kernel
/// (`EMSGSIZE`), and the send says which limit the platform lacks instead
/// of failing as a bare I/O error.
#[cfg(not(target_vendor = "apple"))]
#[test]
fn a_packet_over_the_sockets_limit_is_a_typed_error() {
    const PACKET: u32 = 64 << 20;
    let dir = RunDir::new("platform");
    let server_cfg = ServerConfig {
        packet_size: PACKET,
        max_request_payload_bytes: PACKET,
        auth_token: TOKEN,
        ..ServerConfig::default()
    };
    let listener = UdsListener::bind(dir.path(), "svc", server_cfg).unwrap();
    let server = std::thread::spawn(move || listener.accept());
    let client_cfg = ClientConfig {
        packet_size: PACKET,
        max_request_payload_bytes: PACKET,
        auth_token: TOKEN,
        ..ClientConfig::default()
    };
    let mut client = UdsSession::connect(dir.path(), "svc", &client_cfg).unwrap();
    let _server = server.join().unwrap().unwrap();
    assert_eq!(client.params().packet_size, PACKET);
    let payload = vec![7u8; 1 << 20];
    let err = client
        .send(&Header::new(Kind::Request, 1, 1, 0), &payload)
        .unwrap_err();
    assert!(
        matches!(&err, TransportError::PlatformUnsupported { source, .. }
            if source.raw_os_error() == Some(libc::EMSGSIZE)),
        "{err:?}"
    );
    assert!(err.breaks_session());
}
