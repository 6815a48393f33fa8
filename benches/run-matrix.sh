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
#   SCALE      the agent-scale scenarios (big snapshots, many sessions, a
#              quiet second; see "Agent scale" below): "yes" (the default)
#              runs them after the rest, "only" runs only them, "no" skips
#              them. With "only" (or ONLY set), the rows of results.csv
#              that were not run again are kept.
#   SNAP_SIZES snapshot sizes of the big-snapshot scenarios (default
#              "1000 10000 50000").
#   SESSIONS   session counts of the many-sessions scenarios (default
#              "256 1024").
#   QUIET_DURATION  seconds of each phase of the quiet-second scenarios
#              (default 10, at least DURATION): a few calls a second give
#              a few hundred calls to measure only over that long.
#   SCALE_BEFORE  bench_posix of an older build of ours: its own pair runs
#              in every agent-scale scenario too (pair "before"), for
#              before/after figures of one run.
#   SCALE_REF  drivers with our command line for the agent-scale scenarios
#              (NAME=PATH, as REF_BENCH): the reference's own drivers have
#              none of them, so this takes only drivers built by hand on
#              the reference's library. The quiet-second pairs with one
#              session also run our client against each REF_BENCH server.
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
SCALE="${SCALE:-yes}"
SCALE_REFS=()
for entry in ${SCALE_REF:-}; do
    case "$entry" in
    *=*) SCALE_REFS+=("${entry%%=*}:${entry#*=}") ;;
    *) SCALE_REFS+=("ref:$entry") ;;
    esac
done
RUN_DIR="$(mktemp -d)"
CSV="benches/results.csv"
OLD_CSV="$RUN_DIR/old.csv"
if [ -f "$CSV" ]; then cp "$CSV" "$OLD_CSV"; fi
trap 'rm -rf "$RUN_DIR"' EXIT

# The agent-scale rows add columns: the client's peak RSS and the payload
# (big snapshots); fairness, the server's RSS, shared memory per session,
# CPU per call above idle, idle CPU of server and client, CPU per call
# above the clients' pacing (many sessions).
echo "placement,pair,scenario,throughput,p50_us,p95_us,p99_us,client_cpu_pct,server_cpu_sec,client_rss_kib,payload_bytes,fairness,server_rss_kib,shm_per_session,cpu_us_per_call,idle_server_pct,idle_client_pct,lib_us_per_call" >"$CSV"

