"""Signed links in notices: the customer answers without a key.

A link names one notice of one customer, change and organization; a token for another
organization, change or customer fails the check. GET only shows a page (mail scanners
follow links by themselves); POST acts.
"""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from service.changes.models import Notice
from service.config import signing_keys
from service.errors import InvalidLink
from service.extensions import db
from service.organizations.models import Organization

SALT = "dpa-registry/notice-answer"


def _serializer() -> URLSafeTimedSerializer:
    # Signs with SECRET_KEY; links signed with a key in SECRET_KEY_FALLBACKS still work.
    return URLSafeTimedSerializer(signing_keys(current_app.config), salt=SALT)


def answer_token(org: Organization, notice: Notice, lang: str | None = None) -> str:
    """The token of a notice's link; `lang` is the language of the contact it is mailed to,
    so the page opens in the language of the e-mail (not that of another contact)."""
    data = {"o": org.id, "n": notice.id, "ch": notice.change_id, "c": notice.customer_id}
    if lang:
        data["l"] = lang
    return _serializer().dumps(data)


def answer_url(org: Organization, notice: Notice, lang: str | None = None) -> str:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return f"{base}/orgs/{org.slug}/answers/{answer_token(org, notice, lang)}"


def answer_language(token: str) -> str | None:
    """The recipient's language a valid token carries (links in e-mails), else None."""
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    return data.get("l") if isinstance(data, dict) else None


def read_answer_token(org: Organization, token: str) -> Notice:
    """The notice a valid token names, or 404: forged, expired or foreign tokens alike."""
    max_age = current_app.config["NOTICE_LINK_MAX_AGE_DAYS"] * 86400
    try:
        data = _serializer().loads(token, max_age=max_age)
    except BadSignature as exc:  # SignatureExpired is a BadSignature too
        raise InvalidLink("This link is not valid (any more).") from exc
    if not isinstance(data, dict) or data.get("o") != org.id:
        raise InvalidLink("This link is not valid (any more).")
    notice = db.session.scalars(
        select(Notice).where(
            Notice.id == data.get("n"),
            Notice.change_id == data.get("ch"),
            Notice.customer_id == data.get("c"),
        )
    ).one_or_none()
    if notice is None:
        raise InvalidLink("This link is not valid (any more).")
    return notice
