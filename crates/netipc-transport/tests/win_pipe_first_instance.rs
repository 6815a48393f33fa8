//! A second server on a pipe name that a server holds is refused. The
//! listener relies on `FILE_FLAG_FIRST_PIPE_INSTANCE` for it, which Windows
//! enforces and Wine does not: under Wine the test can check nothing, and
//! reports itself ignored (this target has `harness = false` for that; the
//! standard harness cannot ignore a test at run time). Elsewhere than on
//! Windows it holds no test.

use netipc_test_support::harness::{self, Trial};

fn main() {
    harness::run(trials());
}

#[cfg(not(windows))]
fn trials() -> Vec<Trial> {
    Vec::new()
}

#[cfg(windows)]
fn trials() -> Vec<Trial> {
    vec![harness::trial(
        "second_server_on_a_name_is_address_in_use",
        second_server_on_a_name_is_address_in_use,
    )]
}

/// Whether this process runs under Wine.
#[cfg(windows)]
fn running_under_wine() -> bool {
    use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleA, GetProcAddress};
    // SAFETY: looks up an export of the always-loaded ntdll by
    // NUL-terminated names; nothing is called through the result.
    unsafe {
        let ntdll = GetModuleHandleA(c"ntdll.dll".as_ptr().cast());
        !ntdll.is_null() && GetProcAddress(ntdll, c"wine_get_version".as_ptr().cast()).is_some()
    }
}

#[cfg(windows)]
fn second_server_on_a_name_is_address_in_use() -> harness::Ran {
    use netipc_test_support::windows_run_dir;
    use netipc_transport::windows::NpListener;
    use netipc_transport::{ServerConfig, TransportError};
    if running_under_wine() {
        return harness::Ran::Lacking("Wine does not enforce FILE_FLAG_FIRST_PIPE_INSTANCE".into());
    }
    let cfg = || ServerConfig {
        max_request_payload_bytes: 4096,
        max_response_payload_bytes: 4096,
        max_request_batch_items: 100,
        auth_token: 0x5eed,
        ..ServerConfig::default()
    };
    let dir = windows_run_dir();
    let _first = NpListener::bind(&dir, "dup", cfg()).unwrap();
    let err = NpListener::bind(&dir, "dup", cfg()).unwrap_err();
    assert!(matches!(err, TransportError::AddressInUse { .. }), "{err:?}");
    harness::Ran::Checked
}
