//! `netipc watch`: a snapshot cache refreshed at a cadence, and what each
//! refresh changed. When the provider goes away the cache keeps its last
//! good view, and the tool says so until the provider is back.

use crate::cli::WatchArgs;
use crate::client::{check_run_dir, check_service, client_config, context, transport_key, transport_name};
use crate::failure::{Context, Failure};
use crate::output;
use netipc::service::ClientState;
use netipc::service::cgroups::{CacheSnapshot, CgroupsCache, CgroupsItemView};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// One item, as watch prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// The producer's hash of the name.
    pub hash: u32,
    /// The name.
    pub name: String,
    /// The path.
    pub path: String,
    /// Option flags.
    pub options: u32,
    /// The enabled value.
    pub enabled: u32,
}

impl From<CgroupsItemView<'_>> for Item {
    fn from(i: CgroupsItemView<'_>) -> Self {
        Self {
            hash: i.hash,
            name: i.name.to_string(),
            path: i.path.to_string(),
            options: i.options,
            enabled: i.enabled,
        }
    }
}

/// An item whose fields changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changed {
    /// Before.
    pub before: Item,
    /// After.
    pub after: Item,
}

/// What changed between two snapshots; items are identified by hash and
/// name, as the protocol identifies them.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub struct Diff {
    /// Items only in the new snapshot.
    pub added: Vec<Item>,
    /// Items only in the old one.
    pub removed: Vec<Item>,
    /// Items in both, with other fields.
    pub changed: Vec<Changed>,
}

impl Diff {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// The differences from `old` to `new`, in the new snapshot's order
/// (removed items in the old one's).
pub fn diff(old: &[Item], new: &[Item]) -> Diff {
    let key = |i: &Item| (i.hash, i.name.clone());
    let before: HashMap<_, &Item> = old.iter().map(|i| (key(i), i)).collect();
    let after: HashMap<_, &Item> = new.iter().map(|i| (key(i), i)).collect();
    let mut d = Diff::default();
    for i in new {
        match before.get(&key(i)) {
            None => d.added.push(i.clone()),
            Some(b) if *b != i => d.changed.push(Changed {
                before: (*b).clone(),
                after: i.clone(),
            }),
            Some(_) => {}
        }
    }
    d.removed = old
        .iter()
        .filter(|i| !after.contains_key(&key(i)))
        .cloned()
        .collect();
    d
}

fn items_of(s: &CacheSnapshot) -> Vec<Item> {
    s.items().map(Item::from).collect()
}

/// Why the last refresh failed, explained.
fn reason(cache: &CgroupsCache, ctx: &Context) -> Failure {
    let state = cache.status().state;
    match (state, cache.last_connect_error(), cache.last_error()) {
        (s, Some(e), _) if s != ClientState::Ready => ctx.connect_failure(e),
        (s, last, Some(e)) => ctx.call_failure("snapshot", e, s, last),
        (s, last, None) => ctx.not_ready(s, last),
    }
}

fn fields(i: &Item) -> String {
    format!(
        "{} (hash {}, options {}, enabled {})",
        i.path, i.hash, i.options, i.enabled
    )
}

/// The lines of a diff, at most `limit` item lines (0: all).
fn diff_lines(d: &Diff, limit: usize) -> Vec<String> {
    let mut lines: Vec<String> = d
        .added
        .iter()
        .map(|i| format!("  + {} {}", i.name, fields(i)))
        .chain(d.removed.iter().map(|i| format!("  - {}", i.name)))
        .chain(d.changed.iter().map(|c| {
            let mut what = Vec::new();
            if c.before.path != c.after.path {
                what.push(format!("path {} -> {}", c.before.path, c.after.path));
            }
            if c.before.options != c.after.options {
                what.push(format!("options {} -> {}", c.before.options, c.after.options));
            }
            if c.before.enabled != c.after.enabled {
                what.push(format!("enabled {} -> {}", c.before.enabled, c.after.enabled));
            }
            format!("  ~ {}: {}", c.after.name, what.join(", "))
        }))
        .collect();
    if limit != 0 && lines.len() > limit {
        let more = lines.len() - limit;
        lines.truncate(limit);
        lines.push(format!("  … {more} more (--limit 0 shows all)"));
    }
    lines
}

/// Where the watch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No snapshot yet.
    Waiting,
    /// The last refresh succeeded.
    Live,
    /// A snapshot is kept, the provider is gone.
    Lost,
}

