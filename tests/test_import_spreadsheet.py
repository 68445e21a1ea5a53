"""A vendor list imported as people keep it: their headers, their words, their countries."""

from __future__ import annotations

import json

import pytest

from service.compliance import rules
from service.i18n import country_code
from service.reference import Place
from tests.conftest import vendor
from tests.test_imports import audit_actions, counts, csv_text, post_csv, row_errors, vendors_url

# Calendar dates in this module are literals: it runs at a fixed moment (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("fixed_clock")

POLISH_HEADER = (
    "Dostawca,Podmiot,Kraj,Rola,Cel,Kategorie danych,Lokalizacja,Podstawa transferu,Uwagi,Strona,Od"
)
POLISH_SHEET = csv_text(
    POLISH_HEADER,
    "Hetzner,Hetzner Online GmbH,Niemcy,dalszy podmiot przetwarzający,Hosting serwerów,"
    "dane kontaktowe; historia rezerwacji,Niemcy (hosting),,Umowa z 2021,www.hetzner.com,"
    "2021-03-01",
    'Zendesk,"Zendesk, Inc.",Stany Zjednoczone,Dalszy podmiot przetwarzający,Obsługa zgłoszeń,'
    "dane kontaktowe,Irlandia; Stany Zjednoczone (wsparcie),SCC moduł 3,,zendesk.com,2022-01-10",
    "Brevo,Sendinblue SAS,Francja,dalszy podmiot przetwarzający,Wysyłka e-maili,adres e-mail,"
    "EOG,,,,2023-05-01",
    "Kopiarz,Kopiarz Sp. z o.o.,Polska,dalszy podmiot przetwarzający,Kopie zapasowe,"
    "dane kontaktowe,nie podano,,,,2023-05-01",
)
MAPPING = json.dumps({"Od": "listed_from"})


def listed(client, org: dict, headers: dict | None = None, **args: object) -> dict[str, dict]:
    response = client.get(
        f"/api/v1/orgs/{org['slug']}/subprocessors",
        query_string={"per_page": 500, **args},
        headers=headers or {},
    )
    assert response.status_code == 200, response.json
    return {item["name"]: item for item in response.json["items"]}


def imported(client, org, legal, body: str, **args: object):
    url = vendors_url(org)
    return client.post(url, data=body, content_type="text/csv", headers=legal, query_string=args)


def test_a_polish_sheet_imports_with_a_mapping_and_no_hand_editing(client, org, legal):
    response = imported(client, org, legal, POLISH_SHEET, mapping=MAPPING)

    assert response.status_code == 200, response.json
    assert response.json["created"] == 4
    vendors = listed(client, org)
    hetzner = vendors["Hetzner"]
    assert hetzner["country"] == "DE"
    assert hetzner["role"] == "subprocessor"
    assert hetzner["purpose_pl"] == "Hosting serwerów"
    assert hetzner["purpose_en"] == ""  # one language: the outputs fall back, marked
    assert hetzner["data_categories_pl"] == ["dane kontaktowe", "historia rezerwacji"]
    assert hetzner["website"] == "https://www.hetzner.com"
    assert hetzner["listed_from"] == "2021-03-01"
    assert [
        (loc["country"], loc["mechanism"], loc["activity_pl"]) for loc in hetzner["locations"]
    ] == [("DE", "none", "hosting")]
    zendesk = vendors["Zendesk"]
    assert zendesk["legal_entity"] == "Zendesk, Inc."
    assert [
        (loc["country"], loc["mechanism"], loc["scc_module"], loc["scc_set"])
        for loc in zendesk["locations"]
    ] == [("IE", "scc", 3, "2021/914"), ("US", "scc", 3, "2021/914")]
    assert vendors["Brevo"]["locations"][0]["region"] == "EEA"
    assert vendors["Brevo"]["locations"][0]["country"] is None
    unstated = vendors["Kopiarz"]["locations"][0]
    assert (unstated["region"], unstated["country"]) == ("not_stated", None)


