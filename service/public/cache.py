"""A cache of the public list and page that can never be stale.

Every rendering is cached under `Key(organization, list token, org-local date, language,
format)`. Nothing is ever invalidated by deleting entries; instead the key moves:

- The **list token** (`public_list_versions`) is replaced in the same transaction as any
  write that can change what the page shows. It is bumped here, from session events, not
  by each service: a write path added later (an import, a CLI command, a migration of data
  through the ORM) cannot forget it. A rolled-back write rolls its bump back with it.
- The **org-local date** is part of the key, so a change that reaches its effective date
  is shown from the organization's midnight on, with no job having run: the list as of a
  date follows from stored dates (see service/recipients/models.py).

The ETag is a digest of the key (plus a fingerprint of the rendering code and templates,
so a deploy that changes the page changes it too), so a conditional request costs no
rendering.

What a request needs to build the key (organization id, time zone, token) is kept per
process for at most `PUBLIC_STATE_MAX_AGE_SECONDS` (`StateCache`), so a cache hit and a 304
touch neither the ORM nor the database. That bound is the only staleness: a process drops
every state at once when it commits a write that replaced a token, and any other process
reads the new token within the bound (0 reads it on every request).

Bodies live in a per-process LRU bounded by bytes: correctness does not depend on sharing
(the key already says everything), a rendering of the page is cheap, and an in-process
cache has no failure mode to fall back from. Pages of the API's list and diff are also
shared through Redis (`SharedBodies`): a diff across years of history costs up to 0.8 s
to render, once per process without it; there a Redis error is a miss.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import redis
from sqlalchemy import case, event, func, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.sql.elements import TextClause

from service import clock
from service.agreements.models import AgreementVersion
from service.changes.models import Change, Notice
from service.customers.models import Customer, CustomerAgreement, customer_services
from service.extensions import db
from service.objections.models import Exclusion, Objection
from service.organizations.models import Organization, Service
from service.public.models import ListVersion
from service.recipients.models import (
    ProcessingLocation,
    Recipient,
    RecipientListingPeriod,
    RecipientRevision,
    TransferAssessment,
    revision_services,
)

log = logging.getLogger(__name__)

_PENDING = "dpa_public_list_writes"
_BUMPED = "dpa_public_list_bumped"
# Columns the page never shows that the beat job stamps on changes every few minutes:
# bumping for them would only move Last-Modified and empty the cache for nothing.
IGNORED = {Change: {"reminder_recorded_at", "in_effect_recorded_at"}}
# A transfer assessment decides what may be said of a safeguard (a negative one leaves it
# "under review"), and listing periods decide when a vendor was listed: both are shown.
TRACKED = (
    Organization,
    Service,
    Recipient,
    RecipientRevision,
    RecipientListingPeriod,
    ProcessingLocation,
    Change,
    TransferAssessment,
)
# Tables that Core-level (bulk) DML may touch without going through the unit of work; by
# name, since an ORM `update(Recipient)` carries an annotated copy of the table.
LIST_TABLES = frozenset(model.__table__.name for model in TRACKED) | {revision_services.name}
# What decides which of the list's vendors apply to one customer: its services and terms,
# exclusions, and the consents its notices asked for. These replace `customers_token`.
CUSTOMER_TRACKED = (Customer, CustomerAgreement, AgreementVersion, Notice, Objection, Exclusion)
# Of a notice only these matter (its delivery does: the notice period runs from it).
CUSTOMER_RELEVANT = {
    Notice: {"response", "customer_id", "change_id", "delivered_at", "withdrawn_at", "notice_days"}
}
CUSTOMER_TABLES = frozenset(m.__table__.name for m in CUSTOMER_TRACKED) | {customer_services.name}


# --- the write side: one token per organization, replaced by every relevant write ----------


@dataclass
class _Pending:
    organizations: set[int]
    recipients: set[int]
    revisions: set[int]
    everything: bool = False
    # The customer side: organizations, and customers whose organization is looked up.
    customer_organizations: set[int] = field(default_factory=set)
    customers: set[int] = field(default_factory=set)
    all_customers: bool = False


def _pending(session: Session) -> _Pending:
    found = session.info.get(_PENDING)
    if found is None:
        found = session.info[_PENDING] = _Pending(set(), set(), set())
    return found


def _changed(obj: object) -> bool:
    ignored = IGNORED.get(type(obj), set())
    relevant = CUSTOMER_RELEVANT.get(type(obj))
    state = inspect(obj)
    return any(
        attr.history.has_changes()
        for attr in state.attrs
        if attr.key not in ignored and (relevant is None or attr.key in relevant)
    )


def _note_customer_side(session: Session, obj: object) -> None:
    pending = _pending(session)
    if isinstance(obj, Customer | AgreementVersion | Objection):
        ids, value = pending.customer_organizations, obj.organization_id
    elif isinstance(obj, CustomerAgreement | Exclusion | Notice):
        ids, value = pending.customers, obj.customer_id
    else:
        return
    if value is None:
        pending.all_customers = True
    else:
        ids.add(value)


def _note(session: Session, obj: object) -> None:
    if isinstance(obj, Organization):
        ids, value = _pending(session).organizations, obj.id
    elif isinstance(obj, Recipient | Change | Service | TransferAssessment):
        ids, value = _pending(session).organizations, obj.organization_id
    elif isinstance(obj, RecipientRevision | RecipientListingPeriod):
        ids, value = _pending(session).recipients, obj.recipient_id
    elif isinstance(obj, ProcessingLocation):
        ids, value = _pending(session).revisions, obj.revision_id
    else:
        return
    if value is None:
        _pending(session).everything = True  # cannot tell whose: over-invalidating is safe
    else:
        ids.add(value)


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context: UOWTransaction) -> None:
    # Histories still show what this flush wrote (they are reset after this event).
    for obj in session.new | session.deleted:
        _note(session, obj)
        _note_customer_side(session, obj)
    for obj in session.dirty:
        if isinstance(obj, TRACKED) and _changed(obj):
            _note(session, obj)
        elif isinstance(obj, CUSTOMER_TRACKED) and _changed(obj):
            _note_customer_side(session, obj)


# The tables a raw SQL statement writes to; any other word after UPDATE is harmless.
_RAW_DML = re.compile(r"\b(?:insert\s+into|update|delete\s+from)\s+\"?(\w+)", re.IGNORECASE)


@event.listens_for(Session, "do_orm_execute")
def _collect_bulk(state) -> None:
    statement = state.statement
    if isinstance(statement, TextClause):
        # Raw SQL through the session (scripts, tests) cannot tell whose rows it wrote.
        tables = {name.lower() for name in _RAW_DML.findall(statement.text)}
    elif state.is_insert or state.is_update or state.is_delete:
        tables = {getattr(getattr(statement, "table", None), "name", None)}
    else:
        return
    if tables & LIST_TABLES:
        _pending(state.session).everything = True
    if tables & CUSTOMER_TABLES:
        _pending(state.session).all_customers = True


# The tokens are replaced at commit, not at each flush: the version row's lock is then the
# last lock a transaction takes, held only while it commits, so a writer waits on it only
# for a transaction already committing, never in a cycle with the audit chain or vendor
# row locks that writes take earlier (organization ids are also locked in sorted order).
@event.listens_for(Session, "before_commit")
def _bump_on_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the outer transaction bumps when it commits
    session.flush()  # what commit would flush next must be collected too
    pending = session.info.pop(_PENDING, None)
    if pending is None:
        return
    connection = session.connection()
    organizations = _organizations_of(connection, pending)
    customer_side = _customer_organizations_of(connection, pending)
    if organizations or customer_side:
        bump(connection, organizations, customer_side)
        session.info[_BUMPED] = bool(organizations)


@event.listens_for(Session, "after_commit")
def _drop_states(session: Session) -> None:
    # After, not before, the commit: a request of this process reading the state in between
    # would otherwise keep the old token for a whole max age.
    if session.info.pop(_BUMPED, False):
        states.clear()


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def _organizations_of(connection: Connection, pending: _Pending) -> list[int]:
    """Resolve what was written to organization ids (every organization if unsure)."""
    orgs = Organization.__table__
    if pending.everything:
        return list(connection.scalars(select(orgs.c.id).order_by(orgs.c.id)))
    ids = set(pending.organizations)
    if not (ids or pending.recipients or pending.revisions):
        return []
    recipients = Recipient.__table__
    revisions = RecipientRevision.__table__
    if pending.revisions:
        found = dict(
            connection.execute(
                select(revisions.c.id, revisions.c.recipient_id).where(
                    revisions.c.id.in_(pending.revisions)
                )
            ).all()
        )
        if len(found) < len(pending.revisions):  # deleted with its revision: unknown owner
            return _organizations_of(connection, _Pending(set(), set(), set(), True))
        pending.recipients |= set(found.values())
    if pending.recipients:
        found = dict(
            connection.execute(
                select(recipients.c.id, recipients.c.organization_id).where(
                    recipients.c.id.in_(pending.recipients)
                )
            ).all()
        )
        if len(found) < len(pending.recipients):
            return _organizations_of(connection, _Pending(set(), set(), set(), True))
        ids |= set(found.values())
    # Only organizations that still exist; sorted, so two transactions lock rows in one order.
    return list(connection.scalars(select(orgs.c.id).where(orgs.c.id.in_(ids)).order_by(orgs.c.id)))


def _customer_organizations_of(connection: Connection, pending: _Pending) -> list[int]:
    """Resolve customer-side writes to organization ids (every organization if unsure)."""
    orgs = Organization.__table__
    ids = set(pending.customer_organizations)
    if pending.customers and not pending.all_customers:
        customers = Customer.__table__
        found = dict(
            connection.execute(
                select(customers.c.id, customers.c.organization_id).where(
                    customers.c.id.in_(pending.customers)
                )
            ).all()
        )
        ids |= set(found.values())
        if len(found) < len(pending.customers):  # deleted with its customer: unknown owner
            pending.all_customers = True
    if pending.all_customers:
        return list(connection.scalars(select(orgs.c.id)))
    return list(connection.scalars(select(orgs.c.id).where(orgs.c.id.in_(ids)))) if ids else []


def bump(
    connection: Connection, organization_ids: list[int], customer_side: list[int] = ()
) -> None:
    """Give each organization of `organization_ids` a new list token, and each of
    `customer_side` a new customers token (inserting its row if it has none).

    One statement for both, its rows sorted: two transactions lock the rows in one order.
    """
    table = ListVersion.__table__
    now = clock.now()
    listed, customers = set(organization_ids), set(customer_side)
    rows = [
        {
            "organization_id": i,
            "version": 1 if i in listed else 0,  # 0: leave the list token as it is
            "token": secrets.token_hex(16),
            "changed_at": now,
            "customers_token": secrets.token_hex(16) if i in customers else None,
        }
        for i in sorted(listed | customers)
    ]
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table).values(rows)
    moved = stmt.excluded.version > 0
    connection.execute(
        stmt.on_conflict_do_update(
            index_elements=[table.c.organization_id],
            set_={
                "version": table.c.version + stmt.excluded.version,
                "token": case((moved, stmt.excluded.token), else_=table.c.token),
                "changed_at": case((moved, stmt.excluded.changed_at), else_=table.c.changed_at),
                "customers_token": func.coalesce(
                    stmt.excluded.customers_token, table.c.customers_token
                ),
            },
        )
    )


# --- the read side --------------------------------------------------------------------------


@dataclass(frozen=True)
class ListState:
    token: str
    changed_at: datetime


def list_state(organization_id: int) -> ListState | None:
    """The organization's current token; None only for an organization written around the
    ORM (then nothing is cached for it)."""
    row = db.session.execute(
        select(ListVersion.token, ListVersion.changed_at).where(
            ListVersion.organization_id == organization_id
        )
    ).one_or_none()
    return ListState(*row) if row else None


@dataclass(frozen=True)
class OrganizationState:
    """What a public request needs before it can answer from the cache."""

    id: int
    slug: str
    timezone: str
    listing: ListState | None


def read_state(slug: str) -> OrganizationState | None:
    """The organization and its token in one round trip; None if there is no such slug."""
    row = db.session.execute(
        select(
            Organization.id,
            Organization.slug,
            Organization.timezone,
            ListVersion.token,
            ListVersion.changed_at,
        )
        .outerjoin(ListVersion, ListVersion.organization_id == Organization.id)
        .where(Organization.slug == slug)
    ).one_or_none()
    if row is None:
        return None
    state = ListState(row.token, row.changed_at) if row.token is not None else None
    return OrganizationState(row.id, row.slug, row.timezone, state)


class StateCache:
    """Organization states by slug, each reused for at most `max_age` seconds.

    Unknown slugs are not remembered (an organization created a moment later must be
    found), and neither are organizations without a token (nothing of theirs is cached).
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, OrganizationState]] = {}
        self._lock = threading.Lock()
        self.clock = time.monotonic  # tests move it

    def get(self, slug: str, max_age: float) -> OrganizationState | None:
        found = self.peek(slug, max_age)
        if found is not None:
            return found
        state = read_state(slug)
        if max_age > 0 and state is not None and state.listing is not None:
            with self._lock:
                if len(self._entries) >= MAX_STATES:
                    self._entries.clear()  # a crude bound; one read refills an entry
                self._entries[slug] = (self.clock(), state)
        return state

    def peek(self, slug: str, max_age: float) -> OrganizationState | None:
        """The state if one is held and fresh enough; never reads the database."""
        found = self._entries.get(slug) if max_age > 0 else None
        if found is not None and self.clock() - found[0] < max_age:
            return found[1]
        return None

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


