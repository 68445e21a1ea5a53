"""The prepared (fast) notice builder against the standard one: the same message, parsed,
for every delivery of announcements with awkward names, languages and long subjects; and
no header injection through any field."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from service.changes.models import Notice
from service.customers.models import Customer
from service.extensions import db
from service.mail import messages, prepared
from service.mail.senders import PreparedMessage
from service.notices.links import read_answer_token
from service.organizations.models import Organization
from service.outbox.models import Delivery
from tests.conftest import bearer, legacy_name, one_line
from tests.test_mail_pipeline import _announce

AWKWARD = [
    'Salon "Łódź" <b>&amp;</b>',
    "Zakład\r\nBcc: victim@example.com",
    "Ångström <owner@evil.example>, Ltd.",
]
TOKEN = re.compile(r"/answers/([A-Za-z0-9_.-]+)")


@pytest.fixture
def setup(client, world, app):
    org = world.org(
        "bookero",
        legal_name='Bookero "Żółw" <sp. z o.o.>',
        legal_contact_email="dpo@bookero.example",
    )
    legal = bearer(world.key("legal", org))
    for n, name in enumerate(AWKWARD):
        locales = (("pl", "en"), ("en",), ("pl",))[n]
        body = {
            "external_ref": f"C{n}",
            "name": one_line(name),
            "services": ["bookings"],
            "contacts": [{"email": f"c{n}-{loc}@salon.example", "locale": loc} for loc in locales],
            "agreement": {"notice_days": 14},
        }
        response = client.post("/api/v1/orgs/bookero/customers", json=body, headers=legal)
        assert response.status_code == 201, response.json
        legacy_name(app, Customer, response.json["id"], name)  # what the API now refuses too
    return org, legal


def _parsed(message) -> email.message.EmailMessage:
    raw = message.as_bytes() if isinstance(message, PreparedMessage) else None
    if raw is None:
        raw = message.as_bytes(policy=email.policy.SMTP)
    assert all(ord(ch) < 128 for ch in raw.split(b"\r\n\r\n")[0].decode("ascii"))
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    return email.message_from_bytes(raw, policy=email.policy.default)


def _normalised(app, org_id: int, text: str) -> tuple[str, list[int]]:
    """Signed links carry their signing second: compare what they name instead."""
    org = db.session.get(Organization, org_id)
    notices = [read_answer_token(org, token).id for token in TOKEN.findall(text)]
    return TOKEN.sub("/answers/TOKEN", text), notices


HEADERS = ("Subject", "From", "To", "Reply-To", "Message-ID", "Auto-Submitted", "Content-Language")


@pytest.mark.parametrize(
    "vendor_name",
    [
        "Pocztex Żółć",
        "Evil\r\nBcc: victim@example.com",
        "<script>alert(1)</script> & \"quotes\" 'too'",
        ("Bardzo długa nazwa dostawcy usług przetwarzania danych osobowych " * 3).strip(),
    ],
)
def test_prepared_messages_equal_the_standard_ones(
    client, world, setup, outbox_mail, app, vendor_name
):
    org, legal = setup
    _announce(client, world, org, legal, vendor_name)
    with app.app_context():
        deliveries = db.session.scalars(select(Delivery).order_by(Delivery.id)).all()
        assert len(deliveries) == 4
        fast_cache: dict = {}
        languages = set()
        for delivery in deliveries:
            fast = prepared.build(delivery, fast_cache)
            assert isinstance(fast, PreparedMessage)
            ours, theirs = _parsed(fast), _parsed(messages.build(delivery, {}))
            for name in HEADERS:
                assert str(ours[name]) == str(theirs[name]), name
                assert len(ours.get_all(name)) == 1
            assert "Bcc" not in ours
            assert "List-Unsubscribe" not in ours
            assert ours.get_content_type() == theirs.get_content_type() == "multipart/alternative"
            assert ours["Date"]
            for kind in ("plain", "html"):
                mine = _normalised(app, org["id"], ours.get_body((kind,)).get_content())
                other = _normalised(app, org["id"], theirs.get_body((kind,)).get_content())
                assert mine == other, kind
                assert set(mine[1]) == {delivery.notice_id}  # the links name this notice
            html = ours.get_body(("html",)).get_content()
            assert "<script>" not in html
            languages.add(ours["Content-Language"])
        assert languages == {"pl", "en"}
        # One preparation per language and kind of answer, not per message.
        assert len([k for k in fast_cache if k[0] == "prepared"]) == 2


@pytest.mark.usefixtures("fixed_clock")  # the deadlines are literals, ahead of that moment
@pytest.mark.parametrize(
    ("deadline", "shown"),
    [
        (
            datetime(2027, 3, 28, 0, 30, tzinfo=UTC),
            {
                "pl": "28 marca 2027 r., 01:30 (czas środkowoeuropejski standardowy, CET)",
                "en": "28 March 2027, 01:30 (Central European Standard Time, CET)",
            },
        ),
        (
            datetime(2027, 3, 28, 21, 59, tzinfo=UTC),
            {
                "pl": "28 marca 2027 r., 23:59 (czas środkowoeuropejski letni, CEST)",
                "en": "28 March 2027, 23:59 (Central European Summer Time, CEST)",
            },
        ),
    ],
)
def test_the_deadline_is_shown_in_the_organizations_zone_by_both_builders(
    client, world, setup, app, deadline, shown
):
    org, legal = setup
    _announce(client, world, org, legal, "Pocztex")
    with app.app_context():
        db.session.execute(update(Notice).values(objection_deadline=deadline))
        db.session.commit()
        fast_cache: dict = {}
        for delivery in db.session.scalars(select(Delivery).order_by(Delivery.id)):
            for message in (prepared.build(delivery, fast_cache), messages.build(delivery, {})):
                parsed = _parsed(message)
                for kind in ("plain", "html"):
                    body = parsed.get_body((kind,)).get_content()
                    assert shown[parsed["Content-Language"]] in body, kind
                    assert "UTC" not in body, kind


def test_fields_the_fast_path_cannot_vouch_for_take_the_standard_builder(
    client, world, setup, outbox_mail, app
):
    org, legal = setup
    _announce(client, world, org, legal, "Pocztex")
    with app.app_context():
        delivery = db.session.scalars(select(Delivery).order_by(Delivery.id)).first()
        for field, value in (
            ("address", "c0-pl@salon.example\r\nBcc: victim@example.com"),
            ("address", "Żaneta <c0@salon.example>"),
            ("message_id", "<a@b>\r\nBcc: victim@example.com"),
        ):
            original = getattr(delivery, field)
            setattr(delivery, field, value)
            try:
                message = prepared.build(delivery, {})
                assert not isinstance(message, PreparedMessage)
                raw = message.as_bytes(policy=email.policy.SMTPUTF8)
                assert b"\nBcc:" not in raw.split(b"\r\n\r\n")[0]
            except ValueError:
                pass  # the standard builder refuses CR/LF in an address outright
            finally:
                setattr(delivery, field, original)
        db.session.rollback()
