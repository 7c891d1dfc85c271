#!/usr/bin/env bash
# examples/users from the command line, as the README shows it: builds the example, creates the
# first superuser with `create-superuser`, serves it, runs the README's curl session and checks
# each answer, then validates its /openapi.json with openapi-spec-validator.
#
#   bash tests/users/example.sh        # PORT picks the first port tried (default 8743)
#
# Needs curl and the users tests' venv (tests/users/python.sh makes it). Everything runs in a
# temporary directory, stopped and removed on exit.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
log() { printf '[users-example] %s\n' "$*" >&2; }

PY="$(bash "$HERE/python.sh")"
work="$(mktemp -d -t users-example.XXXXXX)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_is_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port="${PORT:-8743}"
for _ in $(seq 20); do port_is_free "$port" && break; port=$((port + 1)); done
B="http://127.0.0.1:$port"

log "building the example (cargo build --example users)"
build_json="$(cd "$ROOT" && cargo build --example users --message-format=json-render-diagnostics)"
exe="$(printf '%s\n' "$build_json" | sed -n 's/.*"target":{[^}]*"name":"users"[^}]*}.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)"
[ -x "$exe" ] || { log "could not find the built example"; exit 1; }

export BIND_ADDR="127.0.0.1:$port" DATABASE_URL="sqlite://$work/users.sqlite" SECRET_KEY="example-test-secret-0123456789abcdef" \
  PUBLIC_URL="http://localhost:3000" NO_COLOR=1 RUST_LOG=info

passed=0
failed=0
check() { # name, expected, actual
  if [ "$2" = "$3" ]; then echo "ok - $1"; passed=$((passed + 1)); else echo "not ok - $1"; echo "  expected: $2"; echo "  actual:   $3"; failed=$((failed + 1)); fi
}
contains() { # name, needle, haystack
  case "$3" in *"$2"*) echo "ok - $1"; passed=$((passed + 1)) ;; *) echo "not ok - $1"; echo "  missing: $2"; echo "  in:      $3"; failed=$((failed + 1)) ;; esac
}

# The first superuser, from the command line; the password from the environment, then stdin.
out="$(SUPERUSER_PASSWORD='admin password' "$exe" create-superuser admin@example.com 2>>"$work/cli.log")"
contains "create-superuser (SUPERUSER_PASSWORD)" "Created superuser" "$out"
out="$(printf 'second admin password\n' | "$exe" create-superuser second.admin@example.com 2>>"$work/cli.log")"
contains "create-superuser (stdin)" "<second.admin@example.com>" "$out"
if out="$(SUPERUSER_PASSWORD='admin password' "$exe" create-superuser ADMIN@example.com 2>&1)"; then
  check "create-superuser refuses a taken address" "failure" "success"
else
  contains "create-superuser refuses a taken address" "already exists" "$out"
fi

"$exe" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 200); do curl -fsS -o /dev/null "$B/openapi.json" 2>/dev/null && break; sleep 0.1; done
curl -fsS -o /dev/null "$B/openapi.json" || { log "the example did not start:"; cat "$work/server.log" >&2; exit 1; }

