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
from datetime import datetime, tzinfo
from email.message import EmailMessage

from flask import current_app, render_template
from markupsafe import escape

from service.changes.models import Change, Notice
from service.extensions import db
from service.mail import messages
from service.mail.senders import PreparedMessage
from service.mail.texts import TEXTS
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
_DEADLINE = f"DPA{_TOKEN}D"
# Deadline formats recorded while rendering: (strftime format, zone it is shown in).
Formats = list[tuple[str, tzinfo | None]]
_PORTAL = f"DPA{_TOKEN}PORTAL"


class NotPrepared(Exception):
    """The template asked for a per-message value the fast path does not substitute."""


class _Refuse:
    """Stands in for per-customer objects: any use means the template changed."""

    def __getattr__(self, name: str) -> object:
        raise NotPrepared(name)


class _DeadlineSlot:
    """The objection deadline: `astimezone` and `strftime` record the zone and the format
    (as `clock.local_moment` uses them) and leave a marker."""

    def __init__(self, formats: Formats, zone: tzinfo | None = None):
        self._formats, self._zone = formats, zone

    def astimezone(self, zone: tzinfo) -> _DeadlineSlot:
        return _DeadlineSlot(self._formats, zone)

    def strftime(self, fmt: str) -> str:
        self._formats.append((fmt, self._zone))
        return f"{_DEADLINE}{len(self._formats) - 1}X"


class _NoticeSlot:
    def __init__(self, notice: Notice, formats: Formats) -> None:
        self.response = notice.response
        self.withdrawn_at = notice.withdrawn_at
        self.post_hoc = notice.post_hoc
        self.objection_deadline = (
            _DeadlineSlot(formats) if notice.objection_deadline is not None else None
        )

    def __getattr__(self, name: str) -> object:
        raise NotPrepared(name)


class _Template:
    """A change's message in one language, rendered once with markers."""

    def __init__(self, head: bytes, text: str, html: str, formats: Formats, lang: str) -> None:
        self.head, self.text, self.html, self.formats = head, text, html, formats
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
    org: Organization, change: Change, notice: Notice | None, item, lang: str, cache: dict
) -> _Template:
    t = TEXTS[lang]
    formats: Formats = []
    context: dict = {"org": org, "t": t, "lang": lang, "topic": item.topic, "fmt": {}}
    context |= messages._change_context(org, None, change, lang, cache)
    context["fmt"] = {"kind": t["kinds"][change.kind], "date": change.effective_on.isoformat()}
    if notice is not None:
        context["notice"] = _NoticeSlot(notice, formats)
        if notice.response != "none" and notice.withdrawn_at is None:
            context["answer_url"] = _URL
        context["customer"] = context["terms"] = _Refuse()
        # The portal link carries the recipient's own address, so it differs per message.
        context["portal_url"] = _PORTAL
    text = render_template("mail/change.txt", **context)
    html = render_template("mail/change.html", **context)
    shared = EmailMessage(policy=messages.POLICY)
    shared["Subject"] = messages._subject(item.topic, t, context)
    shared["From"] = messages._mailbox(org.legal_name, current_app.config["MAIL_FROM"])
    shared["Reply-To"] = messages._mailbox(
        org.legal_name, org.legal_contact_email or org.contact_email
    )
    shared["Auto-Submitted"] = "auto-generated"
    head = shared.as_bytes(policy=email.policy.SMTP).split(b"\r\n\r\n", 1)[0] + b"\r\n"
    return _Template(head, text, html, formats, lang)


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
    variant = None
    if notice is not None:
        variant = (
            notice.response,
            notice.withdrawn_at is None,
            notice.objection_deadline is None,
            notice.post_hoc,
        )
    key = ("prepared", item.id, lang, variant)
    if key not in cache:
        try:
            cache[key] = _prepare(org, change, notice, item, lang, cache)
        except NotPrepared:
            cache[key] = None
    prepared: _Template | None = cache[key]
    if prepared is None:
        return messages.build(delivery, cache)
    values: dict[str, str] = {}
    if notice is not None:
        if _URL in prepared.text or _URL in prepared.html:
            values[_URL] = answer_url(org, notice, lang)
        deadline: datetime | None = notice.objection_deadline
        for n, (fmt, zone) in enumerate(prepared.formats):
            assert deadline is not None
            values[f"{_DEADLINE}{n}X"] = (deadline.astimezone(zone) if zone else deadline).strftime(
                fmt
            )
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
