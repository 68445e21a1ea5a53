"""Data-subject categories and location activities in Polish and English: the API keeps both
(and the one-language keys its clients read before), the import takes both (and the old
columns), and every output in one language shows that language only."""

# ruff: noqa: F811 - the fixtures imported from tests/test_records.py are parameters here
from __future__ import annotations

import json

import pytest

from tests.conftest import vendor
from tests.test_changes import announce, listed, register, shown, vendors_url
from tests.test_imports import csv_text, post_csv, proposed
from tests.test_imports import vendors_url as import_url
from tests.test_records import BOOKERO, customers, demo  # noqa: F401 - fixture

# Calendar dates in this module are literals: it runs at a fixed moment (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("fixed_clock")

# What the demo says of Bookero's vendors in one language, which the other must not show.
ENGLISH = (
    "customers' staff",
    "customers' clients",
    "data centres",
    "hosted in",
    "Payment processing",
    "Processing by",
    "Chat service",
)
POLISH = (
    "pracownicy klientów",
    "klienci salonów",
    "centrach danych",
    "Obsługa płatności",
    "Przetwarzanie przez",
    "Usługa czatu",
)
BILINGUAL = {
    "data_subject_categories_pl": ["pracownicy klientów"],
    "data_subject_categories_en": ["customers' staff"],
    "locations": [
        {
            "country": "DE",
            "mechanism": "none",
            "activity_pl": "hosting serwerów",
            "activity_en": "server hosting",
        }
    ],
}


def outputs(client, demo: dict, lang: str) -> dict[str, str]:
    """Bookero's annex (JSON and page), policy section and record (its vendors) in `lang`."""
    legal = demo["bookero"]
    bella = customers(client, legal)["BK-0001"]
    annex = f"{BOOKERO}/customers/{bella['id']}/annex"
    found = {
        "annex": client.get(annex, query_string={"lang": lang}, headers=legal),
        "annex page": client.get(
            annex, query_string={"lang": lang, "format": "html"}, headers=legal
        ),
        "policy": client.get(f"{BOOKERO}/privacy-policy-section", query_string={"lang": lang}),
        "policy page": client.get(
            f"{BOOKERO}/privacy-policy-section", query_string={"lang": lang, "format": "html"}
        ),
        "record": client.get(f"{BOOKERO}/record", query_string={"lang": lang}, headers=legal),
    }
    for name, response in found.items():
        assert response.status_code == 200, (name, response.get_data(as_text=True)[:500])
    texts = {name: r.get_data(as_text=True) for name, r in found.items()}
    # The record's own texts (security measures, retention) are the organization's, written
    # in one language; what it says of vendors and controllers is what is tested here.
    record = found["record"].json
    texts["record"] = json.dumps(record["controllers"], ensure_ascii=False)
    return texts


@pytest.mark.parametrize(("lang", "foreign"), [("pl", ENGLISH), ("en", POLISH)], ids=["pl", "en"])
def test_demo_outputs_of_one_language_show_no_labels_of_the_other(client, demo, lang, foreign):
    for name, text in outputs(client, demo, lang).items():
        leaked = [phrase for phrase in foreign if phrase in text]
        assert not leaked, f"{name} ({lang}) shows {leaked}"


def test_demo_outputs_name_data_subjects_and_activities_in_their_language(client, demo):
    pl = outputs(client, demo, "pl")
    assert "pracownicy klientów" in pl["annex page"]
    assert "centrach danych Hetzner" in pl["annex page"]
    assert "klienci salonów korzystających z Bookero" in pl["record"]
    en = outputs(client, demo, "en")
    assert "customers&#39; staff" in en["annex page"] or "customers' staff" in en["annex page"]
    assert "Hetzner's Nuremberg" in en["annex"]


def test_api_round_trip_keeps_both_languages_and_the_one_language_keys(client, org, legal):
    created = register(client, org, legal, name="Bilingual", **BILINGUAL)

    got = client.get(vendors_url(org, f"/{created['id']}"), headers=legal).json
    for body in (created, got):
        assert body["data_subject_categories_pl"] == ["pracownicy klientów"]
        assert body["data_subject_categories_en"] == ["customers' staff"]
        assert body["data_subject_categories"] == ["customers' staff"]  # as before: English
        [location] = body["locations"]
        assert (location["activity_pl"], location["activity_en"]) == (
            "hosting serwerów",
            "server hosting",
        )
        assert location["activity"] == "server hosting"


