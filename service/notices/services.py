"""Who must be told of a change, whether the effective date leaves them their notice, and
the notices themselves (GDPR Art. 28(2)).

Notice goes to subprocessor changes only (an independent controller is not covered by
Art. 28). Customers using general authorisation may object until their deadline; those
using specific authorisation must consent before an added vendor applies to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, case, exists, false, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from service import clock
from service.agreements.models import AgreementVersion
from service.changes.models import Change, Notice
from service.customers.models import Customer, CustomerAgreement, customer_services
from service.customers.services import join_terms, terms_sql
from service.errors import ValidationFailed
from service.extensions import db
from service.organizations.models import Organization, Service
from service.recipients import services as recipients

MAX_NAMED_SHORTFALLS = 100


@dataclass(frozen=True)
class Audience:
    """Whose data a change touches: the vendor's scope (None = every service) and role."""

    scope: set[str] | None
    concerns_subprocessor: bool


def audience(change: Change) -> Audience:
    vendor, day = change.recipient, change.effective_on
    eve = day - timedelta(days=1)
    if change.kind == "update":
        # The old and the new scope and role both count: the data of both is affected.
        scopes = [recipients.effective_scope(vendor, eve), recipients.effective_scope(vendor, day)]
        scope = None if None in scopes else set().union(*scopes)
        roles = {recipients.revision_on(vendor, d).role for d in (eve, day)}
        return Audience(scope, "subprocessor" in roles)
    # A removal concerns those who had the vendor the day before; the rest the new one.
    seen_on = eve if change.kind == "remove" else day
    return Audience(
        recipients.effective_scope(vendor, seen_on),
        recipients.revision_on(vendor, seen_on).role == "subprocessor",
    )


def response_for(change: Change, authorisation: str) -> str:
    """What a notice asks: consent for an addition under specific authorisation, a chance
    to object for additions and material updates under general authorisation, nothing for
    a removal (announced for information)."""
    if change.kind == "remove":
        return "none"
    if authorisation == "specific":
        return "consent" if change.kind in ("add", "replace") else "none"
    return "objection"


def _concerned(org: Organization, change: Change, who: Audience, *columns) -> Select:
    """The customers a change concerns, as one set-based query.

    Customers still in a relationship on the effective date (those leaving before it are
    not affected) whose services meet the vendor's scope, as the announcement found them:
    a customer registered after it was not owed this notice and was not counted for it.
    """
    stmt = select(*columns).where(
        Customer.organization_id == org.id,
        Customer.created_at <= change.announced_at,
        or_(Customer.ended_on.is_(None), Customer.ended_on >= change.effective_on),
    )
    if who.scope is not None:
        stmt = stmt.where(
            exists().where(
                customer_services.c.customer_id == Customer.id,
                customer_services.c.service_id == Service.id,
                Service.organization_id == org.id,
                Service.slug.in_(sorted(who.scope)),
            )
        )
    return stmt


def _audience_query(org: Organization, change: Change, who: Audience) -> Select:
    """The concerned customers with their terms (`effective_terms`, in SQL)."""
    columns = (column.label(name) for name, column in terms_sql(org).items())
    return join_terms(
        _concerned(
            org,
            change,
            who,
            Customer.id.label("customer_id"),
            Customer.external_ref,
            Customer.name,
            *columns,
        )
    )


def _longest_possible_notice(org: Organization) -> int:
    """An upper bound of the notice any customer of `org` is owed, from indexes and the
    small table of agreement versions: every negotiated notice (of any organization), the
    organization's versions' defaults, and its own default."""
    return max(
        org.default_notice_days,
        db.session.scalar(select(func.max(CustomerAgreement.notice_days))) or 0,
        db.session.scalar(
            select(func.max(AgreementVersion.notice_days)).where(
                AgreementVersion.organization_id == org.id
            )
        )
        or 0,
    )


def _asks_objection(change: Change, authorisation) -> ColumnElement[bool]:
    """SQL for `response_for(...) == "objection"`."""
    if change.kind == "remove":
        return false()
    return authorisation != "specific"


def deadline(
    org: Organization, delivered_at: datetime, objection_days: int, effective_on: date
) -> datetime:
    """Delivery + objection window, but never after the change takes effect."""
    return min(
        delivered_at + timedelta(days=objection_days),
        clock.start_of_day(effective_on, org.timezone),
    )


