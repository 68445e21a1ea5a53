"""Error pages, the home page and the portal's entrance in a real browser (Debian's Chromium,
driven by Playwright), at desktop and phone width: the browser's own navigation asks for
HTML, gets the page in its language, with a way on, nothing scrolling sideways, no console
error, and no serious or critical axe-core violation. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import pytest

from tests import browser_kit
from tests.browser_kit import ARTIFACTS

pytestmark = pytest.mark.browser

browser = browser_kit.browser  # Debian's Chromium, driven by Playwright
server = browser_kit.server  # the app behind a real HTTP server

# path, Accept-Language of the browser, status, heading, the way on's name
PAGES = [
    ("/orgs/bookero/answers/forged", "pl-PL", 404, "Link jest nieważny", "Wykaz dalszych"),
    ("/orgs/bookero/no-such-page", "en-GB", 404, "Page not found", "List of subprocessors"),
    ("/portal/bookero/no-such-page", "pl-PL", 404, "Nie znaleziono strony", "Zaloguj się"),
    ("/", "en-GB", 200, "Register of subprocessors", "<b>bookero</b> sp. z o.o."),
    ("/portal", "pl-PL", 200, "Portal klienta", "Zaloguj się"),
]


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize(("path", "locale", "status", "heading", "way"), PAGES)
def test_error_and_entry_pages_in_chromium(
    browser,
    server,
    world,
    path,
    locale,
    status,
    heading,
    way,
    width,
):
    world.org("bookero", legal_name="<b>bookero</b> sp. z o.o.")
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": 800}, locale=locale)
    problems: list[str] = []
    page = context.new_page()
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    try:
        response = page.goto(server + path)
        assert response.status == status
        assert page.locator("html").get_attribute("lang") == locale[:2]
        assert page.get_by_role("heading", level=1).inner_text() == heading
        link = page.get_by_role("link", name=way).first
        assert link.is_visible()
        # Markup in an organization's name is text, never markup.
        assert page.locator("main b, header b").count() == 0
        browser_kit.no_horizontal_overflow(page)
        name = path.strip("/").replace("/", "-") or "home"
        page.screenshot(path=str(ARTIFACTS / f"error-{name}-{width}.png"), full_page=True)
        browser_kit.check_axe(page)
        # The way on leads somewhere that answers.
        with page.expect_navigation():
            link.click()
        assert page.url.startswith(server)
        assert page.locator("h1").count() >= 1
    finally:
        context.close()
    # A 404 document is reported once by Chromium itself as a failed resource load.
    assert [p for p in problems if "Failed to load resource" not in p] == []
