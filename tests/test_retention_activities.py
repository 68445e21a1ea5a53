"""The purge of ended customer relationships takes its period from the processing activity
that covers customer records (Art. 30(1)(f)), else from the organization's own setting;
dates are computed from today, and the clock is moved to the deletion day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from service import clock
from service.controller.models import ProcessingActivity
from service.extensions import db
from service.organizations.models import Organization
from service.retention import services as retention
from tests import controller_facts_kit as kit
from tests.conftest import bearer


@pytest.fixture
def org(world) -> dict:
    """bookero's own setting (1 year from the last day) purges sooner than any activity
    here: whichever rule applies shows in the dates."""
    found = world.org("bookero")
    with world.app.app_context():
        setting = db.session.get(Organization, found["id"])
        setting.retention_years, setting.retention_from = 1, "end_of_relationship"
        db.session.commit()
    return found


@pytest.fixture
def ended(app, world, org) -> dict:
    """A customer whose relationship ended on 10 May three years ago."""
    year = world.today(org).year - 3
    ended_on = date(year, 5, 10)
    customer_id = kit.customer(app, org, "GONE", date(year - 5, 1, 1), ended_on)
    return {"id": customer_id, "ended_on": ended_on}


def records_activity(app, org: dict, **fields: object) -> int:
    """The activity covering customer records: 6 + 1 years from the end of the year."""
    rule = {
        "key": "customer-records",
        "name_en": "Records of customers",
        "covers_customer_records": True,
        "retention_years": 6,
        "retention_extra_years": 1,
        "retention_from": "end_of_year",
    }
    return kit.activity(app, org, **{**rule, **fields})


def report(client, org: dict, legal: dict, **query: object) -> dict:
    response = client.get(
        f"/api/v1/orgs/{org['slug']}/retention", query_string=query, headers=legal
    )
    assert response.status_code == 200, response.json
    return response.json


def customer_due(client, org: dict, legal: dict, customer_id: int) -> str | None:
    response = client.get(f"/api/v1/orgs/{org['slug']}/customers/{customer_id}", headers=legal)
    return response.json["deletion_due_on"]


def noon_on(day: date) -> datetime:
    """Midday UTC: the same date in the organization's time zone (Europe/Warsaw)."""
    return datetime.combine(day, time(12), UTC)


def purge(app, org: dict) -> retention.PurgeResult:
    with app.app_context():
        result = retention.purge_organization(db.session.get(Organization, org["id"]))
        db.session.commit()
        return result


def test_six_plus_one_from_the_end_of_the_year_deletes_on_1_january_eight_years_on(
    app, client, world, org, ended
):
    legal = bearer(world.key("legal", org))
    # The organization's own setting applies while no activity covers the records.
    setting = report(client, org, legal)
    assert setting["rule"]["source"] == "organization"
    assert setting["rule"]["activity"] is None
    year = ended["ended_on"].year
    assert setting["items"][0]["deletion_due_on"] == date(year + 1, 5, 11).isoformat()

    activity = records_activity(app, org)
    due = date(year + 8, 1, 1)
    body = report(client, org, legal)
    assert body["rule"] == {
        "source": "activity",
        "activity": {"id": activity, "key": "customer-records", "name": "Records of customers"},
        "retention_years": 7,
        "retention_from": "end_of_year",
        "problem": None,
        "retention_policy": "",
    }
    assert body["items"][0]["deletion_due_on"] == due.isoformat()
    assert body["items"][0]["status"] == "scheduled"
    assert customer_due(client, org, legal, ended["id"]) == due.isoformat()
    listed = client.get(f"/api/v1/orgs/{org['slug']}/customers", headers=legal).json
    assert listed["items"][0]["deletion_due_on"] == due.isoformat()


