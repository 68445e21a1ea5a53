"""The outbox pipeline in-process: one fan-out row, deliveries per contact, proof of
notice, headers and language, alerts. Real workers and SMTP are in test_delivery_*.py."""

from __future__ import annotations

import email
import email.policy
from datetime import date

import pytest
from sqlalchemy import func, select

from service.changes.models import Notice
from service.extensions import db
from service.outbox.models import Delivery, OutboxItem
from service.recipients.models import Recipient
from tests.conftest import bearer, legacy_name, one_line, vendor


@pytest.fixture
def setup(client, world):
    org = world.org("bookero", legal_contact_email="dpo@bookero.example")
    legal = bearer(world.key("legal", org))
    customers = []
    for n, locales in enumerate((("pl", "en"), ("en",), ("pl",))):
        body = {
            "external_ref": f"C{n}",
            "name": f"Salon Łódź {n}",
            "services": ["bookings"],
            "contacts": [{"email": f"c{n}-{loc}@salon.example", "locale": loc} for loc in locales],
            "agreement": {"notice_days": 14},
        }
        response = client.post("/api/v1/orgs/bookero/customers", json=body, headers=legal)
        assert response.status_code == 201, response.json
        customers.append(response.json)
    return org, legal, customers


def _announce(client, world, org, legal, name="Pocztex Żółć") -> dict:
    created = client.post(
        "/api/v1/orgs/bookero/subprocessors", json=vendor(name=one_line(name)), headers=legal
    ).json
    if one_line(name) != name:
        legacy_name(client.application, Recipient, created["id"], name)
    change = client.post(
        "/api/v1/orgs/bookero/changes",
        json={"kind": "add", "recipient_id": created["id"], "effective_on": world.day(org, 20)},
        headers=legal,
    )
    assert change.status_code == 201, change.json
    return change.json


def test_an_announcement_is_one_outbox_row_and_one_message_per_contact(
    client, world, setup, outbox_mail, app
):
    org, legal, _ = setup
    change = _announce(client, world, org, legal)
    with app.app_context():
        rows = db.session.scalars(select(OutboxItem).where(OutboxItem.topic == "change.announced"))
        # The worker writes the notices from this one row, whatever the number of customers.
        # It keeps the count of notices written, for the audit event of the audience.
        assert [r.payload for r in rows] == [
            {"change_id": change["id"], "write_notices": True, "notices": 3}
        ]
        assert db.session.scalar(select(func.count()).select_from(Delivery)) == 4
        notices = db.session.scalars(select(Notice)).all()
        assert all(n.delivered_at is not None for n in notices)
    recipients = sorted(m["To"].addresses[0].addr_spec for m in outbox_mail.sent)
    assert recipients == [
        "c0-en@salon.example",
        "c0-pl@salon.example",
        "c1-en@salon.example",
        "c2-pl@salon.example",
    ]


def test_messages_have_language_headers_and_a_working_link(client, world, setup, outbox_mail):
    org, legal, _ = setup
    _announce(client, world, org, legal)
    by_address = {m["To"].addresses[0].addr_spec: m for m in outbox_mail.sent}
    polish, english = by_address["c2-pl@salon.example"], by_address["c1-en@salon.example"]
    assert polish["Content-Language"] == "pl"
    assert english["Content-Language"] == "en"
    assert "zmiana dalszych podmiotów przetwarzających" in polish["Subject"]
    assert "subprocessor change" in english["Subject"]
    assert polish["Reply-To"].addresses[0].addr_spec == "dpo@bookero.example"
    assert polish["From"].addresses[0].display_name == "bookero sp. z o.o."
    assert polish["Message-ID"].startswith("<")
    assert polish["Date"]
    assert "List-Unsubscribe" not in polish  # contractual notice: no unsubscribe
    # Non-ASCII subjects survive the wire format.
    raw = polish.as_bytes(policy=email.policy.SMTP)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert "Żółć" in parsed["Subject"]
    assert all(ord(ch) < 128 for ch in raw.split(b"\r\n\r\n")[0].decode("ascii"))
    text = parsed.get_body(("plain",)).get_content()
    link = next(line for line in text.splitlines() if "/answers/" in line).strip()
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    assert client.get(path).status_code == 200
    html = parsed.get_body(("html",)).get_content()
    assert "Pocztex" in html


