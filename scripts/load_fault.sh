#!/usr/bin/env bash
# The load-and-fault test (tests/load_fault.rs): starts PostgreSQL and Redis, then runs thousands
# of authenticated requests across three backends while Redis and PostgreSQL restart, logouts
# race with use, and refreshes race each other. Bounded (about 30 s of load); loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/services.sh)"
export DATABASE_URL_POSTGRES REDIS_URL
cargo test --release -p auth-tests --all-features --test load_fault -- --ignored --nocapture
