//! The soak: a provider of every service kind and 16 consumers, run for a
//! given time while the provider is killed (SIGKILL) and restarted at
//! random moments, random consumers are killed and restarted, and, where
//! the machine allows it, the run dir's filesystem is filled so that
//! shared-memory set-up fails. It checks throughout that:
//!
//! - a cache that once loaded a snapshot is never empty again;
//! - no call returns another call's answer (every request is unique, and
//!   every answer is checked against it);
//! - after each fault every consumer is served again within its refresh
//!   period (plus a fixed grace for a loaded machine; the largest delay
//!   is reported);
//! - descriptors, memory (RSS), region files and run dir entries come back
//!   to their baseline: a consumer holds exactly its baseline descriptors
//!   (plus one for a region) whenever it is connected, the provider holds
//!   its baseline plus one per session and one per region once each fault
//!   has settled, the run dir holds one socket per service and one region
//!   file per shared-memory session, and at the end, with every consumer
//!   stopped, the provider is back to its baseline and the run dir empties.
//!
//! ```text
//! soak <seconds> [seed]
//! ```
//!
//! Exits 0 only if every check held, after a report of what it did; 1 with
//! the report and the violations otherwise; 2 on a usage error.
//!
//! Filling the filesystem takes a private mount namespace with a small
//! tmpfs for the run dir, which needs root: elsewhere the soak says so and
//! runs without that fault. The providers and consumers are this program
//! again (`soak provider ...`, `soak consumer ...`), so that they can be
//! killed.

#[cfg(target_os = "linux")]
mod consumer;
#[cfg(target_os = "linux")]
mod fixture;
#[cfg(target_os = "linux")]
mod proc_stats;
#[cfg(target_os = "linux")]
mod provider;
#[cfg(target_os = "linux")]
mod space;
#[cfg(target_os = "linux")]
mod supervisor;

#[cfg(target_os = "linux")]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        Some("provider") if args.len() == 2 => provider::run(&args[1]),
        Some("consumer") if args.len() == 4 => match args[2].parse() {
            Ok(id) => consumer::run(&args[1], id, &args[3]),
            Err(_) => usage(),
        },
        Some(seconds) => match (seconds.parse::<u64>(), args.get(1).map(|s| s.parse::<u64>())) {
            (Ok(secs), None) => supervisor::run(secs, None),
            (Ok(secs), Some(Ok(seed))) => supervisor::run(secs, Some(seed)),
            _ => usage(),
        },
        None => usage(),
    };
    std::process::exit(code);
}

#[cfg(target_os = "linux")]
fn usage() -> i32 {
    eprintln!("usage: soak <seconds> [seed]");
    2
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("soak: runs on Linux only (it reads /proc and kills its children with signals)");
    std::process::exit(2);
}
