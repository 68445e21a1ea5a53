"""The public subprocessor page, its JSON, CSV and Atom forms, and the subscribe form.

Anyone may read these: they show only what the anonymous API shows. Every GET is served
from `service.public.cache` under a key that moves with every write and with the
organization's local date, and answers conditional requests without rendering.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from marshmallow import ValidationError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.http import http_date, is_resource_modified

from service import clock, i18n
from service.errors import NotFound
from service.extensions import db
from service.keys.auth import SLUG, load_organization
from service.notices import presenting
from service.organizations.models import Organization
from service.public import cache, services
from service.public.texts import TEXTS, negotiate
from service.web import wants_html

bp = Blueprint("public", __name__, url_prefix="/orgs/<org>")

# Browsers and proxies may reuse a copy for a minute, then must ask again (a cheap 304).
# Our own cache is never stale; this minute is the only delay a reader can see.
CACHE_CONTROL = "public, max-age=60, must-revalidate"
CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
}


@bp.get("/subprocessors")
def page(org: str) -> Response:
    """The list in force today, upcoming changes, the changelog and the subscribe form."""
    lang = negotiate(request.args.get("lang"), request.accept_languages)
    try:
        return _serve(org, "html", lang)
    except NotFound:
        return _not_found(lang)


@bp.get("/subprocessors.json")
def list_json(org: str) -> Response:
    return _serve(org, "json", "-")


@bp.get("/subprocessors.csv")
def list_csv(org: str) -> Response:
    return _serve(org, "csv", "-")


@bp.get("/changes.atom")
def changes_atom(org: str) -> Response:
    lang = negotiate(request.args.get("lang"), request.accept_languages)
    return _serve(org, "atom", lang)


@bp.post("/subprocessors/subscribe")
def subscribe(org: str) -> Response:
    """The subscribe form's target: the same double opt-in as the API, answered as a page."""
    from service.subscriptions import services as subscriptions
    from service.subscriptions.schemas import SubscribeSchema

    lang = negotiate(request.form.get("lang"), request.accept_languages)
    try:
        organization = load_organization(org)
    except NotFound:
        return _not_found(lang)
    form = {"email": request.form.get("email", "").strip(), "locale": lang}
    try:
        data = SubscribeSchema().load(form)
    except ValidationError:
        return _uncached(
            "public/subscribe.html", 422, org=organization, lang=lang, t=TEXTS[lang],
            error=TEXTS[lang]["invalid_email"], email=form["email"],
        )  # fmt: skip
    try:
        subscriptions.subscribe(organization, data["email"], data["locale"])
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # a concurrent request for the address won and asks it
    return _uncached("public/subscribe.html", 200, org=organization, lang=lang, t=TEXTS[lang])


@bp.get("/subprocessors/subscribe")
def subscribe_again(org: str) -> Response:
    """The address a browser shows after subscribing: reloading it leads back to the form."""
    if not wants_html():
        raise MethodNotAllowed(valid_methods=["POST"])
    lang = negotiate(request.args.get("lang"), request.accept_languages)
    load_organization(org)
    return redirect(url_for("public.page", org=org, lang=lang, _anchor="subscribe"), 303)


# --- serving from the cache -------------------------------------------------------------------


def _serve(slug: str, form: str, lang: str) -> Response:
    if request.headers.get("Authorization"):
        # A key binds its holder to one tenant (another tenant's list is a 404 to it) and a
        # bad key is a 401: the full check, before anything is answered from the cache.
        load_organization(slug)
    state = _organization_state(slug)
    moment = clock.now()
    today, key, headers, last_modified = prepare(state, form, lang, moment)
    if key is None:  # written around the ORM: serve it, but neither cache nor validate
        return Response(_render(load_organization(slug), form, today, lang), headers=headers)
    if not is_resource_modified(request.environ, etag=key.etag, last_modified=last_modified):
        headers.pop("Content-Type")
        return Response(status=304, headers=headers)
    body = cache.bodies.get(key)
    headers["X-Cache"] = "hit" if body is not None else "miss"
    if body is None:
        body = _render(load_organization(slug), form, today, lang)
        cache.bodies.put(key, body)
    return Response(body, headers=headers)


