//! `netipc ls`: the endpoints of a run dir, probed.

use crate::cli::LsArgs;
use crate::endpoints::{Checked, check, scan, what_name};
use crate::failure::Failure;
use crate::output::{self, table};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The run dir of `ls` and `clean`: the one given, else `NETIPC_RUN_DIR`,
/// else the agent's usual one.
pub fn run_dir_or_default(given: &Option<PathBuf>) -> PathBuf {
    given.clone().unwrap_or_else(|| {
        std::env::var_os("NETIPC_RUN_DIR")
            .filter(|v| !v.is_empty())
            .map_or_else(|| PathBuf::from(crate::cli::DEFAULT_RUN_DIR), PathBuf::from)
    })
}

/// What `ls --json` prints.
#[derive(Debug, Serialize)]
struct Listing<'a> {
    ok: bool,
    run_dir: String,
    entries: &'a [Checked],
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

/// Lists and checks the entries of `run_dir`: the endpoints (entries with
/// an endpoint name, and every socket), or everything with `all`; and a
/// note on how they were found, when they could not be listed.
pub fn checked_entries(
    run_dir: &Path,
    token: u64,
    all: bool,
    timeout: std::time::Duration,
) -> Result<(Vec<Checked>, Option<String>), Failure> {
    let (entries, note) = scan(run_dir)?;
    let checked = entries
        .into_iter()
        .filter(|e| all || e.endpoint_name() || e.what == crate::endpoints::What::Socket)
        .map(|e| check(e, run_dir, token, timeout))
        .filter(|c| !(c.entry.guessed && c.absent))
        .collect();
    Ok((checked, note))
}

/// The permission bits as `ls -l` shows them (`rw-------`).
fn mode_text(mode: Option<u32>) -> String {
    let Some(m) = mode else {
        return "-".into();
    };
    let bit = |b: u32, c: char| if m & b != 0 { c } else { '-' };
    [
        bit(0o400, 'r'),
        bit(0o200, 'w'),
        bit(0o100, 'x'),
        bit(0o040, 'r'),
        bit(0o020, 'w'),
        bit(0o010, 'x'),
        bit(0o004, 'r'),
        bit(0o002, 'w'),
        bit(0o001, 'x'),
    ]
    .iter()
    .collect()
}

/// Runs `netipc ls`.
pub fn run(args: &LsArgs, json: bool) -> Result<(), Failure> {
    let run_dir = run_dir_or_default(&args.run_dir);
    let (checked, note) = checked_entries(&run_dir, args.token, args.all, args.timeout)?;
    if json {
        output::json(&Listing {
            ok: true,
            run_dir: run_dir.display().to_string(),
            entries: &checked,
            note,
        });
        return Ok(());
    }
    if let Some(note) = &note {
        output::line(format!("note: {note}"));
    }
    if checked.is_empty() {
        output::line(format!(
            "{}: no endpoints{}",
            run_dir.display(),
            if args.all {
                ""
            } else {
                " (--all lists every entry)"
            }
        ));
        return Ok(());
    }
    let mut t = table(&["endpoint", "kind", "state", "detail", "owner", "mode"]);
    for c in &checked {
        let owner = match (&c.entry.owner, c.entry.uid) {
            (Some(name), _) => name.clone(),
            (None, Some(uid)) => uid.to_string(),
            (None, None) => "-".into(),
        };
        t.add_row(vec![
            c.entry.name.clone(),
            what_name(c.entry.what).to_string(),
            c.state.name().to_string(),
            c.detail.clone(),
            owner,
            mode_text(c.entry.mode),
        ]);
    }
    output::line(format!(
        "{} (probed with token {:#x})",
        run_dir.display(),
        args.token
    ));
    output::print_table(&t);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_read_like_ls() {
        assert_eq!(mode_text(Some(0o600)), "rw-------");
        assert_eq!(mode_text(Some(0o755)), "rwxr-xr-x");
        assert_eq!(mode_text(None), "-");
    }

    #[test]
    fn the_default_run_dir_is_the_agents() {
        let given = Some(PathBuf::from("/tmp/x"));
        assert_eq!(run_dir_or_default(&given), PathBuf::from("/tmp/x"));
        if std::env::var_os("NETIPC_RUN_DIR").is_none() {
            assert_eq!(run_dir_or_default(&None), PathBuf::from("/run/netdata"));
        }
    }
}
