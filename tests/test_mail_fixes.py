"""Regressions of the delivery pipeline, in-process: shared contact addresses, a message
that cannot be built, slow batches keeping their lease, an unreachable server, two workers
on one outbox row. Real processes are in test_delivery_real.py."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import attributes

from service import clock
from service.changes.models import Notice
from service.extensions import db
from service.mail import delivery as mail_delivery
from service.mail.senders import Unreachable
from service.outbox import services as outbox
from service.outbox.models import Delivery, OutboxItem
from tests.conftest import bearer, vendor


@pytest.fixture
def sender(outbox_mail):
    return outbox_mail


@pytest.fixture
def legal(world):
    org = world.org("bookero", legal_contact_email="dpo@bookero.example")
    return org, bearer(world.key("legal", org))


def _customer(client, legal, ref: str, *emails: str) -> dict:
    body = {
        "external_ref": ref,
        "name": f"Salon {ref}",
        "services": ["bookings"],
        "contacts": [{"email": e, "locale": "pl"} for e in emails],
        "agreement": {"notice_days": 14},
    }
    response = client.post("/api/v1/orgs/bookero/customers", json=body, headers=legal)
    assert response.status_code == 201, response.json
    return response.json


def _announce(client, world, org, legal, name="Pocztex") -> dict:
    created = client.post(
        "/api/v1/orgs/bookero/subprocessors", json=vendor(name=name), headers=legal
    ).json
    change = client.post(
        "/api/v1/orgs/bookero/changes",
        json={"kind": "add", "recipient_id": created["id"], "effective_on": world.day(org, 20)},
        headers=legal,
    )
    assert change.status_code == 201, change.json
    return change.json


@pytest.fixture
def broker_off(app, monkeypatch) -> None:
    """Outbox rows stay queued (as with a broker nobody consumes) until the test runs them."""
    monkeypatch.setitem(app.config, "CELERY_ALWAYS_EAGER", False)
    monkeypatch.setattr(outbox, "dispatch", lambda task, *args: None)


def test_one_address_serving_two_customers_gets_each_customers_notice(
    client, world, legal, sender, app
):
    org, key = legal
    _customer(client, key, "A", "office@accounting.example")
    _customer(client, key, "B", "office@accounting.example", "b@salon.example")
    _announce(client, world, org, key)
    assert sorted(m["To"].addresses[0].addr_spec for m in sender.sent) == [
        "b@salon.example",
        "office@accounting.example",
        "office@accounting.example",
    ]
    with app.app_context():
        assert db.session.scalars(select(OutboxItem.status)).all() == ["done"]
        assert db.session.scalar(select(func.count()).where(Notice.delivered_at.is_(None))) == 0
        db.session.remove()


def test_a_message_that_cannot_be_built_backs_off_alone(client, world, legal, sender, app):
    org, key = legal
    for ref in ("A", "B", "C"):
        _customer(client, key, ref, f"{ref.lower()}@salon.example")

    def explode(message):
        if message["To"].addresses[0].addr_spec == "b@salon.example":
            raise KeyError("template variable")

    sender.hook = explode
    _announce(client, world, org, key)
    assert sorted(m["To"].addresses[0].addr_spec for m in sender.sent) == [
        "a@salon.example",
        "c@salon.example",
    ]
    with app.app_context():
        broken = db.session.scalars(
            select(Delivery).where(Delivery.address == "b@salon.example")
        ).one()
        assert broken.status == "pending"
        assert broken.attempts == 1
        assert "KeyError" in broken.last_response
        assert broken.next_attempt_at > clock.now()
        db.session.remove()


def test_a_slow_batch_keeps_its_lease(client, world, legal, sender, app, broker_off, monkeypatch):
    org, key = legal
    for n in range(8):
        _customer(client, key, f"C{n}", f"c{n}@salon.example")
    _announce(client, world, org, key)
    monkeypatch.setitem(app.config, "OUTBOX_LEASE_SECONDS", 1)
    expired_seen = []

    def slow(message):
        time.sleep(0.2)
        expired = db.session.scalar(
            select(func.count())
            .where(Delivery.status == "pending")
            .where(Delivery.lease_until < clock.now())
        )
        expired_seen.append(expired)

    sender.hook = slow
    with app.app_context():
        item_id = db.session.scalars(select(OutboxItem.id)).one()
        batches: list[list[int]] = []
        assert mail_delivery.process_item(item_id, on_chunk=batches.append)
        assert mail_delivery.send_batch(batches[0]) == {"sent": 8, "retry": 0, "failed": 0}
        db.session.remove()
    # 8 x 0.2 s is longer than the lease: without renewal the sweep would hand the rest of
    # the batch to another worker, which would send it a second time.
    assert expired_seen == [0] * 8


class Unreachables:
    def __init__(self) -> None:
        self.calls = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def send(self, message):
        self.calls += 1
        raise Unreachable("cannot connect to 127.0.0.1:1: [Errno 111] Connection refused")


def test_an_unreachable_server_is_tried_once_per_batch(client, world, legal, app, broker_off):
    org, key = legal
    for n in range(5):
        _customer(client, key, f"C{n}", f"c{n}@salon.example")
    _announce(client, world, org, key)
    down = Unreachables()
    mail_delivery.use_sender(lambda: down)
    try:
        with app.app_context():
            item_id = db.session.scalars(select(OutboxItem.id)).one()
            batches: list[list[int]] = []
            mail_delivery.process_item(item_id, on_chunk=batches.append)
            assert mail_delivery.send_batch(batches[0]) == {"sent": 0, "retry": 5, "failed": 0}
            rows = db.session.scalars(select(Delivery)).all()
            assert {(d.status, d.attempts) for d in rows} == {("pending", 1)}
            assert all("Connection refused" in d.last_response for d in rows)
            db.session.remove()
    finally:
        mail_delivery.use_sender(None)
    assert down.calls == 1


def test_a_second_worker_on_an_expanded_chunk_stops(client, world, legal, app, broker_off):
    """Two workers on one row (the first one's lease expired): the chunk the first one
    expanded is not expanded again, and the second one gives up."""
    org, key = legal
    for n in range(3):
        _customer(client, key, f"C{n}", f"c{n}@salon.example")
    _announce(client, world, org, key)
    with app.app_context():
        item = db.session.scalars(select(OutboxItem)).one()
        stale = item.cursor
        assert outbox.expand_chunk(item, 500)
        db.session.commit()
        moved = db.session.get(OutboxItem, item.id).cursor
        # The second worker read the row before the first one moved its cursor.
        attributes.set_committed_value(item, "cursor", stale)
        with pytest.raises(outbox.LeaseLost):
            outbox.expand_chunk(item, 500)
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Delivery)) == 3
        assert db.session.get(OutboxItem, item.id).cursor == moved
        db.session.remove()


def test_an_expansion_error_is_recorded_and_backs_off(client, world, legal, app, broker_off):
    org, key = legal
    _customer(client, key, "A", "a@salon.example")
    _announce(client, world, org, key)
    with app.app_context():
        item = db.session.scalars(select(OutboxItem)).one()
        item.topic = "no.such.topic"
        db.session.commit()
        with pytest.raises(KeyError):
            mail_delivery.process_item(item.id)
        item = db.session.get(OutboxItem, item.id)
        assert item.status == "pending"
        assert item.lease_until is None
        assert "KeyError" in item.last_error
        assert item.available_at > clock.now()
        assert outbox.claim_item(item.id) is None  # not before the backoff
        db.session.remove()


def test_customers_without_contact_address_are_a_gap_and_alert_legal(
    client, world, legal, sender, app
):
    org, key = legal
    _customer(client, key, "A", "a@salon.example")
    _customer(client, key, "B")
    _customer(client, key, "C")
    change = _announce(client, world, org, key)
    alerts = [m for m in sender.sent if m["To"].addresses[0].addr_spec == "dpo@bookero.example"]
    assert len(alerts) == 1
    text = alerts[0].get_body(("plain",)).get_content()
    assert "Salon B, Salon C" in text
    assert "no contact e-mail address" in text
    listed = client.get(f"/api/v1/orgs/bookero/changes/{change['id']}/notices", headers=key)
    gaps = [n["customer"]["external_ref"] for n in listed.json["items"] if not n["delivered_at"]]
    assert gaps == ["B", "C"]
