#!/usr/bin/env bash
# Bootstrap what the builds and the test tiers need, idempotently:
#   debian  - Debian packages (cross compiler, QEMU, socat, dpkg-dev, tshark ...)
#   venv    - .venv with the pinned packages of tools/requirements.txt
#   mpsrc   - MicroPython 1.25 source from Debian's source package, unpacked with
#             Debian's patches into build/micropython-src (private apt configuration:
#             the machine's own apt sources are never changed)
#   zoh     - zigbee-on-host and zigbee-herdsman (npm, pinned in tools/zoh/package-lock.json)
#             for the foreign trust-centre and herdsman ZCL tests; skipped with a note when
#             Node.js >= 20.19 is missing unless asked for by name (tools/zoh/install.sh)
# Usage: tools/bootstrap.sh [debian] [venv] [mpsrc] [zoh]     (no argument: all four)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=$ROOT/build
MPY_DEB_VERSION=1.25.0+ds-1
MPY_SRC=$BUILD/micropython-src
# The Debian release whose source package carries MicroPython 1.25 (bookworm has none).
MPY_SUITE=trixie

# Cross compilers (armv7m for the emulated board and its natmods, rv32imc natmods for the
# ESP32-C3/C6/H2), QEMU, socat, dpkg-dev (dpkg-source), tshark (HAN capture checks),
# chromium-headless-shell (the in-home display's web page, tools.ihd --web), and what
# building MicroPython and the venv needs on a bare machine.
DEBIAN_PACKAGES="gcc-arm-none-eabi libnewlib-arm-none-eabi gcc-riscv64-unknown-elf
 picolibc-riscv64-unknown-elf qemu-system-arm socat dpkg-dev tshark make gcc python3-venv
 python3-dev xz-utils gpgv debian-archive-keyring chromium-headless-shell"

say() { printf '[bootstrap] %s\n' "$*"; }
die() { printf '[bootstrap] ERROR: %s\n' "$*" >&2; exit 1; }

# timed "what" command... : run a step with its output in build/logs/bootstrap.log, say how
# long it took; on failure show the end of that output and return the command's status.
timed() {
    local what=$1; shift
    local t0=$SECONDS rc=0
    mkdir -p "$BUILD/logs"
    say "$what ..."
    echo "### $what" >> "$BUILD/logs/bootstrap.log"
    "$@" >> "$BUILD/logs/bootstrap.log" 2>&1 || rc=$?
    if [ $rc -ne 0 ]; then
        tail -n 25 "$BUILD/logs/bootstrap.log" >&2
        say "$what: FAILED (exit $rc); full log: build/logs/bootstrap.log"
        return $rc
    fi
    say "$what: done in $((SECONDS - t0)) s"
}

missing_debian_packages() {
    local p missing=""
    for p in $DEBIAN_PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
            || missing="$missing $p"
    done
    echo "$missing"
}

install_debian() {
    local missing
    missing=$(missing_debian_packages)
    if [ -z "$missing" ]; then
        say "Debian packages: all present"
        return
    fi
    say "Debian packages missing:$missing"
    [ "$(id -u)" = 0 ] || die "not root: install these Debian packages first:$missing"
    timed "apt-get update" apt-get update -q \
        || die "apt-get update failed: Debian's package registry is unreachable"
    # tshark asks whether non-root users may capture; answer it non-interactively.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    # shellcheck disable=SC2086
    timed "apt-get install$missing" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends $missing \
        || die "apt-get install failed for:$missing"
    missing=$(missing_debian_packages)
    [ -z "$missing" ] || die "still missing after install:$missing"
}

install_venv() {
    local stamp=$ROOT/.venv/.requirements.sha256
    local want
    want=$(sha256sum tools/requirements.txt | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv/bin/python ]; then
        say ".venv: up to date"
        return
    fi
    [ -x .venv/bin/python ] || timed "create .venv" python3 -m venv .venv \
        || die "python3 -m venv failed (Debian package python3-venv)"
    timed "pip install -r tools/requirements.txt" \
        .venv/bin/pip install -q --disable-pip-version-check -r tools/requirements.txt \
        || die "pip install failed: PyPI unreachable or a pinned version is missing"
    echo "$want" > "$stamp"
}

# The URI of the Debian archive this machine already uses, so that the private source list
# points at the same registry the machine is configured for.
debian_archive_uri() {
    local uri=""
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        uri=$(awk '/^URIs:/ {u=$2} /^Suites:/ { for (i = 2; i <= NF; i++) if ($i !~ /-/) { print u; exit } }' \
            /etc/apt/sources.list.d/debian.sources)
    fi
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        uri=$(awk '$1 == "deb" && $3 !~ /-/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' \
            /etc/apt/sources.list)
    fi
    [ -n "$uri" ] || die "cannot find the Debian archive in /etc/apt/sources.list*"
    echo "$uri"
}

fetch_micropython_source() {
    if [ -f "$MPY_SRC/.unpacked" ]; then
        say "MicroPython source: $MPY_SRC (cached)"
        return
    fi
    local apt_dir=$BUILD/apt
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/src"
    local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    [ -f "$keyring" ] || die "missing $keyring (Debian package debian-archive-keyring)"
    echo "deb-src [signed-by=$keyring] $(debian_archive_uri) $MPY_SUITE main" \
        > "$apt_dir/sources.list"
    local opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
        -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
        -o "APT::Sandbox::User=root")
    timed "apt-get update (private list: $MPY_SUITE sources)" apt-get -q "${opts[@]}" update \
        || die "could not read Debian's $MPY_SUITE source index: registry unreachable"
    (cd "$apt_dir/src" && timed "apt-get source micropython=$MPY_DEB_VERSION" \
        apt-get -q "${opts[@]}" source --download-only "micropython=$MPY_DEB_VERSION") \
        || die "could not download Debian source package micropython=$MPY_DEB_VERSION"
    rm -rf "$MPY_SRC"
    # The .dsc's maintainer signature cannot be checked without Debian's developer keyring;
    # apt-get has already checked every file against the archive's signed Sources index.
    timed "dpkg-source -x (with Debian's patches)" \
        dpkg-source -q --no-check -x "$apt_dir/src/micropython_$MPY_DEB_VERSION.dsc" "$MPY_SRC" \
        || die "dpkg-source -x failed"
    touch "$MPY_SRC/.unpacked"
}

steps=("$@")
soft_zoh=""
[ ${#steps[@]} -gt 0 ] || { steps=(debian venv mpsrc zoh); soft_zoh=--soft; }
for step in "${steps[@]}"; do
    case $step in
        debian) install_debian ;;
        venv) install_venv ;;
        mpsrc) fetch_micropython_source ;;
        zoh) tools/zoh/install.sh $soft_zoh || die "tools/zoh/install.sh failed" ;;
        *) die "unknown step '$step' (debian, venv, mpsrc, zoh)" ;;
    esac
done
