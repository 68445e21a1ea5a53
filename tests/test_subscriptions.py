"""Public subscriptions: no enumeration, double opt-in, RFC 8058 one-click unsubscribe in
subscriber mail only, erasure that leaves only a suppression entry."""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select, text

from service.changes.models import Change
from service.extensions import db
from service.mail import delivery as mail_delivery
from service.mail.senders import MemorySender
from service.organizations.models import Organization
from service.outbox.models import Delivery, OutboxItem
from service.subscriptions import services as subscriptions
from service.subscriptions.models import Subscription, Suppression
from tests.conftest import bearer, vendor

SUBSCRIBE = "/api/v1/orgs/bookero/subscriptions"


@pytest.fixture
def mailbox() -> Iterator[MemorySender]:
    sender = MemorySender()
    mail_delivery.use_sender(lambda: sender)
    yield sender
    mail_delivery.use_sender(None)


@pytest.fixture
def desk(client, world):
    """bookero with one customer (two contacts) and a legal key."""
    org = world.org("bookero", legal_contact_email="dpo@bookero.example")
    legal = bearer(world.key("legal", org))
    body = {
        "external_ref": "C1",
        "name": "Salon Róża",
        "services": ["bookings"],
        "contacts": [
            {"email": "owner@salon.example", "locale": "pl"},
            {"email": "it@salon.example", "locale": "en"},
        ],
        "agreement": {"notice_days": 14},
    }
    created = client.post("/api/v1/orgs/bookero/customers", json=body, headers=legal)
    assert created.status_code == 201, created.json
    return org, legal


def to(message) -> str:
    return message["To"].addresses[0].addr_spec


def sent_to(mailbox: MemorySender, address: str) -> list:
    return [m for m in mailbox.sent if to(m) == address]


def link(message, fragment: str) -> str:
    """The first link in the plain-text body that contains `fragment`, as a local path."""
    body = message.get_body(("plain",)).get_content()
    url = next(word for word in body.split() if fragment in word)
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def subscribe(client, address: str, locale: str = "en"):
    return client.post(SUBSCRIBE, json={"email": address, "locale": locale})


def confirmed_subscriber(client, mailbox: MemorySender, address: str) -> str:
    """Subscribe and confirm through the link in the mail; return the confirm path."""
    assert subscribe(client, address).status_code == 202
    path = link(sent_to(mailbox, address)[-1], "/subscriptions/confirm/")
    assert client.post(path).status_code == 200
    return path


def announce(client, world, org, legal, name: str = "Pocztex") -> dict:
    created = client.post(
        "/api/v1/orgs/bookero/subprocessors", json=vendor(name=name), headers=legal
    ).json
    change = client.post(
        "/api/v1/orgs/bookero/changes",
        json={"kind": "add", "recipient_id": created["id"], "effective_on": world.day(org, 30)},
        headers=legal,
    )
    assert change.status_code == 201, change.json
    return change.json


def status_of(app, address: str) -> str | None:
    with app.app_context():
        row = db.session.scalars(
            select(Subscription).where(Subscription.email_hash == subscriptions.email_hash(address))
        ).one_or_none()
        return row.status if row else None


# --- subscribing: the same answer for every address ---------------------------------------


def test_subscribing_answers_alike_whatever_the_address(client, world, desk, mailbox, app):
    _, legal = desk
    confirmed_subscriber(client, mailbox, "known@example.org")
    client.delete(SUBSCRIBE, json={"email": "erased@example.org"}, headers=legal)
    mailbox.sent.clear()

    answers = [
        subscribe(client, "new@example.org"),
        subscribe(client, "new@example.org"),  # pending, asked a moment ago
        subscribe(client, "KNOWN@example.org"),  # confirmed already
        subscribe(client, "erased@example.org"),  # suppressed
        subscribe(client, "o'brien+dpa@mail.example.co.uk"),  # odd but valid
    ]
    assert {a.status_code for a in answers} == {202}
    assert len({a.get_data() for a in answers}) == 1
    assert len({a.headers.get("Content-Length") for a in answers}) == 1
    # Only the new addresses are asked to confirm, each once.
    assert sorted(to(m) for m in mailbox.sent) == [
        "new@example.org",
        "o'brien+dpa@mail.example.co.uk",
    ]
    assert status_of(app, "known@example.org") == "confirmed"


def test_an_invalid_address_is_a_validation_error(client, desk):
    response = client.post(SUBSCRIBE, json={"email": "not an address"})
    assert response.status_code == 422
    assert "email" in response.json["errors"]
    assert client.post(SUBSCRIBE, json={"email": "a@b.example", "locale": "de"}).status_code == 422
    assert (
        client.post("/api/v1/orgs/nobody/subscriptions", json={"email": "a@b.example"}).json[
            "status"
        ]
        == 404
    )


# --- double opt-in -------------------------------------------------------------------------


