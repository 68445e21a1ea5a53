"""Signed links that ask a customer to accept an agreement version without a key.

A link names one customer of one organization and one version label; GET shows the text
and asks, only POST accepts (mail scanners follow links by themselves).
"""

from __future__ import annotations

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


def accept_token(org: Organization, customer_id: int, label: str) -> str:
    return _serializer().dumps({"o": org.id, "c": customer_id, "v": label})


def accept_url(org: Organization, customer_id: int, label: str, lang: str) -> str:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    token = accept_token(org, customer_id, label)
    return f"{base}/orgs/{org.slug}/agreement/accept/{token}?lang={quote(lang)}"


def read_accept_token(org: Organization, token: str) -> tuple[Customer, str]:
    """The customer and version label a valid token names, or 404 for any bad token."""
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
    return customer, data["v"]