def test_header_injection_through_names_is_neutralised(client, world, setup, outbox_mail, app):
    org, legal, _ = setup
    evil = "Evil\r\nBcc: victim@example.com"
    refused = client.post(
        "/api/v1/orgs/bookero/subprocessors", json=vendor(name=evil), headers=legal
    )
    assert refused.status_code == 422  # one-line fields take no CR/LF (tests/test_vendor_names.py)
    _announce(client, world, org, legal, name=evil)  # as stored before that rule
    assert outbox_mail.sent
    for message in outbox_mail.sent:
        assert "Bcc" not in message
        assert message["To"].addresses[0].addr_spec.endswith("@salon.example")
        raw_headers = message.as_bytes(policy=email.policy.SMTP).split(b"\r\n\r\n")[0]
        assert b"\r\nBcc:" not in raw_headers  # the text stays inside the Subject


def test_markup_in_vendor_names_is_escaped_in_html(client, world, setup, outbox_mail):
    org, legal, _ = setup
    _announce(client, world, org, legal, name="<script>alert(1)</script>")
    html = outbox_mail.sent[0].get_body(("html",)).get_content()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_an_undeliverable_notice_stays_a_gap_and_alerts_legal(
    client, world, setup, outbox_mail, app
):
    org, legal, customers = setup
    outbox_mail.refuse = {"c1-en@salon.example"}
    change = _announce(client, world, org, legal)
    with app.app_context():
        failed = db.session.scalars(select(Delivery).where(Delivery.status == "failed")).all()
        assert [d.last_response for d in failed] == ["550 5.1.1 mailbox unavailable"]
        notice = db.session.scalars(
            select(Notice).where(Notice.customer_id == customers[1]["id"])
        ).one()
        assert notice.delivered_at is None
    alerts = [
        m for m in outbox_mail.sent if m["To"].addresses[0].addr_spec == "dpo@bookero.example"
    ]
    assert len(alerts) == 1
    assert "Salon Łódź 1" in alerts[0].get_body(("plain",)).get_content()
    listed = client.get(f"/api/v1/orgs/bookero/changes/{change['id']}/notices", headers=legal)
    undelivered = [n for n in listed.json["items"] if n["delivered_at"] is None]
    assert [n["customer"]["external_ref"] for n in undelivered] == ["C1"]


def test_a_chunk_of_customers_without_contacts_does_not_end_the_fan_out(
    client, world, app, outbox_mail, monkeypatch
):
    org = world.org("bookero")
    legal = bearer(world.key("legal", org))
    for ref, contacts in (("NOBODY", []), ("SOMEONE", [{"email": "x@salon.example"}])):
        body = {
            "external_ref": ref,
            "name": ref,
            "contacts": contacts,
            "agreement": {"notice_days": 14},
        }
        assert (
            client.post("/api/v1/orgs/bookero/customers", json=body, headers=legal).status_code
            == 201
        )
    # One notice per chunk: the first chunk yields no delivery at all.
    monkeypatch.setitem(app.config, "OUTBOX_CHUNK_SIZE", 1)
    _announce(client, world, org, legal)
    # NOBODY's notice reached no one: legal staff (here the organization's contact) hear of it.
    sent = [m["To"].addresses[0].addr_spec for m in outbox_mail.sent]
    assert sent == ["x@salon.example", "legal@bookero.example"]


def test_legal_staff_see_per_notice_delivery_status_and_message_ids(
    client, world, setup, outbox_mail
):
    org, legal, customers = setup
    outbox_mail.refuse = {"c1-en@salon.example"}
    change = _announce(client, world, org, legal)
    listed = client.get(f"/api/v1/orgs/bookero/changes/{change['id']}/notices", headers=legal)
    by_ref = {n["customer"]["external_ref"]: n for n in listed.json["items"]}
    assert by_ref["C0"]["status"] == "delivered"
    assert by_ref["C1"]["status"] == "undeliverable"
    sent_ids = {m["Message-ID"] for m in outbox_mail.sent}
    c0 = by_ref["C0"]["deliveries"]
    assert {d["address"] for d in c0} == {"c0-pl@salon.example", "c0-en@salon.example"}
    assert all(d["message_id"] in sent_ids and d["status"] == "sent" for d in c0)
    assert by_ref["C1"]["deliveries"][0]["last_response"].startswith("550")
    # Customers see their notices, not the delivery log.
    own = client.get(
        f"/api/v1/orgs/bookero/customers/{customers[0]['id']}/notices", headers=legal
    ).json["items"][0]
    assert "deliveries" not in own


def _announce_in_service(app, world, org, legal, client) -> tuple[int, int]:
    """Announce through the service and commit, as a view would, without the in-process
    drain a request triggers: (change id, outbox row id)."""
    from service.changes import services as changes
    from service.organizations.models import Organization

    created = client.post(
        "/api/v1/orgs/bookero/subprocessors", json=vendor(name="Pocztex"), headers=legal
    ).json
    with app.app_context():
        organization = db.session.get(Organization, org["id"])
        effective_on = date.fromisoformat(world.day(org, 20))
        data = {"kind": "add", "recipient_id": created["id"], "effective_on": effective_on}
        change = changes.announce_change(organization, data, actor="test")
        db.session.commit()
        # The request wrote the change and one row, no notice: those are the worker's.
        assert db.session.scalar(select(func.count()).select_from(Notice)) == 0
        item = db.session.scalars(
            select(OutboxItem).where(OutboxItem.topic == "change.announced")
        ).one()
        return change.id, item.id


