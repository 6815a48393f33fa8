#!/usr/bin/env bash
# Runs the cross-process benchmark matrix with CPU pinning and renders
# docs/benchmarks.md.
#
#   benches/run-matrix.sh [duration_sec]
#
# Environment:
#   REF_BENCH  path to another driver with the same command line (for
#              example a reference bench_posix built by hand); when set,
#              every scenario also runs ref->ref and both mixed pairs.
#   CPUS       "A B": the two CPUs of the split placement (default "0 1").
#
# Each scenario runs with the server and the client split over two CPUs,
# and with both on the first CPU. Results go to benches/results.csv.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-5}"
read -r CPU_A CPU_B <<<"${CPUS:-0 1}"
cargo build --release -q -p netipc-interop --bin bench_posix
OURS="$PWD/target/release/bench_posix"
REF="${REF_BENCH:-}"
RUN_DIR="$(mktemp -d)"
CSV="benches/results.csv"
trap 'rm -rf "$RUN_DIR"' EXIT

echo "placement,pair,scenario,throughput,p50_us,p95_us,p99_us,client_cpu_pct,server_cpu_sec" >"$CSV"

# run <placement> <pair> <server-bin> <client-bin> <server-mode> <client-mode> [depth]
run() {
    local placement=$1 pair=$2 srv=$3 cli=$4 smode=$5 cmode=$6 depth=${7:-}
    local scpu ccpu svc="m$RANDOM$RANDOM"
    if [ "$placement" = split ]; then scpu=$CPU_A; ccpu=$CPU_B; else scpu=$CPU_A; ccpu=$CPU_A; fi
    local sout="$RUN_DIR/server.out"
    taskset -c "$scpu" "$srv" "$smode-server" "$RUN_DIR" "$svc" "$DURATION" >"$sout" 2>/dev/null &
    local spid=$!
    local waited=0
    until grep -q READY "$sout" 2>/dev/null; do
        sleep 0.05
        waited=$((waited + 1))
        if [ $waited -gt 200 ]; then echo "server $smode did not start" >&2; kill "$spid" 2>/dev/null || true; return; fi
    done
    local line
    line=$(taskset -c "$ccpu" "$cli" "$cmode-client" "$RUN_DIR" "$svc" "$DURATION" 0 $depth 2>/dev/null | tail -1) || true
    kill -TERM "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    local scpu_sec
    scpu_sec=$(sed -n 's/^SERVER_CPU_SEC=//p' "$sout" | tail -1)
    if [ -z "$line" ]; then echo "$placement $pair $cmode: no result" >&2; return; fi
    IFS=, read -r scenario _ _ thr p50 p95 p99 ccpu_pct _ <<<"$line"
    echo "$placement,$pair,$scenario,$thr,$p50,$p95,$p99,$ccpu_pct,${scpu_sec:-0}" | tee -a "$CSV"
}

pairs() {
    echo "netipc:$OURS:$OURS"
    if [ -n "$REF" ]; then
        echo "ref:$REF:$REF"
        echo "netipc-client/ref-server:$REF:$OURS"
        echo "ref-client/netipc-server:$OURS:$REF"
    fi
}

SCENARIOS=(
    "uds-ping-pong uds-ping-pong"
    "shm-ping-pong shm-ping-pong"
    "snapshot snapshot"
    "snapshot-shm snapshot-shm"
    "uds-batch-ping-pong uds-batch-ping-pong"
    "shm-batch-ping-pong shm-batch-ping-pong"
    "uds-ping-pong uds-pipeline 16"
    "uds-batch-ping-pong uds-pipeline-batch 16"
)

for placement in split shared; do
    for s in "${SCENARIOS[@]}"; do
        read -r smode cmode depth <<<"$s"
        while IFS=: read -r pair srv cli; do
            run "$placement" "$pair" "$srv" "$cli" "$smode" "$cmode" "$depth"
        done < <(pairs)
    done
done

# In-process figures, pinned to one CPU.
LOOKUP_METHODS="cgroups-lookup-known-16 cgroups-lookup-mixed-16 cgroups-lookup-known-256
    apps-lookup-known-16 apps-lookup-mixed-16 apps-lookup-known-256"
for drv in "netipc:$OURS" ${REF:+"ref:$REF"}; do
    IFS=: read -r pair bin <<<"$drv"
    line=$(taskset -c "$CPU_B" "$bin" lookup-bench "$DURATION" | tail -1)
    IFS=, read -r scenario _ _ thr p50 p95 p99 ccpu_pct _ <<<"$line"
    echo "inproc,$pair,$scenario,$thr,$p50,$p95,$p99,$ccpu_pct,0" | tee -a "$CSV"
    for method in $LOOKUP_METHODS; do
        line=$(taskset -c "$CPU_B" "$bin" lookup-method-bench "$DURATION" "$method" 0 | tail -1)
        IFS=, read -r scenario _ _ thr p50 p95 p99 ccpu_pct _ <<<"$line"
        echo "inproc,$pair,$scenario,$thr,$p50,$p95,$p99,$ccpu_pct,0" | tee -a "$CSV"
    done
done

python3 benches/render.py "$CSV" docs/benchmarks.md "$DURATION"
echo "wrote $CSV and docs/benchmarks.md"
