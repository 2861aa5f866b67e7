#!/usr/bin/env bash
# Install zigbee-on-host (the foreign trust centre of tests/host/test_han_zoh.py) into
# tools/zoh/node_modules from the npm registry, exactly as pinned in tools/zoh/package.json
# and package-lock.json (npm ci: the lock file's version and integrity hash, no install
# scripts). Idempotent: nothing is done when the installed tree matches the lock file.
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
        say "SKIPPED: $* (tests/host/test_han_zoh.py will fail until tools/zoh/install.sh runs)"
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
pinned=$(node -p 'require("./package.json").dependencies["zigbee-on-host"]')
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] \
        && [ "$(node -p 'try { require("./node_modules/zigbee-on-host/package.json").version } catch { "" }')" = "$pinned" ]; then
    say "zigbee-on-host $pinned: up to date (node $ver)"
    exit 0
fi
say "npm ci: zigbee-on-host $pinned from $(npm config get registry) (node $ver) ..."
t0=$SECONDS
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
have=$(node -p 'require("./node_modules/zigbee-on-host/package.json").version')
[ "$have" = "$pinned" ] || { printf '[zoh] ERROR: installed %s, pinned %s\n' "$have" "$pinned" >&2; exit 1; }
echo "$want" > "$STAMP"
say "zigbee-on-host $have installed in $((SECONDS - t0)) s"
