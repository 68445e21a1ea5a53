from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from service import clock
from service.agreements.models import AgreementVersion
from service.audit.models import AuditEvent
from service.customers.models import Customer, CustomerContact
from service.extensions import db
from tests.conftest import audit_events, bearer

# Calendar dates in this module are literals: it runs at a fixed moment (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("fixed_clock")

# The fallbacks of the terms issue 16 added: no emergency clause, no rejecting objections.
NO_EMERGENCY_CLAUSE = {
    "rejects_unjustified_objections": False,
    "emergency_clause": False,
    "emergency_notice_days": 0,
    "post_hoc_objection_days": 14,
}


def customers_url(org: dict, suffix: str = "") -> str:
    return f"/api/v1/orgs/{org['slug']}/customers{suffix}"


def customer_body(**overrides: object) -> dict:
    body = {
        "external_ref": "salon-1",
        "name": "Salon Urody Anna",
        "started_on": "2024-01-15",
        "services": ["bookings"],
        "contacts": [
            {"email": "anna@salon.example", "name": "Anna", "locale": "pl"},
            {"email": "office@salon.example", "locale": "en"},
        ],
    }
    body.update(overrides)
    return body


def create(client, org: dict, headers: dict, **overrides: object) -> dict:
    response = client.post(customers_url(org), json=customer_body(**overrides), headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def assert_chain_ok(client, org: dict, headers: dict) -> None:
    report = client.get(f"/api/v1/orgs/{org['slug']}/audit/verification", headers=headers).json
    assert report["ok"] is True, report


def add_version(app, org: dict, **fields: object) -> int:
    with app.app_context():
        version = AgreementVersion(
            organization_id=org["id"],
            version=fields.pop("version", "2024.1"),
            language="pl",
            text_sha256="0" * 64,
            effective_on=date(2024, 1, 1),
            published_at=clock.now(),  # a draft cannot be pointed at
            **fields,
        )
        db.session.add(version)
        db.session.commit()
        return version.id


# --- create -----------------------------------------------------------------------------


def test_create_customer_with_contacts_services_and_overrides(client, org, legal):
    body = create(
        client,
        org,
        legal,
        services=["payments", "bookings"],
        agreement={"authorisation": "specific", "notice_days": 45},
    )
    assert body["external_ref"] == "salon-1"
    assert body["name"] == "Salon Urody Anna"
    assert body["started_on"] == "2024-01-15"
    assert body["ended_on"] is None
    assert body["services"] == ["bookings", "payments"]
    assert body["contacts"] == [
        {"email": "anna@salon.example", "name": "Anna", "locale": "pl"},
        {"email": "office@salon.example", "name": "", "locale": "en"},
    ]
    agreement = body["agreement"]
    assert agreement["authorisation"] == "specific"
    assert agreement["notice_days"] == 45
    assert agreement["objection_days"] is None
    # Overrides win; what is not negotiated falls back to the organization's defaults.
    assert agreement["effective"] == {
        "authorisation": "specific",
        "notice_days": 45,
        "objection_days": 14,
        "objection_remedy": "exclude",
        **NO_EMERGENCY_CLAUSE,
    }
    fetched = client.get(customers_url(org, f"/{body['id']}"), headers=legal)
    assert fetched.status_code == 200
    assert fetched.json == body


def test_contact_locale_defaults_to_polish(client, org, legal):
    body = create(client, org, legal, contacts=[{"email": "x@salon.example"}])
    assert body["contacts"] == [{"email": "x@salon.example", "name": "", "locale": "pl"}]


def test_started_on_defaults_to_the_organizations_today(client, world, org, legal):
    body = customer_body()
    del body["started_on"]
    response = client.post(customers_url(org), json=body, headers=legal)
    assert response.status_code == 201
    assert response.json["started_on"] == world.day(org, 0)


def test_effective_terms_fall_back_to_org_defaults_without_agreement(client, world, legal):
    org = world.org("strict", default_notice_days=60, default_objection_days=21)
    headers = bearer(world.key("legal", org))
    body = create(client, org, headers)
    assert body["agreement"]["agreement_version_id"] is None
    assert body["agreement"]["effective"] == {
        "authorisation": "general",
        "notice_days": 60,
        "objection_days": 21,
        "objection_remedy": "exclude",
        **NO_EMERGENCY_CLAUSE,
    }


def test_effective_terms_use_the_accepted_versions_defaults(app, client, org, legal):
    version_id = add_version(app, org, authorisation="specific", notice_days=20, objection_days=10)
    body = create(
        client,
        org,
        legal,
        agreement={"agreement_version_id": version_id, "objection_remedy": "terminate"},
    )
    assert body["agreement"]["agreement_version_id"] == version_id
    assert body["agreement"]["effective"] == {
        "authorisation": "specific",
        "notice_days": 20,
        "objection_days": 10,
        "objection_remedy": "terminate",
        **NO_EMERGENCY_CLAUSE,
    }


def test_agreement_version_of_another_org_is_refused(app, client, world, org, legal):
    other = world.org("bezkalkulatora")
    foreign_version = add_version(app, other)
    for version_id in (foreign_version, 999_999):
        response = client.post(
            customers_url(org),
            json=customer_body(agreement={"agreement_version_id": version_id}),
            headers=legal,
        )
        assert response.status_code == 422
        assert response.mimetype == "application/problem+json"
        assert "agreement_version_id" in response.json["errors"]["agreement"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Customer)) == 0


