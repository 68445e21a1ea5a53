"""The customer portal without a browser: sign-in by e-mail, sessions, CSRF and Origin,
isolation between customers and organizations, and that every action goes through the
same services (and audit trail) as the API."""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from service import clock
from service.extensions import db
from service.outbox.models import OutboxItem
from service.portal.models import PortalSession, PortalSignIn
from service.portal.services import SIGN_IN_TOPIC as SIGN_IN
from tests.conftest import audit_events
from tests.notice_kit import Desk
from tests.portal_kit import csrf, path_of, request_link, sign_in, sign_in_links

ANNA = "anna@salon.example"


@pytest.fixture
def desk(client, world) -> Desk:
    d = Desk(client, world)
    d.customer("BELLA", contacts=[{"email": ANNA, "locale": "pl"}])
    d.customer("OTHER")
    return d


@pytest.fixture
def change(desk) -> dict:
    return desk.add(desk.vendor(name="Mailer", services=["bookings"]), 40)


@pytest.fixture
def private_webhooks(app):
    """Webhooks to 127.0.0.1 (nothing listens there; nothing is sent in these tests)."""
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = True
    yield
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = False


@pytest.fixture
def portal(app):
    """A separate browser: its own cookie jar."""
    return app.test_client()


def objections(desk) -> list[dict]:
    response = desk.client.get(desk.url("/objections"), headers=desk.legal)
    assert response.status_code == 200
    return response.json["items"]


# --- signing in -----------------------------------------------------------------------------


def test_unknown_and_known_addresses_get_the_same_page_and_only_contacts_get_mail(
    desk, portal, outbox_mail, app
):
    known = request_link(portal, "bookero", ANNA)
    unknown = request_link(portal, "bookero", "nobody@salon.example")
    assert known.status_code == unknown.status_code == 200
    strip = lambda r: r.get_data(as_text=True).replace(ANNA, "").replace("nobody@salon.example", "")  # noqa: E731
    assert strip(known) == strip(unknown)
    assert [m["To"].addresses[0].addr_spec for m in outbox_mail.sent] == [ANNA]
    assert len(sign_in_links(outbox_mail.sent, ANNA)) == 1
    # Both requests were queued alike; once looked up, neither address is kept in the outbox.
    with app.app_context():
        payloads = [i.payload for i in db.session.scalars(select(OutboxItem)) if i.topic == SIGN_IN]
    assert len(payloads) == 2
    assert "@" not in repr(payloads)


def test_the_token_is_stored_only_as_a_hash_and_works_once(desk, portal, outbox_mail, ctx, app):
    request_link(portal, "bookero", ANNA)
    link = sign_in_links(outbox_mail.sent, ANNA)[0]
    token = link.rsplit("/", 1)[1]
    stored = db.session.scalars(select(PortalSignIn)).one()
    assert stored.token_hash
    assert token not in stored.token_hash
    page = portal.get(path_of(link))
    assert page.status_code == 200
    # GET files nothing: a mail scanner opening the link leaves it usable.
    assert portal.get(path_of(link)).status_code == 200
    assert portal.post(path_of(link), data={"csrf_token": csrf(page)}).status_code == 303
    # Another browser replaying the used link, with a valid form token of its own.
    replay = app.test_client()
    form = replay.get("/portal/bookero/sign-in")
    again = replay.post(path_of(link), data={"csrf_token": csrf(form)})
    assert again.status_code == 404
    assert "nieważny" in again.text
    assert replay.get("/portal/bookero/").status_code == 303


def test_an_expired_link_does_not_sign_in(desk, portal, outbox_mail, ctx):
    request_link(portal, "bookero", ANNA)
    link = path_of(sign_in_links(outbox_mail.sent, ANNA)[0])
    page = portal.get(link)
    stored = db.session.scalars(select(PortalSignIn)).one()
    stored.expires_at = clock.now() - timedelta(seconds=1)
    db.session.commit()
    assert portal.post(link, data={"csrf_token": csrf(page)}).status_code == 404
    assert portal.get("/portal/bookero/").status_code == 303


