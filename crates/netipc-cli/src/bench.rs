//! `netipc bench`: the cross-process benchmark scenarios, run through a
//! `bench_posix` driver (ours, from crates/netipc-interop, or any
//! implementation's: they share one command line), with a progress bar
//! and a summary table.
//!
//! For each scenario a server driver is started in a temporary run dir and
//! awaited on its `READY` line; a client driver runs for the duration and
//! prints one CSV line (`scenario,client,server,throughput,p50_us,p95_us,
//! p99_us,client_cpu_pct,...`); the server is then stopped with SIGTERM
//! and prints `SERVER_CPU_SEC=`. The CPU per request adds both sides.
//!
//! The drivers are POSIX programs: elsewhere `bench` says so and stops,
//! while the parsing of their output is still built and tested.
#![cfg_attr(not(unix), allow(dead_code))]

use crate::cli::BenchArgs;
use crate::failure::Failure;
use crate::output;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// One scenario: the server's and the client's modes, and the pipeline
/// depth of the client when it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scenario {
    /// The name given on the command line.
    pub name: &'static str,
    /// The server driver's mode (without `-server`).
    pub server: &'static str,
    /// The client driver's mode (without `-client`).
    pub client: &'static str,
    /// Requests in flight, for the pipeline clients.
    pub depth: Option<u32>,
    /// Whether it needs shared memory (Linux only).
    pub shm: bool,
    /// What it measures.
    pub about: &'static str,
}

const fn scenario(
    name: &'static str,
    server: &'static str,
    client: &'static str,
    depth: Option<u32>,
    shm: bool,
    about: &'static str,
) -> Scenario {
    Scenario {
        name,
        server,
        client,
        depth,
        shm,
        about,
    }
}

/// Every scenario, in the order the benchmark matrix runs them.
pub const SCENARIOS: [Scenario; 8] = [
    scenario(
        "uds-ping-pong",
        "uds-ping-pong",
        "uds-ping-pong",
        None,
        false,
        "one increment call at a time over the socket",
    ),
    scenario(
        "shm-ping-pong",
        "shm-ping-pong",
        "shm-ping-pong",
        None,
        true,
        "one increment call at a time over shared memory",
    ),
    scenario(
        "snapshot",
        "snapshot",
        "snapshot",
        None,
        false,
        "16-item cgroups snapshots over the socket",
    ),
    scenario(
        "snapshot-shm",
        "snapshot-shm",
        "snapshot-shm",
        None,
        true,
        "16-item cgroups snapshots over shared memory",
    ),
    scenario(
        "uds-batch-ping-pong",
        "uds-batch-ping-pong",
        "uds-batch-ping-pong",
        None,
        false,
        "batches of increments over the socket",
    ),
    scenario(
        "shm-batch-ping-pong",
        "shm-batch-ping-pong",
        "shm-batch-ping-pong",
        None,
        true,
        "batches of increments over shared memory",
    ),
    scenario(
        "uds-pipeline",
        "uds-ping-pong",
        "uds-pipeline",
        Some(16),
        false,
        "16 increment calls in flight over the socket",
    ),
    scenario(
        "uds-pipeline-batch",
        "uds-batch-ping-pong",
        "uds-pipeline-batch",
        Some(16),
        false,
        "16 batches in flight over the socket",
    ),
];

/// The scenarios this platform can run.
pub fn available() -> impl Iterator<Item = &'static Scenario> {
    SCENARIOS.iter().filter(|s| !s.shm || cfg!(target_os = "linux"))
}

/// The scenarios named, or all available ones; an unknown name is a usage
/// error.
pub fn select(names: &[String]) -> Result<Vec<Scenario>, Failure> {
    if names.is_empty() {
        return Ok(available().copied().collect());
    }
    names
        .iter()
        .map(|n| {
            available()
                .find(|s| s.name == n)
                .copied()
                .ok_or_else(|| Failure::Usage {
                    message: format!("unknown scenario `{n}`"),
                    hint: Some(format!(
                        "this platform's scenarios: {}",
                        available().map(|s| s.name).collect::<Vec<_>>().join(", ")
                    )),
                })
        })
        .collect()
}

/// The parsed CSV line of a client driver.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClientLine {
    /// Requests (or snapshots, or batches) per second.
    pub throughput: f64,
    /// Median latency, µs.
    pub p50_us: f64,
    /// 95th percentile latency, µs.
    pub p95_us: f64,
    /// 99th percentile latency, µs.
    pub p99_us: f64,
    /// The client's CPU use, percent of one CPU.
    pub client_cpu_pct: f64,
}

