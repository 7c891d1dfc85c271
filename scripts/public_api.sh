#!/usr/bin/env bash
# The size of auth-core's public API: the names reachable from its crate root, counted from
# rustdoc JSON with every feature on (issue 19, item 4: at most 140).
#
#   scripts/public_api.sh           # the count, by kind
#   scripts/public_api.sh --list    # every name, with the first path that reaches it
#
# rustdoc's JSON output is unstable, so this asks for it with RUSTC_BOOTSTRAP=1 (stable rustc,
# nightly flag). What counts is explained in scripts/public_api.py: items reachable by a path
# from the root (re-exports followed, each item once), not methods, fields, variants,
# associated items or `#[doc(hidden)]` items; modules listed apart.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
RUSTC_BOOTSTRAP=1 cargo rustdoc --quiet -p auth-core --all-features -- -Z unstable-options --output-format json
python3 scripts/public_api.py "$target/doc/auth_core.json" "$@"
