//! Interop peer for the Windows Named Pipe: the echo peer of
//! [`netipc_interop::echo`], with the command line every implementation
//! shares.

#[cfg(windows)]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(netipc_interop::echo::run("interop_named_pipe", &args));
}

#[cfg(not(windows))]
fn main() {
    eprintln!("interop_named_pipe runs on Windows only (on Unix: interop_uds)");
    std::process::exit(2);
}
