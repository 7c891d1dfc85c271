#!/usr/bin/env bash
# An example in headless Chromium: by default Swagger UI at /docs of examples/oauth2_scopes
# (tests/browser/swagger.test.mjs).
#
#   bash tests/browser/run.sh                  # builds and starts the example, tests it, stops it
#   BASE_URL=http://127.0.0.1:8765 REFERENCE_CDN_SHIM=1 bash tests/browser/run.sh
#                                              # tests an app that is already running (no build)
#   EXAMPLE=chat TEST_FILE=chat.test.mjs TOKEN_LIFETIME=30 bash tests/browser/run.sh
#                                              # examples/chat (its server gets TOKEN_LIFETIME too)
#
# Needs node >= 20 with npm, and Debian's chromium at /usr/bin/chromium (CHROMIUM overrides it).
# PORT picks the first port tried (default 8731); screenshots land in tests/browser/out/.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WAIT_SECONDS="${WAIT_SECONDS:-120}"
EXAMPLE="${EXAMPLE:-oauth2_scopes}"
TEST_FILE="${TEST_FILE:-swagger.test.mjs}"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
export CHROMIUM

log() { printf '[browser] %s\n' "$*" >&2; }

command -v node >/dev/null || { log "node is missing (node >= 20 and npm are needed)"; exit 1; }
command -v npm >/dev/null || { log "npm is missing"; exit 1; }
[ -x "$CHROMIUM" ] || { log "no browser at $CHROMIUM: apt-get update && apt-get install -y chromium"; exit 1; }

if [ ! -d "$HERE/node_modules/playwright-core" ]; then
  log "npm ci in $HERE"
  # --ignore-scripts: nothing here needs an install script, and one of them only phones home.
  (cd "$HERE" && npm ci --ignore-scripts --no-audit --no-fund)
fi

server_pid=""
server_log=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
  fi
  [ -n "$server_log" ] && rm -f "$server_log"
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if [ -z "${BASE_URL:-}" ]; then
  port="${PORT:-8731}"
  for _ in $(seq 20); do port_is_free "$port" && break; port=$((port + 1)); done
  port_is_free "$port" || { log "no free port from ${PORT:-8731} on"; exit 1; }
  BASE_URL="http://127.0.0.1:$port"

  log "building the example (cargo build --example $EXAMPLE)"
  build_json="$(cd "$ROOT" && cargo build --example "$EXAMPLE" --message-format=json-render-diagnostics)"
  exe="$(printf '%s\n' "$build_json" | sed -n 's/.*"target":{[^}]*"name":"'"$EXAMPLE"'"[^}]*}.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)"
  [ -x "$exe" ] || { log "could not find the built example's executable"; exit 1; }

  server_log="$(mktemp -t "$EXAMPLE-browser.XXXXXX.log")"
  log "starting $exe on $BASE_URL (log: $server_log)"
  BIND_ADDR="127.0.0.1:$port" \
    SECRET_KEY="browser-test-secret-key-0123456789abcdef" \
    REFRESH_SECRET_KEY="browser-test-refresh-key-0123456789abcdef" \
    RUST_LOG="${RUST_LOG:-info}" \
    "$exe" >"$server_log" 2>&1 &
  server_pid=$!

  deadline=$((SECONDS + WAIT_SECONDS))
  until curl -fsS -o /dev/null --max-time 5 "$BASE_URL/openapi.json"; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      log "the example exited before serving /openapi.json:"; tail -n 40 "$server_log" >&2; exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "$BASE_URL/openapi.json did not answer 2xx within ${WAIT_SECONDS}s:"
      curl -sS -o /dev/null -w 'last status: %{http_code}\n' --max-time 5 "$BASE_URL/openapi.json" >&2 || true
      tail -n 40 "$server_log" >&2; exit 1
    fi
    sleep 0.5
  done
  log "the example answers on $BASE_URL"
fi
export BASE_URL

log "node --test $TEST_FILE against $BASE_URL"
[ -z "${OUT_DIR:-}" ] && rm -rf "$HERE/out" # screenshots of this run only
tap="$(mktemp -t browser-test.XXXXXX.tap)"
status=0
(cd "$HERE" && node --test --test-reporter=tap "$TEST_FILE") | tee "$tap" || status=$?
passed="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tap" | tail -n 1)"
failed="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tap" | tail -n 1)"
rm -f "$tap"
if [ "$status" -ne 0 ] && [ -n "$server_log" ]; then
  log "the example's log (last 40 lines):"; tail -n 40 "$server_log" >&2
fi
# The plain closing line, whatever reporter a reader knows.
echo "browser: ${passed:-0} passed, ${failed:-0} failed"
if [ "$status" -eq 0 ] && [ "${passed:-0}" -eq 0 ]; then log "no test ran"; status=1; fi
exit "$status"
