#!/usr/bin/env bash
# Validates the example's /openapi.json with openapi-spec-validator, then checks what SPEC.md
# ("OpenAPI and docs") says the tutorial port's document holds.
#
#   bash tests/openapi/validate.sh                          # builds and starts the example, stops it after
#   BASE_URL=http://127.0.0.1:8765 bash tests/openapi/validate.sh   # an app that is already running
#   OPENAPI_FILE=path/to/openapi.json bash tests/openapi/validate.sh
#   INSTALL_ONLY=1 bash tests/openapi/validate.sh           # only make the validator's venv
#
# The validator lives in a venv under ${XDG_CACHE_HOME:-~/.cache} (OPENAPI_VENV overrides it),
# made and filled on first use. PORT picks the first port tried (default 8732).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VALIDATOR_VERSION="0.9.0"
VENV="${OPENAPI_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/auth-core/openapi-validator-$VALIDATOR_VERSION}"
WAIT_SECONDS="${WAIT_SECONDS:-120}"
PYTHON="${PYTHON:-python3}"

log() { printf '[openapi] %s\n' "$*" >&2; }

server_pid=""
work="$(mktemp -d -t openapi-validate.XXXXXX)"
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  return 0
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The validator, pinned, in its own venv.
if ! "$VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('openapi-spec-validator') != '$VALIDATOR_VERSION')" 2>/dev/null; then
  log "installing openapi-spec-validator==$VALIDATOR_VERSION into $VENV"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "openapi-spec-validator==$VALIDATOR_VERSION"
fi
# INSTALL_ONLY=1: the venv alone, for tests that validate documents of their own (.ci/run).
if [ -n "${INSTALL_ONLY:-}" ]; then
  exit 0
fi

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

doc="$work/openapi.json"
if [ -n "${OPENAPI_FILE:-}" ]; then
  cp "$OPENAPI_FILE" "$doc"
  source_name="$OPENAPI_FILE"
else
  if [ -z "${BASE_URL:-}" ]; then
    port="${PORT:-8732}"
    for _ in $(seq 20); do port_is_free "$port" && break; port=$((port + 1)); done
    port_is_free "$port" || { log "no free port from ${PORT:-8732} on"; exit 1; }
    BASE_URL="http://127.0.0.1:$port"

    log "building the example (cargo build --example oauth2_scopes)"
    build_json="$(cd "$ROOT" && cargo build --example oauth2_scopes --message-format=json-render-diagnostics)"
    exe="$(printf '%s\n' "$build_json" | sed -n 's/.*"target":{[^}]*"name":"oauth2_scopes"[^}]*}.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)"
    [ -x "$exe" ] || { log "could not find the built example's executable"; exit 1; }

    log "starting $exe on $BASE_URL"
    BIND_ADDR="127.0.0.1:$port" \
      SECRET_KEY="openapi-test-secret-key-0123456789abcdef" \
      RUST_LOG="${RUST_LOG:-warn}" \
      "$exe" >"$work/server.log" 2>&1 &
    server_pid=$!
  fi
  BASE_URL="${BASE_URL%/}"
  source_name="$BASE_URL/openapi.json"

  deadline=$((SECONDS + WAIT_SECONDS))
  until curl -fsS -o "$doc" --max-time 5 "$source_name" 2>/dev/null; do
    if [ -n "$server_pid" ] && ! kill -0 "$server_pid" 2>/dev/null; then
      log "the example exited before serving /openapi.json:"; tail -n 40 "$work/server.log" >&2; exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "$source_name did not answer 2xx within ${WAIT_SECONDS}s"
      curl -sS -o /dev/null -w 'last status: %{http_code}\n' --max-time 5 "$source_name" >&2 || true
      [ -n "$server_pid" ] && tail -n 40 "$work/server.log" >&2
      exit 1
    fi
    sleep 0.5
  done
fi
log "validating $source_name ($(wc -c <"$doc") bytes)"

passed=0
failed=0
check() { # name, command...
  local name="$1"; shift
  if "$@"; then echo "ok - $name"; passed=$((passed + 1)); else echo "not ok - $name"; failed=$((failed + 1)); fi
}

check "openapi-spec-validator $VALIDATOR_VERSION accepts the document" \
  "$VENV/bin/openapi-spec-validator" --validation-errors all "$doc"
check "the document holds what SPEC.md says for the tutorial port" \
  "$VENV/bin/python" "$HERE/spec_checks.py" "$doc"

# examples/notes' document, as its reviewed snapshot holds it (tests/notes.rs fails when the
# document and the snapshot differ): policies, 401/403/404, implied scopes.
notes_snapshot="$ROOT/tests/snapshots/notes__notes_openapi.snap"
if [ -z "${OPENAPI_FILE:-}" ] && [ -f "$notes_snapshot" ]; then
  "$PYTHON" -c 'import sys; print(open(sys.argv[1]).read().split("\n---\n", 1)[1])' "$notes_snapshot" >"$work/notes.json"
  check "openapi-spec-validator $VALIDATOR_VERSION accepts examples/notes' document" \
    "$VENV/bin/openapi-spec-validator" --validation-errors all "$work/notes.json"
fi

echo "openapi: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
