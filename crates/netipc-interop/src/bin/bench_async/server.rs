//! The server: an async managed INCREMENT server for a while.

use netipc::service::increment::Handler;
use netipc_interop::Termination;
use netipc_interop::bench::ping_pong::{SERVER_GRACE, server_config};
use netipc_interop::bench::process_cpu;
use std::time::Duration;

pub(crate) fn run(cmd: &str, dir: &str, svc: &str, duration: Duration) -> Result<(), String> {
    let (_, shm) = crate::cli::scenario(cmd)?;
    // Before any other thread starts, so that every thread blocks the
    // signals and the wait below receives them.
    let termination = Termination::arm();
    if !duration.is_zero() {
        // The end of the run: the same signal a harness sends, so that one
        // wait serves both.
        let run = duration + SERVER_GRACE;
        std::thread::spawn(move || {
            std::thread::sleep(run);
            let _ = nix::sys::signal::kill(nix::unistd::getpid(), nix::sys::signal::Signal::SIGTERM);
        });
    }
    let handler = Handler {
        handle: Some(Box::new(|v| Some(v.wrapping_add(1)))),
    };
    let code = netipc_interop::tokio_peer::serve(&termination, dir, svc, server_config(shm), handler);
    println!("SERVER_CPU_SEC={:.6}", process_cpu().as_secs_f64());
    if code == 0 {
        Ok(())
    } else {
        Err("server failed".into())
    }
}
