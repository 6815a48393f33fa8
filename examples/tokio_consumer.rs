//! An async consumer: a tokio app that refreshes a cgroups cache every
//! second, answers lookups from another task through the cache's reader,
//! and asks the `cgroups-lookup` service about paths, while doing other
//! work; none of it ever blocks a runtime worker.
//!
//! Run `tokio_provider` first, then:
//! `cargo run --features tokio --example tokio_consumer -- <run_dir> [seconds]`
//! (run dir default: the system's temporary directory; 10 s by default).
//! It exits non-zero if the cache never loaded.

use std::process::ExitCode;

fn main() -> ExitCode {
    #[cfg(unix)]
    return app::main();
    #[cfg(not(unix))]
    {
        eprintln!("the tokio layer serves POSIX sockets only (see docs/async.md)");
        ExitCode::FAILURE
    }
}

#[cfg(unix)]
mod app {
    use netipc::protocol::{PROFILE_BASELINE, PROFILE_SHM_HYBRID};
    use netipc::service::ClientConfig;
    use netipc::service::cgroups::simple_hash;
    use netipc::tokio::cgroups::CgroupsCache;
    use netipc::tokio::lookup::cgroups::CgroupsLookupClient;
    use std::process::ExitCode;
    use std::time::Duration;

    #[tokio::main]
    pub async fn main() -> ExitCode {
        let run_dir = std::env::args()
            .nth(1)
            .unwrap_or_else(|| std::env::temp_dir().display().to_string());
        let seconds: u64 = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(10);
        let config = ClientConfig {
            supported_profiles: PROFILE_BASELINE | PROFILE_SHM_HYBRID,
            preferred_profiles: PROFILE_SHM_HYBRID,
            auth_token: 0xDEADBEEFCAFEBABE,
            ..ClientConfig::default()
        };
        let mut cache = CgroupsCache::new(&run_dir, "cgroups-snapshot", config.clone());
        let reader = cache.reader();

        // Another task answers lookups from the latest snapshot: pure memory,
        // no I/O, no await.
        let answering = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            let mut answered = 0u64;
            for _ in 0..seconds * 4 {
                tick.tick().await;
                let snapshot = reader.guard();
                if snapshot
                    .lookup(simple_hash(b"init.scope"), b"init.scope")
                    .is_some()
                {
                    answered += 1;
                }
            }
            answered
        });

        // The lookup service, asked now and then.
        let mut lookups = CgroupsLookupClient::new(&run_dir, "cgroups-lookup", config);

        // Other work of the app, for the sake of the example: a counter.
        let mut other_work = tokio::time::interval(Duration::from_millis(10));
        let mut work_done = 0u64;
        let mut refresh = tokio::time::interval(Duration::from_secs(1));
        let end = tokio::time::Instant::now() + Duration::from_secs(seconds);
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(end) => break,
                _ = other_work.tick() => work_done += 1,
                _ = refresh.tick() => {
                    if cache.refresh().await {
                        println!("cache: {} cgroups, generation {}", cache.len(), cache.status().generation);
                    } else if let Some(e) = cache.last_error() {
                        println!("refresh failed (the cache keeps its last snapshot): {e}");
                    }
                    if !lookups.ready() {
                        lookups.refresh().await;
                    }
                    let paths = ["/sys/fs/cgroup/system.slice/init.scope", "/sys/fs/cgroup/nowhere"];
                    match lookups.call(&paths).await {
                        Ok(view) => {
                            for item in view.iter() {
                                println!("lookup {}: {:?} {}", item.path, item.status, item.name);
                            }
                        }
                        Err(e) => println!("lookup failed: {e}"),
                    }
                }
            }
        }
        let answered = answering.await.unwrap_or(0);
        println!("other work: {work_done} ticks; lookups answered from the cache: {answered}");
        if cache.ready() {
            ExitCode::SUCCESS
        } else {
            eprintln!("the cache never loaded: is tokio_provider running in {run_dir}?");
            ExitCode::FAILURE
        }
    }
}
