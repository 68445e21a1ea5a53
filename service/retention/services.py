"""Retention of ended customer relationships: legal holds, due dates, and the purge.

A customer whose relationship ended is kept, with its contacts, notices, proof of delivery,
objections, webhooks and keys, until its deletion date (see `rules`), and then purged by
the beat task, unless it is held: by a manual legal hold (a claim or dispute) or by an
objection of it that is still open. The purge deletes the rows and pseudonymises the
customer's personal data in the audit trail without breaking the hash chain: see
`service.audit.services.redact` and docs/audit.md.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from service import clock
from service.audit import services as audit
from service.changes.models import Notice
from service.controller.models import ProcessingActivity
from service.customers.models import Customer, CustomerContact
from service.extensions import db
from service.keys.models import ApiKey
from service.keys.services import Principal
from service.objections.models import Exclusion, Objection
from service.organizations.models import Organization
from service.outbox.models import Delivery, OutboxItem
from service.retention.policy import records_rule
from service.webhooks.models import Webhook

ACTOR = "system:retention"
PURGED_ACTION = "retention.purged"
# In an event about a purged customer, the values of these keys are its personal data (or
# its people's): names, references, addresses, free text it or legal staff wrote about it.
PERSONAL_KEYS = frozenset(
    {"name", "external_ref", "contacts", "email", "customer", "reason", "note", "url", "error"}
)
# Terms shorter than this are not searched for in free text: they would match everywhere.
MIN_TERM_LENGTH = 4
# Events the purge itself writes hold pseudonyms only, and are what verification rests on.
NEVER_REDACTED = frozenset({audit.CHECKPOINT_ACTION, PURGED_ACTION})


# --- holds and due dates ----------------------------------------------------------------------


def due_on(org: Organization, customer: Customer) -> date | None:
    """The customer's deletion date under the rule that holds today."""
    return records_rule(org, clock.local_today(org.timezone)).due_on(customer.ended_on)


def _open_objections(customer_ids: list[int]) -> dict[int, list[Objection]]:
    found: dict[int, list[Objection]] = {}
    if not customer_ids:
        return found
    rows = db.session.scalars(
        select(Objection)
        .where(
            Objection.customer_id.in_(customer_ids),
            Objection.kind == "objection",
            Objection.status == "open",
        )
        .order_by(Objection.id)
    )
    for objection in rows:
        found.setdefault(objection.customer_id, []).append(objection)
    return found


def holds(customer: Customer, open_objections: list[Objection]) -> list[dict]:
    """What keeps the customer's records from being purged, whatever their date."""
    found = []
    if customer.legal_hold_since is not None:
        found.append(
            {
                "kind": "legal_hold",
                "since": customer.legal_hold_since,
                "reason": customer.legal_hold_reason,
            }
        )
    found += [
        {
            "kind": "open_objection",
            "since": objection.filed_at,
            "objection_id": objection.id,
            "change_id": objection.change_id,
        }
        for objection in open_objections
    ]
    return found


def _ended_customers(org: Organization) -> list[Customer]:
    return list(
        db.session.scalars(
            select(Customer)
            .where(Customer.organization_id == org.id, Customer.ended_on.is_not(None))
            .order_by(Customer.ended_on, Customer.id)
        )
    )


def report(org: Organization, today: date) -> dict:
    """Every customer whose relationship ended: its deletion date, and what holds it."""
    customers = _ended_customers(org)
    objections = _open_objections([c.id for c in customers])
    rule = records_rule(org, today)
    items = []
    for customer in customers:
        due = rule.due_on(customer.ended_on)
        held = holds(customer, objections.get(customer.id, []))
        if due is None:
            status = "kept"
        elif held:
            status = "held"
        else:
            status = "due" if due <= today else "scheduled"
        items.append(
            {
                "customer": {
                    "id": customer.id,
                    "external_ref": customer.external_ref,
                    "name": customer.name,
                },
                "ended_on": customer.ended_on,
                "deletion_due_on": due,
                "status": status,
                "holds": held,
            }
        )
    items.sort(key=lambda i: (i["deletion_due_on"] or date.max, i["customer"]["id"]))
    upcoming = [i["deletion_due_on"] for i in items if i["status"] == "scheduled"]
    return {
        "as_of": today,
        "rule": {**rule.present(), "retention_policy": org.retention_policy},
        "summary": {
            status: sum(1 for i in items if i["status"] == status)
            for status in ("due", "held", "scheduled", "kept")
        },
        "next_deletion_on": min(upcoming, default=None),
        "total": len(items),
        "items": items,
    }


def set_legal_hold(
    org: Organization, customer: Customer, hold: bool, reason: str | None, *, actor: str
) -> Customer:
    """Place or lift a manual legal hold; audited either way, a no-op is not."""
    if hold == (customer.legal_hold_since is not None) and (
        not hold or reason == customer.legal_hold_reason
    ):
        return customer
    before = {"legal_hold": customer.legal_hold_since is not None}
    if hold:
        customer.legal_hold_since = customer.legal_hold_since or clock.now()
        customer.legal_hold_reason = reason
    else:
        customer.legal_hold_since = None
        customer.legal_hold_reason = None
    db.session.flush()
    audit.record(
        org.id,
        actor,
        "customer.legal_hold_set" if hold else "customer.legal_hold_released",
        "customer",
        customer.id,
        before=before,
        after={"legal_hold": hold, "reason": reason if hold else None},
    )
    return customer


