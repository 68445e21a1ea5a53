"""Sign-in by e-mail and sessions of the customer portal, and the few rules the portal adds
to the services it calls (a customer keeps at least one contact).

A sign-in link is a random token, bound to one contact of one customer, stored as its
SHA-256 only, usable once and for PORTAL_SIGN_IN_MAX_AGE_MINUTES. Asking for one answers
the same, in the same time, whatever the address: the request only writes an outbox row,
and the worker looks the address up. When it belongs to contacts of several customers of
the organization, each gets its own link (the session is always one customer's).
A session is a row found by the SHA-256 of the cookie's secret, with an idle and an
absolute expiry, and is revoked on sign-out.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from urllib.parse import urlencode

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import func, select

from service import clock
from service.audit import services as audit
from service.customers import services as customers
from service.customers.models import Customer, CustomerContact
from service.customers.schemas import ContactSchema
from service.errors import Conflict, NotFound, ValidationFailed
from service.extensions import db
from service.organizations.models import Organization
from service.outbox import services as outbox
from service.outbox.models import OutboxItem
from service.portal.models import PortalSession, PortalSignIn

SIGN_IN_TOPIC = "portal.sign_in"
# Who asked for a link is not known yet: the form is open to anyone.
REQUEST_ACTOR = "portal:sign-in-form"
LINK_INVALID = "This sign-in link is not valid (any more)."


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def actor(session: PortalSession) -> str:
    """The audit actor of a signed-in contact: the customer and which of its contacts."""
    return f"customer-portal:{session.customer.external_ref}/contact-{session.contact_id}"


def _base() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


def sign_in_page_url(org: Organization, email: str, lang: str) -> str:
    """The sign-in page with the address filled in, linked from notices."""
    return f"{_base()}/portal/{org.slug}/sign-in?{urlencode({'email': email, 'lang': lang})}"


def sign_in_link(org: Organization, token: str) -> str:
    return f"{_base()}/portal/{org.slug}/sign-in/{token}"


# --- asking for a link --------------------------------------------------------------------


def request_sign_in(org: Organization, email: str) -> None:
    """Queue the request itself, whatever the address: who it reaches is decided by the
    worker (expand_sign_in), so the answer takes as long for an address that is no contact.
    """
    address = email.strip().lower()
    if address and len(address) <= 320:
        outbox.enqueue(SIGN_IN_TOPIC, {"email": address}, org.id)


def expand_sign_in(item: OutboxItem, *, now: datetime | None = None) -> list[PortalSignIn]:
    """Write a sign-in for every contact of the organization's customers with the address
    of a queued request, and forget the address of the request.

    A contact that got a link within PORTAL_SIGN_IN_RESEND_SECONDS gets no other, so the
    form cannot be used to flood a mailbox.
    """
    now = now or clock.now()
    address = item.payload.get("email")
    contacts = db.session.scalars(
        select(CustomerContact)
        .join(Customer, Customer.id == CustomerContact.customer_id)
        .where(
            Customer.organization_id == item.organization_id,
            func.lower(CustomerContact.email) == address,
        )
        .order_by(CustomerContact.id)
    ).all()
    quiet = timedelta(seconds=current_app.config["PORTAL_SIGN_IN_RESEND_SECONDS"])
    created = []
    for contact in contacts:
        recent = db.session.scalar(
            select(PortalSignIn.id).where(
                PortalSignIn.contact_id == contact.id, PortalSignIn.requested_at > now - quiet
            )
        )
        if recent is not None:
            continue
        sign_in = PortalSignIn(
            organization_id=item.organization_id,
            customer_id=contact.customer_id,
            contact_id=contact.id,
            requested_at=now,
        )
        db.session.add(sign_in)
        db.session.flush()
        audit.record(
            item.organization_id,
            REQUEST_ACTOR,
            "portal.sign_in_requested",
            "portal_sign_in",
            sign_in.id,
            after={"customer_id": contact.customer_id, "contact_id": contact.id},
        )
        created.append(sign_in)
    # Addresses that are nobody's contact are not kept; the others are in the contacts.
    item.payload = {"sign_in_ids": [s.id for s in created]}
    return created


def sign_in_of(item: OutboxItem, customer_id: int | None) -> PortalSignIn | None:
    """The unused sign-in of one customer that a queued request led to."""
    ids = item.payload.get("sign_in_ids") or []
    return db.session.scalars(
        select(PortalSignIn).where(
            PortalSignIn.id.in_(ids),
            PortalSignIn.customer_id == customer_id,
            PortalSignIn.used_at.is_(None),
        )
    ).one_or_none()


def issue_token(sign_in: PortalSignIn, *, now: datetime | None = None) -> str:
    """Mint the link's token as the message is built; only its hash is kept."""
    now = now or clock.now()
    token = secrets.token_urlsafe(32)
    sign_in.token_hash = digest(token)
    sign_in.expires_at = now + timedelta(
        minutes=current_app.config["PORTAL_SIGN_IN_MAX_AGE_MINUTES"]
    )
    return token


