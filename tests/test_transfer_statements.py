"""No output names a safeguard the compliance rules do not find valid on its date (issue 17).

A set of vendors with every kind of gap is put on a list and in a customer's agreement; then
every output that names safeguards is rendered -- the public page, its JSON, CSV and Atom, the
API list, the export, the privacy-policy section, the DPA annex, the portal, the notice
e-mails, and the Art. 30(2) record -- and none may carry a claim of a safeguard. The public
ones must say "under review"; the record must name each gap as a gap. A control organization
with valid safeguards shows that the same check finds claims where they are true.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from openpyxl import load_workbook

from tests.notice_kit import Desk
from tests.portal_kit import sign_in

# Calendar dates in this module are literals: it runs at a fixed moment (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("fixed_clock")

# Words by which an output claims a safeguard (or the absence of a transfer). None may
# describe a transfer that has a gap.
CLAIMS = (
    "no transfer",
    "do not transfer",
    "bez przekazywania",
    "nie przekazujemy",
    "standard contractual clauses",
    "standardowych klauzul",
    "Data Privacy Framework",
    "ram ochrony danych",
    "adequacy decision (",
    "stwierdzającej odpowiedni",
    "binding corporate rules",
    "derogation of",
    "wyjątku przewidzianego",
    "2021/914",
    "2010/87",
    "2023/1795",
    "Module",
    "moduł",
    "(verify",
)
UNDER_REVIEW = ("safeguard under review", "zabezpieczenie w trakcie weryfikacji")
GAP_INTERNAL = "no valid safeguard recorded"


def gap_vendors(desk: Desk) -> dict[str, dict]:
    """One vendor per kind of gap, each established or processing outside the EEA."""
    signed = desk.day(-30)
    scc3 = {"country": "US", "mechanism": "scc", "scc_module": 3, "scc_signed_on": signed}
    return {
        "US none": {"locations": [{"country": "US", "mechanism": "none"}]},
        "US importer, Frankfurt servers": {"locations": [{"country": "DE", "mechanism": "none"}]},
        "Uncertified": {"locations": [{"country": "US", "mechanism": "dpf"}]},
        "Lapsed": {
            "dpf_certified_until": desk.day(-1),
            "locations": [{"country": "US", "mechanism": "dpf"}],
        },
        # A legal fact: the 2010 clauses ended on 27 December 2022, before any test date.
        "Expired clauses": {
            "locations": [
                {
                    "country": "US",
                    "mechanism": "scc",
                    "scc_set": "2010/87",
                    "scc_signed_on": "2019-03-01",
                }
            ]
        },
        "Not yet signed": {"locations": [{**scc3, "scc_signed_on": desk.day(400)}]},
        "Mismatched roles": {"locations": [{**scc3, "scc_module": 1}]},
        "Undated clauses": {"locations": [{**scc3, "scc_signed_on": None}]},
        "Derogation": {
            "locations": [{"country": "US", "mechanism": "derogation", "derogation_ground": "b"}]
        },
        "Assessed negative": {"tia_completed_on": None, "locations": [scc3]},
    }


def setup_gaps(desk: Desk) -> dict[str, dict]:
    created = {}
    for name, fields in gap_vendors(desk).items():
        body = {
            "name": name,
            "legal_entity": f"{name} Inc.",
            "country": "US",
            "sub_dpa_signed_on": desk.day(-60),
            "tia_completed_on": desk.day(-60),
            **fields,
        }
        created[name] = desk.listed(**body)
    negative = created["Assessed negative"]
    response = desk.client.post(
        desk.url(f"/subprocessors/{negative['id']}/transfer-assessments"),
        json={"country": "US", "assessed_on": desk.day(-20), "outcome": "transfer_not_permitted"},
        headers=desk.legal,
    )
    assert response.status_code == 201, response.json
    return created


def texts_of_json(value: object, keys: tuple[str, ...]) -> list[str]:
    """The strings under `keys` anywhere in a JSON document."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in keys and isinstance(item, str):
                found.append(item)
            else:
                found += texts_of_json(item, keys)
    elif isinstance(value, list):
        for item in value:
            found += texts_of_json(item, keys)
    return found


def claims_in(text: str) -> set[str]:
    return {claim for claim in CLAIMS if claim.lower() in text.lower()}


def get_text(client, url: str, headers: dict | None = None, **query: object) -> str:
    response = client.get(url, query_string=query or None, headers=headers or {})
    assert response.status_code == 200, (url, response.get_data(as_text=True)[:500])
    return response.get_data(as_text=True)


def mail_texts(outbox_mail) -> list[str]:
    texts = []
    for message in outbox_mail.sent:
        for part in message.walk():
            if part.get_content_type() in ("text/plain", "text/html"):
                texts.append(part.get_content())
    return texts


