"""The processor's record (Art. 30(2)), the annexes, the exports and the policy section,
checked on the demo organizations."""

from __future__ import annotations

import csv
import io
import json

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import select

from service import clock
from service.demo.seed import seed
from service.extensions import db
from service.organizations.models import Organization
from tests.conftest import bearer, vendor
from tests.notice_kit import assert_problem

# Calendar dates in this module are literals: it runs at a fixed moment (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("fixed_clock")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOOKERO = "/api/v1/orgs/bookero"
BEZ = "/api/v1/orgs/bezkalkulatora"
EVIL = '=HYPERLINK("http://evil.example","x")'


@pytest.fixture
def demo(app: Flask, world) -> dict:
    """The demo seeded through the real services, with a legal key for each organization."""
    with app.app_context():
        seed(app.instance_path, actor="test")
        db.session.commit()
        orgs = {
            o.slug: {"id": o.id, "slug": o.slug, "timezone": o.timezone}
            for o in db.session.scalars(select(Organization))
        }
    return {
        "orgs": orgs,
        "bookero": bearer(world.key("legal", orgs["bookero"])),
        "bezkalkulatora": bearer(world.key("legal", orgs["bezkalkulatora"])),
    }


@pytest.fixture
def evil_name(client, demo) -> None:
    """BK-0004 renamed to what a spreadsheet would run as a formula."""
    glamour = customers(client, demo["bookero"])["BK-0004"]
    renamed = client.patch(
        f"{BOOKERO}/customers/{glamour['id']}", json={"name": EVIL}, headers=demo["bookero"]
    )
    assert renamed.status_code == 200, renamed.json


def customers(client, legal) -> dict[str, dict]:
    items = client.get(f"{BOOKERO}/customers", headers=legal).json["items"]
    return {c["external_ref"]: c for c in items}


def vendor_id(client, name: str, base: str = BOOKERO) -> int:
    items = client.get(f"{base}/subprocessors", query_string={"per_page": 500}).json["items"]
    return next(item["id"] for item in items if item["name"] == name)


def list_vendor(client, legal, base: str = BOOKERO, **overrides) -> dict:
    """Register a vendor and put it on the list today (an urgent add: setup, not the point)."""
    registered = client.post(f"{base}/subprocessors", json=vendor(**overrides), headers=legal)
    assert registered.status_code == 201, registered.json
    change = client.post(
        f"{base}/changes",
        json={
            "kind": "add",
            "recipient_id": registered.json["id"],
            "effective_on": clock.local_today("Europe/Warsaw").isoformat(),
            "urgent": True,
            "urgent_justification": "Test setup",
        },
        headers=legal,
    )
    assert change.status_code == 201, change.json
    return registered.json


def names(items: list[dict]) -> set[str]:
    return {item["name"] for item in items}


# --- the record (Art. 30(2)) ----------------------------------------------------------------


def test_record_json_names_processor_controllers_recipients_and_transfers(client, demo):
    response = client.get(f"{BOOKERO}/record", headers=demo["bookero"])
    assert response.status_code == 200, response.json
    body = response.json
    assert body["processor"]["name"] == "SAFI STUDIO Paweł Nowakowski"
    assert body["processor"]["address"] == "Dębina, ul. Spacerowa 25, 05-152 Czosnów"
    assert body["processor"]["legal_contact_email"] == "rodo@bookero.example"
    assert body["processor"]["dpo"] == {"name": None, "email": None}
    assert body["security_measures"].startswith("Summary of technical and organisational")
    controllers = {c["external_ref"]: c for c in body["controllers"]}
    assert set(controllers) == {"BK-0001", "BK-0002", "BK-0003", "BK-0004"}
    assert body["total"] == 4

    bella = controllers["BK-0001"]
    assert bella["name"] == "Salon Urody Bella"
    assert bella["contacts"] == ["recepcja@salon-bella.example.com"]
    assert bella["services"] == ["Online bookings", "Online payments"]
    # Its list: the payment providers are there (payments), the SMS sender is not.
    assert {"Stripe", "tpay.com", "Bugsnag", "Hetzner Online"} <= names(bella["recipients"])
    assert "Amazon Web Services" not in names(bella["recipients"])
    assert "Online payments" in bella["processing_categories"]
    assert any("Error tracking" in c for c in bella["processing_categories"])
    assert "IP address and browser data" in bella["data_categories"]
    assert "customers' clients (payers)" in bella["data_subject_categories"]

    transfers = {t["recipient"]: t for t in bella["transfers"]}
    assert "Hetzner Online" not in transfers  # EEA importer in the EEA: no transfer
    assert "tpay.com" not in transfers
    bugsnag = transfers["Bugsnag"]
    assert bugsnag["third_countries"] == ["United States (US)"]
    assert (bugsnag["mechanism"], bugsnag["scc_module"]) == ("scc", 3)
    assert "2021/914" in bugsnag["safeguard"]
    assert bugsnag["tia_reference"].startswith("TIA-2023-02")
    assert transfers["Stripe"]["mechanism"] == "dpf"
    assert "Data Privacy Framework" in transfers["Stripe"]["safeguard"]


