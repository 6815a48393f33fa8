#!/usr/bin/env bash
# Runs the cross-process benchmark matrix with CPU pinning and renders
# docs/benchmarks.md.
#
#   benches/run-matrix.sh [duration_sec]
#
# Environment:
#   REF_BENCH  other drivers with the same command line, as space-separated
#              NAME=PATH entries (for example the reference's C and Rust
#              bench_posix built by hand: "c=/tmp/c/bench_posix
#              rust=/tmp/rs/bench_posix"); a bare path is named "ref". Every
#              scenario then also runs each pair of them (the same driver on
#              both sides, and every mix) and each of them against ours.
#   CPUS       "A B": the two CPUs of the split placement (default "0 1").
#   ONLY       a regular expression: only the runs whose "placement
#              scenario" matches it (for example "split shm-ping-pong").
#   REPEAT     runs of each pair (default 1), made in rounds over all the
#              pairs of a scenario (or all the drivers of an in-process
#              benchmark); the one with the highest throughput is kept, for
#              every driver alike.
#
# Each scenario runs with the server and the client split over two CPUs,
# and with both on the first CPU. The socket ping-pong, snapshot and batch
# scenarios and the SHM ping-pong also run bench_floor (pair "floor"): the
# same messages with no library, the limit of this machine. Results go to
# benches/results.csv.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${1:-5}"
read -r CPU_A CPU_B <<<"${CPUS:-0 1}"
cargo build --release -q -p netipc-interop --bin bench_posix --bin bench_floor
OURS="$PWD/target/release/bench_posix"
FLOOR="$PWD/target/release/bench_floor"
ONLY="${ONLY:-}"
REPEAT="${REPEAT:-1}"
# Reference drivers as NAME:PATH lines.
REFS=()
for entry in ${REF_BENCH:-}; do
    case "$entry" in
    *=*) REFS+=("${entry%%=*}:${entry#*=}") ;;
    *) REFS+=("ref:$entry") ;;
    esac
done
RUN_DIR="$(mktemp -d)"
CSV="benches/results.csv"
trap 'rm -rf "$RUN_DIR"' EXIT

echo "placement,pair,scenario,throughput,p50_us,p95_us,p99_us,client_cpu_pct,server_cpu_sec" >"$CSV"

# Reads CSV rows (pair in the second field, throughput in the fourth) and
# appends to the CSV each pair's fastest row, pairs in their first order.
keep_fastest() {
    awk -F, '
        !($2 in best) { order[n++] = $2 }
        !($2 in best) || $4 + 0 > thr[$2] { best[$2] = $0; thr[$2] = $4 + 0 }
        END { for (i = 0; i < n; i++) print best[order[i]] }
    ' "$1" | tee -a "$CSV"
}

# run_once <placement> <pair> <server-bin> <client-bin> <server-mode> <client-mode> [depth]
# Prints one CSV row.
run_once() {
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
    echo "$placement,$pair,$scenario,$thr,$p50,$p95,$p99,$ccpu_pct,${scpu_sec:-0}"
}

# Pairs as NAME:SERVER:CLIENT lines: ours, then every reference pair (one
# driver on both sides is named after it), then each reference with ours.
pairs() {
    echo "netipc:$OURS:$OURS"
    local a b
    for a in "${REFS[@]}"; do
        for b in "${REFS[@]}"; do
            if [ "$a" = "$b" ]; then
                echo "${a%%:*}:${a#*:}:${a#*:}"
            else
                echo "${a%%:*}-client/${b%%:*}-server:${b#*:}:${a#*:}"
            fi
        done
    done
    for a in "${REFS[@]}"; do
        echo "netipc-client/${a%%:*}-server:${a#*:}:$OURS"
        echo "${a%%:*}-client/netipc-server:$OURS:${a#*:}"
    done
}

# Runs every pair of one scenario (and the floor, when $5 is "yes") REPEAT
# times in rounds, so that the runs of a pair are spread over the
# scenario's minutes instead of back to back: the host's speed drifts over
# seconds, and a slow spell then costs a pair one run, not all of them.
# Appends each pair's fastest run to the CSV.
run_scenario() {
    local placement=$1 smode=$2 cmode=$3 depth=$4 floor=$5
    local rows="$RUN_DIR/rows.csv" round pair srv cli
    : >"$rows"
    for ((round = 0; round < REPEAT; round++)); do
        while IFS=: read -r pair srv cli; do
            run_once "$placement" "$pair" "$srv" "$cli" "$smode" "$cmode" "$depth" >>"$rows"
        done < <(
            pairs
            if [ "$floor" = yes ]; then echo "floor:$FLOOR:$FLOOR"; fi
        )
    done
    keep_fastest "$rows"
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

wanted() { [ -z "$ONLY" ] || [[ "$1" =~ $ONLY ]]; }

for placement in split shared; do
    for s in "${SCENARIOS[@]}"; do
        read -r smode cmode depth <<<"$s"
        wanted "$placement $cmode${depth:+-d$depth}" || continue
        # The same exchange with no library (what the machine allows) for
        # the scenarios the floor knows.
        case "$smode/$cmode" in
        uds-ping-pong/uds-ping-pong | snapshot/snapshot | uds-batch-ping-pong/uds-batch-ping-pong | shm-ping-pong/shm-ping-pong)
            floor=yes ;;
        *) floor=no ;;
        esac
        run_scenario "$placement" "$smode" "$cmode" "$depth" "$floor"
    done
done

# In-process figures, pinned to one CPU: L3 lookups, and the lookup
# methods at the key counts the reference benchmarks. Like the pairs of a
# scenario, the drivers take turns: REPEAT rounds over all of them for each
# benchmark, so that a slow spell of the host does not fall on one driver's
# runs only.
INPROC=("lookup-bench $DURATION")
for svc in cgroups apps; do
    for n in known-16 unknown-16 mixed-16 mixed-256 known-8192 known-32768; do
        INPROC+=("lookup-method-bench $DURATION $svc-lookup-$n 0")
    done
done
# inproc_once <pair> <driver> <benchmark arguments...>: prints one CSV row.
inproc_once() {
    local pair=$1 bin=$2 line scenario thr p50 p95 p99 ccpu_pct
    shift 2
    line=$(taskset -c "$CPU_B" "$bin" "$@" | tail -1) || true
    if [ -z "$line" ]; then echo "inproc $pair $*: no result" >&2; return; fi
    IFS=, read -r scenario _ _ thr p50 p95 p99 ccpu_pct _ <<<"$line"
    echo "inproc,$pair,$scenario,$thr,$p50,$p95,$p99,$ccpu_pct,0"
}
for bench in "${INPROC[@]}"; do
    read -r -a args <<<"$bench"
    wanted "inproc ${args[2]:-lookup}" || continue
    rows="$RUN_DIR/rows.csv"
    : >"$rows"
    for ((round = 0; round < REPEAT; round++)); do
        for drv in "netipc:$OURS" "${REFS[@]}"; do
            inproc_once "${drv%%:*}" "${drv#*:}" "${args[@]}" >>"$rows"
        done
    done
    keep_fastest "$rows"
done

python3 benches/render.py "$CSV" docs/benchmarks.md "$DURATION" "$REPEAT"
echo "wrote $CSV and docs/benchmarks.md"
