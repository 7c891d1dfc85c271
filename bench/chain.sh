#!/usr/bin/env bash
# Runs the criterion micro-benchmarks (`bench/benches/chain.rs`) RUNS times (default 3) and prints,
# for each run and as medians with their range, the median time per request of each function and
# the ratios (budget <= 1.10x for both):
#   - generated chain / hand-written with jsonwebtoken::decode: the whole request as one writes it;
#   - generated chain / hand-written with auth-core's JwtStrategy::verify: the chain machinery alone,
#     with the same JWT step on both sides;
# and auth-core's JWT verification / jsonwebtoken::decode.
#
#   bench/chain.sh
#   RUNS=5 bench/chain.sh
#
# Each run takes about 25 s (5 functions, 1 s warm-up + 3 s measurement each).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
command -v python3 >/dev/null || { echo "python3 is needed to read criterion's estimates" >&2; exit 1; }
target=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
estimates="$target/criterion/users_me_items"

cargo bench -p auth-bench --bench chain --no-run
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for run in $(seq "$RUNS"); do
    timeout 300 cargo bench -q -p auth-bench --bench chain >/dev/null 2>&1 || {
        echo "run $run failed; run \`cargo bench -p auth-bench --bench chain\` to see why" >&2
        exit 1
    }
    for f in generated_chain hand_written hand_written_same_jwt auth_core_verify jsonwebtoken_decode; do
        python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["median"]["point_estimate"] / 1000)' \
            "$estimates/$f/new/estimates.json"
    done | paste -sd' ' >>"$results"
    awk -v run="$run" 'END { printf "run %s: generated %.3f us | hand-written %.3f us, ratio %.3fx | same JWT %.3f us, ratio %.3fx | verify %.3f us, decode %.3f us, ratio %.3fx\n", run, $1, $2, $1 / $2, $3, $1 / $3, $4, $5, $4 / $5 }' "$results"
done

python3 - "$results" <<'EOF'
import statistics, sys
rows = [list(map(float, line.split())) for line in open(sys.argv[1])]
def summary(values, unit):
    return f"median {statistics.median(values):.3f}{unit} (range {min(values):.3f}-{max(values):.3f})"
cols = list(zip(*rows))
names = ["generated chain", "hand-written", "hand-written same JWT", "auth-core verify", "jsonwebtoken::decode"]
for name, values in zip(names, cols):
    print(f"{name:<22} {summary(values, ' us')}")
def verdict(ratios):
    return "holds" if statistics.median(ratios) <= 1.10 else "FAILS"
whole = [r[0] / r[1] for r in rows]
chain = [r[0] / r[2] for r in rows]
jwt = [r[3] / r[4] for r in rows]
print(f"generated / hand-written:          {summary(whole, 'x')}; budget <= 1.10x: {verdict(whole)}")
print(f"generated / hand-written same JWT: {summary(chain, 'x')}; budget <= 1.10x: {verdict(chain)}")
print(f"verify / decode:                   {summary(jwt, 'x')}")
print(f"JWT share: decode is {100 * statistics.median(cols[4]) / statistics.median(cols[1]):.0f}% of the hand-written request, "
      f"verify {100 * statistics.median(cols[3]) / statistics.median(cols[0]):.0f}% of the generated one")
EOF