/// Runs `netipc watch`.
pub fn run(args: &WatchArgs, json: bool) -> Result<(), Failure> {
    check_service(&args.service)?;
    check_run_dir(&args.run_dir)?;
    let config = client_config(&args.client)?;
    let ctx = context(&args.run_dir, &args.service, &args.client);
    let mut cache = CgroupsCache::new(&args.run_dir, &args.service, config);
    cache.set_call_timeout(args.client.timeout);

    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    })
    .map_err(|e| Failure::other(format!("cannot handle Ctrl-C ({e})"), None))?;

    let started = Instant::now();
    let stamp = || format!("[{:>7.1}s]", started.elapsed().as_secs_f64());
    let mut phase = Phase::Waiting;
    let mut view: Vec<Item> = Vec::new();
    let mut generation = 0u64;
    let mut last_reason = String::new();
    let mut last_failure: Option<Failure>;
    let mut refreshes = 0u64;
    if !json {
        output::line(format!(
            "watching {} every {} (Ctrl-C stops)",
            ctx.endpoint,
            crate::duration::human(args.every)
        ));
    }
    loop {
        refreshes += 1;
        if cache.refresh() {
            last_failure = None;
            let snap = cache.snapshot();
            let items = items_of(&snap);
            let shm = cache.status().shm;
            match phase {
                Phase::Waiting | Phase::Lost => {
                    let back = phase == Phase::Lost;
                    let d = diff(&view, &items);
                    if json {
                        output::json(&serde_json::json!({
                            "event": if back { "back" } else { "connected" },
                            "transport": transport_key(shm),
                            "generation": snap.generation(),
                            "items": items.len(),
                            "diff": if back { Some(&d) } else { None },
                        }));
                    } else {
                        output::line(format!(
                            "{} {} over {}: generation {}, {} items",
                            stamp(),
                            if back { "provider back" } else { "connected" },
                            transport_name(shm),
                            snap.generation(),
                            items.len()
                        ));
                        if back {
                            diff_lines(&d, args.limit).iter().for_each(output::line);
                        }
                    }
                }
                Phase::Live => {
                    let d = diff(&view, &items);
                    if !d.is_empty() || snap.generation() != generation {
                        if json {
                            output::json(&serde_json::json!({
                                "event": "changed",
                                "previous_generation": generation,
                                "generation": snap.generation(),
                                "items": items.len(),
                                "diff": d,
                            }));
                        } else {
                            output::line(format!(
                                "{} generation {} -> {}: +{} -{} ~{} ({} items)",
                                stamp(),
                                generation,
                                snap.generation(),
                                d.added.len(),
                                d.removed.len(),
                                d.changed.len(),
                                items.len()
                            ));
                            diff_lines(&d, args.limit).iter().for_each(output::line);
                        }
                    }
                }
            }
            phase = Phase::Live;
            view = items;
            generation = snap.generation();
        } else {
            let why = reason(&cache, &ctx);
            let text = why.to_string();
            match phase {
                Phase::Live => {
                    phase = Phase::Lost;
                    if json {
                        output::json(&serde_json::json!({
                            "event": "lost",
                            "reason": why.to_json()["error"],
                            "kept_generation": generation,
                            "kept_items": view.len(),
                        }));
                    } else {
                        output::line(format!(
                            "{} provider lost ({text}); keeping the last view: generation {generation}, {} items",
                            stamp(),
                            view.len()
                        ));
                    }
                }
                Phase::Waiting | Phase::Lost if text != last_reason => {
                    if json {
                        output::json(&serde_json::json!({
                            "event": if phase == Phase::Waiting { "waiting" } else { "still-lost" },
                            "reason": why.to_json()["error"],
                        }));
                    } else if phase == Phase::Waiting {
                        output::line(format!("{} waiting for the provider: {}", stamp(), why.line()));
                    } else {
                        output::line(format!("{} still gone ({text}); the last view is kept", stamp()));
                    }
                }
                _ => {}
            }
            last_reason = text;
            last_failure = Some(why);
        }
        if args.count != 0 && refreshes >= args.count {
            break;
        }
        match stop_rx.recv_timeout(args.every.max(Duration::from_millis(1))) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            _ => break,
        }
    }
    if json {
        output::json(&serde_json::json!({
            "event": "stopped",
            "refreshes": refreshes,
            "generation": generation,
            "items": view.len(),
        }));
    }
    cache.close();
    // Never reached the provider: that is the command's failure.
    match (phase, last_failure) {
        (Phase::Waiting, Some(f)) => Err(f),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(hash: u32, name: &str, enabled: u32) -> Item {
        Item {
            hash,
            name: name.into(),
            path: format!("/sys/fs/cgroup/{name}"),
            options: 0,
            enabled,
        }
    }

    #[test]
    fn a_diff_tells_added_removed_and_changed_items() {
        let old = [item(1, "a", 1), item(2, "b", 1), item(3, "c", 1)];
        let new = [item(1, "a", 1), item(3, "c", 0), item(4, "d", 1)];
        let d = diff(&old, &new);
        assert_eq!(d.added, [item(4, "d", 1)]);
        assert_eq!(d.removed, [item(2, "b", 1)]);
        assert_eq!(d.changed.len(), 1);
        assert_eq!(d.changed[0].after, item(3, "c", 0));
        assert!(diff(&new, &new).is_empty());
        let lines = diff_lines(&d, 0);
        assert_eq!(lines.len(), 3);
        assert!(lines[2].contains("enabled 1 -> 0"), "{lines:?}");
    }

    #[test]
    fn the_same_name_under_another_hash_is_another_item() {
        let d = diff(&[item(1, "a", 1)], &[item(2, "a", 1)]);
        assert_eq!((d.added.len(), d.removed.len(), d.changed.len()), (1, 1, 0));
    }

    #[test]
    fn long_diffs_are_cut_to_the_limit() {
        let new: Vec<Item> = (0..30).map(|i| item(i, &format!("n{i}"), 1)).collect();
        let lines = diff_lines(&diff(&[], &new), 5);
        assert_eq!(lines.len(), 6);
        assert!(lines[5].contains("25 more"));
    }
}
