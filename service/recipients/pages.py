"""A page of the list, or of the diff, in one statement per page (PostgreSQL).

`services.present` over loaded objects costs a round trip per relationship (revisions,
locations, services, parents, periods, the organization's services) and, through the
safeguards, one per vendor for its assessments: 57 statements for a page of 50 at 10,000
vendors, 80-95 ms in-process. Here the page's vendors and their ancestors (whose scope
narrows theirs) come back as rows with their revision of the day, its services and
locations and their earlier listing periods aggregated as JSON, together with the list
token; the total is counted once per token (`counts`), so it is never stale.

Another database (SQLite, for `make run`) takes the object path, which says the same
(tests/test_recipients.py and tests/test_diff.py compare both at several dates).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from datetime import date

from flask import Response, current_app
from sqlalchemy import Date, Select, func, literal, not_, select, true
from sqlalchemy.dialects.postgresql import aggregate_order_by

from service import clock
from service.extensions import db
from service.organizations.models import Organization, Service
from service.public.models import ListVersion
from service.recipients import services
from service.recipients.models import (
    ProcessingLocation,
    Recipient,
    RecipientListingPeriod,
    RecipientRevision,
    revision_services,
)

_DATES = frozenset(
    name
    for name in services.LOCATION_FIELDS
    if isinstance(ProcessingLocation.__table__.c[name].type, Date)
)


class Counts:
    """Answers by (organization, list token, question): a write replaces the token in its
    own transaction, so an entry is never read after the list changed. Per process,
    emptied whole when full (one request refills an entry)."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._entries: dict[Hashable, object] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> object | None:
        return self._entries.get(key)

    def put(self, key: Hashable, value: object) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


counts = Counts()
# The diff's changed vendors in order, by (organization, token, dates): paging through a
# diff across years of history compares thousands of vendors once, not once a page.
changes = Counts(max_entries=256)


def cached(org: Organization, question: tuple, render: Callable[[], Response]) -> Response:
    """`render()`, an answer anyone may get (no legal fields), kept per process under the
    list token read first and the organization's date: a write to anything the list shows
    replaces the token in its own transaction, so an entry is never served after the list
    changed. Shared with the other processes through Redis for `API_PAGE_SHARE_SECONDS`.
    A page of 50 at 10,000 vendors renders in 17 ms through gunicorn (SQL, the
    safeguards, the schema) and is served from here in 3-5 ms."""
    from service.public import cache  # it tracks this package's models

    tokens = cache.tokens(org.id)
    if tokens is None:  # an organization written around the ORM: nothing is kept
        return render()
    key = ("api", org.id, tokens[0], clock.local_today(org.timezone), *question)
    config = current_app.config
    share = int(config["API_PAGE_SHARE_SECONDS"])
    body = cache.api_pages.get(key)
    if body is None and share > 0:
        body = cache.shared_pages.get(config["REDIS_URL"], key)
        if body is not None:
            cache.api_pages.put(key, body)
    if body is not None:
        return Response(body, mimetype=current_app.json.mimetype)
    response = render()
    if response.status_code == 200:
        cache.api_pages.put(key, response.get_data())
        if share > 0:
            budget = int(config["API_PAGE_SHARE_MAX_BYTES"])
            cache.shared_pages.put(config["REDIS_URL"], key, response.get_data(), share, budget)
    return response


def fast() -> bool:
    """Whether the database is PostgreSQL (json_agg, recursive CTEs as written here)."""
    return db.session.get_bind().dialect.name == "postgresql"


def _token(org: Organization):
    return select(ListVersion.token).where(ListVersion.organization_id == org.id).scalar_subquery()


def count(org: Organization, question: tuple, stmt: Select, token: str | None) -> tuple[int, str]:
    """The number of rows of `stmt` and the list token, the number remembered under the
    token. Counted in the same statement as the token is read, so an entry always says
    what its token's list holds; `token` (read by an earlier statement) finds it."""
    if token is not None and (found := counts.get((org.id, token, *question))) is not None:
        return found, token
    total = select(func.count()).select_from(stmt.order_by(None).subquery()).scalar_subquery()
    token, found = db.session.execute(select(_token(org), total)).one()
    if token is not None:
        counts.put((org.id, token, *question), found)
    return found, token


def _json(expression, order_by, where, *froms, aggregate=func.json_agg):
    query = select(aggregate(aggregate_order_by(expression, *order_by))).where(where)
    return (query.select_from(*froms) if froms else query).scalar_subquery()


def _revision(day: date, name: str = "revision"):
    """The vendor's revision of `day`, as a lateral subquery: an index lookup per vendor
    of the page (a join lets the planner, misled by the recursive CTE's estimate, hash every
    revision of the organization: 98 ms with JIT instead of 2 ms)."""
    return (
        select(RecipientRevision)
        .where(services.revision_of_day(day))
        .correlate(Recipient)
        .lateral(name)
    )


