#!/usr/bin/env bash
# The load-and-fault test (tests/load_fault.rs): runs thousands of authenticated requests across
# three backends while a redis-server and a PostgreSQL cluster of the test's own (on free ports;
# the machine's servers are not touched) go down and come back, logouts race with use, and
# refreshes race each other. Bounded (about 30 s of load); loopback only.
#
# It asserts its invariants and fails otherwise: no token accepted by a request sent after its
# logout completed, 503 only inside the outage windows, no other 5xx, no refresh family with two
# live heads, and enough successful requests.
#
# In release by default; LOAD_FAULT_PROFILE=dev runs it on the debug build that
# `cargo test --workspace --all-features` leaves (what .ci/run does, to build once).
set -euo pipefail
cd "$(dirname "$0")/.."
# Installs redis-server and PostgreSQL when they are missing (the test starts its own servers).
bash scripts/services.sh >/dev/null
profile=(--release)
case "${LOAD_FAULT_PROFILE:-release}" in
  release) ;;
  dev) profile=() ;;
  *) echo "load_fault.sh: LOAD_FAULT_PROFILE is release or dev, not ${LOAD_FAULT_PROFILE}" >&2; exit 2 ;;
esac
cargo test "${profile[@]}" -p auth-tests --all-features --test load_fault -- --ignored --nocapture
