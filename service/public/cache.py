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

Bodies live in a per-process LRU bounded by bytes. Redis would let processes share
renderings, but correctness does not depend on sharing (the key already says everything),
a rendering is cheap, and an in-process cache has no failure mode to fall back from.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import event, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, UOWTransaction

from service.changes.models import Change
from service.db_types import utcnow
from service.extensions import db
from service.organizations.models import Organization, Service
from service.public.models import ListVersion
from service.recipients.models import (
    ProcessingLocation,
    Recipient,
    RecipientRevision,
    revision_services,
)

_PENDING = "dpa_public_list_writes"
_BUMPED = "dpa_public_list_bumped"
# Columns the page never shows that the beat job stamps on changes every few minutes:
# bumping for them would only move Last-Modified and empty the cache for nothing.
IGNORED = {Change: {"reminder_recorded_at", "in_effect_recorded_at"}}
TRACKED = (Organization, Service, Recipient, RecipientRevision, ProcessingLocation, Change)
# Tables that Core-level (bulk) DML may touch without going through the unit of work; by
# name, since an ORM `update(Recipient)` carries an annotated copy of the table.
LIST_TABLES = frozenset(model.__table__.name for model in TRACKED) | {revision_services.name}


# --- the write side: one token per organization, replaced by every relevant write ----------


@dataclass
class _Pending:
    organizations: set[int]
    recipients: set[int]
    revisions: set[int]
    everything: bool = False


def _pending(session: Session) -> _Pending:
    found = session.info.get(_PENDING)
    if found is None:
        found = session.info[_PENDING] = _Pending(set(), set(), set())
    return found


def _changed(obj: object) -> bool:
    ignored = IGNORED.get(type(obj), set())
    state = inspect(obj)
    return any(attr.history.has_changes() for attr in state.attrs if attr.key not in ignored)


def _note(session: Session, obj: object) -> None:
    if isinstance(obj, Organization):
        ids, value = _pending(session).organizations, obj.id
    elif isinstance(obj, Recipient | Change | Service):
        ids, value = _pending(session).organizations, obj.organization_id
    elif isinstance(obj, RecipientRevision):
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
    for obj in session.dirty:
        if isinstance(obj, TRACKED) and _changed(obj):
            _note(session, obj)


@event.listens_for(Session, "do_orm_execute")
def _collect_bulk(state) -> None:
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    if getattr(getattr(state.statement, "table", None), "name", None) in LIST_TABLES:
        _pending(state.session).everything = True


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
    if organizations:
        bump(connection, organizations)
        session.info[_BUMPED] = True


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


def bump(connection: Connection, organization_ids: list[int]) -> None:
    """Give each organization a new token (inserting its row if it has none)."""
    table = ListVersion.__table__
    now = utcnow()
    rows = [
        {"organization_id": i, "version": 1, "token": secrets.token_hex(16), "changed_at": now}
        for i in organization_ids
    ]
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table).values(rows)
    connection.execute(
        stmt.on_conflict_do_update(
            index_elements=[table.c.organization_id],
            set_={
                "version": table.c.version + 1,
                "token": stmt.excluded.token,
                "changed_at": stmt.excluded.changed_at,
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
        if max_age > 0:
            found = self._entries.get(slug)
            if found is not None and self.clock() - found[0] < max_age:
                return found[1]
        state = read_state(slug)
        if max_age > 0 and state is not None and state.listing is not None:
            with self._lock:
                if len(self._entries) >= MAX_STATES:
                    self._entries.clear()  # a crude bound; one read refills an entry
                self._entries[slug] = (self.clock(), state)
        return state

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


class BodyCache:
    """A thread-safe LRU of rendered bodies, bounded by their total size."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Key, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: Key) -> bytes | None:
        with self._lock:
            body = self._entries.get(key)
            if body is not None:
                self._entries.move_to_end(key)
            return body

    def put(self, key: Key, body: bytes) -> None:
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


bodies = BodyCache(max_bytes=32 * 1024 * 1024)
