#!/usr/bin/env bash
# 32-bit targets: builds and runs the Linux tests for i686-unknown-linux-gnu
# (a usize of 32 bits, where a sum of two u32 region fields can wrap), then
# runs clippy for armv7-unknown-linux-gnueabihf (the 32-bit ARM boards the
# agent runs on), warnings as errors.
#
# Setup that this machine cannot do (no gcc multilib or ARM cross gcc from
# Debian's packages, no target from rustup) skips that half with a notice;
# a failing build, test or lint fails the stage. Run by .ci/run, which sets
# NETIPC_VECTORS; extra arguments go to `cargo test`.
set -uo pipefail
cd "$(dirname "$0")/.."

notice() {
    echo "== 32-bit: $1 SKIPPED: $2"
}

# Installs Debian packages when we are root and apt-get is there.
apt_install() {
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || return 1
    echo "== installing $*"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@") >/dev/null 2>&1
}

has_target() {
    rustup target list --installed 2>/dev/null | grep -qx "$1" || rustup target add "$1" >/dev/null 2>&1
}

i686_ready() {
    local probe
    probe="$(mktemp -d)"
    echo 'int main(void) { return 0; }' >"$probe/p.c"
    local ok=1
    gcc -m32 "$probe/p.c" -o "$probe/p" >/dev/null 2>&1 || ok=0
    rm -rf "$probe"
    [ "$ok" = 1 ]
}

status=0

I686=i686-unknown-linux-gnu
if ! i686_ready && ! { apt_install gcc-multilib && i686_ready; }; then
    notice "$I686 tests" "gcc cannot link 32-bit x86 programs (gcc-multilib) and cannot be set up here"
elif ! has_target "$I686"; then
    notice "$I686 tests" "rustup could not add $I686"
else
    echo "== cargo test --workspace --target $I686"
    cargo test --workspace --target "$I686" "$@" || status=1
fi

ARMV7=armv7-unknown-linux-gnueabihf
# criterion (a dev-dependency) builds a C file, so clippy needs the cross gcc.
if ! command -v arm-linux-gnueabihf-gcc >/dev/null && ! apt_install gcc-arm-linux-gnueabihf; then
    notice "$ARMV7 clippy" "no arm-linux-gnueabihf-gcc, and it cannot be installed here"
elif ! has_target "$ARMV7"; then
    notice "$ARMV7 clippy" "rustup could not add $ARMV7"
else
    echo "== cargo clippy --workspace --all-targets --target $ARMV7 -- -D warnings"
    cargo clippy --workspace --all-targets --target "$ARMV7" -- -D warnings || status=1
fi

exit "$status"