def test_audit_records_creation_and_chain_verifies(client, org, legal):
    body = create(client, org, legal)
    events = audit_events(client, org, legal, entity_type="customer")
    assert len(events) == 1
    event = events[0]
    assert event["action"] == "customer.created"
    assert event["entity_id"] == str(body["id"])
    assert event["actor"].startswith("legal:")
    assert event["before"] is None
    assert event["after"]["external_ref"] == "salon-1"
    assert event["after"]["services"] == ["bookings"]
    assert_chain_ok(client, org, legal)


# --- validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ended_on": "2024-01-14"}, "ended_on"),
        ({"contacts": [{"email": "not-an-email"}]}, "contacts"),
        ({"contacts": [{"email": "a@x.example"}, {"email": "A@x.example"}]}, "contacts"),
        ({"contacts": [{"email": "a@x.example", "locale": "de"}]}, "contacts"),
        ({"services": ["bookings", "massages"]}, "services"),
        ({"agreement": {"authorisation": "blanket"}}, "agreement"),
        ({"agreement": {"notice_days": -1}}, "agreement"),
        ({"name": ""}, "name"),
        ({"colour": "pink"}, "colour"),
    ],
)
def test_invalid_bodies_are_refused_naming_the_field(app, client, org, legal, overrides, field):
    response = client.post(customers_url(org), json=customer_body(**overrides), headers=legal)
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Customer)) == 0


def test_invalid_email_error_points_at_the_contact(client, org, legal):
    response = client.post(
        customers_url(org),
        json=customer_body(contacts=[{"email": "ok@x.example"}, {"email": "nope"}]),
        headers=legal,
    )
    assert response.status_code == 422
    assert "email" in response.json["errors"]["contacts"]["1"]


def test_unknown_service_names_it(client, org, legal):
    response = client.post(
        customers_url(org), json=customer_body(services=["massages"]), headers=legal
    )
    assert response.status_code == 422
    assert "massages" in " ".join(response.json["errors"]["services"])


def test_service_of_another_org_is_unknown(client, world, org, legal):
    other = world.org("bezkalkulatora")
    other_headers = bearer(world.key("legal", other))
    created = client.post(
        f"/api/v1/orgs/{other['slug']}/services",
        json={"slug": "calculators", "name_pl": "Kalkulatory", "name_en": "Calculators"},
        headers=other_headers,
    )
    assert created.status_code == 201
    response = client.post(
        customers_url(org), json=customer_body(services=["calculators"]), headers=legal
    )
    assert response.status_code == 422


