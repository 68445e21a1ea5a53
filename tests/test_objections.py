"""Objections, consents and refusals: through the API and through signed links, their
resolution by the customer's remedy, conflicts, access and the audit trail."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from service.changes.models import Notice
from service.errors import Conflict
from service.extensions import db
from service.objections import services as answers
from service.organizations.models import Organization
from tests.conftest import bearer
from tests.notice_kit import Desk, assert_problem, craft_token, parse_dt


@pytest.fixture
def desk(client, world) -> Desk:
    d = Desk(client, world)
    d.customer("EXCL", notice_days=30, remedy="exclude")
    d.customer("TERM", notice_days=30, remedy="terminate")
    d.customer("SPEC", authorisation="specific")
    d.customer("PAY", notice_days=30, services=("payments",))
    return d


@pytest.fixture
def mailer_change(desk) -> dict:
    return desk.add(desk.vendor(name="Mailer", services=["bookings"]), 31)


# --- resolution by remedy -------------------------------------------------------------------


def test_remedy_exclude_takes_the_vendor_off_that_customers_list(desk, mailer_change):
    change_id = mailer_change["id"]
    objection = desk.object("EXCL", change_id, "We keep our data in-house").json
    resolved = desk.resolve(objection["id"], "Mailer is not used for EXCL")
    assert resolved.status_code == 200, resolved.json
    body = resolved.json
    assert body["status"] == "resolved"
    assert body["resolution"] == "excluded"
    assert body["resolution_note"] == "Mailer is not used for EXCL"
    assert body["resolved_at"]
    assert body["termination_on"] is None
    assert body["recipient"]["name"] == "Mailer"
    assert "Mailer" not in desk.names("EXCL", desk.day(31))
    assert "Mailer" not in desk.names("EXCL", desk.day(400))
    assert "Mailer" in desk.names("TERM", desk.day(31))


def test_remedy_terminate_keeps_the_vendor_off_until_the_agreement_ends(desk, mailer_change):
    change_id = mailer_change["id"]
    objection = desk.object("TERM", change_id, "Not acceptable").json
    resolved = desk.resolve(objection["id"], "Customer may terminate")
    assert resolved.status_code == 200, resolved.json
    assert resolved.json["resolution"] == "termination_right"
    assert resolved.json["termination_on"] == desk.day(31)
    # The customer never authorised the vendor: it does not process its data until the
    # agreement ends (Decision 2021/915 clause 7.7).
    assert "Mailer" not in desk.names("TERM", desk.day(31))
    assert "Mailer" in desk.names("EXCL", desk.day(31))
    listed = desk.objections(status="resolved")["items"]
    assert [(o["id"], o["termination_on"]) for o in listed] == [(objection["id"], desk.day(31))]


def test_an_objection_to_an_update_excludes_the_vendor_from_the_updates_date(desk):
    hosting = desk.listed(0, name="Hosting", services=["bookings"])
    update = desk.announced(
        kind="update",
        recipient_id=hosting["id"],
        effective_on=desk.day(40),
        update={"locations": [{"country": "FR", "mechanism": "none", "activity": "backup"}]},
    )
    objection = desk.object("EXCL", update["id"]).json
    assert desk.resolve(objection["id"]).status_code == 200
    assert "Hosting" in desk.names("EXCL", desk.day(39))
    assert "Hosting" not in desk.names("EXCL", desk.day(40))


def test_resolving_twice_conflicts_and_changes_nothing(desk, mailer_change):
    objection = desk.object("TERM", mailer_change["id"]).json
    assert desk.resolve(objection["id"], "First").status_code == 200
    events = len(desk.audit())
    again = assert_problem(desk.resolve(objection["id"], "Second"), 409)
    assert "resolved" in again["detail"]
    assert len(desk.audit()) == events
    assert desk.objections()["items"][0]["resolution_note"] == "First"


def test_consents_and_refusals_are_not_resolved(desk, mailer_change):
    consent = desk.consent("SPEC", mailer_change["id"]).json
    assert consent["status"] == "recorded"
    assert_problem(desk.resolve(consent["id"]), 409)
    assert desk.objections()["items"][0]["status"] == "recorded"


def test_a_refusal_is_not_resolved_either(desk, mailer_change):
    refusal = desk.consent("SPEC", mailer_change["id"], decision="refuse").json
    assert refusal["kind"] == "refusal"
    assert_problem(desk.resolve(refusal["id"]), 409)


def test_resolution_needs_a_note_and_an_objection_of_this_organization(desk, world, client):
    change = desk.add(desk.vendor(name="Mailer"), 31)
    objection = desk.object("EXCL", change["id"]).json
    for body in ({}, {"note": ""}, {"note": "   "}, {"note": "x" * 5001}):
        response = client.post(
            desk.url(f"/objections/{objection['id']}/resolution"), json=body, headers=desk.legal
        )
        assert "note" in assert_problem(response, 422)["errors"]
    assert_problem(desk.resolve(999999), 404)
    assert_problem(desk.resolve(2**40), 404)
    other = Desk(client, world, slug="other")
    assert_problem(
        client.post(
            f"/api/v1/orgs/other/objections/{objection['id']}/resolution",
            json={"note": "mine now"},
            headers=other.legal,
        ),
        404,
    )
    assert desk.objections()["items"][0]["status"] == "open"


def test_an_objection_of_a_withdrawn_change_cannot_be_resolved(desk, mailer_change):
    objection = desk.object("EXCL", mailer_change["id"]).json
    assert desk.withdraw(mailer_change["id"]).status_code == 200
    assert_problem(desk.resolve(objection["id"]), 409)
    assert "Mailer" not in desk.names("EXCL", desk.day(31))  # the vendor never joined


def test_withdrawing_a_change_undoes_the_remedies_of_its_objections(desk, mailer_change):
    change_id = mailer_change["id"]
    excl = desk.object("EXCL", change_id).json
    term = desk.object("TERM", change_id).json
    desk.resolve(excl["id"], "Excluded")
    desk.resolve(term["id"], "May terminate")
    assert desk.withdraw(change_id).status_code == 200

    # No termination right and no exclusion survive a change that never happens.
    statuses = {o["customer"]["external_ref"]: o["status"] for o in desk.objections()["items"]}
    assert statuses == {"EXCL": "void", "TERM": "void"}
    assert desk.audit(action="change.withdrawn")[0]["after"]["answers_void"] == 2
    # Announced again, the vendor applies to EXCL, which did not object this time.
    desk.add(mailer_change["recipient"], 60)
    assert "Mailer" in desk.names("EXCL", desk.day(60))
    assert desk.chain_ok()


# --- what may be answered -------------------------------------------------------------------


def test_one_answer_per_notice(desk, mailer_change):
    change_id = mailer_change["id"]
    assert desk.object("EXCL", change_id).status_code == 201
    assert_problem(desk.object("EXCL", change_id), 409)
    assert desk.consent("SPEC", change_id).status_code == 201
    assert_problem(desk.consent("SPEC", change_id), 409)
    assert_problem(desk.consent("SPEC", change_id, decision="refuse"), 409)
    assert desk.objections()["total"] == 2


def test_the_answer_must_fit_the_notice(desk, mailer_change):
    change_id = mailer_change["id"]
    # A specific-authorisation customer consents or refuses; it does not object.
    assert "consent" in assert_problem(desk.object("SPEC", change_id), 409)["detail"]
    # A general-authorisation customer objects; it is not asked to consent.
    assert "objection" in assert_problem(desk.consent("EXCL", change_id), 409)["detail"]
    assert_problem(desk.consent("EXCL", change_id, decision="refuse"), 409)
    assert desk.objections()["total"] == 0
    # Neither answer was spent: the right one still works.
    assert desk.object("EXCL", change_id).status_code == 201
    assert desk.consent("SPEC", change_id).status_code == 201


def test_a_customer_not_notified_cannot_answer(desk, mailer_change):
    assert_problem(desk.object("PAY", mailer_change["id"]), 404)
    assert_problem(desk.object("EXCL", 999999), 404)


def test_answer_bodies_are_validated(desk, mailer_change, client):
    url = desk.url(f"/changes/{mailer_change['id']}/consents")
    key = desk.customers["SPEC"]["key"]
    for body, field in (
        ({}, "decision"),
        ({"decision": "maybe"}, "decision"),
        ({"decision": "consent", "reason": "x" * 5001}, "reason"),
        ({"decision": "consent", "extra": 1}, "extra"),
        ({"decision": "consent", "reason": "a\x00b"}, "reason"),
    ):
        assert field in assert_problem(client.post(url, json=body, headers=key), 422)["errors"]
    objection_url = desk.url(f"/changes/{mailer_change['id']}/objections")
    response = client.post(objection_url, json={"reason": 5}, headers=desk.customers["EXCL"]["key"])
    assert "reason" in assert_problem(response, 422)["errors"]
    assert desk.objections()["total"] == 0


def test_the_deadline_is_inclusive_to_the_second(desk, mailer_change, ctx):
    notice = db.session.scalars(
        select(Notice).where(
            Notice.change_id == mailer_change["id"],
            Notice.customer_id == desk.customers["EXCL"]["id"],
        )
    ).one()
    org = db.session.get(Organization, desk.org["id"])
    deadline = notice.objection_deadline
    with pytest.raises(Conflict):
        answers.file_answer(
            org,
            notice,
            "objection",
            "",
            channel="api",
            actor="t",
            now=deadline + timedelta(seconds=1),
        )
    filed = answers.file_answer(
        org, notice, "objection", "", channel="api", actor="t", now=deadline
    )
    assert filed.status == "open"


def test_an_objection_after_the_change_took_effect_is_refused(desk, ctx):
    desk.customer("LATE", notice_days=0, emergency=False)
    change = desk.add(desk.vendor(name="Mailer"), 0, urgent=True, urgent_justification="Now")
    # Without an emergency clause (and owed no notice) the deadline is capped at the start
    # of the effective date, which has come; customers with the clause object post hoc.
    assert desk.object("EXCL", change["id"]).status_code == 201
    response = desk.object("LATE", change["id"])
    body = assert_problem(response, 409)
    assert parse_dt(body["deadline"]) <= parse_dt(change["announced_at"])


# --- access ---------------------------------------------------------------------------------


def test_who_may_do_what(desk, mailer_change, client, world):
    change_id = mailer_change["id"]
    customer_key = desk.customers["EXCL"]["key"]
    # Customers do not read the objections of others, nor resolve.
    assert_problem(client.get(desk.url("/objections"), headers=customer_key), 403)
    assert_problem(client.get(desk.url(f"/changes/{change_id}/notices"), headers=customer_key), 403)
    assert_problem(client.get(desk.url(f"/changes/{change_id}/notices")), 401)
    objection = desk.object("EXCL", change_id).json
    assert_problem(desk.resolve(objection["id"], headers=customer_key), 403)
    # Legal staff do not object or consent in a customer's name.
    for path, body in (("objections", {}), ("consents", {"decision": "consent"})):
        url = desk.url(f"/changes/{change_id}/{path}")
        assert_problem(client.post(url, json=body, headers=desk.legal), 403)
        assert_problem(client.post(url, json=body), 401)
    assert_problem(client.get(desk.url("/objections")), 401)
    # Another organization's keys find nothing here.
    other = Desk(client, world, slug="other")
    stranger = other.customer("X")
    assert_problem(
        client.post(desk.url(f"/changes/{change_id}/objections"), json={}, headers=stranger["key"]),
        404,
    )
    assert_problem(client.get(desk.url("/objections"), headers=other.legal), 404)
    assert other.objections()["total"] == 0
    admin = bearer(world.key("admin"))
    assert client.get(desk.url("/objections"), headers=admin).json["total"] == 1


def test_objections_are_listed_newest_first_and_filtered(desk, mailer_change, client):
    change_id = mailer_change["id"]
    first = desk.object("EXCL", change_id).json
    second = desk.object("TERM", change_id).json
    consent = desk.consent("SPEC", change_id).json
    desk.resolve(first["id"])

    everything = desk.objections()
    assert [o["id"] for o in everything["items"]] == [consent["id"], second["id"], first["id"]]
    assert everything["total"] == 3
    assert [o["id"] for o in desk.objections(status="open")["items"]] == [second["id"]]
    assert [o["id"] for o in desk.objections(kind="consent")["items"]] == [consent["id"]]
    assert [
        o["id"] for o in desk.objections(customer_id=desk.customers["EXCL"]["id"])["items"]
    ] == [first["id"]]
    assert desk.objections(change_id=change_id)["total"] == 3
    assert desk.objections(change_id=change_id + 1)["total"] == 0
    paged = desk.objections(per_page=1, page=2)
    assert [o["id"] for o in paged["items"]] == [second["id"]]
    for query in ({"status": "pending"}, {"kind": "veto"}, {"customer_id": 2**40}, {"x": 1}):
        response = client.get(desk.url("/objections"), query_string=query, headers=desk.legal)
        assert_problem(response, 422)


# --- audit ----------------------------------------------------------------------------------


def test_every_step_is_audited_and_the_chain_verifies(desk, mailer_change):
    change_id = mailer_change["id"]
    excl = desk.object("EXCL", change_id, "No thanks").json
    term = desk.object("TERM", change_id).json
    desk.consent("SPEC", change_id, decision="refuse", reason="No")
    desk.resolve(excl["id"], "Excluded for EXCL")
    desk.resolve(term["id"], "May terminate")

    events = desk.audit(entity_type="objection")
    assert [e["action"] for e in reversed(events)] == [
        "objection.filed",
        "objection.filed",
        "refusal.filed",
        "objection.resolved",
        "objection.resolved",
    ]
    filed = next(e for e in events if e["entity_id"] == str(excl["id"]) and e["after"].get("kind"))
    assert filed["after"]["reason"] == "No thanks"
    assert filed["after"]["channel"] == "api"
    assert filed["actor"] != "anonymous"
    resolved = {e["entity_id"]: e for e in events if e["action"] == "objection.resolved"}
    assert resolved[str(excl["id"])]["after"]["resolution"] == "excluded"
    assert resolved[str(term["id"])]["after"]["termination_on"] == desk.day(31)
    assert resolved[str(term["id"])]["before"] == {"status": "open"}
    assert desk.chain_ok()


# --- signed links ---------------------------------------------------------------------------


def notice_for(desk: Desk, ref: str, change_id: int) -> dict:
    return next(n for n in desk.customer_notices(ref) if n["change_id"] == change_id)


def token_of(notice: dict) -> str:
    return notice["answer_url"].rsplit("/", 1)[1]


def payload(desk: Desk, notice: dict, **overrides: object) -> dict:
    return {
        "o": desk.org["id"],
        "n": notice["id"],
        "ch": notice["change_id"],
        "c": notice["customer"]["id"],
        **overrides,
    }


def test_the_answer_url_uses_the_public_base_url(desk, mailer_change, app):
    notice = notice_for(desk, "EXCL", mailer_change["id"])
    assert notice["answer_url"].startswith(
        app.config["PUBLIC_BASE_URL"].rstrip("/") + "/orgs/bookero/answers/"
    )
    # Notices asking nothing carry no link.
    removal = desk.announced(
        kind="remove", recipient_id=desk.listed(0, name="Old")["id"], effective_on=desk.day(2)
    )
    assert notice_for(desk, "EXCL", removal["id"])["answer_url"] is None


def test_an_expired_link_is_refused_and_files_nothing(desk, mailer_change, client, app):
    notice = notice_for(desk, "EXCL", mailer_change["id"])
    max_age = app.config["NOTICE_LINK_MAX_AGE_DAYS"]
    old = craft_token(app, payload(desk, notice), age_days=max_age + 1)
    fresh = craft_token(app, payload(desk, notice), age_days=max_age - 1)
    assert client.get(f"/orgs/bookero/answers/{old}").status_code == 404
    assert client.post(f"/orgs/bookero/answers/{old}", data={"decision": "object"}).status_code == (
        404
    )
    assert desk.objections()["total"] == 0
    # The same payload within its age works: it was the age that counted.
    assert client.get(f"/orgs/bookero/answers/{fresh}").status_code == 200


def test_a_shorter_configured_age_expires_links(desk, mailer_change, client, app, monkeypatch):
    notice = notice_for(desk, "EXCL", mailer_change["id"])
    token = craft_token(app, payload(desk, notice), age_days=2)
    assert client.get(f"/orgs/bookero/answers/{token}").status_code == 200
    monkeypatch.setitem(app.config, "NOTICE_LINK_MAX_AGE_DAYS", 1)
    assert client.get(f"/orgs/bookero/answers/{token}").status_code == 404


def test_a_tampered_link_is_refused(desk, mailer_change, client, app):
    notice = notice_for(desk, "EXCL", mailer_change["id"])
    token = token_of(notice)
    body, _, rest = token.partition(".")
    flipped = body[:-1] + ("A" if body[-1] != "A" else "B")
    for bad in (f"{flipped}.{rest}", token[::-1], "x", token + "x"):
        assert client.get(f"/orgs/bookero/answers/{bad}").status_code == 404
        assert (
            client.post(f"/orgs/bookero/answers/{bad}", data={"decision": "object"}).status_code
            == 404
        )
    # Signed with another key: refused.
    app.config["SECRET_KEY"], original = "another-key", app.config["SECRET_KEY"]
    try:
        foreign = craft_token(app, payload(desk, notice))
    finally:
        app.config["SECRET_KEY"] = original
    assert client.get(f"/orgs/bookero/answers/{foreign}").status_code == 404
    assert desk.objections()["total"] == 0


def test_one_customers_link_cannot_answer_as_another(desk, mailer_change, client, app):
    excl = notice_for(desk, "EXCL", mailer_change["id"])
    term = notice_for(desk, "TERM", mailer_change["id"])
    # A validly signed token whose parts disagree (EXCL's notice, TERM's id) names nothing.
    mixed = craft_token(app, payload(desk, excl, c=term["customer"]["id"]))
    assert (
        client.post(f"/orgs/bookero/answers/{mixed}", data={"decision": "object"}).status_code
        == 404
    )
    mixed = craft_token(app, payload(desk, excl, ch=mailer_change["id"] + 1))
    assert client.get(f"/orgs/bookero/answers/{mixed}").status_code == 404
    assert desk.objections()["total"] == 0
    # EXCL's own link answers for EXCL only.
    filed = client.post(f"/orgs/bookero/answers/{token_of(excl)}", data={"decision": "object"})
    assert filed.status_code == 200
    items = desk.objections()["items"]
    assert [(o["customer"]["external_ref"], o["channel"]) for o in items] == [("EXCL", "link")]
    assert notice_for(desk, "TERM", mailer_change["id"])["answer"] is None
    event = desk.audit(action="objection.filed")[0]
    assert event["actor"] == "customer-link:EXCL"
    assert event["after"]["channel"] == "link"


def test_the_consent_page_asks_and_a_refusal_is_recorded(desk, mailer_change, client):
    notice = notice_for(desk, "SPEC", mailer_change["id"])
    path = desk.link_path(notice)
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    buttons = re.findall(r'<button[^>]*name="decision"[^>]*value="(\w+)"', html)
    assert buttons == ["consent", "refuse"]
    assert "Zgoda na dalszy podmiot przetwarzający" in html
    assert desk.objections()["total"] == 0

    done = client.post(path, data={"decision": "refuse", "reason": "Not now"})
    assert done.status_code == 200
    assert "Odmowa zgody została zarejestrowana." in done.get_data(as_text=True)
    items = desk.objections()["items"]
    assert [(o["kind"], o["status"], o["reason"], o["channel"]) for o in items] == [
        ("refusal", "recorded", "Not now", "link")
    ]
    assert "Mailer" not in desk.names("SPEC", desk.day(31))
    assert desk.audit(entity_type="objection")[0]["action"] == "refusal.filed"
    assert desk.chain_ok()


def test_a_consent_by_link_puts_the_vendor_on_the_list(desk, mailer_change, client):
    path = desk.link_path(notice_for(desk, "SPEC", mailer_change["id"]))
    assert client.post(path, data={"decision": "consent"}).status_code == 200
    assert "Mailer" in desk.names("SPEC", desk.day(31))
    # The page of an answered notice still opens, and a second answer is refused.
    again = client.post(path, data={"decision": "refuse"})
    assert again.status_code == 409
    assert "text/html" in again.content_type
    assert desk.objections()["items"][0]["kind"] == "consent"


def test_the_objection_page_offers_one_button(desk, mailer_change, client):
    path = desk.link_path(notice_for(desk, "EXCL", mailer_change["id"]))
    html = client.get(path).get_data(as_text=True)
    assert re.findall(r'name="decision"[^>]*value="(\w+)"', html) == ["object"]
    assert "Termin na zgłoszenie sprzeciwu" in html


@pytest.mark.parametrize("decision", ["", "approve", "objection", "consent", "refuse", "x" * 10000])
def test_an_unfit_decision_is_a_4xx_page_and_files_nothing(desk, mailer_change, client, decision):
    path = desk.link_path(notice_for(desk, "EXCL", mailer_change["id"]))
    response = client.post(path, data={"decision": decision})
    assert 400 <= response.status_code < 500
    assert "text/html" in response.content_type
    html = response.get_data(as_text=True)
    assert 'role="alert"' in html
    assert '<form method="post">' in html  # the customer may try again
    assert desk.objections()["total"] == 0


def test_a_post_without_a_form_is_a_4xx_page(desk, mailer_change, client):
    path = desk.link_path(notice_for(desk, "EXCL", mailer_change["id"]))
    response = client.post(path, json={"decision": "object"})
    assert 400 <= response.status_code < 500
    assert desk.objections()["total"] == 0


def test_the_page_escapes_names_and_runs_no_inline_script(desk, client):
    evil = desk.vendor(
        name="<script>alert(1)</script>",
        legal_entity='"><img src=x onerror=alert(2)>',
        services=["bookings"],
    )
    change = desk.add(evil, 31, reason="<i>because</i>")
    page = client.get(desk.link_path(notice_for(desk, "EXCL", change["id"])))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert "<i>because</i>" not in html
    assert not re.search(r"<[^>]*\son\w+\s*=", html)  # no inline event handlers
    assert "&#34;&gt;&lt;img" in html
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert 'name="robots" content="noindex"' in html


def test_the_page_is_polish_by_default_and_english_when_asked(desk, mailer_change, client):
    path = desk.link_path(notice_for(desk, "EXCL", mailer_change["id"]))
    polish = client.get(path).get_data(as_text=True)
    assert '<html lang="pl">' in polish
    assert "Zgłaszam sprzeciw" in polish
    english = client.get(path, query_string={"lang": "en"}).get_data(as_text=True)
    assert '<html lang="en">' in english
    assert "I object" in english
    assert "Zgłaszam" not in english
    # An unknown language falls back to the contact's.
    assert '<html lang="pl">' in client.get(path, query_string={"lang": "de"}).get_data(
        as_text=True
    )
    done = client.post(path + "?lang=en", data={"decision": "object"})
    assert "Your objection was recorded." in done.get_data(as_text=True)


def test_the_contacts_locale_then_the_browser_choose_the_language(desk, client):
    desk.customer("ENG", locale="en")
    desk.customer("NOBODY", locale=None)
    change = desk.add(desk.vendor(name="Mailer"), 31)
    english = desk.link_path(notice_for(desk, "ENG", change["id"]))
    assert '<html lang="en">' in client.get(english).get_data(as_text=True)
    anyone = desk.link_path(notice_for(desk, "NOBODY", change["id"]))
    assert '<html lang="pl">' in client.get(anyone).get_data(as_text=True)
    browser = client.get(anyone, headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in browser.get_data(as_text=True)


def test_a_link_of_a_withdrawn_change_files_nothing(desk, mailer_change, client):
    path = desk.link_path(notice_for(desk, "EXCL", mailer_change["id"]))
    assert desk.withdraw(mailer_change["id"]).status_code == 200
    response = client.post(path, data={"decision": "object"})
    assert response.status_code == 409
    assert desk.objections()["total"] == 0


def test_a_link_after_the_deadline_files_nothing(desk, mailer_change, client, app):
    path = desk.link_path(notice_for(desk, "EXCL", mailer_change["id"]))
    with app.app_context():
        notice = db.session.scalars(
            select(Notice).where(Notice.customer_id == desk.customers["EXCL"]["id"])
        ).one()
        notice.objection_deadline = parse_dt(mailer_change["announced_at"]) - timedelta(seconds=1)
        db.session.commit()
    response = client.post(path, data={"decision": "object"})
    assert response.status_code == 409
    assert "text/html" in response.content_type
    assert desk.objections()["total"] == 0
    # The notice no longer offers a link that cannot work; the consent one still does.
    assert notice_for(desk, "EXCL", mailer_change["id"])["answer_url"] is None
    assert notice_for(desk, "TERM", mailer_change["id"])["answer_url"]
    assert notice_for(desk, "SPEC", mailer_change["id"])["answer_url"]


def test_a_link_of_an_unknown_organization_is_404(desk, mailer_change, client):
    token = token_of(notice_for(desk, "EXCL", mailer_change["id"]))
    assert client.get(f"/orgs/nobody/answers/{token}").status_code == 404
    assert client.get(f"/orgs/NOT%00VALID/answers/{token}").status_code == 404


def test_a_notice_for_information_cannot_be_answered_even_with_a_signed_link(desk, client, app):
    old = desk.listed(0, name="Old")
    removal = desk.announced(kind="remove", recipient_id=old["id"], effective_on=desk.day(5))
    notice = notice_for(desk, "EXCL", removal["id"])
    assert notice["response"] == "none"
    token = craft_token(app, payload(desk, notice))
    response = client.post(f"/orgs/bookero/answers/{token}", data={"decision": "object"})
    assert response.status_code == 409
    assert desk.objections()["total"] == 0


def test_a_customer_reads_its_notices_newest_first(desk, client):
    first = desk.add(desk.vendor(name="First"), 31)
    second = desk.add(desk.vendor(name="Second"), 40)
    notices = desk.customer_notices("EXCL")
    assert [n["change_id"] for n in notices] == [second["id"], first["id"]]
    assert all(n["customer"]["external_ref"] == "EXCL" for n in notices)
    customer = desk.customers["EXCL"]
    paged = client.get(
        desk.url(f"/customers/{customer['id']}/notices"),
        query_string={"per_page": 1, "page": 2},
        headers=customer["key"],
    ).json
    assert paged["total"] == 2
    assert [n["change_id"] for n in paged["items"]] == [first["id"]]
    # Legal staff read them too; another customer does not.
    assert (
        client.get(desk.url(f"/customers/{customer['id']}/notices"), headers=desk.legal).json[
            "total"
        ]
        == 2
    )
    assert_problem(
        client.get(
            desk.url(f"/customers/{customer['id']}/notices"),
            headers=desk.customers["TERM"]["key"],
        ),
        404,
    )
