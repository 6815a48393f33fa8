#!/usr/bin/env bash
# Cargo's runner for the Windows target: runs one test binary under Wine.
#
# Wine on a loaded machine now and then fails to start a process at all: the
# binary exits with status 1 before the test harness prints its first line.
# That is a launch failure, not a test result, so such a run is retried (at
# most twice, with a notice). A binary that printed anything keeps its exit
# status: real failures are never retried away.
set -u
out="$(mktemp "${TMPDIR:-/tmp}/wine-run.XXXXXX")"
trap 'rm -f "$out"' EXIT
for attempt in 1 2 3; do
    # stdout goes to a file, not a pipe: Wine's helper processes may inherit
    # it and would hold a pipe open for ever.
    wine "$@" >"$out"
    rc=$?
    cat "$out"
    if [ "$rc" = 0 ] || [ -s "$out" ]; then
        exit "$rc"
    fi
    echo "wine-run: $(basename "$1") exited with status $rc before printing anything (attempt $attempt of 3)" >&2
done
exit "$rc"
