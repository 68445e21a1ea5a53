"""The organization as controller over the API: its processing activities, the recipients of
its own data, their import, and the vendor serving both contexts (which notifies customers
only for their data)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service import apidoc
from service.changes.models import Change, Notice
from service.controller.models import ControllerRecipient, ProcessingActivity
from service.extensions import db
from service.outbox.models import OutboxItem
from tests.conftest import audit_events, bearer
from tests.notice_kit import Desk, assert_problem

HOTJAR = {
    "name": "Hotjar",
    "legal_entity": "Hotjar Ltd",
    "address": "Dragonara Business Centre, St Julian's",
    "country": "MT",
    "website": "https://www.hotjar.com",
    "role": "processor",
    "purpose_pl": "Mapy cieplne strony",
    "purpose_en": "Website heatmaps",
    "data_categories_en": ["online identifiers"],
    "locations": [{"country": "IE", "mechanism": "none", "activity_en": "hosting"}],
    "in_product": True,
}
GOOGLE = {
    "name": "Google Analytics",
    "legal_entity": "Google Ireland Limited",
    "country": "IE",
    "role": "joint_controller",
    "locations": [
        {"country": "IE", "mechanism": "none"},
        {"country": "US", "mechanism": "dpf"},
    ],
    "joint_arrangement_reference": "Google Measurement Controller-Controller Terms",
}
NEWSLETTER = {
    "key": "newsletter",
    "name_pl": "Newsletter",
    "name_en": "Newsletter",
    "purposes_en": ["Sending the newsletter"],
    "legal_bases": ["6(1)(a)"],
    "retention_note_en": "Until consent is withdrawn.",
}


@pytest.fixture
def desk(client, world) -> Desk:
    return Desk(client, world, "bookero")


def post(desk: Desk, path: str, body: object, status: int = 201, **query: object):
    response = desk.client.post(desk.url(path), json=body, headers=desk.legal, query_string=query)
    assert response.status_code == status, response.json
    return response.json


def patch(desk: Desk, path: str, body: dict, status: int = 200) -> dict:
    response = desk.client.patch(desk.url(path), json=body, headers=desk.legal)
    assert response.status_code == status, response.json
    return response.json


def get(desk: Desk, path: str, status: int = 200) -> dict:
    response = desk.client.get(desk.url(path), headers=desk.legal)
    assert response.status_code == status, response.json
    return response.json


def counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Change, Notice, OutboxItem, ControllerRecipient, ProcessingActivity)
        }


# --- recipients -----------------------------------------------------------------------------


def test_a_recipient_is_registered_shown_edited_and_deleted(desk):
    created = post(desk, "/controller-recipients", HOTJAR)
    assert (created["name"], created["role"], created["country"]) == ("Hotjar", "processor", "MT")
    [place] = created["locations"]
    assert (place["country"], place["mechanism"], place["activity_en"]) == ("IE", "none", "hosting")
    assert created["subprocessor"] is None
    assert created["in_product"] is True
    path = f"/controller-recipients/{created['id']}"
    assert get(desk, path) == created
    assert [r["name"] for r in get(desk, "/controller-recipients")["items"]] == ["Hotjar"]

    edited = patch(desk, path, {"dpa_signed_on": desk.day(-10), "notes": "DPA in the admin panel"})
    assert edited["dpa_signed_on"] == desk.day(-10)
    assert edited["locations"] == created["locations"]  # omitted: kept

    assert desk.client.delete(desk.url(path), headers=desk.legal).status_code == 204
    assert_problem(desk.client.get(desk.url(path), headers=desk.legal), 404)


def test_an_scc_location_keeps_its_signing_date(desk):
    place = {"country": "US", "mechanism": "scc", "scc_module": 2, "scc_signed_on": desk.day(-30)}
    created = post(desk, "/controller-recipients", {**HOTJAR, "locations": [place]})
    assert created["locations"][0]["scc_signed_on"] == desk.day(-30)
    assert created["locations"][0]["scc_set"] == "2021/914"


@pytest.mark.parametrize(
    ("location", "words"),
    [
        ({"country": "US", "mechanism": "scc", "scc_module": 4}, "Module 2"),
        ({"country": "DE", "mechanism": "dpf"}, "Data Privacy Framework"),
        ({"country": "IN", "mechanism": "adequacy"}, "No adequacy decision"),
    ],
)
def test_locations_are_refused_as_for_a_subprocessor(desk, location, words):
    body = {**HOTJAR, "country": "DE", "locations": [location]}
    problem = assert_problem(
        desk.client.post(desk.url("/controller-recipients"), json=body, headers=desk.legal), 422
    )
    message = str(problem["errors"]["locations"])
    assert "mechanism" in message
    if words:
        assert words in message
    assert counts(desk.client.application)["ControllerRecipient"] == 0


def test_a_location_is_validated_by_the_subprocessors_schema(desk):
    body = {**HOTJAR, "locations": [{"country": "US", "mechanism": "scc"}]}
    problem = assert_problem(
        desk.client.post(desk.url("/controller-recipients"), json=body, headers=desk.legal), 422
    )
    assert "scc_module" in str(problem["errors"])


@pytest.mark.parametrize(
    "twin", ["HOTJAR", "\uff28\uff4f\uff54\uff4a\uff41\uff52", "H\u043etjar", "Hotjar "]
)
def test_a_name_that_reads_the_same_is_a_conflict(desk, twin):
    first = post(desk, "/controller-recipients", HOTJAR)
    problem = assert_problem(
        desk.client.post(
            desk.url("/controller-recipients"), json={**HOTJAR, "name": twin}, headers=desk.legal
        ),
        409,
    )
    assert f"Controller recipient {first['id']} is named 'Hotjar'" in problem["detail"]


def test_a_name_with_a_bidi_override_is_refused(desk):
    body = {**HOTJAR, "name": "Hot\u202ejar"}
    problem = assert_problem(
        desk.client.post(desk.url("/controller-recipients"), json=body, headers=desk.legal), 422
    )
    assert "U+202E" in str(problem["errors"]["name"])


def test_the_controller_context_has_its_own_names(desk):
    # A subprocessor named Hotjar does not take the name on the controller side: the same
    # vendor is registered in both contexts.
    desk.vendor(name="Hotjar", legal_entity="Hotjar Ltd")
    post(desk, "/controller-recipients", HOTJAR)


def test_the_linked_subprocessor_must_be_of_the_same_organization(desk, client, world):
    other = Desk(client, world, "other")
    theirs = other.vendor(name="Hotjar", legal_entity="Hotjar Ltd")
    problem = assert_problem(
        client.post(
            desk.url("/controller-recipients"),
            json={**HOTJAR, "subprocessor_id": theirs["id"]},
            headers=desk.legal,
        ),
        422,
    )
    assert "subprocessor_id" in problem["errors"]


def test_used_until_comes_after_used_from(desk):
    body = {**HOTJAR, "used_from": desk.day(0), "used_until": desk.day(-1)}
    problem = assert_problem(
        desk.client.post(desk.url("/controller-recipients"), json=body, headers=desk.legal), 422
    )
    assert problem["errors"] == {"used_until": ["Must be after used_from."]}


# --- activities -----------------------------------------------------------------------------


def test_an_activity_shows_its_recipients_and_they_show_it(desk):
    hotjar = post(desk, "/controller-recipients", HOTJAR)
    google = post(desk, "/controller-recipients", GOOGLE)
    body = {
        **NEWSLETTER,
        "key": "website-analytics",
        "legal_bases": ["6(1)(f)"],
        "legitimate_interests_en": "Knowing how the site is used",
        "recipient_ids": [hotjar["id"], google["id"]],
    }
    activity = post(desk, "/activities", body)
    assert activity["recipients"] == [
        {"id": google["id"], "name": "Google Analytics", "role": "joint_controller"},
        {"id": hotjar["id"], "name": "Hotjar", "role": "processor"},
    ]
    assert sorted(activity["recipient_ids"]) == sorted([hotjar["id"], google["id"]])
    shown = get(desk, f"/controller-recipients/{hotjar['id']}")
    assert [a["key"] for a in shown["activities"]] == ["website-analytics"]

    fewer = patch(desk, f"/activities/{activity['id']}", {"recipient_ids": [google["id"]]})
    assert [r["name"] for r in fewer["recipients"]] == ["Google Analytics"]
    # Deleting a recipient unlinks it from its activities.
    desk.client.delete(desk.url(f"/controller-recipients/{google['id']}"), headers=desk.legal)
    assert get(desk, f"/activities/{activity['id']}")["recipients"] == []


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"special_categories": ["health"]}, "legal_bases", "Art. 9(2)"),
        ({"legal_bases": ["9(2)(a)"]}, "legal_bases", "Art. 6(1)"),
        ({"legal_bases": ["6(1)(f)"]}, "legitimate_interests_pl", "Art. 13(1)(d)"),
        ({"retention_years": 5}, "retention_from", "Required when retention_years"),
        ({"retention_extra_years": 1}, "retention_extra_years", "Only with retention_years"),
        ({"purposes_en": []}, "purposes_pl", "Art. 30(1)(b)"),
        ({"legal_bases": ["6(1)(z)"]}, "legal_bases", "Must be one of"),
    ],
)
def test_an_activity_must_say_what_the_gdpr_asks(desk, change, field, words):
    problem = assert_problem(
        desk.client.post(
            desk.url("/activities"), json={**NEWSLETTER, **change}, headers=desk.legal
        ),
        422,
    )
    assert words in str(problem["errors"][field])
    assert counts(desk.client.application)["ProcessingActivity"] == 0


def test_special_categories_pass_with_a_9_2_condition(desk):
    body = {**NEWSLETTER, "special_categories": ["health"], "legal_bases": ["6(1)(a)", "9(2)(a)"]}
    assert post(desk, "/activities", body)["special_categories"] == ["health"]


def test_a_patch_is_checked_on_the_activity_as_it_would_be(desk):
    body = {**NEWSLETTER, "legal_bases": ["6(1)(f)"], "legitimate_interests_en": "Marketing"}
    activity = post(desk, "/activities", body)
    path = f"/activities/{activity['id']}"
    problem = assert_problem(
        desk.client.patch(desk.url(path), json={"legitimate_interests_en": ""}, headers=desk.legal),
        422,
    )
    assert "legitimate_interests_pl" in problem["errors"]
    assert get(desk, path)["legitimate_interests_en"] == "Marketing"  # nothing written
    assert patch(desk, path, {"legitimate_interests_pl": "Marketing"})["legitimate_interests_pl"]


def test_keys_are_unique_and_one_activity_covers_the_customer_records(desk):
    records = {
        **NEWSLETTER,
        "key": "customer-records",
        "retention_years": 6,
        "retention_extra_years": 1,
        "retention_from": "end_of_year",
        "covers_customer_records": True,
    }
    first = post(desk, "/activities", records)
    assert (first["retention_years"], first["retention_extra_years"]) == (6, 1)
    again = {**records, "key": "contracts"}
    problem = assert_problem(
        desk.client.post(desk.url("/activities"), json=again, headers=desk.legal), 409
    )
    assert "'customer-records' already covers the customer records" in problem["detail"]
    other = post(desk, "/activities", NEWSLETTER)
    assert_problem(
        desk.client.patch(
            desk.url(f"/activities/{other['id']}"),
            json={"covers_customer_records": True},
            headers=desk.legal,
        ),
        409,
    )
    problem = assert_problem(
        desk.client.post(desk.url("/activities"), json=NEWSLETTER, headers=desk.legal), 409
    )
    assert "key" in problem["errors"]
    assert patch(desk, f"/activities/{first['id']}", {"covers_customer_records": True})


def test_unknown_recipient_ids_are_refused(desk):
    problem = assert_problem(
        desk.client.post(
            desk.url("/activities"),
            json={**NEWSLETTER, "recipient_ids": [99999]},
            headers=desk.legal,
        ),
        422,
    )
    assert problem["errors"] == {"recipient_ids": ["No controller recipient 99999."]}


def test_the_documented_examples_are_accepted(desk):
    recipient = post(desk, "/controller-recipients", apidoc.CONTROLLER_RECIPIENT_EXAMPLE)
    post(desk, "/activities", {**apidoc.ACTIVITY_EXAMPLE, "recipient_ids": [recipient["id"]]})
    other = Desk(desk.client, desk.world, "other")
    imported = post(other, "/controller/import", apidoc.CONTROLLER_IMPORT_EXAMPLE, 200)
    assert [a["action"] for a in imported["activities"]] == ["created"]


# --- audit and isolation --------------------------------------------------------------------


def test_every_write_is_audited_with_before_and_after(desk):
    recipient = post(desk, "/controller-recipients", HOTJAR)
    activity = post(desk, "/activities", {**NEWSLETTER, "recipient_ids": [recipient["id"]]})
    patch(desk, f"/controller-recipients/{recipient['id']}", {"notes": "checked"})
    patch(desk, f"/controller-recipients/{recipient['id']}", {"notes": "checked"})  # no change
    patch(desk, f"/activities/{activity['id']}", {"name_en": "Newsletter (monthly)"})
    desk.client.delete(desk.url(f"/activities/{activity['id']}"), headers=desk.legal)
    desk.client.delete(desk.url(f"/controller-recipients/{recipient['id']}"), headers=desk.legal)

    events = [
        e
        for e in reversed(audit_events(desk.client, desk.org, desk.legal))
        if e["action"].split(".")[0] in ("processing_activity", "controller_recipient")
    ]
    assert [e["action"] for e in events] == [
        "controller_recipient.created",
        "processing_activity.created",
        "controller_recipient.updated",
        "processing_activity.updated",
        "processing_activity.deleted",
        "controller_recipient.deleted",
    ]
    created, _, updated, renamed, deleted, gone = events
    assert created["after"]["name"] == "Hotjar"
    assert created["after"]["locations"][0]["country"] == "IE"
    assert updated["before"] == {"notes": ""}
    assert updated["after"] == {"notes": "checked"}
    assert renamed["before"] == {"name_en": "Newsletter"}
    assert deleted["before"]["recipient_ids"] == [recipient["id"]]
    assert gone["before"]["name"] == "Hotjar"
    assert gone["before"]["activities"] == []
    assert all(e["actor"].startswith("legal:") for e in events), {e["actor"] for e in events}


def test_a_refused_write_leaves_no_row_and_no_event(desk):
    before = len(audit_events(desk.client, desk.org, desk.legal))
    bad = {**HOTJAR, "locations": [{"country": "US", "mechanism": "scc", "scc_module": 4}]}
    desk.client.post(desk.url("/controller-recipients"), json=bad, headers=desk.legal)
    assert len(audit_events(desk.client, desk.org, desk.legal)) == before
    assert counts(desk.client.application)["ControllerRecipient"] == 0


def test_another_organization_meets_404_and_customers_403(desk, client, world):
    recipient = post(desk, "/controller-recipients", HOTJAR)
    activity = post(desk, "/activities", NEWSLETTER)
    stranger = bearer(world.key("legal", world.org("stranger")))
    customer = desk.customer("C1")["key"]
    for path in (f"/controller-recipients/{recipient['id']}", f"/activities/{activity['id']}"):
        for method in ("GET", "PATCH", "DELETE"):
            body = {"notes": "x"} if method == "PATCH" else None
            response = client.open(desk.url(path), method=method, json=body, headers=stranger)
            assert response.status_code == 404, (method, path)
            assert "Hotjar" not in response.get_data(as_text=True)
            assert (
                client.open(desk.url(path), method=method, json=body, headers=customer).status_code
                == 403
            )
    # Their own organization's paths do not reach these rows either.
    theirs = f"/api/v1/orgs/stranger/controller-recipients/{recipient['id']}"
    assert_problem(client.get(theirs, headers=stranger), 404)
    assert get(desk, f"/controller-recipients/{recipient['id']}")["name"] == "Hotjar"


# --- import ---------------------------------------------------------------------------------


def import_body() -> dict:
    return {
        "recipients": [
            {**HOTJAR, "subprocessor": None, "external_id": "V-1"},
            {**GOOGLE, "subprocessor": "Google Cloud"},
        ],
        "activities": [
            {**NEWSLETTER, "recipients": ["Hotjar"]},
            {
                **NEWSLETTER,
                "key": "website",
                "legal_bases": ["6(1)(f)"],
                "legitimate_interests_en": "Statistics",
                "recipients": ["google analytics", "Hotjar"],
            },
        ],
    }


def test_an_import_writes_recipients_then_activities_and_links_the_vendor(desk):
    cloud = desk.vendor(name="Google Cloud", legal_entity="Google Cloud EMEA Limited")
    result = post(desk, "/controller/import", import_body(), 200)
    assert result["dry_run"] is False
    assert [(r["name"], r["action"]) for r in result["recipients"]] == [
        ("Hotjar", "created"),
        ("Google Analytics", "created"),
    ]
    recipients = {r["name"]: r for r in get(desk, "/controller-recipients")["items"]}
    assert recipients["Google Analytics"]["subprocessor"] == {
        "id": cloud["id"],
        "name": "Google Cloud",
    }
    website = next(a for a in get(desk, "/activities")["items"] if a["key"] == "website")
    assert {r["name"] for r in website["recipients"]} == {"Google Analytics", "Hotjar"}
    actions = [e["action"] for e in audit_events(desk.client, desk.org, desk.legal)]
    assert actions.count("controller_recipient.created") == 2
    assert actions.count("processing_activity.created") == 2
    assert "import.completed" in actions


def test_a_dry_run_writes_nothing_and_shows_what_it_would_create(desk):
    desk.vendor(name="Google Cloud", legal_entity="Google Cloud EMEA Limited")
    before = counts(desk.client.application)
    events = len(audit_events(desk.client, desk.org, desk.legal))
    result = post(desk, "/controller/import", import_body(), 200, dry_run="true")
    assert result["dry_run"] is True
    assert [(a["name"], a["action"], a["id"]) for a in result["activities"]] == [
        ("newsletter", "created", None),
        ("website", "created", None),
    ]
    assert counts(desk.client.application) == before
    assert len(audit_events(desk.client, desk.org, desk.legal)) == events


def test_an_import_reports_every_error_of_every_row_and_writes_nothing(desk):
    body = import_body()  # Google Cloud is no vendor of this organization
    body["recipients"][0]["locations"] = [{"country": "US", "mechanism": "scc", "scc_module": 4}]
    body["activities"][0]["legal_bases"] = ["6(1)(z)"]
    body["activities"][1]["legitimate_interests_en"] = ""
    body["activities"].append({**NEWSLETTER, "key": "newsletter"})
    problem = assert_problem(
        desk.client.post(desk.url("/controller/import"), json=body, headers=desk.legal), 422
    )
    errors = problem["errors"]
    assert "Module 4" in errors["recipients[0].locations[0].mechanism"][0]
    assert "Google Cloud" in errors["recipients[1].subprocessor"][0]
    assert errors["activities[0].legal_bases[0]"]
    assert "Art. 13(1)(d)" in errors["activities[1].legitimate_interests_pl"][0]
    assert "activities[0]" in errors["activities[2].key"][0]
    assert "nothing was imported" in problem["detail"]
    assert counts(desk.client.application)["ControllerRecipient"] == 0
    assert counts(desk.client.application)["ProcessingActivity"] == 0


def test_an_activity_naming_an_unknown_or_refused_recipient_is_refused(desk):
    body = {
        "recipients": [{**HOTJAR, "country": "XX"}],
        "activities": [{**NEWSLETTER, "recipients": ["Hotjar", "Nobody"]}],
    }
    errors = assert_problem(
        desk.client.post(desk.url("/controller/import"), json=body, headers=desk.legal), 422
    )["errors"]
    assert "recipients[0].country" in errors
    assert "its row in this body has errors" in errors["activities[0].recipients[0]"][0]
    assert "neither in this body nor registered" in errors["activities[0].recipients[1]"][0]


def test_create_mode_refuses_what_exists_and_upsert_corrects_it(desk):
    desk.vendor(name="Google Cloud", legal_entity="Google Cloud EMEA Limited")
    post(desk, "/controller/import", import_body(), 200)
    problem = assert_problem(
        desk.client.post(desk.url("/controller/import"), json=import_body(), headers=desk.legal),
        422,
    )
    assert "registered already" in problem["errors"]["recipients[0].name"][0]
    assert "'newsletter' already" in problem["errors"]["activities[0].key"][0]

    body = import_body()
    body["recipients"][0]["name"] = "Hotjar Ltd"  # matched by external_id: renamed
    body["activities"][0]["name_en"] = "Monthly newsletter"
    body["activities"][0]["recipients"] = ["Hotjar Ltd"]
    body["activities"][1]["recipients"] = ["Google Analytics", "Hotjar Ltd"]
    result = post(desk, "/controller/import", body, 200, mode="upsert")
    assert [r["action"] for r in result["recipients"]] == ["updated", "unchanged"]
    assert [a["action"] for a in result["activities"]] == ["updated", "unchanged"]
    names = [r["name"] for r in get(desk, "/controller-recipients")["items"]]
    assert names == ["Google Analytics", "Hotjar Ltd"]


@pytest.mark.parametrize(
    ("body", "status"),
    [([], 422), ({"vendors": []}, 422), ({"activities": {}}, 422), ({}, 422)],
)
def test_a_body_of_the_wrong_shape_is_refused(desk, body, status):
    assert_problem(
        desk.client.post(desk.url("/controller/import"), json=body, headers=desk.legal), status
    )


def test_the_import_takes_json_only(desk):
    response = desk.client.post(
        desk.url("/controller/import"), data="a,b\n", content_type="text/csv", headers=desk.legal
    )
    assert_problem(response, 415)


# --- one vendor in two contexts ---------------------------------------------------------------


def test_the_controller_side_notifies_nobody_and_the_customers_side_does(desk, client):
    app = client.application
    desk.customer("C1")
    desk.customer("C2")
    hotjar = desk.listed(name="Hotjar", legal_entity="Hotjar Ltd")
    start = counts(app)
    assert start["Notice"] == 2  # the urgent addition reached both customers

    mine = post(desk, "/controller-recipients", {**HOTJAR, "subprocessor_id": hotjar["id"]})
    assert mine["subprocessor"] == {"id": hotjar["id"], "name": "Hotjar"}
    path = f"/controller-recipients/{mine['id']}"
    patch(desk, path, {"locations": [{"country": "US", "mechanism": "dpf"}], "country": "US"})
    post(desk, "/activities", {**NEWSLETTER, "recipient_ids": [mine["id"]]})
    post(desk, "/controller/import", {"recipients": [{**GOOGLE, "subprocessor": "Hotjar"}]}, 200)
    after = counts(app)
    for table in ("Change", "Notice", "OutboxItem"):
        assert after[table] == start[table], table

    shown = get(desk, f"/subprocessors/{hotjar['id']}")
    assert {(c["name"], c["role"]) for c in shown["controller_contexts"]} == {
        ("Hotjar", "processor"),
        ("Google Analytics", "joint_controller"),
    }
    listed = {item["id"]: item for item in get(desk, "/subprocessors")["items"]}
    assert listed[hotjar["id"]]["controller_contexts"] == shown["controller_contexts"]
    # The public list says nothing of the organization's own register.
    assert "controller_contexts" not in client.get(desk.url(f"/subprocessors/{hotjar['id']}")).json

    assert desk.client.delete(desk.url(path), headers=desk.legal).status_code == 204
    assert counts(app)["Notice"] == start["Notice"]

    update = desk.announced(
        kind="update",
        recipient_id=hotjar["id"],
        effective_on=desk.day(40),
        update={"locations": [{"country": "US", "mechanism": "dpf"}], "country": "US"},
    )
    notices = desk.notices_of(update["id"])
    assert set(notices) == {"C1", "C2"}
    assert counts(app)["OutboxItem"] > start["OutboxItem"]
