"""Renders benches/results.csv (from run-matrix.sh) as docs/benchmarks.md."""

import csv
import platform
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

csv_path, out_path, duration = sys.argv[1], sys.argv[2], sys.argv[3]
repeat = int(sys.argv[4]) if len(sys.argv) > 4 else 1
# The prose after the tables: what the figures mean, kept beside this script.
NOTES = Path(__file__).with_name("notes.md")
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


FLOOR = "floor"


def is_reference(pair):
    """A pair of reference drivers only (ours is named netipc; the floor is
    bench_floor, no library at all)."""
    return "netipc" not in pair and pair != FLOOR


def best_reference(pairs):
    """The reference pair with the highest throughput: (name, row), or None."""
    refs = [(p, r) for p, r in pairs.items() if is_reference(p) and float(r["throughput"]) > 0]
    return max(refs, key=lambda pr: float(pr[1]["throughput"]), default=None)


cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                     capture_output=True, text=True).stdout.strip()
ref_names = sorted({p for pairs in by.values() for p in pairs if is_reference(p) and "/" not in p})
out = []
out.append("# Benchmarks\n")
run = f"REPEAT={repeat} benches/run-matrix.sh {duration}" if repeat > 1 else f"benches/run-matrix.sh {duration}"
best_of = f" Each pair ran {repeat} times; the fastest run is shown." if repeat > 1 else ""
out.append(f"Measured by `{run}` on {platform.machine()} ({cpu or 'unknown CPU'}), "
           f"{int(subprocess.run(['nproc'], capture_output=True, text=True).stdout)} vCPUs. "
           "`split`: server and client pinned to two different vCPUs; `shared`: both on one vCPU. "
           "Throughput is requests per second (items per second for batch scenarios). "
           f"Reference drivers ({', '.join(ref_names) or 'none'}) are the reference implementation's "
           "own, built by hand from its snapshot and run in the same invocation; `a-client/b-server` "
           "names a mixed pair. `floor` is `bench_floor`: the same messages between two processes "
           "with no library at all, the limit of this machine. `vs best ref` compares a pair with "
           f"the fastest pair of reference drivers in the same scenario and run.{best_of}\n")
out.append("| placement | scenario | pair | throughput | p50 µs | p99 µs | CPU µs/req | vs best ref |")
out.append("|---|---|---|---:|---:|---:|---:|---:|")
for (placement, scenario), pairs in sorted(by.items()):
    best = best_reference(pairs)
    for pair, r in sorted(pairs.items(), key=lambda pr: (pr[0] != "netipc", pr[0] != FLOOR, pr[0])):
        ratio = "-"
        if best and not is_reference(pair) and pair != FLOOR:
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
               "1.5x for L3 lookups against the reference C, 1.3x elsewhere). `floor` is the "
               "library-free exchange of the same run; where the target asks for more than the "
               "floor, no implementation can meet it on this machine.\n")
    out.append("| placement | scenario | ours | best ref | pair | ratio | target | met | floor | target needs | ours of floor |")
    out.append("|---|---|---:|---:|---|---:|---:|:---:|---:|---:|---:|")
    for placement, scen, target in targets:
        pairs = by.get((placement, scen), {})
        if placement == "inproc" and scen == "lookup" and "c" in pairs:
            best = ("c", pairs["c"])
        else:
            best = best_reference(pairs)
        if "netipc" in pairs and best:
            ours, ref = float(pairs["netipc"]["throughput"]), float(best[1]["throughput"])
            ratio = ours / ref
            floor = float(pairs[FLOOR]["throughput"]) if FLOOR in pairs else 0.0
            needs = target * ref
            if ratio >= target:
                met = "yes"
            elif floor and needs > floor:
                met = "no, above floor"
            else:
                met = "no"
            floor_cols = (f"{fmt(floor)} | {fmt(needs)} ({needs / floor:.0%} of floor) | {ours / floor:.0%}"
                          if floor else "- | - | -")
            out.append(f"| {placement} | {scen} | {fmt(ours)} | {fmt(ref)} | {best[0]} | {ratio:.2f}x | "
                       f"{target}x | {met} | {floor_cols} |")

out.append(NOTES.read_text().rstrip())
open(out_path, "w").write("\n".join(out) + "\n")
