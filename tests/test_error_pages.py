"""Errors for people and for programs: a browser gets a page in its language with a way on,
an API client keeps problem+json; the home page and the portal's entrance are pages.

Browser-like means Accept preferring text/html (as every browser sends on navigation);
API-like means Accept: application/json, or no Accept at all.
"""

from __future__ import annotations

import re

import pytest

from service import create_app
from service.extensions import db
from service.web import wants_html
from tests.notice_kit import Desk, assert_problem, craft_token
from tests.portal_kit import sign_in

NAVIGATION = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
API_LIKE = [{"Accept": "application/json"}, {}]
TITLES = {
    "not_found": {"pl": "Nie znaleziono strony", "en": "Page not found"},
    "invalid_link": {"pl": "Link jest nieważny", "en": "This link is not valid"},
}
WAYS = {
    "public": {"pl": "Wykaz dalszych podmiotów przetwarzających", "en": "List of subprocessors"},
    "portal": {"pl": "Zaloguj się do portalu klienta", "en": "Sign in to the customer portal"},
    "home": {"pl": "Przejdź do strony głównej", "en": "Go to the home page"},
}
ANNA, JOHN = "anna@salon.example", "john@salon.example"


def browser(lang: str) -> dict:
    return {"Accept": NAVIGATION, "Accept-Language": f"{lang},de;q=0.5"}


def links(response) -> list[str]:
    return re.findall(r'<a href="([^"]+)"', response.get_data(as_text=True))


def assert_page(response, status: int, lang: str, title: str, way: str, href: str) -> str:
    """An error page: its status, in `lang`, saying `title`, with a link `way` to `href`."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, text
    assert response.mimetype == "text/html"
    assert f'<html lang="{lang}">' in text
    assert f"<h1>{title}</h1>" in text
    assert f'<a href="{href}">{way}' in text
    assert response.headers["Cache-Control"] == "no-store"
    assert "Accept" in response.headers["Vary"]
    assert "{" not in text  # no unformatted placeholder
    return text


def assert_leads_to_list(response, status: int, lang: str, title: str) -> str:
    """An error page of bookero's that offers its public list."""
    way = f"{WAYS['public'][lang]}: bookero sp. z o.o."
    href = f"/orgs/bookero/subprocessors?lang={lang}"
    return assert_page(response, status, lang, title, way, href)


@pytest.fixture
def desk(client, world) -> Desk:
    d = Desk(client, world)
    d.customer("BELLA", contacts=[{"email": ANNA, "locale": "pl"}])
    return d


@pytest.fixture
def notice_link(desk) -> str:
    """The path of BELLA's answer link to a change that asks for its objection."""
    change = desk.add(desk.vendor(name="Mailer", services=["bookings"]), 40)
    return desk.link_path(desk.notices_of(change["id"])["BELLA"])


# --- the one decision -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "accept", "page"),
    [
        ("/orgs/x/answers/t", NAVIGATION, True),
        ("/orgs/x/answers/t", "text/html", True),
        ("/orgs/x/answers/t", "application/json", False),
        ("/orgs/x/answers/t", "*/*", False),
        ("/orgs/x/answers/t", None, False),
        ("/orgs/x/answers/t", "application/problem+json, text/html;q=0.5", False),
        ("/api/v1/orgs/x/changes", NAVIGATION, False),
        ("/openapi.json", NAVIGATION, False),
        ("/readyz", NAVIGATION, False),
    ],
)
def test_pages_go_to_browsers_on_pages_people_open(app, path, accept, page):
    headers = {"Accept": accept} if accept else {}
    with app.test_request_context(path, headers=headers):
        assert wants_html() is page


# --- invalid and expired links ------------------------------------------------------------------

LINK_PATHS = [
    "/orgs/bookero/answers/forged",
    "/orgs/bookero/unsubscribe/forged",
    "/orgs/bookero/subscriptions/confirm/forged",
]


