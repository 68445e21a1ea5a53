"""Transfer evidence through the API (issue 17, points 1-8): SCC sets, DPF certification,
per-place transfer impact assessments, Module 4, special categories, the complete record,
groups behind EU entities, and the reference data fixes."""

from __future__ import annotations

from datetime import date

import pytest

from service import reference
from tests.notice_kit import Desk

# Calendar dates in this module are literals: it runs at a fixed moment (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("fixed_clock")

PROBLEM = "application/problem+json"


@pytest.fixture
def desk(client, world) -> Desk:
    return Desk(client, world, "acme")


def register(desk: Desk, **fields: object):
    body = {"country": "US", "sub_dpa_signed_on": desk.day(-60), **fields}
    return desk.client.post(desk.url("/subprocessors"), json=_vendor(body), headers=desk.legal)


def _vendor(body: dict) -> dict:
    from tests.conftest import vendor

    return vendor(**body)


def found(desk: Desk, name: str, **query: object) -> set[tuple]:
    report = desk.client.get(desk.url("/compliance"), query_string=query, headers=desk.legal)
    assert report.status_code == 200, report.json
    return {
        (i["rule"], i["severity"])
        for i in report.json["items"]
        if i["recipient"] and i["recipient"]["name"] == name
    }


# --- 1. which SCCs were signed ----------------------------------------------------------------


def test_an_old_set_signed_after_26_september_2021_is_refused(desk):
    late = {
        "country": "US",
        "mechanism": "scc",
        "scc_set": "2010/87",
        "scc_signed_on": "2021-10-01",
    }
    response = register(desk, name="Late", locations=[late])
    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    assert "2021/914" in response.json["errors"]["locations"]["0"]["mechanism"][0]
    in_time = {**late, "scc_signed_on": "2021-09-26"}
    assert register(desk, name="In time", locations=[in_time]).status_code == 201


def test_a_module_is_only_for_the_2021_clauses(desk):
    old = {"country": "US", "mechanism": "scc", "scc_set": "2004/915", "scc_module": 1}
    response = register(desk, name="Old with module", locations=[old])
    assert response.status_code == 422
    assert "scc_module" in response.json["errors"]["locations"]["0"]
    new = {"country": "US", "mechanism": "scc", "scc_set": "2021/914"}
    response = register(desk, name="New without module", locations=[new])
    assert response.status_code == 422
    assert "scc_module" in response.json["errors"]["locations"]["0"]


def test_an_unknown_signing_date_is_a_warning_and_never_a_silent_pass(desk):
    location = {"country": "US", "mechanism": "scc", "scc_module": 3}
    assert register(desk, name="Undated", tia_completed_on=desk.day(-5), locations=[location])
    assert found(desk, "Undated") == {("transfer.scc_signing_date_unknown", "warning")}


# --- 2. DPF certification ---------------------------------------------------------------------


def test_the_dpf_attaches_to_a_certified_us_importer_wherever_its_servers_are(desk):
    frankfurt = {"country": "DE", "mechanism": "dpf"}
    certified = {
        "dpf_certified_until": desk.day(300),
        "dpf_certified_from": desk.day(-300),
        "dpf_certified_entity": "Cloud Inc.",
        "dpf_checked_on": desk.day(-3),
        "dpf_scope": "non_hr",
    }
    response = register(desk, name="US cloud", locations=[frankfurt], **certified)
    assert response.status_code == 201, response.json
    assert response.json["due_diligence"]["dpf_certified_entity"] == "Cloud Inc."
    assert found(desk, "US cloud") == set()
    # ...but not an EEA importer: no US organisation is certified there.
    assert register(desk, name="EU cloud", country="DE", locations=[frankfurt]).status_code == 422
    # A certification that starts later covers nothing before its start.
    later = {**certified, "dpf_certified_from": desk.day(10)}
    assert register(desk, name="Later", locations=[frankfurt], **later).status_code == 201
    assert ("transfer.dpf_not_certified", "error") in found(desk, "Later")
    assert ("transfer.dpf_not_certified", "error") not in found(desk, "Later", as_of=desk.day(10))


