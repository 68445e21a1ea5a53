"""The public page in a real browser: headless Chromium (Debian's) driven by Playwright.

At desktop and phone width, in Polish and English: the language switch, a vendor whose
name is markup shown as text, keyboard-only subscription, and what tests/browser_kit.py
checks on every page (axe-core, contrast, no horizontal scrolling, no console errors, no
request leaving the server). Screenshots are kept under test-artifacts/.
"""

from __future__ import annotations

import pytest

from tests import browser_kit
from tests.browser_kit import check_page, new_page
from tests.conftest import bearer, vendor

pytestmark = pytest.mark.browser
browser = browser_kit.browser
server = browser_kit.server

SCRIPT = "<script>alert(1)</script>"
HEADINGS = {
    "pl": "Dalsze podmioty przetwarzające i odbiorcy danych",
    "en": "Subprocessors and recipients of personal data",
}
SUBSCRIBED = {"pl": "Sprawdź skrzynkę", "en": "Check your inbox"}


@pytest.fixture
def bookero(client, world) -> dict:
    org = world.org("bookero", address="ul. Spacerowa 25, 05-152 Czosnów")
    legal = bearer(world.key("legal", org))
    for offset, overrides in (
        (0, {}),
        (0, {"name": SCRIPT, "legal_entity": "Markup Test Ltd", "country": "IE"}),
        (
            0,
            {
                "name": "Stripe",
                "legal_entity": "Stripe Payments Europe, Limited",
                "country": "IE",
                "purpose_pl": "Obsługa płatności kartami w rezerwacjach online",
                "purpose_en": "Card payments for online bookings",
                "locations": [
                    {"country": "IE", "mechanism": "none", "activity": "payment processing"},
                    {"country": "US", "mechanism": "scc", "scc_module": 3, "activity": "fraud"},
                ],
            },
        ),
        (14, {"name": "Smartsupp", "legal_entity": "Smartsupp.com, s.r.o.", "country": "CZ"}),
    ):
        created = client.post(
            f"/api/v1/orgs/{org['slug']}/subprocessors", json=vendor(**overrides), headers=legal
        )
        assert created.status_code == 201, created.json
        announced = client.post(
            f"/api/v1/orgs/{org['slug']}/changes",
            json={
                "kind": "add",
                "recipient_id": created.json["id"],
                "effective_on": world.day(org, offset),
                "reason": "Needed for the booking service",
            },
            headers=legal,
        )
        assert announced.status_code == 201, announced.json
    return org


@pytest.mark.parametrize("width", browser_kit.WIDTHS)
def test_page_in_both_languages_at_desktop_and_phone_width(browser, server, bookero, width):
    problems: list[str] = []
    context, page = new_page(browser, server, width, problems)
    try:
        # Polish from Accept-Language (the context's locale), then English by the switch.
        page.goto(f"{server}/orgs/bookero/subprocessors")
        _check_list(page, "pl", width)
        with page.expect_navigation():
            page.get_by_role("link", name="English").click()
        _check_list(page, "en", width)
        with page.expect_navigation():
            page.get_by_role("link", name="Polski").click()
        assert page.locator("html").get_attribute("lang") == "pl"

        # Keyboard only: the skip link first, then on to the e-mail field and the button.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip"
        assert page.locator(".skip").bounding_box()["y"] >= 0  # shown when focused
        for _ in range(80):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.id") == "email":
                break
        else:
            pytest.fail("Tab never reached the e-mail field")
        assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
        page.keyboard.type(f"reader-{width}@example.com")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.type") == "submit"
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.get_by_role("heading", level=1).inner_text() == SUBSCRIBED["pl"]
        assert page.get_by_role("status").is_visible()
        check_page(page, "public-subscribed-pl", width)
    finally:
        context.close()
    assert problems == []


def _check_list(page, lang: str, width: int) -> None:
    assert page.locator("html").get_attribute("lang") == lang
    assert page.get_by_role("heading", level=1).inner_text() == HEADINGS[lang]
    current = page.locator("nav a[aria-current]")
    assert current.get_attribute("lang") == lang
    # Markup in a vendor's name is text: shown as typed, never run.
    assert page.get_by_text(SCRIPT, exact=True).is_visible()
    assert page.locator("table.vendors tbody tr").count() == 3
    assert "Smartsupp" in page.locator("#upcoming + ul").inner_text()
    # Readable at this width (check_page: nothing scrolls sideways); on a phone rows are cards.
    display = page.evaluate(
        "getComputedStyle(document.querySelector('table.vendors tbody tr')).display"
    )
    assert display == ("block" if width < 600 else "table-row")
    check_page(page, f"public-{lang}", width)
