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


def _excluded(customer_ids: list[int], day: date) -> dict[int, set[int]]:
    """The vendors excluded for each of the customers on `day` (one query for them all)."""
    found: dict[int, set[int]] = {}
    for customer_id, recipient_id in db.session.execute(
        select(Exclusion.customer_id, Exclusion.recipient_id).where(
            Exclusion.customer_id.in_(customer_ids), Exclusion.since <= day
        )
    ):
        found.setdefault(customer_id, set()).add(recipient_id)
    return found


@dataclass
class _Verdict:
    """What the notified changes of one vendor decide for the customer on a day."""

    held: Withheld | None = None
    seen_on: date | None = None


def _verdicts(standings: list[notices.Held]) -> dict[int, _Verdict]:
    """Per vendor, from the customer's notified changes in effect (oldest first)."""
    verdicts: dict[int, _Verdict] = {}
    for held in standings:
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


@dataclass(frozen=True)
class Context:
    """What decides the lists of some customers on one day, read once for all of them: the
    organization's list and each vendor's scope (the same for every customer), and the
    customers' exclusions and notified changes (one query each over their ids)."""

    org: Organization
    day: date
    listed: list[Recipient]
    scopes: dict[int, set[str] | None]
    excluded: dict[int, set[int]]
    verdicts: dict[int, dict[int, _Verdict]]


def context_for(org: Organization, customers: list[Customer], day: date) -> Context:
    """The context of `customers`' lists on `day`: a constant number of queries, whatever
    their number (a record export asks it once per chunk of customers). bench/export_profile.py,
    2,000 customers as JSON: 1,607 statements per chunk of 200 -> 15, 35 s -> 4 s."""
    ids = [c.id for c in customers]
    listed = recipients.all_listed(org, day)
    standings = notices.standings(org, ids, day)
    return Context(
        org=org,
        day=day,
        listed=listed,
        scopes={r.id: recipients.effective_scope(r, day) for r in listed},
        excluded=_excluded(ids, day),
        verdicts={i: _verdicts(standings.get(i, [])) for i in ids},
    )


def view_from(context: Context, customer: Customer) -> CustomerView:
    """The list of one customer of `context`: which listed vendors apply to it, which are
    withheld and why. The only place these rules are applied."""
    org, day = context.org, context.day
    specific = effective_terms(org, customer.agreement)["authorisation"] == "specific"
    baseline = consent_baseline(org, customer) if specific else None
    excluded = context.excluded.get(customer.id, set())
    verdicts = context.verdicts[customer.id]  # a customer outside the context: a bug
    services = {s.slug for s in customer.services}
    view = CustomerView()
    outcome: dict[int, Entry | Withheld] = {}
    for r in context.listed:
        scope = context.scopes[r.id]
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
    for r in context.listed:
        found = outcome.get(r.id)
        if isinstance(found, Entry) and (blocked := _blocked_ancestor(r, outcome)):
            found = Withheld(r, blocked.state, blocked.change_id, blocked.applies_from)
        if isinstance(found, Entry):
            view.applied.append(found)
        elif found is not None:
            view.withheld.append(found)
    return view


def customer_view(org: Organization, customer: Customer, day: date) -> CustomerView:
    """The list of one customer on `day` (`view_from` over a context of that customer)."""
    return view_from(context_for(org, [customer], day), customer)


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
