"""Test fixtures: a fresh PostgreSQL database per run, migrated by Alembic once.

`make test` exports TEST_DATABASE_URL (a server we may create databases on) and
TEST_REDIS_URL. The suite creates its own database and drops it at the end; it never
touches other databases, and never flushes Redis.
"""

from __future__ import annotations

import os
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text, update

from service import clock, create_app
from service.common import NOT_IN_A_LINE
from service.extensions import db
from service.keys import services as keys
from service.mail import delivery as mail_delivery
from service.mail.senders import MemorySender, PermanentFailure
from service.organizations.services import create_organization, create_service

ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _redis_of_this_worker(url: str) -> str:
    """The Redis database of this pytest-xdist worker: the configured number for the first
    (or the only) process, the next numbers for the others. Celery queues, rate-limit
    counters and leases of one worker must never be seen by another, and the suite deletes
    only its own keys, so a database number per worker is the whole separation."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker.removeprefix("gw") or 0)
    parts = urlsplit(url)
    number = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(number + index) % 16}"))


REDIS_URL = _redis_of_this_worker(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/14"))
# Every app a test builds (and every server it starts) runs without rate limits: the suite
# subscribes and opens signed links far faster than any person. tests/test_rate_limits.py
# turns them on where they are the subject.
os.environ.setdefault("DPA_RATE_LIMIT_ENABLED", "false")


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


def _admin(sql: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    name = f"dpa_test_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(ADMIN_URL, name)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    from flask_migrate import upgrade

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": REDIS_URL,
            # Outbox work runs in-process after each request (the `make run` mode without
            # a broker), so API tests exercise the real delivery pipeline end to end.
            # Tests about the broker and workers start their own.
            "CELERY_ALWAYS_EAGER": True,
            # Tests read what they just wrote, sometimes around the ORM; tests/test_public.py
            # covers the public list's state cache under a max age of its own.
            "PUBLIC_STATE_MAX_AGE_SECONDS": 0.0,
            # Likewise keys (revoked around the ORM in some tests); tests/test_keys.py
            # covers the key cache under a max age of its own.
            "KEY_CACHE_MAX_AGE_SECONDS": 0.0,
        }
    )
    app.instance_path = str(tmp_path_factory.mktemp("instance"))
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()
    if fast := app.extensions.get("dpa_registry.customer_list_fast_path"):
        fast.dispose()


@pytest.fixture(autouse=True)
def _shared_celery_app(request: pytest.FixtureRequest) -> None:
    """Tests that build throwaway apps make their Celery app the default: a test using the
    shared app gets its Celery app back first, whatever ran before it."""
    if "app" in request.fixturenames:
        celery = request.getfixturevalue("app").extensions["celery"]
        celery.set_default()
        # A new Celery app is also made the thread's current one, which shared tasks
        # resolve to before the default.
        celery.set_current()


@pytest.fixture(autouse=True)
def _clean_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts from empty tables (real commits, so no nested-transaction tricks)."""
    yield
    if "app" not in request.fixturenames:
        return
    app: Flask = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        db.session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.session.commit()


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    """An application context for calling services directly."""
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """The test client, failing the test at any server error: no request may end in a 500.

    503 is the one 5xx the service answers on purpose (readiness, database unavailable)."""
    client = app.test_client()
    original = client.open

    def open_checked(*args: object, **kwargs: object):
        response = original(*args, **kwargs)
        assert response.status_code < 500 or response.status_code == 503, response.get_data(
            as_text=True
        )
        return response

    client.open = open_checked
    return client


class World:
    """Factories for test data, committed through the real services."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def org(self, slug: str = "bookero", **fields: object) -> dict:
        with self.app.app_context():
            org = create_organization(
                {
                    "slug": slug,
                    "legal_name": f"{slug} sp. z o.o.",
                    "country": "PL",
                    "contact_email": f"legal@{slug}.example",
                    **fields,
                },
                actor="test",
            )
            for svc in ("bookings", "payments"):
                create_service(org, {"slug": svc, "name_pl": svc, "name_en": svc}, actor="test")
            db.session.commit()
            return {"id": org.id, "slug": org.slug, "timezone": org.timezone}

    def key(self, role: str, org: dict | None = None, customer_id: int | None = None) -> str:
        with self.app.app_context():
            _, token = keys.create_key(
                role=role,
                name=f"{role}-{uuid.uuid4().hex[:6]}",
                organization_id=org["id"] if org else None,
                customer_id=customer_id,
                actor="test",
            )
            db.session.commit()
            return token

    def today(self, org: dict) -> date:
        return clock.local_today(org["timezone"])

    def day(self, org: dict, offset: int) -> str:
        return (self.today(org) + timedelta(days=offset)).isoformat()


# Modules that write calendar dates as literals (legal facts, past relationships, due dates)
# run at this moment, so that what they assert never depends on the day the suite runs.
FIXED_MOMENT = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)


@pytest.fixture
def fixed_clock(time_machine) -> datetime:
    """The clock of this process moved to FIXED_MOMENT (running on from there)."""
    time_machine.move_to(FIXED_MOMENT)
    return FIXED_MOMENT


@pytest.fixture
def world(app: Flask) -> World:
    return World(app)


@pytest.fixture
def org(world: World) -> dict:
    """The organization most tests work in; modules may override it."""
    return world.org("bookero")


@pytest.fixture
def legal(world: World, org: dict) -> dict:
    """Authorization headers of that organization's legal staff."""
    return bearer(world.key("legal", org))


