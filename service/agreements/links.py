"""Signed links that ask a customer to accept an agreement version without a key.

A link names one customer of one organization and one version label; GET shows the text
and asks, only POST accepts (mail scanners follow links by themselves).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from service.config import signing_keys
from service.customers.models import Customer
from service.errors import NotFound
from service.extensions import db
from service.organizations.models import Organization

SALT = "dpa-registry/agreement-acceptance"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(signing_keys(current_app.config), salt=SALT)


@dataclass(frozen=True)
class AcceptLink:
    customer: Customer
    label: str
    address: str | None  # the contact the link was e-mailed to
    message_id: str | None  # the Message-ID of that e-mail


def accept_token(
    org: Organization,
    customer_id: int,
    label: str,
    address: str | None = None,
    message_id: str | None = None,
) -> str:
    data = {"o": org.id, "c": customer_id, "v": label}
    if address:
        data |= {"a": address, "m": message_id}
    return _serializer().dumps(data)


def accept_url(
    org: Organization,
    customer_id: int,
    label: str,
    lang: str,
    *,
    address: str | None = None,
    message_id: str | None = None,
) -> str:
    """The link of one e-mail: bound to the contact address it is sent to."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    token = accept_token(org, customer_id, label, address, message_id)
    return f"{base}/orgs/{org.slug}/agreement/accept/{token}?lang={quote(lang)}"


def _text(value: object, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def read_accept_token(org: Organization, token: str) -> AcceptLink:
    """The customer, version label and addressee a valid token names, or 404 for any bad
    token."""
    max_age = current_app.config["AGREEMENT_LINK_MAX_AGE_DAYS"] * 86400
    try:
        data = _serializer().loads(token, max_age=max_age)
    except BadSignature as exc:  # SignatureExpired is a BadSignature too
        raise NotFound("This link is not valid (any more).") from exc
    if not isinstance(data, dict) or data.get("o") != org.id or not isinstance(data.get("v"), str):
        raise NotFound("This link is not valid (any more).")
    customer = db.session.scalar(
        select(Customer).where(Customer.id == data.get("c"), Customer.organization_id == org.id)
    )
    if customer is None:
        raise NotFound("This link is not valid (any more).")
    return AcceptLink(customer, data["v"], _text(data.get("a"), 320), _text(data.get("m"), 200))