J='content-type: application/json'
# --- the README's session ----------------------------------------------------------------------
out="$(curl -s -X POST "$B/auth/register" -H "$J" -d '{"email": "king.arthur@camelot.bt", "password": "guinevere", "full_name": "Arthur"}')"
contains "register" '"email":"king.arthur@camelot.bt","is_active":true,"is_superuser":false,"is_verified":false,"full_name":"Arthur"}' "$out"
out="$(curl -s -X POST "$B/auth/register" -H "$J" -d '{"email": "King.Arthur@camelot.bt", "password": "guinevere"}')"
check "register the same address in another case" '{"detail":"REGISTER_USER_ALREADY_EXISTS"}' "$out"
TOKEN=$(curl -s -X POST "$B/auth/jwt/login" -d 'username=king.arthur@camelot.bt&password=guinevere' | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
out="$(curl -s "$B/authenticated-route" -H "Authorization: Bearer $TOKEN")"
check "authenticated route" '{"message":"Hello king.arthur@camelot.bt!"}' "$out"
out="$(curl -s -X PATCH "$B/users/me" -H "Authorization: Bearer $TOKEN" -H "$J" -d '{"full_name": "King Arthur", "is_superuser": true}')"
contains "patch me (is_superuser ignored)" '"is_superuser":false,"is_verified":false,"full_name":"King Arthur"' "$out"
out="$(curl -s -o /dev/null -w '%{http_code}' "$B/users/00000000-0000-0000-0000-000000000000" -H "Authorization: Bearer $TOKEN")"
check "a user who is not a superuser on /users/{id}" "403" "$out"
out="$(curl -s -X POST "$B/auth/forgot-password" -H "$J" -d '{"email": "king.arthur@camelot.bt"}' -w ' %{http_code}')"
check "forgot password" "null 202" "$out"
for _ in $(seq 50); do grep -q 'reset-password?token=' "$work/server.log" && break; sleep 0.1; done
RESET=$(grep -o 'reset-password?token=[A-Za-z0-9._-]*' "$work/server.log" | tail -n 1 | cut -d= -f2)
[ -n "$RESET" ] || { log "no reset link in the log"; cat "$work/server.log" >&2; exit 1; }
out="$(curl -s -X POST "$B/auth/reset-password" -H "$J" -d "{\"token\": \"$RESET\", \"password\": \"excalibur\"}" -w ' %{http_code}')"
check "reset password" "null 200" "$out"
out="$(curl -s -X POST "$B/auth/reset-password" -H "$J" -d "{\"token\": \"$RESET\", \"password\": \"excalibur2\"}")"
check "the same reset token again" '{"detail":"RESET_PASSWORD_BAD_TOKEN"}' "$out"
out="$(curl -si -X POST "$B/auth/cookie/login" -d 'username=king.arthur@camelot.bt&password=excalibur' | tr -d '\r')"
contains "cookie login" "HTTP/1.1 204 No Content" "$out"
contains "cookie login sets the cookie" "; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=3600" "$out"
COOKIE=$(printf '%s\n' "$out" | sed -n 's/^set-cookie: \([^;]*\);.*/\1/p')
out="$(curl -s "$B/users/me" -H "Cookie: $COOKIE")"
contains "me through the cookie" '"email":"king.arthur@camelot.bt"' "$out"
ADMIN=$(curl -s -X POST "$B/auth/jwt/login" -d 'username=admin@example.com&password=admin%20password' | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
ID=$(curl -s "$B/users/me" -H "Cookie: $COOKIE" | sed 's/.*"id":"\([^"]*\)".*/\1/')
out="$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$B/users/$ID" -H "Authorization: Bearer $ADMIN")"
check "the superuser deletes the user" "204" "$out"
out="$(curl -s "$B/users/me" -H "Cookie: $COOKIE" -w ' %{http_code}')"
check "the deleted user's cookie" '{"detail":"Unauthorized"} 401' "$out"
for _ in 1 2 3 4 5 6; do curl -s -o /dev/null -X POST "$B/auth/jwt/login" -d 'username=admin@example.com&password=wrong'; done
out="$(curl -si -X POST "$B/auth/jwt/login" -d 'username=admin@example.com&password=wrong' | tr -d '\r')"
contains "throttled after 5 failures" "retry-after: " "$out"
contains "throttled: 429" '{"detail":"LOGIN_TOO_MANY_ATTEMPTS"}' "$out"
out="$(curl -s -o /dev/null -w '%{http_code}' "$B/docs")"
check "Swagger UI at /docs" "200" "$out"

# --- the OpenAPI document ----------------------------------------------------------------------
curl -fsS -o "$work/openapi.json" "$B/openapi.json"
if "$(dirname "$PY")/openapi-spec-validator" --validation-errors all "$work/openapi.json" >"$work/validator.log" 2>&1; then
  echo "ok - openapi-spec-validator accepts /openapi.json"; passed=$((passed + 1))
else
  echo "not ok - openapi-spec-validator accepts /openapi.json"; cat "$work/validator.log"; failed=$((failed + 1))
fi

echo "users example: $passed passed, $failed failed"
if [ "$failed" -ne 0 ]; then log "the server's log:"; tail -n 40 "$work/server.log" >&2; fi
[ "$failed" -eq 0 ]
