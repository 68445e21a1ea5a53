"""Notices of one change, built cheaply: what a change's messages share is prepared once per
batch and language, and each message only fills in its own fields.

The standard builder (`messages.build`) renders two templates and lets the `email` package
parse, fold and encode every header and body, several milliseconds per message: most of a
worker's time at 100,000 customers. Here, per (outbox row, language, kind of answer), the
templates are rendered once with markers in place of the per-notice values (answer link,
objection deadline), and the shared headers (Subject, From, Reply-To) are encoded once by
the `email` package itself. Per message, the markers are replaced (HTML-escaped in the HTML
part), both bodies are encoded quoted-printable (7-bit, good for any server) and the few
per-message headers are written from values checked against strict patterns. Anything the
fast path cannot vouch for (an address that is not a plain ASCII addr-spec, an odd
Message-ID, a template asking for a field that was not prepared) goes through
`messages.build`. `tests/test_mail_prepared.py` compares both paths message by message.
"""

from __future__ import annotations

import binascii
import email
import email.utils
import re
import secrets
from email.message import EmailMessage

from flask import current_app, render_template
from markupsafe import escape

from service.changes.models import Change, Notice
from service.customers.services import effective_terms
from service.extensions import db
from service.mail import messages
from service.mail.senders import PreparedMessage
from service.mail.texts import TEXTS
from service.notices import presenting
from service.notices.links import answer_url
from service.organizations.models import Organization
from service.outbox.models import Delivery
from service.portal.services import sign_in_page_url

# An ASCII addr-spec without anything to quote; anything else takes the standard builder.
_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?"
)
_MESSAGE_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+>")
# Markers in the rendered templates: random per process, so no stored text can forge one.
_TOKEN = secrets.token_hex(12)
_URL = f"DPA{_TOKEN}URL"
_PORTAL = f"DPA{_TOKEN}PORTAL"


class NotPrepared(Exception):
    """The template asked for a per-message value the fast path does not substitute."""


class _Refuse:
    """Stands in for per-customer objects: any use means the template changed."""

    def __getattr__(self, name: str) -> object:
        raise NotPrepared(name)


class _NoticeSlot:
    """What the templates may read of a notice: the fields its variant fixes."""

    def __init__(self, notice: Notice) -> None:
        self.response = notice.response
        self.withdrawn_at = notice.withdrawn_at
        self.post_hoc = notice.post_hoc

    def __getattr__(self, name: str) -> object:
        raise NotPrepared(name)


class _Template:
    """A change's message in one language, rendered once with markers."""

    def __init__(self, head: bytes, text: str, html: str, lang: str) -> None:
        self.head, self.text, self.html = head, text, html
        self.boundary = f"===============dpa{secrets.token_hex(8)}=="
        self.tail = (
            f"MIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n "
            f'boundary="{self.boundary}"\r\nContent-Language: {lang}\r\n\r\n'
        ).encode("ascii")


def _qp(text: str) -> bytes:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"  # as set_content() ends every body
    return binascii.b2a_qp(text.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")


def _prepare(
    org: Organization,
    change: Change,
    notice: Notice | None,
    terms: dict | None,
    item,
    lang: str,
    cache: dict,
) -> _Template:
    """Render the message of the first notice of a variant (`presenting.variant`): every
    notice of the variant reads the same but for the markers."""
    t = TEXTS[lang]
    context: dict = {"org": org, "t": t, "lang": lang, "topic": item.topic, "fmt": {}}
    context |= messages._change_context(org, notice, change, lang, cache, terms)
    context["answer_url"] = None
    context["fmt"] = messages.change_subject_fields(org, change, lang, t)
    if notice is not None:
        context["notice"] = _NoticeSlot(notice)
        if notice.response != "none" and notice.withdrawn_at is None:
            context["answer_url"] = _URL
        context["customer"] = context["terms"] = _Refuse()
        # The portal link carries the recipient's own address, so it differs per message.
        context["portal_url"] = _PORTAL
    text = render_template("mail/change.txt", **context)
    html = render_template("mail/change.html", **context)
    shared = EmailMessage(policy=messages.POLICY)
    shared["Subject"] = messages._subject(item.topic, t, context)
    shared["From"] = messages._mailbox(org.brand, current_app.config["MAIL_FROM"])
    shared["Reply-To"] = messages._mailbox(org.brand, org.legal_contact_email or org.contact_email)
    shared["Auto-Submitted"] = "auto-generated"
    head = shared.as_bytes(policy=email.policy.SMTP).split(b"\r\n\r\n", 1)[0] + b"\r\n"
    return _Template(head, text, html, lang)


def _fill(template: str, values: dict[str, str], html: bool) -> str:
    for marker, value in values.items():
        template = template.replace(marker, str(escape(value)) if html else value)
    return template


def build(delivery: Delivery, cache: dict) -> EmailMessage | PreparedMessage:
    """The message for one delivery: prepared for notices of a change, else standard."""
    item = delivery.outbox
    address, message_id = delivery.address, delivery.message_id
    if (
        not item.topic.startswith("change.")
        or not _ADDRESS.fullmatch(address or "")
        or not _MESSAGE_ID.fullmatch(message_id or "")
    ):
        return messages.build(delivery, cache)
    org = db.session.get(Organization, item.organization_id)
    change = db.session.get(Change, item.payload["change_id"])
    notice = db.session.get(Notice, delivery.notice_id) if delivery.notice_id else None
    lang = delivery.locale if delivery.locale in TEXTS else "en"
    variant = terms = None
    if notice is not None:
        terms = effective_terms(org, notice.customer.agreement)  # loaded with the batch
        variant = presenting.variant(org, change, notice, terms)
    key = ("prepared", item.id, lang, variant)
    if key not in cache:
        try:
            cache[key] = _prepare(org, change, notice, terms, item, lang, cache)
        except NotPrepared:
            cache[key] = None
    prepared: _Template | None = cache[key]
    if prepared is None:
        return messages.build(delivery, cache)
    values: dict[str, str] = {}
    if notice is not None:
        if _URL in prepared.text or _URL in prepared.html:
            values[_URL] = answer_url(org, notice, lang)
        values[_PORTAL] = sign_in_page_url(org, address, lang)
    boundary = prepared.boundary.encode("ascii")
    data = b"".join(
        (
            prepared.head,
            f"To: {address}\r\nDate: {email.utils.formatdate(usegmt=True)}\r\n"
            f"Message-ID: {message_id}\r\n".encode("ascii"),
            prepared.tail,
            b"--" + boundary + b"\r\n",
            b'Content-Type: text/plain; charset="utf-8"\r\n'
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n",
            _qp(_fill(prepared.text, values, html=False)),
            b"\r\n--" + boundary + b"\r\n",  # the CRLF before a boundary belongs to it
            b'Content-Type: text/html; charset="utf-8"\r\n'
            b"Content-Transfer-Encoding: quoted-printable\r\n\r\n",
            _qp(_fill(prepared.html, values, html=True)),
            b"\r\n--" + boundary + b"--\r\n",
        )
    )
    envelope_from = current_app.config["MAIL_FROM"]
    return PreparedMessage(envelope_from, address, message_id, data)
