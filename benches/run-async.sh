#!/usr/bin/env bash
# Measures the tokio layer's ping-pong against our blocking pair and other
# drivers' blocking pairs, pinned as benches/run-matrix.sh pins them, and
# prints min/median/max throughput per pair and its ratios, round by round.
#
#   benches/run-async.sh [duration_sec] [rounds]      (defaults: 3 and 5)
#
# Environment:
#   REF_BENCH  other bench_posix drivers as space-separated NAME=PATH
#              entries (for example the reference's C, Rust and Go drivers);
#              each runs as a pair with itself.
#   CPUS       "A B": the two CPUs of the split placement (default "0 1").
#
# Pairs (client/server): async (bench_async both sides),
# async-client/netipc-server, netipc-client/async-server, netipc (our
# blocking bench_posix both sides), and each REF_BENCH driver. Scenarios:
# uds-ping-pong and shm-ping-pong, split (server on CPU A, client on CPU B)
# and shared (both on CPU A). Each round runs every pair of every scenario
# once, in turns, so that a slow spell of the host costs every pair alike.
# Raw rows go to benches/async-results.csv.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-3}"
ROUNDS="${2:-5}"
read -r CPU_A CPU_B <<<"${CPUS:-0 1}"
cargo build --release -q -p netipc-interop --bin bench_posix --bin bench_async
POSIX="$PWD/target/release/bench_posix"
ASYNC="$PWD/target/release/bench_async"
RUN_DIR="$(mktemp -d)"
CSV="benches/async-results.csv"
trap 'rm -rf "$RUN_DIR"' EXIT

# Pairs as NAME:SERVER:CLIENT lines.
PAIRS=(
    "async:$ASYNC:$ASYNC"
    "async-client/netipc-server:$POSIX:$ASYNC"
    "netipc-client/async-server:$ASYNC:$POSIX"
    "netipc:$POSIX:$POSIX"
)
for entry in ${REF_BENCH:-}; do
    PAIRS+=("${entry%%=*}:${entry#*=}:${entry#*=}")
done

# run_once <round> <placement> <scenario> <pair> <server-bin> <client-bin>
# Prints one CSV row.
run_once() {
    local round=$1 placement=$2 scenario=$3 pair=$4 srv=$5 cli=$6
    local scpu=$CPU_A ccpu=$CPU_B svc="a$RANDOM$RANDOM" sout="$RUN_DIR/server.out"
    if [ "$placement" = shared ]; then ccpu=$CPU_A; fi
    taskset -c "$scpu" "$srv" "$scenario-server" "$RUN_DIR" "$svc" "$DURATION" >"$sout" 2>/dev/null &
    local spid=$! waited=0
    until grep -q READY "$sout" 2>/dev/null; do
        sleep 0.05
        waited=$((waited + 1))
        if [ $waited -gt 200 ]; then
            echo "$pair: server did not start" >&2
            kill "$spid" 2>/dev/null || true
            return
        fi
    done
    local line
    line=$(taskset -c "$ccpu" "$cli" "$scenario-client" "$RUN_DIR" "$svc" "$DURATION" 0 2>/dev/null | tail -1) || true
    kill -TERM "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    local scpu_sec
    scpu_sec=$(sed -n 's/^SERVER_CPU_SEC=//p' "$sout" | tail -1)
    if [ -z "$line" ]; then echo "$placement $scenario $pair: no result" >&2; return; fi
    IFS=, read -r _ _ _ thr p50 p95 p99 ccpu_pct _ <<<"$line"
    echo "$round,$placement,$scenario,$pair,$thr,$p50,$p95,$p99,$ccpu_pct,${scpu_sec:-0}"
}

echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD) ${DURATION}s x $ROUNDS rounds; before: $(uptime)" >&2
echo "round,placement,scenario,pair,throughput,p50_us,p95_us,p99_us,client_cpu_pct,server_cpu_sec" >"$CSV"
for ((round = 1; round <= ROUNDS; round++)); do
    for placement in split shared; do
        for scenario in uds-ping-pong shm-ping-pong; do
            for p in "${PAIRS[@]}"; do
                IFS=: read -r pair srv cli <<<"$p"
                run_once "$round" "$placement" "$scenario" "$pair" "$srv" "$cli" | tee -a "$CSV"
            done
        done
    done
done
echo "# after: $(uptime)" >&2

# Min/median/max per pair, and its ratios to our blocking pair and to the
# best reference pair (the REF_BENCH ones) of the same round: the median
# over the rounds, and the lowest and highest, as the host's speed drifts
# from round to round and the pairs of a round ran close together.
python3 - "$CSV" "${REF_BENCH:-}" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
refs = [e.split("=", 1)[0] for e in sys.argv[2].split()]
thr = {}  # (placement, scenario) -> pair -> round -> throughput
for r in rows:
    key = (r["placement"], r["scenario"])
    thr.setdefault(key, {}).setdefault(r["pair"], {})[r["round"]] = float(r["throughput"])


def ratios(pair_runs, base_of_round):
    got = [v / base_of_round[k] for k, v in pair_runs.items() if base_of_round.get(k)]
    if not got:
        return "-"
    return f"{statistics.median(got):.2f}x ({min(got):.2f}-{max(got):.2f})"


print("| placement | scenario | pair (client/server) | min | median | max | vs netipc | vs best ref |")
print("|---|---|---|---:|---:|---:|---:|---:|")
for (placement, scenario), pairs in thr.items():
    ours = pairs.get("netipc", {})
    rounds = {k for runs in pairs.values() for k in runs}
    best_ref = {k: max((pairs[p][k] for p in refs if k in pairs.get(p, {})), default=0) for k in rounds}
    for p, runs in pairs.items():
        v = list(runs.values())
        k = lambda x: f"{x / 1000:.1f}k"
        print(f"| {placement} | {scenario} | {p} | {k(min(v))} | {k(statistics.median(v))} | {k(max(v))} "
              f"| {ratios(runs, ours)} | {ratios(runs, best_ref)} |")
EOF
