"""Decide customers' answers to notices: objections before the deadline, consents and
refusals under specific authorisation, and their resolution by legal staff."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update

from service import clock
from service.audit import services as audit
from service.changes.models import Change, Notice
from service.common import MAX_ID, paginate
from service.customers.models import Customer
from service.customers.services import effective_terms
from service.errors import Conflict, NotFound
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
        raise Conflict("The change was withdrawn; there is nothing to answer.")
    if kind not in ANSWER_FOR.get(notice.response, ()):
        wanted = {"objection": "an objection", "consent": "a consent or a refusal"}
        raise Conflict(
            f"This notice does not ask for {'an objection' if kind == 'objection' else 'consent'}"
            + (f"; it asks for {wanted[notice.response]}." if notice.response in wanted else "."),
        )
    if kind == "objection" and notice.objection_deadline and now > notice.objection_deadline:
        raise Conflict(
            f"The objection deadline passed at {notice.objection_deadline.isoformat()}.",
            deadline=notice.objection_deadline.isoformat(),
        )
    existing = answer_of(notice)
    if existing is not None:
        raise Conflict(
            f"This notice was already answered ({existing.kind}, {existing.filed_at.isoformat()}).",
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


def resolve_objection(
    org: Organization, objection: Objection, note: str, *, actor: str
) -> Objection:
    """Apply the customer's contractual remedy: exclude the vendor for it, or record its
    right to terminate from the change's effective date."""
    if objection.kind != "objection":
        raise Conflict("Only objections are resolved; consents and refusals stand as given.")
    if objection.status != "open":
        raise Conflict(f"The objection is {objection.status}, not open.")
    customer = db.session.get(Customer, objection.customer_id)
    remedy = effective_terms(org, customer.agreement)["objection_remedy"]
    change = objection.change
    objection.status = "resolved"
    objection.resolved_at = clock.now()
    objection.resolved_by = actor
    objection.resolution_note = note
    if remedy == "exclude":
        objection.resolution = "excluded"
        existing = db.session.scalars(
            select(Exclusion).where(
                Exclusion.customer_id == customer.id, Exclusion.recipient_id == change.recipient_id
            )
        ).first()
        if existing is None:
            db.session.add(
                Exclusion(
                    customer_id=customer.id,
                    recipient_id=change.recipient_id,
                    since=change.effective_on,
                    objection_id=objection.id,
                )
            )
    else:
        objection.resolution = "termination_right"
        objection.termination_on = change.effective_on
    db.session.flush()
    audit.record(
        org.id,
        actor,
        "objection.resolved",
        "objection",
        objection.id,
        before={"status": "open"},
        after={
            "status": "resolved",
            "resolution": objection.resolution,
            "termination_on": objection.termination_on,
            "note": note,
        },
    )
    return objection


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
