#!/usr/bin/env bash
# step.sh "what" command... : run a build step, saying what it does and how long it took.
# The step's own output goes to build/logs/<slug>.log and is shown only if it fails.
set -uo pipefail
what=$1; shift
mkdir -p build/logs
log=build/logs/$(printf '%s' "$what" | tr -c 'A-Za-z0-9' '_' | cut -c1-60).log
t0=$(date +%s)
printf '[build] %s ...\n' "$what"
if "$@" >"$log" 2>&1; then
    printf '[build] %s: done in %s s\n' "$what" "$(( $(date +%s) - t0 ))"
else
    rc=$?
    tail -n 40 "$log" >&2
    printf '[build] %s: FAILED (exit %s); full log: %s\n' "$what" "$rc" "$log" >&2
    exit "$rc"
fi