def test_the_old_one_language_input_fills_both_languages(client, org, legal):
    body = vendor(name="Legacy")  # `data_subject_categories` and `activity`, as clients did
    created = register(client, org, legal, **body)

    assert created["data_subject_categories_pl"] == body["data_subject_categories"]
    assert created["data_subject_categories_en"] == body["data_subject_categories"]
    [location] = created["locations"]
    assert location["activity_pl"] == location["activity_en"] == "hosting"
    # Given together, the new names win over the old one.
    both = register(
        client,
        org,
        legal,
        name="Both",
        data_subject_categories=["old"],
        data_subject_categories_pl=["nowe"],
    )
    assert both["data_subject_categories_pl"] == ["nowe"]
    assert both["data_subject_categories_en"] == ["old"]


def test_an_update_of_one_language_is_material(client, world, org, legal):
    recipient = listed(client, world, org, legal, **BILINGUAL)
    day = world.day(org, 5)

    translated = {
        "data_subject_categories_pl": ["pracownicy klientów", "klienci klientów"],
        "locations": [{**BILINGUAL["locations"][0], "activity_pl": "kopie zapasowe"}],
    }
    body = {"kind": "update", "recipient_id": recipient["id"], "effective_on": day}
    change = announce(client, org, legal, **body, update=translated)

    assert set(change["update"]["after"]) == {"data_subject_categories_pl", "locations"}
    after = shown(client, org, recipient["id"], day)
    assert after["data_subject_categories_pl"] == ["pracownicy klientów", "klienci klientów"]
    assert after["data_subject_categories_en"] == ["customers' staff"]
    assert after["locations"][0]["activity_pl"] == "kopie zapasowe"
    # Material where the old fields were: a public vendor's are not edited in place.
    patched = client.patch(
        vendors_url(org, f"/{recipient['id']}"),
        json={"data_subject_categories_en": ["staff"]},
        headers=legal,
    )
    assert patched.status_code == 422
    assert set(patched.json["errors"]) == {"data_subject_categories_en"}


def test_an_output_falls_back_to_the_other_language_and_says_so(client, world, org, legal):
    recipient = listed(
        client,
        world,
        org,
        legal,
        name="English only",
        data_subject_categories=[],  # vendor() gives the old key: none for this one
        data_subject_categories_en=["staff"],
        locations=[{"country": "DE", "mechanism": "none", "activity_en": "hosting"}],
    )
    customer = client.post(
        f"/api/v1/orgs/{org['slug']}/customers",
        json={"external_ref": "C-1", "name": "Salon", "started_on": world.day(org, 0)},
        headers=legal,
    )
    assert customer.status_code == 201, customer.json
    annex_url = f"/api/v1/orgs/{org['slug']}/customers/{customer.json['id']}/annex"

    def item_in(lang: str) -> dict:
        annex = client.get(annex_url, query_string={"lang": lang}, headers=legal).json
        [item] = [i for i in annex["items"] if i["id"] == recipient["id"]]
        return item

    polish = item_in("pl")
    assert polish["data_subject_categories"] == ["staff (tylko po angielsku)"]
    assert polish["locations"][0]["activity"] == "hosting (tylko po angielsku)"
    assert item_in("en")["data_subject_categories"] == ["staff"]
    assert item_in("en")["locations"][0]["activity"] == "hosting"


def test_import_takes_the_new_and_the_old_columns(client, org, legal):
    header = (
        "name,legal_entity,country,role,purpose_pl,purpose_en,"
        "data_subject_categories_pl,data_subject_categories_en,data_subject_categories,locations"
    )
    body = csv_text(
        header,
        "New,New GmbH,DE,subprocessor,Cel,Purpose,pracownicy;klienci,staff;clients,,"
        '"DE:none (hosting serwerów | server hosting)"',
        "Old,Old GmbH,DE,subprocessor,Cel,Purpose,,,staff,DE:none (hosting)",
    )

    response = post_csv(client, import_url(org), body, legal)

    assert response.status_code == 200, response.json
    found = proposed(client, org, legal)
    new, old = found["New"], found["Old"]
    assert new["data_subject_categories_pl"] == ["pracownicy", "klienci"]
    assert new["data_subject_categories_en"] == ["staff", "clients"]
    assert (new["locations"][0]["activity_pl"], new["locations"][0]["activity_en"]) == (
        "hosting serwerów",
        "server hosting",
    )
    assert old["data_subject_categories_pl"] == old["data_subject_categories_en"] == ["staff"]
    assert old["locations"][0]["activity_pl"] == old["locations"][0]["activity_en"] == "hosting"


def test_import_json_takes_both_languages(client, org, legal):
    row = vendor(name="Json", **BILINGUAL)
    del row["data_subject_categories"]

    response = client.post(import_url(org), json=[row], headers=legal)

    assert response.status_code == 200, response.json
    imported = proposed(client, org, legal)["Json"]
    assert imported["data_subject_categories_pl"] == ["pracownicy klientów"]
    assert imported["locations"][0]["activity_en"] == "server hosting"
