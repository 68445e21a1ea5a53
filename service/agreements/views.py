"""HTTP glue for agreement versions: the API, the signed acceptance link, the public text."""

from __future__ import annotations

from flask import Blueprint as PageBlueprint
from flask import Response, render_template, request
from flask.views import MethodView
from markdown_it import MarkdownIt
from markupsafe import Markup
from marshmallow import ValidationError

from service import clock, i18n
from service.agreements import services
from service.agreements.links import AcceptLink, read_accept_token
from service.agreements.schemas import (
    AcceptanceCreateSchema,
    AcceptanceSchema,
    AcceptanceStatusListSchema,
    AgreementCreateSchema,
    AgreementListArgs,
    AgreementListSchema,
    AgreementPatchSchema,
    AgreementSchema,
    EvidenceArgs,
    EvidenceSchema,
    StatusArgs,
)
from service.agreements.texts import TEXTS
from service.apidoc import ACCEPTANCE_EXAMPLE, AGREEMENT_EXAMPLE, operation
from service.common import page_body
from service.customers.services import get_customer
from service.errors import DomainError, NotFound
from service.extensions import db
from service.keys.auth import (
    access,
    is_legal,
    load_organization,
    require_customer,
    require_customer_or_legal,
    require_legal,
)
from service.public.texts import TEXTS as PUBLIC_TEXTS
from service.public.texts import negotiate
from service.web import Blueprint, acts

blp = Blueprint(
    "agreements",
    __name__,
    url_prefix="/api/v1/orgs/<org>",
    description="Versions of the data-processing agreement and their acceptance",
)
pages = PageBlueprint("agreement_pages", __name__, url_prefix="/orgs/<org>/agreement")

# Markdown from legal staff, shown to anyone: CommonMark with raw HTML off (it is escaped
# as text), and markdown-it's link check refuses javascript:, vbscript: and data: URLs.
_markdown = MarkdownIt("commonmark", {"html": False})


def render_markdown(text: str | None) -> Markup | None:
    """The text as HTML under the page's own <h1>: its headings go one level down (a text
    that opens with "# Title" would otherwise repeat the page's heading as a second <h1>)."""
    if not text:
        return None
    tokens = _markdown.parse(text)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 1, 6)}"
    html = _markdown.renderer.render(tokens, _markdown.options, {})
    return Markup(html)  # noqa: S704 - raw HTML is off, so everything from the text is escaped


@blp.route("/agreements")
class Agreements(MethodView):
    @access("public")
    @blp.arguments(AgreementListArgs, location="query")
    @blp.response(200, AgreementListSchema)
    @blp.doc(**operation("public"))
    def get(self, args: dict, org: str):
        """List agreement versions, newest first.

        Anyone may read the published versions of the data processing agreement; legal staff
        may ask for drafts too.
        """
        organization = load_organization(org)
        if args["status"] != "published":
            require_legal(organization)
        versions = services.list_versions(organization, status=args["status"])
        page, per_page = args["page"], args["per_page"]
        shown = versions[(page - 1) * per_page : page * per_page]
        return page_body(
            [services.present_version(v) for v in shown], len(versions), page, per_page
        )

    @access("legal")
    @blp.arguments(AgreementCreateSchema)
    @blp.response(201, AgreementSchema)
    @blp.doc(**operation("legal", {409: "The version label is taken."}, example=AGREEMENT_EXAMPLE))
    def post(self, data: dict, org: str):
        """Write a draft agreement version (legal key).

        Legal staff write a version of the data processing agreement in Polish and/or
        English with its terms; `publish` publishes it at once. 409: the version label is
        taken.
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        version = services.create_version(organization, data, actor=principal.actor)
        db.session.commit()
        return services.present_version(version, with_text=True)


@blp.route("/agreements/<version>")
class AgreementResource(MethodView):
    @access("public")
    @blp.response(200, AgreementSchema)
    @blp.doc(**operation("public"))
    def get(self, org: str, version: str):
        """Show one agreement version with its texts.

        Anyone may read a published version; a draft only legal staff (others get 404).
        """
        organization = load_organization(org)
        found = services.get_version(organization, version, drafts=is_legal(organization))
        return services.present_version(found, with_text=True)

    @access("legal")
    @blp.arguments(AgreementPatchSchema)
    @blp.response(200, AgreementSchema)
    @blp.doc(**operation("legal", {409: "The version is published and cannot change."}))
    def patch(self, data: dict, org: str, version: str):
        """Edit a draft agreement version (legal key).

        Legal staff edit a draft's texts and terms. 409: the version is published and cannot
        change; publish a new version to correct it.
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        found = services.get_version(organization, version, drafts=True, lock=True)
        found = services.edit_draft(organization, found, data, actor=principal.actor)
        db.session.commit()
        return services.present_version(found, with_text=True)

    @access("legal")
    @blp.response(204)
    @blp.doc(**operation("legal", {409: "The version is published and cannot change."}))
    def delete(self, org: str, version: str):
        """Delete a draft agreement version (legal key).

        Legal staff delete a draft. 409: the version is published and cannot be deleted.
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        found = services.get_version(organization, version, drafts=True, lock=True)
        services.delete_draft(organization, found, actor=principal.actor)
        db.session.commit()


@blp.route("/agreements/<version>/publish")
class AgreementPublication(MethodView):
    @access("legal")
    @blp.response(200, AgreementSchema)
    @blp.doc(**operation("legal", {409: "The version is published already."}))
    def post(self, org: str, version: str):
        """Publish a draft agreement version (legal key).

        Legal staff publish a draft: it is frozen, and every customer in a relationship is
        asked by e-mail to accept it, then reminded until it does. 409: it is published
        already.
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        found = services.get_version(organization, version, drafts=True, lock=True)
        services.publish_version(organization, found, actor=principal.actor)
        db.session.commit()
        return services.present_version(found, with_text=True)