def test_confirmation_get_asks_and_post_confirms(client, desk, mailbox, app):
    assert subscribe(client, "Ala@Example.org", "pl").status_code == 202
    [message] = mailbox.sent
    assert to(message) == "Ala@Example.org"
    assert message["Content-Language"] == "pl"
    assert "List-Unsubscribe" not in message  # not subscribed yet: nothing to leave
    path = link(message, "/subscriptions/confirm/")

    page = client.get(path)
    assert page.status_code == 200
    assert '<form method="post">' in page.get_data(as_text=True)
    assert "<script" not in page.get_data(as_text=True)
    assert status_of(app, "ala@example.org") == "pending"  # a scanner's GET confirms nothing

    assert client.post(path).status_code == 200
    assert status_of(app, "ala@example.org") == "confirmed"
    assert client.post(path).status_code == 200  # twice is harmless


def test_forged_and_foreign_confirmation_links_are_refused(client, world, desk, mailbox):
    world.org("other")
    subscribe(client, "ala@example.org")
    path = link(mailbox.sent[0], "/subscriptions/confirm/")
    assert client.get(path[:-3] + "xyz").status_code == 404
    assert client.post(path.replace("/bookero/", "/other/")).status_code == 404


def test_a_pending_address_is_not_flooded_with_confirmations(
    client, desk, mailbox, app, monkeypatch
):
    for _ in range(5):
        assert subscribe(client, "target@example.org").status_code == 202
    assert len(mailbox.sent) == 1
    monkeypatch.setitem(app.config, "SUBSCRIPTION_CONFIRM_RESEND_SECONDS", 0)
    subscribe(client, "target@example.org")
    assert len(mailbox.sent) == 2


# --- announcements: subscribers only, with a working one-click unsubscribe ----------------