# Far more organizations than one deployment serves; only bounds memory against surprises.
MAX_STATES = 10_000
states = StateCache()


def _fingerprint() -> str:
    """A digest of the code and templates that render the page: a deploy moves every key."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    parts = [
        *sorted(Path(__file__).parent.glob("*.py")),
        *sorted((root / "templates" / "public").glob("*")),
        root / "static" / "css" / "public.css",
    ]
    for path in parts:
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


RENDERING = _fingerprint()


@dataclass(frozen=True)
class Key:
    organization_id: int
    token: str
    day: date
    language: str
    form: str

    @property
    def etag(self) -> str:
        """A strong validator: one key always renders the same bytes."""
        return _etag(self)


@functools.lru_cache(maxsize=1024)
def _etag(key: Key) -> str:
    # Remembered: every cache hit and 304 needs it, and it only changes with the key.
    raw = "|".join(
        (RENDERING, str(key.organization_id), key.token, key.day.isoformat(),
         key.language, key.form)
    )  # fmt: skip
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def tokens(organization_id: int) -> tuple[str, str | None] | None:
    """The organization's list and customers tokens; None for an organization written
    around the ORM (then nothing is cached for it). A customers token is None until the
    first customer-side write after the migration that added it: a state like any other."""
    row = db.session.execute(
        select(ListVersion.token, ListVersion.customers_token).where(
            ListVersion.organization_id == organization_id
        )
    ).one_or_none()
    return (row.token, row.customers_token) if row else None


@dataclass(frozen=True)
class CustomerKey:
    """One customer's list on one day, as legal staff (due diligence shown) or not."""

    organization_id: int
    token: str
    customers_token: str | None
    customer_id: int
    day: date
    legal: bool


