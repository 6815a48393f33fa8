//! A runner for test targets with `harness = false`, built on
//! `libtest-mimic`: it takes the same arguments as the standard harness and
//! prints the same report, and a test can find at run time that it cannot
//! check anything here and report itself ignored, with the reason, instead
//! of passing. (The standard harness can only ignore a test when it is
//! compiled.)
//!
//! ```no_run
//! use netipc_test_support::harness::{self, Ran};
//!
//! fn main() {
//!     harness::run(vec![harness::trial("needs_a_shell", || {
//!         if !std::path::Path::new("/bin/sh").exists() {
//!             return Ran::Lacking("no /bin/sh on this machine".into());
//!         }
//!         // Checks that panic on failure.
//!         Ran::Checked
//!     })]);
//! }
//! ```

pub use libtest_mimic::Trial;
use libtest_mimic::{Arguments, Completion};

/// How a test ended that did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ran {
    /// It checked what it is for.
    Checked,
    /// What it needs is missing here (the reason), so it checked nothing:
    /// it is reported ignored.
    Lacking(String),
}

/// A test named `name` that runs `body`: it fails if `body` panics, and is
/// reported ignored if `body` returns [`Ran::Lacking`].
pub fn trial(name: impl Into<String>, body: impl FnOnce() -> Ran + Send + 'static) -> Trial {
    Trial::ignorable_test(name, move || {
        Ok(match body() {
            Ran::Checked => Completion::Completed,
            Ran::Lacking(why) => Completion::ignored_with(why),
        })
    })
}

/// The child half of another test of the same binary, which runs it with
/// [`crate::child_test`]: ignored in a normal run.
pub fn child_trial(name: impl Into<String>, body: impl FnOnce() + Send + 'static) -> Trial {
    Trial::test(name, move || {
        body();
        Ok(())
    })
    .with_ignored_flag(true)
}

/// Runs the `trials` selected by the command line and exits with the
/// harness's status.
pub fn run(trials: Vec<Trial>) -> ! {
    libtest_mimic::run(&Arguments::from_args(), trials).exit()
}