def hold_view(org: Organization, customer: Customer) -> dict:
    objections = _open_objections([customer.id]).get(customer.id, [])
    return {
        "customer_id": customer.id,
        "legal_hold": customer.legal_hold_since is not None,
        "since": customer.legal_hold_since,
        "reason": customer.legal_hold_reason,
        "deletion_due_on": due_on(org, customer),
        "holds": holds(customer, objections),
    }


# --- pseudonymising the audit trail -----------------------------------------------------------


@dataclass
class Subject:
    """A purged customer as the audit trail knows it."""

    customer_id: int
    pseudonym: str
    # Strings that identify it wherever they appear in free text: name, reference, e-mail
    # addresses, webhook URLs.
    terms: list[str] = field(default_factory=list)
    # Weaker ones (its people's names, its keys' names), replaced only in events about it:
    # elsewhere "Anna" may well be somebody else.
    own_terms: list[str] = field(default_factory=list)
    # (entity_type, entity_id) of the events about it: itself, its answers, keys, webhooks.
    entities: set[tuple[str, str]] = field(default_factory=set)
    # Audit actors of its own keys (`customer:<key name> [<prefix>]`).
    actors: set[str] = field(default_factory=set)
    _patterns: dict[bool, re.Pattern | None] = field(default_factory=dict, repr=False)

    def pattern(self, about: bool) -> re.Pattern | None:
        """Its terms as one case-insensitive, whole-word pattern (built once per kind)."""
        if about not in self._patterns:
            terms = self.terms + self.own_terms if about else self.terms
            found = sorted({t for t in terms if len(t) >= MIN_TERM_LENGTH}, key=len, reverse=True)
            # Whole words only: "Bella" is not replaced inside "Bellamy".
            words = "|".join(re.escape(t) for t in found)
            self._patterns[about] = (
                re.compile(rf"(?<!\w)(?:{words})(?!\w)", re.IGNORECASE) if found else None
            )
        return self._patterns[about]


def pseudonym(org_id: int, customer_id: int) -> str:
    """A stable, keyed stand-in for a purged customer: the same in every event, and not
    reversible without the deployment's secret key."""
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"customer:{org_id}:{customer_id}".encode(), hashlib.sha256)
    return f"pseudonym:{digest.hexdigest()[:16]}"


def _subject(org: Organization, customer: Customer) -> Subject:
    subject = Subject(customer.id, pseudonym(org.id, customer.id))
    subject.terms += [customer.name, customer.external_ref, *(c.email for c in customer.contacts)]
    subject.own_terms += [c.name for c in customer.contacts]
    subject.entities.add(("customer", str(customer.id)))
    for objection_id in db.session.scalars(
        select(Objection.id).where(Objection.customer_id == customer.id)
    ):
        subject.entities.add(("objection", str(objection_id)))
    for hook_id, url in db.session.execute(
        select(Webhook.id, Webhook.url).where(Webhook.customer_id == customer.id)
    ):
        subject.entities.add(("webhook", str(hook_id)))
        subject.terms.append(url)
    for key in db.session.scalars(select(ApiKey).where(ApiKey.customer_id == customer.id)):
        subject.entities.add(("api_key", str(key.id)))
        subject.own_terms.append(key.name)
        principal = Principal(
            key.id, key.name, key.role, key.organization_id, key.customer_id, prefix=key.prefix
        )
        subject.actors.add(principal.actor)
    return subject


def _names_customer(value: object, customer_id: int) -> bool:
    if isinstance(value, dict):
        return any(
            (key == "customer_id" and item == customer_id) or _names_customer(item, customer_id)
            for key, item in value.items()
        )
    if isinstance(value, list):
        return any(_names_customer(item, customer_id) for item in value)
    return False


