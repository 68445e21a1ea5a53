#!/usr/bin/env bash
# `make run`: migrate, seed the demo, and serve the API with a Celery worker and beat.
# Stops cleanly on Ctrl-C or a signal to its process group, and starts again on the
# same data (seeding is idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=.venv/bin
PORT="${PORT:-8000}"
# Every link the run mails or prints (notices, sign-in, subscriptions, the Atom feed) points
# at the port it serves on, unless an address is given.
export DPA_PUBLIC_BASE_URL="${DPA_PUBLIC_BASE_URL:-http://127.0.0.1:$PORT}"
export FLASK_APP=service
export DPA_INSTANCE_PATH="${DPA_INSTANCE_PATH:-$PWD/instance}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
mkdir -p "$DPA_INSTANCE_PATH"

pids=()
cleanup() {
    trap - INT TERM EXIT
    if ((${#pids[@]})); then
        echo "run: stopping (${#pids[@]} processes)..."
        kill -TERM "${pids[@]}" 2>/dev/null || true
        wait "${pids[@]}" 2>/dev/null || true
    fi
    echo "run: stopped."
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A second run on a busy port would find the first one's health check and claim success.
if ! "$BIN/python" - "$PORT" <<'PY'
import socket, sys
with socket.socket() as s:
    # As gunicorn binds: connections of a previous run in TIME_WAIT do not count.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(sys.argv[1])))
PY
then
    echo "run: 127.0.0.1:$PORT is already in use (another make run?); stop it or set PORT=..." >&2
    exit 1
fi

redis_up() {
    "$BIN/python" - "$REDIS_URL" <<'PY' >/dev/null 2>&1
import sys, redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping()
PY
}

if redis_up; then
    echo "run: using Redis at $REDIS_URL"
elif command -v redis-server >/dev/null; then
    redis_port=$("$BIN/python" -c 'import sys, urllib.parse as u; print(u.urlsplit(sys.argv[1]).port or 6379)' "$REDIS_URL")
    echo "run: starting a local Redis on 127.0.0.1:$redis_port (nothing kept on disk)"
    redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
        --dir "$DPA_INSTANCE_PATH" --logfile "$DPA_INSTANCE_PATH/redis.log" &
    pids+=($!)
    for _ in $(seq 50); do redis_up && break; sleep 0.1; done
    redis_up || { echo "run: Redis did not start; see $DPA_INSTANCE_PATH/redis.log" >&2; exit 1; }
else
    export DPA_CELERY_ALWAYS_EAGER=1
    echo "run: no Redis installed and none reachable at $REDIS_URL:"
    echo "run: tasks run in-process (no worker, no beat). Install redis-server for the real thing."
fi

"$BIN/flask" db upgrade
"$BIN/flask" seed demo

if [[ "${DPA_CELERY_ALWAYS_EAGER:-0}" != 1 ]]; then
    "$BIN/celery" -A workers.main worker --loglevel=INFO --concurrency=1 --hostname="worker-$PORT@%h" &
    pids+=($!)
    "$BIN/celery" -A workers.main beat --loglevel=INFO \
        --schedule="$DPA_INSTANCE_PATH/celerybeat-schedule-$PORT" &
    pids+=($!)
fi
"$BIN/gunicorn" --bind "127.0.0.1:$PORT" --workers 2 --access-logfile - --graceful-timeout 10 \
    'service:create_app()' &
server=$!
pids+=("$server")

up=0
for _ in $(seq 100); do
    kill -0 "$server" 2>/dev/null || break  # our server died (the port was taken meanwhile)
    if "$BIN/python" -c "import urllib.request as r; r.urlopen('http://127.0.0.1:$PORT/healthz', timeout=1)" \
        2>/dev/null; then
        up=1
        break
    fi
    sleep 0.2
done
if ((!up)) || ! kill -0 "$server" 2>/dev/null; then
    echo "run: the API did not start on 127.0.0.1:$PORT; see the output above" >&2
    exit 1
fi
cat <<MSG

  DPA Registry is running at $DPA_PUBLIC_BASE_URL (serving on 127.0.0.1:$PORT)
    public list:  $DPA_PUBLIC_BASE_URL/orgs/bookero/subprocessors
    API:          $DPA_PUBLIC_BASE_URL/api/v1/orgs/bookero/subprocessors
    API docs:     $DPA_PUBLIC_BASE_URL/docs
  Demo keys (shown once when created, kept in $DPA_INSTANCE_PATH/demo-keys.env):
MSG
if ! sed 's/^/    /' "$DPA_INSTANCE_PATH/demo-keys.env" 2>/dev/null; then
    echo "    (demo-keys.env is gone: keys are shown only when created. Make a new one:"
    echo "     $BIN/flask --app service keys create --role legal --org bookero"
    echo "     $BIN/flask --app service keys create --role customer --org bookero --customer BK-0002)"
fi
echo "  Stop with Ctrl-C."
echo

# Whichever child ends first (or a signal) ends the run; the EXIT trap stops the rest.
wait -n "${pids[@]}"
