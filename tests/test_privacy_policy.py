"""The privacy policy for both hats: the data customers entrust to the organization as
processor, and its own processing as controller (Art. 13, 26(2)), as JSON, Markdown and HTML."""

from __future__ import annotations

import json

import pytest

from tests import controller_kit as kit
from tests.conftest import bearer
from tests.notice_kit import assert_problem
from tests.test_controller_record import RAW_CODES
from tests.test_records import list_vendor

# Calendar dates in this module are literals: it runs at a fixed moment (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("fixed_clock")

# The false promise: "not transferred outside the EU/EEA", in any of its forms.
NO_TRANSFER_PROMISES = (
    "nie przekazują",
    "Nie przekazujemy",
    "nie są przekazywane",
    "do not transfer",
    "not transferred",
    "no transfer outside",
)


@pytest.fixture
def org(world) -> dict:
    """bezkalkulatora, which promises that data stays in the EU."""
    return world.org("bezkalkulatora", legal_name="Adam Matusiak", residency_policy="eu_only")


@pytest.fixture
def statistics(app, org) -> int:
    """Website statistics, with Google Analytics as joint controller in the US (DPF)."""
    stats = kit.statistics_activity(
        app,
        org,
        legal_bases=["6(1)(f)"],
        legitimate_interests_pl="poznanie, jak odwiedzający korzystają ze strony",
        legitimate_interests_en="learning how visitors use the website",
        retention_years=2,
        retention_from="collection",
    )
    kit.joint_controller_in_us(app, org, (stats,))
    return stats


def _policy(client, org, legal, **query):
    path = f"/api/v1/orgs/{org['slug']}/privacy-policy"
    return client.get(path, query_string=query, headers=legal)


def _text(client, org, legal, **query) -> str:
    response = _policy(client, org, legal, **query)
    assert response.status_code == 200, response.get_data(as_text=True)
    if response.is_json:
        return json.dumps(response.json, ensure_ascii=False)
    return response.get_data(as_text=True)


# --- the false promise ----------------------------------------------------------------------


@pytest.mark.parametrize("form", ["md", "html", "json"])
def test_eu_only_promise_never_hides_a_joint_controller_in_the_us(
    client, org, legal, statistics, form
):
    pl = _text(client, org, legal, lang="pl", format=form)
    assert "Stany Zjednoczone (US)" in pl
    assert "w sprawie ram ochrony danych UE-USA" in pl
    assert "Niektórzy odbiorcy przekazują dane poza Europejski Obszar Gospodarczy" in pl
    en = _text(client, org, legal, lang="en", format=form)
    assert "United States (US)" in en
    assert "EU-US Data Privacy Framework" in en
    for text in (pl, en):
        for promise in NO_TRANSFER_PROMISES:
            assert promise not in text, (form, promise)


def test_own_part_says_no_transfers_only_when_none_is_made(client, app, org, legal):
    contracts = kit.activity(app, org)
    kit.recipient(app, org, (contracts,))
    md = _text(client, org, legal, lang="en", format="md")
    assert "do not transfer it outside the European Economic Area" in md
    # A recipient with no place recorded is judged where it is established: Mailgun's US.
    kit.us_processor(app, org, (contracts,), locations=[])
    md = _text(client, org, legal, lang="en", format="md")
    assert "do not transfer" not in md
    assert "Mailgun: United States (US); safeguard under review" in md


# --- the two parts --------------------------------------------------------------------------


def _list_subprocessor(client, org, legal) -> None:
    """A vendor of the customers'-data register (Hetzner), on the list today."""
    list_vendor(client, legal, base=f"/api/v1/orgs/{org['slug']}")


def test_both_hats_are_kept_apart(client, org, legal, statistics):
    _list_subprocessor(client, org, legal)
    md = _text(client, org, legal, lang="pl", format="md")
    entrusted, own = md.split("## Przetwarzanie danych, których jesteśmy administratorem")
    assert "## Dane powierzone nam do przetwarzania" in entrusted
    assert "### Dalsze podmioty przetwarzające" in entrusted
    assert "Hetzner (Hetzner Online GmbH, siedziba Niemcy (DE)), dalszy podmiot" in entrusted
    # The customers' data stays in the EEA; the sentence says so of that part only.
    assert "nie przekazują powierzonych nam danych poza" in entrusted
    assert "Google Analytics" not in entrusted
    assert "Hetzner" not in own
    assert "### Statystyki strony" in own
    assert "art. 6 ust. 1 lit. f RODO (prawnie uzasadniony interes" in own
    assert "**Prawnie uzasadniony interes:** poznanie, jak odwiedzający" in own
    assert "**Okres, przez który dane osobowe będą przechowywane:** 2 lata od dnia zebrania" in own
    assert (
        "Google Analytics (Google Ireland Limited, siedziba Irlandia (IE)), współadministrator"
        in own
    )
    assert "Google Analytics: Google odpowiada za realizację praw osób" in own

    body = _policy(client, org, legal, lang="en").json
    assert body["entrusted"]["heading"] == "Data entrusted to us for processing"
    assert [g["key"] for g in body["entrusted"]["groups"]] == ["processors"]
    (activity,) = body["own"]["activities"]
    assert activity["retention"] == "2 years from the day the data was collected"
    (joint,) = activity["joint_controllers"]
    assert joint["essence"] == "Google answers data subjects' requests for its services"
    assert joint["arrangement_on"] == "1 March 2024"