def public_outputs(client, desk: Desk, customer: dict, outbox_mail) -> dict[str, str]:
    """Every text a customer or the public can read that states safeguards."""
    slug = desk.slug
    outputs = {}
    for lang in ("pl", "en"):
        outputs[f"page {lang}"] = get_text(client, f"/orgs/{slug}/subprocessors", lang=lang)
        outputs[f"atom {lang}"] = get_text(client, f"/orgs/{slug}/changes.atom", lang=lang)
        for form in ("text", "markdown", "html"):
            outputs[f"policy {lang} {form}"] = get_text(
                client, desk.url("/privacy-policy-section"), lang=lang, format=form
            )
        annex = desk.url(f"/customers/{customer['id']}/annex")
        outputs[f"annex {lang} html"] = get_text(
            client, annex, desk.legal, lang=lang, format="html"
        )
        annex_json = json.loads(get_text(client, annex, desk.legal, lang=lang, format="json"))
        outputs[f"annex {lang} json"] = "\n".join(texts_of_json(annex_json, ("mechanism_label",)))
    for name, url in (
        ("public json", f"/orgs/{slug}/subprocessors.json"),
        ("api list", desk.url("/subprocessors")),
        ("export json", desk.url("/subprocessors/export?format=json")),
    ):
        body = json.loads(get_text(client, url))
        outputs[name] = "\n".join(texts_of_json(body, ("safeguard",)))
    own = desk.url(f"/customers/{customer['id']}/subprocessors")
    body = json.loads(get_text(client, own, desk.legal))
    assert body["items"], "the customer's own list is empty"
    outputs["customer's api list"] = "\n".join(texts_of_json(body, ("safeguard",)))
    for name, url in (
        ("public csv", f"/orgs/{slug}/subprocessors.csv"),
        ("export csv", desk.url("/subprocessors/export?format=csv")),
    ):
        rows = list(csv.DictReader(io.StringIO(get_text(client, url))))
        outputs[name] = "\n".join(row["locations"] for row in rows)
        # What was recorded is never published without whether it holds on the day.
        recorded = [place for row in rows for place in json.loads(row["locations_data"])]
        assert recorded, name
        assert all(place["safeguard_status"] for place in recorded), name
        outputs[f"{name} statuses"] = " ".join(place["safeguard_status"] for place in recorded)
    sign_in(client, slug, customer["contacts"][0]["email"], outbox_mail)
    outputs["portal"] = get_text(client, f"/portal/{slug}/")
    # As in the public CSV (the same writer): `locations` states the safeguards, while
    # `locations_data` holds what legal staff recorded, as the JSON outputs' fields do.
    portal_csv = get_text(client, f"/portal/{slug}/downloads/subprocessors.csv")
    rows = csv.DictReader(io.StringIO(portal_csv))
    outputs["portal csv"] = "\n".join(row["locations"] for row in rows)
    for number, text in enumerate(mail_texts(outbox_mail)):
        outputs[f"mail {number}"] = text
    return outputs


def record_outputs(client, desk: Desk, *, gaps: bool = True) -> dict[str, str]:
    """The Art. 30(2) record, internal, in every format. A transfer whose SCCs lack their
    signing date is "unverified": the record names the clauses and says the date is missing,
    so that statement is taken out before looking for claims."""
    outputs, unverified = {}, []
    for lang in ("en", "pl"):
        body = json.loads(get_text(client, desk.url("/record"), desk.legal, lang=lang))
        transfers = [t for c in body["controllers"] for t in c["transfers"]]
        for transfer in transfers:
            if transfer["status"] == "unverified":
                unverified.append(transfer["safeguard"])
            elif gaps:
                assert transfer["status"] == "gap", transfer
                assert transfer["findings"], transfer
        outputs[f"record {lang} json"] = "\n".join(
            texts_of_json(body, ("safeguard", "mechanism_label"))
        )
    assert bool(unverified) == gaps, "the undated clauses should be reported as unverified"
    assert all(re.search("to be verified|do weryfikacji", text) for text in unverified)
    outputs["record csv"] = get_text(client, desk.url("/record"), desk.legal, format="csv")
    raw = client.get(desk.url("/record"), query_string={"format": "xlsx"}, headers=desk.legal)
    book = load_workbook(io.BytesIO(raw.data))
    # The columns that state safeguards (the others hold what was recorded, e.g. the set).
    outputs["record xlsx"] = "\n".join(
        str(value)
        for sheet, column in (("Subprocessors", "Processing locations"), ("Transfers", "Safeguard"))
        for value in xlsx_column(book[sheet], column)
    )
    for statement in unverified:
        outputs = {name: text.replace(statement, "") for name, text in outputs.items()}
    return outputs


def xlsx_column(sheet, header: str) -> list:
    rows = list(sheet.iter_rows(values_only=True))
    index = rows[0].index(header)
    return [row[index] for row in rows[1:] if row[index]]


@pytest.fixture
def desk(client, world) -> Desk:
    return Desk(client, world, "acme")


