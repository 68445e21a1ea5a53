"""Who receives each kind of outbox row. Each expander reads a chunk after `cursor`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from service.changes.models import Notice
from service.customers.models import Customer, CustomerContact
from service.extensions import db
from service.organizations.models import Organization
from service.outbox.models import OutboxItem
from service.outbox.services import expander


def _notice_filter(item: OutboxItem) -> list:
    conditions = [Notice.change_id == item.payload["change_id"]]
    if item.topic == "change.withdrawn":
        conditions.append(Notice.withdrawn_at.is_not(None))
    elif item.topic == "change.reminder":
        conditions.append(Notice.reminded_at.is_not(None))
    else:
        conditions.append(Notice.withdrawn_at.is_(None))
    return conditions


@expander("change.announced", "change.withdrawn", "change.reminder")
def change_notices(item: OutboxItem, cursor: int, size: int) -> tuple[list[dict], int]:
    """Every contact of every notified customer; the cursor is the last notice id."""
    notices = db.session.execute(
        select(Notice.id, Notice.customer_id)
        .where(*_notice_filter(item), Notice.id > cursor)
        .order_by(Notice.id)
        .limit(size)
    ).all()
    if not notices:
        return [], cursor
    contacts = db.session.execute(
        select(CustomerContact.customer_id, CustomerContact.email, CustomerContact.locale)
        .where(CustomerContact.customer_id.in_({n.customer_id for n in notices}))
        .order_by(CustomerContact.id)
    ).all()
    by_customer: dict[int, list] = {}
    for contact in contacts:
        by_customer.setdefault(contact.customer_id, []).append(contact)
    rows = [
        {
            "notice_id": notice.id,
            "customer_id": notice.customer_id,
            "address": contact.email,
            "locale": contact.locale,
        }
        for notice in notices
        for contact in by_customer.get(notice.customer_id, [])
    ]
    return rows, notices[-1].id


@expander("answer.receipt")
def answer_receipt(item: OutboxItem, cursor: int, size: int) -> tuple[list[dict], int]:
    """The customer's contacts, once: a receipt for its objection, consent or refusal."""
    if cursor:
        return [], cursor
    customer = db.session.scalars(
        select(Customer)
        .where(Customer.id == item.payload["customer_id"])
        .options(selectinload(Customer.contacts))
    ).one()
    rows = [
        {
            "customer_id": customer.id,
            "notice_id": item.payload.get("notice_id"),
            "address": c.email,
            "locale": c.locale,
        }
        for c in customer.contacts
    ]
    return rows, 1


@expander("alert.legal")
def legal_alert(item: OutboxItem, cursor: int, size: int) -> tuple[list[dict], int]:
    """The organization's legal contact (its general contact if none is set)."""
    if cursor:
        return [], cursor
    org = db.session.get(Organization, item.organization_id)
    address = org.legal_contact_email or org.contact_email
    return [{"address": address, "locale": "pl" if org.country == "PL" else "en"}], 1