@pytest.mark.parametrize("lang", ["pl", "en"])
@pytest.mark.parametrize("path", LINK_PATHS)
def test_an_invalid_link_is_a_page_leading_to_the_public_list(client, desk, path, lang):
    for method in (client.get, client.post):
        response = method(path, headers=browser(lang))
        assert_leads_to_list(response, 404, lang, TITLES["invalid_link"][lang])


@pytest.mark.parametrize("path", LINK_PATHS)
@pytest.mark.parametrize("headers", API_LIKE)
def test_an_invalid_link_is_a_problem_to_programs(client, desk, path, headers):
    body = assert_problem(client.get(path, headers=headers), 404)
    assert body["detail"].startswith("This link is not valid")


def test_an_expired_answer_link_is_a_page(client, desk, notice_link, app):
    valid = client.get(notice_link, headers=browser("en"))
    assert valid.status_code == 200
    token = notice_link.rsplit("/", 1)[1]
    payload = _payload_of(app, token)
    age = app.config["NOTICE_LINK_MAX_AGE_DAYS"] + 1
    expired = f"/orgs/bookero/answers/{craft_token(app, payload, age_days=age)}"
    response = client.get(expired, headers=browser("en"))
    text = assert_leads_to_list(response, 404, "en", TITLES["invalid_link"]["en"])
    assert "expired" in text
    assert_problem(client.get(expired), 404)


def _payload_of(app, token: str) -> dict:
    from itsdangerous import URLSafeTimedSerializer

    from service.notices.links import SALT

    return URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=SALT).loads(token)


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_a_link_of_an_unknown_organization_leads_home(client, desk, lang):
    for path in ("/orgs/nobody/answers/forged", "/orgs/nobody/unsubscribe/forged"):
        assert_page(
            client.get(path, headers=browser(lang)),
            404,
            lang,
            TITLES["not_found"][lang],
            WAYS["home"][lang],
            "/",
        )
        assert_problem(client.get(path), 404)


# --- unknown pages ------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_unknown_pages_under_an_organization_lead_to_its_pages(client, desk, lang):
    public = client.get("/orgs/bookero/no-such-page", headers=browser(lang))
    assert_leads_to_list(public, 404, lang, TITLES["not_found"][lang])
    portal = client.get("/portal/bookero/no-such-page", headers=browser(lang))
    assert_page(
        portal,
        404,
        lang,
        TITLES["not_found"][lang],
        f"{WAYS['portal'][lang]}: bookero sp. z o.o.",
        f"/portal/bookero/sign-in?lang={lang}",
    )


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_the_portal_of_an_unknown_organization_leads_home(client, desk, lang):
    for path in ("/portal/nobody/", "/portal/nobody/sign-in", "/portal/nobody/changes/1"):
        response = client.get(path, headers=browser(lang))
        assert_page(response, 404, lang, TITLES["not_found"][lang], WAYS["home"][lang], "/")


@pytest.mark.parametrize("headers", API_LIKE)
def test_unknown_pages_are_problems_to_programs(client, desk, headers):
    paths = ("/orgs/bookero/no-such-page", "/portal/bookero/no-such-page", "/portal/nobody/")
    for path in (*paths, "/nowhere"):
        response = client.get(path, headers=headers)
        assert_problem(response, 404)
        # The same address is a page to a browser: a cache must keep the two apart.
        assert "Accept" in response.headers["Vary"]


def test_an_api_path_stays_problem_json_for_a_browser(client, desk):
    assert_problem(client.get("/api/v1/orgs/bookero/nowhere", headers=browser("pl")), 404)


def test_an_organization_name_is_escaped_on_error_pages(client, world):
    world.org("markup", legal_name="<script>alert(1)</script> sp. z o.o.")
    text = client.get("/orgs/markup/answers/forged", headers=browser("pl")).get_data(as_text=True)
    assert "<script>alert" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; sp. z o.o." in text