def test_ended_on_before_started_on_when_defaulted(client, world, org, legal):
    body = customer_body(ended_on=world.day(org, -1))
    del body["started_on"]
    response = client.post(customers_url(org), json=body, headers=legal)
    assert response.status_code == 422
    assert "ended_on" in response.json["errors"]


def test_external_ref_is_unique_per_organization(app, client, world, org, legal):
    first = create(client, org, legal)
    duplicate = client.post(
        customers_url(org), json=customer_body(name="Someone else"), headers=legal
    )
    assert duplicate.status_code == 409
    assert duplicate.mimetype == "application/problem+json"
    assert "external_ref" in duplicate.json["errors"]
    assert duplicate.json["existing_id"] == first["id"]

    other = world.org("bezkalkulatora")
    other_headers = bearer(world.key("legal", other))
    elsewhere = client.post(customers_url(other), json=customer_body(), headers=other_headers)
    assert elsewhere.status_code == 201
    assert elsewhere.json["id"] != first["id"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Customer)) == 2


# --- list -------------------------------------------------------------------------------


def test_list_paginates_with_total(client, org, legal):
    for n in range(5):
        create(client, org, legal, external_ref=f"c-{n}", name=f"Customer {n}", contacts=[])
    page1 = client.get(customers_url(org), query_string={"per_page": 2}, headers=legal)
    assert page1.status_code == 200
    assert page1.json["total"] == 5
    assert page1.json["page"] == 1
    assert page1.json["per_page"] == 2
    assert [c["name"] for c in page1.json["items"]] == ["Customer 0", "Customer 1"]
    page3 = client.get(
        customers_url(org), query_string={"per_page": 2, "page": 3}, headers=legal
    ).json
    assert page3["total"] == 5
    assert [c["name"] for c in page3["items"]] == ["Customer 4"]
    beyond = client.get(
        customers_url(org), query_string={"per_page": 2, "page": 4}, headers=legal
    ).json
    assert beyond["items"] == []
    assert beyond["total"] == 5
    assert (
        client.get(customers_url(org), query_string={"per_page": 0}, headers=legal).status_code
        == 422
    )


def test_list_only_shows_own_organizations_customers(client, world, org, legal):
    create(client, org, legal)
    other = world.org("bezkalkulatora")
    other_headers = bearer(world.key("legal", other))
    create(client, other, other_headers, external_ref="other-1", name="Other customer")
    listed = client.get(customers_url(org), headers=legal).json
    assert listed["total"] == 1
    assert [c["external_ref"] for c in listed["items"]] == ["salon-1"]


def test_list_filters(client, world, org, legal):
    create(client, org, legal, external_ref="a", name="100% Beauty", services=["bookings"])
    create(client, org, legal, external_ref="b", name="1000 Beauty", services=["payments"])
    create(client, org, legal, external_ref="c", name="nail_bar", services=[], contacts=[])
    create(
        client,
        org,
        legal,
        external_ref="d",
        name="Nailxbar",
        services=["bookings", "payments"],
        contacts=[],
        ended_on=world.day(org, -1),
        started_on="2020-01-01",
    )
    create(
        client,
        org,
        legal,
        external_ref="e",
        name="Ends today",
        contacts=[],
        ended_on=world.day(org, 0),
        started_on="2020-01-01",
    )

    def refs(**query: str) -> list[str]:
        response = client.get(customers_url(org), query_string=query, headers=legal)
        assert response.status_code == 200, response.json
        assert response.json["total"] == len(response.json["items"])
        return sorted(c["external_ref"] for c in response.json["items"])

    assert refs() == ["a", "b", "c", "d", "e"]
    assert refs(external_ref="b") == ["b"]
    assert refs(external_ref="B") == []
    # q matches the name case-insensitively, with % and _ taken literally.
    assert refs(q="beauty") == ["a", "b"]
    assert refs(q="%") == ["a"]
    assert refs(q="0% b") == ["a"]
    assert refs(q="_") == ["c"]
    assert refs(q="nail_") == ["c"]
    assert refs(q="\\") == []
    assert refs(service="bookings") == ["a", "d", "e"]
    assert refs(service="payments") == ["b", "d"]
    assert refs(service="massages") == []
    assert refs(active="true") == ["a", "b", "c", "e"]
    assert refs(active="false") == ["d"]
    assert refs(active="true", service="payments", q="beauty") == ["b"]


