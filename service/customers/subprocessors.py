"""The list that applies to one customer: the organization's list narrowed to the services
it uses, less vendors excluded for it, less changes that do not apply to it yet (awaiting
its consent, its notice period still running from delivery, an objection pending): those
are `withheld`, with why. Whether a notified change applies is decided in one place,
`service.notices.rules.standing`; this module only maps it onto the list."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select

from service import clock
from service.changes.models import Change, Notice
from service.customers.models import Customer
from service.customers.services import effective_terms
from service.extensions import db
from service.notices import rules
from service.notices import services as notices
from service.objections.models import Exclusion
from service.organizations.models import Organization
from service.recipients import services as recipients
from service.recipients.models import Recipient


@dataclass(frozen=True)
class Entry:
    """A vendor that applies to the customer, as of `seen_on` (the eve of an update that
    does not apply to it yet: the previous revision is the one it authorised)."""

    recipient: Recipient
    seen_on: date


@dataclass(frozen=True)
class Withheld:
    """A vendor on the organization's list that does not process this customer's data."""

    recipient: Recipient
    state: str
    change_id: int | None
    applies_from: date | None


@dataclass
class CustomerView:
    applied: list[Entry] = field(default_factory=list)
    withheld: list[Withheld] = field(default_factory=list)

    @property
    def recipients(self) -> list[Recipient]:
        return [entry.recipient for entry in self.applied]


def consent_baseline(org: Organization, customer: Customer) -> date:
    """Under specific authorisation the list at acceptance counts as consented."""
    agreement = customer.agreement
    if agreement is not None and agreement.accepted_at is not None:
        return clock.local_today(org.timezone, agreement.accepted_at)
    return customer.started_on


def _excluded(customer: Customer, day: date) -> set[int]:
    return set(
        db.session.scalars(
            select(Exclusion.recipient_id).where(
                Exclusion.customer_id == customer.id, Exclusion.since <= day
            )
        )
    )


@dataclass
class _Verdict:
    """What the notified changes of one vendor decide for the customer on a day."""

    held: Withheld | None = None
    seen_on: date | None = None


def _verdicts(org: Organization, customer: Customer, day: date) -> dict[int, _Verdict]:
    verdicts: dict[int, _Verdict] = {}
    for held in notices.standings(org, customer.id, day):
        change, standing = held.change, held.standing
        verdict = verdicts.setdefault(change.recipient_id, _Verdict())
        if standing.state == rules.APPLIES or verdict.held is not None:
            continue
        off = change.kind in ("add", "replace") or standing.state in (
            rules.OBJECTED,
            rules.EXCLUDED,
        )
        if off:
            verdict.held = Withheld(
                change.recipient, standing.state, change.id, standing.applies_from
            )
        elif verdict.seen_on is None:
            # An update not in force for this customer: the revision before it still is.
            verdict.seen_on = change.effective_on - timedelta(days=1)
    return verdicts


def _unasked(recipient: Recipient, baseline: date | None) -> Withheld | None:
    """Specific authorisation without a notice (registered after an announcement whose
    request it never got): only what was listed at its acceptance counts as consented."""
    if baseline is None or recipient.listed_from <= baseline:
        return None
    return Withheld(recipient, rules.AWAITING_CONSENT, None, None)


def customer_view(org: Organization, customer: Customer, day: date) -> CustomerView:
    listed = list(
        db.session.scalars(recipients.list_query(org, day, recipients.ListFilters())).unique()
    )
    specific = effective_terms(org, customer.agreement)["authorisation"] == "specific"
    baseline = consent_baseline(org, customer) if specific else None
    excluded = _excluded(customer, day)
    verdicts = _verdicts(org, customer, day)
    services = {s.slug for s in customer.services}
    view = CustomerView()
    outcome: dict[int, Entry | Withheld] = {}
    for r in listed:
        scope = recipients.effective_scope(r, day)
        if scope is not None and not scope & services:
            continue
        verdict = verdicts.get(r.id)
        if r.id in excluded:
            outcome[r.id] = Withheld(r, rules.EXCLUDED, None, None)
        elif verdict is not None and verdict.held is not None:
            outcome[r.id] = verdict.held
        elif verdict is None and (held := _unasked(r, baseline)) is not None:
            outcome[r.id] = held
        else:
            outcome[r.id] = Entry(r, verdict.seen_on if verdict and verdict.seen_on else day)
    for r in listed:
        found = outcome.get(r.id)
        if isinstance(found, Entry) and (blocked := _blocked_ancestor(r, outcome)):
            found = Withheld(r, blocked.state, blocked.change_id, blocked.applies_from)
        if isinstance(found, Entry):
            view.applied.append(found)
        elif found is not None:
            view.withheld.append(found)
    return view


def _blocked_ancestor(recipient: Recipient, outcome: dict) -> Withheld | None:
    """A child receives data through its parent: where a listed ancestor does not apply
    (excluded, awaiting or refused consent, objected), the child does not either."""
    seen: set[int] = set()
    node = recipient.parent
    while node is not None and node.id not in seen:
        if isinstance(outcome.get(node.id), Withheld):
            return outcome[node.id]
        seen.add(node.id)
        node = node.parent
    return None


def customer_list(org: Organization, customer: Customer, day: date) -> list[Recipient]:
    """The vendors that apply to the customer on `day` (`customer_view` without the rest)."""
    return customer_view(org, customer, day).recipients


_READ = object()  # cached_items reads the tokens itself


def cached_items(
    org: Organization,
    customer: Customer,
    day: date,
    *,
    legal: bool,
    render: Callable[[CustomerView], bytes],
    tokens: object = _READ,
) -> bytes:
    """`render(customer_view(...))`, kept per process under a key that moves with every
    write to the list (the list token) and to anything that decides which of its vendors
    apply to a customer (the customers token), with the day and the caller's view.
    `tokens`: as `cache.tokens(org.id)` gives them, when the caller read them already."""
    # Imported here: the cache module tracks this package's models.
    from service.public import cache

    if tokens is _READ:
        tokens = cache.tokens(org.id)
    if tokens is None:
        return render(customer_view(org, customer, day))
    key = cache.CustomerKey(org.id, *tokens, customer.id, day, legal)
    body = cache.customer_lists.get(key)
    if body is None:
        body = render(customer_view(org, customer, day))
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
