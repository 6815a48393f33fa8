//! Call futures dropped at any point: before anything is sent, part-way
//! through a chunked request or answer, while waiting over the socket or on
//! shared memory. The client goes on, and every later call's answer is its
//! own (an increment of its own value, the reverse of its own string).
#![cfg(unix)]

mod common;

use common::*;
use netipc::service::ClientConfig;
use netipc::tokio::increment::IncrementClient;
use netipc::tokio::string_reverse::StringReverseClient;
use proptest::prelude::*;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

/// Polls the inner future at most `polls` times, then drops it.
struct PollAtMost<F> {
    inner: Option<Pin<Box<F>>>,
    polls: u32,
}

impl<F: Future> Future for PollAtMost<F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.polls == 0 {
            self.inner = None;
            return Poll::Ready(None);
        }
        self.polls -= 1;
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        match inner.as_mut().poll(cx) {
            Poll::Ready(v) => Poll::Ready(Some(v)),
            Poll::Pending if self.polls == 0 => {
                self.inner = None;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

fn at_most<F: Future>(polls: u32, f: F) -> PollAtMost<F> {
    PollAtMost {
        inner: Some(Box::pin(f)),
        polls,
    }
}

/// How a call ends.
#[derive(Debug, Clone)]
enum End {
    /// Dropped after this many polls (0: never polled).
    Polls(u32),
    /// Dropped when this much time has passed.
    After(Duration),
    /// Awaited to the end, its answer checked.
    Complete,
}

/// One call of the sequence.
#[derive(Debug, Clone)]
enum Op {
    /// An increment of this value.
    Inc(u64, End),
    /// A reverse of a string of this length (long ones are chunked and
    /// fill the socket).
    Rev(usize, u8, End),
}

fn end() -> impl Strategy<Value = End> {
    prop_oneof![
        3 => (0u32..6).prop_map(End::Polls),
        2 => (0u64..400).prop_map(|us| End::After(Duration::from_micros(us))),
        3 => Just(End::Complete),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<u64>(), end()).prop_map(|(v, e)| Op::Inc(v, e)),
        (prop_oneof![1usize..64, 3000usize..200_000], any::<u8>(), end())
            .prop_map(|(n, b, e)| Op::Rev(n, b, e)),
    ]
}

fn string(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| seed.wrapping_add((i % 251) as u8)).collect()
}

/// Runs the sequence; each op that is dropped is followed by a complete
/// call whose answer must be its own.
async fn run(
    dir: &std::path::Path,
    profiles: u32,
    ops: &[Op],
    reconnects: &AtomicU64,
) -> Result<(), TestCaseError> {
    let cfg = ClientConfig {
        call_timeout: Duration::from_secs(20),
        ..client_config(profiles)
    };
    let mut inc = IncrementClient::new(dir, "inc", cfg.clone());
    let mut rev = StringReverseClient::new(dir, "rev", cfg);
    inc.refresh().await;
    rev.refresh().await;
    for (i, op) in ops.iter().enumerate() {
        let mark = i as u64 * 1000;
        match op {
            Op::Inc(v, end) => {
                let done = match end {
                    End::Polls(n) => at_most(*n, inc.call(*v)).await,
                    End::After(t) => tokio::time::timeout(*t, inc.call(*v)).await.ok(),
                    End::Complete => Some(inc.call(*v).await),
                };
                if let Some(r) = done {
                    prop_assert_eq!(
                        r.map_err(|e| TestCaseError::fail(e.to_string()))?,
                        v.wrapping_add(1)
                    );
                }
                // The next call is answered with its own value.
                let own = inc
                    .call(mark)
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(own, mark + 1);
            }
            Op::Rev(n, seed, end) => {
                let s = string(*n, *seed);
                let done = match end {
                    End::Polls(k) => {
                        at_most(*k, async { rev.call(&s).await.map(|v| v.as_bytes().to_vec()) }).await
                    }
                    End::After(t) => {
                        tokio::time::timeout(*t, async { rev.call(&s).await.map(|v| v.as_bytes().to_vec()) })
                            .await
                            .ok()
                    }
                    End::Complete => Some(rev.call(&s).await.map(|v| v.as_bytes().to_vec())),
                };
                let mut want = s.clone();
                want.reverse();
                if let Some(r) = done {
                    prop_assert_eq!(r.map_err(|e| TestCaseError::fail(e.to_string()))?, want);
                }
                let own = format!("call-{mark}");
                let got = rev
                    .call(own.as_bytes())
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let mut want = own.into_bytes();
                want.reverse();
                prop_assert_eq!(got.as_bytes(), &want[..]);
            }
        }
    }
    reconnects.fetch_add(
        inc.status().reconnect_count + rev.status().reconnect_count,
        Ordering::Relaxed,
    );
    Ok(())
}

fn cancellation(profiles: u32, async_servers: bool) {
    let dir = RunDir::new("async-cancel");
    // Servers that take a while now and then, so that calls wait.
    let slow_inc = netipc::service::increment::Handler {
        handle: Some(Box::new(|v| {
            if v % 3 == 0 {
                std::thread::sleep(Duration::from_micros(200));
            }
            Some(v.wrapping_add(1))
        })),
    };
    let cfg = server_config(profiles);
    let servers: Vec<Box<dyn Serving>> = if async_servers {
        vec![
            Box::new(Async::serve(netipc::tokio::ManagedServer::with_mode(
                dir.path(),
                "inc",
                cfg.clone(),
                slow_inc,
                netipc::tokio::HandlerMode::Blocking,
            ))),
            Box::new(Async::start(dir.path(), "rev", cfg, reverser())),
        ]
    } else {
        vec![
            Box::new(Blocking::start(dir.path(), "inc", cfg.clone(), slow_inc)),
            Box::new(Blocking::start(dir.path(), "rev", cfg, reverser())),
        ]
    };
    let rt = runtime();
    // Reconnects over all cases: dropped calls that had sent their
    // request (or were reconnecting) lead to them.
    let reconnects = AtomicU64::new(0);
    let config = ProptestConfig {
        cases: proptest_cases(24),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest::test_runner::TestRunner::new(config)
        .run(&prop::collection::vec(op(), 1..12), |ops| {
            rt.block_on(run(dir.path(), profiles, &ops, &reconnects))
        })
        .unwrap();
    drop(servers);
    assert!(
        reconnects.load(Ordering::Relaxed) > 0,
        "no dropped call ever left a session part-way: the test checked nothing"
    );
}

#[test]
fn dropped_calls_never_hand_their_answers_to_later_calls_over_the_socket() {
    cancellation(UDS, false);
}

#[test]
fn dropped_calls_never_hand_their_answers_to_later_calls_over_shared_memory() {
    cancellation(SHM, false);
}

#[test]
fn dropped_calls_against_an_async_server() {
    cancellation(SHM, true);
}