def _columns(org: Organization, revision) -> list:
    place = func.json_build_object(
        *[part for name in services.LOCATION_FIELDS
          for part in (literal(name), getattr(ProcessingLocation, name))]
    )  # fmt: skip
    period = func.json_build_array(
        RecipientListingPeriod.listed_from, RecipientListingPeriod.listed_until
    )
    return [
        Recipient.id, Recipient.parent_id, Recipient.listed_from, Recipient.listed_until,
        revision.c.id.label("revision_id"),
        revision.c.name.label("revision_name"),
        revision.c.legal_entity.label("revision_entity"),
        *[getattr(Recipient, name) for name in services.PROFILE_FIELDS],
        *[revision.c[name] for name in services.REVISION_FIELDS],
        _json(Service.slug, [Service.slug], revision_services.c.revision_id == revision.c.id,
              revision_services.join(Service)).label("services_json"),
        _json(place, [ProcessingLocation.id], ProcessingLocation.revision_id == revision.c.id
              ).label("locations_json"),
        _json(period, [RecipientListingPeriod.listed_from],
              RecipientListingPeriod.recipient_id == Recipient.id).label("periods_json"),
        _json(Service.slug, [Service.slug], Service.organization_id == org.id
              ).label("everything_json"),
        _token(org).label("token"),
    ]  # fmt: skip


def _location(raw: dict) -> dict:
    stored = {
        name: _day(raw[name]) if name in _DATES and raw[name] else raw[name]
        for name in services.LOCATION_FIELDS
    }
    return services.shown_location(stored)


def _rows(org: Organization, day: date, ids) -> list:
    """The rows of the vendors `ids` (a statement or a list) on `day`, in list order."""
    revision = _revision(day)
    return db.session.execute(
        select(*_columns(org, revision))
        .select_from(Recipient)
        .outerjoin(revision, true())
        .where(Recipient.id.in_(ids))
        .order_by(Recipient.name, Recipient.id, revision.c.id)
    ).all()


def present_chosen(
    org: Organization, day: date, chosen: Select
) -> tuple[list[dict], str | None] | None:
    """`present(r, day, legal=False)` for each vendor `chosen` selects (its `id` column, in
    list order), in that order, and the list token read with them; None when one of them
    or an ancestor has no revision on `day` (`revision_on` then falls back to the latest:
    take the object path)."""
    rows = _rows(org, day, chosen)
    if any(row.revision_id is None for row in rows):
        return None  # a vendor with no revision on `day`: `revision_on` falls back
    picked = {row.id for row in rows}
    vendors = {row.id: row for row in rows}  # the last revision wins, as in `revision_on`
    # Ancestors narrow their children's scope: fetched level by level, only when a vendor
    # of the page has a parent (a recursive CTE in the same statement misleads the planner
    # into hashing every vendor of the organization, and JIT-compiling it: 100-200 ms).
    while missing := {row.parent_id for row in vendors.values()} - {None, *vendors}:
        found = _rows(org, day, sorted(missing))
        if any(row.revision_id is None for row in found):
            return None
        vendors |= {row.id: row for row in found}
    parents = {row.id: row.parent_id for row in vendors.values()}
    own = {row.id: row.services_json or () for row in vendors.values()}
    everything = next((row.everything_json or [] for row in rows), [])
    presented = [
        services.row_body(
            row,
            day,
            services=row.services_json or (),
            locations=[_location(raw) for raw in row.locations_json or ()],
            earlier=[(_day(a), _day(b)) for a, b in row.periods_json or ()],
            effective=services.row_scope(row.id, parents, own),
            everything=everything,
        )
        for row in vendors.values()
        if row.id in picked
    ]
    return presented, next((row.token for row in rows), None)


def _day(value: str) -> date:
    return date.fromisoformat(value)


