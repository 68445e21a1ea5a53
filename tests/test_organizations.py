from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from service.audit import services as audit
from service.audit.models import AuditEvent
from service.extensions import db
from service.organizations.models import Organization
from tests.conftest import bearer


def new_org(**overrides: object) -> dict:
    body = {
        "slug": "salonowo",
        "legal_name": "Salonowo sp. z o.o.",
        "country": "PL",
        "contact_email": "kontakt@salonowo.example",
    }
    body.update(overrides)
    return body


@pytest.fixture
def admin(world) -> dict:
    return bearer(world.key("admin"))


def audit_items(client, slug: str, headers: dict, **filters: str) -> list[dict]:
    response = client.get(
        f"/api/v1/orgs/{slug}/audit", query_string={"per_page": 500, **filters}, headers=headers
    )
    assert response.status_code == 200
    return response.json["items"]


# --- read -------------------------------------------------------------------------------


def test_get_organization_is_public(client, org):
    response = client.get("/api/v1/orgs/bookero")
    assert response.status_code == 200
    body = response.json
    assert body["id"] == org["id"]
    assert body["slug"] == "bookero"
    assert body["legal_name"] == "bookero sp. z o.o."
    assert body["country"] == "PL"
    assert body["timezone"] == "Europe/Warsaw"
    assert body["default_notice_days"] == 30
    assert body["default_objection_days"] == 14
    assert body["residency_policy"] == "none"
    assert [s["slug"] for s in body["services"]] == ["bookings", "payments"]


def test_unknown_organization_is_404_problem(client):
    response = client.get("/api/v1/orgs/nobody")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.json["status"] == 404


def test_key_of_another_org_does_not_see_this_one(client, world, org):
    other = world.org("bezkalkulatora")
    other_legal = bearer(world.key("legal", other))
    assert client.get("/api/v1/orgs/bookero", headers=other_legal).status_code == 404
    assert client.get("/api/v1/orgs/bookero/services", headers=other_legal).status_code == 404
    assert client.get("/api/v1/orgs/bezkalkulatora", headers=other_legal).status_code == 200


# --- edit -------------------------------------------------------------------------------


def test_patch_by_legal_key_is_applied_and_audited(client, org, legal):
    response = client.patch(
        "/api/v1/orgs/bookero",
        json={
            "timezone": "America/New_York",
            "residency_policy": "eea_only",
            "default_notice_days": 45,
            "dpo_email": "dpo@bookero.example",
        },
        headers=legal,
    )
    assert response.status_code == 200, response.json
    body = response.json
    assert body["timezone"] == "America/New_York"
    assert body["residency_policy"] == "eea_only"
    assert body["default_notice_days"] == 45
    assert body["dpo_email"] == "dpo@bookero.example"
    assert body["legal_name"] == "bookero sp. z o.o."
    assert client.get("/api/v1/orgs/bookero").json == body

    updates = audit_items(client, "bookero", legal, action="organization.updated")
    assert len(updates) == 1
    event = updates[0]
    assert event["actor"].startswith("legal:")
    assert event["entity_id"] == str(org["id"])
    assert event["before"] == {
        "timezone": "Europe/Warsaw",
        "residency_policy": "none",
        "default_notice_days": 30,
        "dpo_email": None,
    }
    assert event["after"] == {
        "timezone": "America/New_York",
        "residency_policy": "eea_only",
        "default_notice_days": 45,
        "dpo_email": "dpo@bookero.example",
    }
    assert client.get("/api/v1/orgs/bookero/audit/verification", headers=legal).json["ok"]


def test_patch_without_change_records_nothing(client, org, legal):
    response = client.patch(
        "/api/v1/orgs/bookero", json={"timezone": "Europe/Warsaw"}, headers=legal
    )
    assert response.status_code == 200
    assert audit_items(client, "bookero", legal, action="organization.updated") == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"timezone": "CEST"}, "timezone"),
        ({"timezone": None}, "timezone"),
        ({"residency_policy": "eu_mostly"}, "residency_policy"),
        ({"default_notice_days": -1}, "default_notice_days"),
        ({"default_objection_days": -5}, "default_objection_days"),
        ({"default_notice_days": 366}, "default_notice_days"),
        ({"country": "XX"}, "country"),
        ({"contact_email": "nobody"}, "contact_email"),
        ({"legal_name": ""}, "legal_name"),
        ({"legal_name": None}, "legal_name"),
        ({"slug": "renamed"}, "slug"),
    ],
)
def test_patch_validation(client, org, legal, body, field):
    response = client.patch("/api/v1/orgs/bookero", json=body, headers=legal)
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"]
    assert client.get("/api/v1/orgs/bookero").json["timezone"] == "Europe/Warsaw"


