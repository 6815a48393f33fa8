//! Owned copies of the answers `call` prints, taken from the views the
//! typed clients return, with their tables and JSON forms.

use crate::output::{align_right, clip, table};
use comfy_table::Table;
use netipc::protocol::CgroupsResponseView;
use netipc::protocol::StrView;
use netipc::service::lookup::apps::{
    AppsLookupResponseView, AppsLookupStatus, CgroupStatus, Orchestrator, UID_UNSET,
};
use netipc::service::lookup::cgroups::{CgroupsLookupResponseView, CgroupsLookupStatus};
use serde::Serialize;

/// Widest path or label column of a table.
const WIDE: usize = 60;

/// One label of a lookup answer.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Label {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

/// One item of a snapshot.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SnapshotItem {
    /// The producer's hash of the name.
    pub hash: u32,
    /// Option flags.
    pub options: u32,
    /// The enabled value.
    pub enabled: u32,
    /// The cgroup's name.
    pub name: String,
    /// The cgroup's path.
    pub path: String,
}

/// A cgroups snapshot.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Snapshot {
    /// The snapshot's generation.
    pub generation: u64,
    /// The systemd_enabled value.
    pub systemd_enabled: u32,
    /// How many items it has.
    pub item_count: u32,
    /// The items, in the server's order.
    pub items: Vec<SnapshotItem>,
}

/// One answer of a cgroups lookup.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CgroupsLookupItem {
    /// The path asked for.
    pub path: String,
    /// The outcome.
    pub status: &'static str,
    /// The orchestrator.
    pub orchestrator: String,
    /// The cgroup's name.
    pub name: String,
    /// Its labels.
    pub labels: Vec<Label>,
}

/// A cgroups lookup's answers.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CgroupsLookup {
    /// The service's generation.
    pub generation: u64,
    /// One item per path, in request order.
    pub items: Vec<CgroupsLookupItem>,
}

/// One answer of an apps lookup.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AppsLookupItem {
    /// The PID asked for.
    pub pid: u32,
    /// The outcome.
    pub status: &'static str,
    /// What is known of its cgroup.
    pub cgroup_status: &'static str,
    /// The orchestrator.
    pub orchestrator: String,
    /// The parent PID.
    pub ppid: u32,
    /// The user id, when known.
    pub uid: Option<u32>,
    /// The start time.
    pub starttime: u64,
    /// The command name.
    pub comm: String,
    /// The cgroup's path.
    pub cgroup_path: String,
    /// The cgroup's name.
    pub cgroup_name: String,
    /// Its labels.
    pub labels: Vec<Label>,
}

/// An apps lookup's answers.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AppsLookup {
    /// The service's generation.
    pub generation: u64,
    /// One item per PID, in request order.
    pub items: Vec<AppsLookupItem>,
}

/// What a call answered.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Answer {
    /// A snapshot.
    Snapshot(Snapshot),
    /// A cgroups lookup.
    CgroupsLookup(CgroupsLookup),
    /// An apps lookup.
    AppsLookup(AppsLookup),
    /// An increment.
    Increment {
        /// The incremented value.
        value: u64,
    },
    /// A reversed string.
    StringReverse {
        /// The reversed text.
        text: String,
    },
}

fn text(v: StrView<'_>) -> String {
    v.to_string()
}

fn orchestrator(o: Orchestrator) -> String {
    o.name().map_or_else(|| format!("#{}", o.0), str::to_string)
}

fn cgroups_status(s: CgroupsLookupStatus) -> &'static str {
    match s {
        CgroupsLookupStatus::Known => "known",
        CgroupsLookupStatus::UnknownRetryLater => "unknown-retry-later",
        CgroupsLookupStatus::UnknownPermanent => "unknown-permanent",
        CgroupsLookupStatus::PayloadExceeded => "payload-exceeded",
        CgroupsLookupStatus::OversizedItem => "oversized-item",
    }
}

fn apps_status(s: AppsLookupStatus) -> &'static str {
    match s {
        AppsLookupStatus::Known => "known",
        AppsLookupStatus::Unknown => "unknown",
        AppsLookupStatus::PayloadExceeded => "payload-exceeded",
        AppsLookupStatus::OversizedItem => "oversized-item",
    }
}

fn cgroup_status(s: CgroupStatus) -> &'static str {
    match s {
        CgroupStatus::Known => "known",
        CgroupStatus::UnknownRetryLater => "unknown-retry-later",
        CgroupStatus::UnknownPermanent => "unknown-permanent",
        CgroupStatus::HostRoot => "host-root",
    }
}

impl Snapshot {
    /// An owned copy of a snapshot view.
    pub fn of(view: &CgroupsResponseView<'_>) -> Self {
        Self {
            generation: view.generation,
            systemd_enabled: view.systemd_enabled,
            item_count: view.item_count,
            items: view
                .iter()
                .map(|i| SnapshotItem {
                    hash: i.hash,
                    options: i.options,
                    enabled: i.enabled,
                    name: text(i.name),
                    path: text(i.path),
                })
                .collect(),
        }
    }
}

