//! Interop peer for the UDS transport: the echo peer of
//! [`netipc_interop::echo`], with the command line every implementation
//! shares.

#[cfg(unix)]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(netipc_interop::echo::run("interop_uds", &args));
}

#[cfg(not(unix))]
fn main() {
    eprintln!("interop_uds runs on Unix only (on Windows: interop_named_pipe)");
    std::process::exit(2);
}
