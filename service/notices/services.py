"""Who must be told of a change, whether the effective date leaves them their notice, and
the notices themselves (GDPR Art. 28(2)).

Notice goes to subprocessor changes only (an independent controller is not covered by
Art. 28). Customers using general authorisation may object until their deadline; those
using specific authorisation must consent before an added vendor applies to them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import selectinload

from service.changes.models import Change, Notice
from service.common import local_today, start_of_day
from service.customers.models import Customer, CustomerAgreement
from service.customers.services import effective_terms
from service.errors import ValidationFailed
from service.extensions import db
from service.organizations.models import Organization
from service.recipients import services as recipients

CHUNK = 1000
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


def _customers(org: Organization, today: date) -> Iterator[list[Customer]]:
    """The organization's customers still there on `today`, in chunks, never all in memory."""
    last = 0
    while True:
        chunk = db.session.scalars(
            select(Customer)
            .where(
                Customer.organization_id == org.id,
                Customer.id > last,
                or_(Customer.ended_on.is_(None), Customer.ended_on >= today),
            )
            .order_by(Customer.id)
            .limit(CHUNK)
            .options(
                selectinload(Customer.services),
                selectinload(Customer.agreement).selectinload(CustomerAgreement.version),
            )
        ).all()
        if not chunk:
            return
        yield chunk
        last = chunk[-1].id


def concerns(scope: set[str] | None, customer: Customer) -> bool:
    return scope is None or bool(scope & {s.slug for s in customer.services})


def deadline(
    org: Organization, delivered_at: datetime, objection_days: int, effective_on: date
) -> datetime:
    """Delivery + objection window, but never after the change takes effect."""
    return min(
        delivered_at + timedelta(days=objection_days),
        start_of_day(effective_on, org.timezone),
    )


def create_notices(org: Organization, change: Change) -> int:
    """Write one notice per affected customer; refuse an effective date that leaves a
    general-authorisation customer less than its notice period, unless `urgent`.

    The notice period is checked from the announcement, the earliest possible delivery.
    `delivered_at` stays empty until the SMTP server accepts the notice; the objection
    deadline given here is provisional and runs again from the delivery.
    """
    who = audience(change)
    if not who.concerns_subprocessor:
        return 0
    delivered_at = change.announced_at
    delivered_on = local_today(org.timezone, delivered_at)
    rows: list[dict] = []
    short: list[dict] = []
    short_count = 0
    earliest = change.effective_on
    # Those whose relationship ends before the change takes effect are not affected by it.
    for chunk in _customers(org, change.effective_on):
        for customer in chunk:
            if not concerns(who.scope, customer):
                continue
            terms = effective_terms(org, customer.agreement)
            response = response_for(change, terms["authorisation"])
            if response == "objection":
                owed = delivered_on + timedelta(days=terms["notice_days"])
                if change.effective_on < owed:
                    short_count += 1
                    earliest = max(earliest, owed)
                    if len(short) < MAX_NAMED_SHORTFALLS:
                        short.append(
                            {
                                "id": customer.id,
                                "external_ref": customer.external_ref,
                                "name": customer.name,
                                "notice_days": terms["notice_days"],
                            }
                        )
            rows.append(
                {
                    "change_id": change.id,
                    "customer_id": customer.id,
                    "response": response,
                    "notice_days": terms["notice_days"],
                    "created_at": delivered_at,
                    "objection_days": terms["objection_days"],
                    "objection_deadline": (
                        deadline(org, delivered_at, terms["objection_days"], change.effective_on)
                        if response == "objection"
                        else None
                    ),
                }
            )
        for customer in chunk:
            # Release the chunk: a fan-out to 100,000 customers must not grow the session.
            db.session.expunge(customer)
    if short_count and not change.urgent:
        raise ValidationFailed(
            f"The effective date leaves {short_count} customer(s) less than their contractual "
            f"notice; the earliest allowed date is {earliest}.",
            errors={"effective_on": [f"Must be {earliest} or later (or mark the change urgent)."]},
            customers_short_of_notice=short,
            customers_short_of_notice_total=short_count,
            earliest_allowed=earliest.isoformat(),
        )
    for start in range(0, len(rows), CHUNK):
        db.session.execute(Notice.__table__.insert(), rows[start : start + CHUNK])
    return len(rows)


def withdraw_notices(change: Change, when: datetime) -> int:
    """Mark the notices of a withdrawn change; the mail system tells those who were told."""
    result = db.session.execute(
        update(Notice)
        .where(Notice.change_id == change.id, Notice.withdrawn_at.is_(None))
        .values(withdrawn_at=when)
    )
    return result.rowcount or 0
