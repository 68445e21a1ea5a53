"""The compliance report: transfer rules per (importer, location), residency, due diligence,
notices, refusals at registration, reference data swaps, and expiry reminders."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from service import clock, reference
from service.audit import services as audit
from service.audit.models import AuditEvent
from service.changes.models import Notice
from service.compliance import rules
from service.demo.seed import seed
from service.extensions import db
from service.organizations.models import Organization
from service.recipients.models import Recipient
from tests.conftest import bearer, vendor

# Calendar dates in this module are literals: it runs at a fixed moment (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("fixed_clock")

PROBLEM = "application/problem+json"
US_SCC = {
    "country": "US",
    "mechanism": "scc",
    "scc_module": 3,
    "scc_clause9_option": "general",
    "scc_clause9_notice_days": 30,
    "scc_signed_on": "2021-07-01",
    "activity": "support",
}


@pytest.fixture
def org(world) -> dict:
    return world.org("acme")


def register(client, org: dict, headers: dict, **overrides: object) -> dict:
    body = vendor(**{"sub_dpa_signed_on": "2020-01-01", **overrides})
    response = client.post(f"/api/v1/orgs/{org['slug']}/subprocessors", json=body, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def report(client, org: dict, headers: dict, **query: object) -> dict:
    response = client.get(
        f"/api/v1/orgs/{org['slug']}/compliance", query_string=query, headers=headers
    )
    assert response.status_code == 200, response.json
    return response.json


def found(body: dict, name: str | None = None, prefix: str = "") -> set[tuple]:
    """(rule, severity, place) of the items about vendor `name` whose rule starts `prefix`."""
    return {
        (
            item["rule"],
            item["severity"],
            (item["location"] or {}).get("country")
            or (item["location"] or {}).get("international_organisation"),
        )
        for item in body["items"]
        if (name is None or (item["recipient"] or {}).get("name") == name)
        and item["rule"].startswith(prefix)
    }


def list_since(app, recipient_id: int, listed_from: str) -> None:
    """Put a vendor on the list from a past date, as the demo seed and imports do."""
    with app.app_context():
        db.session.get(Recipient, recipient_id).listed_from = date.fromisoformat(listed_from)
        db.session.commit()


def seeded(app, world) -> dict[str, dict]:
    with app.app_context():
        seed(app.instance_path, actor="test")
        db.session.commit()
        orgs = {
            o.slug: {"id": o.id, "slug": o.slug, "timezone": o.timezone}
            for o in db.session.scalars(select(Organization))
        }
        db.session.remove()
    for item in orgs.values():
        item["legal"] = bearer(world.key("legal", item))
    return orgs


# --- how we will check ------------------------------------------------------------------------


def test_bezkalkulatora_demo_shows_a_residency_gap_for_each_partner_outside_the_eu(
    app, client, world
):
    orgs = seeded(app, world)
    bez = orgs["bezkalkulatora"]
    body = report(client, bez, bez["legal"], as_of="2026-06-01")
    assert body["residency_policy"] == "eu_only"
    # A controller only: its partners receive its own visitors' data, so the gaps are found
    # on its controller side, and nothing is claimed about a customers' list it has not got.
    assert not [item for item in body["items"] if item["context"] == "customers_data"]
    residency = {
        (item["controller_recipient"]["name"], item["location"]["country"], item["severity"])
        for item in body["items"]
        if item["rule"] == "residency.outside_policy" and item["context"] == "controller"
    }
    assert residency == {
        (name, "US", "error")
        for name in ("Google Analytics", "Google Ads", "Facebook Pixel", "YouTube")
    }
    # The same vendors' Irish locations keep the promise; the transfers themselves are covered.
    assert not found(body, prefix="transfer.")
    # bookero makes no residency promise, so its US locations are no residency gap.
    bookero = orgs["bookero"]
    assert not found(report(client, bookero, bookero["legal"], as_of="2026-06-01"), prefix="resid")


def test_a_uk_location_needs_no_scc(app, client, world, org, legal):
    uk = register(
        client,
        org,
        legal,
        name="UK host",
        country="GB",
        locations=[{"country": "GB", "mechanism": "adequacy", "activity": "hosting"}],
    )
    frankfurt_uk = register(
        client,
        org,
        legal,
        name="Irish host, UK support",
        country="IE",
        locations=[
            {"country": "IE", "mechanism": "none"},
            {"country": "GB", "mechanism": "adequacy"},
        ],
    )
    body = report(client, org, legal)
    assert found(body, uk["name"]) == set()
    assert found(body, frankfurt_uk["name"]) == set()
    assert body["summary"] == {"error": 0, "warning": 0, "info": 0}
    # The UK is a third country all the same: without a mechanism it is a gap.
    bare = register(
        client,
        org,
        legal,
        name="UK without mechanism",
        country="GB",
        locations=[{"country": "GB", "mechanism": "none"}],
    )
    assert found(report(client, org, legal), bare["name"]) == {
        ("transfer.no_mechanism", "error", "GB")
    }
    # ...but not while the UK was in the EU.
    list_since(app, bare["id"], "2019-01-01")
    assert found(report(client, org, legal, as_of="2020-06-01"), bare["name"]) == set()


def test_a_us_vendor_with_neither_dpf_certification_nor_sccs_is_a_gap(client, world, org, legal):
    common = {"country": "US", "tia_completed_on": "2024-01-01"}
    register(
        client,
        org,
        legal,
        name="Uncertified",
        locations=[{"country": "US", "mechanism": "dpf"}],
        **common,
    )
    register(
        client,
        org,
        legal,
        name="Nothing",
        locations=[{"country": "US", "mechanism": "none"}],
        **common,
    )
    register(
        client,
        org,
        legal,
        name="Lapsed",
        dpf_certified_until=world.day(org, -1),
        locations=[{"country": "US", "mechanism": "dpf"}],
        **common,
    )
    register(
        client,
        org,
        legal,
        name="Certified",
        dpf_certified_until=world.day(org, 365),
        locations=[{"country": "US", "mechanism": "dpf"}],
        **common,
    )
    register(client, org, legal, name="Contract", locations=[US_SCC], **common)
    body = report(client, org, legal, rule="transfer")
    assert found(body, "Uncertified") == {("transfer.dpf_not_certified", "error", "US")}
    assert found(body, "Nothing") == {("transfer.no_mechanism", "error", "US")}
    assert found(body, "Lapsed") == {("transfer.dpf_not_certified", "error", "US")}
    lapsed = next(i for i in body["items"] if i["recipient"]["name"] == "Lapsed")
    assert f"expired on {world.day(org, -1)}" in lapsed["detail"]
    assert "2023/1795" in lapsed["detail"]
    assert found(body, "Certified") == set()
    assert found(body, "Contract") == set()


def test_scc_module_1_for_a_subprocessor_is_a_gap(client, org, legal):
    base = {"country": "US", "tia_completed_on": "2024-01-01"}
    wrong = register(
        client, org, legal, name="Module 1", locations=[{**US_SCC, "scc_module": 1}], **base
    )
    register(client, org, legal, name="Module 3", locations=[US_SCC], **base)
    body = report(client, org, legal)
    assert found(body, "Module 1") == {("transfer.scc_module_mismatch", "error", "US")}
    item = next(i for i in body["items"] if i["recipient"]["id"] == wrong["id"])
    assert "Module 3" in item["detail"]
    assert "Module 3" in item["fix"]
    assert found(body, "Module 3") == set()


def test_the_module_follows_the_roles_along_the_chain(client, org, legal):
    base = {"country": "US", "tia_completed_on": "2024-01-01"}
    controller = register(
        client,
        org,
        legal,
        name="Payments",
        role="independent_controller",
        locations=[
            {**US_SCC, "scc_module": 1, "scc_clause9_option": None, "scc_clause9_notice_days": None}
        ],
        **base,
    )
    # A processor of a controller receives from a controller: Module 2, not 3.
    register(
        client,
        org,
        legal,
        name="Its processor",
        parent_id=controller["id"],
        locations=[US_SCC],
        **base,
    )
    processor = register(client, org, legal, name="Cloud", locations=[US_SCC], **base)
    register(
        client,
        org,
        legal,
        name="Cloud's processor",
        parent_id=processor["id"],
        locations=[US_SCC],
        **base,
    )
    register(
        client,
        org,
        legal,
        name="Own-data controller",
        role="independent_controller",
        locations=[{**US_SCC, "scc_module": 1}],
        **base,
    )
    register(
        client,
        org,
        legal,
        name="Joint",
        role="joint_controller",
        locations=[{**US_SCC, "scc_module": 2}],
        **base,
    )
    body = report(client, org, legal, rule="transfer")
    assert found(body, "Payments") == set()
    assert found(body, "Its processor") == {("transfer.scc_module_mismatch", "error", "US")}
    assert "Module 2" in next(
        i["fix"] for i in body["items"] if i["recipient"]["name"] == "Its processor"
    )
    assert found(body, "Cloud") == set()
    assert found(body, "Cloud's processor") == set()
    assert found(body, "Own-data controller") == set()
    assert found(body, "Joint") == {("transfer.scc_module_mismatch", "error", "US")}


def test_a_dpf_certification_never_counts_for_the_privacy_shield_years(app, client, org, legal):
    shield = register(
        client,
        org,
        legal,
        name="US analytics",
        country="US",
        dpf_certified_until="2027-06-30",
        sub_dpa_signed_on="2017-01-01",
        locations=[{"country": "US", "mechanism": "dpf"}],
    )
    list_since(app, shield["id"], "2018-01-01")
    # 2019: the Privacy Shield was in force, but it is another instrument than the DPF.
    shield_years = report(client, org, legal, as_of="2019-06-01")
    assert found(shield_years, "US analytics") == {("transfer.not_covered", "error", "US")}
    assert "2016/1250" in shield_years["items"][0]["detail"]
    assert "separate" in shield_years["items"][0]["detail"]
    gap = report(client, org, legal, as_of="2021-06-01")
    assert found(gap, "US analytics") == {("transfer.not_covered", "error", "US")}
    detail = gap["items"][0]["detail"]
    assert "2016/1250" in detail
    assert "2020-07-15" in detail
    assert "2023/1795" in detail
    assert found(report(client, org, legal, as_of="2024-01-01"), "US analytics") == {
        ("due_diligence.dpf_check_missing", "info", None)
    }


def test_sccs_signed_under_the_2010_decision_end_on_27_december_2022(app, client, org, legal):
    old = register(
        client,
        org,
        legal,
        name="Old clauses",
        country="US",
        sub_dpa_signed_on="2017-01-01",
        # The 2010 clauses carry no module.
        locations=[
            {
                "country": "US",
                "mechanism": "scc",
                "scc_set": "2010/87",
                "scc_signed_on": "2019-03-01",
            }
        ],
    )
    list_since(app, old["id"], "2018-01-01")
    # Before Schrems II no transfer impact assessment was asked for.
    assert found(report(client, org, legal, as_of="2019-06-01"), "Old clauses") == set()
    # From 27 September 2021 they held only under Art. 4(4) of Decision 2021/914.
    assert found(report(client, org, legal, as_of="2022-12-27"), "Old clauses") == {
        ("transfer.tia_missing", "warning", "US"),
        ("transfer.scc_transition", "info", "US"),
    }
    assert found(report(client, org, legal, as_of="2022-12-28"), "Old clauses") == {
        ("transfer.scc_expired", "error", "US"),
        ("transfer.tia_missing", "warning", "US"),
    }
    # Before their signing date the clauses covered nothing.
    assert ("transfer.scc_not_signed", "error", "US") in found(
        report(client, org, legal, as_of="2018-06-01"), "Old clauses"
    )


# --- the other transfer rules -----------------------------------------------------------------


def test_an_art_49_derogation_cannot_carry_a_subprocessor(client, org, legal):
    derogation = {"country": "IN", "mechanism": "derogation", "derogation_ground": "b"}
    register(client, org, legal, name="Offshore support", locations=[derogation])
    register(
        client,
        org,
        legal,
        name="Travel agent",
        role="independent_controller",
        locations=[derogation],
    )
    body = report(client, org, legal)
    assert found(body, "Offshore support") == {("transfer.derogation_systematic", "error", "IN")}
    assert "Art. 49(1)(b)" in body["items"][0]["detail"]
    assert found(body, "Travel agent") == {("transfer.derogation_occasional", "warning", "IN")}


def test_a_transfer_impact_assessment_is_needed_where_no_adequacy_covers_the_place(
    client, org, legal
):
    register(client, org, legal, name="US contract", country="US", locations=[US_SCC])
    register(
        client,
        org,
        legal,
        name="Assessed",
        country="US",
        locations=[US_SCC],
        tia_completed_on="2024-01-01",
    )
    register(
        client,
        org,
        legal,
        name="Swiss contract",
        country="CH",
        locations=[{**US_SCC, "country": "CH"}],
    )
    body = report(client, org, legal, rule="transfer.tia_missing")
    assert found(body) == {("transfer.tia_missing", "warning", "US")}
    assert {i["recipient"]["name"] for i in body["items"]} == {"US contract"}


def test_an_importer_outside_the_eea_needs_a_mechanism_even_with_servers_in_frankfurt(
    client, org, legal
):
    register(
        client,
        org,
        legal,
        name="US in Frankfurt",
        country="US",
        locations=[{"country": "DE", "mechanism": "none"}],
    )
    register(
        client,
        org,
        legal,
        name="Japanese in Frankfurt",
        country="JP",
        locations=[{"country": "DE", "mechanism": "adequacy"}],
    )
    body = report(client, org, legal, rule="transfer")
    assert found(body, "US in Frankfurt") == {("transfer.no_mechanism", "error", "DE")}
    assert found(body, "Japanese in Frankfurt") == {("transfer.adequacy_scope", "info", "DE")}


def test_a_vendor_notice_shorter_than_the_notice_owed_to_customers_is_flagged(
    client, world, org, legal
):
    url = f"/api/v1/orgs/{org['slug']}/customers"
    response = client.post(
        url,
        json={
            "external_ref": "s1",
            "name": "Salon",
            "started_on": world.day(org, -10),
            "agreement": {"notice_days": 45},
        },
        headers=legal,
    )
    assert response.status_code == 201, response.json
    base = {"country": "US", "tia_completed_on": "2024-01-01"}
    register(client, org, legal, name="Short", locations=[US_SCC], **base)
    register(
        client,
        org,
        legal,
        name="Long",
        locations=[{**US_SCC, "scc_clause9_notice_days": 45}],
        **base,
    )
    register(
        client,
        org,
        legal,
        name="Specific",
        locations=[{**US_SCC, "scc_clause9_option": "specific", "scc_clause9_notice_days": 10}],
        **base,
    )
    register(
        client,
        org,
        legal,
        name="Unknown",
        locations=[{**US_SCC, "scc_clause9_notice_days": None}],
        **base,
    )
    body = report(client, org, legal, rule="transfer")
    assert found(body, "Short") == {("transfer.scc_clause9_notice_short", "warning", "US")}
    assert "45 days" in body["items"][0]["detail"]
    assert found(body, "Long") == set()
    assert found(body, "Specific") == set()
    assert found(body, "Unknown") == {("transfer.scc_clause9_period_missing", "info", "US")}
    # A customer whose relationship ended is owed nothing any more; the default 30 remains.
    customer_id = response.json["id"]
    patched = client.patch(
        f"{url}/{customer_id}", json={"ended_on": world.day(org, -1)}, headers=legal
    )
    assert patched.status_code == 200, patched.json
    assert found(report(client, org, legal, rule="transfer"), "Short") == set()


# --- residency ---------------------------------------------------------------------------------


def test_residency_policies_cover_locations_and_establishment(client, world, legal):
    acme = world.org("adequate", residency_policy="eea_or_adequate")
    headers = bearer(world.key("legal", acme))
    register(
        client,
        acme,
        headers,
        name="Norway",
        country="NO",
        locations=[{"country": "NO", "mechanism": "none"}],
    )
    register(
        client,
        acme,
        headers,
        name="UK",
        country="GB",
        locations=[{"country": "GB", "mechanism": "adequacy"}],
    )
    register(
        client,
        acme,
        headers,
        name="Certified US",
        country="US",
        dpf_certified_until=world.day(acme, 365),
        locations=[{"country": "US", "mechanism": "dpf"}],
    )
    register(
        client,
        acme,
        headers,
        name="India",
        country="IE",
        tia_completed_on="2024-01-01",
        locations=[{"country": "IN", "mechanism": "scc", "scc_module": 3}],
    )
    body = report(client, acme, headers, rule="residency")
    assert {i["recipient"]["name"] for i in body["items"]} == {"India"}
    assert found(body) == {("residency.outside_policy", "error", "IN")}

    eu = world.org("euonly", residency_policy="eu_only")
    headers = bearer(world.key("legal", eu))
    register(
        client,
        eu,
        headers,
        name="US in Frankfurt",
        country="US",
        locations=[{"country": "DE", "mechanism": "scc", "scc_module": 3}],
        tia_completed_on="2024-01-01",
    )
    register(
        client,
        eu,
        headers,
        name="Norway",
        country="NO",
        locations=[{"country": "NO", "mechanism": "none"}],
    )
    body = report(client, eu, headers, rule="residency")
    # Its establishment breaks the promise (location null); its Frankfurt servers do not.
    assert found(body, "US in Frankfurt") == {("residency.outside_policy", "error", None)}
    assert found(body, "Norway") == {
        ("residency.outside_policy", "error", None),
        ("residency.outside_policy", "error", "NO"),
    }


# --- due diligence ------------------------------------------------------------------------------


def test_expired_and_expiring_certifications_and_reviews(client, world, org, legal):
    register(
        client,
        org,
        legal,
        name="Audited",
        certifications=[
            {"name": "ISO/IEC 27001", "expires_on": world.day(org, 30)},
            {"name": "SOC 2", "expires_on": world.day(org, -1)},
            {"name": "PCI DSS", "expires_on": world.day(org, 90)},
            {"name": "BSI C5", "expires_on": None},
        ],
        dpf_certified_until=world.day(org, 20),
        next_review_on=world.day(org, -1),
    )
    body = report(client, org, legal, rule="due_diligence")
    by_rule = {(i["rule"], i["severity"], i["due_on"]) for i in body["items"]}
    assert by_rule == {
        ("due_diligence.certification_expiring", "info", world.day(org, 30)),
        ("due_diligence.certification_expired", "warning", world.day(org, -1)),
        ("due_diligence.dpf_certification_expiring", "warning", world.day(org, 20)),
        ("due_diligence.review_overdue", "warning", world.day(org, -1)),
    }
    wider = report(
        client, org, legal, rule="due_diligence.certification_expiring", expiring_within=120
    )
    assert {i["due_on"] for i in wider["items"]} == {world.day(org, 30), world.day(org, 90)}
    narrow = report(client, org, legal, rule="due_diligence", expiring_within=10)
    assert "due_diligence.certification_expiring" not in {i["rule"] for i in narrow["items"]}


def test_a_subprocessor_needs_a_sub_dpa(client, org, legal):
    register(client, org, legal, name="Unsigned", sub_dpa_signed_on=None)
    register(client, org, legal, name="Signed later", sub_dpa_signed_on="2030-01-01")
    register(
        client, org, legal, name="Controller", role="independent_controller", sub_dpa_signed_on=None
    )
    body = report(client, org, legal)
    assert found(body, "Unsigned") == {("due_diligence.sub_dpa_missing", "error", None)}
    assert found(body, "Signed later") == {("due_diligence.sub_dpa_missing", "error", None)}
    assert found(body, "Controller") == set()


# --- which vendors, filters, notices ----------------------------------------------------------


def test_proposed_vendors_are_judged_today_but_not_on_past_dates(client, world, org, legal):
    register(
        client,
        org,
        legal,
        name="Proposed",
        country="US",
        locations=[{"country": "US", "mechanism": "none"}],
    )
    today = report(client, org, legal)
    assert today["items"][0]["recipient"]["status"] == "proposed"
    assert found(today, "Proposed") == {("transfer.no_mechanism", "error", "US")}
    assert report(client, org, legal, as_of=world.day(org, -1))["items"] == []


def test_filters_and_summary(client, org, legal):
    register(
        client,
        org,
        legal,
        name="Gaps",
        country="US",
        sub_dpa_signed_on=None,
        locations=[{**US_SCC, "scc_module": 1}],
    )
    everything = report(client, org, legal)
    assert everything["summary"] == {"error": 2, "warning": 1, "info": 0}
    assert everything["total"] == 3
    assert [i["severity"] for i in everything["items"]] == ["error", "error", "warning"]
    errors = report(client, org, legal, severity="error")
    assert {i["rule"] for i in errors["items"]} == {
        "transfer.scc_module_mismatch",
        "due_diligence.sub_dpa_missing",
    }
    assert errors["summary"] == {"error": 2, "warning": 0, "info": 0}
    only = report(client, org, legal, rule="transfer.tia_missing")
    assert [i["rule"] for i in only["items"]] == ["transfer.tia_missing"]
    assert set(everything["reference_data"]) == set(reference.FILES)


def test_undelivered_notices_and_urgent_changes(app, client, world, org, legal):
    url = f"/api/v1/orgs/{org['slug']}"
    response = client.post(
        f"{url}/customers",
        json={
            "external_ref": "s1",
            "name": "Salon",
            "contacts": [{"email": "s1@salon.example"}],
            # Urgency shortens notice only under an emergency-replacement clause.
            "agreement": {"emergency_clause": True},
        },
        headers=legal,
    )
    assert response.status_code == 201, response.json
    planned = register(client, org, legal, name="Planned")
    hurried = register(client, org, legal, name="Hurried")
    change = client.post(
        f"{url}/changes",
        json={
            "kind": "add",
            "recipient_id": planned["id"],
            "effective_on": world.day(org, 40),
        },
        headers=legal,
    )
    assert change.status_code == 201, change.json
    urgent = client.post(
        f"{url}/changes",
        json={
            "kind": "add",
            "recipient_id": hurried["id"],
            "effective_on": world.day(org, 1),
            "urgent": True,
            "urgent_justification": "The old provider shut down",
        },
        headers=legal,
    )
    assert urgent.status_code == 201, urgent.json
    with app.app_context():
        db.session.execute(update(Notice).values(delivered_at=None))
        db.session.commit()
    body = report(client, org, legal, rule="notice")
    undelivered = [i for i in body["items"] if i["rule"] == "notice.undelivered"]
    assert {(i["change"]["id"], i["severity"]) for i in undelivered} == {
        (change.json["id"], "warning"),
        (urgent.json["id"], "warning"),
    }
    # A warning while the customer may still object post hoc (its notice undelivered).
    assert [
        (i["severity"], i["change"]["id"])
        for i in body["items"]
        if i["rule"] == "notice.urgent_change"
    ] == [("warning", urgent.json["id"])]
    # Once the change is in effect, an undelivered notice means no notice at all.
    assert {
        i["severity"]
        for i in report(client, org, legal, rule="notice.undelivered", as_of=world.day(org, 2))[
            "items"
        ]
        if i["change"]["id"] == urgent.json["id"]
    } == {"error"}
    with app.app_context():
        db.session.execute(update(Notice).values(delivered_at=clock.now()))
        db.session.commit()
    assert report(client, org, legal, rule="notice.undelivered")["items"] == []


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "location"),
    [
        ("DE", {"country": "DE", "mechanism": "dpf"}),
        # The DPF attaches to a US importer; an EEA one with servers in Japan has none.
        ("DE", {"country": "JP", "mechanism": "dpf"}),
        ("DE", {"international_organisation": "UNICEF", "mechanism": "dpf"}),
        ("CN", {"country": "CN", "mechanism": "adequacy"}),
        ("CN", {"country": "DE", "mechanism": "adequacy"}),
        ("DE", {"international_organisation": "UNICEF", "mechanism": "adequacy"}),
    ],
)
def test_a_mechanism_that_cannot_apply_is_refused(client, org, legal, country, location):
    body = vendor(country=country, locations=[{"country": "DE", "mechanism": "none"}, location])
    response = client.post(f"/api/v1/orgs/{org['slug']}/subprocessors", json=body, headers=legal)
    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    assert list(response.json["errors"]["locations"]) == ["1"]
    assert response.json["errors"]["locations"]["1"]["mechanism"]
    listed = client.get(
        f"/api/v1/orgs/{org['slug']}/subprocessors", query_string={"status": "all"}, headers=legal
    )
    assert listed.json["total"] == 0


def test_what_paperwork_or_dates_can_fix_is_accepted(client, org, legal):
    # Brazil's decision exists (from 2026), the EPO's too; `none` is an honest "not yet".
    for location in (
        {"country": "BR", "mechanism": "adequacy"},
        {"international_organisation": "European Patent Organisation", "mechanism": "adequacy"},
        {"country": "US", "mechanism": "none"},
        {"country": "US", "mechanism": "scc", "scc_module": 1},
    ):
        register(client, org, legal, name=str(location), locations=[location])


def test_edits_and_updates_are_held_to_the_same_refusals(client, world, org, legal):
    url = f"/api/v1/orgs/{org['slug']}"
    proposed = register(client, org, legal, name="Proposed")
    response = client.patch(
        f"{url}/subprocessors/{proposed['id']}",
        json={"locations": [{"country": "JP", "mechanism": "dpf"}]},
        headers=legal,
    )
    assert response.status_code == 422
    assert response.json["errors"]["locations"]["0"]["mechanism"]
    shown = client.get(f"{url}/subprocessors/{proposed['id']}", headers=legal)
    assert shown.json["locations"][0]["country"] == "DE"

    public = register(client, org, legal, name="Public")
    added = client.post(
        f"{url}/changes",
        json={"kind": "add", "recipient_id": public["id"], "effective_on": world.day(org, 0)},
        headers=legal,
    )
    assert added.status_code == 201, added.json
    response = client.post(
        f"{url}/changes",
        json={
            "kind": "update",
            "recipient_id": public["id"],
            "effective_on": world.day(org, 40),
            "update": {"locations": [{"country": "JP", "mechanism": "dpf"}]},
        },
        headers=legal,
    )
    assert response.status_code == 422
    assert response.json["errors"]["update"]["locations"]["0"]["mechanism"]
    changes = client.get(f"{url}/changes", headers=legal).json
    assert [c["kind"] for c in changes["items"]] == ["add"]


# --- access --------------------------------------------------------------------------------


def test_access(client, world, org, legal):
    url = f"/api/v1/orgs/{org['slug']}/compliance"
    assert client.get(url).status_code == 401
    response = client.post(
        f"/api/v1/orgs/{org['slug']}/customers",
        json={"external_ref": "c1", "name": "Salon"},
        headers=legal,
    )
    customer = bearer(world.key("customer", org, response.json["id"]))
    assert client.get(url, headers=customer).status_code == 403
    other = world.org("other")
    assert client.get(url, headers=bearer(world.key("legal", other))).status_code == 404
    # A stranger learns nothing, not even which parameters are wrong.
    assert client.get(url, query_string={"severity": "x"}).status_code == 401
    for query in (
        {"severity": "fatal"},
        {"rule": "transfers"},
        {"activ": "1"},
        {"expiring_within": -1},
        {"as_of": "2026-02-30"},
    ):
        response = client.get(url, query_string=query, headers=legal)
        assert response.status_code == 422, query
        assert response.mimetype == PROBLEM


# --- reference data swap ----------------------------------------------------------------------


def test_replacing_the_reference_data_changes_the_report_at_once(
    app, client, world, tmp_path, monkeypatch
):
    bookero = seeded(app, world)["bookero"]
    before = report(client, bookero, bookero["legal"], as_of="2026-06-01", severity="error")
    # Only the controller side's unsigned processing agreements are errors before.
    assert {rule for _, _, rule, _ in transfer_keys(before)} == {"due_diligence.dpa_missing"}
    directory = tmp_path / "reference"
    shutil.copytree(reference.DATA, directory)
    path = directory / "adequacy.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    for decision in data["decisions"]:
        if decision.get("instrument") == "dpf":
            decision["until"] = "2026-05-31"
    path.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setitem(app.config, "REFERENCE_DATA_DIR", str(directory))
    after = report(client, bookero, bookero["legal"], as_of="2026-06-01", severity="error")
    fallen = {key for key in transfer_keys(after) if key[2] == "transfer.not_covered"}
    # Both registers lose the framework on the same day: customers' data and bookero's own.
    assert fallen == {
        ("customers_data", "Google Cloud", "transfer.not_covered", "US"),
        ("customers_data", "Google LLC", "transfer.not_covered", "US"),
        ("customers_data", "Stripe", "transfer.not_covered", "US"),
        ("controller", "Google Analytics", "transfer.not_covered", "US"),
        ("controller", "Google Cloud", "transfer.not_covered", "US"),
        ("controller", "Meta Platforms Ireland", "transfer.not_covered", "US"),
    }
    assert all(
        "until 2026-05-31" in i["detail"]
        for i in after["items"]
        if i["rule"] == "transfer.not_covered"
    )
    # The day before the framework fell, nothing changes.
    assert transfer_keys(
        report(client, bookero, bookero["legal"], as_of="2026-05-31", severity="error")
    ) == transfer_keys(before)


def transfer_keys(body: dict) -> set[tuple]:
    """(context, vendor, rule, country) of each item, whichever register it is from."""
    return {
        (
            i["context"],
            (i["recipient"] or i["controller_recipient"] or {}).get("name"),
            i["rule"],
            (i["location"] or {}).get("country"),
        )
        for i in body["items"]
    }


# --- reminders ----------------------------------------------------------------------------------


def reminders(app, org: dict) -> list[dict]:
    with app.app_context():
        return [
            {"entity_id": e.entity_id, **e.after}
            for e in db.session.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.organization_id == org["id"],
                    AuditEvent.action == "compliance.expiry_reminder",
                )
                .order_by(AuditEvent.seq)
            )
        ]


def test_reminders_are_recorded_once_per_item_and_expiry_date(app, client, world, org, legal):
    from workers.tasks import remind_expiries

    due = register(
        client,
        org,
        legal,
        name="Due",
        certifications=[
            {"name": "ISO/IEC 27001", "expires_on": world.day(org, 10)},
            {"name": "SOC 2", "expires_on": world.day(org, -3)},
        ],
        dpf_certified_until=world.day(org, 100),
        next_review_on=world.day(org, 20),
    )
    gone = register(client, org, legal, name="Gone", next_review_on=world.day(org, 5))
    with app.app_context():
        db.session.get(Recipient, gone["id"]).listed_from = world.today(org) - timedelta(days=30)
        db.session.get(Recipient, gone["id"]).listed_until = world.today(org)
        db.session.commit()
    with app.app_context():
        assert remind_expiries() == 2
    recorded = reminders(app, org)
    assert {(r["entity_id"], r["item"], r["due_on"], r["days_left"]) for r in recorded} == {
        (str(due["id"]), "certification:ISO/IEC 27001", world.day(org, 10), 10),
        (str(due["id"]), "review", world.day(org, 20), 20),
    }
    with app.app_context():
        assert remind_expiries() == 0
    assert len(reminders(app, org)) == 2
    # A renewed review date is a new expiry: one more reminder, for it alone.
    response = client.patch(
        f"/api/v1/orgs/{org['slug']}/subprocessors/{due['id']}",
        json={"next_review_on": world.day(org, 25)},
        headers=legal,
    )
    assert response.status_code == 200, response.json
    with app.app_context():
        assert remind_expiries() == 1
        assert audit.verify_chain(org["id"]).ok
    assert reminders(app, org)[-1]["due_on"] == world.day(org, 25)


# --- the rules as plain functions -------------------------------------------------------------


def test_expected_modules():
    assert rules.expected_modules("subprocessor", None) == {3}
    assert rules.expected_modules("subprocessor", "subprocessor") == {3}
    assert rules.expected_modules("subprocessor", "independent_controller") == {2}
    # A third-party controller is Module 1 wherever it sits; Module 4 is only for data a
    # processor returns to its own controller, which no vendor is.
    assert rules.expected_modules("independent_controller", None) == {1}
    assert rules.expected_modules("joint_controller", None) == {1}
    assert rules.expected_modules("independent_controller", "subprocessor") == {1}


def test_transfer_places():
    day = date(2026, 1, 1)
    assert rules.transfer_places("DE", {"country": "DE"}, day) == []
    assert [p.label for p in rules.transfer_places("US", {"country": "DE"}, day)] == ["US"]
    assert [p.label for p in rules.transfer_places("IE", {"country": "US"}, day)] == ["US"]
    assert [p.label for p in rules.transfer_places("IN", {"country": "US"}, day)] == ["US", "IN"]
    assert [
        p.label for p in rules.transfer_places("DE", {"international_organisation": "EPO"}, day)
    ] == ["EPO"]


def test_every_rule_the_report_emits_is_catalogued():
    vendor_data = rules.Vendor(
        name="X",
        country="US",
        role="subprocessor",
        locations=(
            {"country": "US", "mechanism": "none"},
            {"country": "US", "mechanism": "dpf"},
            {"country": "CN", "mechanism": "adequacy"},
            {"country": "US", "mechanism": "scc", "scc_module": 1, "scc_clause9_option": "general"},
            {"country": "IN", "mechanism": "derogation", "derogation_ground": "a"},
            {"country": "CA", "mechanism": "adequacy"},
        ),
        certifications=({"name": "ISO", "expires_on": date(2020, 1, 1)},),
        next_review_on=date(2020, 1, 1),
    )
    emitted = rules.check_vendor(vendor_data, date(2026, 1, 1), policy="eu_only")
    assert {f.rule for f in emitted} <= set(rules.RULES)
    assert {f.severity for f in emitted} <= set(rules.SEVERITIES)
    assert len({f.rule for f in emitted}) >= 10


def test_the_report_is_documented_in_openapi(client):
    spec = client.get("/openapi.json").json
    operation = spec["paths"]["/api/v1/orgs/{org}/compliance"]["get"]
    assert {p["name"] for p in operation["parameters"] if p["in"] == "query"} == {
        "as_of",
        "severity",
        "rule",
        "context",
        "expiring_within",
    }
    assert "ComplianceItem" in spec["components"]["schemas"]


def test_expiry_reminders_reach_legal_staff_by_e_mail(app, client, world, org, legal, outbox_mail):
    from service.mail.delivery import drain
    from workers.tasks import remind_expiries

    register(client, org, legal, name="Due soon", next_review_on=world.day(org, 7))
    with app.app_context():
        assert remind_expiries() == 1
        drain()
    alerts = [m for m in outbox_mail.sent if m["To"].addresses[0].addr_spec == "legal@acme.example"]
    assert len(alerts) == 1
    body = alerts[0].get_body(("plain",)).get_content()
    assert "Due soon" in body
    assert world.day(org, 7) in body
