#!/usr/bin/env bash
# Install the foreign ZigBee implementations the host tests run against into
# tools/zoh/node_modules from the npm registry, exactly as pinned in tools/zoh/package.json
# and package-lock.json (npm ci: the lock file's versions and integrity hashes, no install
# scripts, so serialport's native bindings are never built: neither test needs them):
#   zigbee-on-host    the foreign trust centre of tests/host/test_han_zoh.py (issue 11);
#   zigbee-herdsman   its ZCL parser (dist/zspec/zcl) for tests/host/test_han_zcl_herdsman.py
#                     (issue 12). package.json's "overrides" gives it our zigbee-on-host:
#                     the registry has no 0.3.2 for its ^0.3.2, and its ZCL part does not
#                     use that package.
# Idempotent: nothing is done when the installed tree matches the lock file.
# Usage: tools/zoh/install.sh [--soft]
#   --soft  (bootstrap's default run) no Node.js >= 20.19 / npm: say so and exit 0;
#           without it that is an error.
set -euo pipefail

cd "$(dirname "$0")"
ZOH=$PWD
NODE_MIN_MAJOR=20
NODE_MIN_MINOR=19  # zigbee-on-host's engines: ^20.19.0 || >=22.12.0
STAMP=$ZOH/node_modules/.package-lock.sha256

say() { printf '[zoh] %s\n' "$*"; }
soft=0
[ "${1:-}" = "--soft" ] && soft=1
missing() {
    if [ $soft = 1 ]; then
        say "SKIPPED: $* (tests/host/test_han_zoh.py and test_han_zcl_herdsman.py will fail until tools/zoh/install.sh runs)"
        exit 0
    fi
    printf '[zoh] ERROR: %s\n' "$*" >&2
    exit 1
}

command -v node >/dev/null || missing "node (Node.js >= $NODE_MIN_MAJOR.$NODE_MIN_MINOR) not on PATH; Debian bookworm's nodejs is 18: install a newer nodejs package"
command -v npm >/dev/null || missing "npm not on PATH (it comes with the nodejs package)"
ver=$(node --version)
major=${ver#v}; major=${major%%.*}
minor=${ver#v*.}; minor=${minor%%.*}
if [ "$major" -lt $NODE_MIN_MAJOR ] || { [ "$major" -eq $NODE_MIN_MAJOR ] && [ "$minor" -lt $NODE_MIN_MINOR ]; }; then
    missing "Node.js $ver is too old for zigbee-on-host (>= $NODE_MIN_MAJOR.$NODE_MIN_MINOR)"
fi

want=$(sha256sum package-lock.json | cut -d' ' -f1)
# Every dependency of package.json whose installed version is not the pinned one ("" when
# all match).
mismatch() {
    node -e '
        const deps = require("./package.json").dependencies;
        const bad = [];
        for (const [name, pin] of Object.entries(deps)) {
            let have = "none";
            try { have = require("./node_modules/" + name + "/package.json").version; } catch {}
            if (have !== pin) bad.push(name + " " + have + " (pinned " + pin + ")");
        }
        process.stdout.write(bad.join(", "));'
}
pinned=$(node -p 'Object.entries(require("./package.json").dependencies).map(([n, v]) => n + " " + v).join(", ")')
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -z "$(mismatch)" ]; then
    say "$pinned: up to date (node $ver)"
    exit 0
fi
say "npm ci: $pinned from $(npm config get registry) (node $ver) ..."
t0=$SECONDS
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
bad=$(mismatch)
[ -z "$bad" ] || { printf '[zoh] ERROR: installed %s\n' "$bad" >&2; exit 1; }
echo "$want" > "$STAMP"
say "$pinned installed in $((SECONDS - t0)) s"
