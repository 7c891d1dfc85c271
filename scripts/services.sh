#!/usr/bin/env bash
# Starts the servers that auth-core's service-backed tests need, installing them if missing:
#   - PostgreSQL on 127.0.0.1:5432, with user and database `auth_test` (password `auth_test`);
#   - Redis on 127.0.0.1:6379, without persistence.
# Idempotent: what is installed is not reinstalled, what runs is left running.
#
# The environment for the tests goes to stdout as `export` lines (progress goes to stderr), and
# also to $SERVICES_ENV_FILE when that is set. So either
#   eval "$(scripts/services.sh)"
# or
#   SERVICES_ENV_FILE=target/services.env scripts/services.sh >/dev/null && . target/services.env
# then
#   cargo test -p auth-core --all-features
#
# Debian/Ubuntu (apt, pg_ctlcluster), run as root: as on the project's machines and in CI.
#
# When a server cannot be started the script exits non-zero, prints nothing on stdout and names
# the service on stderr (`services: FAILED: Redis ...`), so that CI stops there instead of running
# the store tests without their servers. PG_PORT and REDIS_PORT (default 5432 and 6379) move the
# servers, e.g. to try that failure path without touching the running ones.
set -euo pipefail

PG_PORT=${PG_PORT:-5432}
REDIS_PORT=${REDIS_PORT:-6379}
DB_NAME=auth_test
DB_USER=auth_test
DB_PASSWORD=auth_test

log() { printf 'services: %s\n' "$*" >&2; }
die() {
    log "FAILED: $*"
    exit 1
}
trap 'log "FAILED: \`$BASH_COMMAND\` (line $LINENO) exited with $?"' ERR

wait_for() { # what, tries (x0.2 s), command...
    local what=$1 tries=$2
    shift 2
    for ((i = 0; i < tries; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    return 1
}

# --- install ------------------------------------------------------------------------------
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v redis-cli >/dev/null || missing+=(redis-tools)
if ! command -v pg_ctlcluster >/dev/null || ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
    missing+=(postgresql)
fi
if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || die "could not install ${missing[*]}"
fi

# --- PostgreSQL ---------------------------------------------------------------------------
PG_VERSION=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | awk -v v="$PG_VERSION" '$1 == v && $2 == "main" { found = 1 } END { exit !found }'; then
    log "creating PostgreSQL $PG_VERSION cluster main"
    pg_createcluster --port "$PG_PORT" "$PG_VERSION" main >&2 || die "PostgreSQL: could not create cluster $PG_VERSION main"
fi
if ! pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; then
    log "starting PostgreSQL $PG_VERSION main on 127.0.0.1:$PG_PORT"
    pg_ctlcluster "$PG_VERSION" main start >&2 || log "pg_ctlcluster $PG_VERSION main start failed"
fi
wait_for "PostgreSQL" 100 pg_isready -q -h 127.0.0.1 -p "$PG_PORT" ||
    die "PostgreSQL is not accepting connections on 127.0.0.1:$PG_PORT (cluster $PG_VERSION main; see pg_lsclusters)"

as_postgres() { runuser -u postgres -- "$@"; }
psql_admin() { as_postgres psql -p "$PG_PORT" -v ON_ERROR_STOP=1 -tAq "$@"; }
if [[ $(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER'") != 1 ]]; then
    log "creating role $DB_USER"
    psql_admin -c "CREATE ROLE $DB_USER LOGIN PASSWORD '$DB_PASSWORD'"
fi
if [[ $(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'") != 1 ]]; then
    log "creating database $DB_NAME"
    psql_admin -c "CREATE DATABASE $DB_NAME OWNER $DB_USER"
fi
DATABASE_URL_POSTGRES="postgres://$DB_USER:$DB_PASSWORD@127.0.0.1:$PG_PORT/$DB_NAME"
PGPASSWORD=$DB_PASSWORD wait_for "login as $DB_USER" 25 \
    psql -h 127.0.0.1 -p "$PG_PORT" -U "$DB_USER" -d "$DB_NAME" -tAqc 'SELECT 1' ||
    die "PostgreSQL: cannot log in as $DB_USER to $DB_NAME on 127.0.0.1:$PG_PORT"

# --- Redis --------------------------------------------------------------------------------
if [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) != PONG ]]; then
    log "starting redis-server on 127.0.0.1:$REDIS_PORT"
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --save '' --appendonly no \
        --logfile /tmp/auth-core-redis-$REDIS_PORT.log --pidfile /tmp/auth-core-redis-$REDIS_PORT.pid >&2 ||
        log "redis-server exited with $?"
fi
wait_for "Redis" 50 sh -c "[ \"\$(redis-cli -h 127.0.0.1 -p $REDIS_PORT ping)\" = PONG ]" ||
    die "Redis is not answering PING on 127.0.0.1:$REDIS_PORT (log: /tmp/auth-core-redis-$REDIS_PORT.log)"
REDIS_URL="redis://127.0.0.1:$REDIS_PORT"

# --- environment --------------------------------------------------------------------------
exports="export DATABASE_URL_POSTGRES=$DATABASE_URL_POSTGRES
export REDIS_URL=$REDIS_URL"
if [[ -n ${SERVICES_ENV_FILE:-} ]]; then
    mkdir -p "$(dirname "$SERVICES_ENV_FILE")"
    printf '%s\n' "$exports" >"$SERVICES_ENV_FILE"
    log "wrote $SERVICES_ENV_FILE"
fi
printf '%s\n' "$exports"
log "PostgreSQL $PG_VERSION and Redis $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') are up"
