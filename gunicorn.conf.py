"""Gunicorn settings: `gunicorn -c gunicorn.conf.py 'service:create_app()'`.

Gunicorn also reads this file by itself when started from the repository root (so `make
run` uses it too; its command-line flags win). Every value comes from the environment.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

# Prometheus multiprocess mode must be chosen before any worker imports prometheus_client:
# workers write their counters under this directory and /metrics adds them up.
# A directory made here is removed on exit (the marker survives a reload of this file).
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="dpa-metrics-")
    os.environ["DPA_METRICS_DIR_TEMPORARY"] = "1"

from gunicorn.glogging import Logger

from service.observability.logs import JsonFormatter, resolve_format


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{_env_int('PORT', 8000)}"
# Sync workers: each answers one request at a time, and holds at most one database
# connection at a time. 2 x cores + 1 is gunicorn's advice for this kind of work. The CPUs
# this process may run on are counted, but not a container's CPU quota: set
# WEB_CONCURRENCY where one applies.
_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
workers = _env_int("WEB_CONCURRENCY", (_cores or 1) * 2 + 1)
threads = _env_int("GUNICORN_THREADS", 1)
timeout = _env_int("GUNICORN_TIMEOUT", 30)
# On SIGTERM, requests in flight get this long to finish (compose's stop_grace_period
# must be longer).
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 25)
# Seconds an idle keep-alive connection stays open. Behind a load balancer, set it above
# the balancer's idle timeout, so that the balancer, not gunicorn, closes idle connections.
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)
# A worker is replaced after this many requests: bounds slow leaks.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 200)
# Each worker builds the app itself: a failed start names the worker's own error, and
# database connections are never shared across a fork.
preload_app = False
# Gunicorn trusts X-Forwarded-Proto only from these addresses; the app's own
# DPA_PROXY_FIX_* settings say how many proxy hops to trust.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "dpa-registry"
# Gunicorn 25's control socket lives in $HOME, shared by every gunicorn of the user; the
# container and the process supervisor manage this one with signals instead.
control_socket_disable = True
# The heartbeat file on tmpfs: a container's overlay disk can stall it.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("DPA_LOG_LEVEL", "info").lower()
LOG_FORMAT = resolve_format(os.environ.get("DPA_LOG_FORMAT"), os.environ.get("DPA_ENV"))

# Tokens in signed links are credentials: long path segments do not go to the access log.
_TOKEN_SEGMENT = re.compile(r"(?<=/)[^/]{32,}")


class JsonLogger(Logger):
    """Gunicorn's error and access logs as JSON lines, like the application's."""

    def setup(self, cfg: object) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        path = _TOKEN_SEGMENT.sub("[redacted]", environ.get("PATH_INFO", ""))
        status = int(atoms["s"]) if str(atoms["s"]).isdigit() else atoms["s"]
        self.access_log.info(
            "%s %s %s",
            atoms["m"],
            path,
            status,
            extra={
                "event": "http.request",
                "method": atoms["m"],
                "path": path,
                "status": status,
                "duration_ms": round(atoms["D"] / 1000, 3),
                "bytes": atoms["B"],
                "remote_addr": atoms["h"],
                "user_agent": atoms["a"],
                "request_id": atoms.get("{x-request-id}o"),
            },
        )


if LOG_FORMAT == "json":
    logger_class = JsonLogger


def on_starting(server: object) -> None:
    """Start with no counters left over from an earlier run."""
    path = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    for leftover in path.glob("*.db"):
        leftover.unlink(missing_ok=True)


def post_worker_init(worker: object) -> None:
    """Connect each worker to the broker, the database and Redis before its first request
    (the app is loaded in the worker, after the fork: nothing is shared with the arbiter)."""
    from service.outbox.services import connect_broker
    from service.web import warm_worker

    if "celery" not in getattr(worker.wsgi, "extensions", {}):
        return  # another app served with these settings: the benchmarks' baseline
    with worker.wsgi.app_context():
        connect_broker()
        try:
            warm_worker()
        except Exception:  # a database down at start is /readyz's to report, not a crash
            worker.log.warning("worker warm-up failed; the first request connects", exc_info=True)


def child_exit(server: object, worker: object) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: object) -> None:
    if os.environ.get("DPA_METRICS_DIR_TEMPORARY") == "1":
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