@blp.route("/agreements/<version>/acceptances")
class Acceptances(MethodView):
    @access("legal")
    @blp.arguments(StatusArgs, location="query")
    @blp.response(200, AcceptanceStatusListSchema)
    @blp.doc(**operation("legal"))
    def get(self, args: dict, org: str, version: str):
        """List who accepted an agreement version (legal key).

        Legal staff see which customers accepted this version and which have not yet, with
        the requests and reminders sent.
        """
        organization = load_organization(org)
        found = services.get_version(organization, version)
        page, per_page = args.pop("page"), args.pop("per_page")
        items, total, summary = services.acceptance_status(
            organization, found, args, page, per_page
        )
        return page_body(items, total, page, per_page, version=found.label, summary=summary)

    @access("customer")
    @blp.arguments(AcceptanceCreateSchema)
    @blp.response(201, AcceptanceSchema)
    @blp.doc(
        **operation(
            "customer",
            {409: "Ended, superseded, accepted already, or another text was shown."},
            example=ACCEPTANCE_EXAMPLE,
        )
    )
    def post(self, data: dict, org: str, version: str):
        """Accept an agreement version (customer key).

        The customer itself, with its own key, accepts the version; the request (who, when,
        which text by its SHA-256) is kept as evidence. 409: the relationship has ended, a
        newer version supersedes it, it was accepted already, or `text_sha256` is not this
        text.
        """
        organization = load_organization(org)
        principal = require_customer(organization)
        customer = get_customer(organization, principal.customer_id)
        acceptance = _accept(organization, customer, version, data, "api", principal.actor)
        db.session.commit()
        return services.present_acceptance(acceptance)


def _accept(
    organization,
    customer,
    version,
    data: dict,
    channel: str,
    actor: str | None = None,
    link: AcceptLink | None = None,
):
    """Accept with the evidence of this request: its client address and user agent, and
    for a signed link the contact and e-mail it came from."""
    return services.accept_version(
        organization,
        customer,
        version,
        name=data["name"],
        email=data["email"],
        ip=request.remote_addr,
        user_agent=request.user_agent.string,
        channel=channel,
        language=data.get("language"),
        shown_sha256=data.get("text_sha256"),
        actor=actor,
        link_address=link.address if link else None,
        link_message_id=link.message_id if link else None,
    )


@blp.route("/customers/<int:customer_id>/agreement-evidence")
class AgreementEvidence(MethodView):
    @access("customer_or_legal")
    @blp.arguments(EvidenceArgs, location="query")
    @blp.response(200, EvidenceSchema)
    @blp.alt_response(200, schema={"type": "string"}, content_type="text/html")
    @blp.doc(**operation("customer_or_legal"))
    def get(self, args: dict, org: str, customer_id: int):
        """Read a customer's agreement acceptance evidence.

        Legal staff, or the customer with its own key, get the customer's acceptance history
        with text hashes and evidence: JSON, or a printable page with `format=html`.
        """
        organization = load_organization(org)
        require_customer_or_legal(organization, customer_id)
        customer = get_customer(organization, customer_id)
        evidence = services.evidence(organization, customer)
        if args["format"] == "json":
            return evidence
        lang = args["lang"]
        body = render_template("agreements/evidence.html", evidence=evidence, **_words(lang))
        response = Response(body, content_type="text/html; charset=utf-8")
        response.headers["Cache-Control"] = "no-store"
        return response