def test_not_stated_is_a_gap_and_eea_is_no_transfer(client, org, legal):
    assert imported(client, org, legal, POLISH_SHEET, mapping=MAPPING).status_code == 200

    report = client.get(f"/api/v1/orgs/{org['slug']}/compliance", headers=legal).json
    rules_by_vendor = {}
    for item in report["items"]:
        rules_by_vendor.setdefault((item["recipient"] or {}).get("name"), set()).add(item["rule"])
    assert "transfer.location_not_stated" in rules_by_vendor["Kopiarz"]
    assert not {r for r in rules_by_vendor.get("Brevo", ()) if r.startswith("transfer.")}
    published = client.get(f"/orgs/{org['slug']}/subprocessors.json").json
    shown = {item["name"]: item["locations"][0] for item in published["items"]}
    # Not stated is never published as "no transfer"; the EEA is.
    assert shown["Kopiarz"]["safeguard_status"] == "under_review"
    assert shown["Brevo"]["safeguard_status"] == "no_transfer"


def test_outputs_say_a_purpose_is_in_the_other_language_only(client, org, legal):
    assert imported(client, org, legal, POLISH_SHEET, mapping=MAPPING).status_code == 200

    english = client.get(f"/orgs/{org['slug']}/subprocessors?lang=en").get_data(as_text=True)
    polish = client.get(f"/orgs/{org['slug']}/subprocessors?lang=pl").get_data(as_text=True)

    assert "Hosting serwerów (in Polish only)" in english
    assert "Hosting serwerów" in polish
    assert "(in Polish only)" not in polish
    assert "not stated" in english
    assert "nie podano" in polish


def test_country_names_in_polish_and_english_and_codes_are_recognised():
    assert country_code("Niemcy") == country_code("germany") == country_code("de") == "DE"
    assert country_code("STANY ZJEDNOCZONE") == country_code("United States") == "US"
    assert country_code("Wlochy") == country_code("Włochy") == "IT"  # accents do not count
    assert country_code("Atlantyda") is None
    assert country_code("EU") is None  # a region, not a country of establishment


def test_an_unknown_column_is_refused_by_name_unless_ignored(client, org, legal):
    sheet = POLISH_SHEET.replace(",Od\r\n", ",Od,Kolor\r\n", 1)

    refused = imported(client, org, legal, sheet, mapping=MAPPING)
    ignored = imported(client, org, legal, sheet, mapping=MAPPING, unknown_columns="ignore")

    assert refused.status_code == 422
    assert refused.json["errors"]["columns"] == ["Unknown column 'Kolor'."]
    assert ignored.status_code == 200, ignored.json
    assert ignored.json["created"] == 4


def test_a_column_mapped_to_null_is_skipped(client, org, legal):
    sheet = POLISH_SHEET.replace(",Od\r\n", ",Od,Kolor\r\n", 1)

    response = imported(
        client, org, legal, sheet, mapping=json.dumps({"Od": "listed_from", "kolor": None})
    )

    assert response.status_code == 200, response.json


@pytest.mark.parametrize(
    ("mapping", "needle"),
    [
        ("{not json", "Not valid JSON"),
        (json.dumps({"Od": "colour"}), "Unknown field 'colour'"),
        (json.dumps(["Od"]), "column"),
    ],
)
def test_a_bad_mapping_is_a_problem(client, org, legal, mapping, needle):
    response = imported(client, org, legal, POLISH_SHEET, mapping=mapping)

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert needle in json.dumps(response.json["errors"]["mapping"])


def test_without_the_mapping_the_missing_fields_are_named(client, org, legal):
    sheet = csv_text("Dostawca,Cel", "Hetzner,Hosting")

    response = imported(client, org, legal, sheet)

    assert response.status_code == 422
    problems = response.json["errors"]["columns"]
    assert "Missing column 'legal_entity'." in problems
    assert "Missing column 'locations'." in problems


