//! The async twin of `interop_service` (our tokio layer), with the same
//! command line for the snapshot exchange:
//!
//! ```text
//! interop_service_async server|client <run_dir> <service>
//! ```
//!
//! The server publishes the same 3-item snapshot from an async managed
//! server on a current-thread runtime, until SIGTERM or SIGINT; the client
//! retries `refresh` for up to 2 s, calls once with an async client and
//! checks the snapshot. `NIPC_PROFILE=shm` selects SHM_HYBRID. POSIX only:
//! elsewhere it says so and exits 2.

fn main() {
    #[cfg(unix)]
    std::process::exit(app::main());
    #[cfg(not(unix))]
    {
        eprintln!("interop_service_async: the tokio layer serves POSIX sockets only");
        std::process::exit(2);
    }
}

#[cfg(unix)]
mod app {
    use netipc::service::cgroups::{ClientConfig, Handler, ServerConfig};
    use netipc::tokio::cgroups::{CgroupsClient, ManagedServer};
    use netipc_interop::*;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    pub fn main() -> i32 {
        let Some((mode, run_dir, service)) = args("interop_service_async server|client <run_dir> <service>")
        else {
            return 2;
        };
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("interop_service_async: no runtime: {e}");
                return 1;
            }
        };
        match mode.as_str() {
            "server" => serve(&runtime, &run_dir, &service),
            "client" => verdict(
                "interop_service_async client",
                runtime.block_on(client(&run_dir, &service)),
            ),
            _ => {
                eprintln!("unknown mode {mode}");
                2
            }
        }
    }

    fn serve(runtime: &tokio::runtime::Runtime, run_dir: &str, service: &str) -> i32 {
        let termination = Termination::arm();
        let handler = Handler {
            handle: Some(Box::new(|_req, b| {
                b.set_header(fixture::SYSTEMD_ENABLED, fixture::GENERATION);
                fixture::ITEMS
                    .iter()
                    .all(|(h, o, e, n, p)| b.add(*h, *o, *e, n.as_bytes(), p.as_bytes()).is_ok())
            })),
        };
        let profiles = profiles();
        let config = ServerConfig {
            supported_profiles: profiles,
            preferred_profiles: profiles,
            max_request_payload_bytes: REQUEST_PAYLOAD,
            max_request_batch_items: BATCH_ITEMS,
            max_response_payload_bytes: RESPONSE_PAYLOAD,
            max_response_batch_items: BATCH_ITEMS,
            auth_token: AUTH_TOKEN,
            ..ServerConfig::default()
        };
        let server = Arc::new(ManagedServer::new(run_dir, service, config, handler));
        let (bound, is_bound) = std::sync::mpsc::channel();
        let serving = runtime.spawn({
            let server = Arc::clone(&server);
            async move {
                server
                    .run_notify(move || {
                        let _ = bound.send(());
                    })
                    .await
            }
        });
        // The runtime runs on its own thread; this one waits for the signal.
        let driver = std::thread::scope(|s| {
            let driving = s.spawn(|| runtime.block_on(serving));
            if is_bound.recv().is_ok() {
                announce_ready();
                termination.wait();
            }
            server.stop();
            driving.join()
        });
        match driver {
            Ok(Ok(Ok(()))) => 0,
            Ok(Ok(Err(e))) => {
                eprintln!("server: {e}");
                1
            }
            _ => 1,
        }
    }

    async fn client(run_dir: &str, service: &str) -> Result<(), String> {
        let profiles = profiles();
        let config = ClientConfig {
            supported_profiles: profiles,
            preferred_profiles: profiles,
            max_request_batch_items: BATCH_ITEMS,
            max_response_payload_bytes: RESPONSE_PAYLOAD,
            auth_token: AUTH_TOKEN,
            ..ClientConfig::default()
        };
        let mut client = CgroupsClient::new(run_dir, service, config);
        let deadline = Instant::now() + Duration::from_secs(2);
        while !client.ready() && Instant::now() < deadline {
            if !client.refresh().await {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        if !client.ready() {
            return Err(format!("not ready ({:?})", client.state()));
        }
        let view = client
            .call_snapshot()
            .await
            .map_err(|e| format!("call failed: {e}"))?;
        if view.item_count != 3
            || view.systemd_enabled != fixture::SYSTEMD_ENABLED
            || view.generation != fixture::GENERATION
        {
            return Err(format!(
                "snapshot header: {} items, systemd {}, generation {}",
                view.item_count, view.systemd_enabled, view.generation
            ));
        }
        for (i, (hash, _, enabled, name, path)) in fixture::ITEMS.iter().enumerate() {
            let item = view.item(i as u32).map_err(|e| e.to_string())?;
            if item.hash != *hash || item.enabled != *enabled || item.name != *name || item.path != *path {
                return Err(format!("item {i}: {item:?}"));
            }
        }
        Ok(())
    }
}
