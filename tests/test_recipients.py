"""The subprocessor register: registration, validation, listing, direct edits, tenancy, audit."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from service.extensions import db
from service.keys import services as keys
from tests.conftest import audit_events, bearer, vendor

# Calendar dates in this module are literals: it runs at a fixed moment (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("fixed_clock")

PROBLEM = "application/problem+json"


def url(org: dict, suffix: str = "") -> str:
    return f"/api/v1/orgs/{org['slug']}/subprocessors{suffix}"


def register(client, org: dict, headers: dict, **overrides: object) -> dict:
    response = client.post(url(org), json=vendor(**overrides), headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def announce(client, org: dict, headers: dict, **body: object) -> dict:
    response = client.post(f"/api/v1/orgs/{org['slug']}/changes", json=body, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def listed(client, world, org: dict, headers: dict, offset: int = 0, **overrides) -> dict:
    """Register a vendor and announce its `add` effective `offset` days from today."""
    recipient = register(client, org, headers, **overrides)
    announce(
        client,
        org,
        headers,
        kind="add",
        recipient_id=recipient["id"],
        effective_on=world.day(org, offset),
    )
    return recipient


def names(client, org: dict, headers: dict | None = None, **query: object) -> list[str]:
    response = client.get(url(org), query_string=query, headers=headers or {})
    assert response.status_code == 200, response.json
    return [item["name"] for item in response.json["items"]]


def written(client, org: dict, headers: dict) -> tuple[int, int]:
    """(audit events, vendors in any status): a refused request must change neither."""
    events = client.get(f"/api/v1/orgs/{org['slug']}/audit", headers=headers).json["total"]
    vendors = client.get(url(org), query_string={"status": "all"}, headers=headers).json["total"]
    return events, vendors


def verification(client, org: dict, headers: dict) -> dict:
    response = client.get(f"/api/v1/orgs/{org['slug']}/audit/verification", headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def customer_key(client, world, org: dict, headers: dict) -> dict:
    response = client.post(
        f"/api/v1/orgs/{org['slug']}/customers",
        json={"external_ref": "salon-1", "name": "Salon Urody Anna"},
        headers=headers,
    )
    assert response.status_code == 201, response.json
    return bearer(world.key("customer", org, response.json["id"]))


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.json
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["title"]
    return body


# --- registration ---------------------------------------------------------------------------


def test_register_proposes_a_vendor_that_only_legal_staff_see(client, world, org, legal):
    before = len(audit_events(client, org, legal))

    response = client.post(url(org), json=vendor(), headers=legal)

    assert response.status_code == 201
    body = response.json
    assert body["status"] == "proposed"
    assert body["listed_from"] is None
    assert body["name"] == "Hetzner"
    assert body["country"] == "DE"
    assert body["locations"][0]["country"] == "DE"
    assert body["locations"][0]["mechanism"] == "none"
    assert body["due_diligence"] is not None
    # Not on the public list, today or any day.
    assert names(client, org) == []
    assert names(client, org, legal) == []
    assert names(client, org, as_of=world.day(org, 400)) == []
    # Legal staff find it by id and among the proposed ones.
    one = client.get(url(org, f"/{body['id']}"), headers=legal)
    assert one.status_code == 200
    assert one.json["status"] == "proposed"
    assert names(client, org, legal, status="proposed") == ["Hetzner"]
    # Anyone else is told it does not exist.
    assert_problem(client.get(url(org, f"/{body['id']}")), 404)
    assert_problem(client.get(url(org), query_string={"status": "proposed"}), 403)
    # The write is audited with what was registered.
    events = audit_events(client, org, legal, action="recipient.registered")
    assert len(audit_events(client, org, legal)) == before + 1
    assert [e["entity_id"] for e in events] == [str(body["id"])]
    assert events[0]["after"]["name"] == "Hetzner"
    assert events[0]["after"]["locations"][0]["country"] == "DE"
    assert events[0]["actor"].startswith("legal:")


def test_registration_keeps_due_diligence_dates(client, org, legal):
    body = register(
        client,
        org,
        legal,
        sub_dpa_signed_on="2024-03-01",
        certifications=[{"name": "ISO 27001", "expires_on": "2027-01-31"}],
        next_review_on="2026-03-01",
    )
    due = client.get(url(org, f"/{body['id']}"), headers=legal).json["due_diligence"]
    assert due["sub_dpa_signed_on"] == "2024-03-01"
    assert due["certifications"] == [{"name": "ISO 27001", "expires_on": "2027-01-31"}]
    assert due["next_review_on"] == "2026-03-01"
    edited = client.patch(
        url(org, f"/{body['id']}"),
        json={"certifications": [{"name": "SOC 2", "expires_on": "2026-12-31"}]},
        headers=legal,
    )
    assert edited.status_code == 200
    assert edited.json["due_diligence"]["certifications"] == [
        {"name": "SOC 2", "expires_on": "2026-12-31"}
    ]


def test_due_diligence_is_for_legal_staff_only(client, world, org, legal):
    recipient = listed(client, world, org, legal, tia_reference="TIA-7")
    public = client.get(url(org, f"/{recipient['id']}"))
    assert public.status_code == 200
    assert public.json["due_diligence"] is None
    assert client.get(url(org)).json["items"][0]["due_diligence"] is None
    own = client.get(url(org, f"/{recipient['id']}"), headers=legal)
    assert own.json["due_diligence"]["tia_reference"] == "TIA-7"


def test_register_without_a_key_asks_for_one(client, org, legal):
    before = written(client, org, legal)
    response = client.post(url(org), json=vendor())
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert written(client, org, legal) == before


BAD_AUTHORIZATIONS = (
    "Bearer dpa_000000000000_not-a-real-secret",
    "Bearer nonsense",
    "Bearer ",
    "Basic bGVnYWw6c2VjcmV0",
)


def test_a_bad_key_is_refused_not_treated_as_anonymous(client, org, legal):
    before = written(client, org, legal)
    for authorization in BAD_AUTHORIZATIONS:
        headers = {"Authorization": authorization}
        response = client.post(url(org), json=vendor(), headers=headers)
        assert_problem(response, 401)
        assert "WWW-Authenticate" in response.headers
        # Even where anonymous callers may read, a bad key is an error.
        assert_problem(client.get(url(org), headers=headers), 401)
    assert written(client, org, legal) == before


def test_a_revoked_key_is_refused(client, app, world, org, legal):
    token = world.key("legal", org)
    register(client, org, bearer(token), name="Before revocation")
    with app.app_context():
        keys.revoke_key(token.split("_")[1], actor="test")
        db.session.commit()
    before = written(client, org, legal)
    assert_problem(client.post(url(org), json=vendor(), headers=bearer(token)), 401)
    assert_problem(client.get(url(org), headers=bearer(token)), 401)
    assert written(client, org, legal) == before


def test_a_customer_key_cannot_register(client, world, org, legal):
    customer = customer_key(client, world, org, legal)
    before = written(client, org, legal)
    assert_problem(client.post(url(org), json=vendor(), headers=customer), 403)
    assert written(client, org, legal) == before
    # It may read the public list, but not the proposed vendors.
    assert client.get(url(org), headers=customer).status_code == 200
    assert_problem(client.get(url(org), query_string={"status": "all"}, headers=customer), 403)


SCC_US = {"country": "US", "mechanism": "scc", "scc_module": 3, "activity": "support"}


INVALID_REGISTRATIONS = [
    # (case, overrides of a valid body, path of the error under `errors`)
    ("unknown-country", {"country": "XX"}, ["country"]),
    ("lowercase-country", {"country": "pl"}, ["country"]),
    ("unknown-role", {"role": "processor"}, ["role"]),
    ("empty-name", {"name": ""}, ["name"]),
    ("null-purpose", {"purpose_en": None}, ["purpose_en"]),
    ("website-not-url", {"website": "not a url"}, ["website"]),
    ("website-scheme", {"website": "javascript:alert(1)"}, ["website"]),
    ("unknown-field", {"nickname": "H"}, ["nickname"]),
    ("unknown-service", {"services": ["spa"]}, ["services"]),
    ("no-locations", {"locations": []}, ["locations"]),
    ("parent-beyond-any-id", {"parent_id": 2**40}, ["parent_id"]),
    ("unknown-parent", {"parent_id": 987654}, ["parent_id"]),
    (
        "scc-without-module",
        {"locations": [{"country": "US", "mechanism": "scc"}]},
        ["locations", "0", "scc_module"],
    ),
    (
        "scc-module-out-of-range",
        {"locations": [{"country": "US", "mechanism": "scc", "scc_module": 5}]},
        ["locations", "0", "scc_module"],
    ),
    (
        "scc-module-with-mechanism-none",
        {"locations": [{"country": "DE", "mechanism": "none", "scc_module": 3}]},
        ["locations", "0", "scc_module"],
    ),
    (
        "adequacy-detail-on-bcr",
        {"locations": [{"country": "IN", "mechanism": "bcr", "adequacy_reference": "x"}]},
        ["locations", "0", "adequacy_reference"],
    ),
    (
        "derogation-without-ground",
        {"locations": [{"country": "IN", "mechanism": "derogation"}]},
        ["locations", "0", "derogation_ground"],
    ),
    (
        "unknown-mechanism",
        {"locations": [{"country": "US", "mechanism": "privacy_shield"}]},
        ["locations", "0", "mechanism"],
    ),
    (
        "country-and-international-organisation",
        {
            "locations": [
                SCC_US,
                {"country": "CH", "international_organisation": "WHO", "mechanism": "none"},
            ]
        },
        ["locations", "1", "country"],
    ),
    (
        "neither-country-nor-organisation",
        {"locations": [{"mechanism": "none", "activity": "hosting"}]},
        ["locations", "0", "country"],
    ),
    (
        "lowercase-location-country",
        {"locations": [{"country": "de", "mechanism": "none"}]},
        ["locations", "0", "country"],
    ),
    (
        "unknown-location-field",
        {"locations": [{"country": "DE", "mechanism": "none", "floor": 3}]},
        ["locations", "0", "floor"],
    ),
    (
        "certification-without-name",
        {"certifications": [{"expires_on": "2027-01-01"}]},
        ["certifications", "0", "name"],
    ),
    ("nul-in-name", {"name": "Hetz\x00ner"}, ["name"]),
    ("nul-in-list", {"data_categories_en": ["ok", "e-mail\x00"]}, ["data_categories_en", "1"]),
    (
        "nul-in-location",
        {"locations": [{"country": "DE", "mechanism": "none", "activity": "\x00"}]},
        ["locations", "0", "activity"],
    ),
]


def error_at(body: dict, path: list[str]) -> object:
    node = body["errors"]
    for key in path:
        assert key in node, body["errors"]
        node = node[key]
    assert node, body["errors"]
    return node


def test_invalid_registration_names_the_field_and_writes_nothing(client, org, legal):
    before = written(client, org, legal)
    for case, overrides, path in INVALID_REGISTRATIONS:
        response = client.post(url(org), json=vendor(**overrides), headers=legal)
        assert response.status_code == 422, (case, response.json)
        error_at(assert_problem(response, 422), path)
        assert written(client, org, legal) == before, case


def test_a_valid_international_organisation_location_is_accepted(client, org, legal):
    body = register(
        client,
        org,
        legal,
        locations=[{"international_organisation": "UNICEF", "mechanism": "derogation",
                    "derogation_ground": "d"}, SCC_US],
    )  # fmt: skip
    assert body["locations"][0]["international_organisation"] == "UNICEF"
    assert body["locations"][0]["country"] is None
    assert body["locations"][1]["scc_module"] == 3


def test_a_parent_of_another_organization_is_unknown(client, world, org, legal):
    other = world.org("bezkalkulatora")
    foreign = register(client, other, bearer(world.key("legal", other)), name="Google")
    before = written(client, org, legal)
    response = client.post(url(org), json=vendor(parent_id=foreign["id"]), headers=legal)
    body = assert_problem(response, 422)
    assert "parent_id" in body["errors"]
    assert written(client, org, legal) == before


def test_unreadable_bodies_are_problems_and_write_nothing(client, org, legal):
    oversized = json.dumps(vendor(purpose_en="x" * (1024 * 1024 + 1)))
    cases = [
        ("malformed-json", {"data": '{"name": "Hetzner",', "content_type": "application/json"},
         400),
        ("text-plain", {"data": json.dumps(vendor()), "content_type": "text/plain"}, 415),
        ("form", {"data": "name=Hetzner", "content_type": "application/x-www-form-urlencoded"},
         415),
        ("over-one-mebibyte", {"data": oversized, "content_type": "application/json"}, 413),
        ("array-body", {"json": [vendor()]}, 422),
        ("null-body", {"data": "null", "content_type": "application/json"}, 422),
        ("empty-object", {"json": {}}, 422),
    ]  # fmt: skip
    before = written(client, org, legal)
    for case, kwargs, status in cases:
        response = client.post(url(org), headers=legal, **kwargs)
        assert response.status_code == status, case
        body = assert_problem(response, status)
        if status in (400, 422):
            assert body["errors"], case
        assert written(client, org, legal) == before, case


def test_an_empty_object_names_every_required_field(client, org, legal):
    body = assert_problem(client.post(url(org), json={}, headers=legal), 422)
    for field in ("name", "legal_entity", "country", "role", "purpose_pl", "locations"):
        assert field in body["errors"]


def test_unknown_organization_and_vendor_are_404(client, org, legal):
    assert_problem(client.get("/api/v1/orgs/nope/subprocessors"), 404)
    assert_problem(client.get(url(org, "/12345")), 404)
    assert_problem(client.get(url(org, "/12345"), headers=legal), 404)
    # Ids beyond the database's integer are no ids, not a server error.
    assert_problem(client.get(url(org, "/99999999999999999999")), 404)
    assert_problem(client.patch(url(org, "/2147483648"), json={"name": "x"}, headers=legal), 404)


# --- the list and its filters -------------------------------------------------------------


@pytest.fixture
def three(client, world, org, legal) -> dict:
    """Three vendors that differ in everything the list filters on."""
    hetzner = listed(client, world, org, legal)
    stripe = listed(
        client,
        world,
        org,
        legal,
        offset=3,
        name="Stripe",
        legal_entity="Stripe Inc.",
        country="US",
        role="independent_controller",
        services=["payments"],
        locations=[SCC_US, {"country": "IE", "mechanism": "none", "activity": "payments"}],
    )
    google = listed(
        client,
        world,
        org,
        legal,
        name="Google Analytics",
        legal_entity="Google Ireland Ltd",
        country="IE",
        role="joint_controller",
        locations=[{"country": "US", "mechanism": "dpf", "activity": "analytics"}],
    )
    return {"hetzner": hetzner, "stripe": stripe, "google": google}


def test_list_is_the_one_in_force_on_the_date(client, world, org, three):
    today = client.get(url(org))
    assert today.status_code == 200
    assert today.json["as_of"] == world.day(org, 0)
    assert [i["name"] for i in today.json["items"]] == ["Google Analytics", "Hetzner"]
    assert {i["status"] for i in today.json["items"]} == {"active"}
    assert names(client, org, as_of=world.day(org, 2)) == ["Google Analytics", "Hetzner"]
    assert names(client, org, as_of=world.day(org, 3)) == ["Google Analytics", "Hetzner", "Stripe"]
    assert names(client, org, as_of=world.day(org, -1)) == []
    # The vendor announced for later is public already, with that status.
    stripe = client.get(url(org, f"/{three['stripe']['id']}"))
    assert stripe.status_code == 200
    assert stripe.json["status"] == "announced"
    assert stripe.json["listed_from"] == world.day(org, 3)


LIST_FILTERS = [
    ({"country": "US"}, ["Google Analytics", "Stripe"]),
    ({"country": "IE"}, ["Stripe"]),
    ({"country": "DE"}, ["Hetzner"]),
    ({"country": "JP"}, []),
    ({"established_in": "US"}, ["Stripe"]),
    ({"established_in": "IE"}, ["Google Analytics"]),
    ({"mechanism": "scc"}, ["Stripe"]),
    ({"mechanism": "dpf"}, ["Google Analytics"]),
    ({"mechanism": "none"}, ["Hetzner", "Stripe"]),
    # Country and mechanism must hold for the same location.
    ({"country": "US", "mechanism": "scc"}, ["Stripe"]),
    ({"country": "IE", "mechanism": "scc"}, []),
    ({"role": "subprocessor"}, ["Hetzner"]),
    ({"role": "joint_controller"}, ["Google Analytics"]),
    ({"role": "independent_controller", "established_in": "US"}, ["Stripe"]),
]


def test_list_filters(client, world, org, three):
    for query, expected in LIST_FILTERS:
        assert names(client, org, as_of=world.day(org, 3), **query) == expected, query


INVALID_LIST_ARGUMENTS = [
    ({"as_of": "2025-02-30"}, "as_of"),
    ({"as_of": "tomorrow"}, "as_of"),
    ({"country": "us"}, "country"),
    ({"country": "XX"}, "country"),
    ({"established_in": "EU"}, "established_in"),
    ({"mechanism": "privacy_shield"}, "mechanism"),
    ({"role": "processor"}, "role"),
    ({"scope": ""}, "scope"),
    ({"page": 0}, "page"),
    ({"per_page": 501}, "per_page"),
    ({"status": "withdrawn"}, "status"),
]


def test_invalid_list_arguments_are_named(client, org, legal):
    for query, field in INVALID_LIST_ARGUMENTS:
        body = assert_problem(client.get(url(org), query_string=query, headers=legal), 422)
        assert field in body["errors"], query


def test_pagination_counts_the_whole_list(client, world, org, legal, three):
    day = world.day(org, 3)
    first = client.get(url(org), query_string={"as_of": day, "per_page": 2}).json
    assert first["total"] == 3
    assert [i["name"] for i in first["items"]] == ["Google Analytics", "Hetzner"]
    second = client.get(url(org), query_string={"as_of": day, "per_page": 2, "page": 2}).json
    assert [i["name"] for i in second["items"]] == ["Stripe"]
    assert second["total"] == 3
    beyond = client.get(url(org), query_string={"as_of": day, "per_page": 2, "page": 9}).json
    assert beyond["items"] == []
    assert beyond["total"] == 3
    assert beyond["page"] == 9
    # Filtered totals count the filtered list.
    filtered = client.get(url(org), query_string={"as_of": day, "country": "US"}).json
    assert filtered["total"] == 2


def test_legal_staff_list_proposed_or_all(client, world, org, legal, three):
    register(client, org, legal, name="Bugsnag", legal_entity="Bugsnag Inc.")
    assert names(client, org, legal, status="proposed") == ["Bugsnag"]
    assert names(client, org, legal, status="all") == [
        "Bugsnag",
        "Google Analytics",
        "Hetzner",
        "Stripe",
    ]
    assert names(client, org, legal) == ["Google Analytics", "Hetzner"]


def test_scope_is_inherited_and_narrowed_along_the_parent_chain(client, world, org, legal):
    parent = listed(client, world, org, legal, name="AWS", services=["bookings"])
    # Empty scope inherits the parent's.
    inherits = listed(client, world, org, legal, name="AWS EU", parent_id=parent["id"])
    # Own scope is narrowed by the parent's.
    narrowed = listed(
        client,
        world,
        org,
        legal,
        name="AWS Mail",
        services=["bookings", "payments"],
        parent_id=parent["id"],
    )
    everywhere = listed(client, world, org, legal, name="Hetzner")
    payments_only = listed(client, world, org, legal, name="Tpay", services=["payments"])

    assert names(client, org, scope="bookings") == ["AWS", "AWS EU", "AWS Mail", "Hetzner"]
    assert names(client, org, scope="payments") == ["Hetzner", "Tpay"]
    assert names(client, org, scope="chat") == ["Hetzner"]
    by_name = {i["name"]: i for i in client.get(url(org)).json["items"]}
    assert by_name["AWS EU"]["services"] == []
    assert by_name["AWS EU"]["effective_services"] == ["bookings"]
    assert by_name["AWS Mail"]["services"] == ["bookings", "payments"]
    assert by_name["AWS Mail"]["effective_services"] == ["bookings"]
    # No scope anywhere up the chain means every service of the organization, spelled out.
    assert by_name["Hetzner"]["effective_services"] == ["bookings", "payments"]
    assert by_name["Tpay"]["effective_services"] == ["payments"]
    assert by_name["AWS EU"]["parent_id"] == parent["id"]
    # Scope filters combine with paging: the total counts the scoped list.
    page = client.get(url(org), query_string={"scope": "bookings", "per_page": 2, "page": 2})
    assert page.json["total"] == 4
    assert [i["id"] for i in page.json["items"]] == [narrowed["id"], everywhere["id"]]
    payments = client.get(url(org), query_string={"scope": "payments"}).json["items"]
    assert [i["id"] for i in payments] == [everywhere["id"], payments_only["id"]]
    assert inherits["id"] not in [i["id"] for i in payments]


def test_a_child_whose_scope_misses_its_parents_serves_no_scope(client, world, org, legal):
    parent = listed(client, world, org, legal, name="AWS", services=["bookings"])
    listed(client, world, org, legal, name="AWS Pay", services=["payments"], parent_id=parent["id"])
    assert names(client, org, scope="payments") == []
    assert names(client, org, scope="bookings") == ["AWS"]
    assert names(client, org) == ["AWS", "AWS Pay"]


# --- direct edits ---------------------------------------------------------------------------


def test_non_material_fields_of_a_public_vendor_are_edited_directly_and_audited(
    client, world, org, legal
):
    recipient = listed(client, world, org, legal, offset=5)
    patch = {
        "website": "https://www.hetzner.de",
        "address": "Industriestraße 25, 91710 Gunzenhausen",
        "name": "Hetzner Online",
    }

    response = client.patch(url(org, f"/{recipient['id']}"), json=patch, headers=legal)

    assert response.status_code == 200
    for field, value in patch.items():
        assert response.json[field] == value
    public = client.get(url(org, f"/{recipient['id']}")).json
    assert public["name"] == "Hetzner Online"
    assert public["website"] == "https://www.hetzner.de"
    assert names(client, org, as_of=world.day(org, 5)) == ["Hetzner Online"]
    events = audit_events(client, org, legal, action="recipient.edited")
    assert len(events) == 1
    assert events[0]["entity_id"] == str(recipient["id"])
    assert events[0]["before"] == {
        "name": "Hetzner",
        "address": "Industriestr. 25, 91710 Gunzenhausen",
        "website": "https://www.hetzner.com",
    }
    assert events[0]["after"] == patch
    assert verification(client, org, legal)["ok"] is True


def test_a_patch_that_changes_nothing_writes_nothing(client, world, org, legal):
    recipient = listed(client, world, org, legal, offset=5)
    before = written(client, org, legal)
    response = client.patch(
        url(org, f"/{recipient['id']}"), json={"name": "Hetzner"}, headers=legal
    )
    assert response.status_code == 200
    assert written(client, org, legal) == before


MATERIAL_PATCH = {
    "role": "joint_controller",
    "locations": [SCC_US],
    "services": ["bookings"],
    "country": "IE",
    "purpose_en": "Something else",
    "purpose_pl": "Coś innego",
    "data_categories_en": ["health data"],
    "data_subject_categories_pl": ["pracownicy"],
    "data_subject_categories_en": ["staff"],
}


@pytest.mark.parametrize("offset", [0, 5], ids=["active", "announced"])
def test_material_fields_of_a_public_vendor_need_an_update_change(
    client, world, org, legal, offset
):
    recipient = listed(client, world, org, legal, offset=offset)
    other = register(client, org, legal, name="Parent")
    before = written(client, org, legal)
    shown = client.get(url(org, f"/{recipient['id']}"), headers=legal).json

    response = client.patch(
        url(org, f"/{recipient['id']}"),
        json={**MATERIAL_PATCH, "parent_id": other["id"], "website": "https://x.example"},
        headers=legal,
    )

    body = assert_problem(response, 422)
    assert set(body["errors"]) == {*MATERIAL_PATCH, "parent_id"}
    assert client.get(url(org, f"/{recipient['id']}"), headers=legal).json == shown
    assert written(client, org, legal) == before


def test_each_material_field_alone_is_refused_on_a_public_vendor(client, world, org, legal):
    recipient = listed(client, world, org, legal, offset=5)
    for field, value in MATERIAL_PATCH.items():
        response = client.patch(url(org, f"/{recipient['id']}"), json={field: value}, headers=legal)
        assert list(assert_problem(response, 422)["errors"]) == [field]


def test_material_fields_of_a_proposed_vendor_are_edited_directly(client, org, legal):
    recipient = register(client, org, legal)

    response = client.patch(url(org, f"/{recipient['id']}"), json=MATERIAL_PATCH, headers=legal)

    assert response.status_code == 200, response.json
    shown = client.get(url(org, f"/{recipient['id']}"), headers=legal).json
    assert shown["role"] == "joint_controller"
    assert shown["country"] == "IE"
    assert shown["services"] == ["bookings"]
    assert [
        (loc["country"], loc["mechanism"], loc["scc_module"]) for loc in shown["locations"]
    ] == [("US", "scc", 3)]
    assert shown["purpose_pl"] == "Coś innego"
    # Fields the patch left out keep their values.
    assert shown["data_categories_pl"] == ["dane kontaktowe"]
    assert shown["name"] == "Hetzner"
    events = audit_events(client, org, legal, action="recipient.edited")
    assert len(events) == 1
    assert events[0]["before"]["role"] == "subprocessor"
    assert events[0]["after"]["role"] == "joint_controller"
    assert events[0]["after"]["locations"][0]["country"] == "US"
    assert "name" not in events[0]["after"]


INVALID_PATCHES = [
    (
        "location-without-mechanism",
        {"locations": [{"country": "DE"}]},
        ["locations", "0", "mechanism"],
    ),
    (
        "location-without-place",
        {"locations": [{"mechanism": "none"}]},
        ["locations", "0", "country"],
    ),
    ("no-locations", {"locations": []}, ["locations"]),
    ("certification-without-name", {"certifications": [{}]}, ["certifications", "0", "name"]),
    ("null-name", {"name": None}, ["name"]),
    ("null-role", {"role": None}, ["role"]),
    ("unknown-service", {"services": ["spa"]}, ["services"]),
    ("unknown-country", {"country": "XX"}, ["country"]),
    ("unknown-field", {"id": 7}, ["id"]),
    ("nul-in-address", {"address": "ul. \x00"}, ["address"]),
]


def test_invalid_patch_of_a_proposed_vendor_writes_nothing(client, org, legal):
    recipient = register(client, org, legal)
    before = written(client, org, legal)
    shown = client.get(url(org, f"/{recipient['id']}"), headers=legal).json
    for case, patch, path in INVALID_PATCHES:
        response = client.patch(url(org, f"/{recipient['id']}"), json=patch, headers=legal)
        assert response.status_code == 422, (case, response.json)
        error_at(assert_problem(response, 422), path)
    assert client.get(url(org, f"/{recipient['id']}"), headers=legal).json == shown
    assert written(client, org, legal) == before


def test_a_parent_cycle_is_refused(client, org, legal):
    b = register(client, org, legal, name="B")
    a = register(client, org, legal, name="A", parent_id=b["id"])
    before = written(client, org, legal)

    response = client.patch(url(org, f"/{b['id']}"), json={"parent_id": a["id"]}, headers=legal)
    assert "parent_id" in assert_problem(response, 422)["errors"]
    response = client.patch(url(org, f"/{a['id']}"), json={"parent_id": a["id"]}, headers=legal)
    assert "parent_id" in assert_problem(response, 422)["errors"]
    # A longer cycle: C under A under B, then B under C.
    c = register(client, org, legal, name="C", parent_id=a["id"])
    response = client.patch(url(org, f"/{b['id']}"), json={"parent_id": c["id"]}, headers=legal)
    assert "parent_id" in assert_problem(response, 422)["errors"]
    assert client.get(url(org, f"/{b['id']}"), headers=legal).json["parent_id"] is None
    assert len(audit_events(client, org, legal)) == before[0] + 1  # only C's registration
    # Detaching and re-parenting without a cycle is fine.
    response = client.patch(url(org, f"/{a['id']}"), json={"parent_id": None}, headers=legal)
    assert response.status_code == 200
    assert response.json["parent_id"] is None
    response = client.patch(url(org, f"/{b['id']}"), json={"parent_id": a["id"]}, headers=legal)
    assert response.status_code == 200
    assert response.json["parent_id"] == a["id"]


def test_patch_wrong_content_type_and_size(client, org, legal):
    recipient = register(client, org, legal)
    target = url(org, f"/{recipient['id']}")
    before = written(client, org, legal)
    assert_problem(
        client.patch(target, data='{"name": "X"}', content_type="text/plain", headers=legal), 415
    )
    assert_problem(
        client.patch(target, data='{"name": ', content_type="application/json", headers=legal),
        400,
    )
    big = json.dumps({"due_diligence_notes": "x" * (1024 * 1024)})
    assert_problem(
        client.patch(target, data=big, content_type="application/json", headers=legal), 413
    )
    assert written(client, org, legal) == before


# --- tenancy --------------------------------------------------------------------------------


def test_another_tenants_key_finds_nothing(client, world, org, legal):
    public = listed(client, world, org, legal, offset=5)
    proposed = register(client, org, legal, name="Proposed")
    other = world.org("bezkalkulatora")
    intruder = bearer(world.key("legal", other))
    before = written(client, org, legal)
    shown = {
        r["id"]: client.get(url(org, f"/{r['id']}"), headers=legal).json for r in (public, proposed)
    }

    assert_problem(client.get(url(org), headers=intruder), 404)
    assert_problem(client.get(url(org), query_string={"status": "all"}, headers=intruder), 404)
    assert_problem(client.post(url(org), json=vendor(name="Planted"), headers=intruder), 404)
    for recipient in (public, proposed):
        target = url(org, f"/{recipient['id']}")
        assert_problem(client.get(target, headers=intruder), 404)
        assert_problem(client.patch(target, json={"name": "Pwned"}, headers=intruder), 404)
    # And the other tenant's own list does not show them either.
    assert names(client, other, intruder, status="all") == []

    assert written(client, org, legal) == before
    for recipient_id, body in shown.items():
        assert client.get(url(org, f"/{recipient_id}"), headers=legal).json == body
    assert verification(client, org, legal)["ok"] is True


def test_a_customer_key_reads_but_does_not_write(client, world, org, legal):
    recipient = listed(client, world, org, legal)
    customer = customer_key(client, world, org, legal)
    before = written(client, org, legal)
    target = url(org, f"/{recipient['id']}")
    assert_problem(client.patch(target, json={"name": "X"}, headers=customer), 403)
    assert_problem(client.post(url(org), json=vendor(name="X"), headers=customer), 403)
    assert client.get(target, headers=customer).status_code == 200
    assert client.get(target, headers=customer).json["due_diligence"] is None
    assert names(client, org, customer) == ["Hetzner"]
    # The customer's key binds it to its organization.
    other = world.org("bezkalkulatora")
    assert_problem(client.get(url(other), headers=customer), 404)
    assert written(client, org, legal) == before


def test_anonymous_patch_asks_for_a_key(client, world, org, legal):
    recipient = listed(client, world, org, legal)
    before = written(client, org, legal)
    response = client.patch(url(org, f"/{recipient['id']}"), json={"name": "X"})
    assert_problem(response, 401)
    assert "WWW-Authenticate" in response.headers
    assert written(client, org, legal) == before


# --- the audit chain ------------------------------------------------------------------------


def test_every_write_is_audited_and_the_chain_verifies(client, world, org, legal):
    recipient = register(client, org, legal)
    client.patch(url(org, f"/{recipient['id']}"), json={"role": "joint_controller"}, headers=legal)
    announce(
        client, org, legal, kind="add", recipient_id=recipient["id"], effective_on=world.day(org, 3)
    )
    client.patch(url(org, f"/{recipient['id']}"), json={"website": None}, headers=legal)

    actions = [e["action"] for e in audit_events(client, org, legal)]
    assert actions[:5] == [
        "recipient.edited",
        "change.notices_written",  # by the fan-out worker, once the notices are written
        "change.announced",
        "recipient.edited",
        "recipient.registered",
    ]
    report = verification(client, org, legal)
    assert report["ok"] is True
    assert report["events"] == len(actions)
    assert report["first_bad_seq"] is None


def test_a_tampered_audit_event_is_detected(client, app, org, legal):
    register(client, org, legal)
    event = audit_events(client, org, legal, action="recipient.registered")[0]
    assert verification(client, org, legal)["ok"] is True
    with app.app_context():
        db.session.execute(
            text(
                "UPDATE audit_events SET after = jsonb_set(after, '{name}', '\"Evil Corp\"')"
                " WHERE organization_id = :org AND seq = :seq"
            ),
            {"org": org["id"], "seq": event["seq"]},
        )
        db.session.commit()

    report = verification(client, org, legal)

    assert report["ok"] is False
    assert report["first_bad_seq"] == event["seq"]
    assert report["problem"]
    # The altered name is what the trail now claims; the chain no longer vouches for it.
    altered = audit_events(client, org, legal, action="recipient.registered")
    assert altered[0]["after"]["name"] == "Evil Corp"


def test_a_deleted_newest_audit_event_is_detected(client, app, org, legal):
    register(client, org, legal)
    newest = audit_events(client, org, legal)[0]
    with app.app_context():
        db.session.execute(
            text("DELETE FROM audit_events WHERE organization_id = :org AND seq = :seq"),
            {"org": org["id"], "seq": newest["seq"]},
        )
        db.session.commit()

    report = verification(client, org, legal)

    assert report["ok"] is False
    assert report["first_bad_seq"] == newest["seq"]


def test_audit_and_its_verification_are_for_legal_staff(client, world, org, legal):
    register(client, org, legal)
    customer = customer_key(client, world, org, legal)
    other = bearer(world.key("legal", world.org("bezkalkulatora")))
    for path in ("/audit", "/audit/verification"):
        target = f"/api/v1/orgs/{org['slug']}{path}"
        assert_problem(client.get(target), 401)
        assert_problem(client.get(target, headers=customer), 403)
        assert_problem(client.get(target, headers=other), 404)


def test_pages_and_totals_of_the_list_on_any_date(client, world):
    """The count comes from listing windows alone: updates, withdrawn updates, removals
    and future additions must not make it disagree with the pages."""
    from tests.notice_kit import Desk

    desk = Desk(client, world)
    vendors = [desk.listed(0, name=f"V{n:02d}") for n in range(7)]
    desk.listed(5, name="Future")
    update = {"kind": "update", "recipient_id": vendors[1]["id"], "effective_on": desk.day(3)}
    desk.announced(**update, update={"purpose_en": "More"}, urgent=True, urgent_justification="x")
    withdrawn = desk.announced(
        kind="update", recipient_id=vendors[2]["id"], effective_on=desk.day(4),
        update={"purpose_en": "Less"}, urgent=True, urgent_justification="x",
    )  # fmt: skip
    assert desk.withdraw(withdrawn["id"]).status_code == 200
    desk.announced(kind="remove", recipient_id=vendors[3]["id"], effective_on=desk.day(2))

    def pages(day: str, per_page: int) -> tuple[list[str], set[int]]:
        seen, totals = [], set()
        for page in range(1, 10):
            body = client.get(
                desk.url("/subprocessors"),
                query_string={"as_of": day, "page": page, "per_page": per_page},
            ).json
            seen += [item["name"] for item in body["items"]]
            totals.add(body["total"])
        return seen, totals

    expected = {
        0: ["V00", "V01", "V02", "V03", "V04", "V05", "V06"],
        3: ["V00", "V01", "V02", "V04", "V05", "V06"],
        5: ["Future", "V00", "V01", "V02", "V04", "V05", "V06"],
    }
    for offset, names in expected.items():
        for per_page in (1, 2, 3, 7):
            assert pages(desk.day(offset), per_page) == (names, {len(names)})


def test_the_total_is_counted_once_per_list_token_and_never_stale(client, app, world, org, legal):
    """A page's total is kept under the list token, read in the same statement as the
    page: the next request after any write, from any process, counts again."""
    from sqlalchemy import event

    for n in range(3):
        listed(client, world, org, legal, name=f"V{n}")
    statements: list[str] = []

    def total() -> int:
        statements.clear()
        response = client.get(url(org), query_string={"per_page": 2})
        assert response.status_code == 200, response.json
        return response.json["total"]

    with app.app_context():
        engine = db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        assert total() == 3
        assert any("count(" in s for s in statements)
        assert total() == 3
        assert not any("count(" in s for s in statements)  # same token: counted already
        listed(client, world, org, legal, name="V3")
        assert total() == 4
        with app.app_context():  # a write this process's caches never heard of
            db.session.execute(text("UPDATE recipients SET listed_from = NULL WHERE name = 'V0'"))
            db.session.commit()
        assert total() == 3
    finally:
        event.remove(engine, "before_cursor_execute", listener)
