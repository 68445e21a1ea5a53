"""Webhooks: registration (public HTTPS only, secret shown once and encrypted at rest),
signed JSON notices to a real local HTTP server, retries, disabling with an alert, the
address check repeated at send time, and access between customers and organizations."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from service.extensions import db
from service.mail import delivery as mail_delivery
from service.mail.senders import MemorySender
from service.outbox.models import Delivery
from service.webhooks import endpoints, secrets
from service.webhooks.models import Webhook
from tests.conftest import bearer, vendor


class Receiver:
    """A real HTTP server on 127.0.0.1 that records every request and answers `status`."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 204
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}/hooks/dpa?source=registry"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    server.thread.join(timeout=5)


@pytest.fixture
def allow_private(app, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE", True)


@pytest.fixture
def mailbox() -> Iterator[MemorySender]:
    sender = MemorySender()
    mail_delivery.use_sender(lambda: sender)
    yield sender
    mail_delivery.use_sender(None)


@pytest.fixture
def desk(client, world):
    """bookero with two customers, their keys and a legal key."""
    org = world.org("bookero", legal_contact_email="dpo@bookero.example")
    legal = bearer(world.key("legal", org))
    ids = []
    for n in (1, 2):
        body = {
            "external_ref": f"C{n}",
            "name": f"Salon {n}",
            "services": ["bookings"],
            "contacts": [{"email": f"c{n}@salon.example", "locale": "en"}],
            "agreement": {"notice_days": 14},
        }
        created = client.post("/api/v1/orgs/bookero/customers", json=body, headers=legal)
        assert created.status_code == 201, created.json
        ids.append(created.json["id"])
    keys = [bearer(world.key("customer", org, customer_id=i)) for i in ids]
    return {"org": org, "legal": legal, "customers": ids, "keys": keys}


def hooks_url(customer_id: int) -> str:
    return f"/api/v1/orgs/bookero/customers/{customer_id}/webhooks"


def register(client, desk, url: str, n: int = 0):
    return client.post(hooks_url(desk["customers"][n]), json={"url": url}, headers=desk["keys"][n])


def announce(client, world, desk, name: str = "Pocztex") -> dict:
    legal = desk["legal"]
    created = client.post(
        "/api/v1/orgs/bookero/subprocessors", json=vendor(name=name), headers=legal
    ).json
    change = client.post(
        "/api/v1/orgs/bookero/changes",
        json={
            "kind": "add",
            "recipient_id": created["id"],
            "effective_on": world.day(desk["org"], 30),
        },
        headers=legal,
    )
    assert change.status_code == 201, change.json
    return change.json


def verify(secret: str, headers: dict, body: bytes, tolerance: int = 300) -> bool:
    """What a receiver does (the recipe in docs/webhooks.md): HMAC-SHA256 over `timestamp.body`."""
    timestamp = headers["X-DPA-Timestamp"]
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    fresh = abs(time.time() - int(timestamp)) <= tolerance
    return fresh and hmac.compare_digest("sha256=" + mac.hexdigest(), headers["X-DPA-Signature"])


# --- registration ----------------------------------------------------------------------------


def test_the_secret_is_shown_once_and_stored_encrypted(client, desk, receiver, allow_private, app):
    created = register(client, desk, receiver.url())
    assert created.status_code == 201, created.json
    secret = created.json["secret"]
    assert secret.startswith("whsec_")
    assert len(secret) > 40
    assert created.json["status"] == "active"

    listed = client.get(hooks_url(desk["customers"][0]), headers=desk["keys"][0])
    assert listed.status_code == 200
    assert listed.json["total"] == 1
    assert "secret" not in listed.json["items"][0]
    assert secret not in listed.get_data(as_text=True)

    with app.app_context():
        stored = db.session.scalars(select(Webhook)).one()
        assert secret not in stored.secret_encrypted
        assert secrets.decrypt(stored.secret_encrypted) == secret
        # Nothing else in the database holds it either (the audit trail names the URL only).
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(select(table)).mappings():
                assert secret not in str(dict(row)), table.name


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "https://127.0.0.1/hook",
        "https://10.0.0.1/hook",
        "https://192.168.1.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://localhost/hook",
        "https://user:pass@localhost/hook",
        "ftp://example.org/hook",
        "https:///nohost",
        "https://exa mple.org/hook",
    ],
)
def test_private_and_malformed_endpoints_are_refused(client, desk, url):
    response = register(client, desk, url)
    assert response.status_code == 422, response.json
    assert "url" in response.json["errors"]


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),  # noqa: S104 - an address to classify, not to bind
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:10.0.0.1", False),
        ("ff02::1", False),
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
    ],
)
def test_address_classes(address, public):
    assert endpoints.is_public(address) is public


def test_a_customer_sees_only_its_own_webhooks(client, world, desk, receiver, allow_private):
    hook = register(client, desk, receiver.url()).json
    own, other = hooks_url(desk["customers"][0]), desk["keys"][1]
    assert client.get(own, headers=other).status_code == 404
    assert client.post(own, json={"url": receiver.url()}, headers=other).status_code == 404
    assert client.delete(f"{own}/{hook['id']}", headers=other).status_code == 404
    # The other customer's own path does not reach it either.
    theirs = hooks_url(desk["customers"][1])
    assert client.delete(f"{theirs}/{hook['id']}", headers=other).status_code == 404
    assert client.get(own).status_code == 401
    stranger = world.org("other")
    foreign = bearer(world.key("legal", stranger))
    assert client.get(own, headers=foreign).status_code == 404
    assert client.get(own, headers=desk["legal"]).json["total"] == 1
    assert client.get(hooks_url(999), headers=desk["legal"]).status_code == 404


