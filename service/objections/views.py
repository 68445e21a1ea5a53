"""HTTP glue for objections, consents and their resolution, by API and by signed link."""

from __future__ import annotations

from flask import Blueprint as PageBlueprint
from flask import Response, render_template, request
from flask.views import MethodView

from service import i18n
from service.apidoc import CONSENT_EXAMPLE, OBJECTION_EXAMPLE, RESOLUTION_EXAMPLE, operation
from service.changes import services as changes
from service.common import page_body
from service.error_pages import for_people
from service.errors import Conflict, DomainError, NotFound
from service.extensions import db
from service.keys.auth import access, actor, load_organization, require_customer
from service.notices import presenting
from service.notices.links import answer_language, read_answer_token
from service.objections import services
from service.objections.schemas import (
    ConsentCreateSchema,
    ObjectionCreateSchema,
    ObjectionListArgs,
    ObjectionListSchema,
    ObjectionSchema,
    ResolutionSchema,
    WithdrawalSchema,
)
from service.portal.texts import TEXTS as PORTAL_TEXTS
from service.web import Blueprint, acts

blp = Blueprint(
    "objections",
    __name__,
    url_prefix="/api/v1/orgs/<org>",
    description="Objections (general authorisation), consents and refusals (specific)",
)
pages = PageBlueprint("answers", __name__, url_prefix="/orgs/<org>/answers")

DECISIONS = {
    "object": "objection",
    "consent": "consent",
    "refuse": "refusal",
    "withdraw": "withdrawal",
}


def _file(org: str, change_id: int, kind: str, reason: str):
    organization = load_organization(org)
    principal = require_customer(organization)
    change = changes.get_change(organization, change_id)
    notice = services.notice_of(change, principal.customer_id, lock=True)
    answer = services.file_answer(
        organization, notice, kind, reason, channel="api", actor=principal.actor
    )
    db.session.commit()
    return services.present(answer)


@blp.route("/changes/<int:change_id>/objections")
class Objections(MethodView):
    @access("customer")
    @blp.arguments(ObjectionCreateSchema)
    @blp.response(201, ObjectionSchema)
    @blp.doc(
        **operation(
            "customer",
            {409: "Withdrawn, past the deadline, already answered, or consent is asked."},
            example=OBJECTION_EXAMPLE,
        )
    )
    def post(self, data: dict, org: str, change_id: int):
        """Object to a change (customer key).

        The customer itself, with its own key, objects to a change it was notified of,
        before its deadline (GDPR Art. 28(2)); legal staff are told. 409: the change was
        withdrawn, asks for consent instead, the deadline passed, or the customer already
        answered.
        """
        return _file(org, change_id, "objection", data["reason"])


@blp.route("/changes/<int:change_id>/consents")
class Consents(MethodView):
    @access("customer")
    @blp.arguments(ConsentCreateSchema)
    @blp.response(201, ObjectionSchema)
    @blp.doc(
        **operation(
            "customer",
            {409: "Withdrawn, already answered, or an objection is asked instead."},
            example=CONSENT_EXAMPLE,
        )
    )
    def post(self, data: dict, org: str, change_id: int):
        """Consent to or refuse an addition (customer key).

        Under specific authorisation the customer itself, with its own key, consents to or
        refuses a new vendor before it is used. 409: the change was withdrawn, asks for an
        objection instead, or the customer already answered.
        """
        kind = "consent" if data["decision"] == "consent" else "refusal"
        return _file(org, change_id, kind, data["reason"])


@blp.route("/objections")
class ObjectionList(MethodView):
    @access("legal")
    @blp.arguments(ObjectionListArgs, location="query")
    @blp.response(200, ObjectionListSchema)
    @blp.doc(**operation("legal"))
    def get(self, args: dict, org: str):
        """List objections, consents and refusals (legal key).

        Legal staff read every answer customers gave to changes, newest first, filtered by
        status, kind, change or customer.
        """
        organization = load_organization(org)
        page, per_page = args.pop("page"), args.pop("per_page")
        items, total = services.list_objections(organization, args, page, per_page)
        return page_body([services.present(o) for o in items], total, page, per_page)


@blp.route("/objections/<int:objection_id>/resolution")
class ObjectionResolution(MethodView):
    @access("legal")
    @blp.arguments(ResolutionSchema)
    @blp.response(200, ObjectionSchema)
    @blp.doc(
        **operation(
            "legal",
            {409: "Not an open objection, or its agreement does not allow rejecting it."},
            example=RESOLUTION_EXAMPLE,
        )
    )
    def post(self, data: dict, org: str, objection_id: int):
        """Resolve an open objection (legal key).

        Legal staff uphold it by the customer's remedy (the vendor excluded, or the right to
        terminate), reject it with reasons where the customer's agreement allows it, or
        record an alternative the customer accepted; the customer is e-mailed. 409: it is
        not an open objection, or its agreement does not allow rejecting it.
        """
        organization = load_organization(org)
        objection = services.get_objection(organization, objection_id)
        services.resolve_objection(
            organization,
            objection,
            data["note"],
            actor=actor(),
            outcome=data["outcome"],
            termination_on=data.get("termination_on"),
        )
        db.session.commit()
        return services.present(objection)


@blp.route("/objections/<int:objection_id>/withdrawal")
class ObjectionWithdrawal(MethodView):
    @access("customer")
    @blp.arguments(WithdrawalSchema)
    @blp.response(200, ObjectionSchema)
    @blp.doc(**operation("customer", {409: "There is no open objection to withdraw."}))
    def post(self, data: dict, org: str, objection_id: int):
        """Withdraw an objection (customer key).

        The customer itself, with its own key, withdraws its open objection. 409: there is
        no open objection to withdraw.
        """
        organization = load_organization(org)
        principal = require_customer(organization)
        objection = services.get_objection(organization, objection_id)
        if objection.customer_id != principal.customer_id:
            raise NotFound("No such objection.")
        services.withdraw_objection(
            organization, objection, data["reason"], channel="api", actor=principal.actor
        )
        db.session.commit()
        return services.present(objection)


