"""Prometheus metrics: HTTP requests by route, outbox depth and age, e-mails, Celery tasks.

Counters live per process. Under gunicorn (several workers) and in a Celery worker (a
pool of children) they are shared through prometheus_client's multiprocess mode: each
process writes its values to files in PROMETHEUS_MULTIPROC_DIR, and a scrape adds them up.
That variable must be set before this module is imported (gunicorn.conf.py and
scripts/entrypoint.sh see to it). The outbox gauges are not counted anywhere: each scrape
reads them from the database, so every API instance reports the same, global, values.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric

MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
if MULTIPROC_DIR:
    # Commands that do not prepare the directory (flask CLI, beat) must not fail on it.
    os.makedirs(MULTIPROC_DIR, exist_ok=True)

# The *_created samples double the output and no alert or dashboard here reads them.
disable_created_metrics()

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "<unmatched>"

HTTP_REQUESTS = Counter(
    "dpa_http_requests",
    "HTTP requests answered, by method, route (the URL rule, not the path) and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "dpa_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
DELIVERIES = Counter(
    "dpa_deliveries",
    "Delivery attempts by channel (email, webhook) and outcome: sent (the server accepted "
    "it), retry (temporary failure, tried again later), failed (given up for good).",
    ["channel", "outcome"],
)
TASKS = Counter("dpa_tasks", "Celery tasks run, by task and final state.", ["task", "state"])
TASK_RETRIES = Counter("dpa_task_retries", "Celery task retries, by task.", ["task"])


# The labelled children of the HTTP metrics, found once per (method, route, status): the
# lookup through `labels()` costs more than the increment. Bounded like the series are.
_request_children: dict[tuple[str, str | None, int], tuple] = {}


def observe_request(method: str, route: str | None, status: int, seconds: float) -> None:
    children = _request_children.get((method, route, status))
    if children is None:
        # Unknown methods and unmatched paths collapse into one label value each, so a
        # scanner cannot grow the number of series (nor this dictionary).
        labels = (method if method in HTTP_METHODS else "OTHER", route or UNMATCHED_ROUTE)
        children = (
            HTTP_REQUESTS.labels(*labels, str(status)),
            HTTP_LATENCY.labels(*labels),
        )
        if labels[0] != "OTHER":
            _request_children[(method, route, status)] = children
    children[0].inc()
    children[1].observe(seconds)


def observe_delivery(channel: str, outcome: str) -> None:
    """Count one delivery attempt: `sent`, `retry` or `failed`."""
    DELIVERIES.labels(channel, outcome).inc()


# --- scrape-time gauges from the database -----------------------------------------------------


class OutboxCollector:
    """Depth and age of the outbox, read from the database at each scrape."""

    def collect(self) -> Iterator[Metric]:
        from sqlalchemy import func, select, text

        from service import clock
        from service.extensions import db
        from service.outbox.models import Delivery, OutboxItem

        up = GaugeMetricFamily("dpa_database_up", "1 if the scrape could read the database.")
        depth = GaugeMetricFamily(
            "dpa_outbox_depth",
            "Rows still pending: outbox items (to expand) and deliveries (to send).",
            labels=["queue"],
        )
        age = GaugeMetricFamily(
            "dpa_outbox_oldest_due_age_seconds",
            "How long the oldest pending row has been due; 0 when nothing is due.",
            labels=["queue"],
        )
        failed = GaugeMetricFamily(
            "dpa_outbox_failed",
            "Rows given up for good: outbox items and deliveries in status failed.",
            labels=["queue"],
        )
        now = clock.now()
        try:
            if db.session.get_bind().dialect.name == "postgresql":
                # A slow database must not hang the scrape; this only lasts the transaction.
                db.session.execute(text("SET LOCAL statement_timeout = 2000"))
            for queue, model, due in (
                ("outbox", OutboxItem, OutboxItem.available_at),
                ("deliveries", Delivery, Delivery.next_attempt_at),
            ):
                count, oldest = db.session.execute(
                    select(func.count(), func.min(due)).where(model.status == "pending")
                ).one()
                depth.add_metric([queue], count)
                age.add_metric([queue], _age(now, oldest))
                failed.add_metric(
                    [queue],
                    db.session.scalar(select(func.count()).where(model.status == "failed")),
                )
        except Exception:
            db.session.rollback()
            up.add_metric([], 0)
            yield up
            return
        db.session.rollback()  # read only: end the transaction (and the timeout)
        up.add_metric([], 1)
        yield from (up, depth, age, failed)


def _age(now: datetime, oldest: datetime | None) -> float:
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:  # SQLite hands back naive UTC
        oldest = oldest.replace(tzinfo=now.tzinfo)
    return max((now - oldest).total_seconds(), 0.0)


def _process_registry() -> CollectorRegistry:
    if not MULTIPROC_DIR:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=MULTIPROC_DIR)
    return registry


def render() -> tuple[bytes, str]:
    """The exposition text: this process group's counters, then the database gauges."""
    database = CollectorRegistry(auto_describe=False)
    database.register(OutboxCollector())
    return generate_latest(_process_registry()) + generate_latest(database), CONTENT_TYPE_LATEST


def start_worker_server(port: int, addr: str = "0.0.0.0") -> None:  # noqa: S104 - a container port
    """Serve a Celery worker's counters (all its pool processes) on `port`."""
    start_http_server(port, addr=addr, registry=_process_registry())


def mark_process_dead(pid: int) -> None:
    if MULTIPROC_DIR:
        multiprocess.mark_process_dead(pid, MULTIPROC_DIR)
