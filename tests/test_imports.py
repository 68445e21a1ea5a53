from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from service.audit.models import AuditEvent
from service.customers.models import Customer
from service.extensions import db
from service.recipients.models import Recipient
from tests.conftest import bearer, vendor

# Calendar dates in this module are literals: it runs at a fixed moment (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("fixed_clock")

VENDOR_HEADER = (
    "name,legal_entity,country,role,purpose_pl,purpose_en,data_categories_en,services,"
    "locations,listed_from"
)


def vendors_url(org: dict) -> str:
    return f"/api/v1/orgs/{org['slug']}/subprocessors/import"


def customers_url(org: dict) -> str:
    return f"/api/v1/orgs/{org['slug']}/customers/import"


def csv_text(header: str, *rows: str) -> str:
    return "\r\n".join((header, *rows)) + "\r\n"


def post_csv(client, url: str, body: str | bytes, headers: dict, charset: str | None = None):
    content_type = "text/csv" + (f"; charset={charset}" if charset else "")
    return client.post(url, data=body, content_type=content_type, headers=headers)


def counts(app, org: dict) -> dict:
    """What an import may write: a refused one must leave all of it as it was."""
    with app.app_context():
        scalar = db.session.scalar
        return {
            "recipients": scalar(
                select(func.count())
                .select_from(Recipient)
                .where(Recipient.organization_id == org["id"])
            ),
            "customers": scalar(
                select(func.count())
                .select_from(Customer)
                .where(Customer.organization_id == org["id"])
            ),
            "events": scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.organization_id == org["id"])
            ),
        }


def audit_actions(client, org: dict, headers: dict) -> list[str]:
    response = client.get(
        f"/api/v1/orgs/{org['slug']}/audit", query_string={"per_page": 500}, headers=headers
    )
    assert response.status_code == 200
    return [event["action"] for event in reversed(response.json["items"])]


def assert_chain_ok(client, org: dict, headers: dict) -> None:
    report = client.get(f"/api/v1/orgs/{org['slug']}/audit/verification", headers=headers).json
    assert report["ok"] is True, report


def row_errors(response) -> dict[int, dict]:
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    return {entry["row"]: entry["errors"] for entry in response.json["errors"]["rows"]}


def listed_names(client, org: dict) -> list[str]:
    response = client.get(f"/api/v1/orgs/{org['slug']}/subprocessors")
    return [item["name"] for item in response.json["items"]]


def proposed(client, org: dict, headers: dict) -> dict[str, dict]:
    response = client.get(
        f"/api/v1/orgs/{org['slug']}/subprocessors",
        query_string={"status": "proposed"},
        headers=headers,
    )
    return {item["name"]: item for item in response.json["items"]}


def customers(client, org: dict, headers: dict) -> dict[str, dict]:
    response = client.get(
        f"/api/v1/orgs/{org['slug']}/customers", query_string={"per_page": 500}, headers=headers
    )
    assert response.status_code == 200
    return {item["external_ref"]: item for item in response.json["items"]}


# --- vendors ------------------------------------------------------------------------------