/// Reads a client driver's CSV line. Latencies may be `-` (a driver that
/// takes none): they read as 0.
pub fn parse_client_line(line: &str) -> Option<ClientLine> {
    let f: Vec<&str> = line.trim().split(',').collect();
    if f.len() < 8 {
        return None;
    }
    let num = |i: usize| -> Option<f64> {
        match f[i].trim() {
            "-" => Some(0.0),
            v => v.parse().ok(),
        }
    };
    Some(ClientLine {
        throughput: num(3)?,
        p50_us: num(4)?,
        p95_us: num(5)?,
        p99_us: num(6)?,
        client_cpu_pct: num(7)?,
    })
}

/// Reads `SERVER_CPU_SEC=<seconds>` from a server driver's output.
pub fn parse_server_cpu(lines: &[String]) -> Option<f64> {
    lines
        .iter()
        .rev()
        .find_map(|l| l.trim().strip_prefix("SERVER_CPU_SEC=")?.parse().ok())
}

/// One scenario's result.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The scenario.
    pub scenario: &'static str,
    /// The client's figures, when it ran.
    #[serde(flatten)]
    pub client: Option<ClientLine>,
    /// The server's CPU seconds, when it said (the reference's Rust and
    /// Go servers say only when their own timer ends).
    pub server_cpu_sec: Option<f64>,
    /// CPU time of both sides per request, µs (the client's alone when the
    /// server's is unknown).
    pub cpu_us_per_request: Option<f64>,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// CPU µs per request of a run of `secs` seconds.
pub fn cpu_per_request(c: &ClientLine, server_cpu_sec: Option<f64>, secs: u64) -> Option<f64> {
    let requests = c.throughput * secs as f64;
    (requests > 0.0)
        .then(|| (c.client_cpu_pct / 100.0 * secs as f64 + server_cpu_sec.unwrap_or(0.0)) / requests * 1e6)
}

/// Looks for a driver: beside this program, on PATH, then in the
/// workspace's target dirs (from the current directory).
pub fn find_driver() -> Option<PathBuf> {
    let file = format!("bench_posix{}", std::env::consts::EXE_SUFFIX);
    let beside = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(&file)));
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(&file))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let in_target = ["target/release", "target/debug"].map(|d| Path::new(d).join(&file));
    beside
        .into_iter()
        .chain(on_path)
        .chain(in_target)
        .find(|p| p.is_file())
}

/// Runs `netipc bench`.
pub fn run(args: &BenchArgs, json: bool) -> Result<(), Failure> {
    if args.list {
        if json {
            let list: Vec<_> = available()
                .map(|s| serde_json::json!({"name": s.name, "about": s.about}))
                .collect();
            output::json(&serde_json::json!({"ok": true, "scenarios": list}));
        } else {
            let mut t = output::table(&["scenario", "measures"]);
            for s in available() {
                t.add_row(vec![s.name, s.about]);
            }
            output::print_table(&t);
        }
        return Ok(());
    }
    let scenarios = select(&args.scenarios)?;
    run_scenarios(args, &scenarios, json)
}

#[cfg(not(unix))]
fn run_scenarios(_: &BenchArgs, _: &[Scenario], _: bool) -> Result<(), Failure> {
    Err(Failure::Usage {
        message: "bench runs the POSIX drivers (bench_posix); this platform has none".into(),
        hint: Some("run it on Linux or FreeBSD".into()),
    })
}

#[cfg(unix)]
fn run_scenarios(args: &BenchArgs, scenarios: &[Scenario], json: bool) -> Result<(), Failure> {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let found = args.driver.clone().or_else(find_driver);
    let pick = |side: &Option<PathBuf>| side.clone().or_else(|| found.clone());
    let (Some(server), Some(client)) = (pick(&args.server_driver), pick(&args.client_driver)) else {
        return Err(Failure::other(
            "no bench_posix driver found (beside netipc, on PATH, or in ./target)",
            Some(
                "build it: `cargo build --release -p netipc-interop --bin bench_posix`, or give --driver PATH",
            ),
        ));
    };
    for d in [&server, &client] {
        if !d.is_file() {
            return Err(Failure::usage(format!(
                "the driver {} is not a file",
                d.display()
            )));
        }
    }
    // The drivers take whole seconds.
    let secs = args.duration.as_secs_f64().ceil().max(1.0) as u64;
    let dir = TempDir::new()?;
    let bar = if json {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(
            Some(secs * 1000 * scenarios.len() as u64),
            ProgressDrawTarget::stderr(),
        )
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:24} [{bar:30}] {elapsed}/{duration}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut outcomes = Vec::new();
    for (i, s) in scenarios.iter().enumerate() {
        bar.set_message(s.name);
        let base = i as u64 * secs * 1000;
        let tick = |elapsed_ms: u64| bar.set_position(base + elapsed_ms.min(secs * 1000));
        let result = run::scenario(&server, &client, dir.path(), &format!("b{i}"), s, secs, tick);
        bar.set_position(base + secs * 1000);
        outcomes.push(match result {
            Ok((line, server_cpu)) => Outcome {
                scenario: s.name,
                cpu_us_per_request: cpu_per_request(&line, server_cpu, secs),
                client: Some(line),
                server_cpu_sec: server_cpu,
                error: None,
            },
            Err(e) => Outcome {
                scenario: s.name,
                client: None,
                server_cpu_sec: None,
                cpu_us_per_request: None,
                error: Some(e),
            },
        });
    }
    bar.finish_and_clear();
    let failed = outcomes.iter().filter(|o| o.error.is_some()).count();
    if json {
        output::json(&serde_json::json!({
            "ok": failed == 0,
            "duration_s": secs,
            "server_driver": server.display().to_string(),
            "client_driver": client.display().to_string(),
            "results": outcomes,
        }));
    } else {
        print_summary(&outcomes, &server, &client, secs);
    }
    if failed == 0 {
        Ok(())
    } else {
        Err(Failure::other(
            format!("{failed} of {} scenarios failed", outcomes.len()),
            Some("see the summary; a driver of another implementation may lack a mode"),
        ))
    }
}

