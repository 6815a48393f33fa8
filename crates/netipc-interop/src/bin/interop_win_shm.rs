//! Interop peer for the Windows shared-memory region (SHM_HYBRID), with no
//! pipe at all: the raw echo of [`netipc_interop::region_echo`].

#[cfg(windows)]
fn main() {
    use netipc::protocol::PROFILE_SHM_HYBRID;
    use netipc::transport::windows::WinShmRegion;
    use netipc_interop::AUTH_TOKEN;
    use netipc_interop::region_echo::{CAPACITY, SESSION_ID, run};
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(run(
        "interop_win_shm",
        &args,
        |dir, service| {
            WinShmRegion::create(
                dir,
                service,
                AUTH_TOKEN,
                SESSION_ID,
                PROFILE_SHM_HYBRID,
                CAPACITY,
                CAPACITY,
            )
        },
        |dir, service| WinShmRegion::attach(dir, service, AUTH_TOKEN, SESSION_ID, PROFILE_SHM_HYBRID),
    ));
}

#[cfg(not(windows))]
fn main() {
    eprintln!("interop_win_shm runs on Windows only (on Unix: interop_shm)");
    std::process::exit(2);
}