def test_comma_lists_are_detected_and_the_separator_can_be_named(client, org, legal, app):
    header = "vendor,entity,country,role,purpose,data categories,location"
    row = 'Hetzner,Hetzner Online GmbH,DE,subprocessor,Hosting,"name, e-mail",Germany'

    as_commas = imported(client, org, legal, csv_text(header, row), mode="upsert")
    assert as_commas.status_code == 200, as_commas.json
    assert listed(client, org, legal, status="all")["Hetzner"]["data_categories_en"] == [
        "name",
        "e-mail",
    ]
    as_one = imported(client, org, legal, csv_text(header, row), mode="upsert", list_separator=";")
    assert as_one.status_code == 200, as_one.json
    assert listed(client, org, legal, status="all")["Hetzner"]["data_categories_en"] == [
        "name, e-mail"
    ]


def test_the_sheet_language_can_be_named(client, org, legal):
    header = "Dostawca,Podmiot,Kraj,Rola,Cel,Lokalizacja"
    row = "Hetzner,Hetzner Online GmbH,Niemcy,subprocessor,Server hosting,Niemcy"

    response = imported(client, org, legal, csv_text(header, row), lang="en")

    assert response.status_code == 200, response.json
    vendor = listed(client, org, legal, status="all")["Hetzner"]
    assert (vendor["purpose_en"], vendor["purpose_pl"]) == ("Server hosting", "")


def test_every_error_of_a_row_is_reported_with_its_value(app, client, org, legal):
    before = counts(app, org)
    sheet = csv_text(
        POLISH_HEADER,
        "Hetzner,Hetzner Online GmbH,Niemcyy,szef,Hosting,dane,Atlantyda,SCCX,,,wczoraj",
    )

    response = imported(client, org, legal, sheet, mapping=MAPPING)

    errors = row_errors(response)[1]
    assert set(errors) == {"Kraj", "Rola", "Podstawa transferu", "Lokalizacja", "Od"}
    # One message each: a cell that could not be read is not also reported as missing.
    assert all(len(messages) == 1 for messages in errors.values()), errors
    assert "'Niemcyy'" in errors["Kraj"][0]
    assert "'szef'" in errors["Rola"][0]
    assert "'SCCX'" in errors["Podstawa transferu"][0]
    assert "'Atlantyda'" in errors["Lokalizacja"][0]
    assert errors["Od"] == ["'wczoraj': Not a valid date."]
    assert counts(app, org) == before


def upsert_sheet(purpose: str, website: str, name: str = "Hetzner") -> str:
    return csv_text(
        "Nr,Dostawca,Podmiot,Kraj,Rola,Cel,Lokalizacja,Strona,Od",
        f"H-1,{name},Hetzner Online GmbH,Niemcy,subprocessor,{purpose},Niemcy,{website},2021-03-01",
        "Z-2,Zendesk,Zendesk Inc.,Irlandia,subprocessor,Zgłoszenia,Irlandia,zendesk.com,",
    )


UPSERT = {"mapping": json.dumps({"Nr": "external_id", "Od": "listed_from"}), "mode": "upsert"}


def test_a_second_upsert_corrects_rather_than_duplicates(app, client, org, legal):
    first = imported(client, org, legal, upsert_sheet("Hosting", "hetzner.com"), **UPSERT)
    assert first.json["created"] == 2, first.json

    again = imported(client, org, legal, upsert_sheet("Hosting", "hetzner.com"), **UPSERT)
    corrected = imported(
        client,
        org,
        legal,
        upsert_sheet("Hosting", "www.hetzner.de", name="Hetzner Online").replace(
            "Zgłoszenia", "Obsługa zgłoszeń"
        ),
        **UPSERT,
    )

    assert (again.json["created"], again.json["unchanged"]) == (0, 2), again.json
    assert corrected.status_code == 200, corrected.json
    assert (corrected.json["created"], corrected.json["updated"]) == (0, 2), corrected.json
    vendors = listed(client, org, legal, status="all")
    assert set(vendors) == {"Hetzner Online", "Zendesk"}  # renamed by its external id
    assert vendors["Hetzner Online"]["website"] == "https://www.hetzner.de"
    # Zendesk is not on the public list yet: its purpose is edited directly.
    assert vendors["Zendesk"]["purpose_pl"] == "Obsługa zgłoszeń"
    assert counts(app, org)["recipients"] == 2
    assert audit_actions(client, org, legal).count("recipient.edited") == 2