# --- using a link ---------------------------------------------------------------------------


def find_sign_in(
    org: Organization, token: str, *, lock: bool = False, now: datetime | None = None
) -> PortalSignIn:
    """The usable sign-in a token names, or 404: unknown, used, expired or foreign alike."""
    now = now or clock.now()
    sign_in = None
    if 20 <= len(token) <= 100:
        stmt = select(PortalSignIn).where(
            PortalSignIn.token_hash == digest(token), PortalSignIn.organization_id == org.id
        )
        sign_in = db.session.scalars(stmt.with_for_update() if lock else stmt).one_or_none()
    if (
        sign_in is None
        or sign_in.used_at is not None
        or sign_in.expires_at is None
        or now >= sign_in.expires_at
    ):
        raise NotFound(LINK_INVALID)
    return sign_in


def sign_in(
    org: Organization, token: str, *, now: datetime | None = None
) -> tuple[PortalSession, str]:
    """Use a link once: start a session for its contact; return it and the cookie secret."""
    now = now or clock.now()
    # The lock makes two clicks on one link queue up; the second finds it used.
    link = find_sign_in(org, token, lock=True, now=now)
    link.used_at = now
    secret = secrets.token_urlsafe(32)
    config = current_app.config
    session = PortalSession(
        organization_id=org.id,
        customer_id=link.customer_id,
        contact_id=link.contact_id,
        session_hash=digest(secret),
        csrf_token=secrets.token_urlsafe(32),
        locale=link.contact.locale,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=config["PORTAL_SESSION_MAX_HOURS"]),
    )
    db.session.add(session)
    db.session.flush()
    audit.record(
        org.id,
        actor(session),
        "portal.signed_in",
        "portal_session",
        session.id,
        after={"customer_id": session.customer_id, "contact_id": session.contact_id},
    )
    return session, secret


def current_session(
    org: Organization, secret: str | None, *, now: datetime | None = None
) -> PortalSession | None:
    """The live session a cookie names, its idle clock restarted; None otherwise."""
    if not secret or len(secret) > 100:
        return None
    now = now or clock.now()
    session = db.session.scalars(
        select(PortalSession).where(
            PortalSession.session_hash == digest(secret),
            PortalSession.organization_id == org.id,
        )
    ).one_or_none()
    idle = timedelta(minutes=current_app.config["PORTAL_SESSION_IDLE_MINUTES"])
    if (
        session is None
        or session.revoked_at is not None
        or now >= session.expires_at
        or now - session.last_seen_at >= idle
    ):
        return None
    session.last_seen_at = now
    return session


def sign_out(org: Organization, session: PortalSession) -> None:
    session.revoked_at = clock.now()
    audit.record(
        org.id,
        actor(session),
        "portal.signed_out",
        "portal_session",
        session.id,
        after={"customer_id": session.customer_id, "contact_id": session.contact_id},
    )


# --- contacts -------------------------------------------------------------------------------


def _contacts(customer: Customer) -> list[dict]:
    return [{"email": c.email, "name": c.name, "locale": c.locale} for c in customer.contacts]


def add_contact(org: Organization, customer: Customer, data: dict, *, actor: str) -> None:
    """Add a notification contact through the same rule as the API (contacts are a set)."""
    try:
        contact = ContactSchema().load(data)
    except ValidationError as exc:
        raise ValidationFailed("Check the contact.", errors=exc.messages) from exc
    if any(c.email.lower() == contact["email"].lower() for c in customer.contacts):
        raise Conflict("This address is already a contact.", errors={"email": ["Taken."]})
    if len(customer.contacts) >= 20:
        raise Conflict("A customer has at most 20 contacts; remove one first.")
    customers.edit_customer(
        org, customer, {"contacts": [*_contacts(customer), contact]}, actor=actor
    )


def _contact(customer: Customer, contact_id: int) -> CustomerContact:
    found = next((c for c in customer.contacts if c.id == contact_id), None)
    if found is None:
        raise NotFound("No such contact.")
    return found


def remove_contact(org: Organization, customer: Customer, contact_id: int, *, actor: str) -> None:
    """Remove a contact; never the last one, or no notice could be given."""
    removed = _contact(customer, contact_id)
    if len(customer.contacts) == 1:
        raise Conflict("The last contact cannot be removed: notices need an address.")
    kept = [c for c in _contacts(customer) if c["email"] != removed.email]
    customers.edit_customer(org, customer, {"contacts": kept}, actor=actor)


def set_contact_locale(
    org: Organization, customer: Customer, contact_id: int, locale: str, *, actor: str
) -> None:
    changed = _contact(customer, contact_id)
    contacts = [
        {**c, "locale": locale} if c["email"] == changed.email else c for c in _contacts(customer)
    ]
    try:
        contacts = ContactSchema(many=True).load(contacts)
    except ValidationError as exc:
        raise ValidationFailed("Choose Polish or English.", errors=exc.messages) from exc
    customers.edit_customer(org, customer, {"contacts": contacts}, actor=actor)