def test_the_fanout_writes_the_notices_once_even_when_a_chunk_is_written_again(
    client, world, setup, outbox_mail, app
):
    from service.changes.models import Change
    from service.mail.delivery import process_item, send_batch
    from service.notices.services import write_notices
    from service.organizations.models import Organization

    org, legal, customers = setup
    change_id, item_id = _announce_in_service(app, world, org, legal, client)
    with app.app_context():
        organization = db.session.get(Organization, org["id"])
        change = db.session.get(Change, change_id)
        # As if an earlier attempt had written the first chunk's notices and died before
        # moving the row's cursor: the fan-out starts from the beginning again.
        assert write_notices(organization, change, 0, 2) == customers[1]["id"]
        db.session.commit()
        assert process_item(item_id, on_chunk=send_batch)
        notices = db.session.scalars(select(Notice).order_by(Notice.customer_id)).all()
        assert [n.customer_id for n in notices] == [c["id"] for c in customers]
        assert all(n.delivered_at is not None and n.response == "objection" for n in notices)
        assert db.session.scalar(select(func.count()).select_from(Delivery)) == 4
    assert len(outbox_mail.sent) == 4


def test_a_change_withdrawn_before_its_fanout_tells_no_one(client, world, setup, outbox_mail, app):
    from service.changes import services as changes
    from service.mail.delivery import drain
    from service.organizations.models import Organization

    org, legal, _ = setup
    change_id, _ = _announce_in_service(app, world, org, legal, client)
    with app.app_context():
        organization = db.session.get(Organization, org["id"])
        change = changes.get_change(organization, change_id)
        changes.withdraw_change(organization, change, "Chosen another vendor.", actor="test")
        db.session.commit()
        drain()
        assert db.session.scalar(select(func.count()).select_from(Notice)) == 0
        assert db.session.scalar(select(func.count()).select_from(Delivery)) == 0
        assert db.session.scalars(select(OutboxItem.status)).all() == ["done"]
    assert outbox_mail.sent == []


def test_an_announcement_whose_notices_are_not_written_yet_is_a_notice_gap(
    client, world, setup, outbox_mail, app
):
    from service.mail.delivery import drain

    org, legal, _ = setup
    _announce_in_service(app, world, org, legal, client)
    compliance = "/api/v1/orgs/bookero/compliance?rule=notice.undelivered"
    # Workers down: no notice row exists, yet nobody has been told.
    gaps = client.get(compliance, headers=legal).json["items"]
    assert [(g["severity"], g["recipient"]["name"]) for g in gaps] == [("warning", "Pocztex")]
    assert "still being written" in gaps[0]["detail"]
    with app.app_context():
        drain()
    assert client.get(compliance, headers=legal).json["items"] == []


def test_the_fanout_writes_a_chunks_deliveries_in_one_statement_that_does_not_grow(
    client, world, setup, outbox_mail, app, monkeypatch
):
    """The deliveries of a chunk travel as arrays: one INSERT whose text is the same for 1
    contact or 500 (a multi-row VALUES list grew with the chunk and was parsed anew by
    psycopg each time, most of the fan-out's cost). Each gets its own Message-ID."""
    from sqlalchemy import event

    from service.mail.delivery import process_item

    org, legal, _ = setup
    _, item_id = _announce_in_service(app, world, org, legal, client)
    inserts: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO DELIVERIES"):
            inserts.append(statement)

    monkeypatch.setitem(app.config, "OUTBOX_CHUNK_SIZE", 2)  # chunks of 3 and 1 contacts
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            assert process_item(item_id, on_chunk=lambda ids: None)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        rows = db.session.scalars(select(Delivery).order_by(Delivery.id)).all()
    assert len(inserts) == 2
    assert inserts[0] == inserts[1]
    assert [(d.address, d.locale, d.status, d.attempts) for d in rows] == [
        ("c0-pl@salon.example", "pl", "pending", 0),
        ("c0-en@salon.example", "en", "pending", 0),
        ("c1-en@salon.example", "en", "pending", 0),
        ("c2-pl@salon.example", "pl", "pending", 0),
    ]
    assert len({d.message_id for d in rows}) == 4
    assert all(d.notice_id and d.customer_id and d.channel == "email" for d in rows)
    assert all(d.created_at == d.next_attempt_at for d in rows)
