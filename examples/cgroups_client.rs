//! A `cgroups-snapshot` client: connect, fetch one snapshot, print it.
//!
//! Run a server first (`cargo run --example cgroups_server -- /tmp`), then
//! `cargo run --example cgroups_client -- /tmp`. Exits non-zero, with the
//! reason, when the service is not available or the call fails.

use netipc::protocol::PROFILE_BASELINE;
use netipc::service::cgroups::{CgroupsClient, ClientConfig};
use std::process::ExitCode;

fn main() -> ExitCode {
    let run_dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| std::env::temp_dir().display().to_string());
    let config = ClientConfig {
        supported_profiles: PROFILE_BASELINE,
        auth_token: 0xDEADBEEFCAFEBABE,
        ..ClientConfig::default()
    };
    let mut client = CgroupsClient::new(&run_dir, "cgroups-snapshot", config);
    client.refresh();
    if !client.ready() {
        // The state says what kind of failure; the last connect error says why.
        match client.last_connect_error() {
            Some(why) => eprintln!("service not available ({:?}: {why})", client.state()),
            None => eprintln!("service not available ({:?})", client.state()),
        }
        eprintln!("a real plugin would retry from its loop");
        return ExitCode::FAILURE;
    }
    let code = match client.call_snapshot() {
        Ok(view) => {
            println!("generation {}, {} items", view.generation, view.item_count);
            for item in view.iter() {
                println!("{:>10}  {:<20}  {}", item.hash, item.name, item.path);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("call failed: {e}");
            ExitCode::FAILURE
        }
    };
    client.close();
    code
}
