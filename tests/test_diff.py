"""The changelog and its filters, and the difference between the lists at two dates, for
the organization and for one customer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from service.extensions import db
from service.organizations.models import Organization
from service.public import services as public
from service.recipients import pages
from service.recipients import services as recipients
from tests.notice_kit import Desk, assert_problem


@pytest.fixture
def desk(client, world) -> Desk:
    return Desk(client, world)


def org_diff(desk: Desk, since: str, until: str, headers=None) -> dict:
    response = desk.client.get(
        desk.url("/subprocessors/diff"),
        query_string={"from": since, "to": until},
        headers=headers or {},
    )
    assert response.status_code == 200, response.json
    return response.json


def customer_diff(desk: Desk, ref: str, since: str, until: str) -> dict:
    customer = desk.customers[ref]
    response = desk.client.get(
        desk.url(f"/customers/{customer['id']}/subprocessors/diff"),
        query_string={"from": since, "to": until},
        headers=customer["key"],
    )
    assert response.status_code == 200, response.json
    return response.json


def names(items: list[dict]) -> list[str]:
    return [item["name"] for item in items]


@pytest.fixture
def history(desk) -> dict:
    """Kept (updated on day 15), Leaving (removed on day 20), Joining (added on day 10),
    and a proposed vendor that never joins."""
    desk.customer("BOOK", services=("bookings",), notice_days=0)
    desk.customer("PAY", services=("payments",), notice_days=0)
    kept = desk.vendor(name="Kept", services=["bookings"], purpose_en="Hosting")
    kept_add = desk.add(kept, 0, urgent=True, urgent_justification="Setup")
    leaving = desk.listed(0, name="Leaving")
    joining = desk.vendor(name="Joining", services=["payments"])
    desk.vendor(name="Never")
    desk.add(joining, 10)
    update = desk.announced(
        kind="update",
        recipient_id=kept["id"],
        effective_on=desk.day(15),
        update={
            "services": ["payments"],
            "purpose_en": "Hosting and backup",
            "locations": [
                {"country": "DE", "mechanism": "none", "activity": "hosting"},
                {"country": "FR", "mechanism": "none", "activity": "backup"},
            ],
        },
    )
    removal = desk.announced(kind="remove", recipient_id=leaving["id"], effective_on=desk.day(20))
    return {
        "kept": kept,
        "kept_add": kept_add,
        "leaving": leaving,
        "joining": joining,
        "update": update,
        "removal": removal,
    }


# --- the organization's diff ------------------------------------------------------------------


def test_the_organizations_diff_names_added_removed_and_changed_fields(desk, history):
    diff = org_diff(desk, desk.day(0), desk.day(30))
    assert diff["from"] == desk.day(0)
    assert diff["to"] == desk.day(30)
    assert names(diff["added"]) == ["Joining"]
    assert names(diff["removed"]) == ["Leaving"]
    assert diff["added"][0]["status"] == "active"
    assert diff["added"][0]["due_diligence"] is None  # public: no due diligence
    [changed] = diff["changed"]
    assert changed["id"] == history["kept"]["id"]
    assert changed["name"] == "Kept"
    fields = changed["changes"]
    assert set(fields) == {"purpose_en", "services", "effective_services", "locations"}
    assert fields["purpose_en"] == {"before": "Hosting", "after": "Hosting and backup"}
    assert fields["services"] == {"before": ["bookings"], "after": ["payments"]}
    assert fields["effective_services"] == {"before": ["bookings"], "after": ["payments"]}
    assert [loc["country"] for loc in fields["locations"]["before"]] == ["DE"]
    assert [loc["country"] for loc in fields["locations"]["after"]] == ["DE", "FR"]


def test_the_diff_sees_only_what_happened_between_the_dates(desk, history):
    nothing = org_diff(desk, desk.day(0), desk.day(9))
    assert nothing["added"] == nothing["removed"] == nothing["changed"] == []
    assert org_diff(desk, desk.day(0), desk.day(0))["changed"] == []
    added_only = org_diff(desk, desk.day(9), desk.day(10))
    assert names(added_only["added"]) == ["Joining"]
    assert added_only["removed"] == added_only["changed"] == []
    changed_only = org_diff(desk, desk.day(14), desk.day(15))
    assert names(changed_only["changed"]) == ["Kept"]
    assert changed_only["added"] == changed_only["removed"] == []
    removed_only = org_diff(desk, desk.day(19), desk.day(20))
    assert names(removed_only["removed"]) == ["Leaving"]
    # Looking at the future from the past works as well as from today.
    assert names(org_diff(desk, desk.day(11), desk.day(400))["removed"]) == ["Leaving"]


def test_a_withdrawn_change_leaves_no_trace_in_the_diff(desk, history):
    assert desk.withdraw(history["update"]["id"]).status_code == 200
    assert desk.withdraw(history["removal"]["id"]).status_code == 200
    diff = org_diff(desk, desk.day(0), desk.day(30))
    assert names(diff["added"]) == ["Joining"]
    assert diff["removed"] == diff["changed"] == []


def test_an_update_of_a_parent_changes_its_childs_effective_services(desk):
    desk.customer("C", notice_days=0)
    parent = desk.listed(0, name="Parent", services=["bookings"])
    desk.listed(0, name="Child", services=[], parent_id=parent["id"])
    desk.announced(
        kind="update",
        recipient_id=parent["id"],
        effective_on=desk.day(5),
        update={"services": ["bookings", "payments"]},
    )
    changed = {c["name"]: c["changes"] for c in org_diff(desk, desk.day(0), desk.day(5))["changed"]}
    assert set(changed) == {"Parent", "Child"}
    assert changed["Child"] == {
        "effective_services": {"before": ["bookings"], "after": ["bookings", "payments"]}
    }


def test_the_diff_needs_two_ordered_dates(desk, client):
    url = desk.url("/subprocessors/diff")
    body = assert_problem(
        client.get(url, query_string={"from": desk.day(5), "to": desk.day(1)}), 422
    )
    assert "from" in body["errors"]
    body = assert_problem(client.get(url), 422)
    assert {"from", "to"} <= set(body["errors"])
    assert (
        "to" in assert_problem(client.get(url, query_string={"from": desk.day(0)}), 422)["errors"]
    )
    for bad in ({"from": "2025-13-01", "to": "2025-12-01"}, {"from": "x", "to": "y"}):
        assert_problem(client.get(url, query_string=bad), 422)
    unknown = {"from": desk.day(0), "to": desk.day(1), "since": desk.day(0)}
    assert "since" in assert_problem(client.get(url, query_string=unknown), 422)["errors"]


def test_the_diff_is_public_but_not_across_tenants(desk, history, world, client):
    anonymous = org_diff(desk, desk.day(0), desk.day(30))
    assert org_diff(desk, desk.day(0), desk.day(30), headers=desk.legal) == anonymous
    other = Desk(client, world, slug="other")
    response = client.get(
        desk.url("/subprocessors/diff"),
        query_string={"from": desk.day(0), "to": desk.day(30)},
        headers=other.legal,
    )
    assert_problem(response, 404)
    assert_problem(
        client.get(
            "/api/v1/orgs/nobody/subprocessors/diff",
            query_string={"from": desk.day(0), "to": desk.day(1)},
        ),
        404,
    )


# --- one customer's diff ----------------------------------------------------------------------


def test_a_customers_diff_follows_its_services(desk, history):
    book = customer_diff(desk, "BOOK", desk.day(0), desk.day(30))
    # Kept moved from bookings to payments: it left BOOK's list and joined PAY's.
    assert names(book["added"]) == []
    assert names(book["removed"]) == ["Kept", "Leaving"]
    assert book["changed"] == []
    pay = customer_diff(desk, "PAY", desk.day(0), desk.day(30))
    assert names(pay["added"]) == ["Joining", "Kept"]
    assert names(pay["removed"]) == ["Leaving"]
    assert pay["from"] == desk.day(0)
    assert pay["added"][0]["due_diligence"] is None  # a customer key sees no due diligence


def test_a_customers_diff_shows_field_changes_within_its_scope(desk):
    desk.customer("C", notice_days=0)
    hosting = desk.listed(0, name="Hosting", purpose_pl="Hosting")
    desk.announced(
        kind="update",
        recipient_id=hosting["id"],
        effective_on=desk.day(3),
        update={"purpose_pl": "Hosting i kopie zapasowe", "country": "FR"},
    )
    [changed] = customer_diff(desk, "C", desk.day(0), desk.day(3))["changed"]
    assert changed["changes"] == {
        "purpose_pl": {"before": "Hosting", "after": "Hosting i kopie zapasowe"},
        "country": {"before": "DE", "after": "FR"},
    }


def test_a_customers_diff_leaves_out_exclusions_and_unconsented_additions(desk):
    desk.customer("EXCL", notice_days=10, remedy="exclude")
    desk.customer("SPEC", authorisation="specific", started_on=desk.day(-1))
    desk.customer("GEN", notice_days=10)
    change = desk.add(desk.vendor(name="Mailer"), 10)
    objection = desk.object("EXCL", change["id"]).json
    assert desk.resolve(objection["id"]).status_code == 200

    assert names(customer_diff(desk, "GEN", desk.day(0), desk.day(10))["added"]) == ["Mailer"]
    assert customer_diff(desk, "EXCL", desk.day(0), desk.day(10))["added"] == []
    assert customer_diff(desk, "SPEC", desk.day(0), desk.day(10))["added"] == []
    assert desk.consent("SPEC", change["id"]).status_code == 201
    assert names(customer_diff(desk, "SPEC", desk.day(0), desk.day(10))["added"]) == ["Mailer"]


def test_a_customers_diff_validates_its_dates(desk):
    desk.customer("C")
    customer = desk.customers["C"]
    url = desk.url(f"/customers/{customer['id']}/subprocessors/diff")
    response = desk.client.get(
        url, query_string={"from": desk.day(2), "to": desk.day(1)}, headers=customer["key"]
    )
    assert "from" in assert_problem(response, 422)["errors"]
    assert_problem(desk.client.get(url, headers=customer["key"]), 422)
    # A stranger learns nothing of the endpoint, not even that the dates are wrong.
    assert_problem(desk.client.get(url), 401)


# --- the changelog's filters -----------------------------------------------------------------


def ids(desk: Desk, **query: object) -> list[int]:
    response = desk.client.get(desk.url("/changes"), query_string=query)
    assert response.status_code == 200, response.json
    return [c["id"] for c in response.json["items"]]


def test_the_changelog_filters(desk, history):
    desk.customer("C10", notice_days=10)
    urgent_vendor = desk.vendor(name="Urgent")
    urgent = desk.add(urgent_vendor, 2, urgent=True, urgent_justification="Outage")
    old = desk.vendor(name="Old Mailer")
    old_add = desk.add(old, 0, urgent=True, urgent_justification="Setup")
    new = desk.vendor(name="New Mailer")
    replace = desk.announced(
        kind="replace", recipient_id=new["id"], replaces_id=old["id"], effective_on=desk.day(12)
    )
    withdrawn = desk.add(desk.vendor(name="Withdrawn"), 25)
    assert desk.withdraw(withdrawn["id"]).status_code == 200
    all_ids = ids(desk, per_page=500)
    assert len(all_ids) == 9
    by_effective = {
        c["id"]: c["effective_on"]
        for c in desk.client.get(desk.url("/changes"), query_string={"per_page": 500}).json["items"]
    }

    # Date range, both ends inclusive.
    assert set(ids(desk, effective_from=desk.day(10), effective_until=desk.day(15))) == {
        c for c, day in by_effective.items() if desk.day(10) <= day <= desk.day(15)
    }
    assert history["update"]["id"] in ids(desk, effective_from=desk.day(15))
    assert history["update"]["id"] not in ids(desk, effective_from=desk.day(16))
    assert history["update"]["id"] in ids(desk, effective_until=desk.day(15))
    assert history["update"]["id"] not in ids(desk, effective_until=desk.day(14))
    assert ids(desk, effective_from=desk.day(26)) == []
    # Urgency.
    urgent_ids = set(ids(desk, urgent="true"))
    assert urgent["id"] in urgent_ids
    assert replace["id"] not in urgent_ids
    assert set(ids(desk, urgent="false")).isdisjoint(urgent_ids)
    # In effect: announced and effective by today; withdrawn ones never are.
    in_effect = set(ids(desk, in_effect="true"))
    assert in_effect == {c for c, day in by_effective.items() if day <= desk.day(0)} - {
        withdrawn["id"]
    }
    assert in_effect
    not_yet = set(ids(desk, in_effect="false"))
    assert withdrawn["id"] in not_yet
    assert urgent["id"] in not_yet
    assert in_effect.isdisjoint(not_yet)
    assert in_effect | not_yet == set(all_ids)
    # Kind and status.
    assert ids(desk, kind="replace") == [replace["id"]]
    assert ids(desk, kind="update") == [history["update"]["id"]]
    assert ids(desk, status="withdrawn") == [withdrawn["id"]]
    assert withdrawn["id"] not in ids(desk, status="announced", per_page=500)
    # Vendor: the changes that name it, the replace that takes it off included.
    assert ids(desk, recipient_id=old["id"]) == [replace["id"], old_add["id"]]
    assert ids(desk, recipient_id=new["id"]) == [replace["id"]]
    assert ids(desk, recipient_id=history["kept"]["id"]) == [
        history["update"]["id"],
        history["kept_add"]["id"],
    ]
    # Combined filters narrow together.
    assert ids(desk, kind="add", urgent="true", effective_from=desk.day(1)) == [urgent["id"]]
    assert ids(desk, kind="remove", in_effect="true") == []
    assert ids(desk, kind="remove", effective_from=desk.day(20)) == [history["removal"]["id"]]


def test_the_changelog_refuses_bad_filters(desk, client):
    for query in (
        {"effective_from": "2025-02-30"},
        {"effective_until": "soon"},
        {"urgent": "perhaps"},
        {"in_effect": "maybe"},
        {"kind": "rename"},
        {"status": "in_effect"},
        {"recipient_id": 0},
        {"vendor": 1},
    ):
        response = client.get(desk.url("/changes"), query_string=query)
        assert list(assert_problem(response, 422)["errors"]) == [next(iter(query))]


def test_a_change_shows_in_effect_from_its_date(desk):
    desk.customer("C", notice_days=0)
    today = desk.add(desk.vendor(name="Today"), 0)
    tomorrow = desk.add(desk.vendor(name="Tomorrow"), 1)
    assert today["in_effect"] is True
    assert tomorrow["in_effect"] is False
    shown = desk.client.get(desk.url(f"/changes/{tomorrow['id']}")).json
    assert shown["in_effect"] is False
    assert ids(desk, in_effect="true") == [today["id"]]


# --- computed from the vendors that differ, optionally paged ----------------------------------


def test_set_based_diff_and_list_say_what_the_objects_say(desk, history, app):
    child = desk.listed(0, name="Child of kept", services=[], parent_id=history["kept"]["id"])
    assert child["parent_id"] == history["kept"]["id"]
    # A listed vendor under a parent that never joins the list, with scopes of their own.
    unlisted = desk.vendor(name="Unlisted parent", services=["payments"])
    desk.listed(0, name="Child of unlisted", services=["payments"], parent_id=unlisted["id"])
    # Leaving comes back (an earlier listing period), Kept is renamed from day 16.
    desk.add(history["leaving"], 25)
    renamed = desk.client.patch(
        desk.url(f"/subprocessors/{history['kept']['id']}"),
        json={"name": "Kept renamed", "renamed_on": desk.day(16)},
        headers=desk.legal,
    )
    assert renamed.status_code == 200, renamed.json
    days = [desk.today() + timedelta(days=n) for n in (0, 9, 10, 15, 16, 20, 30)]
    with app.app_context():
        org = db.session.scalars(select(Organization).where(Organization.slug == desk.slug)).one()
        for since in days:
            for until in days[days.index(since) :]:
                whole = recipients.diff_lists(
                    *[
                        [
                            recipients.present(r, d, legal=False)
                            for r in recipients.all_listed(org, d)
                        ]
                        for d in (since, until)
                    ]
                )
                found = recipients.diff_between(org, since, until)
                # The public list's set-based rendering agrees with the objects' too.
                assert recipients.present_listed(org, until) == [
                    recipients.present(r, until, legal=False)
                    for r in recipients.all_listed(org, until)
                ]
                assert {k: found[k] for k in ("added", "removed", "changed")} == whole
                assert found["totals"] == {k: len(v) for k, v in whole.items()}
                # The rows path (one statement a page) says the same, whole and by pages.
                assert pages.diff_between(org, since, until) == found
                for page in (1, 2):
                    paged = {"page": page, "per_page": 1}
                    assert pages.diff_between(org, since, until, **paged) == (
                        recipients.diff_between(org, since, until, **paged)
                    )
        for day in days:  # a page of the list, with its safeguards, from rows and objects
            for page in (1, 2, 3):
                shown, total = pages.list_page(org, day, page, 2)
                items, whole_total = recipients.list_recipients(
                    org, day, recipients.ListFilters(), page, 2
                )
                assert total == whole_total
                assert shown == [recipients.present(r, day, legal=False) for r in items]
                assert public.places_of(org, shown, day, "en") == {
                    r.id: public.recipient_places(r, day, "en") for r in items
                }
        db.session.remove()


def test_pages_of_the_diff_cover_each_list_once(desk, history):
    for n in range(5):
        desk.add(desk.vendor(name=f"New {n}"), 10)
    whole = org_diff(desk, desk.day(0), desk.day(30))
    assert names(whole["added"]) == ["Joining", "New 0", "New 1", "New 2", "New 3", "New 4"]
    assert whole["totals"] == {"added": 6, "removed": 1, "changed": 1}
    assert "page" not in whole
    pages = []
    for page in (1, 2, 3, 4):
        response = desk.client.get(
            desk.url("/subprocessors/diff"),
            query_string={"from": desk.day(0), "to": desk.day(30), "page": page, "per_page": 2},
        )
        assert response.status_code == 200, response.json
        pages.append(response.json)
    assert [names(p["added"]) for p in pages] == [
        ["Joining", "New 0"], ["New 1", "New 2"], ["New 3", "New 4"], [],
    ]  # fmt: skip
    assert [names(p["removed"]) for p in pages] == [["Leaving"], [], [], []]
    assert [names(p["changed"]) for p in pages] == [["Kept"], [], [], []]
    assert all(p["totals"] == whole["totals"] for p in pages)
    assert (pages[0]["page"], pages[0]["per_page"]) == (1, 2)
    assert pages[0]["added"][0] == whole["added"][0]
    too_many = desk.client.get(
        desk.url("/subprocessors/diff"),
        query_string={"from": desk.day(0), "to": desk.day(30), "per_page": 501},
    )
    assert "per_page" in assert_problem(too_many, 422)["errors"]


def test_a_write_is_in_the_next_diff_though_its_pages_are_kept(desk, history):
    """The totals and the changed vendors are kept under the list token: a write moves it."""
    query = {"from": desk.day(11), "to": desk.day(30), "page": 1, "per_page": 2}

    def page() -> dict:
        response = desk.client.get(desk.url("/subprocessors/diff"), query_string=query)
        assert response.status_code == 200, response.json
        return response.json

    assert page() == page()
    assert page()["totals"] == {"added": 0, "removed": 1, "changed": 1}
    assert names(page()["changed"]) == ["Kept"]
    desk.announced(
        kind="update",
        recipient_id=history["joining"]["id"],
        effective_on=desk.day(12),
        update={"purpose_en": "Payments and refunds"},
    )
    desk.add(desk.vendor(name="Later"), 12)
    assert page()["totals"] == {"added": 1, "removed": 1, "changed": 2}
    assert names(page()["changed"]) == ["Joining", "Kept"]