def test_vendor_csv_lists_vendors_in_use_and_proposes_the_others(client, org, legal):
    body = csv_text(
        VENDOR_HEADER,
        "Hetzner,Hetzner Online GmbH,DE,subprocessor,Hosting,Hosting,contact details;bookings,"
        "bookings;payments,DE:none (hosting),2021-03-01",
        'Zendesk,"Zendesk, Inc.",US,subprocessor,Zgłoszenia,Support tickets,contact details,,'
        '"IE:none; US:scc:3:general:30 (support (tier 2))",',
    )

    response = post_csv(client, vendors_url(org), body, legal)

    assert response.status_code == 200, response.json
    assert response.json | {"import_id": None} == {
        "import_id": None,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "total": 2,
    }
    assert listed_names(client, org) == ["Hetzner"]
    hetzner = client.get(f"/api/v1/orgs/{org['slug']}/subprocessors").json["items"][0]
    assert hetzner["listed_from"] == "2021-03-01"
    assert hetzner["status"] == "active"
    assert hetzner["services"] == ["bookings", "payments"]
    assert hetzner["data_categories_en"] == ["contact details", "bookings"]
    zendesk = proposed(client, org, legal)["Zendesk"]
    assert zendesk["status"] == "proposed"
    assert zendesk["legal_entity"] == "Zendesk, Inc."
    assert [
        (loc["country"], loc["mechanism"], loc["scc_module"], loc["activity"])
        for loc in zendesk["locations"]
    ] == [("IE", "none", None, ""), ("US", "scc", 3, "support (tier 2)")]
    us = zendesk["locations"][1]
    assert (us["scc_clause9_option"], us["scc_clause9_notice_days"]) == ("general", 30)
    # Registration per vendor, the listing of the one in use, and the summary.
    assert audit_actions(client, org, legal)[-4:] == [
        "recipient.registered",
        "recipient.listed",
        "recipient.registered",
        "import.completed",
    ]
    assert_chain_ok(client, org, legal)


def test_vendor_json_names_a_parent_from_an_earlier_row(client, org, legal, world):
    body = [
        vendor(name="Amazon Web Services", listed_from="2020-01-01"),
        vendor(
            name="AWS Frankfurt",
            parent="amazon web services",
            locations=[{"country": "DE", "mechanism": "none", "activity": "hosting"}],
        ),
    ]

    response = client.post(vendors_url(org), json=body, headers=legal)

    assert response.status_code == 200, response.json
    assert response.json["created"] == 2
    assert listed_names(client, org) == ["Amazon Web Services"]
    parent_id = client.get(f"/api/v1/orgs/{org['slug']}/subprocessors").json["items"][0]["id"]
    assert proposed(client, org, legal)["AWS Frankfurt"]["parent_id"] == parent_id


def test_vendor_json_lines_are_accepted(client, org, legal):
    lines = "\n".join(json.dumps(vendor(name=n)) for n in ("Bugsnag", "Smartsupp")) + "\n"

    response = client.post(
        vendors_url(org), data=lines, content_type="application/x-ndjson", headers=legal
    )

    assert response.status_code == 200, response.json
    assert set(proposed(client, org, legal)) == {"Bugsnag", "Smartsupp"}


def test_vendor_csv_with_bad_rows_reports_each_and_writes_nothing(app, client, org, legal):
    taken = client.post(
        f"/api/v1/orgs/{org['slug']}/subprocessors", json=vendor(name="Stripe"), headers=legal
    )
    assert taken.status_code == 201
    before = counts(app, org)
    body = csv_text(
        VENDOR_HEADER,
        "Hetzner,Hetzner Online GmbH,DE,subprocessor,Hosting,Hosting,,,DE:none,2021-03-01",
        "Nowhere,Nowhere Ltd,XX,subprocessor,p,p,,,DE:none,",
        "Zendesk,Zendesk Inc.,US,subprocessor,p,p,,,US:scc,",
        "Tpay,Krajowy Integrator Płatności S.A.,PL,subprocessor,p,p,,nope,PL:none,",
        "stripe,Stripe Payments Europe Ltd,IE,independent_controller,p,p,,,IE:none,",
        "Hetzner,Hetzner Online GmbH,DE,subprocessor,Hosting,Hosting,,,DE:none,",
        "Odd,Odd Ltd,DE,subprocessor,p,p,,,DE-none,",
    )

    response = post_csv(client, vendors_url(org), body, legal)

    errors = row_errors(response)
    assert sorted(errors) == [2, 3, 4, 5, 6, 7]
    assert set(errors[2]) == {"country"}
    assert errors[3] == {
        "locations": ["Entry 1: scc_module: Required when the mechanism is 'scc'."]
    }
    assert errors[4] == {"services": ["Unknown service 'nope' of bookero."]}
    assert set(errors[5]) == {"name"}
    assert errors[5]["name"][0].startswith("exists")
    assert errors[6] == {"name": ["Also in row 1."]}
    assert "COUNTRY:MECHANISM" in errors[7]["locations"][0]
    assert response.json["errors"]["rows"][0]["line"] == 3  # the header is line 1
    assert response.json["invalid_rows"] == 6
    assert counts(app, org) == before
    assert listed_names(client, org) == []


