"""HTTP glue of the customer portal: HTML pages under /portal/<org>/, not part of the API.

The customer is the session's, never a URL's: ids in URLs (changes, contacts, webhooks)
are looked up within that customer, so another customer's or organization's id is a 404.
Every POST must come from this site (Origin, else Referer) and carry the form's CSRF token:
the session's once signed in, a double-submit cookie's before.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import date
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, g, redirect, render_template, request
from sqlalchemy import select

from service import clock, i18n
from service.agreements import services as agreements
from service.agreements.views import render_markdown
from service.changes import services as changes
from service.changes.models import Notice
from service.customers.services import effective_terms
from service.customers.subprocessors import customer_view, upcoming
from service.error_pages import for_people, respond
from service.errors import Conflict, DomainError, NotFound, handle_domain_error
from service.extensions import db
from service.keys.auth import load_organization
from service.notices import presenting
from service.notices.texts import STATES
from service.notices.views import present_notice
from service.objections import services as objections
from service.objections import views as answer_views
from service.portal import services
from service.portal.texts import TEXTS
from service.public import services as public
from service.public.texts import negotiate
from service.recipients import services as recipients
from service.records import services as records
from service.records.texts import TEXTS as RECORD_TEXTS
from service.web import acts
from service.webhooks import services as webhooks

bp = Blueprint("portal", __name__, url_prefix="/portal/<org>")

SESSION_COOKIE = "dpa_portal"
FORM_COOKIE = "dpa_portal_form"
# Forms that come before a session; they are checked against FORM_COOKIE instead.
ANONYMOUS = {"portal.sign_in_form", "portal.sign_in_request", "portal.sign_in_link"}
MAX_REASON = 5000


# --- pages, cookies, language -----------------------------------------------------------------


def _secure() -> bool:
    # Secure cookies where customers reach us over https (production); the tests and
    # `make run` serve plain http on 127.0.0.1, where a Secure cookie would never come back.
    return current_app.config["PUBLIC_BASE_URL"].startswith("https://")


def _cookie_path(org: str) -> str:
    return f"/portal/{org}/"


def _page(template: str, status: int = 200, **context: object) -> Response:
    response = Response(render_template(template, **context), status=status)
    response.headers["Cache-Control"] = "no-store"
    # Not the site-wide no-referrer: under it browsers send `Origin: null` with forms, and
    # the Origin check could not tell our pages from others. Other sites still get nothing.
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _anonymous_lang() -> str:
    return negotiate(request.values.get("lang"), request.accept_languages)


def _form_token() -> str:
    """The double-submit token of forms shown before a session exists."""
    token = request.cookies.get(FORM_COOKIE, "")
    if len(token) != 43:
        token = g.setdefault("portal_new_form_token", secrets.token_urlsafe(32))
    return token


def _anonymous_page(org, template: str, status: int = 200, **context: object) -> Response:
    lang = _anonymous_lang()
    t = TEXTS[lang]
    token = _form_token()
    response = _page(template, status, org=org, t=t, lang=lang, csrf_token=token, **context)
    if request.cookies.get(FORM_COOKIE) != token:
        response.set_cookie(
            FORM_COOKIE,
            token,
            path=_cookie_path(org.slug),
            secure=_secure(),
            httponly=True,
            samesite="Lax",
        )
    return response


def _portal_page(template: str, status: int = 200, **context: object) -> Response:
    """A page for the signed-in contact, in its session's language."""
    session = g.portal_session
    lang = session.locale if session.locale in TEXTS else "pl"
    return _page(
        template,
        status,
        org=g.portal_org,
        session=session,
        customer=session.customer,
        t=TEXTS[lang],
        lang=lang,
        csrf_token=session.csrf_token,
        today=g.portal_today,
        **context,
    )


def _error_lang() -> str:
    session = g.get("portal_session")
    return session.locale if session is not None else _anonymous_lang()