def test_patch_needs_this_organizations_legal_key(client, world, org, legal):
    body = {"legal_name": "Taken over"}
    assert client.patch("/api/v1/orgs/bookero", json=body).status_code == 401
    other = world.org("bezkalkulatora")
    other_legal = bearer(world.key("legal", other))
    assert client.patch("/api/v1/orgs/bookero", json=body, headers=other_legal).status_code == 404
    customer = client.post(
        "/api/v1/orgs/bookero/customers",
        json={"external_ref": "c1", "name": "Salon"},
        headers=legal,
    ).json
    customer_key = bearer(world.key("customer", org, customer["id"]))
    assert client.patch("/api/v1/orgs/bookero", json=body, headers=customer_key).status_code == 403
    assert client.get("/api/v1/orgs/bookero").json["legal_name"] == "bookero sp. z o.o."


# --- create -----------------------------------------------------------------------------


def test_create_organization_needs_an_admin_key(app, client, org, legal):
    assert client.post("/api/v1/orgs", json=new_org()).status_code == 401
    assert client.post("/api/v1/orgs", json=new_org(), headers=legal).status_code == 403
    with app.app_context():
        assert (
            db.session.scalar(select(Organization).where(Organization.slug == "salonowo")) is None
        )


def test_admin_creates_organization_audited_in_both_chains(app, client, admin):
    response = client.post(
        "/api/v1/orgs",
        json=new_org(timezone="Europe/Lisbon", residency_policy="eu_only"),
        headers=admin,
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert body["slug"] == "salonowo"
    assert body["timezone"] == "Europe/Lisbon"
    assert body["residency_policy"] == "eu_only"
    assert body["default_notice_days"] == 30
    assert body["services"] == []
    assert client.get("/api/v1/orgs/salonowo").json["id"] == body["id"]

    events = audit_items(client, "salonowo", admin)
    assert [e["action"] for e in events] == ["organization.created"]
    assert events[0]["actor"].startswith("admin:")
    assert events[0]["after"]["slug"] == "salonowo"
    with app.app_context():
        deployment = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.organization_id == audit.DEPLOYMENT_CHAIN,
                AuditEvent.action == "organization.created",
            )
        ).all()
        assert [e.entity_id for e in deployment] == [str(body["id"])]
        assert all(r.ok for r in audit.verify_all())


def test_duplicate_slug_is_409(client, org, admin):
    response = client.post("/api/v1/orgs", json=new_org(slug="bookero"), headers=admin)
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert "slug" in response.json["errors"]
    assert client.get("/api/v1/orgs/bookero").json["legal_name"] == "bookero sp. z o.o."


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (new_org(slug="Bad Slug"), "slug"),
        (new_org(slug="-leading"), "slug"),
        (new_org(slug="trailing-"), "slug"),
        (new_org(slug="x" * 64), "slug"),
        (new_org(country="Poland"), "country"),
        (new_org(timezone="Nowhere/Else"), "timezone"),
        ({"slug": "no-name"}, "legal_name"),
    ],
)
def test_create_validation(client, admin, body, field):
    response = client.post("/api/v1/orgs", json=body, headers=admin)
    assert response.status_code == 422
    assert field in response.json["errors"]


# --- services ---------------------------------------------------------------------------


def test_services_list_is_public_and_legal_adds(client, world, org, legal):
    listed = client.get("/api/v1/orgs/bookero/services")
    assert listed.status_code == 200
    assert listed.json["total"] == 2
    assert [s["slug"] for s in listed.json["items"]] == ["bookings", "payments"]

    body = {"slug": "chat", "name_pl": "Czat", "name_en": "Chat"}
    response = client.post("/api/v1/orgs/bookero/services", json=body, headers=legal)
    assert response.status_code == 201
    assert response.json["slug"] == "chat"
    assert isinstance(response.json["id"], int)
    listed = client.get("/api/v1/orgs/bookero/services").json
    assert [s["slug"] for s in listed["items"]] == ["bookings", "chat", "payments"]
    assert listed["total"] == 3

    events = audit_items(client, "bookero", legal, action="service.created")
    assert [e["after"]["slug"] for e in events] == ["chat", "payments", "bookings"]
    assert client.get("/api/v1/orgs/bookero/audit/verification", headers=legal).json["ok"]

    again = client.post("/api/v1/orgs/bookero/services", json=body, headers=legal)
    assert again.status_code == 409
    # Same slug in another organization is fine.
    other = world.org("bezkalkulatora")
    other_legal = bearer(world.key("legal", other))
    assert (
        client.post(
            "/api/v1/orgs/bezkalkulatora/services", json=body, headers=other_legal
        ).status_code
        == 201
    )


