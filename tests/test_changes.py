"""Announced changes of the list: add, remove, replace, update, withdrawal, tenancy, audit."""

from __future__ import annotations

from tests.conftest import audit_events, bearer, vendor

PROBLEM = "application/problem+json"


def changes_url(org: dict, suffix: str = "") -> str:
    return f"/api/v1/orgs/{org['slug']}/changes{suffix}"


def vendors_url(org: dict, suffix: str = "") -> str:
    return f"/api/v1/orgs/{org['slug']}/subprocessors{suffix}"


def register(client, org: dict, headers: dict, **overrides: object) -> dict:
    response = client.post(vendors_url(org), json=vendor(**overrides), headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def post_change(client, org: dict, headers: dict, **body: object):
    return client.post(changes_url(org), json=body, headers=headers)


def announce(client, org: dict, headers: dict, **body: object) -> dict:
    response = post_change(client, org, headers, **body)
    assert response.status_code == 201, response.json
    return response.json


def withdraw(client, org: dict, headers: dict, change_id: int, reason: str = "Plans changed"):
    return client.post(
        changes_url(org, f"/{change_id}/withdraw"), json={"reason": reason}, headers=headers
    )


def listed(client, world, org: dict, headers: dict, offset: int = 0, **overrides) -> dict:
    """Register a vendor and announce its `add` effective `offset` days from today."""
    recipient = register(client, org, headers, **overrides)
    announce(
        client,
        org,
        headers,
        kind="add",
        recipient_id=recipient["id"],
        effective_on=world.day(org, offset),
    )
    return recipient


def names(client, org: dict, as_of: str, **query: object) -> list[str]:
    response = client.get(vendors_url(org), query_string={"as_of": as_of, **query})
    assert response.status_code == 200, response.json
    return [item["name"] for item in response.json["items"]]


def shown(client, org: dict, recipient_id: int, as_of: str, headers: dict | None = None) -> dict:
    response = client.get(
        vendors_url(org, f"/{recipient_id}"), query_string={"as_of": as_of}, headers=headers or {}
    )
    assert response.status_code == 200, response.json
    return response.json


def written(client, org: dict, headers: dict) -> tuple[int, int]:
    """(audit events, changes): a refused request must change neither."""
    events = client.get(f"/api/v1/orgs/{org['slug']}/audit", headers=headers).json["total"]
    changes = client.get(changes_url(org)).json["total"]
    return events, changes


def chain_ok(client, org: dict, headers: dict) -> bool:
    response = client.get(f"/api/v1/orgs/{org['slug']}/audit/verification", headers=headers)
    assert response.status_code == 200, response.json
    return response.json["ok"]


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    assert response.json["status"] == status
    assert response.json["title"]
    return response.json


def customer_key(client, world, org: dict, headers: dict) -> dict:
    response = client.post(
        f"/api/v1/orgs/{org['slug']}/customers",
        json={"external_ref": "salon-1", "name": "Salon Urody Anna"},
        headers=headers,
    )
    assert response.status_code == 201, response.json
    return bearer(world.key("customer", org, response.json["id"]))


# --- add ------------------------------------------------------------------------------------


def test_an_add_is_public_at_once_and_lists_the_vendor_from_its_date(client, world, org, legal):
    recipient = register(client, org, legal)
    before_events = len(audit_events(client, org, legal))

    response = post_change(
        client,
        org,
        legal,
        kind="add",
        recipient_id=recipient["id"],
        effective_on=world.day(org, 7),
        reason="New hosting provider",
    )

    assert response.status_code == 201
    change = response.json
    assert change["kind"] == "add"
    assert change["status"] == "announced"
    assert change["in_effect"] is False
    assert change["effective_on"] == world.day(org, 7)
    assert change["recipient"] == {
        "id": recipient["id"],
        "name": "Hetzner",
        "legal_entity": "Hetzner Online GmbH",
    }
    assert change["replaces"] is None
    assert change["update"] is None
    # Everyone sees the announcement at once ...
    listing = client.get(changes_url(org)).json
    assert listing["total"] == 1
    assert listing["items"][0]["id"] == change["id"]
    assert client.get(changes_url(org, f"/{change['id']}")).json["reason"] == "New hosting provider"
    # ... and the vendor, as announced, while the list changes only on the date.
    assert shown(client, org, recipient["id"], world.day(org, 0))["status"] == "announced"
    assert names(client, org, world.day(org, 6)) == []
    assert names(client, org, world.day(org, 7)) == ["Hetzner"]
    assert names(client, org, world.day(org, 365)) == ["Hetzner"]
    assert shown(client, org, recipient["id"], world.day(org, 7))["status"] == "active"
    # Audited, with the change as announced.
    events = audit_events(client, org, legal)
    assert len(events) == before_events + 2
    assert events[1]["action"] == "change.announced"
    assert events[1]["entity_id"] == str(change["id"])
    assert events[1]["after"]["effective_on"] == world.day(org, 7)
    # The fan-out's record of its audience: this organization has no customer yet.
    assert (events[0]["action"], events[0]["entity_id"]) == (
        "change.notices_written",
        str(change["id"]),
    )
    assert events[0]["after"] == {"notices": 0, "uncontactable": 0}
    assert chain_ok(client, org, legal)


def test_changes_are_listed_newest_first_and_filtered(client, world, org, legal):
    first = listed(client, world, org, legal, offset=9, name="First")
    second = listed(client, world, org, legal, offset=3, name="Second")
    removal = announce(
        client, org, legal, kind="remove", recipient_id=second["id"], effective_on=world.day(org, 5)
    )
    withdraw(client, org, legal, removal["id"])

    items = client.get(changes_url(org)).json["items"]
    assert [(i["kind"], i["recipient"]["name"]) for i in items] == [
        ("remove", "Second"),
        ("add", "Second"),
        ("add", "First"),
    ]
    assert items[0]["status"] == "withdrawn"
    withdrawn = client.get(changes_url(org), query_string={"status": "withdrawn"}).json
    assert [i["id"] for i in withdrawn["items"]] == [removal["id"]]
    adds = client.get(changes_url(org), query_string={"kind": "add"}).json
    assert adds["total"] == 2
    of_first = client.get(changes_url(org), query_string={"recipient_id": first["id"]}).json
    assert [i["recipient"]["id"] for i in of_first["items"]] == [first["id"]]
    page = client.get(changes_url(org), query_string={"per_page": 2, "page": 2}).json
    assert page["total"] == 3
    assert [i["recipient"]["name"] for i in page["items"]] == ["First"]
    beyond = client.get(changes_url(org), query_string={"per_page": 2, "page": 5}).json
    assert beyond["items"] == []
    assert beyond["total"] == 3
    for query in ({"status": "in_effect"}, {"kind": "rename"}, {"recipient_id": 2**40}):
        assert_problem(client.get(changes_url(org), query_string=query), 422)


def test_an_add_effective_today_is_in_effect(client, world, org, legal):
    recipient = register(client, org, legal)
    change = announce(
        client, org, legal, kind="add", recipient_id=recipient["id"], effective_on=world.day(org, 0)
    )
    assert change["in_effect"] is True
    assert names(client, org, world.day(org, 0)) == ["Hetzner"]
    assert client.get(vendors_url(org)).json["items"][0]["status"] == "active"


def test_a_change_cannot_take_effect_in_the_past(client, world, org, legal):
    recipient = register(client, org, legal)
    before = written(client, org, legal)
    response = post_change(
        client,
        org,
        legal,
        kind="add",
        recipient_id=recipient["id"],
        effective_on=world.day(org, -1),
    )
    assert "effective_on" in assert_problem(response, 422)["errors"]
    assert written(client, org, legal) == before
    assert shown(client, org, recipient["id"], world.day(org, 0), legal)["status"] == "proposed"


def test_an_add_must_name_a_vendor_of_this_organization(client, world, org, legal):
    other = world.org("bezkalkulatora")
    foreign = register(client, other, bearer(world.key("legal", other)), name="Google")
    before = written(client, org, legal)
    for recipient_id in (foreign["id"], 424242):
        response = post_change(
            client,
            org,
            legal,
            kind="add",
            recipient_id=recipient_id,
            effective_on=world.day(org, 3),
        )
        assert "recipient_id" in assert_problem(response, 422)["errors"]
    response = post_change(
        client, org, legal, kind="add", recipient_id=2**40, effective_on=world.day(org, 3)
    )
    assert "recipient_id" in assert_problem(response, 422)["errors"]
    assert written(client, org, legal) == before
    # The foreign vendor stayed proposed in its own organization.
    other_list = client.get(vendors_url(other), query_string={"as_of": world.day(other, 3)})
    assert other_list.json["total"] == 0


def test_adding_twice_conflicts(client, world, org, legal):
    recipient = listed(client, world, org, legal, offset=3)
    before = written(client, org, legal)
    for offset in (3, 5, 0):
        response = post_change(
            client,
            org,
            legal,
            kind="add",
            recipient_id=recipient["id"],
            effective_on=world.day(org, offset),
        )
        assert "recipient_id" in assert_problem(response, 409)["errors"]
    assert written(client, org, legal) == before
    assert names(client, org, world.day(org, 2)) == []


# --- remove and replace ---------------------------------------------------------------------


def test_a_removed_vendor_leaves_the_list_on_its_date(client, world, org, legal):
    recipient = listed(client, world, org, legal)
    change = announce(
        client,
        org,
        legal,
        kind="remove",
        recipient_id=recipient["id"],
        effective_on=world.day(org, 4),
    )
    assert change["kind"] == "remove"
    assert names(client, org, world.day(org, 3)) == ["Hetzner"]
    assert names(client, org, world.day(org, 4)) == []
    assert shown(client, org, recipient["id"], world.day(org, 4))["status"] == "removed"
    assert shown(client, org, recipient["id"], world.day(org, 0))["listed_until"] == world.day(
        org, 4
    )
    # A second removal, or an update after it is announced, conflicts.
    response = post_change(
        client,
        org,
        legal,
        kind="remove",
        recipient_id=recipient["id"],
        effective_on=world.day(org, 2),
    )
    assert_problem(response, 409)
    response = post_change(
        client,
        org,
        legal,
        kind="update",
        recipient_id=recipient["id"],
        effective_on=world.day(org, 2),
        update={"role": "joint_controller"},
    )
    assert_problem(response, 409)


def test_only_a_listed_vendor_can_be_removed(client, world, org, legal):
    proposed = register(client, org, legal)
    announced = listed(client, world, org, legal, offset=5, name="Later")
    before = written(client, org, legal)
    response = post_change(
        client,
        org,
        legal,
        kind="remove",
        recipient_id=proposed["id"],
        effective_on=world.day(org, 3),
    )
    assert "recipient_id" in assert_problem(response, 409)["errors"]
    # Not before it joins.
    response = post_change(
        client,
        org,
        legal,
        kind="remove",
        recipient_id=announced["id"],
        effective_on=world.day(org, 4),
    )
    assert "effective_on" in assert_problem(response, 409)["errors"]
    assert written(client, org, legal) == before


def test_a_replace_swaps_the_vendors_on_one_date(client, world, org, legal):
    old = listed(client, world, org, legal)
    new = register(client, org, legal, name="OVH", legal_entity="OVH SAS", country="FR")

    change = announce(
        client,
        org,
        legal,
        kind="replace",
        recipient_id=new["id"],
        replaces_id=old["id"],
        effective_on=world.day(org, 6),
        reason="Cheaper",
    )

    assert change["replaces"]["id"] == old["id"]
    assert change["recipient"]["id"] == new["id"]
    assert names(client, org, world.day(org, 5)) == ["Hetzner"]
    assert names(client, org, world.day(org, 6)) == ["OVH"]
    assert shown(client, org, old["id"], world.day(org, 6))["status"] == "removed"
    assert shown(client, org, new["id"], world.day(org, 5))["status"] == "announced"


def test_replace_needs_another_listed_vendor(client, world, org, legal):
    old = listed(client, world, org, legal)
    new = register(client, org, legal, name="OVH")
    proposed = register(client, org, legal, name="Proposed")
    before = written(client, org, legal)
    day = world.day(org, 6)
    cases = [
        ({"recipient_id": new["id"]}, 422, "replaces_id"),
        ({"recipient_id": new["id"], "replaces_id": None}, 422, "replaces_id"),
        ({"recipient_id": old["id"], "replaces_id": old["id"]}, 422, "replaces_id"),
        ({"recipient_id": new["id"], "replaces_id": 424242}, 422, "replaces_id"),
        ({"recipient_id": new["id"], "replaces_id": proposed["id"]}, 409, "replaces_id"),
        ({"recipient_id": old["id"], "replaces_id": new["id"]}, 409, "recipient_id"),
    ]
    for body, status, field in cases:
        response = post_change(client, org, legal, kind="replace", effective_on=day, **body)
        assert field in assert_problem(response, status)["errors"], body
    assert written(client, org, legal) == before
    assert names(client, org, day) == ["Hetzner"]


# --- update ---------------------------------------------------------------------------------


US_SCC = {"country": "US", "mechanism": "scc", "scc_module": 3, "activity": "hosting"}


def test_an_update_changes_material_data_from_its_date(client, world, org, legal):
    recipient = listed(client, world, org, legal)

    change = announce(
        client,
        org,
        legal,
        kind="update",
        recipient_id=recipient["id"],
        effective_on=world.day(org, 5),
        update={"role": "joint_controller", "locations": [US_SCC], "services": ["payments"]},
    )

    assert change["kind"] == "update"
    diff = change["update"]
    assert diff["before"]["role"] == "subprocessor"
    assert diff["after"]["role"] == "joint_controller"
    assert diff["before"]["locations"][0]["country"] == "DE"
    assert diff["after"]["locations"][0]["country"] == "US"
    assert diff["after"]["locations"][0]["scc_module"] == 3
    assert diff["before"]["services"] == []
    assert diff["after"]["services"] == ["payments"]
    # Only what changes is in the diff.
    assert set(diff["after"]) == {"role", "locations", "services"}
    assert client.get(changes_url(org, f"/{change['id']}")).json["update"] == diff

    old = shown(client, org, recipient["id"], world.day(org, 4))
    assert old["role"] == "subprocessor"
    assert [loc["country"] for loc in old["locations"]] == ["DE"]
    new = shown(client, org, recipient["id"], world.day(org, 5))
    assert new["role"] == "joint_controller"
    assert [loc["country"] for loc in new["locations"]] == ["US"]
    assert new["services"] == ["payments"]
    # Fields the update left out are carried over.
    assert new["purpose_en"] == old["purpose_en"]
    assert new["data_categories_pl"] == old["data_categories_pl"]
    # Today's list still shows the old data; the filters follow the date.
    assert client.get(vendors_url(org)).json["items"][0]["role"] == "subprocessor"
    assert names(client, org, world.day(org, 4), role="joint_controller") == []
    assert names(client, org, world.day(org, 5), role="joint_controller") == ["Hetzner"]
    assert names(client, org, world.day(org, 4), country="US") == []
    assert names(client, org, world.day(org, 5), country="US", mechanism="scc") == ["Hetzner"]
    assert names(client, org, world.day(org, 5), scope="bookings") == []
    assert names(client, org, world.day(org, 4), scope="bookings") == ["Hetzner"]
    assert chain_ok(client, org, legal)


def test_an_update_of_an_announced_vendor_may_start_when_it_joins(client, world, org, legal):
    recipient = listed(client, world, org, legal, offset=4)
    before = written(client, org, legal)
    early = post_change(
        client,
        org,
        legal,
        kind="update",
        recipient_id=recipient["id"],
        effective_on=world.day(org, 3),
        update={"role": "joint_controller"},
    )
    assert "effective_on" in assert_problem(early, 409)["errors"]
    assert written(client, org, legal) == before
    announce(
        client,
        org,
        legal,
        kind="update",
        recipient_id=recipient["id"],
        effective_on=world.day(org, 4),
        update={"role": "joint_controller"},
    )
    assert shown(client, org, recipient["id"], world.day(org, 4))["role"] == "joint_controller"


NO_OP_UPDATES = [
    {"role": "subprocessor"},
    {"locations": [{"country": "DE", "mechanism": "none", "activity": "hosting"}]},
    {"services": ["payments", "bookings"]},  # the same services in another order
    {"purpose_en": "Hosting of application servers", "country": "DE"},
]


def test_an_update_that_changes_nothing_is_refused(client, world, org, legal):
    recipient = listed(client, world, org, legal, services=["bookings", "payments"])
    before = written(client, org, legal)
    for update in NO_OP_UPDATES:
        response = post_change(
            client,
            org,
            legal,
            kind="update",
            recipient_id=recipient["id"],
            effective_on=world.day(org, 3),
            update=update,
        )
        assert "update" in assert_problem(response, 422)["errors"], update
    assert written(client, org, legal) == before


def test_an_update_repeating_defaulted_location_fields_changes_nothing(client, world, org, legal):
    # Registered without `activity`, which the database stores as "".
    recipient = listed(
        client, world, org, legal, locations=[{"country": "DE", "mechanism": "none"}]
    )
    response = post_change(
        client,
        org,
        legal,
        kind="update",
        recipient_id=recipient["id"],
        effective_on=world.day(org, 3),
        update={"locations": [{"country": "DE", "mechanism": "none"}]},
    )
    assert "update" in assert_problem(response, 422)["errors"]
    # A real change shows only what changed.
    change = announce(
        client,
        org,
        legal,
        kind="update",
        recipient_id=recipient["id"],
        effective_on=world.day(org, 3),
        update={"locations": [{"country": "DE", "mechanism": "none"}, US_SCC]},
    )
    assert change["update"]["before"]["locations"] == [
        {**change["update"]["after"]["locations"][0]}
    ]
    defaulted = change["update"]["after"]["locations"][0]
    assert (defaulted["activity_pl"], defaulted["activity_en"]) == ("", "")


def test_invalid_update_bodies_are_named_under_update(client, world, org, legal):
    recipient = listed(client, world, org, legal)
    proposed = register(client, org, legal, name="Proposed")
    before = written(client, org, legal)
    day = world.day(org, 3)
    cases = [
        ({"services": ["spa"]}, 422, ["update", "services"]),
        ({"locations": [{"country": "US"}]}, 422, ["update", "locations", "0", "mechanism"]),
        ({"locations": [{"country": "US", "mechanism": "scc"}]}, 422,
         ["update", "locations", "0", "scc_module"]),
        ({"locations": []}, 422, ["update", "locations"]),
        ({"role": "processor"}, 422, ["update", "role"]),
        ({"country": "XX"}, 422, ["update", "country"]),
        ({"name": "Renamed"}, 422, ["update", "name"]),
        ({"parent_id": proposed["id"]}, 422, ["update", "parent_id"]),
        ({}, 422, ["update"]),
    ]  # fmt: skip
    for update, status, path in cases:
        response = post_change(
            client,
            org,
            legal,
            kind="update",
            recipient_id=recipient["id"],
            effective_on=day,
            update=update,
        )
        node = assert_problem(response, status)["errors"]
        for key in path:
            assert key in node, (update, node)
            node = node[key]
    # An update needs a listed vendor.
    response = post_change(
        client,
        org,
        legal,
        kind="update",
        recipient_id=proposed["id"],
        effective_on=day,
        update={"role": "joint_controller"},
    )
    assert "recipient_id" in assert_problem(response, 409)["errors"]
    assert written(client, org, legal) == before


def test_an_update_before_an_announced_later_one_conflicts(client, world, org, legal):
    recipient = listed(client, world, org, legal)
    announce(
        client,
        org,
        legal,
        kind="update",
        recipient_id=recipient["id"],
        effective_on=world.day(org, 5),
        update={"role": "joint_controller"},
    )
    before = written(client, org, legal)
    for offset in (3, 5):
        response = post_change(
            client,
            org,
            legal,
            kind="update",
            recipient_id=recipient["id"],
            effective_on=world.day(org, offset),
            update={"purpose_en": "Backups"},
        )
        assert "effective_on" in assert_problem(response, 409)["errors"]
    assert written(client, org, legal) == before
    # A later one builds on the announced one.
    later = announce(
        client,
        org,
        legal,
        kind="update",
        recipient_id=recipient["id"],
        effective_on=world.day(org, 8),
        update={"purpose_en": "Backups"},
    )
    assert later["update"]["before"] == {"purpose_en": "Hosting of application servers"}
    on = {d: shown(client, org, recipient["id"], world.day(org, d)) for d in (4, 5, 8)}
    assert (on[4]["role"], on[4]["purpose_en"]) == (
        "subprocessor",
        "Hosting of application servers",
    )
    assert (on[5]["role"], on[5]["purpose_en"]) == (
        "joint_controller",
        "Hosting of application servers",
    )
    assert (on[8]["role"], on[8]["purpose_en"]) == ("joint_controller", "Backups")


# --- kinds, urgency -------------------------------------------------------------------------


def test_kind_specific_fields(client, world, org, legal):
    recipient = listed(client, world, org, legal)
    other = listed(client, world, org, legal, name="Other")
    before = written(client, org, legal)
    day = world.day(org, 3)
    cases = [
        ({"kind": "add", "replaces_id": other["id"]}, "replaces_id"),
        ({"kind": "remove", "replaces_id": other["id"]}, "replaces_id"),
        ({"kind": "remove", "update": {"role": "joint_controller"}}, "update"),
        ({"kind": "add", "update": {"role": "joint_controller"}}, "update"),
        ({"kind": "update"}, "update"),
        ({"kind": "rename"}, "kind"),
        ({"kind": "remove", "effective_on": "soon"}, "effective_on"),
        ({"kind": "remove", "effective_on": None}, "effective_on"),
        ({"kind": "remove", "recipient_id": None}, "recipient_id"),
        ({"kind": "remove", "recipient_id": "Hetzner"}, "recipient_id"),
        ({"kind": "remove", "notify": True}, "notify"),
        ({"kind": "remove", "reason": "Cost\x00"}, "reason"),
    ]
    for overrides, field in cases:
        body = {"recipient_id": recipient["id"], "effective_on": day, **overrides}
        response = post_change(client, org, legal, **body)
        assert field in assert_problem(response, 422)["errors"], overrides
    response = client.post(changes_url(org), json={}, headers=legal)
    errors = assert_problem(response, 422)["errors"]
    assert {"kind", "recipient_id", "effective_on"} <= set(errors)
    assert_problem(client.post(changes_url(org), data="{", content_type="application/json",
                               headers=legal), 400)  # fmt: skip
    assert_problem(client.post(changes_url(org), data="kind=add", content_type="text/plain",
                               headers=legal), 415)  # fmt: skip
    assert written(client, org, legal) == before


def test_an_urgent_change_must_say_why(client, world, org, legal):
    recipient = register(client, org, legal)
    before = written(client, org, legal)
    for justification in (None, "", "   "):
        body = {"urgent": True}
        if justification is not None:
            body["urgent_justification"] = justification
        response = post_change(
            client,
            org,
            legal,
            kind="add",
            recipient_id=recipient["id"],
            effective_on=world.day(org, 1),
            **body,
        )
        assert "urgent_justification" in assert_problem(response, 422)["errors"]
    assert written(client, org, legal) == before
    change = announce(
        client,
        org,
        legal,
        kind="add",
        recipient_id=recipient["id"],
        effective_on=world.day(org, 1),
        urgent=True,
        urgent_justification="The old host failed",
    )
    assert change["urgent"] is True
    assert change["urgent_justification"] == "The old host failed"


def test_a_justification_without_urgency_is_not_kept(client, world, org, legal):
    recipient = register(client, org, legal)
    change = announce(
        client,
        org,
        legal,
        kind="add",
        recipient_id=recipient["id"],
        effective_on=world.day(org, 30),
        urgent_justification="Not urgent after all",
    )
    assert change["urgent"] is False
    assert change["urgent_justification"] is None


# --- withdrawal -----------------------------------------------------------------------------


def test_withdrawing_an_add_takes_the_vendor_back_to_proposed(client, world, org, legal):
    recipient = listed(client, world, org, legal, offset=5)
    change_id = client.get(changes_url(org)).json["items"][0]["id"]
    before = len(audit_events(client, org, legal))

    response = withdraw(client, org, legal, change_id, reason="Vendor failed due diligence")

    assert response.status_code == 200
    assert response.json["status"] == "withdrawn"
    assert response.json["withdrawal_reason"] == "Vendor failed due diligence"
    assert response.json["withdrawn_at"]
    assert response.json["in_effect"] is False
    assert names(client, org, world.day(org, 5)) == []
    assert_problem(client.get(vendors_url(org, f"/{recipient['id']}")), 404)
    assert shown(client, org, recipient["id"], world.day(org, 5), legal)["status"] == "proposed"
    # The withdrawn change stays on record.
    assert client.get(changes_url(org, f"/{change_id}")).json["status"] == "withdrawn"
    events = audit_events(client, org, legal)
    assert len(events) == before + 1
    assert events[0]["action"] == "change.withdrawn"
    assert events[0]["entity_id"] == str(change_id)
    assert events[0]["after"]["reason"] == "Vendor failed due diligence"
    # Withdrawing again conflicts, and writes nothing.
    assert_problem(withdraw(client, org, legal, change_id), 409)
    assert len(audit_events(client, org, legal)) == before + 1
    # The vendor may be announced again.
    announce(
        client, org, legal, kind="add", recipient_id=recipient["id"], effective_on=world.day(org, 9)
    )
    assert names(client, org, world.day(org, 9)) == ["Hetzner"]
    assert chain_ok(client, org, legal)


def test_withdrawing_a_remove_keeps_the_vendor(client, world, org, legal):
    recipient = listed(client, world, org, legal)
    change = announce(
        client,
        org,
        legal,
        kind="remove",
        recipient_id=recipient["id"],
        effective_on=world.day(org, 4),
    )
    assert withdraw(client, org, legal, change["id"]).status_code == 200
    assert names(client, org, world.day(org, 4)) == ["Hetzner"]
    assert shown(client, org, recipient["id"], world.day(org, 4))["listed_until"] is None
    # And it can be removed again later.
    announce(
        client,
        org,
        legal,
        kind="remove",
        recipient_id=recipient["id"],
        effective_on=world.day(org, 8),
    )
    assert names(client, org, world.day(org, 8)) == []


def test_withdrawing_a_replace_restores_both(client, world, org, legal):
    old = listed(client, world, org, legal)
    new = register(client, org, legal, name="OVH")
    change = announce(
        client,
        org,
        legal,
        kind="replace",
        recipient_id=new["id"],
        replaces_id=old["id"],
        effective_on=world.day(org, 6),
    )
    assert withdraw(client, org, legal, change["id"]).status_code == 200
    assert names(client, org, world.day(org, 6)) == ["Hetzner"]
    assert shown(client, org, new["id"], world.day(org, 6), legal)["status"] == "proposed"
    assert shown(client, org, old["id"], world.day(org, 6))["status"] == "active"


def test_withdrawing_an_update_restores_the_old_data(client, world, org, legal):
    recipient = listed(client, world, org, legal)
    change = announce(
        client,
        org,
        legal,
        kind="update",
        recipient_id=recipient["id"],
        effective_on=world.day(org, 5),
        update={"role": "joint_controller", "locations": [US_SCC]},
    )
    assert withdraw(client, org, legal, change["id"]).status_code == 200
    after = shown(client, org, recipient["id"], world.day(org, 5))
    assert after["role"] == "subprocessor"
    assert [loc["country"] for loc in after["locations"]] == ["DE"]
    assert names(client, org, world.day(org, 5), role="joint_controller") == []
    assert names(client, org, world.day(org, 5), country="US") == []
    assert names(client, org, world.day(org, 5)) == ["Hetzner"]
    # The withdrawn update keeps its diff for the record.
    assert client.get(changes_url(org, f"/{change['id']}")).json["update"] == change["update"]
    # Its date is free again, and a new update compares with the restored data.
    again = announce(
        client,
        org,
        legal,
        kind="update",
        recipient_id=recipient["id"],
        effective_on=world.day(org, 5),
        update={"role": "independent_controller"},
    )
    assert again["update"]["before"] == {"role": "subprocessor"}
    assert (
        shown(client, org, recipient["id"], world.day(org, 5))["role"] == "independent_controller"
    )
    assert shown(client, org, recipient["id"], world.day(org, 4))["role"] == "subprocessor"


def test_withdraw_updates_latest_first(client, world, org, legal):
    recipient = listed(client, world, org, legal)
    first = announce(
        client,
        org,
        legal,
        kind="update",
        recipient_id=recipient["id"],
        effective_on=world.day(org, 3),
        update={"role": "joint_controller"},
    )
    second = announce(
        client,
        org,
        legal,
        kind="update",
        recipient_id=recipient["id"],
        effective_on=world.day(org, 6),
        update={"purpose_en": "Backups"},
    )
    assert_problem(withdraw(client, org, legal, first["id"]), 409)
    assert withdraw(client, org, legal, second["id"]).status_code == 200
    assert withdraw(client, org, legal, first["id"]).status_code == 200
    on = shown(client, org, recipient["id"], world.day(org, 6))
    assert (on["role"], on["purpose_en"]) == ("subprocessor", "Hosting of application servers")


def test_an_add_under_an_announced_update_or_removal_is_withdrawn_last(client, world, org, legal):
    recipient = listed(client, world, org, legal, offset=3)
    add_id = client.get(changes_url(org)).json["items"][0]["id"]
    update = announce(
        client,
        org,
        legal,
        kind="update",
        recipient_id=recipient["id"],
        effective_on=world.day(org, 6),
        update={"role": "joint_controller"},
    )
    removal = announce(
        client,
        org,
        legal,
        kind="remove",
        recipient_id=recipient["id"],
        effective_on=world.day(org, 9),
    )
    before = written(client, org, legal)
    assert_problem(withdraw(client, org, legal, add_id), 409)
    assert withdraw(client, org, legal, removal["id"]).status_code == 200
    assert_problem(withdraw(client, org, legal, add_id), 409)
    assert written(client, org, legal)[0] == before[0] + 1
    assert shown(client, org, recipient["id"], world.day(org, 6))["role"] == "joint_controller"
    assert withdraw(client, org, legal, update["id"]).status_code == 200
    assert withdraw(client, org, legal, add_id).status_code == 200
    assert names(client, org, world.day(org, 6)) == []


def test_a_vendor_back_to_proposed_is_edited_where_it_shows(client, world, org, legal):
    recipient = listed(client, world, org, legal, offset=3)
    add_id = client.get(changes_url(org)).json["items"][0]["id"]
    update = announce(
        client,
        org,
        legal,
        kind="update",
        recipient_id=recipient["id"],
        effective_on=world.day(org, 6),
        update={"role": "joint_controller"},
    )
    assert withdraw(client, org, legal, update["id"]).status_code == 200
    assert withdraw(client, org, legal, add_id).status_code == 200

    response = client.patch(
        vendors_url(org, f"/{recipient['id']}"),
        json={"role": "independent_controller", "purpose_en": "Mail"},
        headers=legal,
    )

    assert response.status_code == 200
    assert response.json["role"] == "independent_controller"
    again = shown(client, org, recipient["id"], world.day(org, 6), legal)
    assert (again["role"], again["purpose_en"]) == ("independent_controller", "Mail")


def test_a_change_in_effect_cannot_be_withdrawn(client, world, org, legal):
    recipient = register(client, org, legal)
    change = announce(
        client, org, legal, kind="add", recipient_id=recipient["id"], effective_on=world.day(org, 0)
    )
    before = written(client, org, legal)
    assert_problem(withdraw(client, org, legal, change["id"]), 409)
    assert written(client, org, legal) == before
    assert client.get(changes_url(org, f"/{change['id']}")).json["status"] == "announced"
    assert names(client, org, world.day(org, 0)) == ["Hetzner"]


def test_withdrawal_needs_a_reason(client, world, org, legal):
    recipient = register(client, org, legal)
    change = announce(
        client, org, legal, kind="add", recipient_id=recipient["id"], effective_on=world.day(org, 3)
    )
    before = written(client, org, legal)
    target = changes_url(org, f"/{change['id']}/withdraw")
    for body in (
        {},
        {"reason": ""},
        {"reason": None},
        {"reason": "x\x00"},
        {"reason": "x", "by": "me"},
    ):
        response = client.post(target, json=body, headers=legal)
        errors = assert_problem(response, 422)["errors"]
        assert set(errors) & {"reason", "by"}, body
    assert_problem(
        client.post(target, data="reason", content_type="text/plain", headers=legal), 415
    )
    assert_problem(withdraw(client, org, legal, 424242), 404)
    assert_problem(withdraw(client, org, legal, 2**40), 404)
    assert written(client, org, legal) == before
    assert names(client, org, world.day(org, 3)) == ["Hetzner"]


# --- tenancy and roles ----------------------------------------------------------------------


def test_another_tenants_key_finds_no_change(client, world, org, legal):
    recipient = listed(client, world, org, legal, offset=5)
    proposed = register(client, org, legal, name="Proposed")
    change = client.get(changes_url(org)).json["items"][0]
    other = world.org("bezkalkulatora")
    intruder = bearer(world.key("legal", other))
    before = written(client, org, legal)

    assert_problem(client.get(changes_url(org), headers=intruder), 404)
    assert_problem(client.get(changes_url(org, f"/{change['id']}"), headers=intruder), 404)
    for body in (
        {"kind": "add", "recipient_id": proposed["id"]},
        {"kind": "remove", "recipient_id": recipient["id"]},
    ):
        response = post_change(client, org, intruder, effective_on=world.day(org, 9), **body)
        assert_problem(response, 404)
    assert_problem(withdraw(client, org, intruder, change["id"]), 404)
    # Naming the other tenant's vendor in one's own organization finds nothing either.
    response = post_change(
        client,
        other,
        intruder,
        kind="remove",
        recipient_id=recipient["id"],
        effective_on=world.day(other, 9),
    )
    assert "recipient_id" in assert_problem(response, 422)["errors"]
    assert_problem(client.get(changes_url(other, f"/{change['id']}"), headers=intruder), 404)
    assert_problem(withdraw(client, other, intruder, change["id"]), 404)

    assert written(client, org, legal) == before
    assert client.get(changes_url(org, f"/{change['id']}")).json["status"] == "announced"
    assert names(client, org, world.day(org, 5)) == ["Hetzner"]
    assert chain_ok(client, org, legal)


def test_customers_and_anonymous_callers_read_but_do_not_announce(client, world, org, legal):
    recipient = listed(client, world, org, legal, offset=5)
    proposed = register(client, org, legal, name="Proposed")
    change = client.get(changes_url(org)).json["items"][0]
    customer = customer_key(client, world, org, legal)
    before = written(client, org, legal)
    body = {"kind": "add", "recipient_id": proposed["id"], "effective_on": world.day(org, 9)}

    assert_problem(client.post(changes_url(org), json=body, headers=customer), 403)
    assert_problem(withdraw(client, org, customer, change["id"]), 403)
    response = client.post(changes_url(org), json=body)
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert_problem(withdraw(client, org, {}, change["id"]), 401)
    bad = {"Authorization": "Bearer dpa_000000000000_nope"}
    assert_problem(client.post(changes_url(org), json=body, headers=bad), 401)
    assert_problem(client.get(changes_url(org), headers=bad), 401)

    assert client.get(changes_url(org), headers=customer).json["total"] == 1
    assert client.get(changes_url(org, f"/{change['id']}"), headers=customer).status_code == 200
    assert (
        client.get(changes_url(org, f"/{change['id']}")).json["recipient"]["id"] == recipient["id"]
    )
    assert_problem(client.get(changes_url(org, "/424242")), 404)
    assert_problem(client.get("/api/v1/orgs/nope/changes"), 404)
    assert written(client, org, legal) == before


def test_every_change_write_is_audited_and_the_chain_holds(client, world, org, legal):
    a = register(client, org, legal, name="A")
    b = register(client, org, legal, name="B")
    add_a = announce(
        client, org, legal, kind="add", recipient_id=a["id"], effective_on=world.day(org, 0)
    )
    replace = announce(
        client,
        org,
        legal,
        kind="replace",
        recipient_id=b["id"],
        replaces_id=a["id"],
        effective_on=world.day(org, 4),
    )
    update = announce(
        client,
        org,
        legal,
        kind="update",
        recipient_id=b["id"],
        effective_on=world.day(org, 6),
        update={"data_subject_categories": ["staff"]},
    )
    withdraw(client, org, legal, update["id"])
    remove = announce(
        client, org, legal, kind="remove", recipient_id=b["id"], effective_on=world.day(org, 8)
    )

    events = audit_events(client, org, legal, entity_type="change")
    # The worker records each announcement's audience once it has written the notices.
    assert [(e["action"], e["entity_id"]) for e in events] == [
        ("change.notices_written", str(remove["id"])),
        ("change.announced", str(remove["id"])),
        ("change.withdrawn", str(update["id"])),
        ("change.notices_written", str(update["id"])),
        ("change.announced", str(update["id"])),
        ("change.notices_written", str(replace["id"])),
        ("change.announced", str(replace["id"])),
        ("change.notices_written", str(add_a["id"])),
        ("change.announced", str(add_a["id"])),
    ]
    assert all(
        e["actor"] == "system:worker"
        if e["action"] == "change.notices_written"
        else e["actor"].startswith("legal:")
        for e in events
    )
    assert chain_ok(client, org, legal)
    assert names(client, org, world.day(org, 3)) == ["A"]
    assert names(client, org, world.day(org, 4)) == ["B"]
    assert names(client, org, world.day(org, 8)) == []


def test_a_vendor_cannot_leave_on_the_day_it_joins(client, world, org, legal):
    # Leaving on the joining day would mean it was never listed: withdraw the add instead.
    joining = listed(client, world, org, legal, offset=10)
    same_day = post_change(
        client,
        org,
        legal,
        kind="remove",
        recipient_id=joining["id"],
        effective_on=world.day(org, 10),
    )
    assert same_day.status_code == 409
    assert "effective_on" in same_day.json["errors"]
    newcomer = register(client, org, legal, name="Newcomer")
    replace = post_change(
        client,
        org,
        legal,
        kind="replace",
        recipient_id=newcomer["id"],
        replaces_id=joining["id"],
        effective_on=world.day(org, 10),
    )
    assert replace.status_code == 409
    later = post_change(
        client,
        org,
        legal,
        kind="remove",
        recipient_id=joining["id"],
        effective_on=world.day(org, 11),
    )
    assert later.status_code == 201


def test_a_child_outside_its_parents_scope_serves_no_service(client, world, org, legal):
    parent = listed(client, world, org, legal, name="Parent", services=["payments"])
    child = listed(
        client, world, org, legal, name="Child", services=["bookings"], parent_id=parent["id"]
    )
    shown = client.get(vendors_url(org, f"/{child['id']}")).json
    assert shown["services"] == ["bookings"]
    assert shown["effective_services"] == []
