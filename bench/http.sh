#!/usr/bin/env bash
# HTTP load: `GET /users/me/items/` on the tutorial port (the example's release binary) against
# the hand-written baseline (`bench/src/bin/baseline.rs`), both on loopback, driven by wrk,
# alternating port, baseline, port, baseline... Prints req/s and p99 of each run, and the ratios.
#
#   bench/http.sh                       # 3 rounds of 5 s each, 16 connections
#   ROUNDS=5 DURATION=10 CONNECTIONS=32 bench/http.sh
#   BASELINE_JWT=auth-core bench/http.sh  # the baseline decodes with auth-core's JwtStrategy too
#
# Needs wrk (`apt-get install -y wrk`) and curl. Bounded: every step has a timeout, and both
# servers are stopped on exit, whatever the exit.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-1}
WARMUP=${WARMUP:-2}
PORT_ADDR=${PORT_ADDR:-127.0.0.1:18080}
BASELINE_ADDR=${BASELINE_ADDR:-127.0.0.1:18081}
export SECRET_KEY=${SECRET_KEY:-bench-only-secret-0123456789abcdef0123456789abcdef}
# Both servers log as the example does (fmt subscriber + TraceLayer), filtered to warnings: the
# example's default (`tower_http=debug`, two lines per request) would measure the terminal.
export RUST_LOG=${RUST_LOG:-warn}
# How the baseline decodes tokens: `jsonwebtoken` (jsonwebtoken::decode, as one writes it by hand)
# or `auth-core` (the port's own JwtStrategy, so that only the dependency chain differs).
export BASELINE_JWT=${BASELINE_JWT:-jsonwebtoken}

command -v wrk >/dev/null || { echo "wrk not found; install it with: apt-get install -y wrk" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl not found" >&2; exit 1; }

if [ "${NO_BUILD:-0}" != 1 ]; then
    cargo build --release -p auth-examples --example oauth2_scopes
    cargo build --release -p auth-bench --bin baseline
fi
target=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')

logs=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$logs"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

BIND_ADDR=$PORT_ADDR "$target/release/examples/oauth2_scopes" >"$logs/port.log" 2>&1 &
pids+=($!)
BIND_ADDR=$BASELINE_ADDR "$target/release/baseline" >"$logs/baseline.log" 2>&1 &
pids+=($!)

wait_up() {
    for _ in $(seq 100); do
        curl -s -o /dev/null --max-time 1 "http://$1/" && return 0
        sleep 0.1
    done
    echo "nothing answers on $1; its log:" >&2
    cat "$logs"/*.log >&2
    exit 1
}
wait_up "$PORT_ADDR"
wait_up "$BASELINE_ADDR"

# The first login upgrades johndoe's bcrypt hash to argon2id; it is not measured here.
token=$(curl -sf --max-time 30 -X POST "http://$PORT_ADDR/token" -d 'username=johndoe&password=secret&scope=me items' \
    | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[ -n "$token" ] || { echo "login failed" >&2; exit 1; }
port_body=$(curl -sf --max-time 5 -H "Authorization: Bearer $token" "http://$PORT_ADDR/users/me/items/")
baseline_body=$(curl -sf --max-time 5 -H "Authorization: Bearer $token" "http://$BASELINE_ADDR/users/me/items/")
if [ "$port_body" != "$baseline_body" ]; then
    echo "the two apps answer differently: port $port_body, baseline $baseline_body" >&2
    exit 1
fi
echo "both answer: $port_body"

# load NAME ADDR SECONDS: prints "req/s p99_ms".
load() {
    local out
    out=$(timeout $(($3 + 15)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"$3"s --timeout 5s --latency \
        -H "Authorization: Bearer $token" "http://$2/users/me/items/")
    if grep -qE "Non-2xx|Socket errors" <<<"$out"; then
        echo "$1: errors during the run:" >&2
        echo "$out" >&2
        exit 1
    fi
    awk '
        /^Requests\/sec:/ { rps = $2 }
        $1 == "99%" {
            v = $2
            if (v ~ /us$/) { sub(/us$/, "", v); v = v / 1000 }
            else if (v ~ /ms$/) { sub(/ms$/, "", v); v = v + 0 }
            else if (v ~ /s$/) { sub(/s$/, "", v); v = v * 1000 }
            p99 = v
        }
        END { printf "%.0f %.3f\n", rps, p99 }' <<<"$out"
}

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
range() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }'; }

echo "wrk: $THREADS thread(s), $CONNECTIONS connections, ${DURATION}s per run, $ROUNDS rounds; $(nproc) cores; baseline JWT: $BASELINE_JWT"
load port "$PORT_ADDR" "$WARMUP" >/dev/null
load baseline "$BASELINE_ADDR" "$WARMUP" >/dev/null

port_rps=() port_p99=() base_rps=() base_p99=() ratios=() p99_ratios=()
for round in $(seq "$ROUNDS"); do
    result=$(load port "$PORT_ADDR" "$DURATION")
    read -r prps pp99 <<<"$result"
    result=$(load baseline "$BASELINE_ADDR" "$DURATION")
    read -r brps bp99 <<<"$result"
    ratio=$(awk -v a="$prps" -v b="$brps" 'BEGIN { printf "%.3f", a / b }')
    p99_ratio=$(awk -v a="$pp99" -v b="$bp99" 'BEGIN { printf "%.3f", a / b }')
    printf 'round %s: port %8s req/s p99 %7s ms | baseline %8s req/s p99 %7s ms | throughput %sx, p99 %sx\n' \
        "$round" "$prps" "$pp99" "$brps" "$bp99" "$ratio" "$p99_ratio"
    port_rps+=("$prps") port_p99+=("$pp99") base_rps+=("$brps") base_p99+=("$bp99")
    ratios+=("$ratio") p99_ratios+=("$p99_ratio")
done

echo "port:     median $(median "${port_rps[@]}") req/s (range $(range "${port_rps[@]}")), p99 median $(median "${port_p99[@]}") ms (range $(range "${port_p99[@]}"))"
echo "baseline: median $(median "${base_rps[@]}") req/s (range $(range "${base_rps[@]}")), p99 median $(median "${base_p99[@]}") ms (range $(range "${base_p99[@]}"))"
ratio=$(median "${ratios[@]}")
verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.9) ? "holds" : "FAILS" }')
echo "throughput port/baseline: median ${ratio}x (range $(range "${ratios[@]}")); budget >= 0.9x: $verdict"
echo "p99 port/baseline: median $(median "${p99_ratios[@]}")x (range $(range "${p99_ratios[@]}"))"
