"""A WSGI layer in front of Flask for a customer reading its own list with its own key.

It answers `GET`/`HEAD` of `/api/v1/orgs/<slug>/customers/<id>/subprocessors`, with no
query string and an `Authorization: Bearer <key>` header, only when everything it needs
is at hand. One statement, in one snapshot, reads the key by its public prefix, the
customer in the organization named by the slug, the organization's time zone and both of
its list tokens. The answer is given only if the key is a customer key of that customer
(and so of that tenant), unrevoked, and its stored SHA-256 equals the presented key's
(compared in constant time); and if, under the tokens just read and the organization's
date, this process holds the customer's items (`cache.customer_lists`) and knows that no
change is ahead of it (`cache.nothing_ahead`). The bytes are the view's own
(`views.list_body`), so the answer is Flask's; the request is counted under its route and
carries its request id to gunicorn's access log.

Nothing it reads is older than the request: a write in any process moves a token that is
read here every time, and a revoked key is refused at once (the key is read with the
tokens, so the key cache is not needed here and its max age bounds only Flask's path).
Anything else goes to Flask untouched: another method or path, a query string (`as_of`),
a malformed header, an unknown, wrong, revoked or non-customer key, another customer's id,
another tenant's slug, notices ahead (their deadlines and answers move with the clock),
items not cached, and any error (a dropped connection included; Flask's path replaces it).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections.abc import Callable
from typing import NamedTuple

from flask import Flask
from sqlalchemy import Engine, bindparam, create_engine, select

from service import clock
from service.common import MAX_ID
from service.customers.models import Customer
from service.keys.models import ApiKey
from service.notices import views
from service.organizations.models import Organization
from service.public import cache
from service.public.fastpath import FastPath
from service.public.models import ListVersion

PATH = re.compile(r"/api/v1/orgs/([a-z0-9-]{1,63})/customers/([1-9][0-9]{0,9})/subprocessors")
EXTENSION = "dpa_registry.customer_list_fast_path"
RULE = "/api/v1/orgs/<org>/customers/<int:customer_id>/subprocessors"
# As service.keys.services makes them; anything else is Flask's to refuse.
BEARER = re.compile(r"Bearer (dpa_([0-9a-f]{12})_[A-Za-z0-9_-]{1,128})")

_keys, _customers = ApiKey.__table__, Customer.__table__
_orgs, _versions = Organization.__table__, ListVersion.__table__
READ = (
    select(
        _keys.c.secret_sha256,
        _keys.c.role,
        _keys.c.organization_id.label("key_organization_id"),
        _keys.c.revoked_at,
        _orgs.c.id,
        _orgs.c.timezone,
        _versions.c.token,
        _versions.c.customers_token,
    )
    .select_from(_keys)
    .join(_customers, _customers.c.id == _keys.c.customer_id)
    .join(_orgs, _orgs.c.id == _customers.c.organization_id)
    .outerjoin(_versions, _versions.c.organization_id == _orgs.c.id)
    .where(
        _keys.c.prefix == bindparam("prefix"),
        _customers.c.id == bindparam("customer_id"),
        _orgs.c.slug == bindparam("slug"),
    )
)


class Found(NamedTuple):
    """A row of READ, by the names of its columns."""

    secret_sha256: str
    role: str
    key_organization_id: int | None
    revoked_at: object
    id: int
    timezone: str
    token: str | None
    customers_token: str | None


class CustomerListFastPath(FastPath):
    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        super().__init__(app, wsgi_app)
        self._reader: tuple[Engine, str, tuple[str, ...] | None] | None = None
        self._lock = threading.Lock()
        app.extensions[EXTENSION] = self

    @property
    def engine(self) -> Engine:
        return self._read_with()[0]

    def _read_with(self) -> tuple[Engine, str, tuple[str, ...] | None]:
        """This layer's own small pool, made on first use (in the worker, after any fork),
        with READ compiled for it once (and its parameters' order, if positional).

        Autocommit, so the one SELECT is the whole exchange (no BEGIN, no ROLLBACK on
        return), and no pre-ping: a dead connection fails the statement, which hands the
        request to Flask, whose pool pings. One more connection per worker process.
        A hit through Flask (key cached) took the pre-ping and 2 statements in a
        transaction, 7 psycopg waits; here 1 statement, 2 waits. In-process (test client,
        50 vendors, 300 hits) 4.3 -> 1.8 ms a hit; under gunicorn (bench/http_list.py,
        load 6.7) the own list went from 0.14 to 0.71 of the baseline.
        """
        if self._reader is None:
            with self._lock:
                if self._reader is None:
                    options = {
                        **self.app.config["SQLALCHEMY_ENGINE_OPTIONS"],
                        "pool_pre_ping": False,
                        "pool_size": 1,
                        "isolation_level": "AUTOCOMMIT",
                    }
                    engine = create_engine(self.app.config["SQLALCHEMY_DATABASE_URI"], **options)
                    compiled = READ.compile(dialect=engine.dialect)
                    self._reader = (engine, str(compiled), compiled.positiontup)
        return self._reader

    def _read(self, params: dict) -> Found | None:
        """READ on the DB-API cursor itself: SQLAlchemy's execution around one statement
        cost 295 us of CPU, the cursor 88 us (3,000 reads, load 8)."""
        engine, sql, order = self._read_with()
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(sql, tuple(params[name] for name in order) if order else params)
            row = cursor.fetchone()
            cursor.close()
        except Exception:
            raw.invalidate()  # whatever broke, the next request connects afresh
            raise
        finally:
            raw.close()  # back to the pool
        return Found(*row) if row is not None else None

    def dispose(self) -> None:
        """Close this layer's connections (as `db.engine.dispose()` does Flask's)."""
        if self._reader is not None:
            self._reader[0].dispose()

    def _answer(self, environ: dict) -> tuple[int, str, list, bytes] | None:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or environ.get("QUERY_STRING"):
            return None
        path = PATH.fullmatch(environ.get("PATH_INFO", ""))
        bearer = BEARER.fullmatch(environ.get("HTTP_AUTHORIZATION", ""))
        if path is None or bearer is None or environ.get("SCRIPT_NAME"):
            return None
        slug, customer_id = path[1], int(path[2])
        if customer_id > MAX_ID:
            return None
        row = self._read({"prefix": bearer[2], "customer_id": customer_id, "slug": slug})
        if not _admits(row, bearer[1]) or row.token is None:
            return None
        day = clock.local_today(row.timezone, clock.now())
        key = cache.CustomerKey(row.id, row.token, row.customers_token, customer_id, day, False)
        items = cache.customer_lists.get(key) if key in cache.nothing_ahead else None
        if items is None:
            return None
        body = views.list_body(day, items, [])
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        return 200, RULE, headers, body


def _admits(row: Found | None, token: str) -> bool:
    """The key is this customer's own (its row joined the customer, whose organization has
    the slug), a customer key of that organization, unrevoked, and the one presented."""
    if row is None or row.role != "customer" or row.key_organization_id != row.id:
        return False
    digest = hashlib.sha256(token.encode()).hexdigest()
    return row.revoked_at is None and hmac.compare_digest(row.secret_sha256, digest)
