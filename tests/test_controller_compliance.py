"""The compliance report of the organization's own processing as controller: its recipients
judged by the transfer, residency and due-diligence rules (exporting as controller), joint
arrangements (Art. 26), in-product vendors that may reach customers' data (Art. 28(2)),
and time limits for erasure (Art. 5(1)(e), 30(1)(f))."""

from __future__ import annotations

from datetime import date

import pytest

from service.compliance import rules
from service.compliance.schemas import RULE_FAMILIES
from service.controller import facts
from service.controller.models import ControllerRecipient, ProcessingActivity
from service.extensions import db
from service.organizations.models import Organization
from tests import controller_facts_kit as kit
from tests.conftest import bearer, vendor
from tests.test_compliance import list_since, seeded

# Calendar dates in this module are literals: it runs at a fixed moment (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("fixed_clock")

DAY = "2026-06-01"
US_DPF = {
    "country": "US",
    "legal_entity": "Analytics Inc.",
    "locations": [{"country": "US", "mechanism": "dpf"}],
    "dpf_certified_from": date(2023, 9, 1),
    "dpf_certified_until": date(2027, 6, 30),
    "dpf_checked_on": date(2026, 3, 1),
    "dpf_certified_entity": "Analytics Inc.",
}


def items(client, org: dict, headers: dict, **query: object) -> list[dict]:
    response = client.get(
        f"/api/v1/orgs/{org['slug']}/compliance",
        query_string={"as_of": DAY, **query},
        headers=headers,
    )
    assert response.status_code == 200, response.json
    return response.json["items"]


def about(found: list[dict], name: str) -> set[tuple[str, str]]:
    """(rule, severity) of the controller-side items about recipient `name`."""
    return {
        (i["rule"], i["severity"])
        for i in found
        if i["context"] == "controller" and (i["controller_recipient"] or {}).get("name") == name
    }


def rule_ids(found: list[dict], context: str = "controller") -> set[str]:
    return {i["rule"] for i in found if i["context"] == context}


def set_policy(app, org: dict, policy: str) -> None:
    with app.app_context():
        db.session.get(Organization, org["id"]).residency_policy = policy
        db.session.commit()


# --- the item and its context -----------------------------------------------------------------


def test_items_of_both_registers_say_which_they_are_about(app, client, org, legal):
    body = vendor(name="Hosting", sub_dpa_signed_on=None)
    response = client.post(f"/api/v1/orgs/{org['slug']}/subprocessors", json=body, headers=legal)
    list_since(app, response.json["id"], "2026-01-01")
    mailer = kit.recipient(app, org, dpa_signed_on=None)
    found = items(client, org, legal)
    [mine] = [i for i in found if i["context"] == "controller"]
    assert mine == {
        "severity": "error",
        "rule": "due_diligence.dpa_missing",
        "context": "controller",
        "recipient": None,
        "controller_recipient": {"id": mailer, "name": "Mailer", "role": "processor"},
        "activity": None,
        "location": None,
        "change": None,
        "customer": None,
        "due_on": None,
        "detail": mine["detail"],
        "fix": mine["fix"],
    }
    assert "Art. 28(3)" in mine["detail"]
    [theirs] = [i for i in found if i["context"] == "customers_data"]
    assert theirs["rule"] == "due_diligence.sub_dpa_missing"
    assert theirs["recipient"]["name"] == "Hosting"
    assert theirs["controller_recipient"] is None
    assert theirs["activity"] is None
    # Either register alone, for a reader who answers for one hat.
    assert items(client, org, legal, context="controller") == [mine]
    assert items(client, org, legal, context="customers_data") == [theirs]
    refused = client.get(
        f"/api/v1/orgs/{org['slug']}/compliance", query_string={"context": "x"}, headers=legal
    )
    assert refused.status_code == 422