# --- the address left after subscribing -------------------------------------------------------


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_reloading_the_subscribe_address_leads_back_to_the_form(client, desk, lang):
    response = client.get("/orgs/bookero/subprocessors/subscribe", headers=browser(lang))
    assert response.status_code == 303
    assert response.headers["Location"] == f"/orgs/bookero/subprocessors?lang={lang}#subscribe"
    form = client.get(response.headers["Location"], headers=browser(lang))
    assert form.status_code == 200
    assert 'id="subscribe"' in form.get_data(as_text=True)


@pytest.mark.parametrize("headers", API_LIKE)
def test_get_on_the_subscribe_address_is_405_to_programs(client, desk, headers):
    response = client.get("/orgs/bookero/subprocessors/subscribe", headers=headers)
    assert_problem(response, 405)
    assert response.headers["Allow"] == "POST"


def test_the_subscribe_address_of_an_unknown_organization_is_not_found(client, desk):
    response = client.get("/orgs/nobody/subprocessors/subscribe", headers=browser("en"))
    assert_page(response, 404, "en", TITLES["not_found"]["en"], WAYS["home"]["en"], "/")


# --- the home page and the portal's entrance ---------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "heading"),
    [("pl", "Rejestr dalszych podmiotów przetwarzających"), ("en", "Register of subprocessors")],
)
def test_the_home_page_says_what_this_is_and_where_to_go(client, world, lang, heading):
    world.org("bookero")
    world.org("markup", legal_name="<b>Markup</b> Ltd")
    response = client.get("/", headers=browser(lang))
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'<html lang="{lang}">' in text
    assert f"<h1>{heading}</h1>" in text
    found = links(response)
    for href in (
        f"/orgs/bookero/subprocessors?lang={lang}",
        f"/orgs/markup/subprocessors?lang={lang}",
        f"/portal/?lang={lang}",
        "/docs",
        "/openapi.json",
        "/healthz",
    ):
        assert href in found
    assert "&lt;b&gt;Markup&lt;/b&gt; Ltd" in text
    # Every link on it answers (the language switch is relative to the page).
    for href in found:
        target = href if href.startswith("/") else "/" + href
        assert client.get(target, headers=browser(lang)).status_code == 200, href


def test_the_home_page_follows_the_language_asked_for(client, world):
    response = client.get("/?lang=en", headers=browser("pl"))
    assert '<html lang="en">' in response.get_data(as_text=True)


@pytest.mark.parametrize("lang", ["pl", "en"])
def test_the_portal_entrance_offers_each_organizations_sign_in(client, world, lang):
    world.org("bookero")
    moved = client.get("/portal", headers=browser(lang))
    assert moved.status_code == 308
    response = client.get(moved.headers["Location"], headers=browser(lang))
    assert response.status_code == 200
    assert f'<html lang="{lang}">' in response.get_data(as_text=True)
    assert f"/portal/bookero/sign-in?lang={lang}" in links(response)
    assert client.get(f"/portal/bookero/sign-in?lang={lang}").status_code == 200


# --- too many requests ---------------------------------------------------------------------------


@pytest.fixture
def limited(app, monkeypatch, desk):
    monkeypatch.setitem(app.config, "RATE_LIMIT_ENABLED", True)
    monkeypatch.setitem(app.config, "RATE_LIMIT_LINKS", 1)
    monkeypatch.setitem(app.config, "RATE_LIMIT_WINDOW_SECONDS", 3600)


@pytest.mark.parametrize(
    ("lang", "title", "wait"),
    [
        ("pl", "Zbyt wiele prób", "Spróbuj ponownie za "),
        ("en", "Too many attempts", "Try again in "),
    ],
)
def test_the_429_page_is_in_the_readers_language(client, limited, lang, title, wait):
    address = {"REMOTE_ADDR": f"192.0.2.{10 if lang == 'pl' else 11}"}
    path = "/orgs/bookero/unsubscribe/forged"
    assert client.get(path, headers=browser(lang), environ_base=address).status_code == 404
    refused = client.get(path, headers=browser(lang), environ_base=address)
    text = assert_leads_to_list(refused, 429, lang, title)
    assert wait in text
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    body = assert_problem(client.get(path, environ_base=address), 429)
    assert body["type"].endswith("/rate-limited")