class BodyCache:
    """A thread-safe LRU of rendered bodies, bounded by their total size."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            body = self._entries.get(key)
            if body is not None:
                self._entries.move_to_end(key)
            return body

    def put(self, key: Hashable, body: bytes) -> None:
        if len(body) > self.max_bytes // 4:
            return  # one huge list must not evict everything else
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._size -= len(old)
            self._entries[key] = body
            self._size += len(body)
            while self._size > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._size -= len(evicted)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._size = 0

    def __len__(self) -> int:
        return len(self._entries)


class KeySet:
    """A thread-safe set of keys, emptied whole when it reaches `max_keys` (a crude bound;
    one read puts a key back)."""

    def __init__(self, max_keys: int) -> None:
        self.max_keys = max_keys
        self._keys: set[Hashable] = set()
        self._lock = threading.Lock()

    def __contains__(self, key: Hashable) -> bool:
        return key in self._keys

    def add(self, key: Hashable) -> None:
        with self._lock:
            if len(self._keys) >= self.max_keys:
                self._keys.clear()
            self._keys.add(key)

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()

    def __len__(self) -> int:
        return len(self._keys)


bodies = BodyCache(max_bytes=32 * 1024 * 1024)
# Pages of the API's list and diff as anyone may read them (service/recipients/pages.py).
api_pages = BodyCache(max_bytes=32 * 1024 * 1024)


@functools.cache
def code_fingerprint() -> str:
    """A digest of the whole service package's code and data: shared entries outlive a
    process, and a deploy must never read what older code rendered."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.suffix in {".py", ".json", ".html"}):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