def test_record_as_of_a_past_date_has_the_controllers_of_that_day(client, demo):
    body = client.get(
        f"{BOOKERO}/record", query_string={"as_of": "2024-03-01"}, headers=demo["bookero"]
    ).json
    assert [c["external_ref"] for c in body["controllers"]] == ["BK-0001"]
    assert body["as_of"] == "2024-03-01"


def test_record_in_polish_uses_the_polish_fields(client, demo):
    body = client.get(
        f"{BOOKERO}/record", query_string={"lang": "pl"}, headers=demo["bookero"]
    ).json
    bella = next(c for c in body["controllers"] if c["external_ref"] == "BK-0001")
    assert bella["services"] == ["Rezerwacje online", "Płatności online"]


def test_record_csv_is_one_row_per_controller_and_guards_formulas(client, demo, evil_name):
    response = client.get(f"{BOOKERO}/record?format=csv", headers=demo["bookero"])
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 4
    bella = next(r for r in rows if r["external_ref"] == "BK-0001")
    assert bella["processor"] == "SAFI STUDIO Paweł Nowakowski"
    assert "Stripe" in bella["recipients"].split("; ")
    assert (
        "Bugsnag -> United States (US): [valid] based on the standard contractual clauses"
        in bella["transfers"]
    )
    evil = next(r for r in rows if r["external_ref"] == "BK-0004")
    assert evil["name"] == "'" + EVIL


def test_record_xlsx_opens_with_the_expected_sheets_and_rows(client, demo, evil_name):
    response = client.get(f"{BOOKERO}/record?format=xlsx", headers=demo["bookero"])
    assert response.status_code == 200
    assert response.mimetype == XLSX
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["Processor", "Processing", "Subprocessors", "Transfers", "Security"]

    processor = {row[0]: row[1] for row in book["Processor"].iter_rows(values_only=True)}
    assert processor["Name"] == "SAFI STUDIO Paweł Nowakowski"
    assert processor["Address"] == "Dębina, ul. Spacerowa 25, 05-152 Czosnów"
    assert processor["Legal contact e-mail"] == "rodo@bookero.example"
    assert processor["DPO name"] is None

    processing = list(book["Processing"].iter_rows(values_only=True))
    assert processing[0][:3] == ("Controller ID", "External reference", "Controller")
    refs = {row[1]: row for row in processing[1:]}
    assert set(refs) == {"BK-0001", "BK-0002", "BK-0003", "BK-0004"}
    assert refs["BK-0001"][2] == "Salon Urody Bella"
    assert processing[0][11] == "Services used"
    assert refs["BK-0001"][11] == "Online bookings\nOnline payments"
    # A would-be formula is a plain string cell, never evaluated.
    evil_row = next(row for row in book["Processing"].iter_rows() if row[1].value == "BK-0004")
    assert evil_row[2].value == EVIL
    assert evil_row[2].data_type == "s"

    subprocessors = list(book["Subprocessors"].iter_rows(values_only=True))
    assert subprocessors[0][:4] == ("External reference", "Controller", "Recipient", "Legal entity")
    bella = {row[2]: row for row in subprocessors[1:] if row[0] == "BK-0001"}
    assert bella["Stripe"][3] == "Stripe Payments Europe, Limited"
    assert bella["Stripe"][6] == "independent_controller"
    assert bella["Google LLC"][9] == "Google Cloud"  # engaged by its parent
    assert "Amazon Web Services" not in bella

    transfers = list(book["Transfers"].iter_rows(values_only=True))
    bugsnag = next(
        row for row in transfers if row[:3] == ("BK-0001", "Salon Urody Bella", "Bugsnag")
    )
    assert bugsnag[3:12] == (
        "SmartBear Software Inc.",
        "US",
        "United States (US)",
        "United States (US)",
        "scc",
        "2021/914",
        3,
        "2023-06-15",
        "valid",
    )
    assert "2021/914" in bugsnag[12]

    security = [row[0] for row in book["Security"].iter_rows(values_only=True)]
    assert security[0].startswith("Technical and organisational security measures")
    assert security[1].startswith("Summary of technical and organisational measures")
    assert any("two-factor authentication" in line for line in security)