def check_notice_period(org: Organization, change: Change) -> int:
    """Count the customers a change concerns; refuse an effective date that leaves a
    general-authorisation customer less than its notice period, unless `urgent`.

    Set-based, whatever the number of customers: a count, and the customers' terms are
    read (one aggregate) only when the longest notice anyone may be owed does not fit. The
    notices themselves are written by the fan-out worker (`write_notices`). The notice
    period is checked from the announcement, the earliest possible delivery.
    """
    who = audience(change)
    if not who.concerns_subprocessor:
        return 0
    delivered_on = clock.local_today(org.timezone, change.announced_at)
    # Short of notice: effective_on < delivered_on + notice_days.
    room = (change.effective_on - delivered_on).days
    total = db.session.scalar(_concerned(org, change, who, func.count(Customer.id)))
    # Most announcements leave every notice period room: then no customer's terms need
    # reading. Urgent changes and removals are not held to it.
    if change.urgent or change.kind == "remove" or _longest_possible_notice(org) <= room:
        return total
    people = _audience_query(org, change, who).subquery()
    short = and_(_asks_objection(change, people.c.authorisation), people.c.notice_days > room)
    short_count, longest = db.session.execute(
        select(
            func.coalesce(func.sum(case((short, 1), else_=0)), 0),
            func.max(case((short, people.c.notice_days))),
        ).select_from(people)
    ).one()
    if short_count:
        earliest = max(change.effective_on, delivered_on + timedelta(days=longest))
        named = db.session.execute(
            select(people.c.customer_id, people.c.external_ref, people.c.name, people.c.notice_days)
            .where(short)
            .order_by(people.c.customer_id)
            .limit(MAX_NAMED_SHORTFALLS)
        ).all()
        raise ValidationFailed(
            f"The effective date leaves {short_count} customer(s) less than their contractual "
            f"notice; the earliest allowed date is {earliest}.",
            errors={"effective_on": [f"Must be {earliest} or later (or mark the change urgent)."]},
            customers_short_of_notice=[
                {
                    "id": row.customer_id,
                    "external_ref": row.external_ref,
                    "name": row.name,
                    "notice_days": row.notice_days,
                }
                for row in named
            ],
            customers_short_of_notice_total=short_count,
            earliest_allowed=earliest.isoformat(),
        )
    return total


def write_notices(org: Organization, change: Change, after: int, size: int) -> int | None:
    """Write the notices of the next `size` concerned customers after customer id `after`;
    return the last customer id of the chunk, or None when there is no one left.

    Idempotent: a chunk written again (a retry after a crash) adds nothing. The change row
    is read under a share lock, so a withdrawal committing meanwhile either comes first (and
    nothing is written) or waits and then marks these notices withdrawn as well.
    `delivered_at` stays empty until the SMTP server accepts the notice; the objection
    deadline given here runs from the announcement and again from the delivery.
    """
    status = db.session.scalar(
        select(Change.status).where(Change.id == change.id).with_for_update(read=True)
    )
    who = audience(change)
    if status != "announced" or not who.concerns_subprocessor:
        return None
    chunk = db.session.execute(
        _audience_query(org, change, who)
        .where(Customer.id > after)
        .order_by(Customer.id)
        .limit(size)
    ).all()
    if not chunk:
        return None
    announced_at = change.announced_at
    rows = []
    for row in chunk:
        response = response_for(change, row.authorisation)
        rows.append(
            {
                "change_id": change.id,
                "customer_id": row.customer_id,
                "response": response,
                "notice_days": row.notice_days,
                "objection_days": row.objection_days,
                "created_at": announced_at,
                "objection_deadline": (
                    deadline(org, announced_at, row.objection_days, change.effective_on)
                    if response == "objection"
                    else None
                ),
            }
        )
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(
        insert(Notice).on_conflict_do_nothing(index_elements=["change_id", "customer_id"]),
        rows,
    )
    return chunk[-1].customer_id


def withdraw_notices(change: Change, when: datetime) -> int:
    """Mark the notices of a withdrawn change; the mail system tells those who were told."""
    result = db.session.execute(
        update(Notice)
        .where(Notice.change_id == change.id, Notice.withdrawn_at.is_(None))
        .values(withdrawn_at=when)
    )
    return result.rowcount or 0
