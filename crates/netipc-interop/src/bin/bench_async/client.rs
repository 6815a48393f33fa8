//! The client: an async INCREMENT client calling one request at a time.

use netipc::tokio::increment::IncrementClient;
use netipc_interop::bench::ping_pong::client_config;
use netipc_interop::bench::{CallClock, Latencies, Meter, print_csv_as};
use netipc_interop::tokio_peer::{connect, runtime};
use std::time::Duration;

/// The name of this driver in the CSV line's client column.
const DRIVER: &str = "netipc-async";

pub(crate) fn run(cmd: &str, dir: &str, svc: &str, duration: Duration, rps: u64) -> Result<(), String> {
    let (scenario, shm) = crate::cli::scenario(cmd)?;
    runtime()?.block_on(ping_pong(scenario, shm, dir, svc, duration, rps))
}

async fn ping_pong(
    scenario: &str,
    shm: bool,
    dir: &str,
    svc: &str,
    duration: Duration,
    rps: u64,
) -> Result<(), String> {
    let mut c = IncrementClient::new(dir, svc, client_config(shm));
    let connected = connect(async || {
        c.refresh().await;
        c.ready()
    })
    .await;
    connected.map_err(|e| format!("{e}: {:?}", c.last_connect_error()))?;
    if shm && !c.status().shm {
        return Err("the server did not select SHM".into());
    }
    let mut lat = Latencies::new(if rps == 0 {
        5_000_000
    } else {
        (rps as f64 * duration.as_secs_f64()) as usize
    });
    let mut counter = 0u64;
    let meter = Meter::start();
    // Paced runs sleep the runtime's thread between calls: this task is
    // the only one it runs.
    let mut clock = CallClock::new(duration, rps);
    while let Some(t0) = clock.next_call() {
        let v = c.call(counter).await.map_err(|e| e.to_string())?;
        if v != counter + 1 {
            return Err(format!("counter chain broken: expected {}, got {v}", counter + 1));
        }
        lat.record(clock.call_done(t0));
        counter += 1;
    }
    let (wall, cpu) = meter.read();
    print_csv_as(DRIVER, scenario, counter as f64 / wall, &mut lat, cpu);
    Ok(())
}
