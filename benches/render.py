"""Renders benches/results.csv (from run-matrix.sh) as docs/benchmarks.md."""

import csv
import platform
import subprocess
import sys
from collections import defaultdict

csv_path, out_path, duration = sys.argv[1], sys.argv[2], sys.argv[3]
rows = list(csv.DictReader(open(csv_path)))

by = defaultdict(dict)  # (placement, scenario) -> pair -> row
for r in rows:
    by[(r["placement"], r["scenario"])][r["pair"]] = r


def fmt(x):
    x = float(x)
    for unit, div in (("M", 1e6), ("k", 1e3)):
        if x >= div:
            return f"{x / div:.2f}{unit}"
    return f"{x:.0f}"


def cpu_per_req(r):
    secs = float(duration)
    thr = float(r["throughput"])
    if thr <= 0:
        return "-"
    client = float(r["client_cpu_pct"]) / 100 * secs
    server = float(r["server_cpu_sec"])
    return f"{(client + server) / (thr * secs) * 1e6:.2f}"


def is_reference(pair):
    """A pair of reference drivers only (ours is named netipc)."""
    return "netipc" not in pair


def best_reference(pairs):
    """The reference pair with the highest throughput: (name, row), or None."""
    refs = [(p, r) for p, r in pairs.items() if is_reference(p) and float(r["throughput"]) > 0]
    return max(refs, key=lambda pr: float(pr[1]["throughput"]), default=None)


cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                     capture_output=True, text=True).stdout.strip()
ref_names = sorted({p for pairs in by.values() for p in pairs if is_reference(p) and "/" not in p})
out = []
out.append("# Benchmarks\n")
out.append(f"Measured by `benches/run-matrix.sh {duration}` on {platform.machine()} ({cpu or 'unknown CPU'}), "
           f"{int(subprocess.run(['nproc'], capture_output=True, text=True).stdout)} vCPUs. "
           "`split`: server and client pinned to two different vCPUs; `shared`: both on one vCPU. "
           "Throughput is requests per second (items per second for batch scenarios). "
           f"Reference drivers ({', '.join(ref_names) or 'none'}) are the reference implementation's "
           "own, built by hand from its snapshot and run in the same invocation; `a-client/b-server` "
           "names a mixed pair. `vs best ref` compares a pair with the fastest pair of reference "
           "drivers in the same scenario and run.\n")
out.append("| placement | scenario | pair | throughput | p50 µs | p99 µs | CPU µs/req | vs best ref |")
out.append("|---|---|---|---:|---:|---:|---:|---:|")
for (placement, scenario), pairs in sorted(by.items()):
    best = best_reference(pairs)
    for pair, r in sorted(pairs.items(), key=lambda pr: (pr[0] != "netipc", pr[0])):
        ratio = "-"
        if best and not is_reference(pair):
            ratio = f"{float(r['throughput']) / float(best[1]['throughput']):.2f}×"
        out.append(f"| {placement} | {scenario} | {pair} | {fmt(r['throughput'])} | {r['p50_us']} | "
                   f"{r['p99_us']} | {cpu_per_req(r) if placement != 'inproc' else '-'} | {ratio} |")

targets = [
    ("split", "shm-ping-pong", 10.0), ("shared", "shm-ping-pong", 2.0),
    ("inproc", "lookup", 1.5),
]
for placement in ("split", "shared"):
    for scen in ("uds-ping-pong", "snapshot-baseline", "snapshot-shm", "uds-batch-ping-pong",
                 "shm-batch-ping-pong", "uds-pipeline-d16", "uds-pipeline-batch-d16"):
        targets.append((placement, scen, 1.3))
for scen in sorted({s for (pl, s) in by if pl == "inproc" and "-lookup-" in s}):
    targets.append(("inproc", scen, 1.3))
if ref_names:
    out.append("\n## Against the targets\n")
    out.append("Our pair against the fastest reference pair of the same run, and whether the ratio "
               "meets the target (10x for split SHM ping-pong, 2x for shared SHM ping-pong, "
               "1.5x for L3 lookups against the reference C, 1.3x elsewhere).\n")
    out.append("| placement | scenario | ours | best ref | pair | ratio | target | met |")
    out.append("|---|---|---:|---:|---|---:|---:|:---:|")
    for placement, scen, target in targets:
        pairs = by.get((placement, scen), {})
        if placement == "inproc" and scen == "lookup" and "c" in pairs:
            best = ("c", pairs["c"])
        else:
            best = best_reference(pairs)
        if "netipc" in pairs and best:
            ours, ref = float(pairs["netipc"]["throughput"]), float(best[1]["throughput"])
            ratio = ours / ref
            out.append(f"| {placement} | {scen} | {fmt(ours)} | {fmt(ref)} | {best[0]} | {ratio:.2f}x | "
                       f"{target}x | {'yes' if ratio >= target else 'no'} |")