#[cfg(unix)]
fn print_summary(outcomes: &[Outcome], server: &Path, client: &Path, secs: u64) {
    let mut t = output::table(&[
        "scenario",
        "throughput/s",
        "p50 µs",
        "p99 µs",
        "CPU µs/req",
        "note",
    ]);
    for o in outcomes {
        match (&o.client, &o.error) {
            (Some(c), _) => t.add_row(vec![
                o.scenario.to_string(),
                format!("{:.0}", c.throughput),
                format!("{}", c.p50_us),
                format!("{}", c.p99_us),
                o.cpu_us_per_request
                    .map_or_else(|| "-".into(), |v| format!("{v:.2}")),
                if o.server_cpu_sec.is_none() {
                    "client CPU only (the server did not report)".into()
                } else {
                    String::new()
                },
            ]),
            (None, e) => t.add_row(vec![
                o.scenario.to_string(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                format!("failed: {}", e.as_deref().unwrap_or("?")),
            ]),
        };
    }
    output::align_right(&mut t, &[1, 2, 3, 4]);
    if server == client {
        output::line(format!("{secs} s per scenario, driver {}", server.display()));
    } else {
        output::line(format!(
            "{secs} s per scenario, server driver {}, client driver {}",
            server.display(),
            client.display()
        ));
    }
    output::print_table(&t);
}

/// A temporary run dir, removed with its contents on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self, Failure> {
        let p = std::env::temp_dir().join(format!("netipc-bench-{}", std::process::id()));
        std::fs::create_dir_all(&p)
            .map_err(|e| Failure::other(format!("cannot create {} ({e})", p.display()), None))?;
        Ok(Self(p))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Running one scenario's pair of processes.
#[cfg(unix)]
mod run {
    use super::{ClientLine, Scenario, parse_client_line, parse_server_cpu};
    use std::io::{BufRead, BufReader, Read};
    use std::path::Path;
    use std::process::{Child, Command, Stdio};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    /// How long a server may take to say `READY`, and to exit when stopped.
    const PATIENCE: Duration = Duration::from_secs(10);

    /// A server child, stopped (SIGTERM, then SIGKILL) on drop.
    struct Server {
        child: Child,
        lines: mpsc::Receiver<String>,
        seen: Vec<String>,
    }

    impl Server {
        fn start(driver: &Path, mode: &str, dir: &Path, service: &str, secs: u64) -> Result<Self, String> {
            let mut child = Command::new(driver)
                .arg(format!("{mode}-server"))
                .arg(dir)
                .arg(service)
                .arg(secs.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot start {} ({e})", driver.display()))?;
            let out = child.stdout.take().ok_or("no server output")?;
            let (tx, lines) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            let mut s = Self {
                child,
                lines,
                seen: Vec::new(),
            };
            let deadline = Instant::now() + PATIENCE;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match s.lines.recv_timeout(left) {
                    Ok(l) if l.trim() == "READY" => return Ok(s),
                    Ok(l) => s.seen.push(l),
                    Err(mpsc::RecvTimeoutError::Timeout) => return Err("the server never said READY".into()),
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        return Err(format!("the server exited before it was ready ({mode}-server)"));
                    }
                }
            }
        }

        /// Stops the server; its CPU seconds, when it says them.
        fn stop(mut self) -> Option<f64> {
            let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let deadline = Instant::now() + PATIENCE;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match self.lines.recv_timeout(left) {
                    Ok(l) => self.seen.push(l),
                    Err(_) => break,
                }
            }
            parse_server_cpu(&self.seen)
        }
    }

    impl Drop for Server {
        fn drop(&mut self) {
            if let Ok(None) = self.child.try_wait() {
                let _ = self.child.kill();
            }
            let _ = self.child.wait();
        }
    }

    /// Runs `s` for `secs` seconds; the client's line and the server's CPU
    /// seconds. `tick` gets the milliseconds elapsed while the client runs.
    pub fn scenario(
        server_driver: &Path,
        client_driver: &Path,
        dir: &Path,
        service: &str,
        s: &Scenario,
        secs: u64,
        tick: impl Fn(u64),
    ) -> Result<(ClientLine, Option<f64>), String> {
        let server = Server::start(server_driver, s.server, dir, service, secs)?;
        let mut cmd = Command::new(client_driver);
        cmd.arg(format!("{}-client", s.client))
            .arg(dir)
            .arg(service)
            .arg(secs.to_string())
            .arg("0");
        if let Some(depth) = s.depth {
            cmd.arg(depth.to_string());
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {} ({e})", client_driver.display()))?;
        let mut out = child.stdout.take().ok_or("no client output")?;
        let mut err = child.stderr.take().ok_or("no client output")?;
        let reader = std::thread::spawn(move || {
            let (mut o, mut e) = (String::new(), String::new());
            let _ = out.read_to_string(&mut o);
            let _ = err.read_to_string(&mut e);
            (o, e)
        });
        let started = Instant::now();
        let deadline = started + Duration::from_secs(secs) + PATIENCE * 3;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err("the client did not finish in time".into());
                }
                Ok(None) => {
                    tick(started.elapsed().as_millis() as u64);
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(format!("cannot wait for the client ({e})")),
            }
        };
        let (stdout, stderr) = reader.join().unwrap_or_default();
        let server_cpu = server.stop();
        if !status.success() {
            let why = stderr.lines().last().unwrap_or("no message").trim().to_string();
            return Err(format!("the client failed ({status}): {why}"));
        }
        let line = stdout
            .lines()
            .rev()
            .find(|l| l.contains(','))
            .and_then(parse_client_line)
            .ok_or("the client printed no CSV line")?;
        Ok((line, server_cpu))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_lines_parse_and_dashes_read_as_zero() {
        let l = parse_client_line("uds-ping-pong,netipc,-,123456,7,9,12,98.5,0.0,98.5").unwrap();
        assert_eq!(l.throughput, 123456.0);
        assert_eq!((l.p50_us, l.p99_us, l.client_cpu_pct), (7.0, 12.0, 98.5));
        let floor = parse_client_line("uds-ping-pong,floor,-,100,-,-,-,50.0,0.0,50.0").unwrap();
        assert_eq!(floor.p50_us, 0.0);
        assert!(parse_client_line("READY").is_none());
        assert!(parse_client_line("a,b,c,x,1,2,3,4").is_none());
    }

    #[test]
    fn the_server_cpu_is_its_last_report() {
        let lines = ["READY".to_string(), "SERVER_CPU_SEC=1.250000".to_string()];
        assert_eq!(parse_server_cpu(&lines), Some(1.25));
        assert_eq!(parse_server_cpu(&lines[..1]), None);
    }

    #[test]
    fn cpu_per_request_adds_both_sides() {
        let c = ClientLine {
            throughput: 100_000.0,
            p50_us: 5.0,
            p95_us: 6.0,
            p99_us: 8.0,
            client_cpu_pct: 100.0,
        };
        // 2 s: 200,000 requests; 2 s of client CPU and 1 s of server CPU.
        let v = cpu_per_request(&c, Some(1.0), 2).unwrap();
        assert!((v - 15.0).abs() < 1e-9, "{v}");
        assert!((cpu_per_request(&c, None, 2).unwrap() - 10.0).abs() < 1e-9);
        let idle = ClientLine { throughput: 0.0, ..c };
        assert_eq!(cpu_per_request(&idle, None, 2), None);
    }

    #[test]
    fn scenarios_are_selected_by_name() {
        let all = select(&[]).unwrap();
        assert_eq!(all.len(), available().count());
        let two = select(&["snapshot".into(), "uds-pipeline".into()]).unwrap();
        assert_eq!(two[1].depth, Some(16));
        assert_eq!(two[1].server, "uds-ping-pong");
        let bad = select(&["warp-speed".into()]).unwrap_err();
        assert_eq!(bad.kind(), "usage");
        assert!(bad.hint().unwrap().contains("uds-ping-pong"));
    }
}
