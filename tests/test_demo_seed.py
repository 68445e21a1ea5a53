"""The demo seed: real services, audited, idempotent, with keys written once to a 0600 file."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import delete, func, select

from service.audit import services as audit
from service.audit.models import AuditChain, AuditEvent
from service.changes.models import Change
from service.demo.seed import KEYS_FILE, seed
from service.extensions import db
from service.keys.models import ApiKey
from service.keys.services import revoke_key
from service.organizations.models import Organization
from service.recipients.models import Recipient

# Calendar dates in this module are literals: it runs at a fixed moment (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("fixed_clock")

ACTOR = "test:seed"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def read_env(path: Path) -> dict[str, str]:
    pairs = (line.partition("=") for line in path.read_text().splitlines() if "=" in line)
    return {name: value for name, _, value in pairs if not name.startswith("#")}


def row_counts() -> dict[str, int]:
    return {
        table.name: db.session.scalar(select(func.count()).select_from(table))
        for table in db.metadata.sorted_tables
    }


def chain_heads() -> dict[int, tuple[int, str]]:
    return {c.organization_id: (c.seq, c.head) for c in db.session.scalars(select(AuditChain))}


@pytest.fixture
def keys_file(app: Flask) -> Iterator[Path]:
    # The app (and its instance path) lives for the whole session; the tables do not.
    path = Path(app.instance_path) / KEYS_FILE
    path.unlink(missing_ok=True)
    yield path
    path.unlink(missing_ok=True)


@pytest.fixture
def seeded(app: Flask, keys_file: Path) -> list[str]:
    # Its own app context, left before the test runs: a request made while another app
    # context is active reuses it, and with it `g` (and the cached caller's key).
    with app.app_context():
        created = seed(app.instance_path, actor=ACTOR)
        db.session.commit()
        db.session.remove()
    return created


def by_name(response) -> dict[str, dict]:
    assert response.status_code == 200, response.json
    return {item["name"]: item for item in response.json["items"]}


def places(item: dict) -> set[tuple[str, str]]:
    return {(loc["country"], loc["mechanism"]) for loc in item["locations"]}


def test_first_run_reports_what_it_created(seeded):
    assert "organization bookero" in seeded
    assert "organization bezkalkulatora" in seeded
    assert "recipient bookero/Bugsnag" in seeded
    assert "customer bookero/BK-0001" in seeded
    assert "key 'demo legal bookero'" in seeded
    assert seeded[-1].startswith("demo keys in ")


def test_second_run_creates_and_changes_nothing(ctx, seeded, keys_file):
    counts, heads = row_counts(), chain_heads()
    assert counts["organizations"] == 2
    # bookero's 9 (Brevo proposed and added by the demo's urgent change); bezkalkulatora,
    # a controller only, has none: its partners are on its own side.
    assert counts["recipients"] == 9
    assert counts["controller_recipients"] == 10
    assert counts["processing_activities"] == 6
    assert counts["customers"] == 4
    assert counts["api_keys"] == 3
    before = keys_file.read_bytes(), keys_file.stat().st_mtime_ns

    assert seed(ctx.instance_path, actor=ACTOR) == []
    db.session.commit()

    assert row_counts() == counts
    assert chain_heads() == heads  # not a single audit event more
    assert (keys_file.read_bytes(), keys_file.stat().st_mtime_ns) == before


def test_seed_leaves_the_commit_to_the_caller(ctx, keys_file):
    assert seed(ctx.instance_path, actor=ACTOR)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Organization)) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_bookero_public_list_shows_payment_controllers_with_locations(client, seeded):
    items = by_name(client.get("/api/v1/orgs/bookero/subprocessors"))
    assert set(items) == {
        "Hetzner Online",
        "Google Cloud",
        "Google LLC",
        "Amazon Web Services",
        "tpay.com",
        "Stripe",
        "Smartsupp",
        "Bugsnag",
    }
    stripe, tpay = items["Stripe"], items["tpay.com"]
    assert stripe["legal_entity"] == "Stripe Payments Europe, Limited"
    assert (stripe["country"], stripe["role"]) == ("IE", "independent_controller")
    assert places(stripe) == {("IE", "none"), ("US", "dpf")}
    assert stripe["services"] == ["payments"]
    assert tpay["legal_entity"] == "Krajowy Integrator Płatności S.A."
    assert (tpay["country"], tpay["role"]) == ("PL", "independent_controller")
    assert places(tpay) == {("PL", "none")}
    assert places(items["Hetzner Online"]) == {("DE", "none")}
    assert places(items["Amazon Web Services"]) == {("DE", "none")}
    assert places(items["Smartsupp"]) == {("CZ", "none")}
    for item in items.values():
        assert item["status"] == "active"
        assert item["listed_from"] == "2024-01-01"
        assert item["purpose_pl"]
        assert item["purpose_en"]
        assert item["data_categories_pl"]
        assert item["data_categories_en"]
        assert item["data_subject_categories"]
        assert item["due_diligence"] is None  # anonymous callers see no due diligence
    # Bookero's own-website tools are not part of its processor chain.
    entities = {item["legal_entity"] for item in items.values()}
    assert "Meta Platforms Ireland Limited" not in entities
    assert "Google Ireland Limited" not in entities


def test_bookero_is_known_by_its_brand(ctx, seeded):
    org = db.session.scalar(select(Organization).where(Organization.slug == "bookero"))
    assert org.brand == "Bookero"
    assert org.known_as == "Bookero (SAFI STUDIO Paweł Nowakowski)"


def test_bugsnag_transfer_rests_on_module_3_sccs(client, seeded):
    bugsnag = by_name(client.get("/api/v1/orgs/bookero/subprocessors"))["Bugsnag"]
    assert (bugsnag["country"], bugsnag["role"]) == ("US", "subprocessor")
    [location] = bugsnag["locations"]
    assert location["country"] == "US"
    assert location["mechanism"] == "scc"
    assert location["scc_module"] == 3
    assert location["scc_clause9_option"] == "general"
    assert location["scc_clause9_notice_days"] == 30
    assert location["scc_signed_on"] == "2023-06-15"


def test_google_llc_is_a_child_of_google_cloud(client, seeded):
    items = by_name(client.get("/api/v1/orgs/bookero/subprocessors"))
    assert items["Google LLC"]["parent_id"] == items["Google Cloud"]["id"]
    assert places(items["Google Cloud"]) == {("IE", "none"), ("US", "dpf")}


def test_scope_filter_follows_the_services_each_vendor_serves(client, seeded):
    payments = by_name(client.get("/api/v1/orgs/bookero/subprocessors?scope=payments"))
    assert {"Stripe", "tpay.com", "Hetzner Online", "Google LLC"} <= set(payments)
    assert "Amazon Web Services" not in payments  # e-mail reminders only
    messaging = by_name(client.get("/api/v1/orgs/bookero/subprocessors?scope=messaging"))
    assert "Amazon Web Services" in messaging
    assert "Stripe" not in messaging


def controller_side(client, keys_file, slug: str) -> tuple[dict, dict]:
    """The organization's own recipients by name and activities by key, as its legal staff
    read them."""
    legal = bearer(read_env(keys_file)[f"{slug.upper()}_LEGAL_KEY"])
    recipients = by_name(client.get(f"/api/v1/orgs/{slug}/controller-recipients", headers=legal))
    response = client.get(f"/api/v1/orgs/{slug}/activities", headers=legal)
    assert response.status_code == 200, response.json
    return recipients, {item["key"]: item for item in response.json["items"]}


def test_bezkalkulatora_promises_eu_only_and_its_partners_are_controllers(
    client, seeded, keys_file
):
    org = client.get("/api/v1/orgs/bezkalkulatora")
    assert org.status_code == 200
    assert org.json["residency_policy"] == "eu_only"
    assert "6+1" in org.json["retention_policy"]
    # A controller only: nobody entrusts it with data, so its customers'-data list is empty.
    assert client.get("/api/v1/orgs/bezkalkulatora/subprocessors").json["total"] == 0
    recipients, activities = controller_side(client, keys_file, "bezkalkulatora")
    roles = {name: item["role"] for name, item in recipients.items()}
    assert roles == {
        "Google Analytics": "joint_controller",
        "Google Ads": "independent_controller",
        "Facebook Pixel": "joint_controller",
        "YouTube": "independent_controller",
        "Partner hostingowy": "processor",
    }
    assert recipients["Facebook Pixel"]["legal_entity"] == "Meta Platforms Ireland Limited"
    # Honest locations: each partner also processes in the US, against the EU-only promise.
    for name in ("Google Analytics", "Google Ads", "Facebook Pixel", "YouTube"):
        assert places(recipients[name]) == {("IE", "none"), ("US", "dpf")}
        assert recipients[name]["dpf_certified_from"] == "2023-07-17"
        assert recipients[name]["subprocessor"] is None
    analytics, pixel = recipients["Google Analytics"], recipients["Facebook Pixel"]
    assert "Measurement Controller-Controller" in analytics["joint_arrangement_reference"]
    assert "Controller Addendum" in pixel["joint_arrangement_reference"]
    assert "C-40/17" in pixel["joint_arrangement_essence_pl"]
    assert "C-40/17" in pixel["joint_arrangement_essence_en"]
    hosting = recipients["Partner hostingowy"]
    assert hosting["dpa_signed_on"] == "2024-01-01"
    assert [(p["region"], p["mechanism"]) for p in hosting["locations"]] == [("EU", "none")]

    assert set(activities) == {"website-analytics", "contact-and-contracts"}
    web = activities["website-analytics"]
    assert web["legal_bases"] == ["6(1)(a)"]
    assert {r["name"] for r in web["recipients"]} == {
        "Google Analytics",
        "Google Ads",
        "Facebook Pixel",
        "YouTube",
    }
    contracts = activities["contact-and-contracts"]
    assert contracts["legal_bases"] == ["6(1)(b)", "6(1)(c)", "6(1)(f)"]
    assert (
        contracts["retention_years"],
        contracts["retention_extra_years"],
        contracts["retention_from"],
        contracts["covers_customer_records"],
    ) == (6, 1, "end_of_year", True)
    assert "art. 118 Kodeksu cywilnego" in contracts["retention_basis_pl"]
    assert "Art. 118 of the Polish Civil Code" in contracts["retention_basis_en"]
    assert [r["name"] for r in contracts["recipients"]] == ["Partner hostingowy"]


def test_bookero_is_also_the_controller_of_its_own_visitors_and_accounts(client, seeded, keys_file):
    recipients, activities = controller_side(client, keys_file, "bookero")
    assert {name: r["role"] for name, r in recipients.items()} == {
        "Google Analytics": "processor",
        "Google Cloud": "processor",
        "Hotjar": "processor",
        "Meta Platforms Ireland": "joint_controller",
        "Narzędzie do newslettera": "processor",
    }
    # Google Workspace serves both contexts: linked to the subprocessor of that name, which
    # shows its counterpart to legal staff.
    listed = by_name(
        client.get(
            "/api/v1/orgs/bookero/subprocessors",
            headers=bearer(read_env(keys_file)["BOOKERO_LEGAL_KEY"]),
        )
    )
    workspace = recipients["Google Cloud"]
    assert workspace["subprocessor"] == {"id": listed["Google Cloud"]["id"], "name": "Google Cloud"}
    assert listed["Google Cloud"]["controller_contexts"] == [
        {"id": workspace["id"], "name": "Google Cloud", "role": "processor"}
    ]
    assert "Google Ads Data Processing Terms" in recipients["Google Analytics"]["notes"]
    hotjar = recipients["Hotjar"]
    assert (hotjar["country"], hotjar["in_product"], hotjar["subprocessor"]) == ("MT", True, None)
    assert hotjar["customer_data_statement_on"] is None
    assert not hotjar["customer_data_statement_en"]
    meta = recipients["Meta Platforms Ireland"]
    assert "Controller Addendum" in meta["joint_arrangement_reference"]
    assert [p["region"] for p in recipients["Narzędzie do newslettera"]["locations"]] == ["EU"]

    assert set(activities) == {"website", "account-holders", "newsletter", "customer-records"}
    website = activities["website"]
    assert {r["name"] for r in website["recipients"]} == {
        "Google Analytics",
        "Hotjar",
        "Meta Platforms Ireland",
    }
    accounts = activities["account-holders"]
    assert accounts["legal_bases"] == ["6(1)(b)", "6(1)(c)"]
    assert (accounts["retention_years"], accounts["retention_from"]) == (5, "end_of_year")
    assert "art. 74" in accounts["retention_basis_pl"]
    newsletter = activities["newsletter"]
    assert (newsletter["legal_bases"], newsletter["retention_from"]) == (
        ["6(1)(a)"],
        "consent_withdrawal",
    )
    assert newsletter["retention_years"] is None
    # Bookero keeps its customer records forever today: no rule is invented for them.
    records = activities["customer-records"]
    assert records["covers_customer_records"] is True
    assert (records["retention_years"], records["retention_from"]) == (None, None)
    assert not records["retention_note_en"]
    assert not records["retention_note_pl"]


def test_the_controller_side_is_seeded_through_the_import(ctx, seeded):
    imported = db.session.scalars(
        select(AuditEvent.after).where(AuditEvent.action == "import.completed")
    ).all()
    assert sorted(len(after["activities"]) for after in imported) == [2, 4]
    assert all(after["kind"] == "controller" for after in imported)
    assert "controller recipient bookero/Hotjar" in seeded
    assert "activity bezkalkulatora/contact-and-contracts" in seeded


def test_keys_file_is_private_and_its_keys_work(client, seeded, keys_file):
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    text = keys_file.read_text()
    assert "Salon Urody Bella" in text  # the comment naming the customer key's holder
    env = read_env(keys_file)
    assert set(env) == {"BOOKERO_LEGAL_KEY", "BOOKERO_CUSTOMER_KEY", "BEZKALKULATORA_LEGAL_KEY"}

    customers = client.get(
        "/api/v1/orgs/bookero/customers", headers=bearer(env["BOOKERO_LEGAL_KEY"])
    )
    assert customers.status_code == 200
    listed = {c["external_ref"]: c for c in customers.json["items"]}
    assert customers.json["total"] == 4
    assert listed["BK-0001"]["name"] == "Salon Urody Bella"
    assert listed["BK-0001"]["services"] == ["bookings", "payments"]
    assert {c["locale"] for c in listed["BK-0002"]["contacts"]} == {"en"}
    assert listed["BK-0003"]["agreement"]["effective"] == {
        "authorisation": "specific",
        "notice_days": 45,
        "objection_days": 14,
        "objection_remedy": "terminate",
        # Version 2024-01's clauses: an emergency replacement with a post-hoc window.
        "rejects_unjustified_objections": False,
        "emergency_clause": True,
        "emergency_notice_days": 0,
        "post_hoc_objection_days": 14,
    }
    assert listed["BK-0004"]["services"] == ["bookings"]
    assert {c["locale"] for c in listed["BK-0004"]["contacts"]} == {"pl", "en"}

    own = client.get(
        f"/api/v1/orgs/bookero/customers/{listed['BK-0001']['id']}",
        headers=bearer(env["BOOKERO_CUSTOMER_KEY"]),
    )
    assert own.status_code == 200
    other = client.get(
        f"/api/v1/orgs/bookero/customers/{listed['BK-0002']['id']}",
        headers=bearer(env["BOOKERO_CUSTOMER_KEY"]),
    )
    assert other.status_code == 404
    foreign = client.get(
        "/api/v1/orgs/bookero/customers", headers=bearer(env["BEZKALKULATORA_LEGAL_KEY"])
    )
    assert foreign.status_code == 404


def test_legal_key_sees_due_diligence(client, seeded, keys_file):
    env = read_env(keys_file)
    items = by_name(
        client.get("/api/v1/orgs/bookero/subprocessors", headers=bearer(env["BOOKERO_LEGAL_KEY"]))
    )
    assert items["Bugsnag"]["due_diligence"]["tia_completed_on"] == "2023-06-12"
    assert items["Google Cloud"]["due_diligence"]["dpf_certified_until"] == "2027-08-31"
    assert "independent controller" in items["tpay.com"]["due_diligence"]["due_diligence_notes"]


def test_no_admin_key_is_created(ctx, seeded):
    roles = db.session.scalars(select(ApiKey.role)).all()
    assert sorted(roles) == ["customer", "legal", "legal"]


def test_audit_chains_verify_and_record_the_listing(ctx, seeded):
    reports = audit.verify_all()
    assert reports
    assert all(r.ok for r in reports), reports
    listed = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "recipient.listed")
    ).all()
    # Every vendor but the one the demo's urgent change adds (with notice) was in use before.
    announced = select(Change.recipient_id)
    recipient_ids = {
        str(i)
        for i in db.session.scalars(select(Recipient.id).where(Recipient.id.not_in(announced)))
    }
    assert {e.entity_id for e in listed} == recipient_ids
    assert all(e.after == {"listed_from": "2024-01-01"} for e in listed)
    assert all(e.actor == ACTOR for e in listed)


def test_a_lost_key_is_reissued_and_the_file_keeps_the_others(app, client, seeded, keys_file):
    old = read_env(keys_file)
    with app.app_context():
        db.session.execute(delete(ApiKey).where(ApiKey.name == "demo legal bookero"))
        db.session.commit()
        created = seed(app.instance_path, actor=ACTOR)
        db.session.commit()
        db.session.remove()

    assert created[0] == "key 'demo legal bookero'"
    assert len(created) == 2
    new = read_env(keys_file)
    assert new["BOOKERO_LEGAL_KEY"] != old["BOOKERO_LEGAL_KEY"]
    assert new["BOOKERO_CUSTOMER_KEY"] == old["BOOKERO_CUSTOMER_KEY"]
    assert new["BEZKALKULATORA_LEGAL_KEY"] == old["BEZKALKULATORA_LEGAL_KEY"]
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    response = client.get(
        "/api/v1/orgs/bookero/customers", headers=bearer(new["BOOKERO_LEGAL_KEY"])
    )
    assert response.status_code == 200


def test_a_revoked_demo_key_is_not_reissued(ctx, seeded, keys_file):
    key = db.session.scalar(select(ApiKey).where(ApiKey.name == "demo legal bookero"))
    revoke_key(key.prefix, actor="test")
    db.session.commit()
    before = keys_file.read_bytes()

    assert seed(ctx.instance_path, actor=ACTOR) == []
    assert keys_file.read_bytes() == before


def test_the_demo_shows_a_pending_objection_and_an_urgent_change_with_a_post_hoc_window(
    client, seeded, keys_file
):
    legal = {"Authorization": f"Bearer {read_env(keys_file)['BOOKERO_LEGAL_KEY']}"}
    api = "/api/v1/orgs/bookero"
    urgent = client.get(f"{api}/changes", query_string={"urgent": "true"}).json["items"]
    assert [(c["kind"], c["recipient"]["name"]) for c in urgent] == [("add", "Brevo")]
    notices = client.get(f"{api}/changes/{urgent[0]['id']}/notices", headers=legal).json["items"]
    by_ref = {n["customer"]["external_ref"]: n for n in notices}
    assert by_ref["BK-0002"]["post_hoc"] is True
    assert by_ref["BK-0003"]["response"] == "consent"  # specific: urgency is no consent
    pending = client.get(f"{api}/objections", query_string={"status": "open"}, headers=legal).json
    assert [(o["customer"]["external_ref"], o["recipient"]["name"]) for o in pending["items"]] == [
        ("BK-0002", "Brevo")
    ]
    report = client.get(f"{api}/compliance", query_string={"rule": "notice"}, headers=legal).json
    assert ("warning", "notice.urgent_change") in {
        (i["severity"], i["rule"]) for i in report["items"]
    }