def test_service_filter_does_not_match_another_orgs_service_of_same_slug(client, world, org, legal):
    other = world.org("bezkalkulatora")
    other_headers = bearer(world.key("legal", other))
    create(client, other, other_headers, external_ref="x", services=["payments"])
    create(client, org, legal, external_ref="mine", services=["bookings"])
    listed = client.get(customers_url(org), query_string={"service": "payments"}, headers=legal)
    assert listed.json["total"] == 0


# --- edit -------------------------------------------------------------------------------


def test_patch_replaces_contacts_as_a_set(app, client, org, legal):
    created = create(client, org, legal)
    response = client.patch(
        customers_url(org, f"/{created['id']}"),
        json={
            "contacts": [
                {"email": "office@salon.example", "name": "Office", "locale": "pl"},
                {"email": "new@salon.example", "locale": "en"},
            ]
        },
        headers=legal,
    )
    assert response.status_code == 200, response.json
    assert response.json["contacts"] == [
        {"email": "office@salon.example", "name": "Office", "locale": "pl"},
        {"email": "new@salon.example", "name": "", "locale": "en"},
    ]
    with app.app_context():
        emails = db.session.scalars(
            select(CustomerContact.email).order_by(CustomerContact.email)
        ).all()
    assert emails == ["new@salon.example", "office@salon.example"]
    # An empty list removes every contact.
    cleared = client.patch(
        customers_url(org, f"/{created['id']}"), json={"contacts": []}, headers=legal
    )
    assert cleared.json["contacts"] == []


def test_patch_edits_services_dates_and_overrides_and_is_audited(client, world, org, legal):
    created = create(client, org, legal, agreement={"notice_days": 45})
    url = customers_url(org, f"/{created['id']}")
    response = client.patch(
        url,
        json={
            "services": ["payments"],
            "ended_on": "2025-06-30",
            "agreement": {"notice_days": None, "objection_remedy": "terminate"},
        },
        headers=legal,
    )
    assert response.status_code == 200, response.json
    body = response.json
    assert body["services"] == ["payments"]
    assert body["ended_on"] == "2025-06-30"
    assert body["name"] == "Salon Urody Anna"  # untouched fields stay
    assert body["contacts"] == created["contacts"]
    assert body["agreement"]["notice_days"] is None
    assert body["agreement"]["objection_remedy"] == "terminate"
    assert body["agreement"]["effective"]["notice_days"] == 30
    assert body["agreement"]["effective"]["objection_remedy"] == "terminate"
    assert client.get(url, headers=legal).json == body

    edits = audit_events(client, org, legal, action="customer.edited")
    assert len(edits) == 1
    event = edits[0]
    assert event["entity_id"] == str(created["id"])
    # Only what changed, before and after.
    assert set(event["after"]) == {"services", "ended_on", "agreement"}
    assert event["before"]["services"] == ["bookings"]
    assert event["after"]["services"] == ["payments"]
    assert event["before"]["ended_on"] is None
    assert event["after"]["ended_on"] == "2025-06-30"
    assert event["before"]["agreement"]["notice_days"] == 45
    assert event["after"]["agreement"]["notice_days"] is None
    assert_chain_ok(client, org, legal)


def test_patch_without_change_records_nothing(client, org, legal):
    created = create(client, org, legal)
    response = client.patch(
        customers_url(org, f"/{created['id']}"), json={"name": created["name"]}, headers=legal
    )
    assert response.status_code == 200
    assert audit_events(client, org, legal, action="customer.edited") == []