def test_a_processor_needs_an_art_28_3_contract_signed_by_the_day(app, client, org, legal):
    mailer = kit.recipient(app, org, dpa_signed_on=None)
    assert about(items(client, org, legal), "Mailer") == {("due_diligence.dpa_missing", "error")}
    kit.edit(app, ControllerRecipient, mailer, dpa_signed_on=date(2026, 3, 1))
    assert about(items(client, org, legal), "Mailer") == set()
    earlier = items(client, org, legal, as_of="2026-02-01")
    assert about(earlier, "Mailer") == {("due_diligence.dpa_missing", "error")}
    # A controller of its own needs no Art. 28(3) contract.
    kit.edit(app, ControllerRecipient, mailer, role="independent_controller")
    assert about(items(client, org, legal, as_of="2026-02-01"), "Mailer") == set()


def test_only_recipients_in_use_on_the_day_are_judged(app, client, world, org, legal):
    kit.recipient(app, org, dpa_signed_on=None, used_until=date(2026, 1, 1))
    kit.recipient(app, org, name="Later", dpa_signed_on=None, used_from=date(2026, 7, 1))
    other = world.org("other")
    kit.recipient(app, other, name="Theirs", dpa_signed_on=None)
    assert rule_ids(items(client, org, legal)) == set()
    assert about(items(client, org, legal, as_of="2025-12-31"), "Mailer")


# --- transfers and residency --------------------------------------------------------------


def test_a_us_recipient_under_a_valid_dpf_certification_has_no_transfer_gap(
    app, client, org, legal
):
    analytics = kit.recipient(app, org, name="Analytics", **US_DPF)
    assert about(items(client, org, legal), "Analytics") == set()
    with app.app_context():
        row = db.session.get(ControllerRecipient, analytics)
        [status] = facts.statuses(row, date.fromisoformat(DAY))
        assert status.state == rules.VALID
    response = client.get(
        f"/api/v1/orgs/{org['slug']}/compliance", query_string={"as_of": DAY}, headers=legal
    )
    assert response.json["risks"][0]["recipients"] == ["Analytics"]

    # The organization promises EU only: the US establishment and location break it.
    set_policy(app, org, "eu_only")
    found = items(client, org, legal)
    assert about(found, "Analytics") == {("residency.outside_policy", "error")}
    residency = [i for i in found if i["rule"] == "residency.outside_policy"]
    assert len(residency) == 2  # the establishment and the location
    assert all("privacy policy" in i["fix"] for i in residency)


def test_a_lapsed_dpf_certification_is_a_gap(app, client, org, legal):
    analytics = kit.recipient(
        app, org, name="Analytics", **{**US_DPF, "dpf_certified_until": date(2026, 1, 31)}
    )
    found = items(client, org, legal)
    assert about(found, "Analytics") == {("transfer.dpf_not_certified", "error")}
    [gap] = [i for i in found if i["rule"] == "transfer.dpf_not_certified"]
    assert gap["location"]["country"] == "US"
    assert "expired on 2026-01-31" in gap["detail"]
    assert "Module 2" in gap["fix"]  # the SCCs that would fit a processor
    with app.app_context():
        row = db.session.get(ControllerRecipient, analytics)
        [status] = facts.statuses(row, date.fromisoformat(DAY))
        assert status.state == rules.GAP
    # Before the lapse it held, expiring soon.
    assert about(items(client, org, legal, as_of="2026-01-15"), "Analytics") == {
        ("due_diligence.dpf_certification_expiring", "warning")
    }


def test_dpf_list_checks_and_scope(app, client, org, legal):
    analytics = kit.recipient(app, org, name="Analytics", **{**US_DPF, "dpf_checked_on": None})
    assert about(items(client, org, legal), "Analytics") == {
        ("due_diligence.dpf_check_missing", "info")
    }
    kit.edit(app, ControllerRecipient, analytics, dpf_checked_on=date(2025, 1, 10))
    assert about(items(client, org, legal), "Analytics") == {
        ("due_diligence.dpf_check_stale", "warning")
    }
    kit.edit(app, ControllerRecipient, analytics, dpf_checked_on=date(2026, 3, 1), dpf_scope="hr")
    found = items(client, org, legal)
    assert about(found, "Analytics") == {("transfer.dpf_scope", "warning")}
    [scope] = [i for i in found if i["rule"] == "transfer.dpf_scope"]
    assert "the organization's data" in scope["detail"]


