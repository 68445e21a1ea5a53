"""Subscriptions of the public: double opt-in, one-click unsubscribe, erasure.

Subscribing never tells the caller anything about the address (no enumeration): whether it
is new, pending, confirmed or suppressed, the answer is the same and the only difference
is whether a confirmation is queued. An erasure deletes the subscription and scrubs the
address from the delivery log; only a suppression entry (the address's hash) remains, so
the address is never written to again.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import String, cast, exists, func, select, update

from service import clock
from service.audit import services as audit
from service.changes.models import Change
from service.extensions import db
from service.organizations.models import Organization
from service.outbox import services as outbox
from service.outbox.models import Delivery, OutboxItem
from service.subscriptions.models import Subscription, Suppression

CONFIRM_TOPIC = "subscription.confirm"
# One fan-out row per announcement for the whole audience of confirmed subscribers.
AUDIENCE_TOPICS = ("subscribers.announced", "subscribers.withdrawn")
TOPICS = (CONFIRM_TOPIC, *AUDIENCE_TOPICS)


def email_hash(address: str) -> str:
    """SHA-256 of the lower-cased address: how an address is found without keeping it."""
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()


def is_suppressed(org: Organization, digest: str) -> bool:
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Suppression.organization_id == org.id, Suppression.email_hash == digest
                )
            )
        )
    )


def find(org: Organization, address: str) -> Subscription | None:
    """The subscription of an address, or None."""
    return db.session.scalars(
        select(Subscription).where(
            Subscription.organization_id == org.id,
            Subscription.email_hash == email_hash(address),
        )
    ).one_or_none()


def get(org: Organization, subscription_id: int) -> Subscription | None:
    return db.session.scalars(
        select(Subscription).where(
            Subscription.id == subscription_id, Subscription.organization_id == org.id
        )
    ).one_or_none()


def subscribe(org: Organization, address: str, locale: str, now: datetime | None = None) -> None:
    """Ask the address to confirm, unless it is suppressed, already confirmed, or was
    asked moments ago. Returns nothing: the caller must not learn which case it was."""
    now = now or clock.now()
    digest = email_hash(address)
    if is_suppressed(org, digest):
        return
    subscription = db.session.scalars(
        select(Subscription)
        .where(Subscription.organization_id == org.id, Subscription.email_hash == digest)
        .with_for_update()
    ).one_or_none()
    resend = timedelta(seconds=current_app.config["SUBSCRIPTION_CONFIRM_RESEND_SECONDS"])
    if subscription is None:
        subscription = Subscription(
            organization_id=org.id, email_hash=digest, status="pending", created_at=now
        )
        db.session.add(subscription)
    elif subscription.status == "confirmed":
        return  # an anonymous caller may not change a subscriber's settings
    elif subscription.requested_at > now - resend:
        return  # the form must not become a way to flood someone's mailbox
    subscription.status, subscription.email, subscription.locale = "pending", address, locale
    subscription.requested_at = now
    subscription.confirmed_at = subscription.unsubscribed_at = None
    db.session.flush()
    outbox.enqueue(CONFIRM_TOPIC, {"subscription_id": subscription.id}, org.id)


def confirm(subscription: Subscription, now: datetime | None = None) -> None:
    if subscription.status == "pending":
        subscription.status, subscription.confirmed_at = "confirmed", now or clock.now()


def unsubscribe(subscription: Subscription, now: datetime | None = None) -> None:
    """Stop all mail to the address at once, queued messages included (they are checked
    again when sent)."""
    if subscription.status != "unsubscribed":
        subscription.status, subscription.unsubscribed_at = "unsubscribed", now or clock.now()


def _scrub_deliveries(org: Organization, addresses: set[str]) -> int:
    """Remove the addresses from the delivery log of subscriber mail; what was still
    pending is not sent any more."""
    if not addresses:
        return 0
    subscriber_mail = select(OutboxItem.id).where(
        OutboxItem.organization_id == org.id, OutboxItem.topic.in_(TOPICS)
    )
    matching = (
        Delivery.organization_id == org.id,
        Delivery.channel == "email",
        func.lower(Delivery.address).in_([a.lower() for a in addresses]),
        Delivery.outbox_id.in_(subscriber_mail),
    )
    db.session.execute(
        update(Delivery)
        .where(*matching, Delivery.status == "pending")
        .values(status="failed")
        .execution_options(synchronize_session=False)
    )
    scrubbed = db.session.execute(
        update(Delivery)
        .where(*matching)
        .values(address="erased:" + cast(Delivery.id, String), last_response="erased on request")
        .execution_options(synchronize_session=False)
    ).rowcount
    return scrubbed or 0


def erase(
    org: Organization,
    *,
    address: str | None = None,
    subscription: Subscription | None = None,
    actor: str,
) -> bool:
    """Forget an address: delete its subscription, scrub it from the delivery log, and
    keep only its hash on the suppression list. Returns whether a subscription existed."""
    if subscription is None and address is not None:
        subscription = find(org, address)
    digest = email_hash(address) if address is not None else subscription.email_hash
    known = {a for a in (address, subscription.email if subscription else None) if a}
    scrubbed = _scrub_deliveries(org, known)
    existed = subscription is not None
    if subscription is not None:
        db.session.delete(subscription)
    suppression = db.session.scalars(
        select(Suppression).where(
            Suppression.organization_id == org.id, Suppression.email_hash == digest
        )
    ).one_or_none()
    if suppression is None:
        suppression = Suppression(organization_id=org.id, email_hash=digest, reason="erasure")
        db.session.add(suppression)
    db.session.flush()
    # The audit trail is append-only: it names the suppression entry, never the address.
    audit.record(
        org.id,
        actor,
        "subscription.erased",
        "suppression",
        suppression.id,
        after={"subscription_erased": existed, "deliveries_scrubbed": scrubbed},
    )
    return existed


def notify_subscribers(org: Organization, change: Change, event: str) -> bool:
    """Queue one fan-out row for the confirmed subscribers of a change, if there are any."""
    topic = f"subscribers.{event}"
    assert topic in AUDIENCE_TOPICS, topic
    anyone = db.session.scalar(
        select(
            exists().where(
                Subscription.organization_id == org.id, Subscription.status == "confirmed"
            )
        )
    )
    if anyone:
        outbox.enqueue(topic, {"change_id": change.id}, org.id)
    return bool(anyone)
