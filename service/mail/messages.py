"""Build the e-mail for one delivery: plain text and HTML from Jinja2 templates, in the
contact's language, with headers that cannot be injected through any field."""

from __future__ import annotations

import email.policy
import email.utils
from email.headerregistry import Address, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage

from flask import current_app, render_template
from sqlalchemy import select

from service import i18n
from service.agreements import links as agreement_links
from service.agreements import services as agreements
from service.agreements.models import AgreementRequest
from service.changes.models import Change, Notice
from service.customers.services import effective_terms
from service.extensions import db
from service.mail.senders import PermanentFailure
from service.mail.texts import TEXTS
from service.notices import presenting
from service.notices.links import answer_url
from service.objections.models import Objection
from service.organizations.models import Organization
from service.outbox.models import Delivery
from service.portal import services as portal
from service.public import services as public
from service.subscriptions import links as subscription_links
from service.subscriptions import services as subscriptions


class _VerbatimHeader(UnstructuredHeader):
    """Written as is on one line (RFC 5322 allows 998 characters): folding a long URL would
    turn it into encoded words, which no mail client reads as a List-Unsubscribe URI."""

    def fold(self, *, policy: email.policy.Policy) -> str:
        return f"{self.name}: {self}{policy.linesep}"


class _Registry(HeaderRegistry):
    """The standard registry creates a new class for every header it is asked for, a tenth
    of the cost of a message; one class per header name serves every message."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type] = {}

    def map_to_type(self, name: str, cls: type) -> None:
        super().map_to_type(name, cls)
        self._classes.clear()

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        if key not in self._classes:
            self._classes[key] = super().__getitem__(name)
        return self._classes[key]


_headers = _Registry()
_headers.map_to_type("list-unsubscribe", _VerbatimHeader)
POLICY = email.policy.default.clone(header_factory=_headers)


def one_line(value: object, limit: int = 200) -> str:
    """Header-safe text: no CR/LF (no header injection), no control characters, bounded."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(value or ""))
    return " ".join(text.split())[:limit]


def _mailbox(display: str, address: str) -> Address:
    local, _, domain = address.rpartition("@")
    return Address(display_name=one_line(display, 100), username=local, domain=domain)


def _change_context(
    org: Organization,
    notice: Notice | None,
    change: Change,
    lang: str,
    cache: dict | None = None,
    terms: dict | None = None,
) -> dict:
    """The change as the reader's agreement makes it (service.notices.presenting), and the
    links: its answer link and the public list, where the reader sees what is in force."""
    presented = presenting.present(org, change, lang, notice=notice, terms=terms, cache=cache)
    context = {
        "p": presented,
        "change_words": presenting.labels(lang),
        "facts": presenting.as_text(presented),
        "change": change,
        "notice": notice,
        "answer_url": None,
        "list_url": public.page_url(_base(), org, lang),
    }
    if notice is not None and notice.response != "none" and notice.withdrawn_at is None:
        context["answer_url"] = answer_url(org, notice, lang)
    return context


def _subscriber_context(org: Organization, item, delivery: Delivery, lang: str, t: dict) -> dict:
    """Mail to the public goes only where it is still wanted, and always shows the way out."""
    subscription = subscriptions.find(org, delivery.address)
    wanted = "pending" if item.topic == subscriptions.CONFIRM_TOPIC else "confirmed"
    if subscription is None or subscription.status != wanted:
        raise PermanentFailure(f"not sent: the subscription is no longer {wanted}")
    context = {"unsubscribe_url": subscription_links.unsubscribe_url(org, subscription)}
    if item.topic == subscriptions.CONFIRM_TOPIC:
        context["confirm_url"] = subscription_links.confirm_url(org, subscription)
        context["fmt"] = {"org": org.brand}
        return context
    change = db.session.get(Change, item.payload["change_id"])
    context |= _change_context(org, None, change, lang)
    context["list_unsubscribe"] = context["unsubscribe_url"]
    context["fmt"] = change_subject_fields(org, change, lang, t)
    return context


def change_subject_fields(org: Organization, change: Change, lang: str, t: dict) -> dict:
    """The subject's words of a change: the brand, the kind and the date written out."""
    return {
        "org": org.brand,
        "kind": t["kinds"][change.kind],
        "date": i18n.day(change.effective_on, lang),
    }


def _agreement_context(org: Organization, item, delivery: Delivery, lang: str) -> dict:
    """A request still open when its mail goes: one accepted or offboarded meanwhile is not
    asked again."""
    label = item.payload["version"]
    request = db.session.scalar(
        select(AgreementRequest).where(
            AgreementRequest.customer_id == delivery.customer_id, AgreementRequest.version == label
        )
    )
    if request is None or request.closed_at is not None:
        why = request.closed_because if request else "gone"
        raise PermanentFailure(f"not sent: the request to accept {label} is closed ({why})")
    version = agreements.get_version(org, label)
    row = version.in_language(lang)
    return {
        "version": version,
        "row": row,
        "accept_url": agreement_links.accept_url(
            org,
            delivery.customer_id,
            label,
            row.language,
            address=delivery.address,
            message_id=delivery.message_id,
        ),
        "text_url": f"{_base()}/orgs/{org.slug}/agreement/versions/{label}?lang={row.language}",
        "portal_url": portal.sign_in_page_url(org, delivery.address, lang),
        "fmt": {"version": label, "date": i18n.day(row.effective_on, lang)},
    }


