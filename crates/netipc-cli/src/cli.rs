//! The command line: subcommands, their options and the examples of their
//! `--help`.

use crate::duration::parse_duration;
use crate::failure::Failure;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// The run dir `ls` and `clean` look at when none is given: the one the
/// netdata agent gives its plugins on Linux, as in the protocol's examples.
pub const DEFAULT_RUN_DIR: &str = "/run/netdata";

const ROOT_EXAMPLES: &str = "\
Examples:
  netipc ls                                   # endpoints in /run/netdata, probed
  netipc call /run/netdata cgroups-snapshot snapshot --token 0xDEADBEEFCAFEBABE
  netipc serve /tmp/ipc cgroups-snapshot --demo 100
  netipc watch /tmp/ipc cgroups-snapshot --every 1s

Exit codes: 0 success; 1 the call, probe or operation failed; 2 usage error.
Environment: NETIPC_TOKEN (the default of --token), NETIPC_RUN_DIR (the
default run dir of ls and clean).";

/// Operators' and plugin authors' tool for netipc (netdata plugin-ipc)
/// endpoints: which services exist in a run dir, whether their providers
/// are alive, what they answer, what a token does.
#[derive(Debug, Parser)]
#[command(name = "netipc", version, after_help = ROOT_EXAMPLES)]
pub struct Cli {
    /// Print machine-readable JSON on standard output instead of tables.
    /// Errors still print one line on standard error; with --json, a JSON
    /// error object is also printed on standard output.
    #[arg(long, global = true)]
    pub json: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every endpoint of a run dir with its probed state.
    #[command(after_help = LS_EXAMPLES)]
    Ls(LsArgs),
    /// Call a service once and print its answer.
    #[command(after_help = CALL_EXAMPLES)]
    Call(CallArgs),
    /// Keep a cache of a cgroups-snapshot service and print what changes.
    #[command(after_help = WATCH_EXAMPLES)]
    Watch(WatchArgs),
    /// Serve synthetic data as any service kind, for trying clients.
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
    /// Run the cross-process benchmark scenarios and summarize them.
    #[command(after_help = BENCH_EXAMPLES)]
    Bench(BenchArgs),
    /// Remove the stale endpoints of a run dir (never a live one).
    #[command(after_help = CLEAN_EXAMPLES)]
    Clean(CleanArgs),
}

const LS_EXAMPLES: &str = "\
Examples:
  netipc ls
  netipc ls /tmp/ipc --token 0xDEADBEEFCAFEBABE
  netipc ls /run/netdata --all --json

States: alive (the handshake was answered; its profiles and limits are
shown), refusing (the server rejected the handshake: another auth token,
or no common profile), busy (the server's backlog is full), stale (a socket
nobody listens on, or a region whose owner is gone: `netipc clean` removes
them), not-ours (something else at an endpoint name, or a socket that does
not speak the protocol), unknown (it could not be checked, e.g. permission
denied). The probe is a handshake that offers only the baseline profile
and then closes: a live server serves it like any client, and creates no
shared-memory region for it.

