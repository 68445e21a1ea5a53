"""Retention: deletion dates, legal holds, the purge, and an audit chain that still verifies
after it while any other alteration is still caught."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select, text

from service.audit import services as audit
from service.audit.models import AuditEvent
from service.changes.models import Notice
from service.customers.models import Customer, CustomerContact
from service.errors import Conflict
from service.extensions import db
from service.keys.models import ApiKey
from service.objections.models import Objection
from service.organizations.models import Organization
from service.outbox.models import Delivery
from service.retention import services as retention
from service.retention.rules import add_years, deletion_due_on
from service.webhooks.models import Webhook
from tests.conftest import bearer
from tests.notice_kit import Desk, assert_problem

# Calendar dates in this module are literals: it runs at a fixed moment (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("fixed_clock")

ENDED = {"started_on": "2015-01-10", "ended_on": "2018-03-31"}  # due on 2026-01-01
PURGE_DAY = date(2026, 1, 1)


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


@pytest.fixture
def desk(client, world) -> Desk:
    """bookero keeps ended relationships 7 years from the end of the year they ended in."""
    d = Desk(client, world)
    response = client.patch(
        d.url(""), json={"retention_years": 7, "retention_from": "end_of_year"}, headers=d.legal
    )
    assert response.status_code == 200, response.json
    return d


def end(desk: Desk, ref: str, dates: dict = ENDED) -> dict:
    customer = desk.customers[ref]
    response = desk.client.patch(
        desk.url(f"/customers/{customer['id']}"), json=dates, headers=desk.legal
    )
    assert response.status_code == 200, response.json
    return response.json


def org_of(desk: Desk) -> Organization:
    return db.session.get(Organization, desk.org["id"])


def purge(app, desk: Desk, day: date = PURGE_DAY) -> retention.PurgeResult:
    with app.app_context():
        result = retention.purge_organization(org_of(desk), day)
        db.session.commit()
        return result


def verify(app, desk: Desk) -> audit.ChainReport:
    with app.app_context():
        return audit.verify_chain(desk.org["id"])


def trail_text(app, desk: Desk) -> str:
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.actor, AuditEvent.entity_id, AuditEvent.before, AuditEvent.after)
            .where(AuditEvent.organization_id == desk.org["id"])
            .order_by(AuditEvent.seq)
        ).all()
    return json.dumps([list(row) for row in rows], ensure_ascii=False)


# --- the dates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ended_on", "years", "start", "due"),
    [
        # 6+1 years from the end of the year in which the relationship ended.
        (date(2024, 5, 10), 7, "end_of_year", date(2032, 1, 1)),
        (date(2024, 12, 31), 7, "end_of_year", date(2032, 1, 1)),
        (date(2024, 1, 1), 7, "end_of_year", date(2032, 1, 1)),
        # From the last day of the relationship: kept through the corresponding day.
        (date(2024, 5, 10), 7, "end_of_relationship", date(2031, 5, 11)),
        (date(2024, 2, 29), 1, "end_of_relationship", date(2025, 3, 1)),
        (date(2024, 5, 10), 0, "end_of_relationship", date(2024, 5, 11)),
    ],
)
def test_deletion_date(ended_on, years, start, due):
    assert deletion_due_on(ended_on, years, start) == due


def test_no_deletion_date_while_the_relationship_goes_on_or_without_a_rule():
    assert deletion_due_on(None, 7, "end_of_year") is None
    assert deletion_due_on(date(2024, 5, 10), None, "end_of_year") is None
    assert add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)


def test_customer_json_shows_its_deletion_date(desk):
    desk.customer("OLD")
    assert desk.customers["OLD"]["deletion_due_on"] is None  # still a customer
    body = end(desk, "OLD", {"started_on": "2020-01-01", "ended_on": "2024-05-10"})
    assert body["deletion_due_on"] == "2032-01-01"
    shown = desk.client.get(
        desk.url(f"/customers/{body['id']}"), headers=desk.customers["OLD"]["key"]
    )
    assert shown.json["deletion_due_on"] == "2032-01-01"
    desk.client.patch(
        desk.url(""), json={"retention_from": "end_of_relationship"}, headers=desk.legal
    )
    shown = desk.client.get(desk.url(f"/customers/{body['id']}"), headers=desk.legal)
    assert shown.json["deletion_due_on"] == "2031-05-11"


def test_the_rule_is_validated_and_audited(desk):
    bad = desk.client.patch(
        desk.url(""), json={"retention_from": "forever", "retention_years": -1}, headers=desk.legal
    )
    problem = assert_problem(bad, 422)
    assert set(problem["errors"]) == {"retention_from", "retention_years"}
    events = desk.client.get(
        desk.url("/audit"), query_string={"action": "organization.updated"}, headers=desk.legal
    ).json["items"]
    assert events[-1]["after"] == {"retention_years": 7, "retention_from": "end_of_year"}


def test_demo_bezkalkulatora_keeps_contract_data_six_plus_one_years(app, client):
    from service.demo.seed import seed

    with app.app_context():
        seed(app.instance_path, actor="test")
        db.session.commit()
    org = client.get("/api/v1/orgs/bezkalkulatora").json
    assert (org["retention_years"], org["retention_from"]) == (7, "end_of_year")
    assert "6+1" in org["retention_policy"]


# --- report and holds -----------------------------------------------------------------------


def test_report_lists_ended_relationships_with_dates_and_holds(desk):
    for ref in ("DUE", "HELD", "LATER", "ACTIVE"):
        desk.customer(ref)
    end(desk, "DUE")
    end(desk, "HELD")
    end(desk, "LATER", {"started_on": "2020-01-01", "ended_on": "2024-05-10"})
    hold = desk.client.patch(
        desk.url(f"/customers/{desk.customers['HELD']['id']}/legal-hold"),
        json={"hold": True, "reason": "Claim filed on 2025-12-01"},
        headers=desk.legal,
    )
    assert hold.status_code == 200, hold.json
    assert hold.json["legal_hold"] is True
    assert hold.json["holds"][0]["kind"] == "legal_hold"

    report = desk.client.get(
        desk.url("/retention"), query_string={"as_of": "2026-06-01"}, headers=desk.legal
    )
    assert report.status_code == 200, report.json
    body = report.json
    assert body["rule"]["retention_years"] == 7
    statuses = {i["customer"]["external_ref"]: i["status"] for i in body["items"]}
    assert statuses == {"DUE": "due", "HELD": "held", "LATER": "scheduled"}
    assert body["summary"] == {"due": 1, "held": 1, "scheduled": 1, "kept": 0}
    assert body["next_deletion_on"] == "2032-01-01"
    held = next(i for i in body["items"] if i["status"] == "held")
    assert held["holds"][0]["reason"] == "Claim filed on 2025-12-01"
    assert held["deletion_due_on"] == "2026-01-01"


def test_report_and_hold_are_for_legal_staff_only(desk, client, world):
    customer = desk.customer("C1")
    assert_problem(client.get(desk.url("/retention")), 401)
    assert_problem(client.get(desk.url("/retention"), headers=customer["key"]), 403)
    path = desk.url(f"/customers/{customer['id']}/legal-hold")
    assert_problem(client.patch(path, json={"hold": False}), 401)
    assert_problem(client.patch(path, json={"hold": False}, headers=customer["key"]), 403)
    other = world.org("other")
    stranger = bearer(world.key("legal", other))
    assert_problem(client.get(desk.url("/retention"), headers=stranger), 404)
    assert_problem(client.patch(path, json={"hold": False}, headers=stranger), 404)


def test_a_hold_needs_a_reason_and_both_moves_are_audited(desk):
    customer = desk.customer("C1")
    path = desk.url(f"/customers/{customer['id']}/legal-hold")
    assert_problem(desk.client.patch(path, json={"hold": True}, headers=desk.legal), 422)
    assert desk.client.patch(
        path, json={"hold": True, "reason": "Dispute"}, headers=desk.legal
    ).json["legal_hold"]
    released = desk.client.patch(path, json={"hold": False}, headers=desk.legal)
    assert released.json == {
        "customer_id": customer["id"],
        "legal_hold": False,
        "since": None,
        "reason": None,
        "deletion_due_on": None,
        "holds": [],
    }
    actions = [
        e["action"]
        for e in desk.client.get(
            desk.url("/audit"), query_string={"entity_type": "customer"}, headers=desk.legal
        ).json["items"]
    ]
    assert actions[:2] == ["customer.legal_hold_released", "customer.legal_hold_set"]


# --- the purge ------------------------------------------------------------------------------


@pytest.fixture
def history(app, desk, client, monkeypatch) -> dict:
    """Two customers with notices, answers, deliveries, a webhook and keys; GONE then ends."""
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE", True)
    gone = desk.customer("GONE", remedy="exclude", name="Salon Urody Bella")
    desk.customer("STAY")
    hook = client.post(
        desk.url(f"/customers/{gone['id']}/webhooks"),
        json={"url": "http://127.0.0.1:9/bella-salon-hook"},
        headers=gone["key"],
    )
    assert hook.status_code == 201, hook.json
    change = desk.add(desk.vendor(name="Mailer", services=["bookings"]), 31)
    objection = desk.object("GONE", change["id"], "Anna from Salon Urody Bella objects").json
    assert desk.resolve(objection["id"], "Excluded for Salon Urody Bella").status_code == 200
    end(desk, "GONE")
    return {"gone": gone, "change": change, "objection": objection}


def test_purge_removes_the_customer_and_everything_of_it(app, desk, history):
    gone = history["gone"]
    with app.app_context():
        before = {
            model.__tablename__: db.session.scalar(
                select(func.count()).select_from(model).where(model.customer_id == gone["id"])
            )
            for model in (CustomerContact, Notice, Objection, Delivery, Webhook, ApiKey)
        }
    assert all(before.values()), before

    result = purge(app, desk)

    assert result.customers == 1
    assert result.deleted["notices"] == before["notices"]
    assert result.deleted["api_keys"] == before["api_keys"]
    with app.app_context():
        assert db.session.get(Customer, gone["id"]) is None
        for model in (CustomerContact, Notice, Objection, Delivery, Webhook, ApiKey):
            left = db.session.scalar(
                select(func.count()).select_from(model).where(model.customer_id == gone["id"])
            )
            assert left == 0, model.__tablename__
        refs = set(db.session.scalars(select(Customer.external_ref)))
    assert refs == {"STAY"}
    # Nothing is due any more: a second run purges nothing.
    assert purge(app, desk).customers == 0


def test_purge_pseudonymises_the_audit_trail_and_records_itself(app, desk, history, cli):
    trail = trail_text(app, desk)
    assert "Salon Urody Bella" in trail
    assert "gone@salon.example" in trail

    purge(app, desk)

    trail = trail_text(app, desk)
    for personal in (
        "Salon Urody Bella",
        "gone@salon.example",
        "bella-salon-hook",
        "Anna from",
        "GONE",
    ):
        assert personal not in trail, personal
    assert "Salon STAY" in trail  # the other customer is untouched
    events = desk.client.get(desk.url("/audit"), headers=desk.legal).json["items"]
    purged, checkpoint = events[0], events[1]
    assert purged["action"] == "retention.purged"
    assert purged["actor"] == "system:retention"
    assert purged["after"]["customers"] == 1
    [pseudonym] = purged["after"]["pseudonyms"]
    assert pseudonym.startswith("pseudonym:")
    assert purged["after"]["checkpoint_seq"] == checkpoint["seq"]
    assert checkpoint["action"] == "audit.checkpoint"
    redacted = {item["seq"] for item in checkpoint["after"]["redacted"]}
    assert len(redacted) == purged["after"]["audit_events_redacted"] > 0
    created = next(e for e in events if e["action"] == "customer.created" and e["seq"] in redacted)
    assert created["entity_id"] == pseudonym
    assert created["redacted_at"] is not None
    assert created["sealed_hash"] in {i["sealed_hash"] for i in checkpoint["after"]["redacted"]}
    assert purged["redacted_at"] is None
    assert created["after"]["name"] == pseudonym
    assert created["after"]["services"] == ["bookings"]  # not personal data: kept
    filed = next(e for e in events if e["action"] == "objection.filed")
    assert filed["after"]["customer_id"] == pseudonym
    assert filed["actor"] == f"customer:{pseudonym}"
    assert filed["after"]["kind"] == "objection"

    assert verify(app, desk).ok
    result = cli("audit", "verify", "--org", "bookero")
    assert result.exit_code == 0, result.output


def test_a_legal_hold_keeps_the_customer(app, desk, history):
    path = desk.url(f"/customers/{history['gone']['id']}/legal-hold")
    desk.client.patch(path, json={"hold": True, "reason": "Claim"}, headers=desk.legal)
    assert purge(app, desk).customers == 0
    desk.client.patch(path, json={"hold": False}, headers=desk.legal)
    assert purge(app, desk).customers == 1


def test_an_open_objection_keeps_the_customer(app, desk):
    desk.customer("OPEN")
    change = desk.add(desk.vendor(name="Mailer", services=["bookings"]), 31)
    objection = desk.object("OPEN", change["id"], "No").json
    assert objection["status"] == "open"
    end(desk, "OPEN")
    report = desk.client.get(desk.url("/retention"), headers=desk.legal).json
    assert report["items"][0]["status"] == "held"
    assert report["items"][0]["holds"][0]["kind"] == "open_objection"
    assert purge(app, desk).customers == 0
    assert desk.resolve(objection["id"]).status_code == 200
    assert purge(app, desk).customers == 1


def test_no_rule_no_purge(app, desk, history, client):
    client.patch(desk.url(""), json={"retention_years": None}, headers=desk.legal)
    assert purge(app, desk, date(2100, 1, 1)).customers == 0


def test_the_beat_task_purges_every_organization_with_a_rule(app, desk, history):
    celery = app.extensions["celery"]
    assert "purge-expired-records" in celery.conf.beat_schedule
    task = celery.tasks["workers.tasks.purge_expired_records"]
    # Today is after 2026-01-01, when GONE fell due.
    result = task.apply()
    assert result.successful(), result.traceback
    assert result.get() == {"bookero": 1}
    assert task.apply().get() == {"bookero": 0}
    assert verify(app, desk).ok


# --- the chain after a purge ----------------------------------------------------------------


def _seq(app, desk: Desk, action: str, redacted: bool | None = None) -> int:
    with app.app_context():
        stmt = select(AuditEvent.seq).where(
            AuditEvent.organization_id == desk.org["id"], AuditEvent.action == action
        )
        if redacted is not None:
            column = AuditEvent.redacted_at
            stmt = stmt.where(column.is_not(None) if redacted else column.is_(None))
        return db.session.scalars(stmt.order_by(AuditEvent.seq)).first()


TAMPERING = {
    "a redacted event's hash": (
        "customer.created",
        True,
        "UPDATE audit_events SET hash = md5(hash) || md5(hash) WHERE seq = :seq",
    ),
    "a redacted event's content": (
        "customer.created",
        True,
        "UPDATE audit_events SET after = jsonb_set(after, '{name}', '\"Someone\"') "
        "WHERE seq = :seq",
    ),
    "a redacted event's content and seal": (
        "customer.created",
        True,
        "UPDATE audit_events SET after = jsonb_set(after, '{name}', '\"Someone\"'), "
        "sealed_hash = md5('x') || md5('y') WHERE seq = :seq",
    ),
    "a redacted event un-marked": (
        "customer.created",
        True,
        "UPDATE audit_events SET redacted_at = NULL, sealed_hash = NULL WHERE seq = :seq",
    ),
    "an intact event's content": (
        "change.announced",
        False,
        "UPDATE audit_events SET after = jsonb_set(after, '{kind}', '\"remove\"') WHERE seq = :seq",
    ),
    "an intact event passed off as redacted": (
        "change.announced",
        False,
        "UPDATE audit_events SET redacted_at = now(), after = '{}' WHERE seq = :seq",
    ),
    "the checkpoint's list": (
        "audit.checkpoint",
        None,
        "UPDATE audit_events SET after = jsonb_set(after, '{redacted}', '[]') WHERE seq = :seq",
    ),
    "the checkpoint deleted": (
        "audit.checkpoint",
        None,
        "DELETE FROM audit_events WHERE seq = :seq",
    ),
    "the purge record": (
        "retention.purged",
        None,
        "UPDATE audit_events SET after = jsonb_set(after, '{customers}', '0') WHERE seq = :seq",
    ),
}


@pytest.mark.parametrize("tamper", TAMPERING, ids=list(TAMPERING))
def test_after_a_purge_any_other_alteration_is_still_detected(app, desk, history, cli, tamper):
    purge(app, desk)
    assert verify(app, desk).ok
    action, redacted, sql = TAMPERING[tamper]
    seq = _seq(app, desk, action, redacted)
    assert seq is not None
    with app.app_context():
        db.session.execute(
            text(sql + " AND organization_id = :org"), {"seq": seq, "org": desk.org["id"]}
        )
        db.session.commit()
    report = verify(app, desk)
    assert not report.ok
    assert report.first_bad_seq is not None
    assert cli("audit", "verify", "--org", "bookero").exit_code == 1


def test_a_broken_chain_is_not_purged_over(app, desk, history):
    seq = _seq(app, desk, "customer.created")
    with app.app_context():
        db.session.execute(
            text("UPDATE audit_events SET actor = 'x' WHERE seq = :seq AND organization_id = :o"),
            {"seq": seq, "o": desk.org["id"]},
        )
        db.session.commit()
        with pytest.raises(Conflict, match="broken"):
            retention.purge_organization(org_of(desk), PURGE_DAY)
        db.session.rollback()
        assert db.session.get(Customer, history["gone"]["id"]) is not None