@pytest.mark.parametrize(
    ("accept", "mimetype"),
    [("text/csv", "text/csv"), (XLSX, XLSX), ("application/json", "application/json")],
)
def test_record_format_follows_accept(client, demo, accept, mimetype):
    response = client.get(f"{BOOKERO}/record", headers={**demo["bookero"], "Accept": accept})
    assert response.status_code == 200
    assert response.mimetype == mimetype


def test_record_is_for_legal_staff_of_that_organization(client, demo, world):
    bella = customers(client, demo["bookero"])["BK-0001"]
    customer = bearer(world.key("customer", demo["orgs"]["bookero"], bella["id"]))
    assert_problem(client.get(f"{BOOKERO}/record"), 401)
    assert_problem(client.get(f"{BOOKERO}/record?format=xlsx"), 401)
    assert_problem(client.get(f"{BOOKERO}/record", headers=customer), 403)
    assert_problem(client.get(f"{BOOKERO}/record", headers=demo["bezkalkulatora"]), 404)
    assert_problem(client.get(f"{BOOKERO}/record?format=pdf", headers=demo["bookero"]), 422)


# --- the customer's annex -------------------------------------------------------------------


def test_annex_lists_the_customers_authorised_subprocessors(client, demo, world):
    bella = customers(client, demo["bookero"])["BK-0001"]
    key = bearer(world.key("customer", demo["orgs"]["bookero"], bella["id"]))
    response = client.get(
        f"{BOOKERO}/customers/{bella['id']}/annex", query_string={"lang": "en"}, headers=key
    )
    assert response.status_code == 200, response.json
    annex = response.json
    assert annex["customer"] == {
        "id": bella["id"],
        "external_ref": "BK-0001",
        "name": bella["name"],
    }
    assert annex["authorisation"] == "general"
    assert annex["title"] == "List of sub-processors"
    # Sub-processors only: Stripe and tpay.com are controllers of their own; no SMS sender.
    assert names(annex["items"]) == {
        "Bugsnag",
        "Google Cloud",
        "Google LLC",
        "Hetzner Online",
        "Smartsupp",
    }
    assert [i["number"] for i in annex["items"]] == [1, 2, 3, 4, 5]
    hetzner = next(i for i in annex["items"] if i["name"] == "Hetzner Online")
    assert hetzner["legal_entity"] == "Hetzner Online GmbH"
    assert hetzner["address"] == "Industriestr. 25, 91710 Gunzenhausen"
    assert hetzner["locations"][0]["where"] == "Germany (DE)"
    assert hetzner["purpose"].startswith("Hosting of Bookero's application")
    google_llc = next(i for i in annex["items"] if i["name"] == "Google LLC")
    assert google_llc["parent"]["name"] == "Google Cloud"


def test_annex_html_is_a_printable_page_that_escapes_the_register(client, demo, world):
    list_vendor(client, demo["bookero"], name="<script>alert(1)</script>", services=[])
    bella = customers(client, demo["bookero"])["BK-0001"]
    response = client.get(
        f"{BOOKERO}/customers/{bella['id']}/annex",
        query_string={"format": "html", "lang": "pl"},
        headers=demo["bookero"],
    )
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Wykaz dalszych podmiotów przetwarzających" in page
    assert "Hetzner Online GmbH" in page
    assert "Salon Urody Bella" in page


