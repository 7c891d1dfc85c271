#!/usr/bin/env bash
# Tokens from an identity provider: `GET /items` with a JWKS-validated RS256 token, on auth-core's
# OidcStrategy (bench/idp/src/auth_core.rs) against jwt-authorizer 0.15, the Rust peer
# (bench/idp/src/jwt_authorizer.rs). Both discover the same provider (panva's oidc-provider,
# tests/oidc/idp.mjs, on loopback), require `aud` and the scope `items:read`, and answer the same
# body. wrk drives them in turn, auth-core then jwt-authorizer, for every round. Prints req/s, p99
# and the server's CPU time per request (user + system, from /proc) of each run, and the ratios:
# throughput is what the goal is about; CPU per request is the same comparison, but unmoved by
# whatever else runs on the machine. Then the verification step alone (bench/idp/src/verify_cost.rs).
#
#   bench/idp.sh                         # 5 rounds of 5 s each, 16 connections
#   ROUNDS=3 DURATION=10 CONNECTIONS=32 bench/idp.sh
#
# Needs wrk (`apt-get install -y wrk`), curl, node >= 20 and npm. Bounded: every step has a
# timeout, and the provider and both servers are stopped on exit, whatever the exit.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-16}
THREADS=${THREADS:-1}
WARMUP=${WARMUP:-2}
IDP_PORT=${IDP_PORT:-18200}
OURS_ADDR=${OURS_ADDR:-127.0.0.1:18201}
PEER_ADDR=${PEER_ADDR:-127.0.0.1:18202}
export AUDIENCE=https://api.example.test
export ISSUER=http://127.0.0.1:$IDP_PORT

