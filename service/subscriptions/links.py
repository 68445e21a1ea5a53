"""Signed links in mail to the public: confirm a subscription, unsubscribe or erase.

A confirmation link expires (SUBSCRIPTION_CONFIRM_MAX_AGE_HOURS); an unsubscribe link does
not, because a way out must keep working in every message ever sent. Both name one
subscription of one organization; GET only shows a page, POST acts.
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer

from service.config import signing_keys
from service.errors import InvalidLink
from service.organizations.models import Organization
from service.subscriptions.models import Subscription

CONFIRM_SALT = "dpa-registry/subscription-confirm"
UNSUBSCRIBE_SALT = "dpa-registry/subscription-unsubscribe"


def _base() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


def _confirm_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(signing_keys(current_app.config), salt=CONFIRM_SALT)


def _unsubscribe_serializer() -> URLSafeSerializer:
    # Old keys stay in SECRET_KEY_FALLBACKS: these links never expire (docs/operations.md).
    return URLSafeSerializer(signing_keys(current_app.config), salt=UNSUBSCRIBE_SALT)


def confirm_url(org: Organization, subscription: Subscription) -> str:
    token = _confirm_serializer().dumps({"o": org.id, "s": subscription.id})
    return f"{_base()}/orgs/{org.slug}/subscriptions/confirm/{token}"


def unsubscribe_url(org: Organization, subscription: Subscription) -> str:
    token = _unsubscribe_serializer().dumps({"o": org.id, "s": subscription.id})
    return f"{_base()}/orgs/{org.slug}/unsubscribe/{token}"


def _subscription_id(org: Organization, data: object) -> int:
    if not isinstance(data, dict) or data.get("o") != org.id or not isinstance(data.get("s"), int):
        raise InvalidLink("This link is not valid (any more).")
    return data["s"]


def read_confirm_token(org: Organization, token: str) -> int:
    """The subscription id a valid confirmation link names, or 404 (forged, expired, foreign)."""
    max_age = current_app.config["SUBSCRIPTION_CONFIRM_MAX_AGE_HOURS"] * 3600
    try:
        data = _confirm_serializer().loads(token, max_age=max_age)
    except BadSignature as exc:  # SignatureExpired is a BadSignature too
        raise InvalidLink("This link is not valid (any more).") from exc
    return _subscription_id(org, data)


def read_unsubscribe_token(org: Organization, token: str) -> int:
    """The subscription id a valid unsubscribe link names, or 404 (forged or foreign)."""
    try:
        data = _unsubscribe_serializer().loads(token)
    except BadSignature as exc:
        raise InvalidLink("This link is not valid.") from exc
    return _subscription_id(org, data)
