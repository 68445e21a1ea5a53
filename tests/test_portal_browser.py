"""The customer portal in a real browser (Debian's Chromium through Playwright), with its
mail caught by a real SMTP server (aiosmtpd): from the notice e-mail to the sign-in link,
the overview in Polish, an objection, and the objection as legal staff see it in the API.
Keyboard only as well; screenshots at desktop and phone width are kept under
test-artifacts/.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from service.mail import delivery as mail_delivery
from service.mail.senders import SMTPSender
from tests import browser_kit
from tests.browser_kit import check_page, new_page
from tests.notice_kit import Desk
from tests.portal_kit import LINK, plain_text
from tests.test_delivery_real import SmtpSink, _free_port

pytestmark = pytest.mark.browser
browser = browser_kit.browser
server = browser_kit.server

ANNA = "recepcja@salon-bella.example.com"
JAMES = "owner@gentlemen.example.com"
PORTAL_LINK = re.compile(r"https?://\S+/portal/[a-z0-9-]+/sign-in\?\S+")


@pytest.fixture
def smtp(server) -> Iterator[SmtpSink]:
    """Every message of the app goes over SMTP to aiosmtpd (links point at the test server)."""
    sink = SmtpSink(_free_port())
    sink.start()
    mail_delivery.use_sender(lambda: SMTPSender("127.0.0.1", sink.port, timeout=5))
    yield sink
    mail_delivery.use_sender(None)
    sink.stop()


@pytest.fixture
def desk(client, world, smtp) -> Desk:
    d = Desk(client, world)
    d.customer("BK-0001", name="Salon Urody Bella", contacts=[{"email": ANNA, "locale": "pl"}])
    d.customer("BK-0002", name="Gentlemen", contacts=[{"email": JAMES, "locale": "en"}])
    d.listed(
        name="Stripe",
        legal_entity="Stripe Payments Europe, Limited",
        country="IE",
        locations=[
            {"country": "IE", "mechanism": "none", "activity": "payments"},
            {
                "country": "US",
                "mechanism": "scc",
                "scc_module": 3,
                "scc_signed_on": "2021-07-01",
                "activity": "fraud",
            },
        ],
    )
    d.add(d.vendor(name="Smartsupp", legal_entity="Smartsupp.com, s.r.o.", country="CZ"), 40)
    return d


def mail_to(smtp: SmtpSink, address: str, pattern: re.Pattern, seen: int = 0) -> str:
    """The first link matching `pattern` in a message to `address` after the first `seen`."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = [
            match.group(0)
            for received in smtp.snapshot()
            if address in received.rcpt_tos
            and (match := pattern.search(plain_text(received.parsed())))
        ]
        if len(found) > seen:
            return found[seen]
        time.sleep(0.1)
    pytest.fail(f"no message with {pattern.pattern} reached {address}")


@pytest.mark.parametrize("width", browser_kit.WIDTHS)
def test_from_the_notice_email_to_an_objection_legal_staff_see(
    browser, server, smtp, desk, client, width
):
    problems: list[str] = []
    context, page = new_page(browser, server, width, problems)
    try:
        # The notice e-mail links to the portal, with the address filled in.
        page.goto(mail_to(smtp, ANNA, PORTAL_LINK))
        assert page.locator("#email").input_value() == ANNA
        check_page(page, "portal-sign-in", width)
        page.get_by_role("button", name="Wyślij link do logowania").click()
        assert page.get_by_role("heading", level=1).inner_text() == "Sprawdź skrzynkę"

        page.goto(mail_to(smtp, ANNA, LINK))
        page.get_by_role("button", name="Zaloguj się").click()
        page.wait_for_url(f"{server}/portal/bookero/")
        heading = page.get_by_role("heading", level=1).inner_text()
        assert heading == "Podprocesorzy, którzy Państwa dotyczą"
        listed = page.locator("#current + .scroll").inner_text()
        assert "Stripe" in listed
        assert "standardowych klauzul umownych" in listed  # its safeguard, in Polish
        assert "Smartsupp" in page.locator("#pending + .scroll").inner_text()
        check_page(page, "portal-overview-pl", width)

        page.get_by_role("link", name="Zgłaszam sprzeciw — Smartsupp").click()
        page.get_by_label("Uzasadnienie").fill("Nasi klienci nie zgadzają się na czat <b>.")
        page.get_by_role("button", name="Zgłaszam sprzeciw").click()
        page.wait_for_url(re.compile(r".*/portal/bookero/answers\?done=1$"))
        assert page.get_by_role("status").inner_text() == "Odpowiedź została zarejestrowana."
        row = page.locator("tbody tr").first.inner_text()
        assert "Smartsupp" in row
        assert "sprzeciw" in row
        assert "<b>" in row  # shown as typed, not as markup
        check_page(page, "portal-answers-pl", width)
    finally:
        context.close()
    assert problems == []

    filed = client.get(desk.url("/objections"), headers=desk.legal).json["items"]
    assert [(o["customer"]["external_ref"], o["kind"], o["channel"]) for o in filed] == [
        ("BK-0001", "objection", "portal")
    ]
    assert filed[0]["reason"] == "Nasi klienci nie zgadzają się na czat <b>."