def test_a_customer_sees_only_its_own_annex(client, demo, world):
    refs = customers(client, demo["bookero"])
    key = bearer(world.key("customer", demo["orgs"]["bookero"], refs["BK-0001"]["id"]))
    assert_problem(
        client.get(f"{BOOKERO}/customers/{refs['BK-0002']['id']}/annex", headers=key), 404
    )
    assert_problem(client.get(f"{BOOKERO}/customers/{refs['BK-0001']['id']}/annex"), 401)
    assert_problem(
        client.get(
            f"{BOOKERO}/customers/{refs['BK-0001']['id']}/annex", headers=demo["bezkalkulatora"]
        ),
        404,
    )


# --- Annex III of the Module 3 clauses -------------------------------------------------------


def test_scc_annex_iii_lists_the_importers_own_subprocessors(client, demo):
    bugsnag = vendor_id(client, "Bugsnag")
    list_vendor(
        client,
        demo["bookero"],
        name="Bugsnag Storage",
        legal_entity="Storage Co. Inc.",
        country="US",
        parent_id=bugsnag,
        locations=[
            {
                "country": "US",
                "mechanism": "scc",
                "scc_module": 3,
                "activity": "Storage of error reports",
            }
        ],
    )
    response = client.get(
        f"{BOOKERO}/subprocessors/{bugsnag}/scc-annex-iii",
        query_string={"lang": "en"},
        headers=demo["bookero"],
    )
    assert response.status_code == 200, response.json
    annex = response.json
    assert annex["importer"]["legal_entity"] == "SmartBear Software Inc."
    assert annex["clauses"] == [
        {
            "where": "United States (US)",
            "scc_module": 3,
            "scc_signed_on": "2023-06-15",
            "scc_clause9_option": "general",
            "scc_clause9_notice_days": 30,
        }
    ]
    [child] = annex["items"]
    assert (child["number"], child["name"], child["legal_entity"]) == (
        1,
        "Bugsnag Storage",
        "Storage Co. Inc.",
    )
    assert child["locations"][0]["activity"] == "Storage of error reports"
    assert child["parent"]["id"] == bugsnag

    page = client.get(
        f"{BOOKERO}/subprocessors/{bugsnag}/scc-annex-iii",
        query_string={"format": "html", "lang": "en"},
        headers=demo["bookero"],
    )
    assert page.status_code == 200
    assert "Annex III: list of sub-processors" in page.get_data(as_text=True)
    assert "Storage Co. Inc." in page.get_data(as_text=True)


def test_scc_annex_iii_needs_a_module_3_vendor_and_a_legal_key(client, demo):
    hetzner = vendor_id(client, "Hetzner Online")
    problem = assert_problem(
        client.get(f"{BOOKERO}/subprocessors/{hetzner}/scc-annex-iii", headers=demo["bookero"]),
        409,
    )
    assert "Module 3" in problem["detail"]
    bugsnag = vendor_id(client, "Bugsnag")
    assert_problem(client.get(f"{BOOKERO}/subprocessors/{bugsnag}/scc-annex-iii"), 401)
    assert_problem(
        client.get(f"{BOOKERO}/subprocessors/999999/scc-annex-iii", headers=demo["bookero"]), 404
    )
    # A vendor of another organization (bezkalkulatora, a controller only, lists none).
    theirs = list_vendor(client, demo["bezkalkulatora"], BEZ, name="Elsewhere")["id"]
    assert_problem(
        client.get(f"{BOOKERO}/subprocessors/{theirs}/scc-annex-iii", headers=demo["bookero"]),
        404,
    )


# --- exports ----------------------------------------------------------------------------------


def test_export_csv_and_json_of_the_public_list(client, demo):
    response = client.get(f"{BOOKERO}/subprocessors/export", query_string={"format": "csv"})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="bookero-subprocessors-' in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert "Bugsnag" in {r["name"] for r in rows}
    assert len(rows) == 8

    as_json = client.get(f"{BOOKERO}/subprocessors/export")
    assert as_json.mimetype == "application/json"
    body = json.loads(as_json.data)
    assert body["total"] == 8

    before = client.get(
        f"{BOOKERO}/subprocessors/export", query_string={"format": "json", "as_of": "2023-12-31"}
    )
    assert json.loads(before.data)["items"] == []


