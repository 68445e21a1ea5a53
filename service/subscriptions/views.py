"""HTTP glue for subscriptions: the public API, erasure for legal staff, and the pages
that signed links open (GET shows a page that asks, POST acts)."""

from __future__ import annotations

from flask import Blueprint as PageBlueprint
from flask import Response, render_template, request
from flask.views import MethodView
from sqlalchemy.exc import IntegrityError

from service.apidoc import SUBSCRIBE_EXAMPLE, operation
from service.errors import InvalidLink
from service.extensions import db
from service.keys.auth import access, load_organization, require_legal
from service.subscriptions import links, services
from service.subscriptions.schemas import (
    AcceptedSchema,
    ErasureRequestSchema,
    ErasureSchema,
    SubscribeSchema,
)
from service.web import Blueprint, acts

blp = Blueprint(
    "subscriptions",
    __name__,
    url_prefix="/api/v1/orgs/<org>/subscriptions",
    description="Subscriptions of the public to changes of the list (double opt-in)",
)
pages = PageBlueprint("subscription_pages", __name__, url_prefix="/orgs/<org>")

# The same answer whatever the address: new, pending, confirmed and suppressed look alike.
ACCEPTED = {
    "status": "accepted",
    "detail": "If this address may receive messages, a confirmation link is on its way.",
}


@blp.route("")
class Subscriptions(MethodView):
    @access("public")
    @blp.arguments(SubscribeSchema)
    @blp.response(202, AcceptedSchema)
    @blp.doc(**operation("public", example=SUBSCRIBE_EXAMPLE))
    def post(self, data: dict, org: str):
        """Subscribe an address to changes of the list.

        Anyone may subscribe an e-mail address. Always 202 with the same body, so the answer
        tells nothing about the address; it hears nothing until it confirms through the link
        mailed to it. 429: too many requests from this client address.
        """
        organization = load_organization(org)
        try:
            services.subscribe(organization, data["email"], data["locale"])
            db.session.commit()
        except IntegrityError:
            # A concurrent request for the same address won; it queues the confirmation.
            db.session.rollback()
        return ACCEPTED

    @access("legal")
    @blp.arguments(ErasureRequestSchema)
    @blp.response(200, ErasureSchema)
    @blp.doc(**operation("legal"))
    def delete(self, data: dict, org: str):
        """Erase a subscribed address on its owner's request (legal key).

        Legal staff erase an address (GDPR Art. 17); only its hash stays, on the suppression
        list, so it is never written to again.
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        existed = services.erase(organization, address=data["email"], actor=principal.actor)
        db.session.commit()
        return {"suppressed": True, "subscription_erased": existed}


# --- signed links ----------------------------------------------------------------------------

TEXTS = {
    "pl": {
        "confirm_title": "Potwierdź subskrypcję",
        "confirm_ask": "Czy chcesz otrzymywać wiadomości o zmianach listy podprocesorów?",
        "confirm": "Potwierdzam subskrypcję",
        "confirmed": "Subskrypcja potwierdzona. Będziesz otrzymywać wiadomości o zmianach.",
        "unsubscribe_title": "Rezygnacja z subskrypcji",
        "unsubscribe_ask": "Czy chcesz przestać otrzymywać wiadomości o zmianach listy "
        "podprocesorów?",
        "unsubscribe": "Wypisz mnie",
        "erase_ask": "Możesz też usunąć swój adres: zostanie tylko jego skrót, abyśmy nigdy "
        "więcej do niego nie pisali.",
        "erase": "Wypisz mnie i usuń mój adres",
        "unsubscribed": "Wypisano. Nie otrzymasz więcej wiadomości o zmianach.",
        "erased_title": "Adres usunięty",
        "erased": "Adres usunięty. Nigdy więcej do niego nie napiszemy.",
    },
    "en": {
        "confirm_title": "Confirm your subscription",
        "confirm_ask": "Do you want to receive messages about changes of the list of "
        "subprocessors?",
        "confirm": "Confirm my subscription",
        "confirmed": "Subscription confirmed. You will receive messages about changes.",
        "unsubscribe_title": "Unsubscribe",
        "unsubscribe_ask": "Do you want to stop receiving messages about changes of the list "
        "of subprocessors?",
        "unsubscribe": "Unsubscribe me",
        "erase_ask": "You may also have your address erased: only a hash of it is kept, so "
        "that it is never written to again.",
        "erase": "Unsubscribe me and erase my address",
        "unsubscribed": "Unsubscribed. You will receive no more messages about changes.",
        "erased_title": "Address erased",
        "erased": "Address erased. It will never be written to again.",
    },
}


def _language(subscription) -> str:
    asked = request.args.get("lang")
    if asked in TEXTS:
        return asked
    if subscription is not None and subscription.locale in TEXTS:
        return subscription.locale
    return request.accept_languages.best_match(list(TEXTS)) or "pl"


def _page(template: str, status: int = 200, **context: object) -> Response:
    response = Response(render_template(template, **context), status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _done(context: dict, title: str, text: str, status: int = 200) -> Response:
    t = context["t"]
    return _page("subscriptions/done.html", status, title=t[title], done=t[text], **context)


def _context(org, subscription) -> dict:
    lang = _language(subscription)
    return {"org": org, "t": TEXTS[lang], "lang": lang}


@pages.route("/subscriptions/confirm/<token>", methods=["GET", "POST"])
def confirm_page(org: str, token: str) -> Response:
    """GET asks (a mail scanner following the link confirms nothing); POST confirms."""
    organization = load_organization(org)
    subscription = services.get(organization, links.read_confirm_token(organization, token))
    if subscription is None or subscription.status == "unsubscribed":
        raise InvalidLink("This link is not valid (any more).")
    context = _context(organization, subscription)
    if not acts() and subscription.status == "pending":
        return _page("subscriptions/confirm.html", **context)
    if acts():
        services.confirm(subscription)
        db.session.commit()
    return _done(context, "confirm_title", "confirmed")


@pages.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe_page(org: str, token: str) -> Response:
    """GET asks; POST unsubscribes at once (RFC 8058 one-click: the mail client POSTs
    `List-Unsubscribe=One-Click` with no cookie and no key), or erases the address."""
    organization = load_organization(org)
    subscription = services.get(organization, links.read_unsubscribe_token(organization, token))
    context = _context(organization, subscription)
    if subscription is None:  # erased already: nothing is left to ask about or to do
        return _done(context, "erased_title", "erased")
    if not acts():
        return _page("subscriptions/unsubscribe.html", **context)
    if request.form.get("action") == "erase":
        services.erase(organization, subscription=subscription, actor="subscriber-link")
        db.session.commit()
        return _done(context, "erased_title", "erased")
    services.unsubscribe(subscription)
    db.session.commit()
    return _done(context, "unsubscribe_title", "unsubscribed")