def tab_to(page, selector: str, limit: int = 60) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
            return
    pytest.fail(f"Tab never reached {selector}")


def tab_and_press(page, selector: str, key: str = "Enter") -> None:
    """Tab to a link or button and press `key` on it; wait for the page it leads to."""
    tab_to(page, selector)
    with page.expect_navigation():
        page.keyboard.press(key)


def test_keyboard_only_sign_in_and_objection(browser, server, smtp, desk, client):
    agreement = {
        "version": "2027-01",
        "effective_on": desk.day(30),
        "publish": True,
        "texts": [{"language": "en", "text": "# Agreement 2027\n\nOnly on **instructions**."}],
    }
    published = client.post(desk.url("/agreements"), json=agreement, headers=desk.legal)
    assert published.status_code == 201, published.json
    problems: list[str] = []
    context, page = new_page(browser, server, 390, problems, locale="en-GB")
    try:
        page.goto(f"{server}/portal/bookero/sign-in")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        tab_to(page, "#email")
        page.keyboard.type(JAMES)
        page.keyboard.press("Enter")
        page.wait_for_load_state()
        assert page.get_by_role("heading", level=1).inner_text() == "Check your inbox"

        page.goto(mail_to(smtp, JAMES, LINK))
        tab_and_press(page, "button[type=submit]")
        # The contact's language, English, not the browser's guess.
        assert (
            page.get_by_role("heading", level=1).inner_text() == "Subprocessors that apply to you"
        )
        tab_and_press(page, "a.button")
        tab_to(page, "#reason")
        page.keyboard.type("Our clients do not want a chat vendor.")
        tab_and_press(page, "button[value=object]", "Space")
        assert page.get_by_role("status").inner_text() == "Your answer was recorded."
        check_page(page, "portal-answers-en-keyboard", 390)

        # The agreement version legal staff published: read and accepted by keyboard.
        tab_and_press(page, "nav a[href$='/agreement']")
        assert "Agreement 2027" in page.locator(".agreement-text").inner_text()
        tab_to(page, "#accept-name")
        page.keyboard.type("James Smith")
        tab_and_press(page, "form[action$='/agreement'] button[type=submit]")
        assert page.get_by_role("status").inner_text() == "Your acceptance has been recorded."
        assert page.locator("form[action$='/agreement']").count() == 0
        check_page(page, "portal-agreement-en-keyboard", 390)

        # Sign out by keyboard; the portal then asks to sign in again.
        tab_and_press(page, ".signout button")
        assert "/sign-in" in page.url
        page.goto(f"{server}/portal/bookero/answers")
        assert "/sign-in" in page.url
    finally:
        context.close()
    assert problems == []
    filed = client.get(desk.url("/objections"), headers=desk.legal).json["items"]
    assert [(o["customer"]["external_ref"], o["channel"]) for o in filed] == [("BK-0002", "portal")]
    james = desk.customers["BK-0002"]["id"]
    evidence = client.get(desk.url(f"/customers/{james}/agreement-evidence"), headers=desk.legal)
    assert [(a["accepted_by_name"], a["channel"]) for a in evidence.json["acceptances"]] == [
        ("James Smith", "portal")
    ]
