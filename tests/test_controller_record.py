"""The organization's record of processing as controller (Art. 30(1)) and its retention
rules in words, in Polish and English, as JSON, CSV and XLSX."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook

from service.controller import retention
from service.controller.models import ProcessingActivity
from tests import controller_kit as kit
from tests.conftest import bearer
from tests.notice_kit import assert_problem

# Calendar dates in this module are literals: it runs at a fixed moment (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("fixed_clock")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EVIL = '=HYPERLINK("http://evil.example","x")'
# What a person must never read in an output: codes instead of words.
RAW_CODES = (
    "joint_controller",
    "independent_controller",
    "end_of_year",
    "consent_withdrawal",
    "under_review",
    "no_transfer",
    "dpf",
    "6(1)(b)",
    "9(2)(a)",
)


@pytest.fixture
def org(world) -> dict:
    return world.org(
        "bezkalkulatora",
        legal_name="Adam Matusiak",
        address="ul. Długa 1, 70-001 Szczecin",
        residency_policy="eu_only",
        security_measures="Szyfrowanie dysków; kopie zapasowe",
        dpo_name="Jan Kowalski",
        dpo_email="iod@bezkalkulatora.example",
    )


@pytest.fixture
def register(app, org) -> dict:
    """Two activities: contracts (a processor in Germany, one in the US with no safeguard)
    and website statistics (a joint controller in the US under the DPF)."""
    contracts = kit.activity(app, org)
    stats = kit.statistics_activity(
        app,
        org,
        legal_bases=["6(1)(a)"],
        retention_from="consent_withdrawal",
        security_measures_pl="Pseudonimizacja adresów IP",
        security_measures_en="IP addresses pseudonymised",
    )
    kit.recipient(app, org, (contracts,))
    kit.us_processor(app, org, (contracts,))
    kit.joint_controller_in_us(app, org, (stats,))
    return {"contracts": contracts, "stats": stats}


def _get(client, org, legal, **query):
    return client.get(
        f"/api/v1/orgs/{org['slug']}/record/controller", query_string=query, headers=legal
    )


def _activities(body: dict) -> dict[str, dict]:
    return {a["key"]: a for a in body["activities"]}


def _recipients(activity: dict) -> dict[str, dict]:
    return {r["name"]: r for r in activity["recipients"]}


# --- JSON ---------------------------------------------------------------------------------------


def test_record_in_polish_states_art_30_1_in_words(client, org, legal, register):
    response = _get(client, org, legal, lang="pl")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["title"] == "Rejestr czynności przetwarzania (art. 30 ust. 1 RODO)"
    assert body["controller"]["name"] == "Adam Matusiak"
    assert body["controller"]["dpo"] == {
        "name": "Jan Kowalski",
        "email": "iod@bezkalkulatora.example",
    }
    assert body["total"] == 2
    contracts = _activities(body)["contracts"]
    assert contracts["name"] == "Zawieranie i wykonywanie umów"
    assert [b["label"] for b in contracts["legal_bases"]] == [
        "art. 6 ust. 1 lit. b RODO (wykonanie umowy lub podjęcie działań przed jej zawarciem)",
        "art. 6 ust. 1 lit. c RODO (wypełnienie obowiązku prawnego ciążącego na administratorze)",
    ]
    assert contracts["retention"]["text"] == (
        "6 lat + 1 rok od końca roku, w którym umowa się zakończyła (art. 118 Kodeksu cywilnego)"
    )
    # No measures of its own: the organization's summary stands in.
    assert contracts["security_measures"] == "Szyfrowanie dysków; kopie zapasowe"
    assert contracts["security_measures_own"] is False

    recipients = _recipients(contracts)
    assert recipients["Hetzner"]["role_label"] == "podmiot przetwarzający"
    assert recipients["Hetzner"]["country_label"] == "Niemcy (DE)"
    assert recipients["Hetzner"]["transfers"] == []
    # A US importer with no safeguard: a transfer, and only "under review".
    (gap,) = contracts["transfers"]
    assert gap["recipient"] == "Mailgun"
    assert gap["third_countries"] == ["Stany Zjednoczone (US)"]
    assert (gap["status"], gap["status_label"]) == ("under_review", "w trakcie weryfikacji")
    assert gap["safeguard"] == "zabezpieczenie w trakcie weryfikacji"

    stats = _activities(body)["website-statistics"]
    assert stats["retention"]["text"] == "do czasu wycofania zgody"
    assert stats["security_measures"] == "Pseudonimizacja adresów IP"
    google = _recipients(stats)["Google Analytics"]
    assert google["role_label"] == "współadministrator"
    assert google["joint_arrangement"]["on_text"] == "1 marca 2024 r."
    assert google["joint_arrangement"]["essence"].startswith("Google odpowiada za realizację")
    (dpf,) = stats["transfers"]
    assert dpf["status"] == "valid"
    assert "w sprawie ram ochrony danych UE-USA" in dpf["safeguard"]
    assert "Google LLC" in dpf["safeguard"]


def test_record_in_english_cites_the_gdpr(client, org, legal, register):
    body = _get(client, org, legal, lang="en").json
    contracts = _activities(body)["contracts"]
    assert contracts["legal_bases"][0]["article"] == "Art. 6(1)(b) GDPR"
    assert contracts["retention"]["text"] == (
        "6 years + 1 year from the end of the year in which the contract ended "
        "(Art. 118 of the Polish Civil Code)"
    )
    assert _recipients(contracts)["Mailgun"]["role_label"] == "processor"
    assert contracts["transfers"][0]["safeguard"] == "safeguard under review"
    google = _recipients(_activities(body)["website-statistics"])["Google Analytics"]
    assert google["role_label"] == "joint controller"
    assert google["joint_arrangement"]["reference"].startswith("Google Ads Controller")


def test_record_holds_only_what_is_in_use_on_the_day(client, app, org, legal, register):
    kit.activity(app, org, "old", ended_on=date(2025, 1, 1))
    kit.recipient(app, org, (register["contracts"],), name="Later", used_from=date(2026, 7, 1))
    now = _activities(_get(client, org, legal).json)
    assert set(now) == {"contracts", "website-statistics"}
    assert "Later" not in _recipients(now["contracts"])
    later = _activities(_get(client, org, legal, as_of="2026-07-01").json)
    assert "Later" in _recipients(later["contracts"])
    before = _activities(_get(client, org, legal, as_of="2024-12-31").json)
    assert "old" in before


def test_record_special_categories_with_their_art_9_condition(client, app, org, legal):
    kit.activity(
        app,
        org,
        "health",
        legal_bases=["6(1)(b)", "9(2)(h)"],
        special_categories=["health"],
    )
    (health,) = _get(client, org, legal, lang="pl").json["activities"]
    assert [c["label"] for c in health["special_categories"]] == ["dane dotyczące zdrowia"]
    assert [b["article"] for b in health["special_category_conditions"]] == [
        "art. 9 ust. 2 lit. h RODO"
    ]
    assert [b["code"] for b in health["legal_bases"]] == ["6(1)(b)"]


# --- CSV and XLSX ---------------------------------------------------------------------------


def _csv_rows(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_record_as_csv_in_polish_and_english(client, org, legal, register):
    pl = {r["Oznaczenie"]: r for r in _csv_rows(_get(client, org, legal, lang="pl", format="csv"))}
    contracts = pl["contracts"]
    assert contracts["Administrator"] == "Adam Matusiak"
    assert contracts["Inspektor ochrony danych"] == "Jan Kowalski, iod@bezkalkulatora.example"
    assert "art. 6 ust. 1 lit. b RODO" in contracts["Podstawy prawne"]
    assert contracts["Planowany termin usunięcia danych"].startswith("6 lat + 1 rok od końca roku")
    assert contracts["Przekazywanie do państw trzecich"] == (
        "Mailgun: Stany Zjednoczone (US); zabezpieczenie w trakcie weryfikacji"
    )
    stats = pl["website-statistics"]
    assert "współadministrator" in stats["Odbiorcy"]
    assert (
        "Google odpowiada za realizację" in stats["Uzgodnienia współadministratorów (art. 26 RODO)"]
    )

    en = {r["Key"]: r for r in _csv_rows(_get(client, org, legal, lang="en", format="csv"))}
    assert en["contracts"]["Transfers to third countries"] == (
        "Mailgun: United States (US); safeguard under review"
    )
    assert (
        "Art. 6(1)(a) GDPR (consent of the data subject)" in en["website-statistics"]["Legal bases"]
    )


def test_record_csv_neutralises_formulas(client, app, org, legal):
    kit.activity(app, org, "evil", name_en=EVIL)
    (row,) = _csv_rows(_get(client, org, legal, format="csv"))
    assert row["Processing activity"] == "'" + EVIL


def _sheet(book, title: str) -> list[tuple]:
    return list(book[title].iter_rows(values_only=True))


def test_record_as_xlsx_in_polish(client, app, org, legal, register):
    kit.activity(app, org, "evil", name_pl=EVIL)
    response = _get(client, org, legal, lang="pl", format="xlsx")
    assert response.status_code == 200
    assert response.mimetype == XLSX
    assert (
        "bezkalkulatora-controller-record-2026-06-15.xlsx"
        in response.headers["Content-Disposition"]
    )
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == [
        "Administrator",
        "Czynności przetwarzania",
        "Odbiorcy",
        "Państwa trzecie",
    ]
    controller = dict(_sheet(book, "Administrator")[1:])
    assert controller["Administrator"] == "Adam Matusiak"
    assert controller["Stan na dzień"] == "15 czerwca 2026 r."

    header, *rows = _sheet(book, "Czynności przetwarzania")
    activities = {
        row[header.index("Oznaczenie")]: dict(zip(header, row, strict=True)) for row in rows
    }
    assert activities["contracts"]["Planowany termin usunięcia danych"].startswith("6 lat + 1 rok")
    # A formula typed as a string is never evaluated.
    sheet = book["Czynności przetwarzania"]
    evil = next(row[0] for row in sheet.iter_rows(min_row=2) if row[1].value == "evil")
    assert (evil.value, evil.data_type) == (EVIL, "s")

    header, *rows = _sheet(book, "Państwa trzecie")
    transfers = {row[header.index("Odbiorca")]: dict(zip(header, row, strict=True)) for row in rows}
    assert transfers["Mailgun"]["Stan zabezpieczenia"] == "w trakcie weryfikacji"
    assert transfers["Mailgun"]["Zabezpieczenie"] == "zabezpieczenie w trakcie weryfikacji"
    assert transfers["Google Analytics"]["Stan zabezpieczenia"] == "zabezpieczenie ważne"

    header, *rows = _sheet(book, "Odbiorcy")
    google = next(dict(zip(header, r, strict=True)) for r in rows if r[1] == "Google Analytics")
    assert google["Rola"] == "współadministrator"
    assert google["Data uzgodnienia"] == "1 marca 2024 r."
    assert google["Zasadnicza treść uzgodnienia"].startswith("Google odpowiada")


def test_record_as_xlsx_in_english(client, org, legal, register):
    book = load_workbook(io.BytesIO(_get(client, org, legal, lang="en", format="xlsx").data))
    assert book.sheetnames == [
        "Controller",
        "Processing activities",
        "Recipients",
        "Third countries",
    ]
    header, *rows = _sheet(book, "Third countries")
    mailgun = next(dict(zip(header, r, strict=True)) for r in rows if r[1] == "Mailgun")
    assert (mailgun["Safeguard status"], mailgun["Safeguard"]) == (
        "under review",
        "safeguard under review",
    )


def _xlsx_text(data: bytes) -> str:
    book = load_workbook(io.BytesIO(data))
    return "\n".join(
        str(value)
        for sheet in book
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value
    )


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_no_raw_codes_in_what_a_person_reads(client, org, legal, register, lang):
    texts = [
        _get(client, org, legal, lang=lang, format="csv").get_data(as_text=True),
        _xlsx_text(_get(client, org, legal, lang=lang, format="xlsx").data),
    ]
    for text in texts:
        for code in RAW_CODES:
            # English cites "Art. 6(1)(b) GDPR": the code only inside that citation.
            assert code not in text.replace(f"Art. {code} GDPR", ""), (lang, code)


# --- access and bad input -------------------------------------------------------------------


def test_record_of_another_organization_is_not_found(client, world, org, legal, register):
    other = world.org("other")
    other_legal = bearer(world.key("legal", other))
    assert_problem(_get(client, org, other_legal), 404)
    # The other organization's own record holds nothing of this one.
    assert _get(client, other, other_legal).json["activities"] == []
    assert_problem(client.get(f"/api/v1/orgs/{org['slug']}/record/controller"), 401)


@pytest.mark.parametrize(
    ("query", "field"),
    [({"format": "pdf"}, "format"), ({"lang": "de"}, "lang"), ({"as_of": "2026-13-01"}, "as_of")],
)
def test_bad_query_is_a_problem(client, org, legal, query, field):
    problem = assert_problem(_get(client, org, legal, **query), 422)
    assert field in str(problem)


# --- retention rules in words ---------------------------------------------------------------


def _rule(**fields: object) -> ProcessingActivity:
    values = {
        "retention_years": None,
        "retention_extra_years": 0,
        "retention_from": None,
        "retention_basis_pl": "",
        "retention_basis_en": "",
        "retention_note_pl": "",
        "retention_note_en": "",
        **fields,
    }
    return ProcessingActivity(key="x", **values)


@pytest.mark.parametrize(
    ("years", "pl", "en"),
    [
        (1, "1 rok", "1 year"),
        (2, "2 lata", "2 years"),
        (5, "5 lat", "5 years"),
        (22, "22 lata", "22 years"),
    ],
)
def test_years_take_their_plural_forms(years, pl, en):
    activity = _rule(retention_years=years, retention_from="collection")
    assert retention.rule_text(activity, "pl") == f"{pl} od dnia zebrania danych"
    assert retention.rule_text(activity, "en") == f"{en} from the day the data was collected"


def test_extra_years_and_the_note():
    activity = _rule(
        retention_years=5,
        retention_extra_years=2,
        retention_from="end_of_relationship",
        retention_note_pl="dłużej, jeśli toczy się spór",
        retention_note_en="longer while a dispute is pending",
    )
    assert retention.rule_text(activity, "pl") == (
        "5 lat + 2 lata od dnia zakończenia umowy lub współpracy; dłużej, jeśli toczy się spór"
    )
    assert retention.rule_text(activity, "en") == (
        "5 years + 2 years from the day the contract or relationship ended; "
        "longer while a dispute is pending"
    )


def test_a_note_alone_is_the_rule_and_nothing_is_said_of_no_rule():
    noted = _rule(retention_note_en="while the account exists")
    assert retention.rule_text(noted, "en") == "while the account exists"
    assert retention.rule_text(noted, "pl") == "while the account exists (tylko po angielsku)"
    assert retention.rule_text(_rule(), "pl") == "okres przechowywania nie został określony"
    assert retention.rule_text(_rule(), "en") == "no retention period has been set"
    assert retention.has_rule(_rule()) is False


def test_deletion_due_on_reuses_the_purge_arithmetic():
    six_plus_one = _rule(retention_years=6, retention_extra_years=1, retention_from="end_of_year")
    assert retention.deletion_due_on(six_plus_one, date(2024, 3, 10)) == date(2032, 1, 1)
    collected = _rule(retention_years=2, retention_from="collection")
    assert retention.deletion_due_on(collected, date(2024, 2, 29)) == date(2026, 3, 1)
    consent = _rule(retention_from="consent_withdrawal")
    assert retention.deletion_due_on(consent, date(2026, 5, 4)) == date(2026, 5, 4)
    assert retention.deletion_due_on(_rule(), date(2026, 5, 4)) is None
    assert retention.deletion_due_on(six_plus_one, None) is None
