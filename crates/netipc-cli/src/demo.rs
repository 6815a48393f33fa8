//! The synthetic data `serve --demo N` provides: N cgroups (with names,
//! paths, orchestrators and labels) and N processes living in them, and
//! the small changes `--change-every` makes to them.

use netipc::service::cgroups::simple_hash;
use netipc::service::lookup::apps::Orchestrator;
use std::collections::HashMap;

/// The first PID of the demo's processes.
pub const FIRST_PID: u32 = 1000;

/// One synthetic cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroup {
    /// Its name.
    pub name: String,
    /// Its path.
    pub path: String,
    /// Option flags.
    pub options: u32,
    /// The enabled value.
    pub enabled: u32,
    /// Who runs it.
    pub orchestrator: Orchestrator,
    /// Its labels.
    pub labels: Vec<(String, String)>,
}

impl Cgroup {
    /// The agent's hash of the name.
    pub fn hash(&self) -> u32 {
        simple_hash(self.name.as_bytes())
    }
}

/// The demo's data.
#[derive(Debug, Clone)]
pub struct Demo {
    /// Bumped by every change.
    pub generation: u64,
    /// The cgroups, in serving order.
    pub cgroups: Vec<Cgroup>,
    /// Index of each cgroup's path.
    by_path: HashMap<String, usize>,
    /// How many processes there are (PIDs from [`FIRST_PID`]).
    pub processes: u32,
    /// Changes made so far.
    changes: u64,
}

const ORCHESTRATORS: [Orchestrator; 4] = [
    Orchestrator::SYSTEMD,
    Orchestrator::DOCKER,
    Orchestrator::K8S,
    Orchestrator::PODMAN,
];

/// The `i`-th synthetic cgroup.
fn cgroup(i: u64) -> Cgroup {
    let orchestrator = ORCHESTRATORS[(i % ORCHESTRATORS.len() as u64) as usize];
    let (name, path, labels) = match orchestrator {
        Orchestrator::SYSTEMD => (
            format!("system.slice/demo-{i:04}.service"),
            format!("/sys/fs/cgroup/system.slice/demo-{i:04}.service"),
            vec![("unit".to_string(), format!("demo-{i:04}.service"))],
        ),
        Orchestrator::DOCKER => (
            format!("docker/demo-{i:04}"),
            format!(
                "/sys/fs/cgroup/system.slice/docker-{:016x}.scope",
                i * 0x9E37_79B9
            ),
            vec![("image".to_string(), format!("demo/app:{}", i % 5))],
        ),
        Orchestrator::K8S => (
            format!("k8s/default/demo-pod-{i:04}"),
            format!("/sys/fs/cgroup/kubepods.slice/kubepods-pod{i:08x}.slice"),
            vec![
                ("namespace".to_string(), "default".to_string()),
                ("pod".to_string(), format!("demo-pod-{i:04}")),
            ],
        ),
        _ => (
            format!("podman/demo-{i:04}"),
            format!("/sys/fs/cgroup/machine.slice/libpod-{i:012x}.scope"),
            Vec::new(),
        ),
    };
    Cgroup {
        name,
        path,
        options: (i % 3) as u32 * 2,
        enabled: (i % 7 != 6) as u32,
        orchestrator,
        labels,
    }
}

impl Demo {
    /// `n` cgroups and `n` processes, generation 1.
    pub fn new(n: u32) -> Self {
        let mut d = Self {
            generation: 1,
            cgroups: (0..n as u64).map(cgroup).collect(),
            by_path: HashMap::new(),
            processes: n,
            changes: 0,
        };
        d.index();
        d
    }

    fn index(&mut self) {
        self.by_path = self
            .cgroups
            .iter()
            .enumerate()
            .map(|(i, c)| (c.path.clone(), i))
            .collect();
    }

    /// The cgroup at `path`.
    pub fn by_path(&self, path: &[u8]) -> Option<&Cgroup> {
        let path = std::str::from_utf8(path).ok()?;
        self.by_path.get(path).map(|&i| &self.cgroups[i])
    }

    /// The cgroup process `pid` lives in, if `pid` is one of the demo's.
    pub fn process(&self, pid: u32) -> Option<(u32, &Cgroup)> {
        let k = pid.checked_sub(FIRST_PID)?;
        if k >= self.processes || self.cgroups.is_empty() {
            return None;
        }
        Some((k, &self.cgroups[k as usize % self.cgroups.len()]))
    }

    /// One change: a cgroup flips its enabled value, the oldest added one
    /// goes away (once there are two) and a new one appears; the
    /// generation goes up.
    pub fn change(&mut self) {
        self.changes += 1;
        self.generation += 1;
        let n = self.processes as usize;
        if n > 0 {
            let i = (self.changes as usize * 7) % n;
            self.cgroups[i].enabled ^= 1;
        }
        if self.cgroups.len() >= n + 2 {
            self.cgroups.remove(n);
        }
        let mut added = cgroup(1_000_000 + self.changes);
        added.name = format!("demo/added-{}", self.changes);
        added.path = format!("/sys/fs/cgroup/demo.slice/added-{}.scope", self.changes);
        self.cgroups.push(added);
        self.index();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_has_n_distinct_cgroups_and_processes_in_them() {
        let d = Demo::new(50);
        assert_eq!(d.cgroups.len(), 50);
        let names: std::collections::HashSet<_> = d.cgroups.iter().map(|c| &c.name).collect();
        let paths: std::collections::HashSet<_> = d.cgroups.iter().map(|c| &c.path).collect();
        assert_eq!((names.len(), paths.len()), (50, 50));
        let c = &d.cgroups[7];
        assert_eq!(d.by_path(c.path.as_bytes()), Some(c));
        assert_eq!(d.by_path(b"/nope"), None);
        assert_eq!(d.process(FIRST_PID + 3).map(|(k, _)| k), Some(3));
        assert!(d.process(FIRST_PID + 50).is_none());
        assert!(d.process(1).is_none());
    }

    #[test]
    fn a_change_adds_removes_and_changes_items() {
        let mut d = Demo::new(10);
        let before = d.cgroups.clone();
        d.change();
        d.change();
        d.change();
        assert_eq!(d.generation, 4);
        // Ten originals, and the last two added (the first was removed).
        assert_eq!(d.cgroups.len(), 12);
        assert!(d.cgroups.iter().any(|c| c.name == "demo/added-3"));
        assert!(!d.cgroups.iter().any(|c| c.name == "demo/added-1"));
        let flipped = d.cgroups[..10]
            .iter()
            .zip(&before)
            .filter(|(a, b)| a != b)
            .count();
        assert_eq!(flipped, 3);
        assert!(d.by_path(b"/sys/fs/cgroup/demo.slice/added-3.scope").is_some());
    }

    #[test]
    fn an_empty_demo_is_valid() {
        let mut d = Demo::new(0);
        assert!(d.process(FIRST_PID).is_none());
        d.change();
        assert_eq!(d.cgroups.len(), 1);
    }
}