class MailSink(MemorySender):
    """The in-memory sender, shared across batches: `refuse` makes chosen addresses fail
    for good (a 550), `hook` runs before each message is kept."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse: set[str] = set()
        self.hook: Callable[[EmailMessage], None] | None = None

    def send(self, message: EmailMessage) -> str:
        if message["To"].addresses[0].addr_spec in self.refuse:
            raise PermanentFailure("550 5.1.1 mailbox unavailable")
        if self.hook is not None:
            self.hook(message)
        return super().send(message)


@pytest.fixture
def outbox_mail() -> Iterator[MailSink]:
    """Messages the in-process pipeline sends during the test, instead of .eml files."""
    sink = MailSink()
    mail_delivery.use_sender(lambda: sink)
    yield sink
    mail_delivery.use_sender(None)


def audit_events(client: FlaskClient, org: dict, headers: dict, **filters: object) -> list[dict]:
    """The organization's audit events, newest first, as legal staff read them."""
    response = client.get(
        f"/api/v1/orgs/{org['slug']}/audit",
        query_string={"per_page": 500, **filters},
        headers=headers,
    )
    assert response.status_code == 200, response.json
    return response.json["items"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def vendor(**overrides: object) -> dict:
    """A valid registration body; override what the test is about."""
    body = {
        "name": "Hetzner",
        "legal_entity": "Hetzner Online GmbH",
        "address": "Industriestr. 25, 91710 Gunzenhausen",
        "country": "DE",
        "website": "https://www.hetzner.com",
        "role": "subprocessor",
        "purpose_pl": "Hosting serwerów aplikacji",
        "purpose_en": "Hosting of application servers",
        "data_categories_pl": ["dane kontaktowe"],
        "data_categories_en": ["contact details"],
        "data_subject_categories": ["clients of customers"],
        "services": [],
        "locations": [{"country": "DE", "mechanism": "none", "activity": "hosting"}],
    }
    body.update(overrides)
    return body


def one_line(name: str) -> str:
    """`name` without what one-line fields refuse (service.common.check_single_line)."""
    return "".join(ch for ch in name if unicodedata.category(ch) not in NOT_IN_A_LINE)


def legacy_name(app: Flask, model: type, row_id: int, name: str) -> None:
    """Store a name the API now refuses (CR/LF, control characters), as rows written before
    that rule may hold, for tests of the defences behind the API (mail, feeds)."""
    with app.app_context():
        db.session.execute(update(model).where(model.id == row_id).values(name=name))
        db.session.commit()


def moved_clock(app: Flask, monkeypatch: pytest.MonkeyPatch, setting: str, held) -> Iterator[dict]:
    """A per-process cache (`held`, with `clock` and `clear`) under a max age of 2 s set in
    `setting`, with a clock the test moves (`clock["now"] += seconds`)."""
    clock = {"now": 1000.0}
    monkeypatch.setitem(app.config, setting, 2.0)
    monkeypatch.setattr(held, "clock", lambda: clock["now"])
    held.clear()
    yield clock
    held.clear()


def fast_and_flask(fast, monkeypatch: pytest.MonkeyPatch) -> tuple:
    """(fast, flask, calls) for a WSGI fast path layer: a client through it, one straight to
    the Flask app behind it, and the paths of the requests it handed to Flask."""
    from werkzeug.test import Client

    calls: list[str] = []
    inner = fast.wsgi_app

    def counted(environ, start_response):
        calls.append(environ["PATH_INFO"])
        return inner(environ, start_response)

    monkeypatch.setattr(fast, "wsgi_app", counted)
    return Client(fast), Client(inner), calls
