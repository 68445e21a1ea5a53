"""Safe methods never act: every page route x every method, with real links and a session.

Link scanners open links with HEAD and OPTIONS as well as GET; only a form's POST may act.
The walk covers every non-API route of the app's URL map, so a page added later is walked
too (a route with a parameter this file cannot fill fails the test instead of being skipped).
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service.agreements.links import accept_token
from service.customers.models import CustomerContact
from service.extensions import db
from service.organizations.models import Organization
from service.subscriptions import links as subscription_links
from service.subscriptions.models import Subscription
from tests.notice_kit import Desk
from tests.portal_kit import csrf, path_of, request_link, sign_in, sign_in_links
from tests.test_portal import publish_agreement

METHODS = ("GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE")
ANNA, BOB = "anna@salon.example", "bob@salon.example"
# The idle clock and language of the walking session move on every page it reads.
VOLATILE = {("portal_sessions", "last_seen_at"), ("portal_sessions", "locale")}
# What a scanner could send along: every field any page form reads.
FORM = {
    "decision": "object",
    "reason": "scanner",
    "action": "erase",
    "email": ANNA,
    "name": "Scanner",
    "authorised": "yes",
    "language": "en",
    "text_sha256": "",
    "locale": "en",
    "url": "https://hooks.example.com/x",
}


def state() -> dict:
    """Every row of every table, minus the session's idle clock."""
    snapshot = {}
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if (table.name, c.name) not in VOLATILE]
        rows = db.session.execute(select(*columns)).all()
        snapshot[table.name] = sorted(map(repr, rows))
    db.session.rollback()
    return snapshot


@pytest.fixture
def pages(client, world, app, outbox_mail):
    """A customer with a notice, an agreement to accept, a subscriber, a signed-in session
    (the client's cookies) and an unused sign-in link; the value of each URL parameter."""
    desk = Desk(client, world)
    customer = desk.customer(
        "BELLA", contacts=[{"email": ANNA, "locale": "pl"}, {"email": BOB, "locale": "en"}]
    )
    change = desk.add(desk.vendor(name="Mailer", services=["bookings"]), 40)
    answer = desk.notices_of(change["id"])["BELLA"]["answer_url"]
    publish_agreement(desk, "2027-01")
    subscribed = client.post(
        desk.url("/subscriptions"), json={"email": "reader@example.org", "locale": "en"}
    )
    assert subscribed.status_code == 202
    token = sign_in(client, "bookero", ANNA, outbox_mail)
    assert request_link(app.test_client(), "bookero", BOB).status_code == 200
    with app.app_context():
        org = db.session.scalar(select(Organization).where(Organization.slug == "bookero"))
        subscription = db.session.scalar(select(Subscription))
        values = {
            "org": "bookero",
            "version": "2027-01",
            "change_id": change["id"],
            "contact_id": db.session.scalar(
                select(CustomerContact.id).where(CustomerContact.email == BOB)
            ),
            "webhook_id": 1,
            "filename": "css/portal.css",
            "answers.answer_page": answer.rsplit("/", 1)[1],
            "agreement_pages.accept_page": accept_token(org, customer["id"], "2027-01", ANNA),
            "subscription_pages.confirm_page": _token(
                subscription_links.confirm_url, org, subscription
            ),
            "subscription_pages.unsubscribe_page": _token(
                subscription_links.unsubscribe_url, org, subscription
            ),
            "portal.sign_in_link": path_of(sign_in_links(outbox_mail.sent, BOB)[-1]).rsplit("/", 1)[
                1
            ],
        }
    return {"values": values, "csrf": token}


def _token(url_of, org, subscription) -> str:
    return url_of(org, subscription).rsplit("/", 1)[1]


def _page_paths(app, values: dict) -> dict[str, set[str]]:
    """Each non-API path of the URL map, filled in, with the methods routed there."""
    paths: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            continue
        filled = {name: values.get(rule.endpoint, values.get(name)) for name in rule.arguments}
        missing = [name for name, value in filled.items() if value is None]
        assert not missing, f"no value for {missing} of {rule.rule}; add one to `pages`"
        path = rule.rule
        for name, value in filled.items():
            path = path.replace(f"<{name}>", str(value)).replace(f"<int:{name}>", str(value))
            path = path.replace(f"<path:{name}>", str(value))
        paths.setdefault(path, set()).update(rule.methods)
    return paths


def test_no_safe_or_unrouted_method_acts_on_any_page(client, app, pages):
    paths = _page_paths(app, pages["values"])
    form = {**FORM, "csrf_token": pages["csrf"]}
    with app.app_context():
        before = state()
    walked = 0
    for path, routed in sorted(paths.items()):
        for method in METHODS:
            if method == "POST" and "POST" in routed:
                continue  # the one method that may act
            response = client.open(
                path, method=method, data=form, headers={"Origin": "http://localhost"}
            )
            walked += 1
            if method not in routed:
                assert response.status_code == 405, (method, path)
            if method == "HEAD":
                assert response.get_data() == b"", path
            response.close()  # static files answer with an open file
            with app.app_context():
                assert state() == before, f"{method} {path} changed the database"
    assert walked > 200


def test_head_answers_as_get_without_a_body(client, pages):
    token = pages["values"]["answers.answer_page"]
    got = client.get(f"/orgs/bookero/answers/{token}")
    head = client.head(f"/orgs/bookero/answers/{token}")
    assert head.status_code == got.status_code == 200
    assert head.get_data() == b""
    assert head.headers["Content-Length"] == got.headers["Content-Length"]


def test_links_walked_by_every_safe_method_still_work(client, app, pages):
    values = pages["values"]
    link = f"/portal/bookero/sign-in/{values['portal.sign_in_link']}"
    answer = f"/orgs/bookero/answers/{values['answers.answer_page']}"
    for method in ("GET", "HEAD", "OPTIONS"):
        for path in (link, answer):
            client.open(path, method=method, data={**FORM, "csrf_token": pages["csrf"]})
    browser = app.test_client()
    page = browser.get(link)
    assert browser.post(link, data={"csrf_token": csrf(page)}).status_code == 303
    assert client.post(answer, data={"decision": "object"}).status_code == 200


def test_head_counts_against_the_link_rate_limit(client, app, pages, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMIT_ENABLED", True)
    monkeypatch.setitem(app.config, "RATE_LIMIT_LINKS", 3)
    monkeypatch.setitem(app.config, "RATE_LIMIT_WINDOW_SECONDS", 3600)
    address = {"REMOTE_ADDR": "198.51.100.77"}
    link = f"/orgs/bookero/unsubscribe/{pages['values']['subscription_pages.unsubscribe_page']}"
    for _ in range(3):
        assert client.head(link, environ_base=address).status_code == 200
    assert client.head(link, environ_base=address).status_code == 429
