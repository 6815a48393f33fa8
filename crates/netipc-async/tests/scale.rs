//! 1,000 clients of one async server in one process: every call answered,
//! none misrouted. `NETIPC_ASYNC_CLIENTS` and `NETIPC_ASYNC_CALLS` make it
//! longer.
#![cfg(unix)]

mod common;

use common::*;
use netipc::tokio::increment::IncrementClient;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn env_or(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn a_thousand_clients_of_one_async_server_in_one_process() {
    let n = env_or("NETIPC_ASYNC_CLIENTS", 1000) as u64;
    let calls = env_or("NETIPC_ASYNC_CALLS", 3) as u64;
    let dir = RunDir::new("async-thousand");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let server = Arc::new(netipc::tokio::increment::ManagedServer::new(
            dir.path(),
            "inc",
            server_config(UDS),
            incrementer(),
        ));
        let (bound, is_bound) = tokio::sync::oneshot::channel();
        let serving = tokio::spawn({
            let server = Arc::clone(&server);
            async move {
                server
                    .run_notify(move || {
                        let _ = bound.send(());
                    })
                    .await
            }
        });
        is_bound.await.unwrap();
        let mut clients = tokio::task::JoinSet::new();
        for k in 0..n {
            let dir = dir.path().to_path_buf();
            clients.spawn(async move {
                let mut c = IncrementClient::new(&dir, "inc", client_config(UDS));
                // Connects queue for the blocking pool: give them time.
                c.set_call_timeout(Duration::from_secs(60));
                let deadline = Instant::now() + Duration::from_secs(60);
                while !c.ready() && Instant::now() < deadline {
                    c.refresh().await;
                }
                let mut answered = 0;
                for i in 0..calls {
                    let v = k << 32 | i;
                    match c.call(v).await {
                        Ok(a) if a == v + 1 => answered += 1,
                        Ok(a) => panic!("client {k} got {a} for {v}: misrouted"),
                        Err(e) => panic!("client {k}: {e}"),
                    }
                }
                answered
            });
        }
        let mut answered = 0;
        while let Some(r) = clients.join_next().await {
            answered += r.unwrap();
        }
        assert_eq!(answered, n * calls);
        assert!(server.active_sessions() <= n as usize);
        server.stop();
        serving.await.unwrap().unwrap();
    });
}