def scc(module: int) -> list[dict]:
    return [
        {"country": "US", "mechanism": "scc", "scc_module": module, "scc_signed_on": "2022-01-10"}
    ]


@pytest.mark.parametrize(
    ("role", "module", "expected"),
    [
        # The organization exports as controller: Module 2 to its processor...
        ("processor", 2, set()),
        ("processor", 3, {("transfer.scc_module_mismatch", "error")}),
        ("processor", 1, {("transfer.scc_module_mismatch", "error")}),
        ("processor", 4, {("transfer.scc_module4_third_party", "error")}),
        # ... and Module 1 to a controller.
        ("independent_controller", 1, set()),
        ("joint_controller", 1, set()),
        ("independent_controller", 2, {("transfer.scc_module_mismatch", "error")}),
        ("independent_controller", 4, {("transfer.scc_module4_third_party", "error")}),
    ],
)
def test_the_scc_module_fits_the_organization_as_controller(
    app, client, org, legal, role, module, expected
):
    joint = {
        "joint_arrangement_on": date(2024, 1, 1),
        "joint_arrangement_reference": "JCA-1",
        "joint_arrangement_essence_pl": "Istota uzgodnień",
        "joint_arrangement_essence_en": "The essence of the arrangement",
    }
    kit.recipient(
        app,
        org,
        name="Support",
        country="US",
        role=role,
        locations=scc(module),
        tia_completed_on=date(2022, 1, 5),
        **joint,
    )
    found = items(client, org, legal)
    assert about(found, "Support") == expected
    wanted = "Module 2" if role == "processor" else "Module 1"
    assert all(wanted in i["fix"] for i in found if i["context"] == "controller")


def test_a_derogation_cannot_carry_a_processor_of_the_organization(app, client, org, legal):
    location = {"country": "US", "mechanism": "derogation", "derogation_ground": "a"}
    kit.recipient(app, org, name="Support", country="US", locations=[location])
    kit.recipient(
        app, org, name="Courier", country="US", role="independent_controller", locations=[location]
    )
    found = items(client, org, legal)
    assert about(found, "Support") == {("transfer.derogation_systematic", "error")}
    assert about(found, "Courier") == {("transfer.derogation_occasional", "warning")}


# --- joint controllers --------------------------------------------------------------------


def test_a_joint_controller_needs_its_arrangement(app, client, org, legal):
    partner = kit.recipient(app, org, name="Partner", role="joint_controller", dpa_signed_on=None)
    found = items(client, org, legal)
    assert about(found, "Partner") == {("controller.joint_arrangement_missing", "warning")}
    [gap] = [i for i in found if i["rule"] == "controller.joint_arrangement_missing"]
    assert "Art. 26(1)" in gap["detail"]
    assert "Art. 26(2)" in gap["fix"]
    for part in ("its date", "its reference", "its essence (pl)", "its essence (en)"):
        assert part in gap["detail"]

    kit.edit(
        app,
        ControllerRecipient,
        partner,
        joint_arrangement_on=date(2026, 2, 1),
        joint_arrangement_reference="JCA-2026/1",
        joint_arrangement_essence_pl="Każdy administrator odpowiada za ...",
        joint_arrangement_essence_en="Each controller answers for ...",
    )
    assert about(items(client, org, legal), "Partner") == set()
    # Before it was concluded it was missing; and an essence in one language only is not enough.
    assert about(items(client, org, legal, as_of="2026-01-31"), "Partner")
    kit.edit(app, ControllerRecipient, partner, joint_arrangement_essence_en=" ")
    [gap] = [i for i in items(client, org, legal) if i["rule"].startswith("controller.")]
    assert "its essence (en)" in gap["detail"]
    assert "its date" not in gap["detail"]


# --- vendors inside the product -------------------------------------------------------------


