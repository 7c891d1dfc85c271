#!/usr/bin/env bash
# Login flood: the p99 of `GET /status/` on the tutorial port (the example's release binary),
# idle and while clients post `POST /token` logins back to back (argon2id), alternating, several
# rounds. The driver is `bench/src/bin/login_flood.rs`; see its docs for the method.
#
#   bench/login_flood.sh                          # 3 rounds: 5 s idle, 5 s flood, 8 login clients
#   ROUNDS=5 IDLE=5 FLOOD=10 LOGINS=16 RATE=200 bench/login_flood.sh
#
# Bounded (every phase is timed; the whole run is killed after TIMEOUT seconds) and the server is
# stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
IDLE=${IDLE:-5}
FLOOD=${FLOOD:-5}
LOGINS=${LOGINS:-8}
RATE=${RATE:-200}
ADDR=${ADDR:-127.0.0.1:18090}
TIMEOUT=${TIMEOUT:-$((60 + ROUNDS * (IDLE + FLOOD + 25)))}
export SECRET_KEY=${SECRET_KEY:-bench-only-secret-0123456789abcdef0123456789abcdef}
export RUST_LOG=${RUST_LOG:-warn}

command -v curl >/dev/null || { echo "curl not found" >&2; exit 1; }

if [ "${NO_BUILD:-0}" != 1 ]; then
    cargo build --release -p auth-examples --example oauth2_scopes
    cargo build --release -p auth-bench --bin login_flood
fi
target=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')

log=$(mktemp)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -f "$log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

BIND_ADDR=$ADDR "$target/release/examples/oauth2_scopes" >"$log" 2>&1 &
server=$!
for _ in $(seq 100); do
    curl -s -o /dev/null --max-time 1 "http://$ADDR/" && break
    sleep 0.1
done
curl -s -o /dev/null --max-time 1 "http://$ADDR/" || { echo "the example did not start:" >&2; cat "$log" >&2; exit 1; }

echo "$(nproc) cores; the example's Passwords hashes at most as many passwords at once as there are cores"
timeout "$TIMEOUT" "$target/release/login_flood" --base "http://$ADDR" --rounds "$ROUNDS" --idle "$IDLE" \
    --flood "$FLOOD" --logins "$LOGINS" --rate "$RATE"