# --- signed links: GET asks, POST acts ------------------------------------------------------

TEXTS = {
    "pl": {
        "title_objection": "Sprzeciw wobec zmiany dalszego podmiotu przetwarzającego",
        "title_consent": "Zgoda na dalszy podmiot przetwarzający",
        "effective": "Zmiana obowiązuje od",
        "deadline": "Sprzeciw można zgłosić do",
        "reason": "Uzasadnienie (opcjonalnie)",
        "object": "Zgłaszam sprzeciw",
        "consent": "Wyrażam zgodę",
        "refuse": "Nie wyrażam zgody",
        "done_objection": "Sprzeciw został zarejestrowany.",
        "done_consent": "Zgoda została zarejestrowana.",
        "done_refusal": "Odmowa zgody została zarejestrowana.",
        "done_withdrawal": "Sprzeciw został wycofany.",
        "objection_open": "Państwa sprzeciw jest rozpatrywany. Do czasu jego rozpatrzenia "
        "podmiot nie przetwarza Państwa danych. Mogą Państwo wycofać sprzeciw:",
        "withdraw": "Wycofuję sprzeciw",
        "error": "Nie udało się zarejestrować odpowiedzi",
        "vendor": "Podmiot",
        "kind": {
            "add": "dodanie",
            "replace": "zastąpienie",
            "update": "zmiana",
            "remove": "usunięcie",
        },
    },
    "en": {
        "title_objection": "Objection to a subprocessor change",
        "title_consent": "Consent to a new subprocessor",
        "effective": "The change takes effect on",
        "deadline": "You may object until",
        "reason": "Reason (optional)",
        "object": "I object",
        "consent": "I consent",
        "refuse": "I do not consent",
        "done_objection": "Your objection was recorded.",
        "done_consent": "Your consent was recorded.",
        "done_refusal": "Your refusal was recorded.",
        "done_withdrawal": "Your objection was withdrawn.",
        "objection_open": "Your objection is being considered. Until it is resolved the "
        "vendor does not process your data. You may withdraw the objection:",
        "withdraw": "I withdraw my objection",
        "error": "Your answer could not be recorded",
        "vendor": "Vendor",
        "kind": {
            "add": "addition",
            "replace": "replacement",
            "update": "update",
            "remove": "removal",
        },
    },
}


def act(organization, notice, kind: str, reason: str, channel: str, actor: str) -> None:
    """File an answer to a notice, or withdraw its open objection (signed link, portal)."""
    if kind != "withdrawal":
        services.file_answer(organization, notice, kind, reason, channel=channel, actor=actor)
        return
    objection = services.open_objection_of(notice)
    if objection is None:
        raise Conflict("There is no open objection to withdraw.", key="no_open_objection")
    services.withdraw_objection(organization, objection, reason, channel=channel, actor=actor)


def _language(notice, token: str) -> str:
    """`?lang=`, then the language of the contact the link was mailed to, then the
    customer's where all its contacts share one, then the browser's."""
    asked = request.args.get("lang")
    if asked in TEXTS:
        return asked
    mailed = answer_language(token)
    if mailed in TEXTS:
        return mailed
    locales = {contact.locale for contact in notice.customer.contacts}
    if len(locales) == 1 and (shared := locales.pop()) in TEXTS:
        return shared
    return request.accept_languages.best_match(list(TEXTS)) or "pl"


def _page(template: str, status: int = 200, **context: object) -> Response:
    response = Response(render_template(template, **context), status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _answered_page(recorded, context: dict) -> Response:
    lang, org = context["lang"], context["org"]
    return _page(
        "answers/answered.html",
        answer=recorded,
        words=PORTAL_TEXTS[lang],
        when=lambda value: i18n.moment(value, org.timezone, lang),
        long_day=lambda value: i18n.day(value, lang),
        **context,
    )


@pages.route("/<token>", methods=["GET", "POST"])
def answer_page(org: str, token: str) -> Response:
    """GET shows the question and files nothing; POST records the answer."""
    organization = load_organization(org)
    notice = read_answer_token(organization, token)
    lang = _language(notice, token)
    context = {
        "org": organization,
        "notice": notice,
        "change": notice.change,
        "t": TEXTS[lang],
        "lang": lang,
        "open_objection": services.open_objection_of(notice),
        **presenting.for_notice(organization, notice, lang),
    }
    if not acts():
        recorded = services.answer_of(notice)
        if recorded is not None and recorded.status != "open":
            # Answered already: show the answer on record, not a form that can only fail.
            return _answered_page(recorded, context)
        return _page("answers/ask.html", **context)
    decision = request.form.get("decision", "")
    kind = DECISIONS.get(decision)
    reason = request.form.get("reason", "")[:5000].replace("\x00", "")
    try:
        if kind is None:
            raise Conflict("Unknown decision.", key="unknown_decision")
        locked = services.notice_of(notice.change, notice.customer_id, lock=True)
        act(
            organization,
            locked,
            kind,
            reason,
            "link",
            f"customer-link:{notice.customer.external_ref}",
        )
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        message = for_people(error, lang)
        return _page("answers/ask.html", status=error.status, error=message, **context)
    return _page("answers/done.html", done=TEXTS[lang][f"done_{kind}"], **context)
