#!/usr/bin/env bash
# `make test`: the whole suite against real PostgreSQL and Redis.
# Uses the servers at TEST_DATABASE_URL / TEST_REDIS_URL when they answer; otherwise starts
# private ones from local binaries under .tmp/ and stops them afterwards. It never
# restarts or flushes a server it did not start: the suite works in a database of its own
# and in its own Redis database number, deleting only its own keys.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=.venv/bin
export TEST_DATABASE_URL="${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379/14}"
TMP="$PWD/.tmp"
started=()

stop_started() {
    for item in "${started[@]}"; do
        case "$item" in
            pg:*) run_as_pg "$PG_BIN/pg_ctl" -D "${item#pg:}" -m fast -w stop >/dev/null || true ;;
            redis:*) kill "${item#redis:}" 2>/dev/null || true ;;
        esac
    done
}
trap stop_started EXIT

# Servers this script starts keep the machine's real clock, even under `make test-dates`
# (faketime): the service never asks them for the time, and redis-server cannot start with
# libfaketime preloaded.
real_clock() {
    env -u LD_PRELOAD -u FAKETIME "$@"
}

run_as_pg() {
    # initdb and postgres refuse to run as root.
    if [[ $(id -u) == 0 ]]; then real_clock runuser -u postgres -- "$@"; else real_clock "$@"; fi
}

pg_up() {
    "$BIN/python" - "$TEST_DATABASE_URL" <<'PY' >/dev/null 2>&1
import sys, psycopg
psycopg.connect(sys.argv[1], connect_timeout=2).close()
PY
}

redis_up() {
    "$BIN/python" - "$TEST_REDIS_URL" <<'PY' >/dev/null 2>&1
import sys, redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping()
PY
}

free_port() {
    "$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

if ! pg_up; then
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    if [[ -z "$PG_BIN" || ! -x "$PG_BIN/initdb" ]]; then
        echo "make test: PostgreSQL is not reachable at $TEST_DATABASE_URL and no local binaries" >&2
        echo "were found. Start PostgreSQL (e.g. 'pg_ctlcluster 15 main start'), install it" >&2
        echo "(apt-get install postgresql), or point TEST_DATABASE_URL at a server." >&2
        exit 2
    fi
    port=$(free_port)
    data="$TMP/pg-$port"
    mkdir -p "$data"
    [[ $(id -u) == 0 ]] && chown postgres "$TMP" "$data"
    echo "make test: starting a private PostgreSQL on 127.0.0.1:$port ($data)"
    run_as_pg "$PG_BIN/initdb" -D "$data" -U postgres --auth=trust >/dev/null
    run_as_pg "$PG_BIN/pg_ctl" -D "$data" -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c fsync=off" \
        -l "$data/log" -w start >/dev/null
    started+=("pg:$data")
    export TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$port/postgres"
fi

if ! redis_up; then
    if ! command -v redis-server >/dev/null; then
        echo "make test: Redis is not reachable at $TEST_REDIS_URL and redis-server is not" >&2
        echo "installed. Start Redis, install it (apt-get install redis-server), or set TEST_REDIS_URL." >&2
        exit 2
    fi
    port=$(free_port)
    mkdir -p "$TMP"
    echo "make test: starting a private Redis on 127.0.0.1:$port"
    real_clock redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --dir "$TMP" \
        --logfile "$TMP/redis-$port.log" &
    started+=("redis:$!")
    export TEST_REDIS_URL="redis://127.0.0.1:$port/14"
    for _ in $(seq 50); do redis_up && break; sleep 0.1; done
fi

# axe-core for the browser tests, pinned in package-lock.json. Without npm the browser tests
# skip locally and fail in CI (tests/browser_kit.py), so say so here once.
if [[ ! -f node_modules/axe-core/axe.min.js ]]; then
    if command -v npm >/dev/null; then
        npm ci --no-audit --no-fund
    elif [[ -n "${CI:-}" ]]; then
        echo "make test: npm is missing and the browser tests need axe-core (apt-get install npm)" >&2
        exit 2
    else
        echo "make test: npm is missing: the browser tests will skip (apt-get install npm)" >&2
    fi
fi

mkdir -p test-artifacts
"$BIN/pytest" -n "${TEST_PROCESSES:-2}" --dist load "$@"
