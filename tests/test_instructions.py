"""No recipient reaches a customer's data without that customer's instruction (issue 16):
open objections hold the vendor off, outcomes, controller recipients, widening updates,
urgent changes under an emergency clause, notice counted from delivery, and the holes of
late customers, parents' scope and replacements. Through the API, on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.mail import delivery as mail_delivery
from service.mail.senders import TemporaryFailure
from tests.notice_kit import Desk, assert_problem, parse_dt, window_end
from tests.portal_kit import sign_in


@pytest.fixture
def desk(client, world) -> Desk:
    d = Desk(client, world)
    d.customer("EXCL", remedy="exclude")
    d.customer("TERM", remedy="terminate")
    d.customer("SPEC", authorisation="specific")
    return d


def withheld(desk: Desk, ref: str, as_of: str) -> dict[str, dict]:
    return {w["recipient"]["name"]: w for w in desk.customer_list(ref, as_of)["withheld"]}


def compliance(desk: Desk, as_of: str, rule: str) -> list[dict]:
    response = desk.client.get(
        desk.url("/compliance"), query_string={"as_of": as_of, "rule": rule}, headers=desk.legal
    )
    assert response.status_code == 200, response.json
    return response.json["items"]


def subjects(outbox_mail, address: str) -> list[str]:
    return [
        str(m["Subject"]) for m in outbox_mail.sent if m["To"].addresses[0].addr_spec == address
    ]


# --- 1. an open objection keeps the vendor off ---------------------------------------------


def test_an_open_objection_keeps_the_vendor_off_everywhere_until_resolved(desk):
    mailer = desk.add(desk.vendor(name="Mailer", services=["bookings"]), 31)
    objection = desk.object("EXCL", mailer["id"], "Not our data").json
    day = desk.day(31)
    assert "Mailer" not in desk.names("EXCL", day)
    held = withheld(desk, "EXCL", day)["Mailer"]
    assert held["state"] == "objected_pending"
    assert held["labels"] == {"pl": "sprzeciw — w toku rozpatrywania", "en": "objected — pending"}
    assert "Mailer" in desk.names("TERM", day)  # only the customer that objected
    # The DPA annex and the Art. 30(2) record say the same.
    customer_id = desk.customers["EXCL"]["id"]
    annex = desk.client.get(
        desk.url(f"/customers/{customer_id}/annex"),
        query_string={"as_of": day, "lang": "en"},
        headers=desk.legal,
    ).json
    assert "Mailer" not in {i["name"] for i in annex["items"]}
    assert [(w["name"], w["state_label"]) for w in annex["withheld"]] == [
        ("Mailer", "objected — pending")
    ]
    record = desk.client.get(
        desk.url("/record"), query_string={"as_of": day, "format": "json"}, headers=desk.legal
    ).json
    excl = next(c for c in record["controllers"] if c["external_ref"] == "EXCL")
    assert [w["state"] for w in excl["withheld"]] == ["objected_pending"]
    assert "Mailer" not in {r["name"] for r in excl["recipients"]}
    # Compliance: an error from the effective date on, none before.
    assert compliance(desk, desk.day(30), "objection") == []
    [error] = compliance(desk, day, "objection")
    assert error["severity"] == "error"
    assert error["customer"]["external_ref"] == "EXCL"
    assert error["change"]["id"] == mailer["id"]
    # Upheld by the customer's remedy (exclude): off for good, no error left.
    assert desk.resolve(objection["id"], "Mailer is not used for EXCL").status_code == 200
    assert withheld(desk, "EXCL", desk.day(400))["Mailer"]["state"] == "excluded"
    assert compliance(desk, day, "objection") == []


def test_rejection_needs_the_agreement_to_allow_it_and_then_applies(desk, outbox_mail):
    mailer = desk.add(desk.vendor(name="Mailer"), 31)
    objection = desk.object("EXCL", mailer["id"]).json
    body = {"outcome": "rejected", "note": "The vendor holds ISO 27001 and stays in the EEA."}
    url = desk.url(f"/objections/{objection['id']}/resolution")
    refused = assert_problem(desk.client.post(url, json=body, headers=desk.legal), 409)
    assert "outcome" in refused["errors"]
    patched = desk.client.patch(
        desk.url(f"/customers/{desk.customers['EXCL']['id']}"),
        json={"agreement": {"rejects_unjustified_objections": True}},
        headers=desk.legal,
    )
    assert patched.status_code == 200, patched.json
    rejected = desk.client.post(url, json=body, headers=desk.legal)
    assert rejected.status_code == 200, rejected.json
    assert rejected.json["resolution"] == "rejected"
    assert "Mailer" in desk.names("EXCL", desk.day(31))
    assert desk.audit(action="objection.resolved")[0]["after"]["resolution"] == "rejected"
    [mail] = [m for m in outbox_mail.sent if "Sprzeciw wobec Mailer" in str(m["Subject"])]
    text = mail.get_body(("plain",)).get_content()
    assert "odrzucono" in text
    assert "ISO 27001" in text


def test_terminate_and_alternative_keep_the_vendor_off_and_are_mailed(desk, outbox_mail):
    mailer = desk.add(desk.vendor(name="Mailer"), 31)
    term = desk.object("TERM", mailer["id"]).json
    excl = desk.object("EXCL", mailer["id"]).json
    ends = desk.day(90)
    response = desk.client.post(
        desk.url(f"/objections/{term['id']}/resolution"),
        json={"note": "Termination agreed", "termination_on": ends},
        headers=desk.legal,
    )
    assert response.json["termination_on"] == ends
    alternative = desk.client.post(
        desk.url(f"/objections/{excl['id']}/resolution"),
        json={"outcome": "alternative", "note": "Messages for EXCL go through our own SMTP relay."},
        headers=desk.legal,
    )
    assert alternative.json["resolution"] == "alternative"
    for ref in ("TERM", "EXCL"):
        assert "Mailer" not in desk.names(ref, desk.day(60))
    assert subjects(outbox_mail, "term@salon.example")[-1] == (
        "Sprzeciw wobec Mailer: uwzględniony (prawo wypowiedzenia)"
    )
    [outcome] = [
        m
        for m in outbox_mail.sent
        if m["To"].addresses[0].addr_spec == "excl@salon.example"
        and str(m["Subject"]).startswith("Sprzeciw wobec")
    ]
    assert "SMTP relay" in outcome.get_body(("plain",)).get_content()
    assert len(desk.audit(action="objection.resolved")) == 2


def test_the_customer_withdraws_its_objection_by_link_and_by_api(desk, client, outbox_mail):
    mailer = desk.add(desk.vendor(name="Mailer"), 31)
    notice = desk.notices_of(mailer["id"])["EXCL"]
    path = desk.link_path(notice)
    desk.object("EXCL", mailer["id"], "Let us think")
    page = client.get(path)
    assert page.status_code == 200
    assert 'value="withdraw"' in page.get_data(as_text=True)  # GET only asks
    assert desk.objections(status="open")["total"] == 1
    done = client.post(path, data={"decision": "withdraw", "reason": "We agree now"})
    assert done.status_code == 200, done.get_data(as_text=True)
    [answer] = desk.objections()["items"]
    assert (answer["status"], answer["resolution"]) == ("resolved", "withdrawn")
    assert "Mailer" in desk.names("EXCL", desk.day(31))
    assert desk.audit(action="objection.withdrawn")[0]["actor"] == "customer-link:EXCL"
    assert any("wycofany" in s for s in subjects(outbox_mail, "excl@salon.example"))
    # By API: only the customer's own objection, only while open.
    term = desk.object("TERM", mailer["id"]).json
    url = desk.url(f"/objections/{term['id']}/withdrawal")
    assert_problem(client.post(url, json={}, headers=desk.customers["EXCL"]["key"]), 404)
    assert client.post(url, json={}, headers=desk.customers["TERM"]["key"]).status_code == 200
    assert_problem(client.post(url, json={}, headers=desk.customers["TERM"]["key"]), 409)


# --- 2. controller recipients ---------------------------------------------------------------


def test_a_controller_removal_is_information_only(desk):
    stripe = desk.listed(0, name="Stripe", role="independent_controller")
    removal = desk.announced(kind="remove", recipient_id=stripe["id"], effective_on=desk.day(2))
    responses = {ref: n["response"] for ref, n in desk.notices_of(removal["id"]).items()}
    assert responses == {"EXCL": "none", "TERM": "none", "SPEC": "none"}


def test_a_joint_controller_addition_waits_for_the_general_customers_notice(desk):
    desk.customer("SLOW", notice_days=45, emergency=False)
    pixel = desk.vendor(name="Pixel", role="joint_controller")
    body = assert_problem(
        desk.announce(kind="add", recipient_id=pixel["id"], effective_on=desk.day(31)), 422
    )
    assert [c["external_ref"] for c in body["customers_short_of_notice"]] == ["SLOW"]


# --- 3. a widening update needs consent -----------------------------------------------------


def test_a_widening_update_waits_for_consent_with_the_previous_revision(desk):
    hosting = desk.vendor(name="Hosting")
    added = desk.add(hosting, 0, urgent=True, urgent_justification="Setup")
    assert desk.consent("SPEC", added["id"]).status_code == 201
    update = desk.announced(
        kind="update",
        recipient_id=hosting["id"],
        effective_on=desk.day(31),
        update={"locations": [{"country": "US", "mechanism": "dpf", "activity": "backup"}]},
    )
    notices = desk.notices_of(update["id"])
    assert notices["SPEC"]["response"] == "consent"
    assert notices["EXCL"]["response"] == "objection"

    def places(ref: str) -> set[str]:
        [item] = [
            i for i in desk.customer_list(ref, desk.day(31))["items"] if i["name"] == "Hosting"
        ]
        return {loc["country"] for loc in item["locations"]}

    assert places("SPEC") == {"DE"}  # the revision it authorised
    assert places("EXCL") == {"US"}
    assert desk.consent("SPEC", update["id"]).status_code == 201
    assert places("SPEC") == {"US"}


def test_a_narrowing_update_is_information_for_specific_customers(desk):
    hosting = desk.listed(0, name="Hosting", data_categories_en=["contact details", "notes"])
    update = desk.announced(
        kind="update",
        recipient_id=hosting["id"],
        effective_on=desk.day(31),
        update={"data_categories_en": ["contact details"]},
    )
    assert desk.notices_of(update["id"])["SPEC"]["response"] == "none"


# --- 4. urgent only under an emergency clause, with a post-hoc window ------------------------


def test_urgent_is_refused_for_customers_without_the_clause(desk):
    desk.customer("PLAIN", emergency=False)
    mailer = desk.vendor(name="Mailer")
    body = assert_problem(
        desk.announce(
            kind="add",
            recipient_id=mailer["id"],
            effective_on=desk.day(1),
            urgent=True,
            urgent_justification="Outage",
        ),
        422,
    )
    assert [c["external_ref"] for c in body["customers_short_of_notice"]] == ["PLAIN"]
    assert "emergency" in body["errors"]["effective_on"][0]


def test_the_emergency_clause_has_its_own_minimum_notice(desk):
    desk.client.patch(
        desk.url(f"/customers/{desk.customers['EXCL']['id']}"),
        json={"agreement": {"emergency_notice_days": 3}},
        headers=desk.legal,
    )
    mailer = desk.vendor(name="Mailer")
    body = {
        "kind": "add",
        "recipient_id": mailer["id"],
        "urgent": True,
        "urgent_justification": "x",
    }
    short = assert_problem(desk.announce(**body, effective_on=desk.day(2)), 422)
    assert [(c["external_ref"], c["notice_days"]) for c in short["customers_short_of_notice"]] == [
        ("EXCL", 3)
    ]
    assert desk.announce(**body, effective_on=desk.day(3)).status_code == 201


def test_an_urgent_change_says_why_and_may_be_objected_to_after_it_applies(
    desk, outbox_mail, time_machine
):
    start = datetime.now(UTC)
    mailer = desk.add(
        desk.vendor(name="Mailer"), 1, urgent=True, urgent_justification="Old mailer went bust"
    )
    [mail] = [m for m in outbox_mail.sent if m["To"].addresses[0].addr_spec == "excl@salon.example"]
    text = mail.get_body(("plain",)).get_content()
    assert "Zmiana pilna" in text
    assert "Old mailer went bust" in text
    assert "po wejściu zmiany w życie" in text  # the post-hoc window
    notice = desk.notices_of(mailer["id"])["EXCL"]
    assert parse_dt(notice["objection_deadline"]) == window_end(
        notice["delivered_at"], 14, desk.org["timezone"]
    )
    assert [
        (i["severity"], i["change"]["id"])
        for i in compliance(desk, desk.day(1), "notice.urgent_change")
    ] == [("warning", mailer["id"])]
    effective, day5 = desk.day(1), desk.day(5)
    time_machine.move_to(start + timedelta(days=5))
    assert "Mailer" in desk.names("EXCL", effective)
    filed = desk.object("EXCL", mailer["id"], "Not without us")
    assert filed.status_code == 201, filed.json
    # Off from the objection on; the days before stay as they were.
    assert "Mailer" in desk.names("EXCL", effective)
    assert "Mailer" not in desk.names("EXCL", day5)
    time_machine.move_to(start + timedelta(days=16))
    # The window closed (except for no one): information only from then on.
    items = compliance(
        desk,
        (datetime.fromisoformat(day5).date() + timedelta(days=11)).isoformat(),
        "notice.urgent_change",
    )
    assert [i["severity"] for i in items] == ["info"]


# --- 5. notice counted from actual delivery --------------------------------------------------


def test_a_notice_delivered_late_moves_the_day_the_change_applies(
    app, client, world, outbox_mail, time_machine
):
    desk = Desk(client, world)
    desk.customer("FAST", notice_days=30)
    desk.customer("LATE", notice_days=30)
    start = datetime.now(UTC)
    effective = desk.day(31)
    applies_late = desk.day(34)  # delivered 4 days on, + 30 days

    def busy(message) -> None:
        if message["To"].addresses[0].addr_spec == "late@salon.example":
            raise TemporaryFailure("421 4.3.2 try again later")

    outbox_mail.hook = busy
    desk.add(desk.vendor(name="Mailer"), 31)
    outbox_mail.hook = None
    time_machine.move_to(start + timedelta(days=4))
    with app.app_context():
        mail_delivery.drain()
    assert "Mailer" in desk.names("FAST", effective)
    assert "Mailer" not in desk.names("LATE", effective)
    held = withheld(desk, "LATE", effective)["Mailer"]
    assert (held["state"], held["applies_from"]) == ("notice_running", applies_late)
    assert "Mailer" in desk.names("LATE", applies_late)
    [item] = compliance(desk, effective, "notice.delivered_short")
    assert (item["customer"]["external_ref"], item["due_on"]) == ("LATE", applies_late)
    assert compliance(desk, applies_late, "notice.delivered_short") == []


def test_an_undelivered_notice_never_lets_the_vendor_apply(client, world, outbox_mail):
    desk = Desk(client, world)
    desk.customer("GONE", notice_days=30)
    outbox_mail.refuse = {"gone@salon.example"}
    desk.add(desk.vendor(name="Mailer"), 31)
    assert withheld(desk, "GONE", desk.day(31))["Mailer"]["state"] == "notice_undelivered"


# --- 6. late customers, parents, replacements -------------------------------------------------


def test_a_specific_customer_registered_after_the_announcement_is_asked(desk, outbox_mail):
    mailer = desk.add(desk.vendor(name="Mailer"), 31)
    desk.customer("NEW", authorisation="specific")
    notices = desk.notices_of(mailer["id"])
    assert notices["NEW"]["response"] == "consent"
    assert any("Mailer" in s for s in subjects(outbox_mail, "new@salon.example"))
    # Nobody else was told again.
    assert len(subjects(outbox_mail, "excl@salon.example")) == 1
    assert "Mailer" not in desk.names("NEW", desk.day(31))
    assert desk.consent("NEW", mailer["id"]).status_code == 201
    assert "Mailer" in desk.names("NEW", desk.day(31))


def test_a_controller_parents_scope_change_reaches_its_childrens_customers(desk):
    desk.customer("PAY", services=("payments",))
    parent = desk.listed(0, name="PayGroup", role="joint_controller", services=["bookings"])
    desk.listed(0, name="PayChild", parent_id=parent["id"])
    update = desk.announced(
        kind="update",
        recipient_id=parent["id"],
        effective_on=desk.day(31),
        update={"services": ["bookings", "payments"]},
    )
    assert desk.notices_of(update["id"])["PAY"]["response"] == "objection"
    assert {"PayGroup", "PayChild"} <= desk.names("PAY", desk.day(31))


def test_a_replace_tells_the_old_vendors_customers_outside_the_new_scope(desk, outbox_mail):
    desk.customer("PAY", services=("payments",))
    old = desk.listed(0, name="OldMail")
    new = desk.vendor(name="NewMail", services=["bookings"])
    change = desk.announced(
        kind="replace", recipient_id=new["id"], replaces_id=old["id"], effective_on=desk.day(31)
    )
    notices = desk.notices_of(change["id"])
    assert notices["PAY"]["response"] == "none"
    assert notices["EXCL"]["response"] == "objection"
    [mail] = [
        m
        for m in outbox_mail.sent
        if m["To"].addresses[0].addr_spec == "pay@salon.example" and "NewMail" in str(m["Subject"])
    ]
    assert "przestaje je przetwarzać" in mail.get_body(("plain",)).get_content()
    assert desk.names("PAY", desk.day(31)) == set()


def test_the_portal_shows_objected_pending_and_lets_the_customer_withdraw(
    client, world, app, outbox_mail
):
    desk = Desk(client, world)
    desk.customer("BELLA", contacts=[{"email": "anna@salon.example", "locale": "pl"}])
    change = desk.add(desk.vendor(name="Mailer"), 0, urgent=True, urgent_justification="Outage")
    portal = app.test_client()
    token = sign_in(portal, "bookero", "anna@salon.example", outbox_mail)
    filed = portal.post(
        f"/portal/bookero/changes/{change['id']}",
        data={"decision": "object", "reason": "", "csrf_token": token},
    )
    assert filed.status_code == 303  # post hoc: the emergency clause's window is open
    overview = portal.get("/portal/bookero/").get_data(as_text=True)
    assert "sprzeciw — w toku rozpatrywania" in overview
    page = portal.get(f"/portal/bookero/changes/{change['id']}").get_data(as_text=True)
    assert 'value="withdraw"' in page
    withdrawn = portal.post(
        f"/portal/bookero/changes/{change['id']}",
        data={"decision": "withdraw", "reason": "OK", "csrf_token": token},
    )
    assert withdrawn.status_code == 303
    assert "sprzeciw — w toku" not in portal.get("/portal/bookero/").get_data(as_text=True)
    assert "Mailer" in desk.names("BELLA")