def test_patch_ended_on_before_stored_started_on_is_refused(app, client, org, legal):
    created = create(client, org, legal)
    url = customers_url(org, f"/{created['id']}")
    response = client.patch(url, json={"ended_on": "2023-12-31"}, headers=legal)
    assert response.status_code == 422
    assert "ended_on" in response.json["errors"]
    response = client.patch(
        url, json={"started_on": "2030-01-01", "ended_on": "2029-01-01"}, headers=legal
    )
    assert response.status_code == 422
    assert client.get(url, headers=legal).json["ended_on"] is None
    assert audit_events(client, org, legal, action="customer.edited") == []


def test_patch_validation(client, org, legal):
    created = create(client, org, legal)
    url = customers_url(org, f"/{created['id']}")
    for body, field in (
        ({"contacts": [{"email": "bad"}]}, "contacts"),
        ({"contacts": [{"email": "a@x.example"}, {"email": "a@x.example"}]}, "contacts"),
        ({"services": ["nope"]}, "services"),
        ({"agreement": {"agreement_version_id": 12345}}, "agreement"),
        ({"name": None}, "name"),
        ({"name": ""}, "name"),
        ({"external_ref": None}, "external_ref"),
        ({"started_on": None}, "started_on"),
        ({"contacts": [{"name": "No address"}]}, "contacts"),
        ({"contacts": [{"email": "a@x.example", "locale": "fr"}]}, "contacts"),
        ({"id": 5}, "id"),
    ):
        response = client.patch(url, json=body, headers=legal)
        assert response.status_code == 422, (body, response.json)
        assert field in response.json["errors"]
    assert client.get(url, headers=legal).json == created


def test_patch_external_ref_conflict(client, org, legal):
    create(client, org, legal)
    second = create(client, org, legal, external_ref="salon-2", contacts=[])
    url = customers_url(org, f"/{second['id']}")
    response = client.patch(url, json={"external_ref": "salon-1"}, headers=legal)
    assert response.status_code == 409
    assert client.get(url, headers=legal).json["external_ref"] == "salon-2"
    renamed = client.patch(url, json={"external_ref": "salon-3"}, headers=legal)
    assert renamed.status_code == 200
    assert renamed.json["external_ref"] == "salon-3"


def test_unknown_customer_is_404(client, org, legal):
    assert client.get(customers_url(org, "/424242"), headers=legal).status_code == 404
    response = client.patch(customers_url(org, "/424242"), json={"name": "x"}, headers=legal)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


# --- access -----------------------------------------------------------------------------


def test_customers_need_a_key(client, org, legal):
    created = create(client, org, legal)
    for response in (
        client.get(customers_url(org)),
        client.post(customers_url(org), json=customer_body(external_ref="new")),
        client.get(customers_url(org, f"/{created['id']}")),
        client.patch(customers_url(org, f"/{created['id']}"), json={"name": "x"}),
    ):
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_customer_key_sees_only_its_own_customer(client, world, org, legal):
    own = create(client, org, legal)
    other = create(client, org, legal, external_ref="salon-2", name="Other salon")
    headers = bearer(world.key("customer", org, own["id"]))

    response = client.get(customers_url(org, f"/{own['id']}"), headers=headers)
    assert response.status_code == 200
    assert response.json["external_ref"] == "salon-1"

    response = client.get(customers_url(org, f"/{other['id']}"), headers=headers)
    assert response.status_code == 404
    assert "Other salon" not in response.get_data(as_text=True)

    assert client.get(customers_url(org), headers=headers).status_code == 403
    assert (
        client.post(
            customers_url(org), json=customer_body(external_ref="new"), headers=headers
        ).status_code
        == 403
    )
    response = client.patch(
        customers_url(org, f"/{own['id']}"), json={"name": "x"}, headers=headers
    )
    assert response.status_code == 403
    assert client.get(customers_url(org, f"/{own['id']}"), headers=legal).json == own