command -v wrk >/dev/null || { echo "wrk not found; install it with: apt-get install -y wrk" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl not found" >&2; exit 1; }
command -v node >/dev/null || { echo "node not found (node >= 20 and npm run the provider)" >&2; exit 1; }

manifest=bench/idp/Cargo.toml
if [ "${NO_BUILD:-0}" != 1 ]; then
    cargo build --release --manifest-path "$manifest"
fi
target=$(cargo metadata --format-version 1 --no-deps --manifest-path "$manifest" | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
[ -d tests/oidc/node_modules/oidc-provider ] || (cd tests/oidc && npm ci --ignore-scripts --no-audit --no-fund)

logs=$(mktemp -d)
pids=()
cleanup() {
    exec 3>&- 2>/dev/null || true # the provider exits when its stdin closes
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$logs"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkfifo "$logs/idp.stdin"
(cd tests/oidc && exec node idp.mjs --port "$IDP_PORT" <"$logs/idp.stdin" >"$logs/idp.log" 2>&1) &
pids+=($!)
exec 3>"$logs/idp.stdin"
for _ in $(seq 100); do
    grep -q '^ready' "$logs/idp.log" 2>/dev/null && break
    sleep 0.1
done
grep -q '^ready' "$logs/idp.log" || { echo "the provider did not start:" >&2; cat "$logs/idp.log" >&2; exit 1; }

BIND_ADDR=$OURS_ADDR "$target/release/idp_auth_core" >"$logs/ours.log" 2>&1 &
ours_pid=$!
pids+=($ours_pid)
BIND_ADDR=$PEER_ADDR "$target/release/idp_jwt_authorizer" >"$logs/peer.log" 2>&1 &
peer_pid=$!
pids+=($peer_pid)
ticks_per_second=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

wait_up() {
    for _ in $(seq 100); do
        curl -s -o /dev/null --max-time 1 "http://$1/items" && return 0
        sleep 0.1
    done
    echo "nothing answers on $1; the logs:" >&2
    tail -n 20 "$logs"/*.log >&2
    exit 1
}
wait_up "$OURS_ADDR"
wait_up "$PEER_ADDR"

token=$(curl -sf --max-time 10 -u app:app-secret -d grant_type=client_credentials -d scope=items:read \
    -d "resource=$AUDIENCE" "$ISSUER/token" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[ -n "$token" ] || { echo "no token from the provider" >&2; exit 1; }
header=$(cut -d. -f1 <<<"$token" | tr '_-' '/+' | base64 -d 2>/dev/null || true)
ours_body=$(curl -sf --max-time 5 -H "Authorization: Bearer $token" "http://$OURS_ADDR/items")
peer_body=$(curl -sf --max-time 5 -H "Authorization: Bearer $token" "http://$PEER_ADDR/items")
if [ "$ours_body" != "$peer_body" ]; then
    echo "the two servers answer differently: auth-core $ours_body, jwt-authorizer $peer_body" >&2
    exit 1
fi
for addr in "$OURS_ADDR" "$PEER_ADDR"; do
    status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Authorization: Bearer x$token" "http://$addr/items")
    [ "$status" = 401 ] || { echo "$addr accepted a tampered token ($status)" >&2; exit 1; }
done
echo "token header: $header"
echo "both answer: $ours_body"

# load NAME ADDR SECONDS PID: prints "req/s p99_ms cpu_us_per_request".
load() {
    local out before after
    before=$(cpu_ticks "$4")
    out=$(timeout $(($3 + 15)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"$3"s --timeout 5s --latency \
        -H "Authorization: Bearer $token" "http://$2/items")
    after=$(cpu_ticks "$4")
    if grep -qE "Non-2xx|Socket errors" <<<"$out"; then
        echo "$1: errors during the run:" >&2
        echo "$out" >&2
        exit 1
    fi
    awk -v ticks=$((after - before)) -v hz="$ticks_per_second" '
        / requests in / { requests = $1 }
        /^Requests\/sec:/ { rps = $2 }
        $1 == "99%" {
            v = $2
            if (v ~ /us$/) { sub(/us$/, "", v); v = v / 1000 }
            else if (v ~ /ms$/) { sub(/ms$/, "", v); v = v + 0 }
            else if (v ~ /s$/) { sub(/s$/, "", v); v = v * 1000 }
            p99 = v
        }
        END { printf "%.0f %.3f %.1f\n", rps, p99, ticks / hz * 1e6 / requests }' <<<"$out"
}

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
range() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }'; }

echo "wrk: $THREADS thread(s), $CONNECTIONS connections, ${DURATION}s per run, $ROUNDS rounds; $(nproc) cores"
load auth-core "$OURS_ADDR" "$WARMUP" "$ours_pid" >/dev/null
load jwt-authorizer "$PEER_ADDR" "$WARMUP" "$peer_pid" >/dev/null

ours_rps=() ours_p99=() ours_cpu=() peer_rps=() peer_p99=() peer_cpu=() ratios=() p99_ratios=() cpu_ratios=()
for round in $(seq "$ROUNDS"); do
    read -r orps op99 ocpu <<<"$(load auth-core "$OURS_ADDR" "$DURATION" "$ours_pid")"
    read -r prps pp99 pcpu <<<"$(load jwt-authorizer "$PEER_ADDR" "$DURATION" "$peer_pid")"
    ratio=$(awk -v a="$orps" -v b="$prps" 'BEGIN { printf "%.3f", a / b }')
    p99_ratio=$(awk -v a="$op99" -v b="$pp99" 'BEGIN { printf "%.3f", a / b }')
    cpu_ratio=$(awk -v a="$ocpu" -v b="$pcpu" 'BEGIN { printf "%.3f", a / b }')
    printf 'round %s: auth-core %6s req/s p99 %7s ms %6s us CPU | jwt-authorizer %6s req/s p99 %7s ms %6s us CPU | throughput %sx, p99 %sx, CPU/request %sx\n' \
        "$round" "$orps" "$op99" "$ocpu" "$prps" "$pp99" "$pcpu" "$ratio" "$p99_ratio" "$cpu_ratio"
    ours_rps+=("$orps") ours_p99+=("$op99") ours_cpu+=("$ocpu") peer_rps+=("$prps") peer_p99+=("$pp99") peer_cpu+=("$pcpu")
    ratios+=("$ratio") p99_ratios+=("$p99_ratio") cpu_ratios+=("$cpu_ratio")
done

echo "auth-core:      median $(median "${ours_rps[@]}") req/s (range $(range "${ours_rps[@]}")), p99 median $(median "${ours_p99[@]}") ms, CPU median $(median "${ours_cpu[@]}") us/request"
echo "jwt-authorizer: median $(median "${peer_rps[@]}") req/s (range $(range "${peer_rps[@]}")), p99 median $(median "${peer_p99[@]}") ms, CPU median $(median "${peer_cpu[@]}") us/request"
ratio=$(median "${ratios[@]}")
verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 1.0) ? "holds" : "FAILS" }')
echo "throughput auth-core/jwt-authorizer: median ${ratio}x (range $(range "${ratios[@]}")); goal >= 1.0x: $verdict"
echo "p99 auth-core/jwt-authorizer: median $(median "${p99_ratios[@]}")x (range $(range "${p99_ratios[@]}"))"
echo "CPU per request auth-core/jwt-authorizer: median $(median "${cpu_ratios[@]}")x (range $(range "${cpu_ratios[@]}")); lower is cheaper"

# The verification step alone, in one thread without HTTP: where the difference comes from.
TOKEN=$token timeout 120 "$target/release/idp_verify_cost"
