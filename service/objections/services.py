"""Decide customers' answers to notices: objections before the deadline, consents and
refusals under specific authorisation, and their resolution by legal staff."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete, select, update

from service import clock
from service.audit import services as audit
from service.changes.models import Change, Notice
from service.common import MAX_ID, paginate
from service.customers.models import Customer
from service.customers.services import effective_terms
from service.errors import Conflict, NotFound, ValidationFailed
from service.extensions import db
from service.objections.models import Exclusion, Objection
from service.organizations.models import Organization
from service.outbox import services as outbox

# Answers legal staff must hear about at once.
ALERTS = {"objection": "objection_filed", "refusal": "consent_refused"}
ANSWER_FOR = {"objection": ("objection",), "consent": ("consent", "refusal")}


def notice_of(change: Change, customer_id: int, *, lock: bool = False) -> Notice:
    stmt = select(Notice).where(Notice.change_id == change.id, Notice.customer_id == customer_id)
    # The lock makes two concurrent answers to one notice queue up; the second sees the first.
    notice = db.session.scalars(stmt.with_for_update() if lock else stmt).one_or_none()
    if notice is None:
        raise NotFound("This change was not notified to this customer.")
    return notice


def answer_of(notice: Notice) -> Objection | None:
    return db.session.scalars(select(Objection).where(Objection.notice_id == notice.id)).first()


def file_answer(
    org: Organization,
    notice: Notice,
    kind: str,
    reason: str,
    *,
    channel: str,
    actor: str,
    now: datetime | None = None,
) -> Objection:
    """Record an objection, a consent or a refusal for one notice, if it may still be given."""
    now = now or clock.now()
    change = notice.change
    if change.status == "withdrawn" or notice.withdrawn_at is not None:
        raise Conflict(
            "The change was withdrawn; there is nothing to answer.", key="change_withdrawn"
        )
    if kind not in ANSWER_FOR.get(notice.response, ()):
        wanted = {"objection": "an objection", "consent": "a consent or a refusal"}
        raise Conflict(
            f"This notice does not ask for {'an objection' if kind == 'objection' else 'consent'}"
            + (f"; it asks for {wanted[notice.response]}." if notice.response in wanted else "."),
            key="not_asked",
        )
    if kind == "objection" and notice.objection_deadline and now > notice.objection_deadline:
        raise Conflict(
            f"The objection deadline passed at {notice.objection_deadline.isoformat()}.",
            deadline=notice.objection_deadline.isoformat(),
            key="deadline_passed",
        )
    existing = answer_of(notice)
    if existing is not None:
        raise Conflict(
            f"This notice was already answered ({existing.kind}, {existing.filed_at.isoformat()}).",
            key="already_answered",
        )
    answer = Objection(
        organization_id=org.id,
        notice_id=notice.id,
        change_id=change.id,
        customer_id=notice.customer_id,
        kind=kind,
        reason=reason,
        channel=channel,
        filed_at=now,
        filed_by=actor,
        status="open" if kind == "objection" else "recorded",
    )
    db.session.add(answer)
    db.session.flush()
    receipt = {"objection_id": answer.id, "customer_id": answer.customer_id, "notice_id": notice.id}
    outbox.enqueue("answer.receipt", receipt, org.id)
    if kind in ALERTS:
        alert = {
            "kind": ALERTS[kind],
            "change_id": change.id,
            "customer_id": notice.customer_id,
            "customer": notice.customer.name,
            "vendor": change.recipient.name,
            "reason": reason,
        }
        outbox.enqueue("alert.legal", alert, org.id)
    audit.record(
        org.id,
        actor,
        f"{kind}.filed",
        "objection",
        answer.id,
        after={
            "change_id": change.id,
            "customer_id": notice.customer_id,
            "kind": kind,
            "reason": reason,
            "channel": channel,
        },
    )
    return answer


OUTCOMES = ("upheld", "rejected", "alternative")
OUTCOME_TOPIC = "objection.resolved"


def _check_open(objection: Objection) -> None:
    if objection.kind != "objection":
        raise Conflict("Only objections are resolved; consents and refusals stand as given.")
    if objection.status != "open":
        raise Conflict(f"The objection is {objection.status}, not open.")


def _off_since(org: Organization, objection: Objection) -> date:
    """The vendor has been off the customer's data since the effective date, or since the
    objection if it came later (the post-hoc window of an urgent change)."""
    filed = clock.local_today(org.timezone, objection.filed_at)
    return max(objection.change.effective_on, filed)


def _exclude(org: Organization, objection: Objection) -> None:
    """Keep the objected vendor off the customer's data for good (clause 7.7)."""
    change = objection.change
    existing = db.session.scalars(
        select(Exclusion).where(
            Exclusion.customer_id == objection.customer_id,
            Exclusion.recipient_id == change.recipient_id,
        )
    ).first()
    if existing is None:
        db.session.add(
            Exclusion(
                customer_id=objection.customer_id,
                recipient_id=change.recipient_id,
                since=_off_since(org, objection),
                objection_id=objection.id,
            )
        )


def _upheld(org: Organization, objection: Objection, termination_on: date | None) -> None:
    """The customer's remedy. `exclude`: the vendor never processes its data. `terminate`:
    the customer may end the agreement, and until it ends (`termination_on`) the vendor
    still does not process its data, since the customer never authorised it."""
    customer = db.session.get(Customer, objection.customer_id)
    remedy = effective_terms(org, customer.agreement)["objection_remedy"]
    _exclude(org, objection)
    if remedy == "exclude":
        objection.resolution = "excluded"
        return
    objection.resolution = "termination_right"
    objection.termination_on = termination_on or objection.change.effective_on


