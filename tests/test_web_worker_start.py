"""A web worker connects to the broker, the database and Redis when gunicorn starts it, not
inside its first request (an announcement paid ~250 ms for the broker, once per worker; a
page of the list 54-74 ms for the rest)."""

from __future__ import annotations

import logging
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest
from kombu.connection import Connection

CONF = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"


@pytest.fixture
def start_worker(app, monkeypatch):
    monkeypatch.setitem(app.config, "CELERY_ALWAYS_EAGER", False)
    hook = runpy.run_path(str(CONF))["post_worker_init"]
    log = SimpleNamespace(warning=logging.getLogger("gunicorn.error").warning)
    return lambda: hook(SimpleNamespace(wsgi=app, log=log))


def test_a_started_worker_holds_a_connected_producer(app, start_worker):
    start_worker()
    # The pool hands the same producer back: the request's first task finds it connected.
    with app.extensions["celery"].producer_or_acquire() as producer:
        assert producer.connection.connected


def test_a_broker_down_at_start_is_no_failure(start_worker, monkeypatch, caplog):
    def refuse(self, *args, **kwargs):
        raise ConnectionRefusedError("no broker")

    monkeypatch.setattr(Connection, "ensure_connection", refuse)
    with caplog.at_level(logging.WARNING):
        start_worker()
    assert "broker unavailable at start" in caplog.text


def test_another_app_under_these_settings_starts_without_a_broker():
    """The benchmarks serve their minimal Flask baseline with this configuration: its workers
    must start (a hook that needed our extensions made gunicorn exit with 3)."""
    from flask import Flask

    hook = runpy.run_path(str(CONF))["post_worker_init"]
    assert hook(SimpleNamespace(wsgi=Flask("baseline"))) is None


def test_a_started_worker_holds_a_database_and_a_redis_connection(app, start_worker, monkeypatch):
    from service.extensions import db
    from service.public import cache

    shared = cache.SharedBodies()
    monkeypatch.setattr(cache, "shared_pages", shared)
    with app.app_context():
        db.engine.dispose()
        start_worker()
        assert db.engine.pool.checkedin() == 1  # opened, and back in the pool
    client = shared._clients[app.config["REDIS_URL"]]
    assert client.connection_pool._created_connections == 1


def test_a_database_down_at_start_is_no_failure(app, start_worker, monkeypatch, caplog):
    from service import web

    def refuse():
        raise ConnectionRefusedError("no database")

    monkeypatch.setattr(web, "warm_worker", refuse)
    with caplog.at_level(logging.WARNING):
        start_worker()
    assert "worker warm-up failed" in caplog.text
