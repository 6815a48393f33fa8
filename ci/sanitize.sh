#!/usr/bin/env bash
# Runs the Linux tests (unit, integration and the binaries they spawn)
# built with AddressSanitizer and its leak checker, on the nightly
# toolchain. The transport's unsafe code (mappings, futex words, raw
# descriptors) then runs under a checker of out-of-bounds accesses,
# use-after-free and leaks. Without a nightly toolchain it prints a notice
# and succeeds.
#
#   ci/sanitize.sh [extra cargo test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "notice: no nightly toolchain installed; AddressSanitizer run skipped"
    exit 0
fi
host="$(rustc -vV | sed -n 's/^host: //p')"
# --target keeps build scripts and proc macros uninstrumented; a target
# dir of its own keeps the instrumented build from evicting the normal one.
# NETIPC_SANITIZER tells the timing tests (the async heartbeat) that their
# bounds do not hold in an instrumented build; they report themselves
# ignored, saying so.
NETIPC_SANITIZER=address RUSTFLAGS="-Zsanitizer=address" CARGO_TARGET_DIR=target/asan \
    cargo +nightly test --target "$host" --workspace --lib --tests --bins "$@"