def _rejected(org: Organization, objection: Objection) -> None:
    """Only where the customer's agreement lets the processor reject an unjustified
    objection; then the vendor applies from the resolution on."""
    customer = db.session.get(Customer, objection.customer_id)
    if not effective_terms(org, customer.agreement)["rejects_unjustified_objections"]:
        raise Conflict(
            f"The agreement of {customer.name} does not allow rejecting an objection; "
            "uphold it (the customer's remedy) or offer an alternative.",
            errors={"outcome": ["Not allowed by this customer's agreement."]},
        )
    objection.resolution = "rejected"


def _close(objection: Objection, note: str, actor: str) -> None:
    objection.status = "resolved"
    objection.resolved_at = clock.now()
    objection.resolved_by = actor
    objection.resolution_note = note


def _announce_outcome(org: Organization, objection: Objection, actor: str, action: str) -> None:
    """Every outcome is e-mailed to the customer and audited."""
    db.session.flush()
    payload = {"objection_id": objection.id, "customer_id": objection.customer_id}
    outbox.enqueue(OUTCOME_TOPIC, payload, org.id)
    audit.record(
        org.id,
        actor,
        action,
        "objection",
        objection.id,
        before={"status": "open"},
        after={
            "status": objection.status,
            "resolution": objection.resolution,
            "termination_on": objection.termination_on,
            "note": objection.resolution_note,
        },
    )


def resolve_objection(
    org: Organization,
    objection: Objection,
    note: str,
    *,
    actor: str,
    outcome: str = "upheld",
    termination_on: date | None = None,
) -> Objection:
    """Record legal staff's outcome of an open objection: upheld (the customer's remedy),
    rejected with reasons (where its agreement allows it), or an alternative offered and
    accepted (the objected vendor stays off its data; the note says what replaces it)."""
    _check_open(objection)
    if termination_on is not None and termination_on < objection.change.effective_on:
        raise ValidationFailed(
            "The agreement cannot end before the change it objects to.",
            errors={"termination_on": [f"Must be {objection.change.effective_on} or later."]},
        )
    if outcome == "upheld":
        _upheld(org, objection, termination_on)
    elif outcome == "rejected":
        _rejected(org, objection)
    else:
        _exclude(org, objection)
        objection.resolution = "alternative"
    _close(objection, note, actor)
    _announce_outcome(org, objection, actor, "objection.resolved")
    return objection


def withdraw_objection(
    org: Organization, objection: Objection, reason: str, *, channel: str, actor: str
) -> Objection:
    """The customer takes its objection back: the change applies to it from now on."""
    _check_open(objection)
    _close(objection, reason, actor)
    objection.resolution = "withdrawn"
    alert = {
        "kind": "objection_withdrawn",
        "change_id": objection.change_id,
        "customer_id": objection.customer_id,
        "customer": objection.customer.name,
        "vendor": objection.change.recipient.name,
        "reason": reason,
        "channel": channel,
    }
    outbox.enqueue("alert.legal", alert, org.id)
    _announce_outcome(org, objection, actor, "objection.withdrawn")
    return objection


def open_objection_of(notice: Notice) -> Objection | None:
    answer = answer_of(notice)
    return answer if answer is not None and answer.status == "open" else None


def void_answers(change: Change) -> int:
    """A withdrawn change leaves nothing to object to or consent to, and no remedy: the
    exclusions its objections led to go, and a recorded termination right lapses."""
    answered = select(Objection.id).where(
        Objection.change_id == change.id,
        Objection.status.in_(("open", "recorded", "resolved")),
    )
    db.session.execute(delete(Exclusion).where(Exclusion.objection_id.in_(answered)))
    result = db.session.execute(
        update(Objection).where(Objection.id.in_(answered)).values(status="void")
    )
    return result.rowcount or 0


def get_objection(org: Organization, objection_id: int) -> Objection:
    objection = None
    if 0 < objection_id <= MAX_ID:
        objection = db.session.scalars(
            select(Objection).where(
                Objection.id == objection_id, Objection.organization_id == org.id
            )
        ).one_or_none()
    if objection is None:
        raise NotFound("No such objection.")
    return objection


def list_objections(org: Organization, args: dict, page: int, per_page: int) -> tuple[list, int]:
    stmt = select(Objection).where(Objection.organization_id == org.id)
    for name in ("status", "kind", "change_id", "customer_id"):
        if args.get(name) is not None:
            stmt = stmt.where(getattr(Objection, name) == args[name])
    return paginate(stmt.order_by(Objection.filed_at.desc(), Objection.id.desc()), page, per_page)


def present(objection: Objection) -> dict:
    return {
        "id": objection.id,
        "change_id": objection.change_id,
        "customer": {
            "id": objection.customer.id,
            "external_ref": objection.customer.external_ref,
            "name": objection.customer.name,
        },
        "recipient": {
            "id": objection.change.recipient.id,
            "name": objection.change.recipient.name,
        },
        "kind": objection.kind,
        "reason": objection.reason,
        "channel": objection.channel,
        "filed_at": objection.filed_at,
        "status": objection.status,
        "resolution": objection.resolution,
        "resolution_note": objection.resolution_note,
        "resolved_at": objection.resolved_at,
        "termination_on": objection.termination_on,
    }