def test_an_in_product_vendor_is_a_subprocessor_candidate_until_linked_or_documented(
    app, client, org, legal
):
    pixel = kit.recipient(app, org, name="Pixel", in_product=True)
    found = items(client, org, legal)
    assert about(found, "Pixel") == {("controller.subprocessor_candidate", "warning")}
    [gap] = [i for i in found if i["rule"] == "controller.subprocessor_candidate"]
    assert "Pixel" in gap["detail"]
    assert "Art. 28(2)" in gap["detail"]
    assert "subprocessor_id" in gap["fix"]
    assert "customer_data_statement_on" in gap["fix"]

    # Linked to a subprocessor that is only proposed: customers have not been told yet.
    body = vendor(name="Pixel (widget)", sub_dpa_signed_on="2026-01-01")
    response = client.post(f"/api/v1/orgs/{org['slug']}/subprocessors", json=body, headers=legal)
    assert response.status_code == 201, response.json
    subprocessor = response.json["id"]
    kit.edit(app, ControllerRecipient, pixel, subprocessor_id=subprocessor)
    [gap] = [i for i in items(client, org, legal) if i["rule"].startswith("controller.")]
    assert "Pixel (widget)" in gap["detail"]
    assert "(proposed)" in gap["detail"]

    list_since(app, subprocessor, "2026-05-01")
    assert about(items(client, org, legal), "Pixel") == set()
    assert about(items(client, org, legal, as_of="2026-04-30"), "Pixel")

    # Not in the product: nothing to announce.
    kit.edit(app, ControllerRecipient, pixel, subprocessor_id=None, in_product=False)
    assert about(items(client, org, legal), "Pixel") == set()


def test_a_dated_statement_documents_that_it_does_not_touch_customers_data(app, client, org, legal):
    pixel = kit.recipient(
        app,
        org,
        name="Pixel",
        in_product=True,
        customer_data_statement_en="Loaded only on the marketing pages, never in the widget.",
    )
    # A statement without its date, or dated after the day, does not count yet.
    assert about(items(client, org, legal), "Pixel")
    kit.edit(app, ControllerRecipient, pixel, customer_data_statement_on=date(2026, 6, 2))
    assert about(items(client, org, legal), "Pixel")
    kit.edit(app, ControllerRecipient, pixel, customer_data_statement_on=date(2026, 5, 1))
    assert about(items(client, org, legal), "Pixel") == set()
    # Polish alone is as good; a blank statement is none.
    kit.edit(
        app,
        ControllerRecipient,
        pixel,
        customer_data_statement_en="",
        customer_data_statement_pl="Tylko na stronach marketingowych.",
    )
    assert about(items(client, org, legal), "Pixel") == set()
    kit.edit(app, ControllerRecipient, pixel, customer_data_statement_pl="  ")
    assert about(items(client, org, legal), "Pixel")


def test_a_subprocessor_of_another_organization_is_no_link(app, client, world, org, legal):
    other = world.org("other")
    theirs = bearer(world.key("legal", other))
    body = vendor(name="Pixel (theirs)", sub_dpa_signed_on="2026-01-01")
    response = client.post(f"/api/v1/orgs/{other['slug']}/subprocessors", json=body, headers=theirs)
    list_since(app, response.json["id"], "2026-01-01")
    kit.recipient(app, org, name="Pixel", in_product=True, subprocessor_id=response.json["id"])
    assert about(items(client, org, legal), "Pixel") == {
        ("controller.subprocessor_candidate", "warning")
    }


# --- retention ---------------------------------------------------------------------------


def activity_items(found: list[dict]) -> set[tuple[str, str]]:
    return {(i["rule"], i["activity"]["key"]) for i in found if i["activity"]}