def test_export_csv_guards_against_formula_injection(client, demo):
    list_vendor(client, demo["bookero"], name="=cmd|' /C calc'!A0", legal_entity="@SUM(1+1)")
    text = client.get(f"{BOOKERO}/subprocessors/export?format=csv").get_data(as_text=True)
    row = next(r for r in csv.DictReader(io.StringIO(text)) if "calc" in r["name"])
    assert row["name"] == "'=cmd|' /C calc'!A0"
    assert row["legal_entity"] == "'@SUM(1+1)"


def test_export_of_another_organization_with_a_key_is_not_found(client, demo):
    assert_problem(
        client.get(f"{BOOKERO}/subprocessors/export", headers=demo["bezkalkulatora"]), 404
    )


# --- the privacy-policy section ---------------------------------------------------------------


def test_policy_section_of_bookero_in_polish(client, demo):
    response = client.get(f"{BOOKERO}/privacy-policy-section", query_string={"lang": "pl"})
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    processors, partners = text.split("Zaufani partnerzy")
    assert "Podmioty przetwarzające dane na nasze zlecenie" in processors
    assert (
        "Hetzner Online (Hetzner Online GmbH, siedziba Niemcy (DE)), dalszy podmiot przetwarzający"
        in processors
    )
    assert "Stripe" not in processors
    assert "Stripe (Stripe Payments Europe, Limited" in partners
    assert "odrębny administrator" in partners
    bugsnag = processors[processors.index("Bugsnag") :].split("\n- ")[0]
    assert "poza Europejski Obszar Gospodarczy (Stany Zjednoczone (US))" in bugsnag
    # Named precisely, in the genitive after "na podstawie", with Polish dates.
    assert "na podstawie standardowych klauzul umownych" in bugsnag
    assert "decyzji wykonawczej Komisji (UE) 2021/914 z dnia 4 czerwca 2021 r." in bugsnag
    assert "moduł trzeci: przekazywanie od podmiotu przetwarzającego do podmiotu" in bugsnag
    assert "zawartych 15 czerwca 2023 r." in bugsnag
    # Google Cloud's US location, with the risk note of the pending appeal.
    assert "w sprawie ram ochrony danych UE-USA" in processors
    assert "C-703/25 P" in text


def test_policy_section_of_bookero_in_english_markdown(client, demo):
    response = client.get(
        f"{BOOKERO}/privacy-policy-section", query_string={"lang": "en", "format": "markdown"}
    )
    assert response.mimetype == "text/markdown"
    text = response.get_data(as_text=True)
    assert text.startswith("## Recipients of personal data\n")
    assert "### Processors acting on our behalf" in text
    assert "### Trusted partners" in text
    assert "standard contractual clauses" in text


# What bezkalkulatora's own policy promised and its partners do not keep, in either language.
FALSE_PROMISES = (
    "nie przekazujemy",
    "nie są przekazywane",
    "nie przekazują",
    "we do not transfer",
    "not transferred",
    "do not transfer",
)


def test_bezkalkulatora_policy_names_its_partners_and_not_its_false_promise(client, demo):
    """A controller only: no part on entrusted data; its partners with their roles, the US
    and the DPF for each; 6+1 years for contracts; the essence of both joint arrangements;
    and not one sentence saying that data stays in the EU or the EEA."""
    legal = demo["bezkalkulatora"]
    pl = client.get(f"{BEZ}/privacy-policy?lang=pl&format=md", headers=legal)
    assert pl.status_code == 200, pl.get_data(as_text=True)
    text = pl.get_data(as_text=True)
    assert "Dane powierzone nam do przetwarzania" not in text
    assert "Przetwarzanie danych, których jesteśmy administratorem" in text
    for partner, role in (
        ("Google Analytics", "współadministrator"),
        ("Facebook Pixel", "współadministrator"),
        ("Google Ads", "odrębny administrator"),
        ("YouTube", "odrębny administrator"),
        ("Partner hostingowy", "podmiot przetwarzający"),
    ):
        assert f"{partner} (" in text
        assert f"), {role}: cel:" in text.split(f"{partner} (")[1]
    for partner in ("Google Analytics", "Google Ads", "Facebook Pixel", "YouTube"):
        line = next(x for x in text.splitlines() if x.startswith(f"  - {partner}: Stany"))
        assert "Stany Zjednoczone (US)" in line
        assert "ram ochrony danych UE-USA" in line
    assert "6 lat + 1 rok od końca roku, w którym umowa się zakończyła" in text
    assert "Współadministrowanie (art. 26 RODO)" in text
    assert "C-40/17 Fashion ID" in text
    assert "Controller-Controller Data Protection Terms" in text
    en = client.get(f"{BEZ}/privacy-policy?lang=en&format=md", headers=legal).get_data(as_text=True)
    assert "6 years + 1 year from the end of the year in which the contract ended" in en
    assert "Joint controllers (Art. 26 GDPR)" in en
    for output in (text, en):
        assert not [p for p in FALSE_PROMISES if p in output.lower()], output
    # The processor-hat section has nothing to list, so it promises nothing either.
    section = client.get(f"{BEZ}/privacy-policy-section?lang=pl").get_data(as_text=True)
    assert not [p for p in FALSE_PROMISES if p in section.lower()], section