class SharedBodies:
    """Rendered bodies shared by every process through Redis, so one rendering serves all
    (per-process entries alone left each gunicorn worker to render a page once: 0.3-0.8 s
    for a diff across years of history). The key names the list token and the code, so an
    entry is never stale, only unused until it expires. Redis only spares work here: an
    error is a miss, and the process then leaves Redis alone for 30 s."""

    def __init__(self) -> None:
        self._clients: dict[str, redis.Redis] = {}
        self._down_until = 0.0

    def _client(self, url: str) -> redis.Redis | None:
        if time.monotonic() < self._down_until:
            return None
        if url not in self._clients:
            self._clients[url] = redis.Redis.from_url(
                url, socket_connect_timeout=0.2, socket_timeout=0.5
            )
        return self._clients[url]

    @staticmethod
    def name(key: tuple) -> str:
        return "dpa:page:" + hashlib.sha256(f"{code_fingerprint()}{key!r}".encode()).hexdigest()

    def get(self, url: str, key: tuple) -> bytes | None:
        return self._call(url, lambda client: client.get(self.name(key)))

    def put(self, url: str, key: tuple, body: bytes, seconds: int, budget: int) -> None:
        """Share `body` for `seconds`, unless the bytes shared in this window of `seconds`
        would pass `budget`. Redis is also the broker (`noeviction`), and anyone may ask for
        any dates and pages: entries live one window, so pages never hold more than about
        two budgets of its memory, and past the budget a page stays in its process only."""

        def store(client: redis.Redis) -> None:
            counter = f"dpa:page:bytes:{seconds}:{int(clock.timestamp() // seconds)}"
            pipe = client.pipeline()
            pipe.incrby(counter, len(body))
            pipe.expire(counter, 2 * seconds)
            if pipe.execute()[0] <= budget:
                client.set(self.name(key), body, ex=seconds)

        self._call(url, store)

    def _call(self, url: str, action):
        client = self._client(url)
        if client is None:
            return None
        try:
            return action(client)
        except redis.RedisError as exc:
            log.warning("shared pages: Redis unavailable, rendering in-process: %s", exc)
            self._down_until = time.monotonic() + 30
            return None


shared_pages = SharedBodies()
# Customers' own lists (service/customers/subprocessors.py), apart: many small entries.
customer_lists = BodyCache(max_bytes=32 * 1024 * 1024)
# (customer, day) keys under the tokens for which no announced change after the day was
# notified to the customer: whether one is depends only on notices (their customer and
# change) and on changes (status, effective date), and every write to either moves a token.
nothing_ahead = KeySet(max_keys=100_000)