def _error_page(
    status: int, title_key: str, text_key: str | None = None, *, detail: str | None = None
) -> Response:
    session = g.get("portal_session")
    lang = _error_lang()
    t = TEXTS[lang]
    words = {"title": t[title_key], "text": t[text_key] if detail is None else detail}
    if session is not None:
        return _portal_page("portal/message.html", status, **words)
    return _page("portal/message.html", status, org=g.get("portal_org"), t=t, lang=lang, **words)


def _see_other(org: str, path: str = "") -> Response:
    return redirect(f"/portal/{org}/{path}", code=303)


# --- checks on every request ------------------------------------------------------------------


@bp.url_value_preprocessor
def _organization(endpoint: str | None, values: dict | None) -> None:
    g.portal_org = load_organization((values or {}).get("org", ""))
    g.portal_session = None


def _same_origin() -> bool:
    """The POST came from a page of ours: Origin (else Referer) names this site."""
    claimed = request.headers.get("Origin") or request.headers.get("Referer")
    if not claimed:
        # Browsers send Origin with every form POST; a client without it cannot carry a
        # victim's cookies either, and still needs the CSRF token.
        return True
    source = urlsplit(claimed)
    ours = {
        urlsplit(request.host_url)[:2],
        urlsplit(current_app.config["PUBLIC_BASE_URL"])[:2],
    }
    return (source.scheme, source.netloc) in ours


@bp.before_request
def _check_request() -> Response | None:
    org = g.portal_org
    g.portal_today = clock.local_today(org.timezone)
    if request.endpoint not in ANONYMOUS:
        g.portal_session = services.current_session(org, request.cookies.get(SESSION_COOKIE))
        if g.portal_session is None:
            if acts():
                return _error_page(403, "forbidden_title", "session_ended")
            return redirect(f"/portal/{org.slug}/sign-in", code=303)
        asked = request.args.get("lang")
        if not acts() and asked in TEXTS:
            g.portal_session.locale = asked
        db.session.commit()  # the idle clock (and the language) of the session
    if not acts():
        return None
    expected = g.portal_session.csrf_token if g.portal_session else request.cookies.get(FORM_COOKIE)
    sent = request.form.get("csrf_token", "")
    if not _same_origin() or not expected or not hmac.compare_digest(sent, expected):
        return _error_page(403, "forbidden_title", "forbidden")
    return None


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError) -> Response:
    db.session.rollback()
    if g.get("portal_org") is None:  # no such organization: the site's answer, leading home
        return respond(handle_domain_error(error), error.key)
    if error.status == 404:
        return _error_page(404, "not_found_title", "not_found")
    return _error_page(error.status, "error", detail=for_people(error, _error_lang()))


def signed_in(view):
    """Views that need a session get the organization and the customer as arguments."""

    @wraps(view)
    def wrapper(org: str, **kwargs: object):
        return view(g.portal_org, g.portal_session.customer, **kwargs)

    return wrapper


def _actor() -> str:
    return services.actor(g.portal_session)


# --- signing in and out ---------------------------------------------------------------------


@bp.get("/sign-in")
def sign_in_form(org: str) -> Response:
    """Ask for an address; prefilled from the link in a notice."""
    email = request.args.get("email", "")[:320]
    return _anonymous_page(
        g.portal_org, "portal/sign_in.html", email=email, minutes=_minutes(), sent=False
    )


@bp.post("/sign-in")
def sign_in_request(org: str) -> Response:
    """Queue a link if the address is a contact; answer the same page either way."""
    organization = g.portal_org
    email = request.form.get("email", "")[:320].replace("\x00", "")
    services.request_sign_in(organization, email)
    db.session.commit()
    return _anonymous_page(
        organization, "portal/sign_in.html", email=email, minutes=_minutes(), sent=True
    )


def _minutes() -> int:
    return current_app.config["PORTAL_SIGN_IN_MAX_AGE_MINUTES"]