def test_vendor_json_errors_name_the_field_path(app, client, org, legal):
    before = counts(app, org)
    body = [
        vendor(name="Good"),
        vendor(name="Bad", locations=[{"country": "US", "mechanism": "scc"}], parent_id=1),
        "not an object",
    ]

    response = client.post(vendors_url(org), json=body, headers=legal)

    errors = row_errors(response)
    assert errors[2] == {
        "locations.0.scc_module": ["Required when the mechanism is 'scc'."],
        "parent_id": ["Unknown field."],
    }
    assert errors[3] == {"_schema": ["Each row is a JSON object."]}
    assert counts(app, org) == before


def test_vendor_csv_takes_locations_as_json_in_a_cell(client, org, legal):
    cell = json.dumps(
        [
            {
                "international_organisation": "UNHCR",
                "mechanism": "derogation",
                "derogation_ground": "d",
            },
            {"country": "CH", "mechanism": "adequacy", "adequacy_reference": "2000/518/EC"},
        ]
    )
    header = "name,legal_entity,country,role,purpose_pl,purpose_en,locations"
    body = csv_text(
        header, "Relief,Relief Org,CH,subprocessor,p,p," + '"' + cell.replace('"', '""') + '"'
    )

    response = post_csv(client, vendors_url(org), body, legal)

    assert response.status_code == 200, response.json
    locations = proposed(client, org, legal)["Relief"]["locations"]
    assert [(loc["international_organisation"], loc["country"]) for loc in locations] == [
        ("UNHCR", None),
        (None, "CH"),
    ]
    assert locations[1]["adequacy_reference"] == "2000/518/EC"


def test_a_row_longer_than_the_header_is_an_error(client, org, legal):
    header = "name,legal_entity,country,role,purpose_pl,purpose_en,locations"
    body = csv_text(header, "Hetzner,Hetzner Online GmbH,DE,subprocessor,p,p,DE:none,surplus")

    errors = row_errors(post_csv(client, vendors_url(org), body, legal))

    assert errors == {1: {"_schema": ["More cells than the header has columns."]}}


def test_vendor_listed_from_in_the_future_is_an_announcement_not_an_import(
    client, org, legal, world
):
    body = [vendor(listed_from=world.day(org, 10))]

    errors = row_errors(client.post(vendors_url(org), json=body, headers=legal))

    assert "announced as a change" in errors[1]["listed_from"][0]


# --- customers ----------------------------------------------------------------------------

CUSTOMER_HEADER = "external_ref,name,started_on,services,email,contact_name,locale,authorisation"


def test_customers_are_upserted_by_external_ref(app, client, org, legal):
    first = csv_text(
        CUSTOMER_HEADER,
        "C-1,Salon Anna,2022-05-01,bookings,anna@salon.example,Anna,pl,general",
        "C-2,Barber Bob,2023-01-10,bookings;payments,,,,specific",
    )
    response = post_csv(client, customers_url(org), first, legal)
    assert response.status_code == 200, response.json
    assert (response.json["created"], response.json["updated"]) == (2, 0)

    second = [
        {"external_ref": "C-1", "name": "Salon Anna i Syn", "services": ["bookings"]},
        {"external_ref": "C-2", "name": "Barber Bob"},
        {
            "external_ref": "C-3",
            "name": "Gabinet Ewa",
            "started_on": "2024-02-01",
            "contacts": [{"email": "ewa@gabinet.example", "locale": "en"}],
            "agreement": {"notice_days": 45},
        },
    ]
    response = client.post(customers_url(org), json=second, headers=legal)

    assert response.status_code == 200, response.json
    assert response.json | {"import_id": None} == {
        "import_id": None,
        "created": 1,
        "updated": 1,
        "unchanged": 1,
        "total": 3,
    }
    found = customers(client, org, legal)
    assert found["C-1"]["name"] == "Salon Anna i Syn"
    assert found["C-1"]["started_on"] == "2022-05-01"  # left out: kept
    assert found["C-1"]["contacts"] == [
        {"email": "anna@salon.example", "name": "Anna", "locale": "pl"}
    ]
    assert found["C-2"]["services"] == ["bookings", "payments"]
    assert found["C-2"]["agreement"]["authorisation"] == "specific"
    assert found["C-3"]["agreement"]["notice_days"] == 45
    assert found["C-3"]["contacts"][0]["locale"] == "en"
    events = client.get(
        f"/api/v1/orgs/{org['slug']}/audit",
        query_string={"action": "customer.edited"},
        headers=legal,
    ).json["items"]
    assert len(events) == 1
    assert events[0]["before"] == {"name": "Salon Anna"}
    assert events[0]["after"] == {"name": "Salon Anna i Syn"}
    assert audit_actions(client, org, legal).count("customer.created") == 3
    assert audit_actions(client, org, legal).count("import.completed") == 2
    assert_chain_ok(client, org, legal)