# --- pages: the public text and archive, and the signed acceptance link ---------------------


def _page(template: str, status: int = 200, cache: str = "no-store", **context) -> Response:
    response = Response(render_template(template, **context), status=status)
    response.headers["Cache-Control"] = cache
    return response


def _lang() -> str:
    return negotiate(request.args.get("lang"), request.accept_languages)


def _words(lang: str) -> dict:
    """What every agreement page names things with: its texts, languages and dates."""
    return {
        "lang": lang,
        "t": TEXTS[lang],
        "languages": [(code, TEXTS[code]["language_name"]) for code in TEXTS],
        "language_names": {code: TEXTS[code]["language_name"] for code in TEXTS},
        "long_day": lambda value: i18n.day(value, lang),
        "moment": lambda value, timezone: i18n.moment(value, timezone, lang),
    }


@pages.errorhandler(NotFound)
def _not_found(error: NotFound) -> Response:
    """People open these pages in a browser: an unknown organization (or version) gets the
    HTML page the public subprocessor list shows, not a problem document."""
    lang = _lang()
    return _page("public/not_found.html", status=404, lang=lang, t=PUBLIC_TEXTS[lang])


def _text_page(org: str, found: services.Version | None, lang: str) -> Response:
    organization = load_organization(org)
    row = found.in_language(lang) if found else None
    today = clock.local_today(organization.timezone)
    response = _page(
        "agreements/text.html",
        cache="public, max-age=60, must-revalidate",
        org=organization,
        **_words(lang),
        row=row,
        body=render_markdown(row.text) if row else None,
        upcoming=row is not None and row.effective_on > today,
    )
    response.headers["Vary"] = "Accept-Language"
    return response


@pages.get("")
def current(org: str) -> Response:
    """The agreement in force today, in the asked (or negotiated) language."""
    organization = load_organization(org)
    return _text_page(
        org, services.in_force(organization, clock.local_today(organization.timezone)), _lang()
    )


@pages.get("/versions")
def archive(org: str) -> Response:
    """Every published version with its languages and hashes."""
    organization = load_organization(org)
    lang = _lang()
    return _page(
        "agreements/archive.html",
        cache="public, max-age=60, must-revalidate",
        org=organization,
        **_words(lang),
        versions=services.list_versions(organization),
    )


@pages.get("/versions/<version>")
def version(org: str, version: str) -> Response:
    organization = load_organization(org)
    return _text_page(org, services.get_version(organization, version), _lang())


def _prefilled(link: AcceptLink) -> dict:
    """The contact the link was sent to, as a suggestion; the person may change both."""
    if not link.address:
        return {}
    names = [c.name for c in link.customer.contacts if c.email.lower() == link.address.lower()]
    return {"email": link.address, "name": names[0] if names else ""}


@pages.route("/accept/<token>", methods=["GET", "POST"])
def accept_page(org: str, token: str) -> Response:
    """GET shows the text and asks; POST accepts the text that was shown."""
    organization = load_organization(org)
    link = read_accept_token(organization, token)
    customer, label = link.customer, link.label
    lang = _lang()
    found = services.get_version(organization, label)
    row = found.in_language(request.form.get("language"), lang)
    context = {
        "org": organization,
        "customer": customer,
        "row": row,
        "body": render_markdown(row.text),
        **_words(lang),
        "form": _prefilled(link),
        "sent_to": link.address,
    }
    if not acts():
        # Opened again after accepting (or by a colleague): show what was accepted.
        done = services.acceptance_of(customer, found.label)
        if done is not None:
            return _page("agreements/accepted.html", acceptance=done, **context)
        return _page("agreements/accept.html", **context)
    form = {
        key: request.form.get(key, "")[:limit].replace("\x00", "").strip()
        for key, limit in (("name", 200), ("email", 320), ("text_sha256", 64))
    }
    context["form"] = form
    try:
        data = AcceptanceCreateSchema().load(
            {"name": form["name"], "email": form["email"], "text_sha256": row.text_sha256}
        )
        if request.form.get("authorised") != "yes":
            raise ValidationError("not authorised")
    except ValidationError:
        return _page("agreements/accept.html", status=422, error=TEXTS[lang]["invalid"], **context)
    try:
        shown = {**data, "text_sha256": form["text_sha256"] or None}
        acceptance = _accept(organization, customer, row, shown, "link", link=link)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        return _page("agreements/accept.html", status=error.status, error=error.detail, **context)
    return _page("agreements/accepted.html", acceptance=acceptance, **context)