On Windows the run dir names a namespace of pipes: `ls` lists the pipes
of that namespace (where the system cannot list pipes, as under Wine, it
probes the service names of the protocol's kinds); shared-memory objects
cannot be listed there.";

const CALL_EXAMPLES: &str = "\
Examples:
  netipc call /run/netdata cgroups-snapshot snapshot
  netipc call /run/netdata cgroups-lookup cgroups-lookup /sys/fs/cgroup/system.slice/sshd.service
  netipc call /run/netdata apps-lookup apps-lookup 1 4242 --json
  netipc call /tmp/ipc increment increment 41 --profile shm
  netipc call /tmp/ipc string-reverse string-reverse hello --token 42";

const WATCH_EXAMPLES: &str = "\
Examples:
  netipc watch /run/netdata cgroups-snapshot
  netipc watch /tmp/ipc cgroups-snapshot --every 250ms --json

Each refresh that changes something prints the generation and the items
added (+), removed (-) and changed (~). When the provider goes away the
last good view is kept and the tool says so, until it is back. Ctrl-C stops.";

const SERVE_EXAMPLES: &str = "\
Examples:
  netipc serve /tmp/ipc cgroups-snapshot --demo 100
  netipc serve /tmp/ipc cgroups-snapshot --demo 20 --change-every 2s
  netipc serve /tmp/ipc my-lookups --kind apps-lookup --demo 10 --token 42

The kind defaults to the service name when that names a kind. Ctrl-C (or
--for) stops the server, which removes its endpoint.";

const BENCH_EXAMPLES: &str = "\
Examples:
  netipc bench
  netipc bench uds-ping-pong snapshot --duration 2s
  netipc bench shm-ping-pong --driver ./target/release/bench_posix
  netipc bench --server-driver /opt/ref/c/bench_posix uds-ping-pong --json

The scenarios run through a bench_posix driver (crates/netipc-interop),
looked for beside this program, then on PATH, then in ./target/release and
./target/debug; --driver names one (any implementation's driver with the
same command line works, so mixed pairs can be measured). Build ours with
`cargo build --release -p netipc-interop --bin bench_posix`. POSIX only.";

const CLEAN_EXAMPLES: &str = "\
Examples:
  netipc clean --dry-run
  netipc clean /tmp/ipc

Only stale endpoints are removed: sockets nobody listens on and shared
memory regions whose owner process is gone. Live endpoints, entries that
are not netipc endpoints and anything that cannot be checked are left.
Windows pipes vanish with their server, so there is nothing to clean there.";

/// Arguments of `ls`.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// The run dir [default: /run/netdata, or NETIPC_RUN_DIR].
    pub run_dir: Option<PathBuf>,
    /// Auth token the probe presents (decimal or 0x-hex).
    #[arg(long, env = "NETIPC_TOKEN", default_value = "0", value_parser = parse_token)]
    pub token: u64,
    /// How long each probe may take.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Also list entries that are not netipc endpoints.
    #[arg(long)]
    pub all: bool,
}

/// Arguments of `clean`.
#[derive(Debug, Args)]
pub struct CleanArgs {
    /// The run dir [default: /run/netdata, or NETIPC_RUN_DIR].
    pub run_dir: Option<PathBuf>,
    /// Say what would be removed, remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How long the probe of each socket may take.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub timeout: Duration,
}

/// What a client offers in its handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    /// Shared memory where this platform and the server have it, the
    /// socket (or pipe) otherwise.
    Auto,
    /// The baseline only: the Unix socket (the named pipe on Windows).
    #[value(alias = "baseline", alias = "pipe")]
    Uds,
    /// Shared memory only (Linux and Windows); fails where the server does
    /// not offer it.
    Shm,
}

/// Connection options shared by the client subcommands.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// Auth token the server expects (decimal or 0x-hex).
    #[arg(long, env = "NETIPC_TOKEN", default_value = "0", value_parser = parse_token)]
    pub token: u64,
    /// Transport profiles to offer.
    #[arg(long, value_enum, default_value_t = Profile::Auto)]
    pub profile: Profile,
    /// Deadline of the connection and of each call (e.g. 500ms, 5s).
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub timeout: Duration,
}

