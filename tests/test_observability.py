"""Request ids, JSON logs, /metrics, production settings and key rotation, in-process.
The same things across real processes (gunicorn, worker, beat) are in test_production.py."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import timedelta
from types import SimpleNamespace

import pytest
from flask import Flask, request
from itsdangerous import BadSignature

from service import clock, create_app
from service.config import (
    UnsafeConfiguration,
    default_defaults,
    production_problems,
    signing_keys,
)
from service.extensions import db
from service.mail import delivery as mail_delivery
from service.mail.senders import MemorySender, PermanentFailure
from service.notices import links
from service.observability import logs, tasks
from service.outbox.models import OutboxItem
from tests.conftest import vendor
from tests.test_production import sample

STRONG = "s" * 40


def production(**overrides: object) -> dict:
    settings = {
        **default_defaults(),
        "ENV": "production",
        "SECRET_KEY": STRONG,
        "SQLALCHEMY_DATABASE_URI": "postgresql://dpa@db.internal:5432/dpa",
        "PUBLIC_BASE_URL": "https://dpa.example.com",
        "LOG_FORMAT": "text",  # keep this test process's own log lines as they were
    }
    settings.update(overrides)
    return settings


# --- request ids --------------------------------------------------------------------------------


def test_a_well_formed_request_id_is_kept_and_returned(client) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "edge-7f3a:42"})
    assert response.headers["X-Request-ID"] == "edge-7f3a:42"


@pytest.mark.parametrize("given", [None, "", 'x" injected', "a" * 129, "spaces are not ok"])
def test_a_missing_or_malformed_request_id_is_replaced(client, given) -> None:
    headers = {"X-Request-ID": given} if given is not None else {}
    response = client.get("/healthz", headers=headers)
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_errors_carry_the_request_id_too(client) -> None:
    response = client.post("/api/v1/orgs", data="x", content_type="text/plain")
    assert response.status_code == 415
    assert response.headers["X-Request-ID"]


def test_log_lines_during_a_request_carry_its_id(app: Flask) -> None:
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(logs.JsonFormatter().format(record))

    handler = Collect()
    logger = logging.getLogger("tests.observability")
    logger.addHandler(handler)
    try:
        with app.test_request_context("/x", headers={"X-Request-ID": "rid-1234"}):
            app.preprocess_request()
            logger.warning("inside %s", "the request", extra={"org": "bookero"})
        logger.warning("outside")
    finally:
        logger.removeHandler(handler)
    inside, outside = (json.loads(line) for line in lines)
    assert inside["request_id"] == "rid-1234"
    assert inside["message"] == "inside the request"
    assert inside["org"] == "bookero"
    assert inside["level"] == "WARNING"
    assert inside["logger"] == "tests.observability"
    assert inside["time"].endswith("Z")
    assert "request_id" not in outside


def test_json_lines_hold_exceptions_on_one_line() -> None:
    try:
        raise RuntimeError("boom\nsecond line")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = logs.JsonFormatter().format(record)
    assert "\n" not in line
    assert "RuntimeError: boom" in json.loads(line)["exc_info"]


def test_the_log_format_is_json_in_production_unless_told() -> None:
    assert logs.resolve_format("", "production") == "json"
    assert logs.resolve_format("", "development") == "text"
    assert logs.resolve_format("text", "production") == "text"
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logs.resolve_format("yaml", "production")


def test_tasks_carry_the_request_id_and_restore_the_context() -> None:
    """Publishing stamps the id; the worker binds it while the task runs, then restores."""
    token = logs.request_id_var.set("rid-outer")
    try:
        headers: dict = {}
        tasks.stamp_request_id(headers=headers)
        assert headers == {"request_id": "rid-outer"}

        task = SimpleNamespace(name="workers.tasks.demo", request=SimpleNamespace(request_id="r2"))
        tasks.bind_task("t-1", task)
        assert logs.current_request_id() == "r2"
        assert logs.task_var.get() == ("t-1", "workers.tasks.demo")
        tasks.unbind_task("t-1", task, state="SUCCESS")
        assert logs.current_request_id() == "rid-outer"
        assert logs.task_var.get() is None
    finally:
        logs.request_id_var.reset(token)
    # Work nobody asked for over HTTP (beat) is known by its task id.
    beat_task = SimpleNamespace(name="workers.tasks.sweep_outbox", request=SimpleNamespace())
    tasks.bind_task("t-2", beat_task)
    assert logs.current_request_id() == "t-2"
    tasks.unbind_task("t-2", beat_task, state="SUCCESS")
    assert logs.current_request_id() is None


# --- metrics ------------------------------------------------------------------------------------


def test_metrics_count_requests_by_route_not_path(client, world) -> None:
    world.org("bookero")
    before = client.get("/metrics").get_data(as_text=True)
    labels = {"method": "GET", "route": "/api/v1/orgs/<org>/subprocessors", "status": "200"}
    start = sample(before, "dpa_http_requests_total", **labels) or 0
    for _ in range(3):
        assert client.get("/api/v1/orgs/bookero/subprocessors").status_code == 200
    client.get("/no/such/path/" + "x" * 40)
    after = client.get("/metrics")
    assert after.status_code == 200
    assert after.mimetype == "text/plain"
    text = after.get_data(as_text=True)
    assert sample(text, "dpa_http_requests_total", **labels) == start + 3
    assert sample(text, "dpa_http_requests_total", route="<unmatched>", status="404") >= 1
    assert "/no/such/path" not in text
    assert "bookero" not in text


def test_outbox_gauges_show_depth_and_age_of_what_is_due(client, ctx) -> None:
    now = clock.now()
    db.session.add_all(
        [
            OutboxItem(
                topic="change.announced", payload={}, available_at=now - timedelta(minutes=10)
            ),
            OutboxItem(topic="change.announced", payload={}, available_at=now + timedelta(hours=1)),
            OutboxItem(topic="change.announced", payload={}, status="failed"),
        ]
    )
    db.session.commit()
    text = client.get("/metrics").get_data(as_text=True)
    assert sample(text, "dpa_database_up") == 1
    assert sample(text, "dpa_outbox_depth", queue="outbox") == 2
    assert 600 <= sample(text, "dpa_outbox_oldest_due_age_seconds", queue="outbox") < 700
    assert sample(text, "dpa_outbox_failed", queue="outbox") == 1
    assert sample(text, "dpa_outbox_depth", queue="deliveries") == 0


def test_metrics_ask_for_the_token_when_one_is_set(app: Flask, client) -> None:
    app.config["METRICS_TOKEN"] = "scrape-token-123"
    try:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = client.get("/metrics", headers={"Authorization": "Bearer scrape-token-123"})
        assert right.status_code == 200
    finally:
        app.config["METRICS_TOKEN"] = ""


class Recorder(MemorySender):
    """Keeps what was sent; refuses one address for good."""

    refuse = "gone@salon.example"

    def send(self, message):
        if message["To"].addresses[0].addr_spec == self.refuse:
            raise PermanentFailure("550 5.1.1 mailbox unavailable")
        return super().send(message)


def test_e_mail_outcomes_are_counted(client, world) -> None:
    before = client.get("/metrics").get_data(as_text=True)
    sent = sample(before, "dpa_deliveries_total", channel="email", outcome="sent") or 0
    failed = sample(before, "dpa_deliveries_total", channel="email", outcome="failed") or 0
    recorder = Recorder()
    mail_delivery.use_sender(lambda: recorder)
    try:
        org = world.org("bookero")
        legal = {"Authorization": f"Bearer {world.key('legal', org)}"}
        customer = {
            "external_ref": "C1",
            "name": "Salon",
            "services": ["bookings"],
            "contacts": [
                {"email": "ok@salon.example", "locale": "pl"},
                {"email": Recorder.refuse, "locale": "pl"},
            ],
            "agreement": {"notice_days": 14},
        }
        created = client.post("/api/v1/orgs/bookero/customers", json=customer, headers=legal)
        assert created.status_code == 201, created.json
        created = client.post("/api/v1/orgs/bookero/subprocessors", json=vendor(), headers=legal)
        change = {
            "kind": "add",
            "recipient_id": created.json["id"],
            "effective_on": world.day(org, 30),
        }
        announced = client.post("/api/v1/orgs/bookero/changes", json=change, headers=legal)
        assert announced.status_code == 201, announced.json
    finally:
        mail_delivery.use_sender(None)
    assert recorder.sent  # the notice to the working address (and any alert to legal staff)
    text = client.get("/metrics").get_data(as_text=True)
    assert sample(text, "dpa_deliveries_total", channel="email", outcome="sent") == sent + len(
        recorder.sent
    )
    assert sample(text, "dpa_deliveries_total", channel="email", outcome="failed") == failed + 1


# --- production settings, proxies, key rotation ---------------------------------------------------


def test_production_refuses_defaults_and_names_every_problem() -> None:
    with pytest.raises(UnsafeConfiguration) as refused:
        create_app({"ENV": "production", "LOG_FORMAT": "text"})
    message = str(refused.value)
    assert "DPA_SECRET_KEY" in message
    assert "DATABASE_URL" in message
    assert "DPA_PUBLIC_BASE_URL" in message


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"SECRET_KEY": "dev-only-not-secret"}, "DPA_SECRET_KEY"),
        ({"SECRET_KEY": "x" * 31}, "DPA_SECRET_KEY"),
        ({"SECRET_KEY_FALLBACKS": ["short"]}, "DPA_SECRET_KEY"),
        ({"SQLALCHEMY_DATABASE_URI": "sqlite:///instance/x.sqlite3"}, "DATABASE_URL"),
        ({"PUBLIC_BASE_URL": "http://dpa.example.com"}, "DPA_PUBLIC_BASE_URL"),
        ({"PUBLIC_BASE_URL": "http://127.0.0.1:8000"}, "DPA_PUBLIC_BASE_URL"),  # the default
        ({"CELERY_ALWAYS_EAGER": True}, "DPA_CELERY_ALWAYS_EAGER"),
        ({"MAIL_BACKEND": "memory"}, "DPA_MAIL_BACKEND"),
        ({"ENV": "prod"}, "DPA_ENV"),
    ],
)
def test_each_unsafe_setting_is_refused(overrides: dict, named: str) -> None:
    problems = production_problems(production(**overrides))
    assert len(problems) == 1
    assert named in problems[0]


def test_production_starts_with_safe_settings() -> None:
    assert production_problems(production()) == []
    # A trial on this machine may use plain http on the loopback address.
    assert production_problems(production(PUBLIC_BASE_URL="http://localhost:8000")) == []
    app = create_app(production())
    assert app.config["ENV"] == "production"


def test_proxy_headers_are_trusted_only_for_the_configured_hops(tmp_path) -> None:
    def remote(app: Flask) -> tuple[str, str]:
        @app.get("/_whoami")
        def whoami() -> dict:
            return {"addr": request.remote_addr, "scheme": request.scheme}

        answer = (
            app.test_client()
            .get(
                "/_whoami",
                headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"},
                environ_base={"REMOTE_ADDR": "10.0.0.2"},
            )
            .json
        )
        return answer["addr"], answer["scheme"]

    base = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite3'}"}
    assert remote(create_app(base)) == ("10.0.0.2", "http")
    trusted = {**base, "PROXY_FIX_X_FOR": 1, "PROXY_FIX_X_PROTO": 1}
    assert remote(create_app(trusted)) == ("203.0.113.7", "https")


def test_signed_links_survive_a_key_rotation_while_the_old_key_is_a_fallback(app: Flask) -> None:
    saved = {k: app.config.get(k) for k in ("SECRET_KEY", "SECRET_KEY_FALLBACKS")}
    try:
        with app.app_context():
            app.config.update(SECRET_KEY="old-" + STRONG, SECRET_KEY_FALLBACKS=[])
            token = links._serializer().dumps({"n": 1})
            app.config.update(SECRET_KEY="new-" + STRONG, SECRET_KEY_FALLBACKS=["old-" + STRONG])
            assert signing_keys(app.config) == ["old-" + STRONG, "new-" + STRONG]
            assert links._serializer().loads(token) == {"n": 1}
            # New links are signed with the new key alone.
            fresh = links._serializer().dumps({"n": 2})
            app.config.update(SECRET_KEY_FALLBACKS=[])
            assert links._serializer().loads(fresh) == {"n": 2}
            with pytest.raises(BadSignature):
                links._serializer().loads(token)
    finally:
        app.config.update(saved)