def test_a_dpf_reliance_carries_the_litigation_risk_and_asks_for_checks(desk):
    register(
        desk,
        name="HR only",
        dpf_certified_until=desk.day(300),
        dpf_scope="hr",
        locations=[{"country": "US", "mechanism": "dpf"}],
    )
    assert found(desk, "HR only") == {
        ("transfer.dpf_scope", "warning"),
        ("due_diligence.dpf_check_missing", "info"),
    }
    report = desk.client.get(desk.url("/compliance"), headers=desk.legal).json
    [risk] = report["risks"]
    assert risk["recipients"] == ["HR only"]
    assert [c["case"] for c in risk["cases"]] == ["T-553/23", "C-703/25 P"]


# --- 3. transfer impact assessments per vendor and place --------------------------------------


def test_an_assessment_per_place_is_recorded_audited_and_reopened_by_an_update(desk):
    location = {
        "country": "US",
        "mechanism": "scc",
        "scc_module": 3,
        "scc_signed_on": desk.day(-30),
    }
    vendor = desk.listed(name="Assessed", country="US", locations=[location])
    url = desk.url(f"/subprocessors/{vendor['id']}/transfer-assessments")
    assert ("transfer.tia_missing", "warning") in found(desk, "Assessed", rule="transfer")
    body = {
        "country": "US",
        "assessed_on": desk.day(-1),
        "outcome": "measures_effective",
        "supplementary_measures": [{"kind": "technical", "description": "End-to-end encryption"}],
        "review_on": desk.day(200),
        "reference": "TIA-7",
    }
    response = desk.client.post(url, json=body, headers=desk.legal)
    assert response.status_code == 201, response.json
    assert found(desk, "Assessed", rule="transfer") == set()
    listed = desk.client.get(url, headers=desk.legal).json
    assert listed["total"] == 1
    assert listed["items"][0]["supplementary_measures"][0]["kind"] == "technical"
    assert any(e["action"] == "recipient.transfer_assessed" for e in desk.audit())
    # A material update of that location re-opens the assessment from its effective date.
    changed = {**location, "activity": "support from the US"}
    desk.announced(
        kind="update", recipient_id=vendor["id"], effective_on=desk.day(40),
        update={"locations": [changed]},
    )  # fmt: skip
    assert found(desk, "Assessed", rule="transfer", as_of=desk.day(39)) == set()
    assert found(desk, "Assessed", rule="transfer", as_of=desk.day(40)) == {
        ("transfer.tia_outdated", "warning")
    }
    assert ("transfer.tia_review_overdue", "warning") in found(
        desk, "Assessed", as_of=desk.day(201)
    )


def test_an_assessment_needs_a_place_the_vendor_processes_in(desk):
    vendor = desk.listed(name="Hosting")
    url = desk.url(f"/subprocessors/{vendor['id']}/transfer-assessments")
    body = {"country": "US", "assessed_on": desk.day(0), "outcome": "no_measures_needed"}
    response = desk.client.post(url, json=body, headers=desk.legal)
    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    no_measures = {**body, "country": "DE", "outcome": "measures_effective"}
    assert desk.client.post(url, json=no_measures, headers=desk.legal).status_code == 422


# --- 4. Module 4 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "named"),
    [("subprocessor", "Module 3"), ("independent_controller", "Module 1")],
)
def test_module_4_is_refused_for_any_recipient_and_the_error_names_the_route(desk, role, named):
    location = {"country": "US", "mechanism": "scc", "scc_module": 4, "scc_signed_on": desk.day(-3)}
    response = register(desk, name="Payments", role=role, locations=[location])
    assert response.status_code == 422
    message = response.json["errors"]["locations"]["0"]["mechanism"][0]
    assert "returns to its own controller" in message
    assert named in message