def test_duplicates_and_removal(client, desk, receiver, allow_private):
    hook = register(client, desk, receiver.url()).json
    assert register(client, desk, receiver.url()).status_code == 409
    own = hooks_url(desk["customers"][0])
    assert client.delete(f"{own}/{hook['id']}", headers=desk["legal"]).status_code == 204
    assert client.get(own, headers=desk["keys"][0]).json["total"] == 0
    assert client.delete(f"{own}/{hook['id']}", headers=desk["legal"]).status_code == 404


# --- delivery ----------------------------------------------------------------------------------


def test_notices_are_posted_as_signed_json(
    client, world, desk, receiver, allow_private, mailbox, app
):
    secret = register(client, desk, receiver.url()).json["secret"]
    change = announce(client, world, desk)

    [request] = receiver.requests  # customer 1's webhook only, once
    assert request["path"] == "/hooks/dpa?source=registry"
    headers, body = request["headers"], request["body"]
    assert headers["Content-Type"] == "application/json"
    assert verify(secret, headers, body)
    assert not verify(secret, headers, body + b" ")
    assert not verify("whsec_wrong", headers, body)
    document = json.loads(body)
    assert document["event"] == headers["X-DPA-Event"] == "change.announced"
    assert document["id"] == headers["X-DPA-Delivery"]
    assert document["organization"] == "bookero"
    assert document["change"]["id"] == change["id"]
    assert document["change"]["recipient"]["name"] == "Pocztex"
    notice = document["notice"]
    assert notice["customer_id"] == desk["customers"][0]
    assert notice["response"] == "objection"
    assert "/orgs/bookero/answers/" in notice["answer_url"]

    # E-mail still goes to every contact: the webhook is an extra channel.
    assert sorted(m["To"].addresses[0].addr_spec for m in mailbox.sent) == [
        "c1@salon.example",
        "c2@salon.example",
    ]
    with app.app_context():
        hook = db.session.scalars(select(Delivery).where(Delivery.channel == "webhook")).one()
        assert hook.status == "sent"
        assert hook.notice_id is None
        assert hook.last_response.startswith("HTTP 204")


def test_a_failing_endpoint_is_retried_then_disabled_with_an_alert(
    client, world, desk, receiver, allow_private, mailbox, app, monkeypatch
):
    monkeypatch.setitem(app.config, "WEBHOOK_MAX_FAILURES", 3)
    monkeypatch.setitem(app.config, "MAIL_RETRY_BASE_SECONDS", 0)  # retry at once, in-process
    receiver.status = 500
    hook = register(client, desk, receiver.url()).json
    announce(client, world, desk)

    assert len(receiver.requests) == 3
    with app.app_context():
        stored = db.session.get(Webhook, hook["id"])
        assert stored.status == "disabled"
        assert stored.failures == 3
        assert stored.disabled_at is not None
        delivery = db.session.scalars(select(Delivery).where(Delivery.channel == "webhook")).one()
        assert delivery.status == "failed"
        assert delivery.last_response == "not sent: the webhook is disabled"
    alerts = [m for m in mailbox.sent if m["To"].addresses[0].addr_spec == "dpo@bookero.example"]
    assert len(alerts) == 1
    text = alerts[0].get_body(("plain",)).get_content()
    assert "webhook" in alerts[0]["Subject"].lower()
    assert "Salon 1" in text
    assert receiver.url() in text

    listed = client.get(hooks_url(desk["customers"][0]), headers=desk["keys"][0]).json
    assert listed["items"][0]["status"] == "disabled"
    assert "500" in listed["items"][0]["last_error"]

    # A disabled webhook is not expanded for later notices.
    receiver.requests.clear()
    announce(client, world, desk, name="Second vendor")
    assert receiver.requests == []


def test_a_success_resets_the_failure_count(
    client, world, desk, receiver, allow_private, mailbox, app, monkeypatch
):
    monkeypatch.setitem(app.config, "WEBHOOK_MAX_FAILURES", 3)
    monkeypatch.setitem(app.config, "MAIL_RETRY_BASE_SECONDS", 0)
    hook = register(client, desk, receiver.url()).json
    with app.app_context():
        db.session.get(Webhook, hook["id"]).failures = 2
        db.session.commit()
    announce(client, world, desk)
    with app.app_context():
        stored = db.session.get(Webhook, hook["id"])
        assert (stored.status, stored.failures) == ("active", 0)


def test_the_address_is_checked_again_when_sending(
    client, world, desk, receiver, mailbox, app, monkeypatch
):
    # Registered while private addresses were allowed; "localhost" then stands for a public
    # name that an attacker re-pointed at the loopback (DNS rebinding).
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE", True)
    assert register(client, desk, receiver.url("localhost", "https")).status_code == 201
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE", False)

    announce(client, world, desk)
    assert receiver.requests == []  # never connected
    with app.app_context():
        delivery = db.session.scalars(select(Delivery).where(Delivery.channel == "webhook")).one()
        assert delivery.status == "pending"  # retried later with backoff
        assert "not a public address" in delivery.last_response
        assert db.session.scalars(select(Webhook)).one().failures == 1
    assert len(mailbox.sent) == 2  # the e-mail notices went out regardless