def test_an_announcement_reaches_confirmed_subscribers_with_one_click_unsubscribe(
    client, world, desk, mailbox, app
):
    org, legal = desk
    confirmed_subscriber(client, mailbox, "fan@example.org")
    subscribe(client, "pending@example.org")
    confirmed_subscriber(client, mailbox, "gone@example.org")
    with app.app_context():
        gone = db.session.scalars(
            select(Subscription).where(
                Subscription.email_hash == subscriptions.email_hash("gone@example.org")
            )
        ).one()
        subscriptions.unsubscribe(gone)
        db.session.commit()
    mailbox.sent.clear()

    change = announce(client, world, org, legal)

    with app.app_context():
        rows = db.session.scalars(
            select(OutboxItem.payload).where(OutboxItem.topic == "subscribers.announced")
        ).all()
        assert rows == [{"change_id": change["id"]}]  # one fan-out row for the audience
    [fan] = sent_to(mailbox, "fan@example.org")
    assert not sent_to(mailbox, "pending@example.org")
    assert not sent_to(mailbox, "gone@example.org")
    assert "Pocztex" in fan["Subject"]
    assert "bookero" in fan["Subject"]
    assert fan["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    match = re.fullmatch(
        r"<(https?://[^>]+/orgs/bookero/unsubscribe/[^>]+)>", fan["List-Unsubscribe"]
    )
    assert match, fan["List-Unsubscribe"]

    # On the wire the header is one plain line a mail client can read, not encoded words.
    raw = fan.as_bytes(policy=email.policy.SMTP)
    assert f"List-Unsubscribe: <{match.group(1)}>\r\n".encode() in raw
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["List-Unsubscribe"] == f"<{match.group(1)}>"

    # Customer contacts' contractual notices cannot be unsubscribed from.
    notices = sent_to(mailbox, "owner@salon.example") + sent_to(mailbox, "it@salon.example")
    assert len(notices) == 2
    assert all("List-Unsubscribe" not in m and "List-Unsubscribe-Post" not in m for m in notices)

    # RFC 8058: the mail client POSTs the form body, with no key, no cookie, no other step.
    path = "/" + match.group(1).split("://", 1)[1].split("/", 1)[1]
    one_click = client.post(
        path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert one_click.status_code == 200
    assert status_of(app, "fan@example.org") == "unsubscribed"

    mailbox.sent.clear()
    announce(client, world, org, legal, name="Later vendor")
    assert not sent_to(mailbox, "fan@example.org")
    with app.app_context():
        assert not db.session.scalars(
            select(OutboxItem).where(OutboxItem.topic == "subscribers.announced").offset(1)
        ).all()  # nobody confirmed is left: no second audience row


def test_a_withdrawal_reaches_subscribers_too(client, world, desk, mailbox):
    org, legal = desk
    confirmed_subscriber(client, mailbox, "fan@example.org")
    change = announce(client, world, org, legal)
    mailbox.sent.clear()
    withdrawn = client.post(
        f"/api/v1/orgs/bookero/changes/{change['id']}/withdraw",
        json={"reason": "vendor declined"},
        headers=legal,
    )
    assert withdrawn.status_code == 200, withdrawn.json
    [message] = sent_to(mailbox, "fan@example.org")
    assert "withdrawn" in message["Subject"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_the_unsubscribe_page_asks_before_acting(client, world, desk, mailbox, app):
    org, legal = desk
    confirmed_subscriber(client, mailbox, "fan@example.org")
    announce(client, world, org, legal)
    path = link(sent_to(mailbox, "fan@example.org")[-1], "/unsubscribe/")
    page = client.get(path)
    assert page.status_code == 200
    assert 'name="List-Unsubscribe" value="One-Click"' in page.get_data(as_text=True)
    assert status_of(app, "fan@example.org") == "confirmed"
    assert client.get(path[:-2] + "zz").status_code == 404


def test_mail_queued_before_an_unsubscribe_is_not_sent(client, world, desk, mailbox, app):
    org, legal = desk
    confirmed_subscriber(client, mailbox, "fan@example.org")
    change = announce(client, world, org, legal)
    mailbox.sent.clear()
    with app.app_context():
        organization = db.session.get(Organization, org["id"])
        queued = subscriptions.notify_subscribers(
            organization, db.session.get(Change, change["id"]), "announced"
        )
        assert queued
        item_id = db.session.scalars(
            select(OutboxItem.id).where(OutboxItem.status == "pending")
        ).one()
        db.session.commit()  # queued; no request drains it
        chunks: list[list[int]] = []
        mail_delivery.process_item(item_id, on_chunk=chunks.append)  # expanded, not sent
        subscriptions.unsubscribe(subscriptions.find(organization, "fan@example.org"))
        db.session.commit()
        for chunk in chunks:
            mail_delivery.send_batch(chunk)
        [late] = db.session.scalars(select(Delivery).where(Delivery.id.in_(chunks[0]))).all()
        assert late.status == "failed"
        assert "no longer confirmed" in late.last_response
    assert not mailbox.sent


# --- erasure ---------------------------------------------------------------------------------


def _traces(app, address: str) -> list[str]:
    """Every place in the database where the address (in any case) still appears."""
    needle = address.lower()
    found = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(select(table)).mappings():
                if needle in str(dict(row)).lower():
                    found.append(table.name)
    return found


def test_erasure_by_legal_staff_leaves_only_the_hash(client, world, desk, mailbox, app):
    org, legal = desk
    confirmed_subscriber(client, mailbox, "Fan@Example.org")
    announce(client, world, org, legal)
    assert set(_traces(app, "fan@example.org")) == {"subscriptions", "deliveries"}

    assert client.delete(SUBSCRIBE, json={"email": "fan@example.org"}).status_code == 401
    customer_key = bearer(world.key("customer", org, customer_id=1))
    assert (
        client.delete(
            SUBSCRIBE, json={"email": "fan@example.org"}, headers=customer_key
        ).status_code
        == 403
    )
    erased = client.delete(SUBSCRIBE, json={"email": "fan@example.org"}, headers=legal)
    assert erased.status_code == 200, erased.json
    assert erased.json == {"suppressed": True, "subscription_erased": True}

    assert _traces(app, "fan@example.org") == []
    digest = hashlib.sha256(b"fan@example.org").hexdigest()
    with app.app_context():
        assert db.session.scalars(select(Subscription)).all() == []
        [entry] = db.session.scalars(select(Suppression)).all()
        assert (entry.email_hash, entry.organization_id) == (digest, org["id"])
        audit = db.session.execute(
            text("SELECT action, entity_type FROM audit_events WHERE action LIKE 'subscription%'")
        ).all()
        assert [tuple(a) for a in audit] == [("subscription.erased", "suppression")]

    # Asking again answers as ever, and writes nothing to the address.
    mailbox.sent.clear()
    assert subscribe(client, "FAN@example.org").status_code == 202
    assert not mailbox.sent
    assert client.delete(SUBSCRIBE, json={"email": "fan@example.org"}, headers=legal).json == {
        "suppressed": True,
        "subscription_erased": False,
    }


def test_erasure_through_the_signed_link(client, world, desk, mailbox, app):
    org, legal = desk
    confirmed_subscriber(client, mailbox, "fan@example.org")
    announce(client, world, org, legal)
    path = link(sent_to(mailbox, "fan@example.org")[-1], "/unsubscribe/")
    done = client.post(path, data={"action": "erase"})
    assert done.status_code == 200
    assert _traces(app, "fan@example.org") == []
    assert client.get(path).status_code == 200  # the link still answers, with nothing to do
    mailbox.sent.clear()
    subscribe(client, "fan@example.org")
    assert not mailbox.sent


def test_a_stranger_subscribed_can_block_the_address_from_the_confirmation(
    client, desk, mailbox, app
):
    subscribe(client, "victim@example.org")
    block = link(mailbox.sent[0], "/unsubscribe/")
    assert client.post(block, data={"action": "erase"}).status_code == 200
    mailbox.sent.clear()
    subscribe(client, "victim@example.org")
    assert not mailbox.sent
    assert _traces(app, "victim@example.org") == []


def test_an_erased_address_of_one_organization_may_subscribe_to_another(
    client, world, desk, mailbox
):
    _, legal = desk
    world.org("other")
    client.delete(SUBSCRIBE, json={"email": "fan@example.org"}, headers=legal)
    client.post("/api/v1/orgs/other/subscriptions", json={"email": "fan@example.org"})
    assert [to(m) for m in mailbox.sent] == ["fan@example.org"]