def test_legal_key_of_another_org_finds_nothing(app, client, world, org, legal):
    created = create(client, org, legal)
    intruder_org = world.org("bezkalkulatora")
    intruder = bearer(world.key("legal", intruder_org))
    url = customers_url(org, f"/{created['id']}")
    with app.app_context():
        events_before = db.session.scalar(select(func.count()).select_from(AuditEvent))

    responses = [
        client.get(customers_url(org), headers=intruder),
        client.post(customers_url(org), json=customer_body(external_ref="new"), headers=intruder),
        client.get(url, headers=intruder),
        client.patch(url, json={"name": "Hacked", "contacts": []}, headers=intruder),
    ]
    for response in responses:
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
        assert "Salon Urody" not in response.get_data(as_text=True)
    # The intruder's own organization has no such customer either.
    assert (
        client.get(customers_url(intruder_org, f"/{created['id']}"), headers=intruder).status_code
        == 404
    )
    assert client.get(url, headers=legal).json == created
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Customer)) == 1
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == events_before


def test_customer_key_of_another_org_finds_nothing(client, world, org, legal):
    created = create(client, org, legal)
    other = world.org("bezkalkulatora")
    other_headers = bearer(world.key("legal", other))
    foreign = create(client, other, other_headers, external_ref="f-1")
    foreign_key = bearer(world.key("customer", other, foreign["id"]))
    assert (
        client.get(customers_url(org, f"/{created['id']}"), headers=foreign_key).status_code == 404
    )


def test_admin_key_can_manage_customers(client, world, org):
    admin = bearer(world.key("admin"))
    created = create(client, org, admin)
    events = audit_events(client, org, admin, entity_type="customer")
    assert events[0]["actor"].startswith("admin:")
    assert client.get(customers_url(org, f"/{created['id']}"), headers=admin).status_code == 200


def test_patch_can_change_the_case_of_a_contacts_address(client, org, legal):
    created = create(client, org, legal, contacts=[{"email": "anna@salon.example"}])
    url = customers_url(org, f"/{created['id']}")
    response = client.patch(
        url, json={"contacts": [{"email": "Anna.Nowak@salon.example"}]}, headers=legal
    )
    assert response.json["contacts"][0]["email"] == "Anna.Nowak@salon.example"
    response = client.patch(
        url,
        json={"contacts": [{"email": "ANNA.NOWAK@salon.example", "locale": "en"}]},
        headers=legal,
    )
    assert response.status_code == 200
    assert response.json["contacts"] == [
        {"email": "ANNA.NOWAK@salon.example", "name": "", "locale": "en"}
    ]
    assert client.get(url, headers=legal).json["contacts"] == response.json["contacts"]


def test_patch_sets_the_accepted_version_and_its_defaults_apply(app, client, org, legal):
    created = create(client, org, legal, agreement={"notice_days": 45})
    version_id = add_version(app, org, authorisation="specific", notice_days=20, objection_days=7)
    url = customers_url(org, f"/{created['id']}")
    response = client.patch(
        url, json={"agreement": {"agreement_version_id": version_id}}, headers=legal
    )
    assert response.status_code == 200
    assert response.json["agreement"]["agreement_version_id"] == version_id
    assert response.json["agreement"]["effective"] == {
        "authorisation": "specific",
        "notice_days": 45,
        "objection_days": 7,
        "objection_remedy": "exclude",
        **NO_EMERGENCY_CLAUSE,
    }


def test_q_matches_a_literal_backslash(client, org, legal):
    create(client, org, legal, external_ref="a", name="Back\\slash", contacts=[])
    create(client, org, legal, external_ref="b", name="Backslash", contacts=[])
    listed = client.get(customers_url(org), query_string={"q": "k\\s"}, headers=legal).json
    assert [c["external_ref"] for c in listed["items"]] == ["a"]


def test_patch_with_same_sets_in_another_order_records_nothing(client, org, legal):
    created = create(client, org, legal, services=["bookings", "payments"])
    response = client.patch(
        customers_url(org, f"/{created['id']}"),
        json={
            "services": ["payments", "bookings"],
            "contacts": list(reversed(created["contacts"])),
        },
        headers=legal,
    )
    assert response.status_code == 200
    assert response.json["services"] == ["bookings", "payments"]
    assert audit_events(client, org, legal, action="customer.edited") == []
