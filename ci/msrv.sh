#!/usr/bin/env bash
# Checks that the workspace builds with the oldest Rust it states it
# supports (`rust-version` of the workspace's Cargo.toml). Where that
# toolchain cannot be installed, it prints a notice and succeeds.
set -euo pipefail
cd "$(dirname "$0")/.."

msrv="$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
if [ -z "$msrv" ]; then
    echo "error: no rust-version in Cargo.toml" >&2
    exit 1
fi
if ! rustup run "$msrv" rustc --version >/dev/null 2>&1 &&
    ! rustup toolchain install "$msrv" --profile minimal >/dev/null 2>&1; then
    echo "notice: Rust $msrv (the stated MSRV) cannot be installed here; MSRV check skipped"
    exit 0
fi
echo "checking with $(rustup run "$msrv" rustc --version)"
# A target dir of its own: an older compiler's artifacts would evict the
# current ones.
CARGO_TARGET_DIR=target/msrv cargo "+$msrv" check --workspace --quiet