def test_without_a_customers_list_only_the_own_part(client, org, legal, statistics):
    body = _policy(client, org, legal).json
    assert body["entrusted"] is None
    assert body["own"]["heading"] == "Przetwarzanie danych, których jesteśmy administratorem"
    assert "Dane powierzone nam" not in _text(client, org, legal, format="md")


def test_a_gap_is_under_review_in_every_format(client, app, org, legal):
    contracts = kit.activity(app, org)
    # SCCs with the processor's module where the controller's (Module 2) fits: no safeguard.
    kit.us_processor(
        app,
        org,
        (contracts,),
        locations=[
            kit.location("US", "scc", scc_set="2021/914", scc_module=3, scc_signed_on="2024-01-10")
        ],
        tia_completed_on=kit.DPF_FACTS["dpf_checked_on"],
    )
    for lang, words, clauses in (
        ("pl", "zabezpieczenie w trakcie weryfikacji", "standardowych klauzul"),
        ("en", "safeguard under review", "standard contractual clauses"),
    ):
        for form in ("md", "html", "json"):
            text = _text(client, org, legal, lang=lang, format=form)
            assert words in text, (lang, form)
            assert clauses not in text, (lang, form)


def test_joint_controller_without_an_essence_says_it_is_due(client, app, org, legal):
    stats = kit.activity(app, org, "stats", legal_bases=["6(1)(a)"])
    kit.joint_controller_in_us(
        app, org, (stats,), joint_arrangement_essence_pl="", joint_arrangement_essence_en=""
    )
    md = _text(client, org, legal, lang="en", format="md")
    assert "Google Analytics: the essence of the joint controllers' arrangement is being" in md


# --- escaping and words ---------------------------------------------------------------------

HOSTILE = "# 1. *Bold* [x](http://evil.example) <b>"


def test_everything_from_the_register_is_escaped(client, app, org, legal):
    kit.activity(app, org, "hostile", name_en=HOSTILE, purposes_en=["- item <i>"])
    md = _text(client, org, legal, lang="en", format="md")
    assert r"### \# 1. \*Bold\* \[x\](http://evil.example) \<b\>" in md
    assert r"  - \- item \<i\>" in md
    response = _policy(client, org, legal, lang="en", format="html")
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "&lt;b&gt;" in html
    assert "<b>" not in html
    assert "<i>" not in html


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_no_raw_codes_in_what_a_person_reads(client, app, org, legal, statistics, lang):
    contracts = kit.activity(app, org)
    kit.recipient(app, org, (contracts,), role="independent_controller", name="Accountant")
    for form in ("md", "html"):
        text = _text(client, org, legal, lang=lang, format=form)
        for code in RAW_CODES:
            assert code not in text.replace(f"Art. {code} GDPR", ""), (lang, form, code)


# --- access and bad input -------------------------------------------------------------------


def test_policy_of_another_organization_is_not_found(client, world, org, legal, statistics):
    other = world.org("other")
    other_legal = bearer(world.key("legal", other))
    assert_problem(_policy(client, org, other_legal), 404)
    assert _policy(client, other, other_legal).json["own"] is None
    assert_problem(_policy(client, org, {}), 401)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"format": "pdf"}, "format"),
        ({"format": "markdown"}, "format"),
        ({"lang": "de"}, "lang"),
        ({"as_of": "yesterday"}, "as_of"),
    ],
)
def test_bad_query_is_a_problem(client, org, legal, query, field):
    problem = assert_problem(_policy(client, org, legal, **query), 422)
    assert field in str(problem)


def test_the_section_on_recipients_still_answers(client, org, legal, statistics):
    _list_subprocessor(client, org, legal)
    response = client.get(f"/api/v1/orgs/{org['slug']}/privacy-policy-section?lang=en")
    assert response.status_code == 200
    assert "Hetzner" in response.get_data(as_text=True)
