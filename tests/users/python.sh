#!/usr/bin/env bash
# Makes, once, the venv the users tests run Python from (tests/users/requirements.txt: fastapi-users
# 15, uvicorn, aiosmtpd), and prints its python's path on stdout. Progress goes to stderr.
#
#   bash tests/users/python.sh          # e.g. PY=$(bash tests/users/python.sh)
#
# The venv lives under ${XDG_CACHE_HOME:-~/.cache}/auth-core/, named by a hash of the
# requirements (USERS_PY_VENV overrides the path); concurrent callers wait on a lock. Needs
# python3 >= 3.10 with venv (Debian: apt-get install python3-venv) and PyPI.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REQUIREMENTS="$HERE/requirements.txt"
PYTHON="${PYTHON:-python3}"
log() { printf '[users-python] %s\n' "$*" >&2; }

command -v "$PYTHON" >/dev/null || { log "python3 is missing (Debian: apt-get install python3 python3-venv)"; exit 1; }
hash="$(sha256sum "$REQUIREMENTS" | cut -c1-12)"
VENV="${USERS_PY_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/auth-core/users-py-$hash}"
mkdir -p "$(dirname "$VENV")"

exec 9>"$VENV.lock"
flock 9
if [ ! -f "$VENV/.complete" ]; then
  log "creating $VENV"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV" >&2 || { log "python3 -m venv failed (Debian: apt-get install python3-venv)"; exit 1; }
  log "pip install -r tests/users/requirements.txt"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS" >&2
  touch "$VENV/.complete"
fi
echo "$VENV/bin/python"