@bp.route("/sign-in/<token>", methods=["GET", "POST"])
def sign_in_link(org: str, token: str) -> Response:
    """GET shows a button (mail scanners open links); POST uses the link once."""
    organization = g.portal_org
    try:
        services.find_sign_in(organization, token)
        if not acts():
            return _anonymous_page(organization, "portal/sign_in_link.html")
        _, secret = services.sign_in(organization, token)
        db.session.commit()
    except NotFound:
        db.session.rollback()
        return _anonymous_page(organization, "portal/sign_in_link.html", 404, invalid=True)
    response = _see_other(organization.slug)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        # The browser forgets the cookie when the session could not be used any more.
        max_age=current_app.config["PORTAL_SESSION_MAX_HOURS"] * 3600,
        path=_cookie_path(organization.slug),
        secure=_secure(),
        httponly=True,
        samesite="Lax",
    )
    response.delete_cookie(FORM_COOKIE, path=_cookie_path(organization.slug))
    return response


@bp.post("/sign-out")
@signed_in
def sign_out(organization, customer) -> Response:
    services.sign_out(organization, g.portal_session)
    db.session.commit()
    response = _see_other(organization.slug, "sign-in")
    response.delete_cookie(SESSION_COOKIE, path=_cookie_path(organization.slug))
    return response


# --- what the customer sees -------------------------------------------------------------------


def _pending(organization, customer, day: date) -> list[dict]:
    rows = []
    for notice, change in upcoming(organization, customer, day):
        shown = present_notice(organization, notice)
        deadline = notice.objection_deadline
        last_day = (
            clock.local_today(organization.timezone, deadline) if deadline else change.effective_on
        )
        rows.append(
            {
                "notice": notice,
                "change": change,
                "answer": shown["answer"],
                "answerable": shown["answer_url"] is not None,
                "deadline": deadline,
                "days_left": max(0, (last_day - day).days),
            }
        )
    return rows


def _vendors(organization, customer, day: date, lang: str) -> tuple[list[dict], list[dict]]:
    """The vendors that apply to the customer, and those withheld from it (with why)."""
    view = customer_view(organization, customer, day)
    items = []
    for entry in view.applied:
        shown = recipients.present(entry.recipient, entry.seen_on, legal=False)
        shown["purpose"] = i18n.text_in(lang, pl=shown["purpose_pl"], en=shown["purpose_en"])
        shown["country_label"] = public.country_label(shown["country"], lang)
        shown["places"] = public.recipient_places(entry.recipient, day, lang, seen_on=entry.seen_on)
        items.append(shown)
    withheld = [
        {
            "name": w.recipient.name,
            "legal_entity": w.recipient.legal_entity,
            "state": STATES[lang][w.state],
            "applies_from": w.applies_from,
        }
        for w in view.withheld
    ]
    return items, withheld


@bp.get("/")
@signed_in
def overview(organization, customer) -> Response:
    day = g.portal_today
    lang = g.portal_session.locale
    vendors, withheld = _vendors(organization, customer, day, lang)
    return _portal_page(
        "portal/overview.html",
        vendors=vendors,
        withheld=withheld,
        pending=_pending(organization, customer, day),
        waiting=_waiting(organization, customer),
        active="overview",
    )


def _notice(organization, customer, change_id: int):
    change = changes.get_change(organization, change_id)
    return objections.notice_of(change, customer.id)


@bp.route("/changes/<int:change_id>", methods=["GET", "POST"])
@signed_in
def change_page(organization, customer, change_id: int) -> Response:
    """One notified change: GET shows it and the question; POST files the answer."""
    notice = _notice(organization, customer, change_id)
    context = {
        "notice": notice,
        "change": notice.change,
        "active": "overview",
        **presenting.for_notice(organization, notice, g.portal_session.locale),
    }
    if not acts():
        shown = present_notice(organization, notice)
        return _portal_page(
            "portal/change.html",
            answerable=shown["answer_url"] is not None,
            answer=shown["answer"],
            open_objection=objections.open_objection_of(notice),
            **context,
        )
    kind = answer_views.DECISIONS.get(request.form.get("decision", ""))
    reason = request.form.get("reason", "")[:MAX_REASON].replace("\x00", "")
    try:
        if kind is None:
            raise Conflict("Choose one of the buttons.", key="unknown_decision")
        locked = objections.notice_of(notice.change, customer.id, lock=True)
        answer_views.act(organization, locked, kind, reason, "portal", _actor())
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        return _portal_page(
            "portal/change.html",
            error.status,
            answerable=True,
            answer=None,
            error=for_people(error, _lang()),
            **context,
        )
    return _see_other(organization.slug, "answers?done=1")


