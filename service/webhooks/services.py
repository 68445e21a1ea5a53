"""Register customers' webhooks and send notices to them.

A webhook gets the same notices as the customer's e-mail contacts (announced, reminded,
withdrawn changes), POSTed as JSON and signed (see `secrets.signature`). It is an extra
channel: proof of notice still rests on e-mail. Failures are retried by the delivery
machinery with its backoff; after WEBHOOK_MAX_FAILURES consecutive failed attempts the
webhook is disabled and legal staff are alerted.
"""

from __future__ import annotations

import http.client
import json
from datetime import date, datetime

from cryptography.fernet import InvalidToken
from flask import current_app
from sqlalchemy import select, update

from service import clock
from service.audit import services as audit
from service.changes import services as changes
from service.changes.models import Change, Notice
from service.common import MAX_ID
from service.customers.models import Customer
from service.errors import Conflict, NotFound, ValidationFailed
from service.extensions import db
from service.mail.senders import PermanentFailure, TemporaryFailure
from service.notices.links import answer_url
from service.notices.services import standing_fields
from service.objections.services import answer_of
from service.organizations.models import Organization
from service.outbox import services as outbox
from service.outbox.models import Delivery
from service.webhooks import endpoints, secrets
from service.webhooks.models import Webhook

ADDRESS_PREFIX = "webhook:"
USER_AGENT = "dpa-registry-webhooks/1"


def delivery_address(webhook_id: int) -> str:
    """How a webhook is named in a Delivery's address."""
    return f"{ADDRESS_PREFIX}{webhook_id}"


def present(webhook: Webhook) -> dict:
    return {
        "id": webhook.id,
        "customer_id": webhook.customer_id,
        "url": webhook.url,
        "status": webhook.status,
        "failures": webhook.failures,
        "last_error": webhook.last_error,
        "created_at": webhook.created_at,
        "disabled_at": webhook.disabled_at,
    }


def register(org: Organization, customer: Customer, url: str, *, actor: str) -> tuple[Webhook, str]:
    """Register an endpoint; return the webhook and its secret, which is never shown again."""
    try:
        endpoints.resolve(url)
    except endpoints.UnsafeEndpoint as exc:
        raise ValidationFailed(str(exc), errors={"url": [str(exc)]}, key="webhook_url") from exc
    # The customer's row lock makes concurrent registrations count one after the other.
    db.session.execute(select(Customer.id).where(Customer.id == customer.id).with_for_update())
    hooks = list_webhooks(customer)
    if any(h.url == url for h in hooks):
        raise Conflict(
            "This URL is already registered.",
            errors={"url": ["Already registered."]},
            key="webhook_exists",
        )
    limit = current_app.config["WEBHOOKS_PER_CUSTOMER"]
    if len(hooks) >= limit:
        raise Conflict(
            f"A customer may register at most {limit} webhooks; remove one first.",
            key="webhook_limit",
            limit=limit,
        )
    secret = secrets.new_secret()
    webhook = Webhook(
        organization_id=org.id,
        customer_id=customer.id,
        url=url,
        secret_encrypted=secrets.encrypt(secret),
        status="active",
        failures=0,
    )
    db.session.add(webhook)
    db.session.flush()
    audit.record(
        org.id,
        actor,
        "webhook.registered",
        "webhook",
        webhook.id,
        after={"customer_id": customer.id, "url": url},
    )
    return webhook, secret


def list_webhooks(customer: Customer) -> list[Webhook]:
    return list(
        db.session.scalars(
            select(Webhook).where(Webhook.customer_id == customer.id).order_by(Webhook.id)
        )
    )


def get_webhook(customer: Customer, webhook_id: int) -> Webhook:
    webhook = None
    if 0 < webhook_id <= MAX_ID:
        webhook = db.session.scalars(
            select(Webhook).where(Webhook.id == webhook_id, Webhook.customer_id == customer.id)
        ).one_or_none()
    if webhook is None:
        raise NotFound("No such webhook.")
    return webhook


def remove(org: Organization, webhook: Webhook, *, actor: str) -> None:
    """Delete a webhook; messages still queued for it are not sent."""
    before = {"customer_id": webhook.customer_id, "url": webhook.url, "status": webhook.status}
    db.session.delete(webhook)
    audit.record(org.id, actor, "webhook.removed", "webhook", webhook.id, before=before)


# --- sending ---------------------------------------------------------------------------------