# Reads CSV rows (pair in the second field, throughput in the fourth) and
# appends to the CSV each pair's fastest row, pairs in their first order.
# Rows of a paced scenario (its name has "-at-<rate>") have the rate's
# throughput whatever the pair: of those the one with the least CPU per
# call (the fifteenth field) is kept.
keep_fastest() {
    awk -F, '
        { score = ($3 ~ /-at-/) ? -($15 + 0) : $4 + 0 }
        !($2 in best) { order[n++] = $2 }
        !($2 in best) || score > top[$2] { best[$2] = $0; top[$2] = score }
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

if [ "$SCALE" = only ]; then
    SCENARIOS=()
else
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
fi

wanted() { [ -z "$ONLY" ] || [[ "$1" =~ $ONLY ]]; }

for placement in split shared; do
    for s in "${SCENARIOS[@]+"${SCENARIOS[@]}"}"; do
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
INPROC=()
if [ "$SCALE" != only ]; then
    INPROC+=("lookup-bench $DURATION")
    for svc in cgroups apps; do
        for n in known-16 unknown-16 mixed-16 mixed-256 known-8192 known-32768; do
            INPROC+=("lookup-method-bench $DURATION $svc-lookup-$n 0")
        done
    done
fi
# inproc_once <pair> <driver> <benchmark arguments...>: prints one CSV row.
inproc_once() {
    local pair=$1 bin=$2 line scenario thr p50 p95 p99 ccpu_pct
    shift 2
    line=$(taskset -c "$CPU_B" "$bin" "$@" | tail -1) || true
    if [ -z "$line" ]; then echo "inproc $pair $*: no result" >&2; return; fi
    IFS=, read -r scenario _ _ thr p50 p95 p99 ccpu_pct _ <<<"$line"
    echo "inproc,$pair,$scenario,$thr,$p50,$p95,$p99,$ccpu_pct,0"
}
for bench in "${INPROC[@]+"${INPROC[@]}"}"; do
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

# ---------------------------------------------------------------------
# Agent scale: big snapshots refreshed into the L3 cache, many sessions on
# one managed server, and the CPU of a quiet second. The reference's
# drivers have none of these scenarios; SCALE_REF names drivers that do.
# ---------------------------------------------------------------------

QUIET_DURATION="${QUIET_DURATION:-10}"
if [ "$QUIET_DURATION" -lt "$DURATION" ]; then QUIET_DURATION=$DURATION; fi

# run_scale <placement> <pair> <server-bin> <client-bin> <server-mode> <client-mode> <rps>
# Prints one CSV row with the agent-scale columns. Paced runs (rps > 0)
# last QUIET_DURATION a phase.
run_scale() {
    local placement=$1 pair=$2 srv=$3 cli=$4 smode=$5 cmode=$6 rps=$7
    local scpu ccpu svc="m$RANDOM$RANDOM" duration=$DURATION
    if [ "$rps" != 0 ]; then duration=$QUIET_DURATION; fi
    if [ "$placement" = split ]; then scpu=$CPU_A; ccpu=$CPU_B; else scpu=$CPU_A; ccpu=$CPU_A; fi
    local sout="$RUN_DIR/server.out"
    taskset -c "$scpu" "$srv" "$smode-server" "$RUN_DIR" "$svc" "$((duration * 3 + 60))" >"$sout" 2>/dev/null &
    local spid=$!
    local waited=0
    until grep -q READY "$sout" 2>/dev/null; do
        sleep 0.05
        waited=$((waited + 1))
        if [ $waited -gt 200 ]; then echo "server $smode did not start" >&2; kill "$spid" 2>/dev/null || true; return; fi
    done
    local line
    line=$(BENCH_SERVER_PID=$spid taskset -c "$ccpu" "$cli" "$cmode-client" "$RUN_DIR" "$svc" "$duration" "$rps" 2>/dev/null | tail -1) || true
    kill -TERM "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true
    local scpu_sec
    scpu_sec=$(sed -n 's/^SERVER_CPU_SEC=//p' "$sout" | tail -1)
    if [ -z "$line" ]; then echo "$placement $pair $cmode: no result" >&2; return; fi
    local scenario thr p50 p95 p99 ccpu_pct rest
    IFS=, read -r scenario _ _ thr p50 p95 p99 ccpu_pct _ _ rest <<<"$line"
    case "$scenario" in
    cache-refresh-*)
        IFS=, read -r rss payload _ <<<"$rest"
        echo "$placement,$pair,$scenario,$thr,$p50,$p95,$p99,$ccpu_pct,${scpu_sec:-0},$rss,$payload,,,,,,," ;;
    *)
        echo "$placement,$pair,$scenario,$thr,$p50,$p95,$p99,$ccpu_pct,${scpu_sec:-0},,,$rest" ;;
    esac
}

# run_scale_scenario <placement> <server-mode> <client-mode> <rps> <pairs...>:
# REPEAT rounds over the pairs (NAME:SERVER:CLIENT), each pair's fastest
# run kept.
run_scale_scenario() {
    local placement=$1 smode=$2 cmode=$3 rps=$4
    shift 4
    local rows="$RUN_DIR/rows.csv" round p
    : >"$rows"
    for ((round = 0; round < REPEAT; round++)); do
        for p in "$@"; do
            IFS=: read -r pair srv cli <<<"$p"
            run_scale "$placement" "$pair" "$srv" "$cli" "$smode" "$cmode" "$rps" >>"$rows"
        done
    done
    keep_fastest "$rows"
}

# Pairs of the agent-scale scenarios: ours, the older build's, and each
# SCALE_REF driver with itself and against ours; with "servers", only our
# client against each SCALE_REF server (the drivers built by hand need not
# have the many-sessions client).
scale_pairs() {
    echo "netipc:$OURS:$OURS"
    if [ -n "${SCALE_BEFORE:-}" ]; then echo "before:$SCALE_BEFORE:$SCALE_BEFORE"; fi
    local a
    for a in "${SCALE_REFS[@]+"${SCALE_REFS[@]}"}"; do
        echo "netipc-client/${a%%:*}-server:${a#*:}:$OURS"
        if [ "${1:-}" != servers ]; then
            echo "${a%%:*}:${a#*:}:${a#*:}"
            echo "${a%%:*}-client/netipc-server:$OURS:${a#*:}"
        fi
    done
}

