"""Who receives each kind of outbox row. Each expander reads a chunk after `cursor`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from service.agreements import services as agreements
from service.agreements.models import AgreementRequest
from service.changes.models import Change, Notice
from service.customers.models import Customer, CustomerContact
from service.extensions import db
from service.notices import services as notice_services
from service.organizations.models import Organization
from service.outbox.models import OutboxItem
from service.outbox.services import expander
from service.portal import services as portal
from service.subscriptions import services as subscriptions
from service.subscriptions.models import Subscription
from service.webhooks.models import Webhook
from service.webhooks.services import delivery_address


def _notice_filter(item: OutboxItem) -> list:
    change = db.session.get(Change, item.payload["change_id"])
    # A customer offboarded since the announcement, leaving before the change takes
    # effect, is no longer told of it.
    gone = select(Customer.id).where(
        Customer.id == Notice.customer_id, Customer.ended_on < change.effective_on
    )
    conditions = [Notice.change_id == change.id, ~gone.exists()]
    if item.payload.get("customer_ids"):
        # A late customer's own notice (notices.ask_late_customer), not the others' again.
        conditions.append(Notice.customer_id.in_(item.payload["customer_ids"]))
    if item.topic == "change.withdrawn":
        conditions.append(Notice.withdrawn_at.is_not(None))
    elif item.topic == "change.reminder":
        conditions.append(Notice.reminded_at.is_not(None))
    else:
        conditions.append(Notice.withdrawn_at.is_(None))
    return conditions


def _written_notices(item: OutboxItem, cursor: int, size: int) -> tuple[list, int]:
    """Write the notices of the next chunk of customers, then read them back (with those a
    crashed attempt wrote before); the cursor is the last customer id."""
    change = db.session.get(Change, item.payload["change_id"])
    org = db.session.get(Organization, item.organization_id)
    last = notice_services.write_notices(org, change, cursor, size)
    if last is None:
        return [], cursor
    notices = db.session.execute(
        select(Notice.id, Notice.customer_id)
        .where(*_notice_filter(item), Notice.customer_id > cursor, Notice.customer_id <= last)
        .order_by(Notice.customer_id)
    ).all()
    return notices, last


UNCONTACTABLE_NAMED = 20


def _count_chunk(item: OutboxItem, notices: list, customer_ids: list[int]) -> None:
    """Keep on the row, with its cursor, the notices a chunk wrote and the customers it
    could not reach (no contact address): the change's audience is recorded and legal
    staff are alerted once the row is expanded, without a query over all its notices and
    deliveries at the end."""
    payload = dict(item.payload)
    if "notices" in payload:  # rows from before the count was kept record no audience
        payload["notices"] += len(notices)
    if customer_ids:
        named = payload.get("uncontactable_names", [])
        if len(named) < UNCONTACTABLE_NAMED:
            named = named + list(
                db.session.scalars(
                    select(Customer.name)
                    .where(Customer.id.in_(customer_ids))
                    .order_by(Customer.id)
                    .limit(UNCONTACTABLE_NAMED - len(named))
                )
            )
        payload["uncontactable"] = payload.get("uncontactable", 0) + len(customer_ids)
        payload["uncontactable_names"] = named
    if payload != item.payload:
        item.payload = payload


@expander("change.announced", "change.withdrawn", "change.reminder")
def change_notices(item: OutboxItem, cursor: int, size: int) -> tuple[list[dict], int]:
    """Every contact of every notified customer; the cursor is the last notice id, or the
    last customer id where the worker writes the notices."""
    if item.payload.get("write_notices"):
        notices, last = _written_notices(item, cursor, size)
    else:
        notices = db.session.execute(
            select(Notice.id, Notice.customer_id)
            .where(*_notice_filter(item), Notice.id > cursor)
            .order_by(Notice.id)
            .limit(size)
        ).all()
        last = notices[-1].id if notices else cursor
    if not notices:
        return [], last
    contacts = db.session.execute(
        select(CustomerContact.customer_id, CustomerContact.email, CustomerContact.locale)
        .where(CustomerContact.customer_id.in_({n.customer_id for n in notices}))
        .order_by(CustomerContact.id)
    ).all()
    by_customer: dict[int, list] = {}
    for contact in contacts:
        by_customer.setdefault(contact.customer_id, []).append(contact)
    if item.payload.get("write_notices"):
        _count_chunk(
            item, notices, [n.customer_id for n in notices if n.customer_id not in by_customer]
        )
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
    # The customers' active webhooks get the same notices; not as proof of notice (no
    # notice_id), which rests on e-mail.
    hooks = db.session.execute(
        select(Webhook.id, Webhook.customer_id)
        .where(Webhook.customer_id.in_({n.customer_id for n in notices}))
        .where(Webhook.status == "active")
        .order_by(Webhook.id)
    ).all()
    rows += [
        {
            "customer_id": hook.customer_id,
            "channel": "webhook",
            "address": delivery_address(hook.id),
            "locale": "en",
        }
        for hook in hooks
    ]
    return rows, last


@expander(*agreements.TOPICS)
def agreement_requests(item: OutboxItem, cursor: int, size: int) -> tuple[list[dict], int]:
    """Every contact of the customers this row asks to accept a version (or reminds), while
    the request is open; the cursor is the last request id."""
    names = (
        AgreementRequest.notice_outbox_id
        if item.topic == agreements.PUBLISHED_TOPIC
        else AgreementRequest.reminder_outbox_id
    )
    requests = db.session.execute(
        select(AgreementRequest.id, AgreementRequest.customer_id)
        .where(names == item.id, AgreementRequest.id > cursor)
        .order_by(AgreementRequest.id)
        .limit(size)
    ).all()
    if not requests:
        return [], cursor
    contacts = db.session.execute(
        select(CustomerContact.customer_id, CustomerContact.email, CustomerContact.locale)
        .join(AgreementRequest, AgreementRequest.customer_id == CustomerContact.customer_id)
        .where(
            AgreementRequest.id.in_([r.id for r in requests]),
            # Accepted or offboarded meanwhile: nothing to ask any more.
            AgreementRequest.closed_at.is_(None),
        )
        .order_by(CustomerContact.id)
    ).all()
    rows = [
        {"customer_id": c.customer_id, "address": c.email, "locale": c.locale} for c in contacts
    ]
    return rows, requests[-1].id


@expander("answer.receipt", "objection.resolved")
def answer_receipt(item: OutboxItem, cursor: int, size: int) -> tuple[list[dict], int]:
    """The customer's contacts, once: a receipt for its objection, consent or refusal, or
    the outcome of its objection."""
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


@expander(portal.SIGN_IN_TOPIC)
def portal_sign_in(item: OutboxItem, cursor: int, size: int) -> tuple[list[dict], int]:
    """The contacts with the address that asked to sign in: one link per customer."""
    if cursor:
        return [], cursor
    return [
        {"customer_id": s.customer_id, "address": s.contact.email, "locale": s.contact.locale}
        for s in portal.expand_sign_in(item)
    ], 1


@expander("alert.legal")
def legal_alert(item: OutboxItem, cursor: int, size: int) -> tuple[list[dict], int]:
    """The organization's legal contact (its general contact if none is set)."""
    if cursor:
        return [], cursor
    org = db.session.get(Organization, item.organization_id)
    address = org.legal_contact_email or org.contact_email
    return [{"address": address, "locale": "pl" if org.country == "PL" else "en"}], 1


@expander(subscriptions.CONFIRM_TOPIC)
def subscription_confirmation(item: OutboxItem, cursor: int, size: int) -> tuple[list[dict], int]:
    """The address that asked to subscribe, while its subscription is still pending."""
    if cursor:
        return [], cursor
    subscription = db.session.get(Subscription, item.payload["subscription_id"])
    if subscription is None or subscription.status != "pending" or not subscription.email:
        return [], cursor
    return [{"address": subscription.email, "locale": subscription.locale}], 1


@expander(*subscriptions.AUDIENCE_TOPICS)
def subscribers(item: OutboxItem, cursor: int, size: int) -> tuple[list[dict], int]:
    """Every confirmed subscriber of the organization; the cursor is the last subscription id."""
    found = db.session.execute(
        select(Subscription.id, Subscription.email, Subscription.locale)
        .where(
            Subscription.organization_id == item.organization_id,
            Subscription.status == "confirmed",
            Subscription.email.is_not(None),
            Subscription.id > cursor,
        )
        .order_by(Subscription.id)
        .limit(size)
    ).all()
    if not found:
        return [], cursor
    return [{"address": s.email, "locale": s.locale} for s in found], found[-1].id
