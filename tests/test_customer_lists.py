"""The list that applies to one customer (GDPR Art. 28(2)): services and chains, as_of,
upcoming changes, who is notified, access, and specific authorisation (consent)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from service.changes.models import Notice
from service.customers import subprocessors
from service.extensions import db
from service.notices import services as notice_services
from service.objections.models import Exclusion
from service.public import cache
from tests.conftest import moved_clock
from tests.notice_kit import Desk, assert_problem, local_midnight, parse_dt, window_end


@pytest.fixture
def desk(client, world) -> Desk:
    return Desk(client, world)


def set_accepted_at(app, customer_id: int, moment) -> None:
    with app.app_context():
        db.session.execute(
            text("UPDATE customer_agreements SET accepted_at = :at WHERE customer_id = :id"),
            {"at": moment, "id": customer_id},
        )
        db.session.commit()


# --- services and chains ----------------------------------------------------------------------


def test_a_customer_sees_the_vendors_serving_the_services_it_uses(desk):
    desk.customer("BOOK", services=("bookings",))
    desk.customer("PAY", services=("payments",))
    desk.customer("BOTH", services=("bookings", "payments"))
    desk.customer("NONE", services=())
    desk.listed(0, name="Everywhere", services=[])
    desk.listed(0, name="Calendar", services=["bookings"])
    desk.listed(0, name="Acquirer", services=["payments"])
    today = desk.day(0)

    assert desk.names("BOOK", today) == {"Everywhere", "Calendar"}
    assert desk.names("PAY", today) == {"Everywhere", "Acquirer"}
    assert desk.names("BOTH", today) == {"Everywhere", "Calendar", "Acquirer"}
    # A vendor serving every service serves a customer of no service; a scoped one does not.
    assert desk.names("NONE", today) == {"Everywhere"}
    body = desk.customer_list("BOOK", today)
    assert body["total"] == 2
    assert body["as_of"] == today


def test_a_child_inherits_its_parents_scope(desk):
    desk.customer("BOOK", services=("bookings",))
    desk.customer("PAY", services=("payments",))
    parent = desk.listed(0, name="Acquirer", services=["payments"])
    # The child names no scope of its own: it serves what its parent serves.
    child = desk.vendor(name="Acquirer Cloud", services=[], parent_id=parent["id"])
    change = desk.add(child, 30)

    day = desk.day(30)
    assert desk.names("PAY", day) == {"Acquirer", "Acquirer Cloud"}
    assert desk.names("BOOK", day) == set()
    item = next(i for i in desk.customer_list("PAY", day)["items"] if i["id"] == child["id"])
    assert item["effective_services"] == ["payments"]
    assert item["parent_id"] == parent["id"]
    # Only customers of the inherited scope are told of the child.
    assert set(desk.notices_of(change["id"])) == {"PAY"}


def test_a_grandchild_inherits_along_the_whole_chain(desk):
    desk.customer("BOOK", services=("bookings",))
    desk.customer("PAY", services=("payments",))
    root = desk.listed(0, name="Root", services=["payments"])
    middle = desk.listed(0, name="Middle", services=[], parent_id=root["id"])
    leaf = desk.vendor(name="Leaf", services=[], parent_id=middle["id"])
    change = desk.add(leaf, 30)

    assert "Leaf" in desk.names("PAY", desk.day(30))
    assert "Leaf" not in desk.names("BOOK", desk.day(30))
    assert set(desk.notices_of(change["id"])) == {"PAY"}


def test_a_child_does_not_apply_where_its_parent_does_not(desk):
    desk.customer("EXCL", notice_days=30, remedy="exclude")
    desk.customer("GEN", notice_days=30)
    desk.customer("SPEC", authorisation="specific")
    parent = desk.vendor(name="Cloud", services=["bookings"])
    child = desk.vendor(name="Cloud Storage", services=[], parent_id=parent["id"])
    parent_change = desk.add(parent, 30)
    child_change = desk.add(child, 30)
    objection = desk.object("EXCL", parent_change["id"]).json
    assert desk.resolve(objection["id"]).status_code == 200
    # The child receives data only through its parent: no parent, no child.
    day = desk.day(30)
    assert desk.names("GEN", day) == {"Cloud", "Cloud Storage"}
    assert desk.names("EXCL", day) == set()
    # Under specific authorisation, consent to the child alone is not enough.
    assert desk.consent("SPEC", child_change["id"]).status_code == 201
    assert desk.names("SPEC", day) == set()
    assert desk.consent("SPEC", parent_change["id"]).status_code == 201
    assert desk.names("SPEC", day) == {"Cloud", "Cloud Storage"}


def test_an_update_of_a_parents_scope_moves_its_child(desk):
    desk.customer("BOOK", services=("bookings",), notice_days=0)
    desk.customer("PAY", services=("payments",), notice_days=0)
    parent = desk.listed(0, name="Acquirer", services=["payments"])
    desk.listed(0, name="Acquirer Cloud", services=[], parent_id=parent["id"])
    desk.announced(
        kind="update",
        recipient_id=parent["id"],
        effective_on=desk.day(10),
        update={"services": ["bookings"]},
    )
    assert "Acquirer Cloud" in desk.names("PAY", desk.day(9))
    assert "Acquirer Cloud" not in desk.names("BOOK", desk.day(9))
    assert "Acquirer Cloud" in desk.names("BOOK", desk.day(10))
    assert "Acquirer Cloud" not in desk.names("PAY", desk.day(10))


# --- as_of and upcoming ------------------------------------------------------------------------


def test_as_of_defaults_to_the_organizations_today_and_follows_effective_dates(desk):
    desk.customer("C", notice_days=10)
    old = desk.listed(0, name="Old")
    new = desk.vendor(name="New")
    desk.add(new, 10)
    desk.announced(kind="remove", recipient_id=old["id"], effective_on=desk.day(20))

    default = desk.customer_list("C")
    assert default["as_of"] == desk.day(0)
    assert {i["name"] for i in default["items"]} == {"Old"}
    assert desk.names("C", desk.day(-1)) == set()  # before Old was listed
    assert desk.names("C", desk.day(9)) == {"Old"}
    assert desk.names("C", desk.day(10)) == {"Old", "New"}
    assert desk.names("C", desk.day(19)) == {"Old", "New"}
    assert desk.names("C", desk.day(20)) == {"New"}
    for bad in ("2025-02-30", "tomorrow", ""):
        response = desk.client.get(
            desk.url(f"/customers/{desk.customers['C']['id']}/subprocessors"),
            query_string={"as_of": bad},
            headers=desk.legal,
        )
        assert "as_of" in assert_problem(response, 422)["errors"]


def test_upcoming_lists_the_changes_ahead_with_the_customers_own_deadline(desk):
    desk.customer("FAST", notice_days=30, objection_days=7)
    desk.customer("SLOW", notice_days=30, objection_days=20)
    desk.customer("CAPPED", notice_days=30, objection_days=90)
    desk.customer("SPEC", authorisation="specific")
    desk.customer("PAY", notice_days=30, services=("payments",))
    mailer = desk.vendor(name="Mailer", services=["bookings"])
    change = desk.add(mailer, 40, reason="Better deliverability")
    announced_at = parse_dt(change["announced_at"])

    def entry(ref: str) -> dict:
        upcoming = desk.customer_list(ref)["upcoming"]
        assert [u["change"]["id"] for u in upcoming] == [change["id"]]
        return upcoming[0]

    def delivered(notice: dict):
        # The window runs from delivery; until a delivery is recorded, from the announcement.
        return parse_dt(notice["delivered_at"]) if notice["delivered_at"] else announced_at

    fast, slow, capped = entry("FAST"), entry("SLOW"), entry("CAPPED")
    assert fast["change"]["effective_on"] == desk.day(40)
    assert fast["change"]["reason"] == "Better deliverability"
    assert fast["notice"]["response"] == "objection"
    zone = desk.org["timezone"]
    assert parse_dt(fast["notice"]["objection_deadline"]) == window_end(
        delivered(fast["notice"]), 7, zone
    )
    assert parse_dt(slow["notice"]["objection_deadline"]) == window_end(
        delivered(slow["notice"]), 20, zone
    )
    # A window longer than the notice ends when the change takes effect (org's midnight).
    assert parse_dt(capped["notice"]["objection_deadline"]) == local_midnight(
        desk.day(40), desk.org["timezone"]
    )
    assert fast["notice"]["answer_url"]
    spec = entry("SPEC")
    assert spec["notice"]["response"] == "consent"
    assert spec["notice"]["objection_deadline"] is None
    # Not concerned: nothing upcoming.
    assert desk.customer_list("PAY")["upcoming"] == []
    # On the effective date the change is no longer ahead.
    assert desk.customer_list("FAST", desk.day(40))["upcoming"] == []
    assert [u["change"]["id"] for u in desk.customer_list("FAST", desk.day(39))["upcoming"]] == [
        change["id"]
    ]

    # An answer shows on the entry, and its link is gone.
    assert desk.object("FAST", change["id"], "No").status_code == 201
    answered = entry("FAST")["notice"]
    assert answered["answer"]["kind"] == "objection"
    assert answered["answer"]["status"] == "open"
    assert answered["answer_url"] is None

    # A withdrawn change is no longer upcoming.
    assert desk.withdraw(change["id"]).status_code == 200
    assert desk.customer_list("SLOW")["upcoming"] == []


def test_nothing_ahead_is_remembered_only_until_a_change_or_notice_is_written(desk):
    desk.customer("FAST", notice_days=30)
    desk.customer("OTHER", notice_days=30)
    cache.nothing_ahead.clear()
    assert desk.customer_list("FAST")["upcoming"] == []
    remembered = len(cache.nothing_ahead)
    assert remembered >= 1  # found none ahead: not asked again under the same tokens
    assert desk.customer_list("FAST")["upcoming"] == []
    assert len(cache.nothing_ahead) == remembered

    # Announcing a change notifies the customer: the next read finds it.
    change = desk.add(desk.vendor(name="Mailer", services=["bookings"]), 40)
    assert [u["change"]["id"] for u in desk.customer_list("FAST")["upcoming"]] == [change["id"]]
    assert [u["change"]["id"] for u in desk.customer_list("OTHER")["upcoming"]] == [change["id"]]
    # Ahead of another day, and gone once withdrawn.
    assert desk.customer_list("FAST", desk.day(40))["upcoming"] == []
    assert desk.withdraw(change["id"]).status_code == 200
    assert desk.customer_list("FAST")["upcoming"] == []
    again = desk.add(desk.vendor(name="Courier", services=["bookings"]), 35)
    assert [u["change"]["id"] for u in desk.customer_list("FAST")["upcoming"]] == [again["id"]]


# --- who is notified ----------------------------------------------------------------------------


def test_only_customers_of_the_effective_date_are_notified(desk):
    desk.customer("GONE", started_on=desk.day(-30), ended_on=desk.day(-1))
    desk.customer("LAST_DAY", started_on=desk.day(-30), ended_on=desk.day(0))
    desk.customer("LEAVING", started_on=desk.day(-30), ended_on=desk.day(30))
    desk.customer("STILL_THERE", started_on=desk.day(-30), ended_on=desk.day(31))
    desk.customer("STAYING")
    change = desk.add(desk.vendor(name="Mailer"), 31)
    # Those whose relationship ends before the change takes effect are not affected by it.
    notified = desk.notices_of(change["id"])
    assert set(notified) == {"STILL_THERE", "STAYING"}
    # The request does not count them (that read every customer); the fan-out records how
    # many it told once it has written their notices, in the same chain.
    assert "notices" not in desk.audit(action="change.announced")[0]["after"]
    written = desk.audit(action="change.notices_written")
    assert [(e["entity_id"], e["actor"]) for e in written] == [(str(change["id"]), "system:worker")]
    assert written[0]["after"] == {"notices": 2, "uncontactable": 0}


def test_a_customer_leaving_before_the_change_does_not_hold_it_back(desk):
    desk.customer("GONE", notice_days=90, started_on=desk.day(-30), ended_on=desk.day(-1))
    desk.customer("LEAVING", notice_days=90, started_on=desk.day(-30), ended_on=desk.day(6))
    desk.customer("C7", notice_days=7)
    response = desk.announce(kind="add", recipient_id=desk.vendor()["id"], effective_on=desk.day(7))
    assert response.status_code == 201, response.json
    assert set(desk.notices_of(response.json["id"])) == {"C7"}
    # Staying one day longer, it is owed its notice.
    desk.customer("STAYS", notice_days=90, started_on=desk.day(-30), ended_on=desk.day(7))
    body = assert_problem(
        desk.announce(
            kind="add", recipient_id=desk.vendor(name="B")["id"], effective_on=desk.day(7)
        ),
        422,
    )
    assert [c["external_ref"] for c in body["customers_short_of_notice"]] == ["STAYS"]


def test_an_update_notifies_customers_of_the_old_and_the_new_scope(desk, client):
    assert (
        client.post(
            desk.url("/services"),
            json={"slug": "reports", "name_pl": "raporty", "name_en": "reports"},
            headers=desk.legal,
        ).status_code
        == 201
    )
    desk.customer("BOOK", services=("bookings",))
    desk.customer("PAY", services=("payments",))
    desk.customer("REP", services=("reports",))
    desk.customer("SPEC", authorisation="specific", services=("payments",))
    hosting = desk.listed(0, name="Hosting", services=["bookings"])
    change = desk.announced(
        kind="update",
        recipient_id=hosting["id"],
        effective_on=desk.day(30),
        update={"services": ["payments"]},
    )
    notified = desk.notices_of(change["id"])
    assert set(notified) == {"BOOK", "PAY", "SPEC"}
    # A material update: general customers may object, specific ones are informed.
    assert notified["BOOK"]["response"] == "objection"
    assert notified["PAY"]["response"] == "objection"
    # The update adds a service: a specific-authorisation customer must consent to it.
    assert notified["SPEC"]["response"] == "consent"
    assert notified["SPEC"]["objection_deadline"] is None
    assert notified["PAY"]["objection_deadline"]
    assert_problem(desk.object("SPEC", change["id"]), 409)
    assert_problem(desk.consent("PAY", change["id"]), 409)
    assert desk.object("BOOK", change["id"]).status_code == 201


def test_a_short_notice_names_the_customers_short_of_it_capped_but_counted(desk, monkeypatch):
    monkeypatch.setattr(notice_services, "MAX_NAMED_SHORTFALLS", 2)
    for ref, days in (("A", 20), ("B", 25), ("C", 40), ("OK", 5)):
        desk.customer(ref, notice_days=days)
    desk.customer("SPEC", authorisation="specific", notice_days=90)
    desk.customer("PAY", notice_days=90, services=("payments",))
    mailer = desk.vendor(name="Mailer", services=["bookings"])

    response = desk.announce(kind="add", recipient_id=mailer["id"], effective_on=desk.day(10))
    body = assert_problem(response, 422)
    assert body["customers_short_of_notice_total"] == 3
    named = body["customers_short_of_notice"]
    assert len(named) == 2
    assert {c["external_ref"] for c in named} < {"A", "B", "C"}
    assert all(c["notice_days"] in (20, 25, 40) for c in named)
    # The earliest date leaves the longest notice (not the named ones') its period.
    assert body["earliest_allowed"] == desk.day(40)
    assert "3 customer" in body["detail"]
    # Nothing was written: no change, the vendor still proposed.
    assert desk.client.get(desk.url("/changes")).json["total"] == 0
    shown = desk.client.get(desk.url(f"/subprocessors/{mailer['id']}"), headers=desk.legal).json
    assert shown["status"] == "proposed"
    # The earliest allowed date is accepted.
    assert (
        desk.announce(
            kind="add", recipient_id=mailer["id"], effective_on=body["earliest_allowed"]
        ).status_code
        == 201
    )


def test_an_urgent_change_may_be_short_but_is_audited_and_listed(desk):
    desk.customer("C30", notice_days=30, emergency=True)
    mailer = desk.vendor(name="Mailer")
    change = desk.announced(
        kind="add",
        recipient_id=mailer["id"],
        effective_on=desk.day(3),
        urgent=True,
        urgent_justification="Provider shut down",
    )
    assert change["urgent"] is True
    event = desk.audit(action="change.announced")[0]
    assert event["after"]["urgent"] is True
    assert event["after"]["urgent_justification"] == "Provider shut down"
    notice = desk.notices_of(change["id"])["C30"]
    # Under the emergency clause the objection window runs 14 days from delivery, past the
    # effective date (post hoc), instead of being capped at it.
    assert notice["post_hoc"] is True
    assert parse_dt(notice["objection_deadline"]) == window_end(
        notice["delivered_at"], 14, desk.org["timezone"]
    )
    listed = desk.client.get(desk.url("/changes"), query_string={"urgent": "true"}).json
    assert [c["id"] for c in listed["items"]] == [change["id"]]
    assert (
        desk.client.get(desk.url("/changes"), query_string={"urgent": "false"}).json["total"] == 0
    )


# --- access ------------------------------------------------------------------------------------


def test_a_customer_key_reaches_only_its_own_list(desk, world, client):
    desk.customer("MINE")
    other = desk.customer("THEIRS")
    desk.listed(0, name="Mailer")
    mine = desk.customers["MINE"]["key"]
    for path in ("/subprocessors", "/notices"):
        response = client.get(desk.url(f"/customers/{other['id']}{path}"), headers=mine)
        assert_problem(response, 404)
    response = client.get(
        desk.url(f"/customers/{other['id']}/subprocessors/diff"),
        query_string={"from": desk.day(0), "to": desk.day(1)},
        headers=mine,
    )
    assert_problem(response, 404)
    assert_problem(client.get(desk.url(f"/customers/{other['id']}/subprocessors")), 401)
    assert_problem(client.get(desk.url("/customers/999999/subprocessors"), headers=desk.legal), 404)
    assert_problem(
        client.get(desk.url(f"/customers/{2**40}/subprocessors"), headers=desk.legal), 404
    )

    # Another organization's keys find nothing, not even the organization.
    stranger = Desk(client, world, slug="bezkalkulatora")
    response = client.get(
        desk.url(f"/customers/{other['id']}/subprocessors"), headers=stranger.legal
    )
    assert_problem(response, 404)
    their_customer = stranger.customer("X")
    response = client.get(
        desk.url(f"/customers/{other['id']}/subprocessors"), headers=their_customer["key"]
    )
    assert_problem(response, 404)
    # ... and through their own organization's path, bookero's customer does not exist.
    response = client.get(
        f"/api/v1/orgs/bezkalkulatora/customers/{other['id']}/subprocessors",
        headers=stranger.legal,
    )
    assert_problem(response, 404)


# --- specific authorisation ----------------------------------------------------------------------


def test_the_list_at_acceptance_counts_as_consented(desk, app):
    desk.listed(0, name="Before")  # on the list before the customer existed
    spec = desk.customer("SPEC", authorisation="specific")
    set_accepted_at(app, spec["id"], local_midnight(desk.day(0), desk.org["timezone"]))
    later = desk.vendor(name="Later")
    change = desk.add(later, 1)
    assert desk.notices_of(change["id"])["SPEC"]["response"] == "consent"

    assert desk.names("SPEC", desk.day(1)) == {"Before"}
    assert desk.customer_list("SPEC", desk.day(1))["total"] == 1
    assert desk.consent("SPEC", change["id"]).status_code == 201
    assert desk.names("SPEC", desk.day(1)) == {"Before", "Later"}


def test_a_vendor_listed_after_acceptance_waits_even_without_a_notice(desk, app):
    # The vendor joined today, but the customer accepted the agreement yesterday: the list
    # at its acceptance did not include it, so it does not apply without consent.
    desk.listed(0, name="Joined today")
    spec = desk.customer("SPEC", authorisation="specific", started_on=desk.day(-5))
    set_accepted_at(app, spec["id"], local_midnight(desk.day(-1), desk.org["timezone"]))
    assert desk.names("SPEC", desk.day(0)) == set()
    # Accepted today: the vendor was on the list, so it counts as consented.
    set_accepted_at(
        app, spec["id"], local_midnight(desk.day(0), desk.org["timezone"]) + timedelta(hours=1)
    )
    assert desk.names("SPEC", desk.day(0)) == {"Joined today"}


def test_without_an_acceptance_time_the_start_of_the_relationship_is_the_baseline(desk):
    desk.listed(0, name="Joined today")
    desk.customer("OLD", authorisation="specific", started_on=desk.day(-5))
    desk.customer("NEW", authorisation="specific")  # starts today
    assert desk.names("OLD", desk.day(0)) == set()
    assert desk.names("NEW", desk.day(0)) == {"Joined today"}


def test_an_urgent_addition_after_acceptance_still_waits_for_consent(desk, app):
    spec = desk.customer("SPEC", authorisation="specific")
    set_accepted_at(app, spec["id"], local_midnight(desk.day(0), desk.org["timezone"]))
    mailer = desk.vendor(name="Mailer")
    change = desk.add(mailer, 0, urgent=True, urgent_justification="Provider shut down")
    assert desk.notices_of(change["id"])["SPEC"]["response"] == "consent"
    # Announced after the acceptance: the vendor was not on the list it accepted.
    assert desk.names("SPEC", desk.day(0)) == set()
    assert desk.consent("SPEC", change["id"]).status_code == 201
    assert desk.names("SPEC", desk.day(0)) == {"Mailer"}


def test_a_replacement_waits_for_consent_and_a_refusal_keeps_it_out(desk, app):
    desk.customer("GEN", notice_days=30)
    # Old was on the list when the specific customers accepted.
    old = desk.listed(0, name="Old Mailer")
    desk.customer("YES", authorisation="specific", started_on=desk.day(-10))
    desk.customer("NO", authorisation="specific", started_on=desk.day(-10))
    for ref in ("YES", "NO"):
        set_accepted_at(
            app,
            desk.customers[ref]["id"],
            local_midnight(desk.day(0), desk.org["timezone"]) + timedelta(hours=23),
        )
    assert desk.names("NO", desk.day(0)) == {"Old Mailer"}
    new = desk.vendor(name="New Mailer")
    change = desk.announced(
        kind="replace",
        recipient_id=new["id"],
        replaces_id=old["id"],
        effective_on=desk.day(30),
    )
    notified = desk.notices_of(change["id"])
    assert notified["GEN"]["response"] == "objection"
    assert notified["YES"]["response"] == "consent"
    assert notified["NO"]["response"] == "consent"

    effective = desk.day(30)
    assert desk.names("GEN", effective) == {"New Mailer"}
    assert desk.names("YES", effective) == set()  # waits for consent
    assert desk.consent("YES", change["id"], reason="Fine").status_code == 201
    assert desk.names("YES", effective) == {"New Mailer"}

    refused = desk.consent("NO", change["id"], decision="refuse", reason="Not in the US")
    assert refused.status_code == 201, refused.json
    assert refused.json["kind"] == "refusal"
    assert refused.json["status"] == "recorded"
    assert refused.json["reason"] == "Not in the US"
    assert desk.names("NO", effective) == set()
    assert desk.names("NO", desk.day(400)) == set()
    kinds = {o["customer"]["external_ref"]: o["kind"] for o in desk.objections()["items"]}
    assert kinds == {"YES": "consent", "NO": "refusal"}
    assert [e["action"] for e in desk.audit(entity_type="objection")] == [
        "refusal.filed",
        "consent.filed",
    ]
    # A later acceptance of the agreement does not turn the refusal into consent.
    set_accepted_at(app, desk.customers["NO"]["id"], local_midnight(desk.day(31), "UTC"))
    assert desk.names("NO", desk.day(40)) == set()
    assert desk.chain_ok()


def test_consent_given_after_the_effective_date_applies_from_when_it_was_given(desk, ctx):
    from service.changes.models import Notice
    from service.objections import services as answers
    from service.organizations.models import Organization

    spec = desk.customer("SPEC", authorisation="specific", started_on=desk.day(-10))
    change = desk.add(desk.vendor(name="Mailer"), 0)
    org = db.session.get(Organization, desk.org["id"])
    notice = db.session.scalars(
        db.select(Notice).where(Notice.change_id == change["id"], Notice.customer_id == spec["id"])
    ).one()
    consented_at = local_midnight(desk.day(3), desk.org["timezone"]) + timedelta(hours=10)
    answers.file_answer(org, notice, "consent", "", channel="api", actor="test", now=consented_at)
    db.session.commit()

    # The vendor applies from the day of consent, and history before it stays as it was.
    assert desk.names("SPEC", desk.day(0)) == set()
    assert desk.names("SPEC", desk.day(2)) == set()
    assert desk.names("SPEC", desk.day(3)) == {"Mailer"}
    diff = desk.client.get(
        desk.url(f"/customers/{spec['id']}/subprocessors/diff"),
        query_string={"from": desk.day(0), "to": desk.day(3)},
        headers=desk.legal,
    ).json
    assert [i["name"] for i in diff["added"]] == ["Mailer"]


def test_a_general_customer_with_the_default_terms_is_asked_to_object(desk):
    desk.customer("DEFAULT", authorisation=None, notice_days=None)
    change = desk.add(desk.vendor(name="Mailer"), 30)  # organization default: 30 days
    notice = desk.notices_of(change["id"])["DEFAULT"]
    assert notice["response"] == "objection"
    assert notice["notice_days"] == 30
    assert_problem(
        desk.announce(
            kind="add", recipient_id=desk.vendor(name="Other")["id"], effective_on=desk.day(29)
        ),
        422,
    )


def test_an_independent_controller_waits_for_a_specific_customers_consent(desk):
    # Art. 28(3)(a), 29: disclosing a customer's data to a controller needs its instruction.
    desk.customer("SPEC", authorisation="specific", started_on=desk.day(-5))
    payments = desk.vendor(name="Payments Ltd", role="independent_controller")
    change = desk.add(payments, 0, urgent=True, urgent_justification="Payment outage")
    assert desk.notices_of(change["id"])["SPEC"]["response"] == "consent"
    assert desk.names("SPEC", desk.day(0)) == set()
    assert desk.consent("SPEC", change["id"]).status_code == 201
    assert desk.names("SPEC", desk.day(0)) == {"Payments Ltd"}


def test_the_earliest_allowed_date_counts_from_the_organizations_today(desk):
    desk.customer("C10", notice_days=10)
    body = assert_problem(
        desk.announce(kind="add", recipient_id=desk.vendor()["id"], effective_on=desk.day(9)), 422
    )
    assert body["earliest_allowed"] == (desk.today() + timedelta(days=10)).isoformat()


# --- the per-process cache of customers' lists ------------------------------------------------


@pytest.fixture
def renders(monkeypatch) -> list[int]:
    """Customer ids whose list was computed rather than taken from the cache."""
    seen: list[int] = []
    original = subprocessors.customer_view

    def counting(org, customer, day):
        seen.append(customer.id)
        return original(org, customer, day)

    monkeypatch.setattr(subprocessors, "customer_view", counting)
    return seen


def test_a_customers_list_is_computed_once_per_state(desk, renders):
    desk.listed(0, name="Hosting")
    book = desk.customer("BOOK", services=("bookings",))
    first = desk.customer_list("BOOK")
    assert desk.customer_list("BOOK") == first
    assert renders == [book["id"]]
    # Legal staff see due diligence: another entry, never the customer's.
    as_legal = desk.customer_list("BOOK", headers=desk.legal)
    assert as_legal["items"][0]["due_diligence"] is not None
    assert first["items"][0]["due_diligence"] is None
    assert desk.customer_list("BOOK")["items"][0]["due_diligence"] is None
    assert renders == [book["id"], book["id"]]


def test_every_customer_side_write_shows_at_once(desk, app, renders):
    hosting = desk.listed(0, name="Hosting", services=["bookings"])
    desk.listed(0, name="Payments", services=["payments"])
    book = desk.customer("BOOK", services=("bookings",))
    assert desk.names("BOOK") == {"Hosting"}
    # Its services, through the API.
    response = desk.client.patch(
        desk.url(f"/customers/{book['id']}"),
        json={"services": ["bookings", "payments"]},
        headers=desk.legal,
    )
    assert response.status_code == 200, response.json
    assert desk.names("BOOK") == {"Hosting", "Payments"}
    # An exclusion, written through the session as any service would.
    with app.app_context():
        db.session.add(
            Exclusion(customer_id=book["id"], recipient_id=hosting["id"], since=desk.today())
        )
        db.session.commit()
    assert desk.names("BOOK") == {"Payments"}
    # Raw SQL around the models: deleting it shows too.
    with app.app_context():
        db.session.execute(text("DELETE FROM customer_exclusions"))
        db.session.commit()
    assert desk.names("BOOK") == {"Hosting", "Payments"}
    assert len(renders) == 4


def test_delivery_stamps_on_notices_move_the_customers_token(desk, app):
    desk.customer("BOOK", services=("bookings",))
    change = desk.add(desk.vendor(name="Later"), 40)
    before = tokens(app, desk)
    with app.app_context():
        notice = db.session.scalars(select(Notice).where(Notice.change_id == change["id"])).one()
        notice.reminded_at = notice.created_at
        db.session.commit()
        assert cache.tokens(desk.org["id"]) == before  # a reminder's stamp decides nothing
        # The notice period runs from delivery: its time decides the list.
        notice.delivered_at = None
        db.session.commit()
        assert cache.tokens(desk.org["id"])[1] != before[1]
        before = tokens(app, desk)
        notice.response = "consent"  # what the notice asks does decide the list
        db.session.commit()
        assert cache.tokens(desk.org["id"])[1] != before[1]
        assert cache.tokens(desk.org["id"])[0] == before[0]  # the public list is untouched


def tokens(app, desk) -> tuple:
    with app.app_context():
        return cache.tokens(desk.org["id"])


# --- the key cache: fewer round trips, revocation within a bound ----------------------------------


@pytest.fixture
def key_cache(app, monkeypatch) -> dict:
    """Production's key cache (tests otherwise read the key on every request), with a clock
    the test moves."""
    from service.keys import services as keys

    yield from moved_clock(app, monkeypatch, "KEY_CACHE_MAX_AGE_SECONDS", keys.cached_keys)


def _key_reads(app) -> tuple[list[str], object]:
    seen: list[str] = []

    def note(conn, cursor, statement, *args) -> None:
        if "FROM api_keys" in statement:
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    return seen, (engine, note)


def test_a_known_key_is_read_once_per_max_age(desk, client, app, key_cache):
    from sqlalchemy import event

    mine = desk.customer("MINE")
    desk.listed(0, name="Mailer")
    # A query string takes Flask's path (the fast path reads the key with the list tokens,
    # every time: tests/test_customer_list_fastpath.py).
    url = desk.url(f"/customers/{mine['id']}/subprocessors?as_of={desk.day(0)}")
    first = client.get(url, headers=mine["key"])
    seen, (engine, note) = _key_reads(app)
    event.listen(engine, "before_cursor_execute", note)
    try:
        assert client.get(url, headers=mine["key"]).data == first.data
        assert seen == []
        key_cache["now"] += 2.1
        assert client.get(url, headers=mine["key"]).status_code == 200
        assert len(seen) == 1
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_a_key_revoked_here_stops_at_once_elsewhere_within_the_bound(desk, client, app, key_cache):
    mine = desk.customer("MINE")
    theirs = desk.customer("THEIRS")
    url = desk.url(f"/customers/{mine['id']}/subprocessors")
    assert client.get(url, headers=mine["key"]).status_code == 200  # cached now
    prefix = mine["key"]["Authorization"].split("_")[1]
    revoked = client.delete(desk.url(f"/keys/{prefix}"), headers=desk.legal)
    assert revoked.status_code == 200
    assert_problem(client.get(url, headers=mine["key"]), 401)  # this process: at once

    # Another process revokes: this one is not told, and refuses within the max age.
    their_url = desk.url(f"/customers/{theirs['id']}/subprocessors")
    assert client.get(their_url, headers=theirs["key"]).status_code == 200  # cached now
    their_prefix = theirs["key"]["Authorization"].split("_")[1]
    with app.app_context(), db.engine.begin() as connection:  # around the session's events
        connection.execute(
            text("UPDATE api_keys SET revoked_at = now() WHERE prefix = :p"), {"p": their_prefix}
        )
    assert client.get(their_url, headers=theirs["key"]).status_code == 200
    key_cache["now"] += 1.9
    assert client.get(their_url, headers=theirs["key"]).status_code == 200
    key_cache["now"] += 0.2
    assert_problem(client.get(their_url, headers=theirs["key"]), 401)


def test_the_key_cache_keeps_secrets_customers_and_tenants_apart(desk, world, client, key_cache):
    from service.keys import services as keys

    # Everything about customers and tenants holds with cached keys (each is used twice).
    test_a_customer_key_reaches_only_its_own_list(desk, world, client)
    mine = desk.customers["MINE"]
    url = desk.url(f"/customers/{mine['id']}/subprocessors")
    assert client.get(url, headers=mine["key"]).status_code == 200
    token = mine["key"]["Authorization"].removeprefix("Bearer ")
    prefix = token.split("_")[1]
    assert prefix in keys.cached_keys._entries
    for forged in (f"dpa_{prefix}_{'A' * 43}", token + "x", token[:-1]):
        assert_problem(client.get(url, headers={"Authorization": f"Bearer {forged}"}), 401)
    # Unknown and wrong keys are not remembered.
    held = len(keys.cached_keys._entries)
    for n in range(20):
        client.get(url, headers={"Authorization": f"Bearer dpa_{n:012x}_{'A' * 43}"})
    assert len(keys.cached_keys._entries) == held
