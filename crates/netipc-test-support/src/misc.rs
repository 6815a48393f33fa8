//! Settings and counts that several suites share.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Cases of a property test: `default`, or more when the `PROPTEST_CASES`
/// variable asks for more (never fewer).
pub fn proptest_cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
        .max(default)
}

/// Counts every panic of this test binary from now on, in any thread (a
/// panic that a server catches too; the default hook still reports each
/// one).
pub fn count_panics() -> &'static AtomicUsize {
    static PANICS: AtomicUsize = AtomicUsize::new(0);
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            default_hook(info);
        }));
    });
    &PANICS
}