def _outcome_context(org: Organization, item, delivery: Delivery, lang: str, t: dict) -> dict:
    """The outcome of a customer's objection, and what it means for its data."""
    objection = db.session.get(Objection, item.payload["objection_id"])
    change = objection.change
    return {
        "objection": objection,
        "change": change,
        "vendor": {"name": change.recipient.name},
        "outcome_text": t["outcomes"][objection.resolution].format(
            day=i18n.day(objection.termination_on or change.effective_on, lang)
        ),
        "portal_url": portal.sign_in_page_url(org, delivery.address, lang),
        "fmt": {"outcome": t["outcome_subjects"][objection.resolution]},
    }


def _base() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


def _subject(topic: str, t: dict, context: dict) -> str:
    vendor = context["p"].vendor if "p" in context else (context.get("vendor") or {}).get("name")
    return one_line(t["subjects"][topic].format(vendor=vendor or "", **context["fmt"]))


def build(delivery: Delivery, cache: dict | None = None) -> EmailMessage:
    """The message for one delivery, rendered from the database as it is now; `cache`
    keeps what the messages of one batch share."""
    item = delivery.outbox
    org = db.session.get(Organization, item.organization_id)
    lang = delivery.locale if delivery.locale in TEXTS else "en"
    t = TEXTS[lang]
    context: dict = {"org": org, "t": t, "lang": lang, "topic": item.topic, "fmt": {}}
    context["day"] = lambda value: i18n.day(value, lang)  # dates written out, as in letters
    if item.topic.startswith("change."):
        change = db.session.get(Change, item.payload["change_id"])
        notice = db.session.get(Notice, delivery.notice_id) if delivery.notice_id else None
        terms = effective_terms(org, notice.customer.agreement) if notice is not None else None
        context |= _change_context(org, notice, change, lang, cache, terms)
        context["fmt"] = change_subject_fields(org, change, lang, t)
        if notice is not None:
            context["customer"] = notice.customer
            context["terms"] = terms
            context["portal_url"] = portal.sign_in_page_url(org, delivery.address, lang)
    elif item.topic in agreements.TOPICS:
        context |= _agreement_context(org, item, delivery, lang)
    elif item.topic == "answer.receipt":
        answer = db.session.get(Objection, item.payload["objection_id"])
        context |= {
            "answer": answer,
            "change": answer.change,
            "vendor": {"name": answer.change.recipient.name},
        }
        context["fmt"] = {"answer": t["answers"][answer.kind]}
    elif item.topic == "objection.resolved":
        context |= _outcome_context(org, item, delivery, lang, t)
    elif item.topic == portal.SIGN_IN_TOPIC:
        sign_in = portal.sign_in_of(item, delivery.customer_id)
        if sign_in is None:
            raise PermanentFailure("not sent: the sign-in link was used or withdrawn")
        context["sign_in_url"] = portal.sign_in_link(org, portal.issue_token(sign_in))
        context["customer"] = sign_in.customer
        context["minutes"] = current_app.config["PORTAL_SIGN_IN_MAX_AGE_MINUTES"]
        context["fmt"] = {"org": org.brand}
    elif item.topic == "alert.legal":
        context |= {"alert": item.payload, "alert_text": t["alerts"][item.payload["kind"]]}
        context["fmt"] = {"alert": t["alerts"][item.payload["kind"]]}
    elif item.topic in subscriptions.TOPICS:
        context |= _subscriber_context(org, item, delivery, lang, t)
    template = item.topic.split(".")[0]
    message = EmailMessage(policy=POLICY)
    message["Subject"] = _subject(item.topic, t, context)
    message["From"] = _mailbox(org.brand, current_app.config["MAIL_FROM"])
    message["To"] = _mailbox("", delivery.address)
    reply_to = org.legal_contact_email or org.contact_email
    message["Reply-To"] = _mailbox(org.brand, reply_to)
    message["Date"] = email.utils.formatdate(usegmt=True)
    message["Message-ID"] = delivery.message_id
    # Contractual notices cannot be unsubscribed from: no List-Unsubscribe here, on purpose.
    message["Auto-Submitted"] = "auto-generated"
    if context.get("list_unsubscribe"):  # subscribers of the public only (RFC 2369, 8058)
        message["List-Unsubscribe"] = f"<{one_line(context['list_unsubscribe'], 900)}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(render_template(f"mail/{template}.txt", **context))
    message.add_alternative(render_template(f"mail/{template}.html", **context), subtype="html")
    # After the body: making the alternative part moves Content-* headers into the parts.
    message["Content-Language"] = lang
    return message