def test_no_output_claims_a_safeguard_for_a_transfer_with_a_gap(client, desk, outbox_mail):
    gaps = setup_gaps(desk)
    customer = desk.customer("C1", services=(), locale="pl")
    # A notice of one more gap vendor: its e-mail describes the vendor as of its effective day.
    late = desk.vendor(
        name="Announced gap",
        legal_entity="Announced gap Inc.",
        country="US",
        sub_dpa_signed_on=desk.day(-60),
        locations=[{"country": "US", "mechanism": "none"}],
    )
    desk.add(late, 31)
    outputs = public_outputs(client, desk, customer, outbox_mail)
    assert any(name.startswith("mail") for name in outputs), "no notice e-mail was sent"
    false_claims = {name: claims_in(text) for name, text in outputs.items() if claims_in(text)}
    assert false_claims == {}
    for name in (
        "page pl", "page en", "policy pl text", "annex pl html", "portal", "public csv",
        "customer's api list",
    ):  # fmt: skip
        assert any(words in outputs[name] for words in UNDER_REVIEW), name
    assert "under_review" in outputs["public csv statuses"]
    # Every gap vendor is still listed: the transfer is disclosed, only no safeguard claimed.
    for vendor_name in gaps:
        assert vendor_name in outputs["page en"]
        assert vendor_name in outputs["policy pl text"]

    internal = record_outputs(client, desk)
    assert {name: claims_in(text) for name, text in internal.items() if claims_in(text)} == {}
    transfers = len(gaps) - 1  # each gap vendor has one transfer; one is "unverified"
    # Once in the controller's transfers, once in its recipients' locations.
    assert internal["record en json"].count(GAP_INTERNAL) == 2 * transfers
    gap_pl = "brak ważnego zabezpieczenia w rejestrze"
    assert internal["record pl json"].count(gap_pl) == 2 * transfers
    assert GAP_INTERNAL in internal["record csv"]
    assert GAP_INTERNAL in internal["record xlsx"]


def test_the_check_finds_claims_where_safeguards_are_valid(client, desk, outbox_mail):
    """The control: valid safeguards are named precisely, so `claims_in` does see them."""
    signed = desk.day(-30)
    desk.listed(
        name="Valid clauses",
        country="US",
        sub_dpa_signed_on=desk.day(-60),
        tia_completed_on=desk.day(-40),
        locations=[{"country": "US", "mechanism": "scc", "scc_module": 3, "scc_signed_on": signed}],
    )
    desk.listed(
        name="Certified",
        country="US",
        sub_dpa_signed_on=desk.day(-60),
        dpf_certified_until=desk.day(300),
        dpf_certified_from=desk.day(-300),
        dpf_certified_entity="Certified Inc.",
        locations=[{"country": "US", "mechanism": "dpf"}],
    )
    desk.listed(name="EEA host")
    customer = desk.customer("C1", services=(), locale="pl")
    outputs = public_outputs(client, desk, customer, outbox_mail)
    pl = outputs["policy pl text"]
    assert {"standardowych klauzul", "2021/914", "moduł", "ram ochrony danych"} <= claims_in(pl)
    assert "bez przekazywania" in outputs["page pl"]
    assert not any(words in pl for words in UNDER_REVIEW)
    en = outputs["policy en text"]
    assert re.search(
        r"Module Three: transfer processor to processor\), signed on \d+ \w+ \d{4}", en
    )
    assert "Certified Inc." in en
    # The DPF risk note.
    assert "T-553/23" in en
    assert "C-703/25 P" in en
    record = record_outputs(client, desk, gaps=False)["record en json"]
    assert GAP_INTERNAL not in record
    assert "2021/914" in record


def _safeguards(document: dict) -> list[tuple[str, str]]:
    items = document["items"]
    return [(loc["safeguard_status"], loc["safeguard"]) for i in items for loc in i["locations"]]


def test_an_assessment_recorded_later_moves_every_cached_list_at_once(client, world):
    """The lists are cached under a token that every write to what they show replaces. A
    negative transfer assessment recorded after they were read and cached must take the
    safeguard's statement off the public list and off a customer's own list at once: it
    was left on both until the next other write or midnight."""
    desk = Desk(client, world, "assessed")
    desk.customer("C1")
    scc3 = {"country": "US", "mechanism": "scc", "scc_module": 3, "scc_signed_on": desk.day(-30)}
    vendor = desk.listed(
        name="Acme", legal_entity="Acme Inc.", country="US", sub_dpa_signed_on=desk.day(-60),
        locations=[scc3],
    )  # fmt: skip
    public = "/orgs/assessed/subprocessors.json"

    def statements() -> list[list[tuple[str, str]]]:
        return [
            _safeguards(client.get(public).json),
            _safeguards(client.get(desk.url("/subprocessors")).json),
            _safeguards(desk.customer_list("C1")),
        ]

    assert {status for found in statements() for status, _ in found} == {"valid"}
    assert statements() == statements()  # now served from the caches
    response = client.post(
        desk.url(f"/subprocessors/{vendor['id']}/transfer-assessments"),
        json={"country": "US", "assessed_on": desk.day(-1), "outcome": "transfer_not_permitted"},
        headers=desk.legal,
    )
    assert response.status_code == 201, response.json
    for found in statements():
        assert found == [("under_review", "safeguard under review")]
