#!/usr/bin/env bash
# The README, executed: builds the examples, then runs every ```sh session of README.md in one
# shell, top to bottom, and compares each output the README shows with what the command printed
# (tests/readme/sessions.py says exactly how). A changed answer, a miscounted loop or a command
# that no longer works fails it. CI runs it (.ci/run).
#
#   bash tests/readme/run.sh
#
# Needs curl, python3, node >= 20 with npm (the resource_server session starts tests/oidc's
# provider), and DATABASE_URL_POSTGRES for the PostgreSQL session (skipped without it, a failure
# with REQUIRE_SERVICES=1). Ports are free ones, not the documented ones; everything runs in a
# temporary directory, stopped on exit.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
log() { printf '[readme] %s\n' "$*" >&2; }

if [ -z "${EXAMPLES_DIR:-}" ]; then  # EXAMPLES_DIR: already built examples, for a quicker rerun
  log "building the examples (cargo build -p auth-examples --examples --all-features)"
  build_json="$(cd "$ROOT" && cargo build -p auth-examples --examples --all-features --message-format=json-render-diagnostics)"
  exe="$(printf '%s\n' "$build_json" | sed -n 's/.*"target":{[^}]*"name":"users"[^}]*}.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)"
  [ -x "$exe" ] || { log "could not find the built examples"; exit 1; }
  EXAMPLES_DIR="$(dirname "$exe")"
fi

EXAMPLES_DIR="$EXAMPLES_DIR" exec python3 "$HERE/sessions.py"