def prepare(
    state: cache.OrganizationState, form: str, lang: str, moment: datetime
) -> tuple[date, cache.Key | None, dict[str, str], datetime | None]:
    """The day, cache key, headers and Last-Modified of one answer; shared with the WSGI
    fast path (service/public/fastpath.py), so both answer with the same headers. The key is
    None for an organization without a list token (nothing of it is cached)."""
    today = clock.local_today(state.timezone, moment)
    headers = {"Cache-Control": CACHE_CONTROL, "Content-Type": CONTENT_TYPES[form]}
    if form in ("html", "atom"):
        headers["Vary"] = "Accept-Language"
    if form == "csv":
        headers["Content-Disposition"] = f'attachment; filename="{state.slug}-subprocessors.csv"'
    listing = state.listing
    if listing is None:
        headers["Cache-Control"] = "no-cache"
        return today, None, headers, None
    key = cache.Key(state.id, listing.token, today, lang, form)
    # What is shown changes with writes and at local midnight (the date is on the page).
    modified = max(listing.changed_at, clock.start_of_day(today, state.timezone))
    headers["ETag"] = f'"{key.etag}"'
    # A validator in the current second could miss a later write in that same second.
    last_modified = (
        modified if modified.replace(microsecond=0) < moment.replace(microsecond=0) else None
    )
    if last_modified is not None:
        headers["Last-Modified"] = http_date(last_modified)
    return today, key, headers, last_modified


def _organization_state(slug: str) -> cache.OrganizationState:
    """The organization's id, time zone and token, from the process's cache if fresh enough."""
    # A slug that cannot exist is not looked up (and a NUL byte never reaches the database).
    state = None
    if SLUG.fullmatch(slug):
        state = cache.states.get(slug, current_app.config["PUBLIC_STATE_MAX_AGE_SECONDS"])
    if state is None:
        raise NotFound(f"No organization '{slug}'.")
    return state


def _render(org: Organization, form: str, day: date, lang: str) -> bytes:
    base_url = current_app.config["PUBLIC_BASE_URL"]
    if form == "json":
        return services.json_body(org, day)
    if form == "csv":
        return services.csv_body(org, day)
    if form == "atom":
        shared: dict = {}
        return services.atom_body(
            org, lang, base_url, lambda c: presenting.feed_entry(org, c, lang, shared)
        )
    return render_template("public/subprocessors.html", **_page_context(org, day, lang)).encode()


def _page_context(org: Organization, day: date, lang: str) -> dict:
    items = services.listed(org, day)
    names = {item["id"]: item["name"] for item in items}
    places = services.places_of(org, items, day, lang)
    service_names = {s.slug: i18n.text_in(lang, pl=s.name_pl, en=s.name_en) for s in org.services}
    rows = [
        {
            **item,
            **services.received(item, service_names, lang),
            "role_label": TEXTS[lang]["roles"].get(item["role"], item["role"]),
            "purpose": i18n.text_in(lang, pl=item["purpose_pl"], en=item["purpose_en"]),
            "country_label": services.country_label(item["country"], lang),
            "places": places[item["id"]],
            "parent_name": names.get(item["parent_id"]),
        }
        for item in items
    ]
    log = services.changelog(org)
    shared: dict = {}
    return {
        "org": org,
        "lang": lang,
        "t": TEXTS[lang],
        "languages": [(code, TEXTS[code]["language_name"]) for code in TEXTS],
        "day": day,
        "rows": rows,
        "last_changed": services.last_changed(org, day, items),
        "long_day": lambda value: i18n.day(value, lang),
        "risk_note": services.risk_note(places, lang),
        "upcoming": services.upcoming(org, day),
        "changelog": log,
        "changelog_full": len(log) < services.CHANGELOG_LIMIT,
        "title_of": lambda change: services.change_title(change, lang),
        "describe": lambda change: presenting.present(org, change, lang, cache=shared),
        "change_words": presenting.labels(lang),
    }


def _uncached(template: str, status: int, **context: object) -> Response:
    response = Response(render_template(template, **context), status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _not_found(lang: str) -> Response:
    return _uncached("public/not_found.html", 404, lang=lang, t=TEXTS[lang])