impl CgroupsLookup {
    /// An owned copy of a cgroups lookup view.
    pub fn of(view: &CgroupsLookupResponseView<'_>) -> Self {
        Self {
            generation: view.generation,
            items: view
                .iter()
                .map(|i| CgroupsLookupItem {
                    path: text(i.path),
                    status: cgroups_status(i.status),
                    orchestrator: orchestrator(i.orchestrator),
                    name: text(i.name),
                    labels: i
                        .labels()
                        .map(|l| Label {
                            key: text(l.key),
                            value: text(l.value),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

impl AppsLookup {
    /// An owned copy of an apps lookup view.
    pub fn of(view: &AppsLookupResponseView<'_>) -> Self {
        Self {
            generation: view.generation,
            items: view
                .iter()
                .map(|i| AppsLookupItem {
                    pid: i.pid,
                    status: apps_status(i.status),
                    cgroup_status: cgroup_status(i.cgroup_status),
                    orchestrator: orchestrator(i.orchestrator),
                    ppid: i.ppid,
                    uid: (i.uid != UID_UNSET).then_some(i.uid),
                    starttime: i.starttime,
                    comm: text(i.comm),
                    cgroup_path: text(i.cgroup_path),
                    cgroup_name: text(i.cgroup_name),
                    labels: i
                        .labels()
                        .map(|l| Label {
                            key: text(l.key),
                            value: text(l.value),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

fn labels(l: &[Label]) -> String {
    let joined = l
        .iter()
        .map(|l| format!("{}={}", l.key, l.value))
        .collect::<Vec<_>>()
        .join(", ");
    clip(&joined, WIDE)
}

/// Cuts a list shown in a table to `limit` rows (0: all); the rows left out.
fn shown<T>(items: &[T], limit: usize) -> (&[T], usize) {
    if limit == 0 || items.len() <= limit {
        (items, 0)
    } else {
        (&items[..limit], items.len() - limit)
    }
}

impl Answer {
    /// A one-line summary of the answer.
    pub fn summary(&self) -> String {
        match self {
            Answer::Snapshot(s) => format!(
                "generation {}, systemd_enabled {}, {} items",
                s.generation, s.systemd_enabled, s.item_count
            ),
            Answer::CgroupsLookup(l) => format!(
                "generation {}, {} of {} known",
                l.generation,
                l.items.iter().filter(|i| i.status == "known").count(),
                l.items.len()
            ),
            Answer::AppsLookup(l) => format!(
                "generation {}, {} of {} known",
                l.generation,
                l.items.iter().filter(|i| i.status == "known").count(),
                l.items.len()
            ),
            Answer::Increment { value } => format!("{value}"),
            Answer::StringReverse { text } => text.clone(),
        }
    }

    /// The answer's items as a table, with the count of rows left out
    /// (`None` for answers without items).
    pub fn table(&self, limit: usize) -> Option<(Table, usize)> {
        Some(match self {
            Answer::Snapshot(s) => {
                let mut t = table(&["hash", "opts", "on", "name", "path"]);
                let (rows, more) = shown(&s.items, limit);
                for i in rows {
                    t.add_row(vec![
                        i.hash.to_string(),
                        i.options.to_string(),
                        i.enabled.to_string(),
                        i.name.clone(),
                        clip(&i.path, WIDE),
                    ]);
                }
                align_right(&mut t, &[0, 1, 2]);
                (t, more)
            }
            Answer::CgroupsLookup(l) => {
                let mut t = table(&["path", "status", "orchestrator", "name", "labels"]);
                let (rows, more) = shown(&l.items, limit);
                for i in rows {
                    t.add_row(vec![
                        clip(&i.path, WIDE),
                        i.status.to_string(),
                        i.orchestrator.clone(),
                        i.name.clone(),
                        labels(&i.labels),
                    ]);
                }
                (t, more)
            }
            Answer::AppsLookup(l) => {
                let mut t = table(&[
                    "pid",
                    "status",
                    "comm",
                    "ppid",
                    "uid",
                    "cgroup",
                    "orchestrator",
                    "name",
                    "labels",
                ]);
                let (rows, more) = shown(&l.items, limit);
                for i in rows {
                    t.add_row(vec![
                        i.pid.to_string(),
                        i.status.to_string(),
                        i.comm.clone(),
                        i.ppid.to_string(),
                        i.uid.map_or_else(|| "-".into(), |u| u.to_string()),
                        format!("{} {}", i.cgroup_status, clip(&i.cgroup_path, WIDE)),
                        i.orchestrator.clone(),
                        i.cgroup_name.clone(),
                        labels(&i.labels),
                    ]);
                }
                align_right(&mut t, &[0, 3, 4]);
                (t, more)
            }
            Answer::Increment { .. } | Answer::StringReverse { .. } => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netipc::protocol::CgroupsBuilder;

    #[test]
    fn a_snapshot_is_copied_whole_and_its_table_cut_to_the_limit() {
        let mut payload = Vec::new();
        let mut b = CgroupsBuilder::new(&mut payload, 65536);
        b.set_header(1, 7);
        for i in 0..5u32 {
            b.add(
                i,
                0,
                1,
                format!("cg{i}").as_bytes(),
                format!("/sys/fs/cgroup/cg{i}").as_bytes(),
            )
            .unwrap();
        }
        let n = b.finish();
        let view = CgroupsResponseView::decode(&payload[..n]).unwrap();
        let answer = Answer::Snapshot(Snapshot::of(&view));
        assert_eq!(answer.summary(), "generation 7, systemd_enabled 1, 5 items");
        let (t, more) = answer.table(3).unwrap();
        assert_eq!((t.row_count(), more), (3, 2));
        assert!(t.to_string().contains("/sys/fs/cgroup/cg2"));
        let (t, more) = answer.table(0).unwrap();
        assert_eq!((t.row_count(), more), (5, 0));
        let json = serde_json::to_value(&answer).unwrap();
        assert_eq!(json["items"][4]["name"], "cg4");
        assert_eq!(json["generation"], 7);
    }

    #[test]
    fn scalar_answers_have_no_table() {
        let a = Answer::Increment { value: 42 };
        assert!(a.table(10).is_none());
        assert_eq!(serde_json::to_value(&a).unwrap()["value"], 42);
        assert_eq!(Answer::StringReverse { text: "olleh".into() }.summary(), "olleh");
    }
}