if [ "$SCALE" != no ]; then
    mapfile -t SPAIRS < <(scale_pairs)
    mapfile -t SERVERS < <(scale_pairs servers)
    for placement in split shared; do
        for n in ${SNAP_SIZES:-1000 10000 50000}; do
            for kind in cache-refresh cache-refresh-shm; do
                wanted "$placement $kind-$n" || continue
                run_scale_scenario "$placement" "$kind-$n" "$kind-$n" 0 "${SPAIRS[@]}"
                # The limit: one copy of the payload, on the client's CPU.
                rows="$RUN_DIR/rows.csv"
                : >"$rows"
                for ((round = 0; round < REPEAT; round++)); do
                    line=$(taskset -c "$CPU_B" "$OURS" payload-copy "$n" "$DURATION" | tail -1) || true
                    IFS=, read -r _ _ _ thr p50 p95 p99 ccpu_pct _ _ rss payload <<<"$line"
                    echo "$placement,memcpy,$kind-$n,$thr,$p50,$p95,$p99,$ccpu_pct,0,$rss,$payload,,,,,,," >>"$rows"
                done
                keep_fastest "$rows"
            done
        done
    done
    # Many sessions calling as fast as they can, then a quiet second: 32
    # sessions at 10 and at 1 call per second (the agent's cadence).
    for placement in split shared; do
        for kind in uds shm; do
            for n in ${SESSIONS:-256 1024}; do
                wanted "$placement sessions-$kind-$n" || continue
                run_scale_scenario "$placement" "sessions-$kind-$n" "sessions-$kind-$n" 0 "${SERVERS[@]}"
            done
            for rps in 10 1; do
                wanted "$placement sessions-$kind-32-at-$rps" || continue
                run_scale_scenario "$placement" "sessions-$kind-32" "sessions-$kind-32" "$rps" "${SERVERS[@]}"
            done
        done
    done
    # One session at 10 calls per second, our client against every server
    # (the reference's servers take one session, or eight): what each
    # server adds to a quiet call.
    for kind in uds shm; do
        wanted "split sessions-$kind-1-at-10" || continue
        qpairs=("netipc:$OURS:$OURS")
        if [ -n "${SCALE_BEFORE:-}" ]; then qpairs+=("before:$SCALE_BEFORE:$SCALE_BEFORE"); fi
        for a in "${REFS[@]+"${REFS[@]}"}"; do
            qpairs+=("netipc-client/${a%%:*}-server:${a#*:}:$OURS")
        done
        rows="$RUN_DIR/rows.csv"
        : >"$rows"
        for ((round = 0; round < REPEAT; round++)); do
            for p in "${qpairs[@]}"; do
                IFS=: read -r pair srv cli <<<"$p"
                # The reference's servers serve INCREMENT in their ping-pong
                # scenarios.
                smode="sessions-$kind-1"
                case "$pair" in netipc | before) ;; *) smode="$kind-ping-pong" ;; esac
                run_scale split "$pair" "$srv" "$cli" "$smode" "sessions-$kind-1" 10 >>"$rows"
            done
        done
        keep_fastest "$rows"
    done
    # A new user's first program: the server and 32 clients in one
    # process, 10 calls per second each.
    for kind in uds shm; do
        wanted "inproc sessions-inproc-$kind-32-at-10" || continue
        rows="$RUN_DIR/rows.csv"
        : >"$rows"
        for ((round = 0; round < REPEAT; round++)); do
            for drv in "netipc:$OURS" ${SCALE_BEFORE:+"before:$SCALE_BEFORE"}; do
                line=$(taskset -c "$CPU_A,$CPU_B" "${drv#*:}" "sessions-inproc-$kind-32" "$QUIET_DURATION" 10 | tail -1) || true
                [ -n "$line" ] || continue
                IFS=, read -r scenario _ _ thr p50 p95 p99 ccpu_pct _ _ rest <<<"$line"
                echo "inproc,${drv%%:*},$scenario,$thr,$p50,$p95,$p99,$ccpu_pct,0,,,$rest" >>"$rows"
            done
        done
        keep_fastest "$rows"
    done
fi

# Runs limited by ONLY or SCALE=only keep the rows of the last full run
# that they did not make again.
if [ -n "$ONLY" ] || [ "$SCALE" = only ]; then
    if [ -f "$OLD_CSV" ]; then
        new="$RUN_DIR/new.csv"
        cp "$CSV" "$new"
        {
            head -1 "$new"
            awk -F, 'NR == FNR { if (FNR > 1) ran[$1 "," $2 "," $3] = 1; next }
                     FNR > 1 && !(($1 "," $2 "," $3) in ran)' "$new" "$OLD_CSV"
            tail -n +2 "$new"
        } >"$CSV"
    fi
fi

python3 benches/render.py "$CSV" docs/benchmarks.md "$DURATION" "$REPEAT"
python3 benches/charts.py "$CSV" docs || echo "charts: not drawn (see benches/charts.py)" >&2
echo "wrote $CSV and docs/benchmarks.md"