def test_bookero_policy_keeps_the_two_hats_apart(client, demo):
    legal = demo["bookero"]
    text = client.get(f"{BOOKERO}/privacy-policy?lang=pl&format=md", headers=legal)
    text = text.get_data(as_text=True)
    entrusted, own = text.split("## Przetwarzanie danych, których jesteśmy administratorem")
    assert "## Dane powierzone nam do przetwarzania" in entrusted
    # Customers' data: the subprocessors and the payment controllers, none of the site tools.
    for vendor_name in ("Hetzner Online", "Bugsnag", "tpay.com", "Stripe"):
        assert vendor_name in entrusted
    for tool in ("Hotjar", "Google Analytics", "Meta Platforms Ireland"):
        assert tool not in entrusted
        assert tool in own
    assert "Hotjar (Hotjar Ltd, siedziba Malta (MT)), podmiot przetwarzający" in own
    assert "Współadministrowanie (art. 26 RODO)" in own
    # The customer register keeps everything: the policy says so instead of inventing a period.
    register = own.split("### Rejestr klientów")[1].split("###")[0]
    assert "okres przechowywania nie został określony" in register


@pytest.mark.parametrize("slug", ["bookero", "bezkalkulatora"])
def test_controller_record_of_the_demo_as_xlsx(client, demo, slug):
    answer = client.get(
        f"/api/v1/orgs/{slug}/record/controller?lang=pl&format=xlsx", headers=demo[slug]
    )
    assert answer.status_code == 200
    assert answer.mimetype == XLSX
    book = load_workbook(io.BytesIO(answer.data))
    cells = {str(c.value) for sheet in book for row in sheet.iter_rows() for c in row if c.value}
    assert any("współadministrator" in c for c in cells)
    assert not {"joint_controller", "independent_controller", "6(1)(a)"} & cells


def test_policy_section_words_an_adequacy_transfer(client, demo):
    list_vendor(
        client,
        demo["bookero"],
        name="Swiss Backup",
        country="CH",
        locations=[{"country": "CH", "mechanism": "adequacy", "activity": "backups"}],
    )
    pl = client.get(f"{BOOKERO}/privacy-policy-section?lang=pl").get_data(as_text=True)
    swiss = pl[pl.index("Swiss Backup") :].split("\n- ")[0]
    assert "Szwajcaria (CH)" in swiss
    assert (
        "na podstawie decyzji Komisji 2000/518/WE z dnia 26 lipca 2000 r. stwierdzającej "
        "odpowiedni stopień ochrony (art. 45 RODO)"
    ) in swiss


def test_policy_section_escapes_the_register(client, demo):
    list_vendor(client, demo["bookero"], name="*Bold* [x](http://evil.example) <b>")
    md = client.get(f"{BOOKERO}/privacy-policy-section?format=markdown").get_data(as_text=True)
    assert r"\*Bold\* \[x\](http://evil.example) \<b\>" in md
    html = client.get(f"{BOOKERO}/privacy-policy-section?format=html").get_data(as_text=True)
    assert "&lt;b&gt;" in html
    assert "<b>" not in html