def test_errors_of_a_mailed_link_speak_the_recipients_language(client, limited, desk, app):
    """A link mailed to an English contact, opened by a Polish browser: its page would be
    English, so its errors are too (here: it names no notice, then too many attempts)."""
    payload = {"o": desk.org["id"], "n": 999, "ch": 999, "c": 999, "l": "en"}
    path = f"/orgs/bookero/answers/{craft_token(app, payload)}"
    address = {"REMOTE_ADDR": "192.0.2.12"}
    missing = client.get(path, headers=browser("pl"), environ_base=address)
    assert_leads_to_list(missing, 404, "en", TITLES["invalid_link"]["en"])
    refused = client.get(path, headers=browser("pl"), environ_base=address)
    assert_leads_to_list(refused, 429, "en", "Too many attempts")


# --- errors inside pages are in the page's language ---------------------------------------------


def test_a_second_answer_is_refused_in_the_pages_language(client, desk, notice_link):
    assert client.post(notice_link, data={"decision": "object"}).status_code == 200
    again = client.post(notice_link, data={"decision": "object"}, headers=browser("en"))
    text = again.get_data(as_text=True)
    assert again.status_code == 409
    assert '<html lang="pl">' in text  # BELLA's only contact reads Polish
    assert "Odpowiedź na to powiadomienie została już zarejestrowana" in text
    assert "already answered" not in text


def test_a_refused_webhook_address_is_explained_in_polish(client, desk, outbox_mail, app):
    portal = app.test_client()
    token = sign_in(portal, "bookero", ANNA, outbox_mail)
    refused = portal.post(
        "/portal/bookero/webhooks", data={"url": "http://hooks.example/x", "csrf_token": token}
    )
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert '<html lang="pl">' in text
    assert "Tego adresu nie można użyć dla webhooka" in text
    assert "must start with" not in text


# --- the answer page speaks the language of the contact the link was mailed to ------------------


def test_the_answer_page_opens_in_the_recipients_language(client, world, outbox_mail):
    desk = Desk(client, world)
    desk.customer(
        "DUO", contacts=[{"email": ANNA, "locale": "pl"}, {"email": JOHN, "locale": "en"}]
    )
    desk.add(desk.vendor(name="Mailer", services=["bookings"]), 40)
    for address, lang in ((JOHN, "en"), (ANNA, "pl")):
        message = next(m for m in outbox_mail.sent if m["To"].addresses[0].addr_spec == address)
        text = message.get_body(("plain",)).get_content()
        link = re.search(r"https?://\S+(/orgs/bookero/answers/[A-Za-z0-9_.-]+)", text).group(1)
        # No Accept-Language: the link alone decides.
        page = client.get(link, headers={"Accept": NAVIGATION})
        assert page.status_code == 200
        assert f'<html lang="{lang}">' in page.get_data(as_text=True)


# --- an unexpected failure ------------------------------------------------------------------------


@pytest.fixture
def failing_app(app, database_url):
    fresh = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})

    @fresh.route("/orgs/<org>/boom")
    def boom(org: str):
        raise RuntimeError("secret internals: password=hunter2")

    yield fresh
    with fresh.app_context():
        db.engine.dispose()  # its pool is its own; leave no connection open
    # create_app makes its Celery app the default; give that back to the shared app.
    app.extensions["celery"].set_default()


@pytest.mark.parametrize(
    ("lang", "title"), [("pl", "Wystąpił nieoczekiwany błąd"), ("en", "Something went wrong")]
)
def test_an_unexpected_failure_is_a_page_without_internals(failing_app, desk, lang, title):
    client = failing_app.test_client()
    response = client.get("/orgs/bookero/boom", headers=browser(lang))
    text = assert_leads_to_list(response, 500, lang, title)
    assert "hunter2" not in text
    assert "RuntimeError" not in text
    problem = assert_problem(client.get("/orgs/bookero/boom"), 500)
    assert "hunter2" not in str(problem)