/// Arguments of `call`.
#[derive(Debug, Args)]
pub struct CallArgs {
    /// The run dir (the service namespace on Windows).
    pub run_dir: PathBuf,
    /// The service name (the endpoint is RUN_DIR/SERVICE.sock on POSIX).
    pub service: String,
    /// The method to call.
    #[arg(value_enum)]
    pub method: MethodName,
    /// The method's arguments: cgroup paths (cgroups-lookup), PIDs
    /// (apps-lookup), N (increment), TEXT (string-reverse); none for
    /// snapshot.
    pub args: Vec<String>,
    /// Connection options.
    #[command(flatten)]
    pub client: ClientArgs,
    /// Table rows to print at most (0: all); --json prints all.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

impl CallArgs {
    /// The method with its arguments, checked.
    pub fn method(&self) -> Result<Method, Failure> {
        let name = self.method.name();
        let usage = |message: String, hint: &str| Failure::Usage {
            message,
            hint: Some(hint.to_string()),
        };
        let one = || match self.args.as_slice() {
            [one] => Ok(one.clone()),
            _ => Err(usage(
                format!("{name} takes exactly one argument, {} given", self.args.len()),
                "quote text that has spaces",
            )),
        };
        Ok(match self.method {
            MethodName::Snapshot if self.args.is_empty() => Method::Snapshot,
            MethodName::Snapshot => {
                return Err(usage(
                    "snapshot takes no arguments".into(),
                    "netipc call DIR SERVICE snapshot",
                ));
            }
            MethodName::CgroupsLookup if self.args.is_empty() => {
                return Err(usage(
                    "cgroups-lookup needs at least one cgroup path".into(),
                    "netipc call DIR SERVICE cgroups-lookup /sys/fs/cgroup/...",
                ));
            }
            MethodName::CgroupsLookup => Method::CgroupsLookup {
                keys: self.args.clone(),
            },
            MethodName::AppsLookup if self.args.is_empty() => {
                return Err(usage(
                    "apps-lookup needs at least one PID".into(),
                    "netipc call DIR SERVICE apps-lookup 1 4242",
                ));
            }
            MethodName::AppsLookup => Method::AppsLookup {
                pids: self
                    .args
                    .iter()
                    .map(|a| {
                        a.parse::<u32>()
                            .map_err(|_| usage(format!("`{a}` is not a PID"), "PIDs are whole numbers"))
                    })
                    .collect::<Result<_, _>>()?,
            },
            MethodName::Increment => {
                let n = one()?;
                Method::Increment {
                    n: n.parse().map_err(|_| {
                        usage(
                            format!("`{n}` is not a u64"),
                            "netipc call DIR SERVICE increment 41",
                        )
                    })?,
                }
            }
            MethodName::StringReverse => Method::StringReverse { text: one()? },
        })
    }
}

/// The methods `call` can make, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodName {
    /// CGROUPS_SNAPSHOT: the provider's whole cgroups snapshot.
    Snapshot,
    /// CGROUPS_LOOKUP: cgroup paths in, orchestrator, name and labels out.
    CgroupsLookup,
    /// APPS_LOOKUP: PIDs in, process and cgroup metadata out.
    AppsLookup,
    /// INCREMENT (a test method): the server answers N + 1.
    Increment,
    /// STRING_REVERSE (a test method): the server answers TEXT reversed.
    StringReverse,
}

impl MethodName {
    /// The method's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            MethodName::Snapshot => "snapshot",
            MethodName::CgroupsLookup => "cgroups-lookup",
            MethodName::AppsLookup => "apps-lookup",
            MethodName::Increment => "increment",
            MethodName::StringReverse => "string-reverse",
        }
    }
}

/// A method with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// CGROUPS_SNAPSHOT.
    Snapshot,
    /// CGROUPS_LOOKUP of these paths.
    CgroupsLookup {
        /// Cgroup paths to look up.
        keys: Vec<String>,
    },
    /// APPS_LOOKUP of these PIDs.
    AppsLookup {
        /// Process ids to look up.
        pids: Vec<u32>,
    },
    /// INCREMENT of N.
    Increment {
        /// The number to increment.
        n: u64,
    },
    /// STRING_REVERSE of TEXT.
    StringReverse {
        /// The text to reverse.
        text: String,
    },
}

/// Arguments of `watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The run dir (the service namespace on Windows).
    pub run_dir: PathBuf,
    /// The name of a cgroups-snapshot service.
    pub service: String,
    /// Connection options.
    #[command(flatten)]
    pub client: ClientArgs,
    /// Time between two refreshes.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub every: Duration,
    /// Stop after this many refreshes (0: until Ctrl-C).
    #[arg(long, default_value_t = 0)]
    pub count: u64,
    /// Changed items to print at most per refresh (0: all); --json prints all.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

/// The service kinds `serve` can provide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// CGROUPS_SNAPSHOT.
    CgroupsSnapshot,
    /// CGROUPS_LOOKUP.
    CgroupsLookup,
    /// APPS_LOOKUP.
    AppsLookup,
    /// INCREMENT (a test method).
    Increment,
    /// STRING_REVERSE (a test method).
    StringReverse,
}

impl Kind {
    /// The kind a service name names, if it names one.
    pub fn from_service(service: &str) -> Option<Kind> {
        Kind::from_str(service, true).ok()
    }

    /// The kind's name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::CgroupsSnapshot => "cgroups-snapshot",
            Kind::CgroupsLookup => "cgroups-lookup",
            Kind::AppsLookup => "apps-lookup",
            Kind::Increment => "increment",
            Kind::StringReverse => "string-reverse",
        }
    }
}

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The run dir (created if missing; the service namespace on Windows).
    pub run_dir: PathBuf,
    /// The service name.
    pub service: String,
    /// Synthetic items to serve.
    #[arg(long, default_value_t = 10)]
    pub demo: u32,
    /// The service kind [default: the service name, when it names a kind].
    #[arg(long, value_enum)]
    pub kind: Option<Kind>,
    /// Auth token clients must present (decimal or 0x-hex).
    #[arg(long, env = "NETIPC_TOKEN", default_value = "0", value_parser = parse_token)]
    pub token: u64,
    /// Transport profiles to offer (auto: shared memory where the platform
    /// has it, preferred, and the baseline).
    #[arg(long, value_enum, default_value_t = Profile::Auto)]
    pub profile: Profile,
    /// Change a few items and bump the generation this often.
    #[arg(long, value_parser = parse_duration)]
    pub change_every: Option<Duration>,
    /// Stop by itself after this long.
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
    pub run_for: Option<Duration>,
}