def test_a_link_works_only_in_its_organization(desk, world, portal, outbox_mail):
    world.org("other-org")
    request_link(portal, "bookero", ANNA)
    link = path_of(sign_in_links(outbox_mail.sent, ANNA)[0])
    assert portal.get(link.replace("/bookero/", "/other-org/")).status_code == 404


def test_one_link_per_contact_per_resend_window(desk, portal, outbox_mail):
    for _ in range(3):
        assert request_link(portal, "bookero", ANNA).status_code == 200
    assert len(outbox_mail.sent) == 1


def test_session_cookie_is_httponly_lax_and_scoped_to_the_organization(desk, portal, outbox_mail):
    request_link(portal, "bookero", ANNA)
    link = path_of(sign_in_links(outbox_mail.sent, ANNA)[0])
    done = portal.post(link, data={"csrf_token": csrf(portal.get(link))})
    cookie = next(h for h in done.headers.getlist("Set-Cookie") if h.startswith("dpa_portal="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/portal/bookero/" in cookie
    # Plain http on 127.0.0.1 (tests, make run): a Secure cookie would never come back.
    assert "Secure" not in cookie


def test_secure_cookie_when_customers_reach_us_over_https(desk, portal, outbox_mail, app):
    app.config["PUBLIC_BASE_URL"] = "https://dpa.example"
    try:
        request_link(portal, "bookero", ANNA)
        link = path_of(sign_in_links(outbox_mail.sent, ANNA)[0])
        page = portal.get(link)
        done = portal.post(link, data={"csrf_token": csrf(page)})
        assert done.status_code == 303
        cookies = done.headers.getlist("Set-Cookie")
        assert any(c.startswith("dpa_portal=") and "Secure" in c for c in cookies)
    finally:
        app.config["PUBLIC_BASE_URL"] = "http://127.0.0.1:8000"


def test_sign_out_revokes_the_session(desk, portal, outbox_mail, ctx):
    token = sign_in(portal, "bookero", ANNA, outbox_mail)
    cookie = portal.get_cookie("dpa_portal", path="/portal/bookero/").value
    assert portal.post("/portal/bookero/sign-out", data={"csrf_token": token}).status_code == 303
    assert db.session.scalars(select(PortalSession)).one().revoked_at is not None
    # The old cookie, replayed, no longer opens anything.
    portal.set_cookie("dpa_portal", cookie, path="/portal/bookero/")
    assert portal.get("/portal/bookero/").status_code == 303


def test_idle_and_absolute_expiry(desk, portal, outbox_mail, ctx, app):
    sign_in(portal, "bookero", ANNA, outbox_mail)
    session = db.session.scalars(select(PortalSession)).one()
    idle = app.config["PORTAL_SESSION_IDLE_MINUTES"]
    session.last_seen_at = clock.now() - timedelta(minutes=idle, seconds=1)
    db.session.commit()
    assert portal.get("/portal/bookero/").status_code == 303

    let_the_resend_window_pass(app)
    sign_in(portal, "bookero", ANNA, outbox_mail)
    fresh = db.session.scalars(select(PortalSession).order_by(PortalSession.id.desc())).first()
    fresh.expires_at = clock.now() - timedelta(seconds=1)
    db.session.commit()
    assert portal.get("/portal/bookero/").status_code == 303


def let_the_resend_window_pass(app) -> None:
    """Move earlier requests back, so the same contact may ask for another link."""
    for row in db.session.scalars(select(PortalSignIn)):
        row.requested_at -= timedelta(seconds=app.config["PORTAL_SIGN_IN_RESEND_SECONDS"] + 1)
    db.session.commit()


# --- CSRF and Origin ------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "wrong"])
def test_a_post_without_the_right_csrf_token_is_refused(desk, change, portal, outbox_mail, token):
    sign_in(portal, "bookero", ANNA, outbox_mail)
    data = {"decision": "object", "reason": "no"}
    if token is not None:
        data["csrf_token"] = token
    response = portal.post(f"/portal/bookero/changes/{change['id']}", data=data)
    assert response.status_code == 403
    assert objections(desk) == []


def test_a_post_from_another_origin_is_refused(desk, change, portal, outbox_mail):
    token = sign_in(portal, "bookero", ANNA, outbox_mail)
    data = {"decision": "object", "reason": "no", "csrf_token": token}
    url = f"/portal/bookero/changes/{change['id']}"
    assert (
        portal.post(url, data=data, headers={"Origin": "https://evil.example"}).status_code == 403
    )
    assert objections(desk) == []
    assert portal.post(url, data=data, headers={"Origin": "http://localhost"}).status_code == 303


def test_the_sign_in_form_needs_its_token_too(desk, portal, outbox_mail):
    portal.get("/portal/bookero/sign-in")
    response = portal.post("/portal/bookero/sign-in", data={"email": ANNA})
    assert response.status_code == 403
    assert outbox_mail.sent == []


# --- what the customer sees and does ----------------------------------------------------------


def test_object_from_the_portal_reaches_legal_staff_and_the_audit(
    desk, change, portal, outbox_mail
):
    token = sign_in(portal, "bookero", ANNA, outbox_mail)
    overview = portal.get("/portal/bookero/").get_data(as_text=True)
    assert "Mailer" in overview
    assert "Zapowiedziane zmiany" in overview
    page = portal.get(f"/portal/bookero/changes/{change['id']}")
    assert page.status_code == 200
    done = portal.post(
        f"/portal/bookero/changes/{change['id']}",
        data={
            "decision": "object",
            "reason": "Dane klientów <b>nie</b> do USA",
            "csrf_token": token,
        },
    )
    assert done.status_code == 303
    filed = objections(desk)
    assert [(o["customer"]["external_ref"], o["channel"], o["kind"]) for o in filed] == [
        ("BELLA", "portal", "objection")
    ]
    listed = portal.get("/portal/bookero/answers").get_data(as_text=True)
    assert "Mailer" in listed
    assert "&lt;b&gt;nie&lt;/b&gt;" in listed
    events = audit_events(desk.client, desk.org, desk.legal, action="objection.filed")
    assert events[0]["actor"].startswith("customer-portal:BELLA/")
    # A second answer is refused as by the API, and nothing is written.
    again = portal.post(
        f"/portal/bookero/changes/{change['id']}",
        data={"decision": "object", "reason": "", "csrf_token": token},
    )
    assert again.status_code == 409
    assert len(objections(desk)) == 1


def test_polish_by_default_english_on_request(desk, change, portal, outbox_mail):
    sign_in(portal, "bookero", ANNA, outbox_mail)
    assert "Podprocesorzy, którzy Państwa dotyczą" in portal.get("/portal/bookero/").text
    english = portal.get("/portal/bookero/?lang=en").text
    assert "Subprocessors that apply to you" in english
    # The choice stays for the session.
    assert "Objections and consents" in portal.get("/portal/bookero/answers").text


def test_ids_of_other_customers_and_organizations_are_not_found(
    desk, change, portal, outbox_mail, world, client, private_webhooks
):
    other = Desk(client, world, slug="rival")
    other.customer("RIV")
    rival_change = other.add(other.vendor(name="Rival vendor"), 40)
    token = sign_in(portal, "bookero", ANNA, outbox_mail)
    other_customer = desk.customers["OTHER"]
    hook = client.post(
        desk.url(f"/customers/{other_customer['id']}/webhooks"),
        json={"url": "https://127.0.0.1:9/other"},
        headers=other_customer["key"],
    )
    assert hook.status_code == 201, hook.json
    other_contact = other_customer["contacts"]
    assert portal.get(f"/portal/bookero/changes/{rival_change['id']}").status_code == 404
    assert portal.get("/portal/bookero/changes/99999999999").status_code == 404
    assert (
        portal.post(
            f"/portal/bookero/changes/{rival_change['id']}",
            data={"decision": "object", "csrf_token": token},
        ).status_code
        == 404
    )
    # The session belongs to bookero: the rival organization's portal does not know it.
    assert portal.get("/portal/rival/").status_code == 303
    with desk.client.application.app_context():
        from service.customers.models import CustomerContact

        contact_id = db.session.scalars(
            select(CustomerContact.id).where(CustomerContact.email == other_contact[0]["email"])
        ).one()
    for path in (f"contacts/{contact_id}/remove", f"contacts/{contact_id}/locale"):
        response = portal.post(
            f"/portal/bookero/{path}", data={"csrf_token": token, "locale": "en"}
        )
        assert response.status_code == 404
    response = portal.post(
        f"/portal/bookero/webhooks/{hook.json['id']}/remove", data={"csrf_token": token}
    )
    assert response.status_code == 404
    listed = client.get(
        desk.url(f"/customers/{other_customer['id']}/webhooks"), headers=other_customer["key"]
    )
    assert [h["id"] for h in listed.json["items"]] == [hook.json["id"]]
    text = portal.get("/portal/bookero/").text
    assert "Rival vendor" not in text
    assert other_contact[0]["email"] not in text


def test_contacts_are_managed_through_the_customer_service_and_audited(desk, portal, outbox_mail):
    token = sign_in(portal, "bookero", ANNA, outbox_mail)
    added = portal.post(
        "/portal/bookero/contacts",
        data={"email": "iod@salon.example", "name": "IOD", "locale": "en", "csrf_token": token},
    )
    assert added.status_code == 303
    bad = portal.post(
        "/portal/bookero/contacts",
        data={"email": "not an address", "locale": "pl", "csrf_token": token},
    )
    assert bad.status_code == 422
    customer = desk.client.get(
        desk.url(f"/customers/{desk.customers['BELLA']['id']}"), headers=desk.legal
    ).json
    assert [(c["email"], c["locale"]) for c in customer["contacts"]] == [
        (ANNA, "pl"),
        ("iod@salon.example", "en"),
    ]
    events = audit_events(desk.client, desk.org, desk.legal, action="customer.edited")
    assert events[0]["actor"].startswith("customer-portal:BELLA/")


def test_the_last_contact_cannot_be_removed(desk, portal, outbox_mail, ctx):
    from service.customers.models import CustomerContact

    token = sign_in(portal, "bookero", ANNA, outbox_mail)
    contact_id = db.session.scalars(
        select(CustomerContact.id).where(CustomerContact.email == ANNA)
    ).one()
    response = portal.post(
        f"/portal/bookero/contacts/{contact_id}/remove", data={"csrf_token": token}
    )
    assert response.status_code == 409
    db.session.expire_all()
    assert db.session.scalars(select(CustomerContact.id).where(CustomerContact.email == ANNA)).one()


def test_webhook_secret_is_shown_once_and_removal_is_audited(
    desk, portal, outbox_mail, private_webhooks
):
    token = sign_in(portal, "bookero", ANNA, outbox_mail)
    created = portal.post(
        "/portal/bookero/webhooks",
        data={"url": "https://127.0.0.1:9/hook", "csrf_token": token},
    )
    assert created.status_code == 201, created.text
    assert 'id="secret"' in created.text
    listing = portal.get("/portal/bookero/webhooks").text
    assert "127.0.0.1:9/hook" in listing
    assert 'id="secret"' not in listing
    hook_id = int(listing.split("/webhooks/")[1].split("/remove")[0])
    removed = portal.post(f"/portal/bookero/webhooks/{hook_id}/remove", data={"csrf_token": token})
    assert removed.status_code == 303
    actions = [
        e["action"] for e in audit_events(desk.client, desk.org, desk.legal, entity_type="webhook")
    ]
    assert actions == ["webhook.removed", "webhook.registered"]


def test_downloads_are_this_customers_list(desk, portal, outbox_mail):
    desk.listed(name="Shared host")
    desk.listed(name="Payments only", services=["payments"])
    sign_in(portal, "bookero", ANNA, outbox_mail)
    csv = portal.get("/portal/bookero/downloads/subprocessors.csv")
    assert csv.status_code == 200
    assert csv.mimetype == "text/csv"
    assert "Shared host" in csv.text
    assert "Payments only" not in csv.text
    annex = portal.get("/portal/bookero/downloads/annex.html")
    assert annex.status_code == 200
    assert "Shared host" in annex.text


def test_sign_in_and_out_are_audited(desk, portal, outbox_mail):
    token = sign_in(portal, "bookero", ANNA, outbox_mail)
    portal.post("/portal/bookero/sign-out", data={"csrf_token": token})
    actions = [
        e["action"]
        for e in audit_events(desk.client, desk.org, desk.legal)
        if e["action"].startswith("portal.")
    ]
    assert actions == ["portal.signed_out", "portal.signed_in", "portal.sign_in_requested"]


def test_the_notice_email_links_to_the_portal_sign_in(desk, outbox_mail, change):
    notice = next(m for m in outbox_mail.sent if m["To"].addresses[0].addr_spec == ANNA)
    text = notice.get_body(("plain",)).get_content()
    assert "/portal/bookero/sign-in?email=anna%40salon.example&lang=pl" in text


def test_the_agreement_email_links_to_the_portal_sign_in(desk, outbox_mail):
    publish_agreement(desk)
    [message] = [m for m in outbox_mail.sent if m["To"].addresses[0].addr_spec == ANNA]
    portal_link = "/portal/bookero/sign-in?email=anna%40salon.example&amp;lang=pl"
    assert portal_link.replace("&amp;", "&") in message.get_body(("plain",)).get_content()
    assert portal_link in message.get_body(("html",)).get_content()


def test_an_address_of_two_customers_gets_one_link_each(desk, portal, outbox_mail):
    desk.customer("SECOND", contacts=[{"email": ANNA, "locale": "en"}])
    request_link(portal, "bookero", ANNA)
    links = sign_in_links(outbox_mail.sent, ANNA)
    assert len(links) == 2
    names = sorted(m.get_body(("plain",)).get_content().split("\n")[2] for m in outbox_mail.sent)
    assert any("Salon BELLA" in n for n in names)
    assert any("Salon SECOND" in n for n in names)


def test_sign_in_requests_are_rate_limited_per_client_address(desk, portal, monkeypatch, app):
    monkeypatch.setitem(app.config, "RATE_LIMIT_ENABLED", True)
    monkeypatch.setitem(app.config, "RATE_LIMIT_SIGN_IN", 2)
    monkeypatch.setitem(app.config, "RATE_LIMIT_WINDOW_SECONDS", 3600)
    address = {"REMOTE_ADDR": f"10.99.{uuid.uuid4().int % 250}.9"}
    token = csrf(portal.get("/portal/bookero/sign-in"))
    statuses = [
        portal.post(
            "/portal/bookero/sign-in",
            data={"email": f"x{i}@salon.example", "csrf_token": token},
            environ_base=address,
        ).status_code
        for i in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_an_unknown_organization_is_a_page_not_found(portal):
    response = portal.get("/portal/nobody/sign-in", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_a_refused_webhook_url_writes_nothing(desk, portal, outbox_mail):
    token = sign_in(portal, "bookero", ANNA, outbox_mail)
    response = portal.post(
        "/portal/bookero/webhooks", data={"url": "http://127.0.0.1/hook", "csrf_token": token}
    )
    assert response.status_code == 422
    assert 'role="alert"' in response.text
    assert audit_events(desk.client, desk.org, desk.legal, entity_type="webhook") == []


def test_agreement_page_shows_the_version_and_its_evidence(desk, portal, outbox_mail, ctx):
    from service.agreements.models import AgreementVersion
    from service.customers.models import Customer

    version = AgreementVersion(
        organization_id=desk.org["id"],
        version="2026-01",
        language="pl",
        text_sha256="ab" * 32,
        effective_on=desk.today(),
    )
    db.session.add(version)
    db.session.flush()
    customer = db.session.get(Customer, desk.customers["BELLA"]["id"])
    customer.agreement.agreement_version_id = version.id
    customer.agreement.accepted_at = clock.now()
    # Evidence kept on the agreement alone (no acceptance row), labelled like any other.
    customer.agreement.evidence = {
        "ip_address": "192.0.2.1",
        "accepted_by_name": "<i>Anna</i>",
        "accepted_by_email": ANNA,
        "user_agent": None,
        "channel": "import",
    }
    db.session.commit()
    sign_in(portal, "bookero", ANNA, outbox_mail)
    page = portal.get("/portal/bookero/agreement").text
    assert "2026-01" in page
    assert "ab" * 32 in page
    assert "<dt>Adres IP</dt><dd>192.0.2.1</dd>" in page
    assert "&lt;i&gt;Anna&lt;/i&gt;" in page
    assert "przeniesiona z wcześniejszej ewidencji" in page
    assert "None" not in page


def test_consent_under_specific_authorisation(desk, portal, outbox_mail):
    desk.customer("SPEC", authorisation="specific", contacts=[{"email": "spec@salon.example"}])
    change = desk.add(desk.vendor(name="Consent vendor"), 40)
    token = sign_in(portal, "bookero", "spec@salon.example", outbox_mail)
    page = portal.get(f"/portal/bookero/changes/{change['id']}").text
    assert 'value="consent"' in page
    assert 'value="object"' not in page
    done = portal.post(
        f"/portal/bookero/changes/{change['id']}",
        data={"decision": "consent", "reason": "", "csrf_token": token},
    )
    assert done.status_code == 303
    assert [(o["kind"], o["status"], o["channel"]) for o in objections(desk)] == [
        ("consent", "recorded", "portal")
    ]


def test_removing_a_contact_ends_its_sessions(desk, portal, outbox_mail, app, ctx):
    from service.customers.models import CustomerContact

    token = sign_in(portal, "bookero", ANNA, outbox_mail)
    portal.post(
        "/portal/bookero/contacts",
        data={"email": "iod@salon.example", "locale": "pl", "csrf_token": token},
    )
    other = app.test_client()
    sign_in(other, "bookero", "iod@salon.example", outbox_mail)
    iod = db.session.scalars(
        select(CustomerContact.id).where(CustomerContact.email == "iod@salon.example")
    ).one()
    removed = portal.post(f"/portal/bookero/contacts/{iod}/remove", data={"csrf_token": token})
    assert removed.status_code == 303
    assert other.get("/portal/bookero/").status_code == 303
    assert portal.get("/portal/bookero/").status_code == 200


# --- accepting a new agreement version ------------------------------------------------------

AGREEMENT_PL = (
    "# Umowa 2027\n\nPrzetwarzamy dane **wyłącznie** na polecenie.\n\n<script>x()</script>\n"
)
AGREEMENT_EN = "# Agreement 2027\n\nWe process data **only** on instructions."


def publish_agreement(desk, label: str = "2027-01", texts=None) -> None:
    body = {
        "version": label,
        "effective_on": desk.day(30),
        "publish": True,
        "texts": texts
        or [
            {"language": "en", "text": AGREEMENT_EN, "summary": "Breach notice in 24 hours."},
            {"language": "pl", "text": AGREEMENT_PL, "summary": "Naruszenia w 24 godziny."},
        ],
    }
    response = desk.client.post(desk.url("/agreements"), json=body, headers=desk.legal)
    assert response.status_code == 201, response.json


def acceptances(desk, ref: str) -> list[dict]:
    customer_id = desk.customers[ref]["id"]
    response = desk.client.get(
        desk.url(f"/customers/{customer_id}/agreement-evidence"), headers=desk.legal
    )
    assert response.status_code == 200, response.json
    return response.json["acceptances"]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def accept_form(page: str) -> dict:
    hidden = r'name="(version|language|text_sha256|csrf_token)" value="([^"]*)"'
    found = dict(re.findall(hidden, page))
    assert set(found) == {"version", "language", "text_sha256", "csrf_token"}, page
    return found


def test_new_agreement_version_is_shown_and_accepted_in_the_portal(desk, portal, outbox_mail):
    publish_agreement(desk)
    sign_in(portal, "bookero", ANNA, outbox_mail)
    overview = portal.get("/portal/bookero/").text
    assert "2027-01" in overview
    assert "/portal/bookero/agreement#waiting" in overview
    page = portal.get("/portal/bookero/agreement").text
    # The Polish text for a Polish session, rendered as the public pages render it.
    assert "<h2>Umowa 2027</h2>" in page  # under the page's own <h1>
    assert "<strong>wyłącznie</strong>" in page
    assert "<script>x()" not in page
    assert "&lt;script&gt;" in page
    assert "Naruszenia w 24 godziny." in page
    assert sha(AGREEMENT_PL) in page
    form = accept_form(page)
    assert form["language"] == "pl"
    assert form["text_sha256"] == sha(AGREEMENT_PL)
    done = portal.post(
        "/portal/bookero/agreement",
        data={**form, "name": "Anna Nowak"},
        headers={"User-Agent": "TestBrowser/1.0"},
    )
    assert done.status_code == 303
    assert done.location.endswith("/agreement?accepted=1")
    [accepted] = acceptances(desk, "BELLA")
    assert accepted["channel"] == "portal"
    assert accepted["text_sha256"] == sha(AGREEMENT_PL)
    assert accepted["language"] == "pl"
    assert (accepted["accepted_by_name"], accepted["accepted_by_email"]) == ("Anna Nowak", ANNA)
    assert accepted["user_agent"] == "TestBrowser/1.0"
    assert accepted["ip_address"]
    [event] = audit_events(desk.client, desk.org, desk.legal, action="agreement.accepted")
    assert event["actor"].startswith("customer-portal:BELLA/contact-")
    after = portal.get("/portal/bookero/agreement?accepted=1").text
    assert 'name="text_sha256"' not in after
    assert "Anna Nowak" in after
    assert sha(AGREEMENT_PL) in after
    assert "portal" in after
    assert "/portal/bookero/agreement#waiting" not in portal.get("/portal/bookero/").text
    # Once is enough: the same form again is a message, not a 500.
    again = portal.post("/portal/bookero/agreement", data={**form, "name": "Anna Nowak"})
    assert again.status_code == 409
    assert "2027-01" in again.text
    assert len(acceptances(desk, "BELLA")) == 1
    # Another customer of the organization is still asked.
    assert acceptances(desk, "OTHER") == []


def test_agreement_falls_back_to_another_language(desk, portal, outbox_mail):
    publish_agreement(desk, texts=[{"language": "en", "text": AGREEMENT_EN, "summary": "S"}])
    sign_in(portal, "bookero", ANNA, outbox_mail)
    page = portal.get("/portal/bookero/agreement").text
    assert "<h2>Agreement 2027</h2>" in page
    assert accept_form(page)["language"] == "en"


def test_agreement_acceptance_needs_the_csrf_token_and_the_newest_version(
    desk, portal, outbox_mail
):
    publish_agreement(desk)
    sign_in(portal, "bookero", ANNA, outbox_mail)
    form = accept_form(portal.get("/portal/bookero/agreement").text)
    forged = portal.post(
        "/portal/bookero/agreement", data={**form, "csrf_token": "x" * 43, "name": "A"}
    )
    assert forged.status_code == 403
    foreign = portal.post(
        "/portal/bookero/agreement",
        data={**form, "name": "A"},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    unnamed = portal.post("/portal/bookero/agreement", data={**form, "name": " "})
    assert unnamed.status_code == 422
    # A version published while the page was open: the old form is refused, clearly.
    publish_agreement(desk, "2027-02")
    stale = portal.post("/portal/bookero/agreement", data={**form, "name": "A"})
    assert stale.status_code == 409
    assert "2027-02" in stale.text
    assert acceptances(desk, "BELLA") == []


def test_ended_customer_cannot_accept_in_the_portal(desk, portal, outbox_mail):
    gone = desk.customer(
        "GONE", started_on=desk.day(-30), contacts=[{"email": "gone@salon.example", "locale": "en"}]
    )
    publish_agreement(desk)
    sign_in(portal, "bookero", "gone@salon.example", outbox_mail)
    form = accept_form(portal.get("/portal/bookero/agreement").text)
    ended = desk.client.post(
        desk.url(f"/customers/{gone['id']}/offboarding"),
        json={"reason": "left", "ended_on": desk.day(-1)},
        headers=desk.legal,
    )
    assert ended.status_code == 200, ended.json
    assert 'name="text_sha256"' not in portal.get("/portal/bookero/agreement").text
    refused = portal.post("/portal/bookero/agreement", data={**form, "name": "G"})
    assert refused.status_code == 409
    assert "ended" in refused.text
    assert acceptances(desk, "GONE") == []