def test_customer_csv_row_adds_or_edits_one_contact_and_keeps_the_rest(client, org, legal):
    seed = csv_text(CUSTOMER_HEADER, "C-1,Salon Anna,2022-05-01,,anna@salon.example,Anna,en,")
    assert post_csv(client, customers_url(org), seed, legal).status_code == 200

    update = csv_text(
        "external_ref,name,email,contact_name",
        "C-1,Salon Anna,office@salon.example,Biuro",
    )
    response = post_csv(client, customers_url(org), update, legal)
    assert response.status_code == 200, response.json
    rename = csv_text(
        "external_ref,name,email,contact_name", "C-1,Salon Anna,ANNA@salon.example,A."
    )
    response = post_csv(client, customers_url(org), rename, legal)
    assert response.status_code == 200, response.json

    contacts = customers(client, org, legal)["C-1"]["contacts"]
    # The second row named no locale: the stored "en" stays.
    assert contacts == [
        {"email": "ANNA@salon.example", "name": "A.", "locale": "en"},
        {"email": "office@salon.example", "name": "Biuro", "locale": "pl"},
    ]


def test_customer_file_with_bad_rows_writes_nothing(app, client, org, legal):
    seed = csv_text(CUSTOMER_HEADER, "C-9,Old Customer,2024-06-01,,,,,")
    assert post_csv(client, customers_url(org), seed, legal).status_code == 200
    before = counts(app, org)
    body = csv_text(
        "external_ref,name,started_on,ended_on,services,email,locale,notice_days",
        "C-1,Good,2022-01-01,,bookings,good@salon.example,pl,",
        "C-2,Bad mail,2022-01-01,,,not-an-email,pl,",
        "C-3,Bad service,2022-01-01,,bookings;spa,,,",
        "C-1,Duplicate,2022-01-01,,,,,",
        "C-4,Ends first,2022-01-01,2021-01-01,,,,",
        "C-9,Ends before stored start,,2020-01-01,,,,",
        "C-5,Bad terms,2022-01-01,,,,xx,-1",
        ",No ref,2022-01-01,,,,,",
    )

    response = post_csv(client, customers_url(org), body, legal)

    errors = row_errors(response)
    assert errors[2] == {"email": ["Not a valid email address."]}
    assert errors[3] == {"services": ["Unknown service 'spa' of bookero."]}
    assert errors[4] == {"external_ref": ["Also in row 1."]}
    assert errors[5] == {"ended_on": ["Before started_on."]}
    assert "stored started_on" in errors[6]["ended_on"][0]
    # A locale without an e-mail names no contact.
    assert set(errors[7]) == {"email", "locale", "notice_days"}
    assert set(errors[8]) == {"external_ref"}
    assert 1 not in errors
    assert counts(app, org) == before