def test_the_purge_and_the_beat_task_follow_the_activity(
    app, client, world, org, ended, time_machine
):
    with app.app_context():
        db.session.get(Organization, org["id"]).retention_years = None  # the activity alone
        db.session.commit()
    records_activity(app, org)
    due = date(ended["ended_on"].year + 8, 1, 1)
    task = app.extensions["celery"].tasks["workers.tasks.purge_expired_records"]

    time_machine.move_to(noon_on(due - timedelta(days=1)))
    assert task.apply().get() == {"bookero": 0}

    time_machine.move_to(noon_on(due))
    assert clock.local_today(org["timezone"]) == due
    assert task.apply().get() == {"bookero": 1}
    legal = bearer(world.key("legal", org))
    events = client.get(
        f"/api/v1/orgs/{org['slug']}/audit",
        query_string={"action": "retention.purged"},
        headers=legal,
    )
    rule = events.json["items"][0]["after"]["rule"]
    assert (rule["source"], rule["activity"]["key"], rule["retention_years"]) == (
        "activity",
        "customer-records",
        7,
    )


def test_changing_the_activity_rule_changes_the_due_dates(app, client, world, org, ended):
    legal = bearer(world.key("legal", org))
    activity = records_activity(app, org)
    assert report(client, org, legal)["items"][0]["status"] == "scheduled"
    kit.edit(
        app,
        ProcessingActivity,
        activity,
        retention_years=2,
        retention_extra_years=0,
        retention_from="end_of_relationship",
    )
    # Two years from the last day: 11 May a year ago, so due already.
    due = date(ended["ended_on"].year + 2, 5, 11)
    body = report(client, org, legal)
    assert body["rule"]["retention_years"] == 2
    assert body["items"][0]["deletion_due_on"] == due.isoformat()
    assert body["items"][0]["status"] == "due"
    assert customer_due(client, org, legal, ended["id"]) == due.isoformat()
    assert purge(app, org).customers == 1


def test_the_longest_activity_keeping_the_records_binds(app, client, world, org, ended):
    legal = bearer(world.key("legal", org))
    records_activity(app, org, key="claims", retention_years=6, retention_extra_years=0)
    records_activity(app, org, key="tax", retention_years=5, retention_extra_years=0)
    rule = report(client, org, legal)["rule"]
    assert (rule["activity"]["key"], rule["retention_years"]) == ("claims", 6)


def test_an_activity_no_longer_in_use_gives_way_to_the_organization(app, client, world, org, ended):
    legal = bearer(world.key("legal", org))
    records_activity(app, org, ended_on=world.today(org))
    assert report(client, org, legal)["rule"]["source"] == "organization"
    yesterday = world.today(org) - timedelta(days=1)
    assert report(client, org, legal, as_of=yesterday.isoformat())["rule"]["source"] == "activity"


def test_an_activity_counted_from_another_start_purges_nothing(app, client, world, org, ended):
    legal = bearer(world.key("legal", org))
    records_activity(app, org, retention_from="collection")
    body = report(client, org, legal)
    assert body["rule"]["source"] == "activity"
    assert body["rule"]["retention_years"] is None
    assert "collection" in body["rule"]["problem"]
    assert body["items"][0]["status"] == "kept"
    # The organization's 1 year would purge it; the activity meant otherwise.
    assert purge(app, org).customers == 0
    compliance = client.get(f"/api/v1/orgs/{org['slug']}/compliance", headers=legal).json
    assert "retention.records_rule_invalid" in {i["rule"] for i in compliance["items"]}


def test_without_any_rule_nothing_is_purged_and_the_warning_is_reported(
    app, client, world, org, ended
):
    legal = bearer(world.key("legal", org))
    with app.app_context():
        db.session.get(Organization, org["id"]).retention_years = None
        db.session.commit()
    records_activity(app, org, retention_years=None, retention_note_en="As long as needed")
    body = report(client, org, legal)
    assert body["rule"]["source"] == "none"
    assert body["items"][0]["status"] == "kept"
    assert purge(app, org).customers == 0
    with app.app_context():
        assert retention.organizations_with_rule() == []
    compliance = client.get(
        f"/api/v1/orgs/{org['slug']}/compliance", query_string={"rule": "retention"}, headers=legal
    ).json
    assert [i["rule"] for i in compliance["items"]] == ["retention.rule_missing"]