def test_service_creation_rules(client, world, org, legal):
    body = {"slug": "chat", "name_pl": "Czat", "name_en": "Chat"}
    assert client.post("/api/v1/orgs/bookero/services", json=body).status_code == 401
    other = world.org("bezkalkulatora")
    other_legal = bearer(world.key("legal", other))
    assert (
        client.post("/api/v1/orgs/bookero/services", json=body, headers=other_legal).status_code
        == 404
    )
    bad = client.post(
        "/api/v1/orgs/bookero/services", json={**body, "slug": "Czat Online"}, headers=legal
    )
    assert bad.status_code == 422
    assert "slug" in bad.json["errors"]
    missing = client.post("/api/v1/orgs/bookero/services", json={"slug": "x"}, headers=legal)
    assert set(missing.json["errors"]) == {"name_pl", "name_en"}
    assert client.get("/api/v1/orgs/bookero/services").json["total"] == 2


# --- the audit trail --------------------------------------------------------------------


def test_every_write_leaves_one_audit_event_and_the_chain_verifies(app, client, world, org):
    legal = bearer(world.key("legal", org))

    def actions() -> list[str]:
        return [e["action"] for e in reversed(audit_items(client, "bookero", legal))]

    seen = actions()
    writes = [
        (
            lambda: client.patch("/api/v1/orgs/bookero", json={"dpo_name": "A"}, headers=legal),
            "organization.updated",
        ),
        (
            lambda: client.post(
                "/api/v1/orgs/bookero/services",
                json={"slug": "chat", "name_pl": "Czat", "name_en": "Chat"},
                headers=legal,
            ),
            "service.created",
        ),
        (
            lambda: client.post(
                "/api/v1/orgs/bookero/customers",
                json={"external_ref": "c1", "name": "Salon"},
                headers=legal,
            ),
            "customer.created",
        ),
        (
            lambda: client.patch(
                "/api/v1/orgs/bookero/customers/1", json={"name": "Salon 2"}, headers=legal
            ),
            "customer.edited",
        ),
    ]
    for write, action in writes:
        response = write()
        assert response.status_code in (200, 201), response.json
        now = actions()
        assert now == [*seen, action]
        seen = now
    report = client.get("/api/v1/orgs/bookero/audit/verification", headers=legal).json
    assert report == {"ok": True, "events": len(seen), "problem": None, "first_bad_seq": None}
    with app.app_context():
        assert all(r.ok for r in audit.verify_all())


def test_audit_list_is_newest_first_paged_and_filtered(client, world, org, legal):
    for n in range(3):
        client.patch("/api/v1/orgs/bookero", json={"default_notice_days": 31 + n}, headers=legal)
    everything = audit_items(client, "bookero", legal)
    seqs = [e["seq"] for e in everything]
    assert seqs == sorted(seqs, reverse=True)
    assert seqs[-1] == 1
    # Each event links to the one before it.
    for newer, older in itertools.pairwise(everything):
        assert newer["prev_hash"] == older["hash"]
    assert everything[-1]["prev_hash"] == ""

    page = client.get(
        "/api/v1/orgs/bookero/audit", query_string={"per_page": 2, "page": 2}, headers=legal
    ).json
    assert page["total"] == len(everything)
    assert [e["seq"] for e in page["items"]] == seqs[2:4]

    updates = audit_items(client, "bookero", legal, action="organization.updated")
    assert [e["after"]["default_notice_days"] for e in updates] == [33, 32, 31]
    by_entity = audit_items(
        client, "bookero", legal, entity_type="organization", entity_id=str(org["id"])
    )
    assert {e["action"] for e in by_entity} == {"organization.created", "organization.updated"}
    assert audit_items(client, "bookero", legal, actor="nobody") == []


def test_audit_trail_is_for_legal_staff_of_that_org_only(client, world, org, legal):
    customer = client.post(
        "/api/v1/orgs/bookero/customers",
        json={"external_ref": "c1", "name": "Salon"},
        headers=legal,
    ).json
    customer_key = bearer(world.key("customer", org, customer["id"]))
    other = world.org("bezkalkulatora")
    other_legal = bearer(world.key("legal", other))
    for path in ("/api/v1/orgs/bookero/audit", "/api/v1/orgs/bookero/audit/verification"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers=customer_key).status_code == 403
        assert client.get(path, headers=other_legal).status_code == 404
    # The other organization's trail does not contain this one's events.
    theirs = audit_items(client, "bezkalkulatora", other_legal)
    assert all(
        e["entity_id"] != str(customer["id"]) or e["entity_type"] != "customer" for e in theirs
    )
