#!/usr/bin/env bash
# examples/users' social login in headless Chromium (tests/browser/social_login.test.mjs): starts
# the test identity provider (tests/oidc/idp.mjs, panva's oidc-provider) on a free port, then
# tests/browser/run.sh with examples/users configured for it (OAUTH_ISSUER, OAUTH_CLIENT_ID=web,
# OAUTH_CLIENT_SECRET=web-secret, OAUTH_ASSOCIATE_BY_EMAIL=1, a fresh SQLite database).
#
#   bash tests/browser/social_login.sh
#
# Needs what run.sh needs, and tests/oidc's packages (installed here with npm ci if missing).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
log() { printf '[social-login] %s\n' "$*" >&2; }

if [ ! -f "$ROOT/tests/oidc/node_modules/oidc-provider/package.json" ]; then
  (cd "$ROOT/tests/oidc" && npm ci --ignore-scripts --no-audit --no-fund)
fi

work="$(mktemp -d -t social-login.XXXXXX)"
idp_pid=""
cleanup() {
  [ -n "$idp_pid" ] && kill "$idp_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
idp_port=4731
for _ in $(seq 20); do port_is_free "$idp_port" && break; idp_port=$((idp_port + 1)); done
# A pipe on stdin would end the provider with this script; /dev/null makes it run until killed.
node "$ROOT/tests/oidc/idp.mjs" --port "$idp_port" </dev/null >"$work/idp.log" 2>&1 &
idp_pid=$!
for _ in $(seq 100); do grep -q '^ready ' "$work/idp.log" && break; sleep 0.2; done
grep -q '^ready ' "$work/idp.log" || { log "the provider did not start:"; cat "$work/idp.log" >&2; exit 1; }
IDP_URL="http://127.0.0.1:$idp_port"
log "provider on $IDP_URL"

export IDP_URL OAUTH_ISSUER="$IDP_URL" OAUTH_CLIENT_ID=web OAUTH_CLIENT_SECRET=web-secret OAUTH_ASSOCIATE_BY_EMAIL=1
export DATABASE_URL="sqlite://$work/users.sqlite"
EXAMPLE=users TEST_FILE=social_login.test.mjs PORT="${PORT:-8741}" bash "$HERE/run.sh"