/// Arguments of `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Scenarios to run [default: all of this platform's].
    pub scenarios: Vec<String>,
    /// How long each scenario runs.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub duration: Duration,
    /// The bench_posix driver of both sides.
    #[arg(long)]
    pub driver: Option<PathBuf>,
    /// The driver of the server side (default: --driver).
    #[arg(long)]
    pub server_driver: Option<PathBuf>,
    /// The driver of the client side (default: --driver).
    #[arg(long)]
    pub client_driver: Option<PathBuf>,
    /// List the scenarios and exit.
    #[arg(long)]
    pub list: bool,
}

/// Parses a token: decimal, or hexadecimal after `0x`; `_` separators allowed.
pub fn parse_token(s: &str) -> Result<u64, String> {
    let t = s.trim().replace('_', "");
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => t.parse::<u64>(),
    };
    parsed.map_err(|_| format!("`{s}` is not a token: give a u64 in decimal or 0x-hex"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn tokens_are_decimal_or_hex() {
        assert_eq!(parse_token("42"), Ok(42));
        assert_eq!(parse_token("0xDEAD_BEEF_CAFE_BABE"), Ok(0xDEAD_BEEF_CAFE_BABE));
        assert_eq!(parse_token("0Xff"), Ok(255));
        assert!(parse_token("0xZZ").is_err());
        assert!(parse_token("-1").is_err());
        assert!(parse_token("18446744073709551616").is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_subcommand_help_has_an_example() {
        let cmd = Cli::command();
        for sub in cmd.get_subcommands() {
            let help = sub.get_after_help().map(|h| h.to_string()).unwrap_or_default();
            assert!(
                help.contains("Examples:") && help.contains(&format!("netipc {}", sub.get_name())),
                "{} has no example",
                sub.get_name()
            );
        }
    }

    fn call(args: &[&str]) -> Result<Method, Failure> {
        let mut argv = vec!["netipc", "call", "/run/x", "svc"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv)
            .map_err(|e| Failure::usage(e.to_string()))?
            .command
        {
            Command::Call(c) => c.method(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn call_takes_each_methods_arguments() {
        assert_eq!(call(&["snapshot"]).unwrap(), Method::Snapshot);
        assert_eq!(call(&["increment", "41"]).unwrap(), Method::Increment { n: 41 });
        assert_eq!(
            call(&["apps-lookup", "1", "4242"]).unwrap(),
            Method::AppsLookup { pids: vec![1, 4242] }
        );
        assert_eq!(
            call(&["string-reverse", "hello world", "--token", "7"]).unwrap(),
            Method::StringReverse {
                text: "hello world".into()
            }
        );
        for bad in [
            &["snapshot", "extra"][..],
            &["increment"],
            &["increment", "x"],
            &["apps-lookup"],
            &["apps-lookup", "-"],
            &["cgroups-lookup"],
            &["string-reverse", "a", "b"],
            &["teleport"],
        ] {
            assert_eq!(call(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }

    #[test]
    fn a_service_named_like_its_method_is_not_taken_for_it() {
        let argv = ["netipc", "call", "/d", "apps-lookup", "apps-lookup", "1"];
        let Command::Call(c) = Cli::try_parse_from(argv).unwrap().command else {
            panic!()
        };
        assert_eq!(
            (c.service.as_str(), c.method),
            ("apps-lookup", MethodName::AppsLookup)
        );
    }

    #[test]
    fn service_names_that_name_a_kind_give_it() {
        assert_eq!(Kind::from_service("apps-lookup"), Some(Kind::AppsLookup));
        assert_eq!(
            Kind::from_service("cgroups-snapshot"),
            Some(Kind::CgroupsSnapshot)
        );
        assert_eq!(Kind::from_service("my-service"), None);
        for k in Kind::value_variants() {
            assert_eq!(Kind::from_service(k.name()), Some(*k));
        }
    }
}
