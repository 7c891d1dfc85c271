#!/usr/bin/env bash
# examples/users under load, its release binary on a fresh SQLite database:
#   1. register throughput: wrk posting `POST /auth/register` with a new address each time
#      (argon2id hash + insert);
#   2. login throughput: wrk posting `POST /auth/jwt/login` for one user (argon2id verify +
#      throttle bookkeeping + JWT);
#   3. forgot-password timing: the known and an unknown address, alternately, with curl;
#   4. the login flood: `GET /authenticated-route` p99, idle and while clients log in back to
#      back (bench/src/bin/login_flood.rs), against the SPEC's budget of 3x.
#
#   bench/users.sh        # ROUNDS=3 DURATION=10 CONNECTIONS=8 THREADS=2, then the flood (ROUNDS, IDLE=5, FLOOD=5, LOGINS=8, RATE=200)
#
# Needs wrk (apt-get install -y wrk) and curl. Bounded: every phase is timed, and the server is
# stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-8}
THREADS=${THREADS:-2}
IDLE=${IDLE:-5}
FLOOD=${FLOOD:-5}
LOGINS=${LOGINS:-8}
RATE=${RATE:-200}
ADDR=${ADDR:-127.0.0.1:18095}
export SECRET_KEY=${SECRET_KEY:-bench-only-secret-0123456789abcdef0123456789abcdef}
export RUST_LOG=${RUST_LOG:-warn}

command -v wrk >/dev/null || { echo "wrk not found (apt-get install -y wrk)" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl not found" >&2; exit 1; }

if [ "${NO_BUILD:-0}" != 1 ]; then
    cargo build --release -p auth-examples --example users
    cargo build --release -p auth-bench --bin login_flood
fi
target=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')

work=$(mktemp -d)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

printf 'wrk.method = "POST"\nwrk.body = "username=bench%%40example.com&password=bench%%20password"\nwrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n' >"$work/login.lua"
cat >"$work/register.lua" <<'LUA'
-- A new address per request: thread id, a per-thread counter and the run's nonce.
local counter = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  nonce = args[1] or "x"
end
function request()
  counter = counter + 1
  local body = string.format('{"email": "bench-%s-%d-%d@example.com", "password": "bench password"}', nonce, tid, counter)
  return wrk.format("POST", "/auth/register", { ["Content-Type"] = "application/json" }, body)
end
LUA

BIND_ADDR=$ADDR DATABASE_URL="sqlite://$work/users.sqlite" "$target/release/examples/users" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -s -o /dev/null --max-time 1 "http://$ADDR/openapi.json" && break; sleep 0.1; done
curl -s -o /dev/null --max-time 1 "http://$ADDR/openapi.json" || { echo "the example did not start:" >&2; cat "$work/server.log" >&2; exit 1; }
curl -s -o /dev/null -X POST "http://$ADDR/auth/register" -H 'content-type: application/json' \
    -d '{"email": "bench@example.com", "password": "bench password"}'

echo "$(nproc) cores; examples/users' Passwords hashes at most as many passwords at once as there are cores"
rate_of() { sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p'; }
errors_of() { sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p'; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
registers=()
logins=()
for round in $(seq "$ROUNDS"); do
    out=$(timeout $((DURATION + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s -s "$work/register.lua" \
        "http://$ADDR" -- "r$round$$")
    r=$(printf '%s\n' "$out" | rate_of)
    e=$(printf '%s\n' "$out" | errors_of)
    [ -n "$e" ] && { echo "register round $round: $e non-2xx answers" >&2; printf '%s\n' "$out" >&2; exit 1; }
    registers+=("$r")
    out=$(timeout $((DURATION + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s \
        -s "$work/login.lua" \
        "http://$ADDR/auth/jwt/login")
    l=$(printf '%s\n' "$out" | rate_of)
    e=$(printf '%s\n' "$out" | errors_of)
    [ -n "$e" ] && { echo "login round $round: $e non-2xx answers" >&2; printf '%s\n' "$out" >&2; exit 1; }
    logins+=("$l")
    echo "round $round: register $r/s, login $l/s ($CONNECTIONS connections, ${DURATION}s each)"
done
echo "register: median $(printf '%s\n' "${registers[@]}" | median)/s (${registers[*]})"
echo "login:    median $(printf '%s\n' "${logins[@]}" | median)/s (${logins[*]})"

echo "forgot-password, known vs unknown address (alternating, ${TIMING:=300} requests each, curl time_total):"
: >"$work/known"; : >"$work/unknown"
for _ in $(seq "$TIMING"); do
    for who in known unknown; do
        email=$([ "$who" = known ] && echo bench@example.com || echo nobody@example.com)
        curl -s -o /dev/null -w '%{time_total}\n' -X POST "http://$ADDR/auth/forgot-password" \
            -H 'content-type: application/json' -d "{\"email\": \"$email\"}" >>"$work/$who"
    done
done
pct() { sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { i = int(NR * p / 100); if (i < 1) i = 1; printf "%.3f", v[i] * 1000 }'; }
for who in known unknown; do echo "  $who: p50 $(pct "$work/$who" 50) ms, p90 $(pct "$work/$who" 90) ms, p99 $(pct "$work/$who" 99) ms"; done

echo "login flood against GET /authenticated-route:"
timeout $((60 + ROUNDS * (IDLE + FLOOD + 25))) "$target/release/login_flood" --base "http://$ADDR" \
    --login-path /auth/jwt/login --probe-path /authenticated-route --scope "" \
    --username bench@example.com --password "bench password" \
    --rounds "$ROUNDS" --idle "$IDLE" --flood "$FLOOD" --logins "$LOGINS" --rate "$RATE"
