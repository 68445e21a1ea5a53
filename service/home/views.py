"""The home page (`/`) and the portal's entrance (`/portal/`): what this is and where to go.

Both list the organizations whose public pages anyone may read anyway, so a person who
lands here finds their list or their portal's sign-in without knowing a slug.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, Response, render_template
from sqlalchemy import func, select

from service.error_pages import language
from service.extensions import db
from service.home.texts import TEXTS
from service.organizations.models import Organization

bp = Blueprint("home", __name__)

# A deployment may serve many organizations; a page of links stays readable.
LISTED = 100
CACHE_CONTROL = "public, max-age=60"


@bp.get("/")
def index() -> Response:
    """Each organization's public list."""
    return _page("home/index.html", lambda org, lang, t: org.legal_name, "/orgs/{}/subprocessors")


@bp.get("/portal/")
def portal() -> Response:
    """`/portal` names no organization: offer each organization's sign-in."""

    def label(org: Organization, lang: str, t: dict) -> str:
        return t["sign_in_at"].format(org=org.legal_name)

    return _page("home/portal.html", label, "/portal/{}/sign-in")


def _page(template: str, label: Callable[[Organization, str, dict], str], path: str) -> Response:
    lang = language()
    t = TEXTS[lang]
    organizations = db.session.scalars(
        select(Organization).order_by(Organization.legal_name, Organization.slug).limit(LISTED)
    ).all()
    body = render_template(
        template,
        lang=lang,
        t=t,
        languages=[(code, TEXTS[code]["language_name"]) for code in TEXTS],
        entries=[(f"{path.format(o.slug)}?lang={lang}", label(o, lang, t)) for o in organizations],
        total=db.session.scalar(select(func.count(Organization.id))),
    )
    response = Response(body, mimetype="text/html")
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers["Vary"] = "Accept-Language"
    response.headers["Content-Language"] = lang
    return response
