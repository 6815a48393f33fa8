//! Helpers shared by the test suites of the netipc crates: private run
//! directories, child processes (this test binary started again, or
//! another program), waits with a deadline, the state of a thread, and a
//! runner for the suites that decide at run time whether they can check
//! anything.
//!
//! It is a dev-dependency of every crate of the workspace, the lowest layer
//! included, so it depends on no netipc crate.
//!
//! # Tests that check nothing
//!
//! A test that passes is one that checked something. Hence:
//!
//! - The child half of a test (an entry point that the parent test runs in
//!   a child process) is `#[ignore = "child process of <parent>"]`, and the
//!   parent runs it by name with [`child_test`]; run by hand, without the
//!   variables its parent sets, it fails ([`child_env`]).
//! - A test that needs something the machine may lack (another
//!   implementation's peers, mount namespaces, a real Windows) lives in a
//!   test target with `harness = false` run by [`harness::run`], and
//!   reports itself ignored, with the reason, where that is missing.

pub mod alloc_count;
mod gate;
pub mod harness;
mod launch;
mod misc;
mod run_dir;
#[cfg(target_os = "linux")]
pub mod threads;
mod wait;

pub use gate::Gate;
pub use launch::{ReadyChild, child_env, child_test, child_test_args, spawn_child, spawn_ready, started};
pub use misc::{count_panics, proptest_cases};
pub use run_dir::{RunDir, entries_of, windows_run_dir};
pub use wait::{PATIENCE, finishes_within, poll_until, wait_until};