def list_page(
    org: Organization, day: date, page: int, per_page: int
) -> tuple[list[dict], int] | None:
    """A page of the list on `day` (no filter) and its total; None: take the object path.
    With the safeguards' facts (`public.places_of`), 57 statements -> 3 and the count once
    per token: 89 -> 30 ms in-process for a page of 50 at 10,000 vendors (load 6)."""
    chosen = (  # what `services.list_query` pages through
        select(Recipient.id)
        .join(RecipientRevision, services.revision_of_day(day))
        .where(Recipient.organization_id == org.id, services.listed_on(day))
        .order_by(Recipient.name, Recipient.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    found = present_chosen(org, day, chosen)
    if found is None:
        return None
    items, token = found
    everyone = select(Recipient.id).where(
        Recipient.organization_id == org.id, services.listed_on(day)
    )
    return items, count(org, ("list", day), everyone, token)[0]


def diff_between(
    org: Organization, since: date, until: date, *, page: int = 1, per_page: int | None = None
) -> dict | None:
    """`services.diff_between` with each page presented from rows (`present_chosen`) and
    the added and removed totals counted once per token; None: take the object path."""
    start, stop = ((page - 1) * per_page, page * per_page) if per_page else (0, None)
    totals, found, token = {}, {}, None
    for name, day, other in (("added", until, since), ("removed", since, until)):
        stmt = (
            select(Recipient.id)
            .where(
                Recipient.organization_id == org.id,
                services.listed_on(day),
                not_(services.listed_on(other)),
            )
            .order_by(Recipient.name, Recipient.id)
        )
        shown = present_chosen(org, day, stmt.limit(per_page).offset(start) if per_page else stmt)
        if shown is None:
            return None
        found[name] = shown[0]
        totals[name], token = count(org, (name, since, until), stmt, shown[1] or token)
    found["changed"], totals["changed"] = _changed(org, (since, until), start, stop, token)
    if found["changed"] is None:
        return None
    return {**found, "totals": totals}


def _content(revision):
    """What the diff compares of a vendor on a day, but its scope (`DIFF_FIELDS`), as one
    JSONB value: equal values present equal fields."""
    place = func.jsonb_build_object(
        *[part for name in services.LOCATION_FIELDS
          for part in (literal(name), getattr(ProcessingLocation, name))]
    )  # fmt: skip
    return func.jsonb_build_array(
        func.coalesce(func.nullif(revision.c.name, ""), Recipient.name),
        func.coalesce(func.nullif(revision.c.legal_entity, ""), Recipient.legal_entity),
        *[revision.c[name] for name in services.REVISION_FIELDS],
        _json(Service.slug, [Service.slug], revision_services.c.revision_id == revision.c.id,
              revision_services.join(Service), aggregate=func.jsonb_agg),
        _json(place, [ProcessingLocation.id], ProcessingLocation.revision_id == revision.c.id,
              aggregate=func.jsonb_agg),
    )  # fmt: skip


def _in_order(ids) -> Select:
    return select(Recipient.id).where(Recipient.id.in_(ids)).order_by(Recipient.name, Recipient.id)


def _changed(
    org: Organization, dates: tuple[date, date], start: int, stop: int | None, token: str | None
) -> tuple[list[dict] | None, int]:
    """The page `start:stop` of `services.diff_lists(...)["changed"]` and its total. Only
    the page is presented; which vendors changed, in order, is kept under the token."""
    ordered = changes.get((org.id, token, *dates)) if token is not None else None
    if ordered is None:
        ordered = _changed_ids(org, *dates, token)
        if ordered is None:
            return None, 0
    page = list(ordered[start:stop])
    return (_compared(org, *dates, _in_order(page)) if page else []), len(ordered)


def _changed_ids(org: Organization, since: date, until: date, token: str | None) -> tuple | None:
    """Among the vendors with a revision (theirs or an ancestor's) starting between the
    dates, those whose data differs on the two days, compared in SQL, in diff order.
    Across years of a history that is thousands of vendors: presenting every one of them
    to compare took 8-15 s at 10,000 vendors; this 1 s (load 5)."""
    candidates = services.revised_between(org, since, until)
    if not candidates:
        return ()
    before, after = _revision(since, "before"), _revision(until, "after")
    rows = db.session.execute(
        select(
            Recipient.id,
            Recipient.parent_id,
            after.c.id.label("after_id"),
            before.c.id.label("before_id"),
            func.coalesce(func.nullif(after.c.name, ""), Recipient.name).label("shown"),
            (_content(before) != _content(after)).label("differs"),
            _token(org).label("token"),
        )
        .select_from(Recipient)
        .outerjoin(before, true())
        .outerjoin(after, true())
        .where(
            Recipient.id.in_(candidates),
            Recipient.organization_id == org.id,
            services.listed_on(since),
            services.listed_on(until),
        )
    ).all()
    if any(row.before_id is None or row.after_id is None for row in rows):
        return None  # no revision on a day: `revision_on` falls back to the latest
    # The same data, but a parent's scope may have narrowed the vendor's: present those.
    maybe = [row.id for row in rows if not row.differs and row.parent_id is not None]
    differ = {row.id for row in rows if row.differs}
    if maybe:
        found = _compared(org, since, until, _in_order(maybe))
        if found is None:
            return None
        differ |= {item["id"] for item in found}
    ordered = tuple(
        vendor_id for _, vendor_id in sorted((r.shown, r.id) for r in rows if r.id in differ)
    )
    # The same token before the candidates and with the comparison: no write in between,
    # so the answer is its list's, and is kept.
    if token is not None and rows and rows[0].token == token:
        changes.put((org.id, token, since, until), ordered)
    return ordered


def _compared(org: Organization, since: date, until: date, chosen: Select) -> list[dict] | None:
    before, after = present_chosen(org, since, chosen), present_chosen(org, until, chosen)
    if before is None or after is None:
        return None
    return services.diff_lists(before[0], after[0])["changed"]