# --- 5. special categories --------------------------------------------------------------------


def test_special_categories_without_an_assessment_are_an_error_and_raise_the_dpo_question(desk):
    location = {"country": "US", "mechanism": "scc", "scc_module": 3, "scc_signed_on": desk.day(-3)}
    register(desk, name="Health cloud", special_categories=["health"], locations=[location])
    assert found(desk, "Health cloud") == {("transfer.tia_missing_special_categories", "error")}
    clinic = desk.customer("CLINIC", special_categories=["health"])
    assert clinic["special_categories"] == ["health"]
    report = desk.client.get(desk.url("/compliance"), headers=desk.legal).json
    [dpo] = [i for i in report["items"] if i["rule"] == "processing.special_categories_dpo"]
    assert dpo["severity"] == "warning"
    assert "CLINIC" in dpo["detail"]
    assert "Art. 37(1)(c)" in dpo["fix"]


# --- 6. the record ------------------------------------------------------------------------------


def test_the_record_names_each_controller_with_its_dpo_and_representative(desk):
    desk.listed(name="Host")
    desk.customer(
        "C1",
        address="ul. Zdrowa 1, 00-001 Warszawa",
        country="PL",
        dpo_name="Anna DPO",
        dpo_email="dpo@clinic.example",
        representative_name="Rep Ltd",
        representative_email="rep@clinic.example",
    )
    body = desk.client.get(desk.url("/record"), headers=desk.legal).json
    [controller] = body["controllers"]
    assert controller["address"] == "ul. Zdrowa 1, 00-001 Warszawa"
    assert controller["dpo"] == {"name": "Anna DPO", "email": "dpo@clinic.example"}
    assert controller["representative"]["name"] == "Rep Ltd"
    text = desk.client.get(desk.url("/record?format=csv"), headers=desk.legal).get_data(
        as_text=True
    )
    header = text.splitlines()[0].split(",")
    assert {"processor_dpo", "address", "dpo", "representative", "security_measures"} <= set(header)
    assert "Anna DPO, dpo@clinic.example" in text


# --- 7. groups behind EU entities ---------------------------------------------------------------


def test_an_eu_only_promise_is_flagged_for_an_eu_entity_of_a_non_eu_group(client, world):
    desk = Desk(client, world, "acme", residency_policy="eu_only")
    register(
        desk,
        name="Irish analytics",
        country="IE",
        role="joint_controller",
        parent_company="Alphabet Inc.",
        parent_company_country="US",
        locations=[{"country": "IE", "mechanism": "none"}],
    )
    report = desk.client.get(desk.url("/compliance"), headers=desk.legal).json
    [item] = [i for i in report["items"] if i["rule"] == "residency.non_eu_group"]
    assert item["severity"] == "warning"
    assert "Alphabet Inc." in item["detail"]
    assert "privacy policy" in item["fix"]
    assert "tell customers" not in item["fix"]


# --- 8. reference data --------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["RE", "GP", "MQ", "GF", "YT", "MF", "AX"])
def test_outermost_regions_and_aland_are_eu_territory(app, code):
    with app.app_context():
        assert reference.in_eu(code, date(2026, 1, 1))


def test_saint_barthelemy_left_and_mayotte_joined(app):
    with app.app_context():
        assert reference.in_eu("BL", date(2011, 12, 31))
        assert not reference.in_eu("BL", date(2012, 1, 1))
        assert not reference.in_eu("YT", date(2013, 12, 31))


def test_korea_scope_names_the_credit_information_exclusion_and_no_number_is_unverified(app):
    with app.app_context():
        korea = reference.adequacy_on("KR", date(2026, 1, 1))
        assert "credit information" in korea["scope"]
        uk = reference.adequacy_on("GB", date(2026, 1, 1))
        assert uk["number"] is None  # unconfirmed: outputs name it by its date
        assert "immigration" in uk["note"]