def _scrub(value: object, subject: Subject, pattern: re.Pattern | None, about: bool) -> object:
    if isinstance(value, dict):
        return {
            key: (
                subject.pseudonym
                if (about and key in PERSONAL_KEYS and item not in (None, "", []))
                or (key == "customer_id" and item == subject.customer_id)
                else _scrub(item, subject, pattern, about)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_scrub(item, subject, pattern, about) for item in value]
    if isinstance(value, str) and pattern is not None:
        return pattern.sub(subject.pseudonym, value)
    return value


def pseudonymised(event: dict, subject: Subject) -> dict:
    """The event's actor, entity id and payload with the subject's personal data replaced
    by its pseudonym (unchanged when the event does not concern it)."""
    about = (
        (event["entity_type"], event["entity_id"]) in subject.entities
        or event["actor"] in subject.actors
        or _names_customer(event["before"], subject.customer_id)
        or _names_customer(event["after"], subject.customer_id)
    )
    pattern = subject.pattern(about)
    actor = event["actor"]
    if actor in subject.actors:
        actor = f"customer:{subject.pseudonym}"
    elif pattern is not None:
        actor = pattern.sub(subject.pseudonym, actor)
    entity_id = event["entity_id"]
    if (event["entity_type"], entity_id) == ("customer", str(subject.customer_id)):
        entity_id = subject.pseudonym
    return {
        "actor": actor,
        "entity_id": entity_id,
        "before": _scrub(event["before"], subject, pattern, about),
        "after": _scrub(event["after"], subject, pattern, about),
    }


def rewriter(subjects: list[Subject]):
    """What `audit.redact` does to each event: pseudonymise it for every subject."""

    def rewrite(row) -> dict | None:
        if row.action in NEVER_REDACTED:
            return None
        old = {
            "actor": row.actor,
            "entity_type": row.entity_type,
            "entity_id": row.entity_id,
            "before": row.before,
            "after": row.after,
        }
        new = dict(old)
        for subject in subjects:
            new.update(pseudonymised(new, subject))
        if new == old:
            return None
        del new["entity_type"]
        return new

    return rewrite


# --- the purge --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgeResult:
    customers: int
    deleted: dict[str, int]
    redacted: int


def purgeable(org: Organization, today: date) -> list[Customer]:
    """Customers past their deletion date with no hold, locked until the transaction ends
    (a hold placed meanwhile waits, and is then seen)."""
    rule = records_rule(org, today)
    if rule.years is None:
        return []
    open_objection = (
        select(Objection.id)
        .where(
            Objection.customer_id == Customer.id,
            Objection.kind == "objection",
            Objection.status == "open",
        )
        .exists()
    )
    candidates = db.session.scalars(
        select(Customer)
        .where(
            Customer.organization_id == org.id,
            Customer.ended_on.is_not(None),
            Customer.legal_hold_since.is_(None),
            ~open_objection,
        )
        .order_by(Customer.id)
        .with_for_update(of=Customer)
        .options(selectinload(Customer.contacts))
    )
    return [c for c in candidates if (due := rule.due_on(c.ended_on)) is not None and due <= today]


def _count_rows(customer_ids: list[int]) -> dict[str, int]:
    tables = {
        "contacts": CustomerContact,
        "notices": Notice,
        "answers": Objection,
        "exclusions": Exclusion,
        "deliveries": Delivery,
        "webhooks": Webhook,
        "api_keys": ApiKey,
    }
    return {
        name: db.session.scalar(
            select(func.count()).select_from(model).where(model.customer_id.in_(customer_ids))
        )
        for name, model in tables.items()
    }


def _scrub_outbox(org: Organization, subjects: list[Subject]) -> None:
    """Legal alerts and receipts keep the customer's name and words in their payload."""
    items = db.session.scalars(select(OutboxItem).where(OutboxItem.organization_id == org.id))
    for item in items:
        payload = item.payload or {}
        for subject in subjects:
            if _names_customer(payload, subject.customer_id):
                payload = _scrub(payload, subject, subject.pattern(about=True), about=True)
        if payload != item.payload:
            item.payload = payload


def purge_organization(org: Organization, today: date | None = None) -> PurgeResult:
    """Delete the customers of `org` whose records are due and not held, pseudonymise them in
    the audit trail (checkpointed, so the chain still verifies) and record the purge.

    Nothing is committed here; a broken audit chain raises Conflict and purges nothing.
    """
    today = today or clock.local_today(org.timezone)
    customers = purgeable(org, today)
    if not customers:
        return PurgeResult(0, {}, 0)
    subjects = [_subject(org, c) for c in customers]
    # Verifies the chain, records the checkpoint, rewrites: before any other event of ours.
    checkpoint = audit.redact(org.id, rewriter(subjects), actor=ACTOR, reason=PURGED_ACTION)
    redacted = len(checkpoint.after["redacted"]) if checkpoint is not None else 0
    _scrub_outbox(org, subjects)
    deleted = _count_rows([c.id for c in customers])
    for customer in customers:
        db.session.delete(customer)  # the database cascades to everything else of it
    db.session.flush()
    audit.record(
        org.id,
        ACTOR,
        PURGED_ACTION,
        "organization",
        org.id,
        after={
            "customers": len(customers),
            "pseudonyms": sorted(s.pseudonym for s in subjects),
            "deleted": deleted,
            "audit_events_redacted": redacted,
            "checkpoint_seq": checkpoint.seq if checkpoint is not None else None,
            "rule": records_rule(org, today).present(),
            "as_of": today,
        },
    )
    return PurgeResult(len(customers), deleted, redacted)


def organizations_with_rule() -> list[Organization]:
    """Organizations that set a retention period, themselves or in an activity covering
    customer records: the only ones the purge touches (`purgeable` picks the rule in force)."""
    covered = (
        select(ProcessingActivity.id)
        .where(
            ProcessingActivity.organization_id == Organization.id,
            ProcessingActivity.covers_customer_records.is_(True),
            ProcessingActivity.retention_years.is_not(None),
        )
        .exists()
    )
    return list(
        db.session.scalars(
            select(Organization)
            .where(or_(Organization.retention_years.is_not(None), covered))
            .order_by(Organization.id)
        )
    )
