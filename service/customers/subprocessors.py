"""The list that applies to one customer: the organization's list narrowed to the services
it uses, less vendors excluded for it, less additions still waiting for its consent."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from service.changes.models import Change, Notice
from service.common import local_today
from service.customers.models import Customer
from service.customers.services import effective_terms
from service.extensions import db
from service.objections.models import Exclusion, Objection
from service.organizations.models import Organization
from service.recipients import services as recipients
from service.recipients.models import Recipient


def consent_baseline(org: Organization, customer: Customer) -> date:
    """Under specific authorisation the list at acceptance counts as consented."""
    agreement = customer.agreement
    if agreement is not None and agreement.accepted_at is not None:
        return local_today(org.timezone, agreement.accepted_at)
    return customer.started_on


def _consented(customer: Customer) -> set[int]:
    """Vendors whose addition (or replacement) this customer consented to."""
    return set(
        db.session.scalars(
            select(Change.recipient_id)
            .join(Objection, Objection.change_id == Change.id)
            .where(
                Objection.customer_id == customer.id,
                Objection.kind == "consent",
                Objection.status == "recorded",
                Change.status == "announced",
                Change.kind.in_(("add", "replace")),
            )
        )
    )


def _excluded(customer: Customer, day: date) -> set[int]:
    return set(
        db.session.scalars(
            select(Exclusion.recipient_id).where(
                Exclusion.customer_id == customer.id, Exclusion.since <= day
            )
        )
    )


def applies(
    recipient: Recipient,
    day: date,
    services: set[str],
    *,
    excluded: set[int],
    baseline: date | None,
    consented: set[int],
) -> bool:
    scope = recipients.effective_scope(recipient, day)
    if scope is not None and not scope & services:
        return False
    if recipient.id in excluded:
        return False
    if baseline is not None and recipients.revision_on(recipient, day).role == "subprocessor":
        # Specific authorisation: a vendor listed after acceptance waits for consent.
        return recipient.listed_from <= baseline or recipient.id in consented
    return True


def customer_list(org: Organization, customer: Customer, day: date) -> list[Recipient]:
    listed = db.session.scalars(recipients.list_query(org, day, recipients.ListFilters())).unique()
    specific = effective_terms(org, customer.agreement)["authorisation"] == "specific"
    context = {
        "excluded": _excluded(customer, day),
        "baseline": consent_baseline(org, customer) if specific else None,
        "consented": _consented(customer) if specific else set(),
    }
    services = {s.slug for s in customer.services}
    return [r for r in listed if applies(r, day, services, **context)]


def upcoming(org: Organization, customer: Customer, day: date) -> list[tuple[Notice, Change]]:
    """Announced changes after `day` that were notified to this customer."""
    rows = db.session.execute(
        select(Notice, Change)
        .join(Change, Change.id == Notice.change_id)
        .where(
            Notice.customer_id == customer.id,
            Change.status == "announced",
            Change.effective_on > day,
        )
        .order_by(Change.effective_on, Change.id)
    ).all()
    return [(notice, change) for notice, change in rows]
