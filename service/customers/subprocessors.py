"""The list that applies to one customer: the organization's list narrowed to the services
it uses, less vendors excluded for it, less additions still waiting for its consent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import select

from service import clock
from service.changes.models import Change, Notice
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
        return clock.local_today(org.timezone, agreement.accepted_at)
    return customer.started_on


def _consents(org: Organization, customer: Customer) -> tuple[set[int], dict[int, date]]:
    """Vendors whose addition (or replacement) asked this customer's consent, and for those
    it consented to, the day (organization's calendar) it did.

    Such a vendor applies only from its consent: a refusal, or a later acceptance of the
    agreement, never stands in for it, nor does the acceptance list if the vendor was
    announced after it (an urgent addition effective the day of acceptance).
    """
    rows = db.session.execute(
        select(Change.recipient_id, Objection.kind, Objection.status, Objection.filed_at)
        .select_from(Notice)
        .join(Change, Change.id == Notice.change_id)
        .outerjoin(Objection, Objection.notice_id == Notice.id)
        .where(
            Notice.customer_id == customer.id,
            Notice.response == "consent",
            Change.status == "announced",
            Change.kind.in_(("add", "replace")),
        )
    ).all()
    asked = {row.recipient_id for row in rows}
    given = {
        row.recipient_id: clock.local_today(org.timezone, row.filed_at)
        for row in rows
        if row.kind == "consent" and row.status == "recorded"
    }
    return asked, given


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
    asked: set[int],
    consented: dict[int, date],
) -> bool:
    scope = recipients.effective_scope(recipient, day)
    if scope is not None and not scope & services:
        return False
    if recipient.id in excluded:
        return False
    if baseline is not None and recipients.revision_on(recipient, day).role == "subprocessor":
        # Specific authorisation: a vendor listed after acceptance, or whose addition asked
        # for consent, applies from the day consent was given.
        if recipient.id in asked:
            return recipient.id in consented and consented[recipient.id] <= day
        return recipient.listed_from <= baseline
    return True


def customer_list(org: Organization, customer: Customer, day: date) -> list[Recipient]:
    listed = db.session.scalars(recipients.list_query(org, day, recipients.ListFilters())).unique()
    specific = effective_terms(org, customer.agreement)["authorisation"] == "specific"
    asked, consented = _consents(org, customer) if specific else (set(), {})
    context = {
        "excluded": _excluded(customer, day),
        "baseline": consent_baseline(org, customer) if specific else None,
        "asked": asked,
        "consented": consented,
    }
    services = {s.slug for s in customer.services}
    listed = list(listed)
    applied = {r.id for r in listed if applies(r, day, services, **context)}
    on_list = {r.id for r in listed}

    def through_chain(recipient: Recipient) -> bool:
        # A child receives data through its parent: where a listed ancestor does not apply
        # (excluded, awaiting or refused consent), the child does not either.
        seen: set[int] = set()
        node = recipient.parent
        while node is not None and node.id not in seen:
            if node.id in on_list and node.id not in applied:
                return False
            seen.add(node.id)
            node = node.parent
        return True

    return [r for r in listed if r.id in applied and through_chain(r)]


_READ = object()  # cached_items reads the tokens itself


def cached_items(
    org: Organization,
    customer: Customer,
    day: date,
    *,
    legal: bool,
    render: Callable[[list[Recipient]], bytes],
    tokens: object = _READ,
) -> bytes:
    """`render(customer_list(...))`, kept per process under a key that moves with every
    write to the list (the list token) and to anything that decides which of its vendors
    apply to a customer (the customers token), with the day and the caller's view.
    `tokens`: as `cache.tokens(org.id)` gives them, when the caller read them already."""
    # Imported here: the cache module tracks this package's models.
    from service.public import cache

    if tokens is _READ:
        tokens = cache.tokens(org.id)
    if tokens is None:
        return render(customer_list(org, customer, day))
    key = cache.CustomerKey(org.id, *tokens, customer.id, day, legal)
    body = cache.customer_lists.get(key)
    if body is None:
        body = render(customer_list(org, customer, day))
        cache.customer_lists.put(key, body)
    return body


def upcoming(
    org: Organization, customer: Customer, day: date, *, tokens: object = None
) -> list[tuple[Notice, Change]]:
    """Announced changes after `day` that were notified to this customer.

    `tokens`, as `cached_items` takes them: when given, a customer and day found to have
    none is remembered under them, and not asked again until a write moves one of them."""
    from service.public import cache

    key = (
        cache.CustomerKey(org.id, *tokens, customer.id, day, False)
        if isinstance(tokens, tuple)
        else None
    )
    if key is not None and key in cache.nothing_ahead:
        return []
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
    if key is not None and not rows:
        cache.nothing_ahead.add(key)
    return [(notice, change) for notice, change in rows]
