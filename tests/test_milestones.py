"""Scheduled milestones of announced changes (reminders before the effective date, the day
a change takes effect), reads that never depend on them, and the organization's time zone
deciding what 'today' is."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from service.changes.milestones import record_milestones
from service.changes.models import Change, Notice
from service.extensions import db
from tests.notice_kit import Desk, assert_problem, local_midnight


@pytest.fixture
def desk(client, world) -> Desk:
    return Desk(client, world)


def run(app, now) -> dict[str, int]:
    with app.app_context():
        counts = record_milestones(now=now)
        db.session.commit()
        db.session.remove()
        return counts


def local_noon(desk: Desk, offset: int):
    return local_midnight(desk.day(offset), desk.org["timezone"]) + timedelta(hours=12)


def reminded(app, change_id: int) -> dict[int, object]:
    with app.app_context():
        rows = db.session.execute(
            select(Notice.customer_id, Notice.reminded_at).where(Notice.change_id == change_id)
        ).all()
        db.session.remove()
        return dict(rows)


@pytest.fixture
def pending(desk) -> dict:
    """A change effective in 20 days with notices in every state a reminder cares about."""
    desk.customer("OPEN", notice_days=10, objection_days=60)
    desk.customer("ANSWERED", notice_days=10, objection_days=60)
    desk.customer("LATE", notice_days=10, objection_days=2)  # its window has closed
    desk.customer("SPEC", authorisation="specific")
    desk.customer("SPEC_DONE", authorisation="specific")
    desk.customer("PAY", notice_days=10, services=("payments",))
    change = desk.add(desk.vendor(name="Mailer", services=["bookings"]), 20)
    assert desk.object("ANSWERED", change["id"]).status_code == 201
    assert desk.consent("SPEC_DONE", change["id"]).status_code == 201
    return change


def test_a_reminder_is_recorded_once_for_notices_awaiting_an_answer(desk, pending, app):
    now = local_noon(desk, 17)  # three days before the effective date
    assert run(app, now) == {"reminders": 1, "in_effect": 0}

    ids = {ref: c["id"] for ref, c in desk.customers.items()}
    at = reminded(app, pending["id"])
    assert at[ids["OPEN"]] == now
    assert at[ids["SPEC"]] == now
    assert at[ids["ANSWERED"]] is None
    assert at[ids["SPEC_DONE"]] is None
    assert at[ids["LATE"]] is None
    assert ids["PAY"] not in at
    [event] = desk.audit(action="change.reminder_due")
    assert event["entity_id"] == str(pending["id"])
    assert event["actor"] == "system:beat"
    assert event["after"]["notices_reminded"] == 2
    assert event["after"]["effective_on"] == desk.day(20)

    # Running again (or overlapping) records nothing more.
    assert run(app, now + timedelta(hours=1)) == {"reminders": 0, "in_effect": 0}
    assert run(app, local_noon(desk, 19)) == {"reminders": 0, "in_effect": 0}
    assert len(desk.audit(action="change.reminder_due")) == 1
    assert reminded(app, pending["id"])[ids["OPEN"]] == now
    assert desk.chain_ok()


def test_no_reminder_before_its_window(desk, pending, app):
    # Seven days before by default: eight days before is too early.
    assert run(app, local_noon(desk, 12)) == {"reminders": 0, "in_effect": 0}
    assert desk.audit(action="change.reminder_due") == []
    assert run(app, local_midnight(desk.day(13), desk.org["timezone"])) == {
        "reminders": 1,
        "in_effect": 0,
    }


def test_the_reminder_window_is_configurable(desk, pending, app, monkeypatch):
    monkeypatch.setitem(app.config, "REMINDER_DAYS_BEFORE", 2)
    assert run(app, local_noon(desk, 17)) == {"reminders": 0, "in_effect": 0}
    assert run(app, local_noon(desk, 18)) == {"reminders": 1, "in_effect": 0}


def test_the_last_second_before_the_date_is_not_in_effect_yet(desk, pending, app):
    eve = local_midnight(desk.day(20), desk.org["timezone"]) - timedelta(seconds=1)
    assert run(app, eve) == {"reminders": 1, "in_effect": 0}
    assert desk.audit(action="change.in_effect") == []


def test_a_change_taking_effect_is_recorded_once_on_its_date(desk, pending, app):
    on_the_day = local_midnight(desk.day(20), desk.org["timezone"])
    assert run(app, on_the_day) == {"reminders": 0, "in_effect": 1}
    [event] = desk.audit(action="change.in_effect")
    assert event["entity_id"] == str(pending["id"])
    assert event["actor"] == "system:beat"
    assert event["after"] == {"effective_on": desk.day(20), "kind": "add"}
    assert run(app, on_the_day + timedelta(hours=5)) == {"reminders": 0, "in_effect": 0}
    assert run(app, local_noon(desk, 40)) == {"reminders": 0, "in_effect": 0}
    assert len(desk.audit(action="change.in_effect")) == 1
    # A reminder that was never sent is not sent after the date: it would be too late.
    assert desk.audit(action="change.reminder_due") == []
    assert desk.chain_ok()


def test_a_late_run_records_a_missed_effective_date(desk, pending, app):
    assert run(app, local_noon(desk, 25)) == {"reminders": 0, "in_effect": 1}


def test_withdrawn_changes_get_no_milestones(desk, pending, app):
    assert desk.withdraw(pending["id"]).status_code == 200
    assert run(app, local_noon(desk, 17)) == {"reminders": 0, "in_effect": 0}
    assert run(app, local_noon(desk, 20)) == {"reminders": 0, "in_effect": 0}
    assert all(value is None for value in reminded(app, pending["id"]).values())


def test_reads_never_wait_for_the_jobs(desk, app):
    desk.customer("C", notice_days=0)
    today = desk.add(desk.vendor(name="Today"), 0)
    desk.add(desk.vendor(name="Soon"), 3)
    # No job has run: the lists and flags follow from the dates alone.
    with app.app_context():
        assert db.session.scalars(select(Change.in_effect_recorded_at)).all() == [None, None]
    assert desk.names("C") == {"Today"}
    assert desk.names("C", desk.day(3)) == {"Today", "Soon"}
    public = desk.client.get(desk.url("/subprocessors"), query_string={"as_of": desk.day(3)})
    assert {i["name"] for i in public.json["items"]} == {"Today", "Soon"}
    changes = desk.client.get(desk.url("/changes"), query_string={"in_effect": "true"}).json
    assert [c["id"] for c in changes["items"]] == [today["id"]]
    before = desk.customer_list("C", desk.day(3))
    # ... and running the jobs changes none of it.
    run(app, local_noon(desk, 3))
    assert desk.customer_list("C", desk.day(3))["items"] == before["items"]


def test_the_celery_task_is_wired(desk, app):
    desk.customer("C", notice_days=0)
    change = desk.add(desk.vendor(name="Today"), 0)
    task = app.extensions["celery"].tasks["workers.tasks.record_change_milestones"]
    result = task.apply()
    assert result.successful(), result.traceback
    assert result.get() == {"reminders": 0, "in_effect": 1}
    # The task committed its work: the event is there for a new request.
    [event] = desk.audit(action="change.in_effect")
    assert event["entity_id"] == str(change["id"])
    assert task.apply().get() == {"reminders": 0, "in_effect": 0}
    assert "record-change-milestones" in app.extensions["celery"].conf.beat_schedule


# --- the organization's time zone ------------------------------------------------------------


@pytest.fixture
def east(client, world) -> Desk:
    return Desk(client, world, slug="east", timezone="Pacific/Kiritimati")  # UTC+14


@pytest.fixture
def west(client, world) -> Desk:
    return Desk(client, world, slug="west", timezone="Pacific/Pago_Pago")  # UTC-11


def test_the_organizations_time_zone_decides_what_today_is(east, west):
    # 25 hours apart: the east's calendar is always a day or two ahead.
    assert east.today() > west.today()
    west_today = west.today().isoformat()
    for desk in (east, west):
        desk.customer("C", notice_days=0)

    too_late = east.announce(
        kind="add", recipient_id=east.vendor(name="Mailer")["id"], effective_on=west_today
    )
    body = assert_problem(too_late, 422)
    assert body["errors"]["effective_on"] == [f"Must be {east.today().isoformat()} or later."]
    on_time = west.announced(
        kind="add", recipient_id=west.vendor(name="Mailer")["id"], effective_on=west_today
    )
    assert on_time["in_effect"] is True

    # 'Today' of each list is the organization's own.
    assert east.customer_list("C")["as_of"] == east.today().isoformat()
    assert west.customer_list("C")["as_of"] == west_today
    assert west.names("C") == {"Mailer"}
    public = west.client.get(west.url("/subprocessors")).json
    assert [i["name"] for i in public["items"]] == ["Mailer"]
    # A customer registered today starts on the organization's date.
    assert east.customers["C"]["started_on"] == east.today().isoformat()
    assert west.customers["C"]["started_on"] == west_today


def test_the_notice_period_counts_from_the_organizations_today(east, west):
    for desk in (east, west):
        desk.customer("C", notice_days=5)
    # The same calendar date is five days ahead for one and further for the other.
    day = (east.today() + timedelta(days=5)).isoformat()
    assert (
        east.announce(kind="add", recipient_id=east.vendor()["id"], effective_on=day).status_code
        == 201
    )
    assert (
        west.announce(kind="add", recipient_id=west.vendor()["id"], effective_on=day).status_code
        == 201
    )
    short = (east.today() + timedelta(days=4)).isoformat()
    body = assert_problem(
        east.announce(kind="add", recipient_id=east.vendor(name="Other")["id"], effective_on=short),
        422,
    )
    assert body["earliest_allowed"] == day


def test_milestones_follow_each_organizations_calendar(east, west, app):
    day = east.today() + timedelta(days=5)
    changes = {}
    for desk in (east, west):
        desk.customer("C", notice_days=0)
        changes[desk.slug] = desk.add(desk.vendor(name="Mailer"), (day - desk.today()).days)

    # One hour into `day` in the east is still the day before in the west.
    east_morning = local_midnight(day, "Pacific/Kiritimati") + timedelta(hours=1)
    with app.app_context():
        record_milestones(now=east_morning)
        db.session.commit()
    assert [e["entity_id"] for e in east.audit(action="change.in_effect")] == [
        str(changes["east"]["id"])
    ]
    assert west.audit(action="change.in_effect") == []
    # The west's own reminder is due (its date is a day away) ...
    assert len(west.audit(action="change.reminder_due")) == 1
    # ... and its change takes effect at its own midnight, 25 hours later.
    west_midnight = local_midnight(day, "Pacific/Pago_Pago")
    assert west_midnight - east_morning == timedelta(hours=24)
    with app.app_context():
        assert record_milestones(now=west_midnight) == {"reminders": 0, "in_effect": 1}
        db.session.commit()
    assert len(west.audit(action="change.in_effect")) == 1
