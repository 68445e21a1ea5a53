"""Errors for people: a page in the reader's language where a browser asks for a page, the
problem+json of `service.errors` for every other client.

Every error handler of the app is wrapped by `negotiated`, and the few answers built
before a view runs (the rate limit) go through `respond`: both ask `web.wants_html`, the
one place that decides. A page says what happened in words keyed by meaning
(`service.error_texts`), never the English `detail`, and offers a way on: the
organization's public list or its portal's sign-in where the path names a known
organization, else the home page.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Mapping

from flask import Flask, Response, render_template, request
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException

from service import i18n
from service.error_texts import LANGUAGES, STATUS_KEYS, TEXTS
from service.errors import (
    DomainError,
    handle_data_error,
    handle_database_unavailable,
    handle_domain_error,
    handle_integrity_error,
    handle_unexpected,
)
from service.extensions import api, db
from service.notices.links import answer_language
from service.organizations.models import Organization
from service.web import negotiable, wants_html

log = logging.getLogger(__name__)

# /orgs/<slug>/... (public pages, signed links) and /portal/<slug>/... (the portal).
ORGANIZATION_PATH = re.compile(r"/(orgs|portal)/([a-z0-9-]{1,63})(?:/|$)")
# Headers of the problem that still mean something on a page.
KEPT_HEADERS = ("Retry-After", "Allow")
# Endpoints of mailed links whose token names the recipient's language: their errors (an
# expired link, too many attempts) are in the language of the e-mail, as the page is.
LINK_LANGUAGES: dict[str, Callable[[str], str | None]] = {"answers.answer_page": answer_language}
HANDLERS: tuple[tuple[type[Exception], Callable[[Exception], Response]], ...] = (
    (DomainError, handle_domain_error),
    (IntegrityError, handle_integrity_error),
    (DataError, handle_data_error),
    (OperationalError, handle_database_unavailable),
    (Exception, handle_unexpected),
)


def init_app(app: Flask) -> None:
    """Register every error handler, negotiated (after flask-smorest registered its own)."""
    app.register_error_handler(HTTPException, negotiated(api.handle_http_exception))
    for kind, handler in HANDLERS:
        app.register_error_handler(kind, negotiated(handler))


def negotiated(handler: Callable[[Exception], Response]) -> Callable[[Exception], Response]:
    """The handler's problem+json, or the same error as a page for a browser."""

    @functools.wraps(handler)
    def answer(error: Exception) -> Response:
        return respond(
            handler(error), getattr(error, "key", None), getattr(error, "extra", None) or {}
        )

    return answer


def respond(problem: Response, key: str | None = None, values: Mapping | None = None) -> Response:
    """`problem` for an API client; for a browser, a page about the same error."""
    if not wants_html():
        if negotiable():
            problem.vary.add("Accept")  # a cache must not give a browser this problem
        return problem
    try:
        return page(problem.status_code, key, headers=problem.headers, values=values)
    except Exception:
        # A page that cannot be drawn must not turn an error into a bare 500.
        log.exception("error page failed; answering problem+json")
        return problem


def language() -> str:
    """The page's language: `?lang=` as on every page, then the recipient's language that a
    mailed link carries, then Accept-Language, then Polish."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    reader = LINK_LANGUAGES.get(request.endpoint or "")
    token = (request.view_args or {}).get("token")
    mailed = reader(token) if reader is not None and isinstance(token, str) else None
    if mailed in LANGUAGES:
        return mailed
    return request.accept_languages.best_match(LANGUAGES) or LANGUAGES[0]


def message(key: str | None, status: int, lang: str, values: Mapping | None = None) -> str:
    messages = TEXTS[lang]["messages"]
    general = messages[STATUS_KEYS.get(status, "error")]
    try:
        return messages.get(key or "", general).format(**(values or {}))
    except (KeyError, IndexError, ValueError):  # a value the words need is missing
        return general


def for_people(error: DomainError, lang: str) -> str:
    """What a page shows of a broken rule, in `lang`: its words where the error names them;
    else, the API's detail on an English page and what the status means on a Polish one."""
    if error.key is None and lang == "en":
        return error.detail
    return message(error.key, error.status, lang if lang in TEXTS else LANGUAGES[0], error.extra)


def page(
    status: int,
    key: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    values: Mapping | None = None,
) -> Response:
    lang = language()
    t = TEXTS[lang]
    titles = t["titles"]
    title = titles.get(key or "") or titles[STATUS_KEYS.get(status, "error")]
    headers = headers or {}
    org, way_href, way_label = _way_on(status, lang)
    wait = headers.get("Retry-After", "")
    body = render_template(
        "errors/page.html",
        lang=lang,
        t=t,
        org=org,
        title=title,
        message=message(key, status, lang, values),
        retry=t["retry"].format(wait=i18n.wait(int(wait), lang)) if wait.isdigit() else None,
        status_line=t["status"].format(status=status),
        way_href=way_href,
        way_label=way_label,
    )
    response = Response(body, status=status, mimetype="text/html")
    for name in KEPT_HEADERS:
        if name in headers:
            response.headers[name] = headers[name]
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "Accept, Accept-Language"
    response.headers["Content-Language"] = lang
    return response


def _way_on(status: int, lang: str) -> tuple[Organization | None, str, str]:
    """Where the reader can go from here: the organization's page, or the home page."""
    t = TEXTS[lang]
    found = _organization(status)
    if found is None:
        return None, "/", t["way_home"]
    area, org = found
    if area == "portal":
        return (
            org,
            f"/portal/{org.slug}/sign-in?lang={lang}",
            t["way_portal"].format(org=org.legal_name),
        )
    return (
        org,
        f"/orgs/{org.slug}/subprocessors?lang={lang}",
        t["way_public"].format(org=org.legal_name),
    )


def _organization(status: int) -> tuple[str, Organization] | None:
    """The area and organization the path names, if it exists."""
    match = ORGANIZATION_PATH.match(request.path)
    # A key binds its holder to one tenant; its errors name no other. A database that is
    # down is not asked again.
    if match is None or status == 503 or request.headers.get("Authorization"):
        return None
    area, slug = match.groups()
    try:
        db.session.rollback()  # the request's transaction failed or is over: nothing to keep
        org = db.session.scalars(select(Organization).where(Organization.slug == slug)).first()
    except SQLAlchemyError:
        log.warning("error page: organization not looked up", exc_info=True)
        return None
    return (area, org) if org is not None else None
