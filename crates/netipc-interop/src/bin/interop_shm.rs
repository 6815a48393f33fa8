//! Interop peer for the Linux shared-memory region, with no socket at all:
//! the raw echo of [`netipc_interop::region_echo`].

#[cfg(target_os = "linux")]
fn main() {
    use netipc::transport::posix::shm::ShmRegion;
    use netipc_interop::region_echo::{CAPACITY, SESSION_ID, run};
    use std::path::Path;
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(run(
        "interop_shm",
        &args,
        |dir, service| ShmRegion::create(Path::new(dir), service, SESSION_ID, CAPACITY, CAPACITY),
        |dir, service| ShmRegion::attach(Path::new(dir), service, SESSION_ID),
    ));
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("interop_shm runs on Linux only (on Windows: interop_win_shm)");
    std::process::exit(2);
}