def test_an_activity_in_use_needs_a_time_limit_for_erasure(app, client, org, legal):
    analytics = kit.activity(
        app, org, key="analytics", name_en="Website analytics", retention_from=None
    )
    kit.activity(app, org, key="old", retention_from=None, ended_on=date(2026, 1, 1))
    kit.activity(app, org)  # the newsletter: until consent is withdrawn
    kit.activity(app, org, key="contracts", retention_years=6, retention_from="end_of_year")
    found = items(client, org, legal)
    assert activity_items(found) == {("retention.activity_rule_missing", "analytics")}
    [gap] = [i for i in found if i["activity"]]
    assert gap["activity"] == {"id": analytics, "key": "analytics", "name": "Website analytics"}
    assert gap["severity"] == "warning"
    assert "Art. 30(1)(f)" in gap["detail"]
    assert ("retention.activity_rule_missing", "old") in activity_items(
        items(client, org, legal, as_of="2025-12-31")
    )
    kit.edit(app, ProcessingActivity, analytics, retention_note_en="13 months (cookie lifetime)")
    assert activity_items(items(client, org, legal)) == set()


def test_customer_records_without_a_retention_rule(app, client, org, legal):
    assert "retention.rule_missing" not in rule_ids(items(client, org, legal))  # no customers
    kit.customer(app, org, "C1", date(2020, 1, 1), date(2024, 3, 31))
    found = items(client, org, legal)
    [gap] = [i for i in found if i["rule"] == "retention.rule_missing"]
    assert gap["severity"] == "warning"
    assert gap["context"] == "controller"
    assert "Art. 5(1)(e)" in gap["detail"]
    assert "Art. 30(1)(f)" in gap["detail"]
    assert items(client, org, legal, rule="retention") == [gap]

    # An activity covering them with a note and no years gives the purge no period.
    records = kit.activity(
        app,
        org,
        key="customer-records",
        covers_customer_records=True,
        retention_from="end_of_year",
        retention_note_en="Until claims are time-barred",
    )
    assert "retention.rule_missing" in rule_ids(items(client, org, legal))
    kit.edit(app, ProcessingActivity, records, retention_years=6, retention_extra_years=1)
    assert "retention.rule_missing" not in rule_ids(items(client, org, legal))
    # The organization's own setting is a rule too.
    kit.edit(app, ProcessingActivity, records, covers_customer_records=False)
    assert "retention.rule_missing" in rule_ids(items(client, org, legal))
    with app.app_context():
        db.session.get(Organization, org["id"]).retention_years = 5
        db.session.commit()
    assert "retention.rule_missing" not in rule_ids(items(client, org, legal))


def test_a_covering_activity_counted_from_another_start_is_reported(app, client, org, legal):
    kit.customer(app, org, "C1", date(2020, 1, 1))
    records = kit.activity(
        app,
        org,
        key="customer-records",
        covers_customer_records=True,
        retention_years=3,
        retention_from="last_activity",
    )
    found = items(client, org, legal)
    [gap] = [i for i in found if i["rule"].startswith("retention.")]
    assert gap["rule"] == "retention.records_rule_invalid"
    assert gap["activity"]["key"] == "customer-records"
    assert "last_activity" in gap["detail"]
    kit.edit(app, ProcessingActivity, records, retention_from="end_of_relationship")
    assert not [i for i in items(client, org, legal) if i["rule"].startswith("retention.")]


def test_the_new_rules_are_catalogued_and_filterable(app, client, org, legal):
    assert {"controller", "retention"} <= RULE_FAMILIES
    kit.recipient(app, org, name="Pixel", in_product=True, dpa_signed_on=None)
    kit.customer(app, org, "C1", date(2020, 1, 1))
    found = items(client, org, legal)
    assert {i["rule"] for i in found} <= set(rules.RULES)
    assert [i["rule"] for i in items(client, org, legal, rule="controller")] == [
        "controller.subprocessor_candidate"
    ]
    assert [i["rule"] for i in items(client, org, legal, severity="error")] == [
        "due_diligence.dpa_missing"
    ]
    # Errors first, then by what the item is about.
    assert [i["severity"] for i in found] == ["error", "warning", "warning"]


def test_bookero_demo_keeps_customer_records_with_no_rule(app, client, world):
    orgs = seeded(app, world)
    bookero, bez = orgs["bookero"], orgs["bezkalkulatora"]
    assert "retention.rule_missing" in rule_ids(items(client, bookero, bookero["legal"]))
    # bezkalkulatora keeps them 6+1 years.
    assert "retention.rule_missing" not in rule_ids(items(client, bez, bez["legal"]))