@bp.get("/answers")
@signed_in
def answers(organization, customer) -> Response:
    items, _ = objections.list_objections(
        organization, {"customer_id": customer.id}, page=1, per_page=500
    )
    return _portal_page(
        "portal/answers.html",
        answers=[objections.present(o) for o in items],
        done=request.args.get("done") == "1",
        active="answers",
    )


@bp.get("/notices")
@signed_in
def notices(organization, customer) -> Response:
    found = db.session.scalars(
        select(Notice)
        .where(Notice.customer_id == customer.id)
        .order_by(Notice.created_at.desc(), Notice.id.desc())
        .limit(500)
    ).all()
    return _portal_page("portal/notices.html", notices=found, active="notices")


def _waiting(organization, customer):
    """The newest published version when this customer has yet to accept it, else None."""
    if customer.ended_on is not None and customer.ended_on < g.portal_today:
        return None
    newest = agreements.latest(organization)
    if newest is None or agreements.acceptance_of(customer, newest.label) is not None:
        return None
    return newest


def _agreement_page(organization, customer, status: int = 200, **context: object) -> Response:
    agreement = customer.agreement
    current = agreement.version if agreement else None
    waiting = _waiting(organization, customer)
    offered = waiting.in_language(g.portal_session.locale) if waiting else None
    history = agreements.acceptance_history(customer)
    in_force = agreement.acceptance_id if agreement else None
    lang = _lang()
    return _portal_page(
        "portal/agreement.html",
        status,
        agreement=agreement,
        current_body=render_markdown(current.text) if current else None,
        waiting=waiting,
        offered=offered,
        offered_body=render_markdown(offered.text) if offered else None,
        acceptance=next((a for a in history if a.id == in_force), None),
        earlier=[a for a in history if a.id != in_force],
        terms=effective_terms(organization, agreement),
        active="agreement",
        long_day=lambda value: i18n.day(value, lang),
        when=lambda value: i18n.moment(value, organization.timezone, lang),
        **context,
    )


@bp.get("/agreement")
@signed_in
def agreement(organization, customer) -> Response:
    return _agreement_page(organization, customer, accepted=request.args.get("accepted") == "1")


@bp.post("/agreement")
@signed_in
def accept_agreement(organization, customer) -> Response:
    """Accept the version shown: the label, language and hash of the text read come back
    with the form, so a version published meanwhile is refused rather than accepted unread."""
    contact = g.portal_session.contact
    name = request.form.get("name", "").replace("\x00", "").strip()[:200]
    if not name:
        return _agreement_page(organization, customer, 422, error=TEXTS[_lang()]["name_needed"])

    def accept() -> Response:
        agreements.accept_version(
            organization,
            customer,
            request.form.get("version", "")[:40],
            name=name,
            email=contact.email,
            ip=request.remote_addr,
            user_agent=request.user_agent.string,
            channel="portal",
            language=request.form.get("language", "")[:5] or None,
            shown_sha256=request.form.get("text_sha256", "")[:64],
            actor=_actor(),
        )
        return _see_other(organization.slug, "agreement?accepted=1")

    def page(status: int, **context: object) -> Response:
        return _agreement_page(organization, customer, status, **context)

    return _act(page, accept)


def _lang() -> str:
    locale = g.portal_session.locale
    return locale if locale in TEXTS else "pl"


# --- what the customer does -------------------------------------------------------------------


def _act(page, action) -> Response:
    """Run one write; on a rule broken, show the page again with the reason and its status."""
    try:
        result = action()
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        return page(error.status, error=for_people(error, _lang()), errors=error.errors or {})
    return result


