#!/usr/bin/env bash
# Clippy with -D warnings on the whole workspace (tests, examples, benches
# and interop tools included) for the other POSIX platforms of the
# specification, FreeBSD and macOS, which this host can build for but not
# run. Clippy only checks: it never links, so each target's standard
# library is all it needs, no linker or SDK.
#
# A target whose standard library rustup cannot install is skipped with a
# notice; a target that fails clippy fails the stage.
#
#   ci/targets.sh [target ...]    (default: the three below)
set -euo pipefail
cd "$(dirname "$0")/.."

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(x86_64-unknown-freebsd aarch64-apple-darwin x86_64-apple-darwin)
fi

for target in "${targets[@]}"; do
    if ! rustup target add "$target" >/dev/null 2>&1; then
        echo "notice: rustup could not install the $target target; its clippy run is skipped"
        continue
    fi
    echo "== cargo clippy --workspace --all-targets --target $target -- -D warnings"
    env=()
    case "$target" in
        *-apple-*)
            # The one C file in the graph for these targets is criterion's
            # alloca helper (a dev-dependency). Without an Apple toolchain
            # the cc crate hands the host compiler Apple-only flags
            # (-arch, -mmacosx-version-min), which it refuses; without its
            # default flags the host compiler builds an object that clippy,
            # which never links, never uses.
            if [ "$(uname -s)" != Darwin ]; then
                env=(CRATE_CC_NO_DEFAULTS=1)
            fi
            ;;
    esac
    env "${env[@]}" cargo clippy --workspace --all-targets --target "$target" -- -D warnings
    # The optional features too (the tokio layer).
    env "${env[@]}" cargo clippy --workspace --all-targets --all-features --target "$target" -- -D warnings
done
