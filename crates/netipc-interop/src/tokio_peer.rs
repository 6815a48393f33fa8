//! The async (tokio) side of the interop peers: async managed servers run
//! until stopped, and the async clients of every exchange, each checking
//! its answer with the blocking client's check. POSIX only, as the tokio
//! layer.

use crate::lookup::*;
use crate::*;
use netipc::service::{ClientConfig, ServerConfig, ServiceHandler};
use netipc::tokio::cgroups::{CgroupsCache, CgroupsClient};
use netipc::tokio::lookup::{apps, cgroups};

/// A current-thread runtime with its I/O and time drivers, as the async
/// peers and drivers run on.
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("no runtime: {e}"))
}

/// An async managed server of `handler`, on a current-thread runtime of
/// its own thread, until its [`Termination`]; prints `READY` once bound.
/// Returns the exit code.
pub fn serve<H: ServiceHandler>(
    termination: &Termination,
    run_dir: &str,
    service: &str,
    config: ServerConfig,
    handler: H,
) -> i32 {
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("server: {e}");
            return 1;
        }
    };
    let server = netipc::tokio::ManagedServer::new(run_dir, service, config, handler);
    serve_until_stopped(
        termination,
        |bound| runtime.block_on(server.run_notify(bound)),
        || server.stop(),
    )
}

/// The async peer's server for `exchange`, with the blocking peer's
/// handler and configuration, until stopped.
pub fn serve_exchange(exchange: ServiceExchange, run_dir: &str, service: &str) -> i32 {
    let termination = Termination::arm();
    let (d, s, config) = (run_dir, service, server_config(exchange.workers()));
    match exchange {
        ServiceExchange::Snapshot => serve_snapshot_fixture(&termination, d, s, BATCH_ITEMS),
        ServiceExchange::AppsScale => serve(&termination, d, s, config, apps_scale_handler()),
        ServiceExchange::CgroupsScale => serve(&termination, d, s, config, cgroups_scale_handler()),
        ServiceExchange::AppsMixed => serve(&termination, d, s, config, apps_mixed_handler()),
        ServiceExchange::CgroupsMixed => serve(&termination, d, s, config, cgroups_mixed_handler()),
    }
}

/// An async server publishing [`fixture`] with `batch_items` items per
/// batch, until its [`Termination`].
pub fn serve_snapshot_fixture(
    termination: &Termination,
    run_dir: &str,
    service: &str,
    batch_items: u32,
) -> i32 {
    let config = snapshot_server_config(batch_items);
    serve(termination, run_dir, service, config, snapshot_fixture_handler())
}

/// The async peer's client for `exchange`: connects, calls once, checks.
pub async fn client_exchange(exchange: ServiceExchange, run_dir: &str, service: &str) -> Result<(), String> {
    match exchange {
        ServiceExchange::Snapshot => snapshot_client(run_dir, service).await,
        ServiceExchange::AppsScale => {
            let pids = apps_scale_keys(scale_items());
            let mut c = apps_client(run_dir, service, client_config(pids.len() as u32)).await?;
            check_apps_scale(&c.call(&pids).await.map_err(call_failed)?, &pids)
        }
        ServiceExchange::CgroupsScale => {
            let paths = cgroups_scale_keys(scale_items());
            let mut c = cgroups_client(run_dir, service, client_config(paths.len() as u32)).await?;
            check_cgroups_scale(&c.call(&paths).await.map_err(call_failed)?, &paths)
        }
        ServiceExchange::AppsMixed => {
            let mut c = apps_client(run_dir, service, client_config(5)).await?;
            check_apps_mixed(&c.call(&APPS_MIXED_PIDS).await.map_err(call_failed)?)
        }
        ServiceExchange::CgroupsMixed => {
            let mut c = cgroups_client(run_dir, service, client_config(5)).await?;
            check_cgroups_mixed(&c.call(&CGROUPS_MIXED_PATHS).await.map_err(call_failed)?)
        }
    }
}

fn call_failed(e: netipc::service::ServiceError) -> String {
    format!("call failed: {e}")
}

/// Like [`crate::connect`], on the runtime: awaits `attempt` until it
/// says the client is ready, for up to [`CONNECT_PATIENCE`].
pub async fn connect(mut attempt: impl AsyncFnMut() -> bool) -> Result<(), String> {
    let deadline = std::time::Instant::now() + CONNECT_PATIENCE;
    while !attempt().await {
        if std::time::Instant::now() >= deadline {
            return Err("not ready".into());
        }
        tokio::time::sleep(CONNECT_RETRY).await;
    }
    Ok(())
}

async fn apps_client(
    run_dir: &str,
    service: &str,
    config: ClientConfig,
) -> Result<apps::AppsLookupClient, String> {
    let mut c = apps::AppsLookupClient::new(run_dir, service, config);
    connect(async || {
        c.refresh().await;
        c.ready()
    })
    .await?;
    Ok(c)
}

async fn cgroups_client(
    run_dir: &str,
    service: &str,
    config: ClientConfig,
) -> Result<cgroups::CgroupsLookupClient, String> {
    let mut c = cgroups::CgroupsLookupClient::new(run_dir, service, config);
    connect(async || {
        c.refresh().await;
        c.ready()
    })
    .await?;
    Ok(c)
}

/// The snapshot client: checks the whole [`fixture`].
pub async fn snapshot_client(run_dir: &str, service: &str) -> Result<(), String> {
    let mut client = CgroupsClient::new(run_dir, service, snapshot_client_config(BATCH_ITEMS));
    let connected = connect(async || {
        client.refresh().await;
        client.ready()
    })
    .await;
    connected.map_err(|e| format!("{e} ({:?})", client.state()))?;
    check_snapshot_fixture(&client.call_snapshot().await.map_err(call_failed)?)
}

/// The cache client: refreshes until loaded, checks the status and two
/// lookups.
pub async fn cache_client(run_dir: &str, service: &str) -> Result<(), String> {
    let mut cache = CgroupsCache::new(run_dir, service, snapshot_client_config(1));
    let loaded = connect(async || cache.refresh().await).await;
    loaded.map_err(|e| format!("cache {e}: {:?}", cache.last_error()))?;
    check_cache_fixture(&cache.status(), &cache.snapshot())?;
    cache.close();
    Ok(())
}