def _contacts_page(status: int = 200, **context: object) -> Response:
    return _portal_page("portal/contacts.html", status, active="contacts", **context)


@bp.get("/contacts")
@signed_in
def contacts(organization, customer) -> Response:
    return _contacts_page(saved=request.args.get("saved") == "1")


def _saved(organization, path: str) -> Response:
    return _see_other(organization.slug, f"{path}?saved=1")


@bp.post("/contacts")
@signed_in
def add_contact(organization, customer) -> Response:
    data = {
        "email": request.form.get("email", ""),
        "name": request.form.get("name", ""),
        "locale": request.form.get("locale", ""),
    }

    def add() -> Response:
        services.add_contact(organization, customer, data, actor=_actor())
        return _saved(organization, "contacts")

    return _act(_contacts_page, add)


@bp.post("/contacts/<int:contact_id>/locale")
@signed_in
def contact_locale(organization, customer, contact_id: int) -> Response:
    locale = request.form.get("locale", "")

    def save() -> Response:
        services.set_contact_locale(organization, customer, contact_id, locale, actor=_actor())
        return _saved(organization, "contacts")

    return _act(_contacts_page, save)


@bp.post("/contacts/<int:contact_id>/remove")
@signed_in
def remove_contact(organization, customer, contact_id: int) -> Response:
    def remove() -> Response:
        services.remove_contact(organization, customer, contact_id, actor=_actor())
        return _saved(organization, "contacts")

    return _act(_contacts_page, remove)


def _webhooks_page(status: int = 200, **context: object) -> Response:
    customer = g.portal_session.customer
    return _portal_page(
        "portal/webhooks.html",
        status,
        hooks=webhooks.list_webhooks(customer),
        active="webhooks",
        **context,
    )


@bp.get("/webhooks")
@signed_in
def webhook_list(organization, customer) -> Response:
    return _webhooks_page(saved=request.args.get("saved") == "1")


@bp.post("/webhooks")
@signed_in
def register_webhook(organization, customer) -> Response:
    url = request.form.get("url", "").strip()[:2000]

    def register() -> Response:
        hook, secret = webhooks.register(organization, customer, url, actor=_actor())
        db.session.flush()
        # The secret is shown on this answer only, never again (no redirect to a GET).
        return _webhooks_page(201, created=hook, secret=secret)

    return _act(_webhooks_page, register)


@bp.post("/webhooks/<int:webhook_id>/remove")
@signed_in
def remove_webhook(organization, customer, webhook_id: int) -> Response:
    def remove() -> Response:
        webhooks.remove(organization, webhooks.get_webhook(customer, webhook_id), actor=_actor())
        return _saved(organization, "webhooks")

    return _act(_webhooks_page, remove)


@bp.get("/downloads")
@signed_in
def downloads(organization, customer) -> Response:
    return _portal_page("portal/downloads.html", active="downloads")


def _download(body: bytes | str, content_type: str, filename: str | None) -> Response:
    response = Response(body, content_type=content_type)
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/downloads/subprocessors.csv")
@signed_in
def download_csv(organization, customer) -> Response:
    day = g.portal_today
    applied = customer_view(organization, customer, day).applied
    items = [recipients.present(e.recipient, e.seen_on, legal=False) for e in applied]
    name = f"{organization.slug}-{customer.external_ref}-subprocessors-{day.isoformat()}.csv"
    places = {
        e.recipient.id: public.recipient_places(e.recipient, day, "en", seen_on=e.seen_on)
        for e in applied
    }
    body = public.list_csv(items, places)
    return _download(body, "text/csv; charset=utf-8", _safe_name(name))


@bp.get("/downloads/annex.html")
@signed_in
def download_annex(organization, customer) -> Response:
    lang = g.portal_session.locale
    annex = records.customer_annex(organization, customer, g.portal_today, lang)
    page = render_template("records/annex.html", annex=annex, t=RECORD_TEXTS[lang], lang=lang)
    return _download(page, "text/html; charset=utf-8", None)


def _safe_name(name: str) -> str:
    # External references are free text; a header value must not carry quotes or controls.
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