out.append("""
## Where a target is not met, and why

- **Split SHM ping-pong (10x).** The protocol makes every publication end
  with `FUTEX_WAKE` on the peer's signal word, whether the peer sleeps or
  spins, because a reference peer may be asleep. On a shared file mapping
  that call costs about 270 ns here with nobody waiting
  (`cargo bench --bench transport -- shm_publish`; a bare `getppid` costs
  about 120 ns): the kernel pins the page to find the futex
  (`gup_fast_fallback` and `get_futex_key` alone are a quarter of a split
  profile). A round trip makes two wakes, and each side is inside its own
  wake when the peer's next message lands, so a round trip cannot take
  much less than one wake plus the server's turnaround: about 2.5 M round
  trips per second. Our pair reaches 2.2-2.5 M, at about 0.9 us of CPU per
  request against the reference's 1.75-2.8 us. (Earlier matrices showed
  1.5 M: rare host stalls of a vCPU were taken for a peer on the same CPU
  and switched the waits to yielding first; an arrival now counts as that
  only when it comes within two yields.) A
  two-process ping-pong on one cache line without wakes runs at 12-27 M per
  second on this machine class; the gap is the wake the protocol requires,
  and skipping wakes would break reference peers that sleep. The
  reference's own figure varies fourfold between runs (its receivers often
  sleep), so the ratio does too: 2.5-12x in this stop's runs.
- **One vCPU, socket scenarios.** With both processes on one vCPU every
  round trip of our pair is two `sendmsg`, two `sched_yield`, two
  `recvmsg` and two context switches (counted with the kernel's syscall
  tracepoints; the reference makes seven calls, three of them `poll`). A
  profile shows over 80 % of the time in the kernel (socket buffers,
  memory-cgroup accounting, the scheduler) and about 6 % in each
  process's own code: code of no cost at all would gain 12 %. We hand
  the CPU over with `sched_yield` instead of a sleep and wake-up (a
  blocking receive measured 20 % slower), which is where our margin comes
  from; what is left is the kernel's fixed cost, the same for both drivers.
- **Lookup methods with one key** (`apps-lookup-mixed-1`, not in the
  matrix): about 0.93x. A call takes 145-160 ns on either side, and the
  driver's three clock reads per call (the reference driver makes the same
  three) are 40 % of it, which leaves the fixed work of a request, a
  dispatch and a response little to gain from; from 16 keys up every
  lookup method scenario meets the target.""")
out.append("""
## Pairing with another driver

`bench_posix` takes the command line of the reference drivers:

```text
bench_posix <scenario>-server <run_dir> <service> [duration_sec]
bench_posix <scenario>-client <run_dir> <service> <duration_sec> <target_rps>
bench_posix uds-pipeline-client|uds-pipeline-batch-client <run_dir> <service> <duration_sec> <target_rps> <depth>
bench_posix lookup-bench <duration_sec>
bench_posix lookup-method-bench <duration_sec> <scenario> <target_rps>
```

Scenarios: `uds-ping-pong`, `shm-ping-pong`, `snapshot`, `snapshot-shm`,
`uds-batch-ping-pong`, `shm-batch-ping-pong`. A server prints `READY` when
bound and `SERVER_CPU_SEC=<s>` when it stops (after the duration plus 3 s,
or on SIGTERM). A client prints one CSV line:
`scenario,client,server,throughput,p50_us,p95_us,p99_us,client_cpu_pct,server_cpu_pct,total_cpu_pct`.

To pair with any driver of the same command line, start its server and
point ours at it (or the reverse), with the same run dir and service:

```sh
taskset -c 0 other_driver shm-ping-pong-server /tmp/run bench 10 &
taskset -c 1 target/release/bench_posix shm-ping-pong-client /tmp/run bench 5 0
```

`REF_BENCH=/path/to/other/bench_posix benches/run-matrix.sh 5` runs the
whole matrix with four pairs per scenario (ours, theirs, and both mixes).

## How shared-memory waits work

A receiver first checks the sequence word 128 times (the reference's fixed
spin). Then, for a fifth of its 50 µs budget, it keeps checking between
short pause runs (doubling up to 16 pauses): a peer on another CPU answers
within that, and checking an unchanged word costs only a cache hit. For the rest of
the budget it calls `sched_yield` between checks, and only then sleeps on the
futex. The publisher always calls `FUTEX_WAKE`, because a reference peer may
be asleep. Two adaptations keep this cheap:

- when four waits in a row see their message only after a yield (the peer
  shares our CPU), the next 1024 waits yield at once instead of pausing
  first (messages that were waiting already at the first look do not count
  either way);
- when eight waits in a row spin their whole budget in vain (an idle peer),
  the next 256 waits go straight to the futex.

The socket transport uses the same policy with non-blocking receives as the
checks.

A machine with one online CPU never spins beyond the first 128 checks.
""")
open(out_path, "w").write("\n".join(out) + "\n")
