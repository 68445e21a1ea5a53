#!/usr/bin/env bash
# The container's entry point, and the same commands outside a container:
#
#   entrypoint.sh migrate   apply migrations, then exit (safe when two run at once)
#   entrypoint.sh api       gunicorn with gunicorn.conf.py
#   entrypoint.sh worker    a Celery worker (its metrics on DPA_WORKER_METRICS_PORT if set)
#   entrypoint.sh beat      Celery beat: exactly one per deployment
#   entrypoint.sh <cmd...>  anything else runs as given (a shell, `flask --app service ...`)
#
# Run from the project root (the image's WORKDIR); the tools must be on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

export FLASK_APP=service
LOG_LEVEL="${DPA_LOG_LEVEL:-INFO}"

# The counters of a Celery pool meet in this directory (prometheus_client's multiprocess
# mode); it must exist before the worker starts and hold nothing from an earlier run.
# (For the API, gunicorn.conf.py does the same.)
fresh_metrics_dir() {
    export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-$(mktemp -d -t dpa-metrics-XXXXXX)}"
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    find "$PROMETHEUS_MULTIPROC_DIR" -maxdepth 1 -type f -name '*.db' -delete
}

case "${1:-api}" in
    migrate)
        # migrations/env.py holds a PostgreSQL advisory lock for the whole upgrade: a
        # second instance waits, then finds nothing left to do.
        exec flask db upgrade
        ;;
    api)
        shift || true
        exec gunicorn -c gunicorn.conf.py "$@" 'service:create_app()'
        ;;
    worker)
        shift
        fresh_metrics_dir
        # Threads by default: one process holds the app once (a prefork pool holds it in
        # the parent and in every child); the work waits on SMTP and PostgreSQL, so 8
        # threads (each its own batch, connection and session) keep the relay busy where 2
        # left it idle half the time: with the fan-out's array inserts, 10,000 e-mails went
        # from 83 to 162-177 msg/s, 0.18 -> 0.41-0.46 of the bare smtplib loop
        # (bench/announce.py, machine at load 5-9). A prefork pool defaults to the cores.
        pool="${DPA_WORKER_POOL:-threads}"
        default_concurrency=""
        [ "$pool" = threads ] && default_concurrency=8
        concurrency="${DPA_WORKER_CONCURRENCY:-$default_concurrency}"
        exec celery -A workers.main worker --loglevel="$LOG_LEVEL" --pool="$pool" \
            ${concurrency:+--concurrency="$concurrency"} "$@"
        ;;
    beat)
        shift
        # The schedule file only remembers when each job last ran; losing it is harmless.
        exec celery -A workers.main beat --loglevel="$LOG_LEVEL" \
            --schedule="${DPA_BEAT_SCHEDULE:-${TMPDIR:-/tmp}/dpa-celerybeat-schedule}" "$@"
        ;;
    *)
        exec "$@"
        ;;
esac
