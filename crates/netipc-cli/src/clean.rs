//! `netipc clean`: removes the stale endpoints of a run dir, never a live
//! one.
//!
//! An entry is removed only when all of these hold: it was found stale
//! (a socket that refuses connections, a region whose owner process is
//! gone or that was never initialised), it is still the same file (device
//! and inode) and still stale when checked again right before removal,
//! and, for a socket, it is older than [`SOCKET_MIN_AGE`]. The last rule
//! covers a server of any implementation that has just bound its socket
//! and not yet listened on it, which refuses connections for that moment.
//! netipc's own servers hold an `flock` on the run dir across that moment,
//! and `clean` takes the same lock.

use crate::cli::CleanArgs;
use crate::failure::Failure;
use crate::output;
#[cfg(unix)]
use serde::Serialize;

/// How old a refusing socket must be before `clean` takes it for stale.
#[cfg(unix)]
pub const SOCKET_MIN_AGE: std::time::Duration = std::time::Duration::from_secs(2);

/// What became of one stale entry.
#[cfg(unix)]
#[derive(Debug, Serialize)]
struct Action {
    name: String,
    kind: &'static str,
    /// `removed`, `would-remove` or `kept`.
    action: &'static str,
    detail: String,
}

/// What `clean --json` prints.
#[cfg(unix)]
#[derive(Debug, Serialize)]
struct Report<'a> {
    ok: bool,
    run_dir: String,
    dry_run: bool,
    actions: &'a [Action],
    /// Entries left alone because they are not stale, by state.
    untouched: std::collections::BTreeMap<&'static str, usize>,
}

/// Runs `netipc clean`.
#[cfg(windows)]
pub fn run(args: &CleanArgs, json: bool) -> Result<(), Failure> {
    let run_dir = crate::ls::run_dir_or_default(&args.run_dir);
    let note = "Windows pipes vanish with their server and shared-memory objects with their last \
                handle: nothing there is ever stale";
    if json {
        output::json(&serde_json::json!({
            "ok": true, "run_dir": run_dir.display().to_string(), "dry_run": args.dry_run,
            "actions": [], "note": note,
        }));
    } else {
        output::line(format!("{}: nothing to clean ({note})", run_dir.display()));
    }
    Ok(())
}

/// Runs `netipc clean`.
#[cfg(unix)]
pub fn run(args: &CleanArgs, json: bool) -> Result<(), Failure> {
    use crate::endpoints::{State, What, what_name};
    let run_dir = crate::ls::run_dir_or_default(&args.run_dir);
    crate::failure::check_run_dir(&run_dir)?;
    let _setup = lock_run_dir(&run_dir);
    // The token does not matter: a stale socket refuses the connection
    // before any handshake.
    let (checked, _) = crate::ls::checked_entries(&run_dir, 0, false, args.timeout)?;
    let mut actions = Vec::new();
    let mut untouched = std::collections::BTreeMap::new();
    let mut failed = Vec::new();
    for c in checked {
        if c.state != State::Stale {
            *untouched.entry(c.state.name()).or_insert(0) += 1;
            continue;
        }
        let kind = what_name(c.entry.what);
        let verdict = match c.entry.what {
            What::Socket | What::Region => still_stale(&c.entry, args.timeout),
            _ => Err("not an endpoint".to_string()),
        };
        let (action, detail) = match verdict {
            Err(why) => ("kept", why),
            Ok(()) if args.dry_run => ("would-remove", c.detail),
            Ok(()) => match std::fs::remove_file(&c.entry.path) {
                Ok(()) => ("removed", c.detail),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => ("removed", "gone already".into()),
                Err(e) => {
                    failed.push(format!("{} ({e})", c.entry.path.display()));
                    ("kept", format!("cannot remove it ({e})"))
                }
            },
        };
        actions.push(Action {
            name: c.entry.name,
            kind,
            action,
            detail,
        });
    }
    if json {
        output::json(&Report {
            ok: failed.is_empty(),
            run_dir: run_dir.display().to_string(),
            dry_run: args.dry_run,
            actions: &actions,
            untouched: untouched.clone(),
        });
    } else {
        let left: Vec<String> = untouched.iter().map(|(s, n)| format!("{n} {s}")).collect();
        let left = if left.is_empty() {
            String::new()
        } else {
            format!("; left alone: {}", left.join(", "))
        };
        if actions.is_empty() {
            output::line(format!("{}: nothing stale{left}", run_dir.display()));
        } else {
            let mut t = output::table(&["endpoint", "kind", "action", "detail"]);
            for a in &actions {
                t.add_row(vec![
                    a.name.clone(),
                    a.kind.into(),
                    a.action.into(),
                    a.detail.clone(),
                ]);
            }
            output::line(format!("{}{left}", run_dir.display()));
            output::print_table(&t);
        }
    }
    match failed.first() {
        None => Ok(()),
        Some(first) => Err(Failure::other(
            format!(
                "could not remove {} stale endpoint(s), first {first}",
                failed.len()
            ),
            Some("run as the owner of the run dir (the agent's user) or as root"),
        )),
    }
}

/// Checks a stale entry again right before removing it: the same file,
/// still stale, and for a socket old enough.
#[cfg(unix)]
fn still_stale(entry: &crate::endpoints::Entry, timeout: std::time::Duration) -> Result<(), String> {
    use crate::endpoints::{State, What, judge_probe, region};
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(&entry.path).map_err(|e| format!("cannot check it again ({e})"))?;
    if Some((meta.dev(), meta.ino())) != entry.id {
        return Err("replaced while checked".into());
    }
    match entry.what {
        What::Socket => {
            let age = meta
                .modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .unwrap_or_default();
            if age < SOCKET_MIN_AGE {
                return Err("created just now (a server may be starting); run clean again".into());
            }
            let (state, detail) = judge_probe(&crate::probe::probe_socket(&entry.path, 0, timeout));
            if state != State::Stale {
                return Err(format!("no longer stale: {detail}"));
            }
        }
        What::Region => {
            let r = region::read(&entry.path);
            if r.state != State::Stale {
                return Err(format!("no longer stale: {}", r.detail));
            }
        }
        _ => return Err("not an endpoint".into()),
    }
    Ok(())
}

/// Takes the run dir's setup lock, as netipc's servers do while they bind
/// and start listening, waiting up to 2 s; `None` if it cannot be had (the
/// clean goes on, protected by the other rules).
#[cfg(unix)]
fn lock_run_dir(run_dir: &std::path::Path) -> Option<nix::fcntl::Flock<std::fs::File>> {
    use nix::errno::Errno;
    use nix::fcntl::{Flock, FlockArg};
    let mut dir = std::fs::File::open(run_dir).ok()?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match Flock::lock(dir, FlockArg::LockExclusiveNonblock) {
            Ok(held) => return Some(held),
            Err((d, Errno::EWOULDBLOCK | Errno::EINTR)) if std::time::Instant::now() < deadline => {
                dir = d;
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(_) => return None,
        }
    }
}
