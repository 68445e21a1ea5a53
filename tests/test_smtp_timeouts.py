"""A real SMTP server that hangs: the send times out, is retried with backoff, and the
notice is delivered once the server answers again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from service import clock
from service.changes.models import Notice
from service.extensions import db
from service.mail.delivery import drain
from service.outbox.models import Delivery
from tests.conftest import vendor
from tests.test_delivery_real import SmtpSink, _free_port

pytestmark = pytest.mark.delivery


@pytest.fixture
def hanging_smtp(app, monkeypatch):
    sink = SmtpSink(_free_port(), stall=3.0)
    sink.start()
    for name, value in (
        ("MAIL_BACKEND", "smtp"),
        ("SMTP_HOST", "127.0.0.1"),
        ("SMTP_PORT", sink.port),
        ("SMTP_TIMEOUT_SECONDS", 1.0),
    ):
        monkeypatch.setitem(app.config, name, value)
    yield sink
    sink.stop()


def test_a_hanging_server_times_out_and_the_notice_is_delivered_later(
    app, client, world, org, legal, hanging_smtp
):
    customer = client.post(
        "/api/v1/orgs/bookero/customers",
        json={
            "external_ref": "C1",
            "name": "Salon",
            "contacts": [{"email": "owner@salon.example", "locale": "pl"}],
            "agreement": {"notice_days": 7},
        },
        headers=legal,
    ).json
    vendor_id = client.post(
        "/api/v1/orgs/bookero/subprocessors", json=vendor(), headers=legal
    ).json["id"]
    announced = client.post(
        "/api/v1/orgs/bookero/changes",
        json={"kind": "add", "recipient_id": vendor_id, "effective_on": world.day(org, 10)},
        headers=legal,
    )
    assert announced.status_code == 201  # the request never waits for the mail server

    with app.app_context():
        delivery = db.session.scalars(select(Delivery)).one()
        assert delivery.status == "pending"
        assert delivery.attempts == 1
        assert "timed out" in (delivery.last_response or "").lower()
        assert delivery.next_attempt_at > clock.now()  # backoff, not an immediate retry
        notice = db.session.scalars(
            select(Notice).where(Notice.customer_id == customer["id"])
        ).one()
        assert notice.delivered_at is None  # a timeout is not proof of notice

        hanging_smtp.stall = 0.0
        db.session.execute(
            update(Delivery).values(next_attempt_at=clock.now() - timedelta(seconds=1))
        )
        db.session.commit()
        drain()
        delivery = db.session.get(Delivery, delivery.id)
        assert delivery.status == "sent"
        assert delivery.last_response.startswith("250")
        assert db.session.get(Notice, notice.id).delivered_at is not None
    # The hung transaction may still have been queued by the server: at-least-once, so the
    # same Message-ID at most twice, and at least once.
    received = [m.parsed()["Message-ID"] for m in hanging_smtp.snapshot()]
    assert received
    assert set(received) == {delivery.message_id}
    assert len(received) <= 2