def test_customer_import_of_3000_rows_crosses_chunk_boundaries(app, client, org, legal):
    assert app.config["IMPORT_CHUNK_SIZE"] < 3000
    header = "external_ref,name,started_on,services,email"
    rows = [f"C-{n:05d},Customer {n},2023-01-01,bookings,owner{n}@example.com" for n in range(3000)]

    response = post_csv(client, customers_url(org), csv_text(header, *rows), legal)

    assert response.status_code == 200, response.json
    assert response.json["created"] == 3000
    assert counts(app, org)["customers"] == 3000
    # Upsert again: every chunk looks its rows up; a third of them changed.
    rows = [
        f"C-{n:05d},Customer {n}{'!' if n % 3 == 0 else ''},2023-01-01,bookings,"
        f"owner{n}@example.com"
        for n in range(3000)
    ]
    response = post_csv(client, customers_url(org), csv_text(header, *rows), legal)
    assert response.status_code == 200, response.json
    assert (response.json["updated"], response.json["unchanged"]) == (1000, 2000)
    assert counts(app, org)["customers"] == 3000
    assert_chain_ok(client, org, legal)


def test_a_duplicate_chunks_apart_rolls_back_the_chunks_already_written(app, client, org, legal):
    header = "external_ref,name"
    rows = [f"C-{n},Customer {n}" for n in range(2500)] + ["C-7,Again"]
    before = counts(app, org)

    errors = row_errors(post_csv(client, customers_url(org), csv_text(header, *rows), legal))

    assert errors == {2501: {"external_ref": ["Also in row 8."]}}
    assert counts(app, org) == before


def test_reported_errors_are_capped_and_the_rest_counted(app, client, org, legal):
    previous = app.config["IMPORT_MAX_REPORTED_ERRORS"]
    app.config["IMPORT_MAX_REPORTED_ERRORS"] = 5
    try:
        rows = [f"C-{n},Customer {n},not-a-date" for n in range(12)]
        response = post_csv(
            client, customers_url(org), csv_text("external_ref,name,started_on", *rows), legal
        )
    finally:
        app.config["IMPORT_MAX_REPORTED_ERRORS"] = previous

    assert len(row_errors(response)) == 5
    assert response.json["invalid_rows"] == 12
    assert response.json["unreported_rows"] == 7
    assert "7 more" in response.json["detail"]


def test_customer_json_lines_report_a_bad_line_as_its_row(app, client, org, legal):
    lines = "\n".join(
        [
            json.dumps({"external_ref": "C-1", "name": "One"}),
            "",
            '{"external_ref": "C-2", "name": ',
            json.dumps({"external_ref": "C-3", "name": "Three", "colour": "red"}),
        ]
    )

    response = client.post(
        customers_url(org), data=lines, content_type="application/x-ndjson", headers=legal
    )

    errors = row_errors(response)
    assert list(errors) == [3, 4]
    assert errors[3]["_schema"][0].startswith("Not valid JSON")
    assert errors[4] == {"colour": ["Unknown field."]}
    assert counts(app, org)["customers"] == 0


def test_a_nul_character_is_a_row_error_not_a_database_failure(app, client, org, legal):
    body = [{"external_ref": "C-1", "name": "Salon\u0000Anna"}]

    errors = row_errors(client.post(customers_url(org), json=body, headers=legal))

    assert errors[1] == {"name": ["Contains a NUL character."]}
    assert counts(app, org)["customers"] == 0


def test_csv_in_a_named_charset_is_decoded(client, org, legal):
    body = csv_text("external_ref,name", "C-1,Salon Łódź").encode("cp1250")

    response = post_csv(client, customers_url(org), body, legal, charset="windows-1250")

    assert response.status_code == 200, response.json
    assert customers(client, org, legal)["C-1"]["name"] == "Salon Łódź"


