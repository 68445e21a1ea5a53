"""Celery's side of observability: logs, the request id across the broker, task metrics.

- Publishing a task stamps the current request id into its message headers, whoever
  publishes: the after-commit relay inside a request, or a task queueing the next one.
- A worker binds that id (or, for work beat started, the task's own id) before the task
  runs, so every line the task logs carries it, and so do the tasks it queues in turn.
- Celery leaves logging to us (the `setup_logging` signal), so workers and beat write the
  same JSON or text lines as the API.
"""

from __future__ import annotations

import logging
from contextvars import Token

from celery import Celery, signals
from flask import Flask

from service.observability import logs, metrics

log = logging.getLogger(__name__)
REQUEST_ID_HEADER = "request_id"
# Tokens to restore the context after each task; eager tasks run inside a request.
_tokens: dict[str, tuple[Token, Token]] = {}


def connect(celery: Celery, app: Flask) -> None:
    """Wire the signals (once per process: later apps reuse the first connection)."""
    log_format = app.extensions["dpa_log_format"]
    default_level = app.config["LOG_LEVEL"]
    metrics_port = app.config["WORKER_METRICS_PORT"]
    metrics_addr = app.config["WORKER_METRICS_ADDR"]

    def setup_logging(loglevel: int | str | None = None, **_: object) -> None:
        logs.configure_logging(log_format, loglevel or default_level)

    def serve_worker_metrics(**_: object) -> None:
        if not metrics_port:
            return
        if not metrics.MULTIPROC_DIR:
            log.warning(
                "WORKER_METRICS_PORT is set but PROMETHEUS_MULTIPROC_DIR is not: the pool's "
                "counters cannot be collected (scripts/entrypoint.sh worker sets it)"
            )
        metrics.start_worker_server(metrics_port, metrics_addr)
        log.info("worker metrics on http://%s:%s/metrics", metrics_addr, metrics_port)

    for signal, receiver in (
        (signals.setup_logging, setup_logging),
        (signals.worker_init, serve_worker_metrics),
        (signals.before_task_publish, stamp_request_id),
        (signals.task_prerun, bind_task),
        (signals.task_postrun, unbind_task),
        (signals.task_retry, count_retry),
        (signals.worker_process_shutdown, forget_process),
    ):
        signal.connect(receiver, weak=False, dispatch_uid=f"dpa-{receiver.__name__}")


def stamp_request_id(headers: dict | None = None, **_: object) -> None:
    request_id = logs.current_request_id()
    if request_id and headers is not None:
        headers.setdefault(REQUEST_ID_HEADER, request_id)


def bind_task(task_id: str, task: object, **_: object) -> None:
    carried = getattr(task.request, REQUEST_ID_HEADER, None)
    request_id = carried or logs.current_request_id() or task_id
    _tokens[task_id] = (
        logs.request_id_var.set(request_id),
        logs.task_var.set((task_id, task.name)),
    )


def unbind_task(task_id: str, task: object, state: str | None = None, **_: object) -> None:
    metrics.TASKS.labels(task.name, state or "UNKNOWN").inc()
    tokens = _tokens.pop(task_id, None)
    if tokens:
        try:
            logs.request_id_var.reset(tokens[0])
            logs.task_var.reset(tokens[1])
        except ValueError:  # set in another context (a thread pool): just clear
            logs.request_id_var.set(None)
            logs.task_var.set(None)


def count_retry(sender: object = None, **_: object) -> None:
    metrics.TASK_RETRIES.labels(getattr(sender, "name", "unknown")).inc()


def forget_process(pid: int | None = None, **_: object) -> None:
    if pid:
        metrics.mark_process_dead(pid)