def _jsonable(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def payload(delivery: Delivery) -> dict:
    """What a receiver gets: the event, the change and this customer's notice of it."""
    item = delivery.outbox
    org = db.session.get(Organization, item.organization_id)
    change = db.session.get(Change, item.payload["change_id"])
    notice = db.session.scalars(
        select(Notice).where(
            Notice.change_id == change.id, Notice.customer_id == delivery.customer_id
        )
    ).one_or_none()
    body: dict = {
        # The same for every retry of this delivery: receivers deduplicate by it.
        "id": delivery.message_id.strip("<>"),
        "event": item.topic,
        "organization": org.slug,
        "change": changes.present(change, clock.local_today(org.timezone)),
        "notice": None,
    }
    if notice is not None:
        answerable = (
            notice.response != "none" and notice.withdrawn_at is None and answer_of(notice) is None
        )
        body["notice"] = {
            "id": notice.id,
            "customer_id": notice.customer_id,
            "response": notice.response,
            "notice_days": notice.notice_days,
            "objection_deadline": notice.objection_deadline,
            "withdrawn_at": notice.withdrawn_at,
            "answer_url": answer_url(org, notice) if answerable else None,
            # The same answer as the customer's list: from when the change applies to it.
            **standing_fields(org, notice, answer_of(notice)),
        }
    return body


def send_webhook(delivery: Delivery) -> str:
    """POST one delivery to its webhook; return the answer or raise a *Failure, as an
    EmailSender does, so the delivery machinery retries and gives up the same way."""
    webhook_id = delivery.address.removeprefix(ADDRESS_PREFIX)
    webhook = db.session.get(Webhook, int(webhook_id)) if webhook_id.isdigit() else None
    if webhook is None or webhook.customer_id != delivery.customer_id:
        raise PermanentFailure("not sent: the webhook was removed")
    if webhook.status != "active":
        raise PermanentFailure("not sent: the webhook is disabled")
    try:
        secret = secrets.decrypt(webhook.secret_encrypted)
    except InvalidToken as exc:  # SECRET_KEY rotated: the customer must register again
        _failed(webhook, "the secret cannot be decrypted")
        raise PermanentFailure("the webhook's secret cannot be decrypted") from exc
    body = json.dumps(payload(delivery), default=_jsonable, ensure_ascii=False).encode()
    timestamp = str(int(clock.timestamp()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-DPA-Event": delivery.outbox.topic,
        "X-DPA-Delivery": delivery.message_id.strip("<>"),
        "X-DPA-Timestamp": timestamp,
        "X-DPA-Signature": secrets.signature(secret, timestamp, body),
    }
    timeout = current_app.config["WEBHOOK_TIMEOUT_SECONDS"]
    try:
        status, answer = endpoints.post(webhook.url, body, headers, timeout)
    except endpoints.UnsafeEndpoint as exc:
        # Checked again at every send: the name may resolve elsewhere than at registration.
        error = f"refused: {exc}"
        _failed(webhook, error)
        raise TemporaryFailure(error) from exc
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"
        _failed(webhook, error)
        raise TemporaryFailure(error) from exc
    reply = f"HTTP {status} {answer}".strip()[:500]
    if 200 <= status < 300:
        db.session.execute(
            update(Webhook)
            .where(Webhook.id == webhook.id)
            .values(failures=0)
            .execution_options(synchronize_session=False)
        )
        db.session.expire(webhook)
        return reply
    _failed(webhook, reply)
    raise TemporaryFailure(reply)


def _failed(webhook: Webhook, error: str) -> None:
    """Count a failed attempt; the attempt that reaches the limit disables the webhook and
    alerts legal staff, exactly once however many workers fail at the same time."""
    failures = db.session.execute(
        update(Webhook)
        .where(Webhook.id == webhook.id)
        .values(failures=Webhook.failures + 1, last_error=error[:2000])
        .returning(Webhook.failures)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    limit = current_app.config["WEBHOOK_MAX_FAILURES"]
    disabled = 0
    if failures >= limit:
        disabled = db.session.execute(
            update(Webhook)
            .where(Webhook.id == webhook.id, Webhook.status == "active")
            .values(status="disabled", disabled_at=clock.now())
            .execution_options(synchronize_session=False)
        ).rowcount
    db.session.expire(webhook)
    if not disabled:
        return
    customer = db.session.get(Customer, webhook.customer_id)
    details = {
        "webhook_id": webhook.id,
        "customer_id": customer.id,
        "customer": customer.name,
        "url": webhook.url,
        "failures": failures,
        "error": error[:500],
    }
    audit.record(
        webhook.organization_id,
        "system:webhooks",
        "webhook.disabled",
        "webhook",
        webhook.id,
        before={"status": "active"},
        after={"status": "disabled", "failures": failures, "error": error[:500]},
    )
    outbox.enqueue("alert.legal", {"kind": "webhook_disabled", **details}, webhook.organization_id)
