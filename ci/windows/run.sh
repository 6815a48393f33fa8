#!/usr/bin/env bash
# Cross-compiles the workspace for x86_64-pc-windows-gnu and runs it under
# Wine: clippy with -D warnings, then every test suite (on Windows the
# services and the cache run over the Named Pipe; POSIX-only suites compile
# to nothing).
#
# Setup that this machine cannot do (no Debian packages, no Windows target
# for rustup) skips the stage with a notice; a failing check fails it.
set -uo pipefail
cd "$(dirname "$0")/../.."

skip() {
    echo "== windows stage SKIPPED: $*"
    exit 0
}

TARGET=x86_64-pc-windows-gnu
if ! command -v x86_64-w64-mingw32-gcc >/dev/null || ! command -v wine >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "== installing mingw and wine"
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            gcc-mingw-w64-x86-64 wine64 wine) >/dev/null 2>&1 || skip "apt-get could not install mingw and wine"
    else
        skip "mingw or wine missing and cannot be installed here"
    fi
fi
if ! rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
    rustup target add "$TARGET" >/dev/null 2>&1 || skip "rustup could not add $TARGET"
fi

set -e
WORK="$PWD/target/wine"
mkdir -p "$WORK/tmp" "$WORK/shim"
export TMPDIR="$WORK/tmp" WINEPREFIX="$WORK/prefix" WINEDEBUG=-all WINEPATH="$WORK/shim"

# Rust's std needs ProcessPrng, which this Wine may lack: provide it.
x86_64-w64-mingw32-gcc -O2 -shared -o "$WORK/shim/bcryptprimitives.dll" \
    ci/windows/bcryptprimitives.c ci/windows/bcryptprimitives.def -ladvapi32

# Wine's helpers must not inherit our pipes, or the run never ends.
wineserver -p </dev/null >/dev/null 2>&1 || true
wineboot -i </dev/null >/dev/null 2>&1 || true
trap 'wineserver -k >/dev/null 2>&1 || true' EXIT

CARGO=(cargo --config "target.$TARGET.linker=\"x86_64-w64-mingw32-gcc\""
    --config "target.$TARGET.runner=\"$PWD/ci/windows/wine-run.sh\"")

echo "== cargo clippy --workspace --target $TARGET --all-targets -- -D warnings"
"${CARGO[@]}" clippy --workspace --target "$TARGET" --all-targets -- -D warnings
echo "== cargo clippy --workspace --target $TARGET --all-targets --all-features -- -D warnings"
"${CARGO[@]}" clippy --workspace --target "$TARGET" --all-targets --all-features -- -D warnings

echo "== cargo test --workspace --target $TARGET under wine"
"${CARGO[@]}" test --workspace --target "$TARGET"