# --- the file as a whole ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "status", "needle"),
    [
        (b"", "text/csv", 422, "empty"),
        (b"external_ref,name\r\n", "text/csv", 422, "no rows"),
        (b"external_ref,name\r\nC-1,Caf\xe9\r\n", "text/csv", 400, "Line 2"),
        (b'external_ref,name\r\nC-1,"open\r\n', "text/csv", 400, "CSV"),
        (b"", "application/json", 422, "empty"),
        (b"[]", "application/json", 422, "no rows"),
        (b'{"external_ref": "C-1"}', "application/json", 422, "JSON array"),
        (b'[{"external_ref": "C-1", "name": "x"},', "application/json", 400, "JSON"),
        (b'[{"name": "Caf\xe9"}]', "application/json", 400, "JSON"),
    ],
)
def test_unreadable_files_are_problems_not_crashes(
    app, client, org, legal, body, content_type, status, needle
):
    response = client.post(customers_url(org), data=body, content_type=content_type, headers=legal)

    assert response.status_code == status, response.json
    assert response.mimetype == "application/problem+json"
    assert needle in response.json["detail"]
    assert counts(app, org)["customers"] == 0


def test_unknown_and_missing_columns_refuse_the_file(client, org, legal):
    response = post_csv(
        client, vendors_url(org), csv_text("name,legal_entity,colour,Name", "x,y,z,w"), legal
    )

    assert response.status_code == 422
    problems = response.json["errors"]["columns"]
    assert "Unknown column 'colour'." in problems
    assert "Column 'name' appears twice." in problems
    assert "Missing column 'locations'." in problems


@pytest.mark.parametrize("content_type", ["text/plain", "application/merge-patch+json"])
def test_other_content_types_are_refused(client, org, legal, content_type):
    response = client.post(
        customers_url(org),
        data=b"external_ref,name\nC-1,x\n",
        content_type=content_type,
        headers=legal,
    )

    assert response.status_code == 415
    assert response.mimetype == "application/problem+json"


def test_import_has_its_own_body_limit(app, client, org, legal):
    body = csv_text("external_ref,name", *(f"C-{n},Customer {n}" for n in range(200)))
    previous = app.config["MAX_CONTENT_LENGTH"], app.config["IMPORT_MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 1000
    try:
        assert len(body) > 1000
        accepted = post_csv(client, customers_url(org), body, legal)
        # Other endpoints keep the general limit.
        plain = client.post(
            f"/api/v1/orgs/{org['slug']}/customers",
            json={"external_ref": "x", "name": "y" * 1000},
            headers=legal,
        )
        app.config["IMPORT_MAX_CONTENT_LENGTH"] = 1000
        too_large = post_csv(client, customers_url(org), body, legal)
    finally:
        app.config["MAX_CONTENT_LENGTH"], app.config["IMPORT_MAX_CONTENT_LENGTH"] = previous

    assert accepted.status_code == 200, accepted.json
    assert plain.status_code == 413
    assert too_large.status_code == 413
    assert too_large.mimetype == "application/problem+json"


# --- who may import -----------------------------------------------------------------------


def test_only_the_organizations_legal_staff_may_import(client, world, org, legal):
    other = world.org("bezkalkulatora")
    other_legal = bearer(world.key("legal", other))
    created = client.post(
        f"/api/v1/orgs/{org['slug']}/customers",
        json={"external_ref": "C-1", "name": "Salon"},
        headers=legal,
    )
    customer_key = bearer(world.key("customer", org, customer_id=created.json["id"]))
    body = csv_text("external_ref,name", "C-2,Salon")

    for url in (customers_url(org), vendors_url(org)):
        assert post_csv(client, url, body, {}).status_code == 401
        assert post_csv(client, url, body, other_legal).status_code == 404
        assert post_csv(client, url, body, customer_key).status_code == 403
    assert list(customers(client, org, legal)) == ["C-1"]


def test_openapi_documents_the_import_bodies(client):
    paths = client.get("/openapi.json").json["paths"]

    for path in ("/api/v1/orgs/{org}/subprocessors/import", "/api/v1/orgs/{org}/customers/import"):
        operation = paths[path]["post"]
        assert set(operation["requestBody"]["content"]) == {
            "text/csv",
            "application/json",
            "application/x-ndjson",
        }
        assert "422" in operation["responses"]
        assert "CSV" in operation["description"]
