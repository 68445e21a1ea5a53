"""What the registry exports, it imports back unchanged: export -> import -> export."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.conftest import bearer, vendor

# Calendar dates in this module are literals: it runs at a fixed moment (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("fixed_clock")

TRICKY = 'Usługi "Żółw", Gęślą & Jaźń; sp. z o.o.'


def source_vendors() -> list[dict]:
    """Several locations, SCC details, bilingual and one-language texts, Polish characters,
    commas, quotes and semicolons in values, a parent, a scope, due diligence."""
    return [
        vendor(
            name="Amazon Web Services",
            legal_entity="Amazon Web Services EMEA SARL",
            country="LU",
            services=["bookings"],
            data_subject_categories_pl=["klienci salonów", "pracownicy"],
            data_subject_categories_en=["salon clients", "staff"],
            locations=[
                {"country": "DE", "mechanism": "none", "activity_pl": "hosting, kopie"},
                {
                    "country": "US",
                    "mechanism": "scc",
                    "scc_module": 3,
                    "scc_clause9_option": "general",
                    "scc_clause9_notice_days": 30,
                    "scc_signed_on": "2023-01-10",
                    "activity_pl": 'wsparcie "24/7"',
                    "activity_en": 'support "24/7", escalations',
                },
                {"region": "EU", "mechanism": "none", "activity_en": "backups"},
            ],
            sub_dpa_signed_on="2023-01-10",
            tia_completed_on="2023-02-01",
            listed_from="2023-02-01",
        ),
        vendor(
            name="Zażółć Gęślą",
            legal_entity=TRICKY,
            country="PL",
            purpose_pl="Obsługa płatności, zwroty; reklamacje",
            purpose_en="",
            data_categories_pl=["imię, nazwisko", 'numer "karty"'],
            data_categories_en=[],
            website=None,
            parent="Amazon Web Services",
            locations=[{"country": "PL", "mechanism": "none"}],
            listed_from="2024-05-01",
        ),
        vendor(
            name="Brak Danych",
            legal_entity="Brak Danych S.A.",
            country="PL",
            locations=[{"region": "not_stated", "mechanism": "none"}],
            listed_from="2025-01-01",
        ),
    ]


@pytest.fixture
def source(world, client) -> tuple[dict, dict]:
    org = world.org("zrodlo")
    legal = bearer(world.key("legal", org))
    response = client.post(
        f"/api/v1/orgs/{org['slug']}/subprocessors/import",
        json=source_vendors(),
        headers=legal,
    )
    assert response.status_code == 200, response.json
    return org, legal


@pytest.fixture
def target(world) -> tuple[dict, dict]:
    org = world.org("cel")
    return org, bearer(world.key("legal", org))


def by_name(items: list[dict]) -> list[dict]:
    """Items with ids (each database's own) replaced by the names they stand for."""
    names = {item["id"]: item["name"] for item in items}
    return [
        {k: v for k, v in item.items() if k != "id"}
        | {"parent_id": names.get(item["parent_id"]) if item["parent_id"] else None}
        for item in items
    ]


def csv_rows(body: bytes) -> list[dict]:
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    names = {row["id"]: row["name"] for row in rows}
    return [
        {k: v for k, v in row.items() if k != "id"} | {"parent_id": names.get(row["parent_id"])}
        for row in rows
    ]


def import_into(client, org: dict, legal: dict, body: bytes, content_type: str) -> None:
    response = client.post(
        f"/api/v1/orgs/{org['slug']}/subprocessors/import",
        data=body,
        content_type=content_type,
        headers=legal,
    )
    assert response.status_code == 200, response.json
    assert response.json["created"] == len(source_vendors())


# The public files, and the API's export of the same list (`format`, as a download).
CSV_EXPORTS = ("/orgs/{}/subprocessors.csv", "/api/v1/orgs/{}/subprocessors/export?format=csv")
JSON_EXPORTS = ("/orgs/{}/subprocessors.json", "/api/v1/orgs/{}/subprocessors/export?format=json")


@pytest.mark.parametrize("url", CSV_EXPORTS)
def test_the_csv_exports_import_back_unchanged(client, source, target, url):
    exported = client.get(url.format(source[0]["slug"])).data
    assert TRICKY in [row["legal_entity"] for row in csv_rows(exported)]

    import_into(client, *target, exported, "text/csv")

    again = client.get(url.format(target[0]["slug"])).data
    assert csv_rows(again) == csv_rows(exported)
    assert len(csv_rows(again)) == 3


@pytest.mark.parametrize("url", JSON_EXPORTS)
def test_the_json_exports_import_back_unchanged(client, source, target, url):
    exported = json.loads(client.get(url.format(source[0]["slug"])).data)

    import_into(client, *target, json.dumps(exported).encode(), "application/json")

    again = json.loads(client.get(url.format(target[0]["slug"])).data)
    assert by_name(again["items"]) == by_name(exported["items"])
    assert again["as_of"] == exported["as_of"]


@pytest.mark.parametrize("as_legal", [True, False])
def test_the_api_list_imports_back_unchanged(client, source, target, as_legal):
    def api_list(org: dict, legal: dict):
        response = client.get(
            f"/api/v1/orgs/{org['slug']}/subprocessors",
            query_string={"per_page": 500},
            headers=legal if as_legal else {},
        )
        assert response.status_code == 200, response.json
        return response

    exported = api_list(*source)
    assert any(item["due_diligence"] for item in exported.json["items"]) is as_legal

    import_into(client, *target, exported.data, "application/json")

    again = api_list(*target).json
    assert by_name(again["items"]) == by_name(exported.json["items"])
    assert again["total"] == exported.json["total"] == 3


def test_the_export_keeps_what_the_round_trip_needs(client, source):
    """The round trip is not trivially equal: the values it carries are the hard ones."""
    items = client.get(f"/orgs/{source[0]['slug']}/subprocessors.json").json["items"]
    aws = next(item for item in items if item["name"] == "Amazon Web Services")
    scc = aws["locations"][1]
    assert (scc["scc_module"], scc["scc_clause9_notice_days"], scc["scc_signed_on"]) == (
        3,
        30,
        "2023-01-10",
    )
    assert aws["locations"][2]["region"] == "EU"
    child = next(item for item in items if item["name"] == "Zażółć Gęślą")
    assert child["parent_id"] == aws["id"]
    assert child["effective_services"] == ["bookings"]