def test_a_material_change_of_a_listed_vendor_asks_for_an_update(app, client, org, legal):
    assert (
        imported(client, org, legal, upsert_sheet("Hosting", "hetzner.com"), **UPSERT).json[
            "created"
        ]
        == 2
    )
    before = counts(app, org)

    response = imported(client, org, legal, upsert_sheet("Kopie zapasowe", "hetzner.com"), **UPSERT)

    errors = row_errors(response)
    assert list(errors) == [1]
    message = errors[1]["Cel"][0]
    assert "'Kopie zapasowe' differs from 'Hosting'" in message
    assert "announce an 'update' change" in message
    assert counts(app, org) == before


def test_create_mode_refuses_a_vendor_that_exists(client, org, legal):
    assert (
        imported(client, org, legal, upsert_sheet("Hosting", "hetzner.com"), **UPSERT).json[
            "created"
        ]
        == 2
    )

    response = imported(
        client, org, legal, upsert_sheet("Hosting", "hetzner.com"), mapping=UPSERT["mapping"]
    )

    errors = row_errors(response)
    assert errors[1]["Dostawca"][0].startswith("exists")
    assert "'H-1' exists" in errors[1]["Nr"][0]


def test_the_native_columns_still_import(client, org, legal):
    body = csv_text(
        "name,legal_entity,country,role,purpose_pl,purpose_en,locations,listed_from",
        "Hetzner,Hetzner Online GmbH,DE,subprocessor,Hosting,Hosting,"
        '"DE:none (hosting); US:scc:3:general:30 (wsparcie | support)",2021-03-01',
    )

    response = post_csv(client, vendors_url(org), body, legal)

    assert response.status_code == 200, response.json
    locations = listed(client, org)["Hetzner"]["locations"]
    assert [(loc["activity_pl"], loc["activity_en"]) for loc in locations] == [
        ("hosting", "hosting"),
        ("wsparcie", "support"),
    ]
    assert locations[1]["scc_clause9_notice_days"] == 30


def test_a_region_is_judged_without_inventing_a_country(fixed_clock):
    on = fixed_clock.date()
    eea = {"region": "EEA", "mechanism": "none"}
    eu = {"region": "EU", "mechanism": "none"}
    unstated = {"region": "not_stated", "mechanism": "none"}

    assert rules.transfer_places("DE", eea, on) == []
    # The importer's own establishment still counts: a US vendor in the EU is an importer.
    assert rules.transfer_places("US", eu, on) == [Place(country="US")]
    assert rules.transfer_places("DE", unstated, on) == [Place(region="not_stated")]
    vendor = rules.Vendor(name="V", country="DE", role="subprocessor", locations=(unstated,))
    assert rules.transfer_status(vendor, unstated, on).state == rules.GAP


def test_an_export_row_with_earlier_listing_periods_points_to_the_history_import(
    client, org, legal
):
    periods = [
        {"listed_from": "2020-01-01", "listed_until": "2021-01-01"},
        {"listed_from": "2024-01-01", "listed_until": None},
    ]
    row = vendor(id=7, parent_id=None, listed_from="2024-01-01", listing_periods=periods)

    response = client.post(vendors_url(org), json=[row], headers=legal)

    errors = row_errors(response)
    assert list(errors[1]) == ["listing_periods"]
    assert "history import" in errors[1]["listing_periods"][0]
