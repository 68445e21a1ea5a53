"""Notices, objections and consents (GDPR Art. 28(2)): the scripted scenario of the issue."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from service.extensions import db
from tests.conftest import bearer, vendor


class Scenario:
    def __init__(self, client, world):
        self.client, self.world = client, world
        self.org = world.org("bookero")
        self.legal = bearer(world.key("legal", self.org))
        self.customers: dict[str, dict] = {}

    def url(self, path: str) -> str:
        return f"/api/v1/orgs/bookero{path}"

    def customer(
        self, ref: str, *, authorisation="general", notice_days=30, services=("bookings",)
    ):
        response = self.client.post(
            self.url("/customers"),
            json={
                "external_ref": ref,
                "name": f"Salon {ref}",
                "services": list(services),
                "contacts": [{"email": f"{ref.lower()}@salon.example", "locale": "pl"}],
                "agreement": {"authorisation": authorisation, "notice_days": notice_days},
            },
            headers=self.legal,
        )
        assert response.status_code == 201, response.json
        customer = response.json
        customer["key"] = bearer(self.world.key("customer", self.org, customer["id"]))
        self.customers[ref] = customer
        return customer

    def vendor(self, **overrides) -> dict:
        response = self.client.post(
            self.url("/subprocessors"), json=vendor(**overrides), headers=self.legal
        )
        assert response.status_code == 201, response.json
        return response.json

    def announce(self, **body):
        return self.client.post(self.url("/changes"), json=body, headers=self.legal)

    def list_of(self, ref: str, as_of: str) -> set[str]:
        customer = self.customers[ref]
        response = self.client.get(
            self.url(f"/customers/{customer['id']}/subprocessors"),
            query_string={"as_of": as_of},
            headers=customer["key"],
        )
        assert response.status_code == 200, response.json
        return {item["name"] for item in response.json["items"]}

    def notices(self, ref: str) -> list[dict]:
        customer = self.customers[ref]
        response = self.client.get(
            self.url(f"/customers/{customer['id']}/notices"), headers=customer["key"]
        )
        assert response.status_code == 200
        return response.json["items"]


@pytest.fixture
def scenario(client, world) -> Scenario:
    s = Scenario(client, world)
    s.customer("C7", notice_days=7)
    s.customer("C14", notice_days=14)
    s.customer("C30", notice_days=30)
    s.customer("SPEC", authorisation="specific", notice_days=30)
    s.customer("PAY", notice_days=60, services=("payments",))
    return s


def test_the_issue_scenario(scenario, world, app):
    s = scenario
    mailer = s.vendor(name="Mailer", services=["bookings"])

    # 20 days' notice is refused, naming the customer owed 30 (not the payments-only one).
    refused = s.announce(kind="add", recipient_id=mailer["id"], effective_on=world.day(s.org, 20))
    assert refused.status_code == 422
    short = refused.json["customers_short_of_notice"]
    assert [c["external_ref"] for c in short] == ["C30"]
    assert refused.json["earliest_allowed"] == world.day(s.org, 30)
    assert "effective_on" in refused.json["errors"]
    assert s.client.get(s.url("/changes")).json["total"] == 0  # nothing half-written

    effective = world.day(s.org, 31)
    created = s.announce(kind="add", recipient_id=mailer["id"], effective_on=effective)
    assert created.status_code == 201, created.json
    change_id = created.json["id"]

    # One notice per affected customer; the payments-only customer is not concerned.
    notified = s.client.get(s.url(f"/changes/{change_id}/notices"), headers=s.legal).json
    by_ref = {n["customer"]["external_ref"]: n for n in notified["items"]}
    assert set(by_ref) == {"C7", "C14", "C30", "SPEC"}
    assert by_ref["SPEC"]["response"] == "consent"
    assert by_ref["C14"]["response"] == "objection"
    assert by_ref["C14"]["objection_deadline"]

    # The 14-day customer objects in time.
    objection = s.client.post(
        s.url(f"/changes/{change_id}/objections"),
        json={"reason": "Data must stay with our current mailer"},
        headers=s.customers["C14"]["key"],
    )
    assert objection.status_code == 201, objection.json
    assert objection.json["status"] == "open"

    # A late objection is refused: move C7's deadline into the past.
    with app.app_context():
        db.session.execute(
            text("UPDATE notices SET objection_deadline = :past WHERE id = :id"),
            {"past": datetime.now(UTC) - timedelta(minutes=1), "id": by_ref["C7"]["id"]},
        )
        db.session.commit()
    late = s.client.post(
        s.url(f"/changes/{change_id}/objections"), json={}, headers=s.customers["C7"]["key"]
    )
    assert late.status_code == 409
    assert late.mimetype == "application/problem+json"

    # Legal staff see the objection and resolve it by the customer's remedy (exclude).
    open_ones = s.client.get(
        s.url("/objections"), query_string={"status": "open"}, headers=s.legal
    ).json
    assert [o["customer"]["external_ref"] for o in open_ones["items"]] == ["C14"]
    resolved = s.client.post(
        s.url(f"/objections/{objection.json['id']}/resolution"),
        json={"note": "Mailer is not used for C14's bookings"},
        headers=s.legal,
    )
    assert resolved.status_code == 200, resolved.json
    assert resolved.json["resolution"] == "excluded"

    before = (date.fromisoformat(effective) - timedelta(days=1)).isoformat()
    for ref in ("C7", "C14", "C30", "SPEC"):
        assert "Mailer" not in s.list_of(ref, before)
    assert "Mailer" in s.list_of("C7", effective)
    assert "Mailer" in s.list_of("C30", effective)
    assert "Mailer" not in s.list_of("C14", effective)  # excluded after its objection
    assert "Mailer" not in s.list_of("SPEC", effective)  # no consent yet
    assert "Mailer" not in s.list_of("PAY", effective)  # another service

    consent = s.client.post(
        s.url(f"/changes/{change_id}/consents"),
        json={"decision": "consent"},
        headers=s.customers["SPEC"]["key"],
    )
    assert consent.status_code == 201, consent.json
    assert "Mailer" in s.list_of("SPEC", effective)


def test_a_mail_scanner_following_the_link_files_nothing(scenario, world, client):
    s = scenario
    mailer = s.vendor(name="Mailer")
    change = s.announce(kind="add", recipient_id=mailer["id"], effective_on=world.day(s.org, 61))
    assert change.status_code == 201, change.json
    link = next(n for n in s.notices("C30") if n["change_id"] == change.json["id"])["answer_url"]
    path = link.split("://", 1)[1].split("/", 1)[1]

    page = client.get("/" + path)
    assert page.status_code == 200
    assert '<form method="post">' in page.get_data(as_text=True)
    assert client.get(s.url("/objections"), headers=s.legal).json["total"] == 0

    filed = client.post("/" + path, data={"decision": "object", "reason": "<b>no</b>"})
    assert filed.status_code == 200
    objections = client.get(s.url("/objections"), headers=s.legal).json["items"]
    assert [(o["channel"], o["reason"]) for o in objections] == [("link", "<b>no</b>")]
    # The link cannot be used twice, and the page escapes what customers typed.
    again = client.post("/" + path, data={"decision": "object"})
    assert again.status_code == 409
    assert "<b>no</b>" not in again.get_data(as_text=True)


def test_a_link_for_one_organization_does_not_work_for_another(scenario, world, client):
    s = scenario
    world.org("other")
    mailer = s.vendor(name="Mailer")
    s.announce(kind="add", recipient_id=mailer["id"], effective_on=world.day(s.org, 61))
    link = s.notices("C30")[0]["answer_url"]
    token = link.rsplit("/", 1)[1]
    assert client.get(f"/orgs/other/answers/{token}").status_code == 404
    assert client.get(f"/orgs/bookero/answers/{token[:-2]}xx").status_code == 404


def test_urgent_change_needs_an_emergency_clause_and_never_replaces_consent(scenario, world):
    s = scenario
    mailer = s.vendor(name="Mailer")
    body = {
        "kind": "add",
        "recipient_id": mailer["id"],
        "effective_on": world.day(s.org, 2),
        "urgent": True,
        "urgent_justification": "Current mailer shut down",
    }
    # No agreement has an emergency-replacement clause: urgency shortens nobody's notice,
    # and the announcement is refused naming every general customer short of it.
    refused = s.announce(**body)
    assert refused.status_code == 422, refused.json
    short = {c["external_ref"] for c in refused.json["customers_short_of_notice"]}
    assert short == {"C7", "C14", "C30", "PAY"}
    for ref in ("C7", "C14", "C30", "PAY"):
        patched = s.client.patch(
            s.url(f"/customers/{s.customers[ref]['id']}"),
            json={"agreement": {"emergency_clause": True, "emergency_notice_days": 1}},
            headers=s.legal,
        )
        assert patched.status_code == 200, patched.json
    urgent = s.announce(**body)
    assert urgent.status_code == 201, urgent.json
    listed = s.client.get(s.url("/changes"), query_string={"urgent": "true"}).json
    assert [c["id"] for c in listed["items"]] == [urgent.json["id"]]
    in_effect = world.day(s.org, 2)
    assert "Mailer" in s.list_of("C30", in_effect)
    assert "Mailer" not in s.list_of("SPEC", in_effect)


def test_withdrawal_marks_notices_and_voids_answers(scenario, world):
    s = scenario
    mailer = s.vendor(name="Mailer", services=["bookings"])
    change = s.announce(kind="add", recipient_id=mailer["id"], effective_on=world.day(s.org, 40))
    change_id = change.json["id"]
    s.client.post(
        s.url(f"/changes/{change_id}/objections"), json={}, headers=s.customers["C14"]["key"]
    )
    withdrawn = s.client.post(
        s.url(f"/changes/{change_id}/withdraw"), json={"reason": "Plans changed"}, headers=s.legal
    )
    assert withdrawn.status_code == 200
    notices = s.client.get(s.url(f"/changes/{change_id}/notices"), headers=s.legal).json["items"]
    assert notices
    assert all(n["withdrawn_at"] for n in notices)
    assert all(n["answer_url"] is None for n in notices)
    objections = s.client.get(s.url("/objections"), headers=s.legal).json["items"]
    assert [o["status"] for o in objections] == ["void"]
    late = s.client.post(
        s.url(f"/changes/{change_id}/objections"), json={}, headers=s.customers["C7"]["key"]
    )
    assert late.status_code == 409


def test_a_removal_is_announced_for_information_only(scenario, world):
    s = scenario
    mailer = s.vendor(name="Mailer", services=["bookings"])
    s.announce(kind="add", recipient_id=mailer["id"], effective_on=world.day(s.org, 31))
    removal = s.announce(
        kind="remove", recipient_id=mailer["id"], effective_on=world.day(s.org, 32)
    )
    assert removal.status_code == 201, removal.json
    notices = s.client.get(s.url(f"/changes/{removal.json['id']}/notices"), headers=s.legal).json[
        "items"
    ]
    assert {n["response"] for n in notices} == {"none"}
    objection = s.client.post(
        s.url(f"/changes/{removal.json['id']}/objections"),
        json={},
        headers=s.customers["C7"]["key"],
    )
    assert objection.status_code == 409


def test_controller_recipients_are_announced_like_subprocessors(scenario, world):
    """Art. 28(3)(a), 29: a customer's data reaches a controller only on its instruction."""
    s = scenario
    payments = s.vendor(name="Payments Ltd", role="independent_controller")
    # The notice period is owed as for a subprocessor.
    short = s.announce(kind="add", recipient_id=payments["id"], effective_on=world.day(s.org, 3))
    assert short.status_code == 422
    change = s.announce(kind="add", recipient_id=payments["id"], effective_on=world.day(s.org, 61))
    assert change.status_code == 201, change.json
    notices = s.client.get(s.url(f"/changes/{change.json['id']}/notices"), headers=s.legal).json
    responses = {n["customer"]["external_ref"]: n["response"] for n in notices["items"]}
    assert responses == {
        "C7": "objection",
        "C14": "objection",
        "C30": "objection",
        "PAY": "objection",
        "SPEC": "consent",
    }
    assert "Payments Ltd" not in s.list_of("SPEC", world.day(s.org, 61))
    assert "Payments Ltd" in s.list_of("C30", world.day(s.org, 61))
