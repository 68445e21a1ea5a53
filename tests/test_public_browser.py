"""The public page in a real browser: headless Chromium (Debian's) driven by Playwright.

At desktop and phone width, in Polish and English: the language switch, a vendor whose
name is markup shown as text, keyboard-only subscription, contrast, no horizontal
scrolling, no console errors, and no request leaving the server. Screenshots are kept
under test-artifacts/. In CI (`CI` set) a missing browser fails the suite; locally it
skips with the reason.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import bearer, vendor

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path(os.environ.get("DPA_CHROMIUM", "/usr/bin/chromium"))
# Never fetch anything for the browser: no downloads, no Google services, no first-run UI.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCRIPT = "<script>alert(1)</script>"
HEADINGS = {
    "pl": "Dalsze podmioty przetwarzające i odbiorcy danych",
    "en": "Subprocessors and recipients of personal data",
}
SUBSCRIBED = {"pl": "Sprawdź skrzynkę", "en": "Check your inbox"}

# The WCAG 2 contrast ratio of every element's own text against the first opaque
# background behind it; returns the elements below 4.5:1.
LOW_CONTRAST = """
() => {
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || c[3] === 1) return c;
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    const a = lum(rgb(getComputedStyle(el).color)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const text = el.textContent.trim().slice(0, 30);
    if (ratio < 4.5) low.push(`${el.tagName} "${text}" ${ratio.toFixed(2)}`);
  }
  return low;
}
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    ci = bool(os.environ.get("CI"))
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)"
        if ci:
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "Playwright is not installed: pip install -e '.[dev]'"
        if ci:
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def server(app) -> Iterator[str]:
    """The test app behind a real HTTP server on a free port."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


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


@pytest.mark.parametrize("width", [1280, 390])
def test_page_in_both_languages_at_desktop_and_phone_width(browser, server, bookero, width):
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(
        viewport={"width": width, "height": 900}, locale="pl-PL", java_script_enabled=True
    )
    problems: list[str] = []
    outside: list[str] = []

    def only_our_server(route) -> None:
        if route.request.url.startswith(server):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_our_server)
    page = context.new_page()
    page.on(
        "dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss())
    )
    page.on("console", lambda msg: msg.type == "error" and problems.append(f"console: {msg.text}"))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    try:
        # Polish from Accept-Language (the context's locale), then English by the switch.
        page.goto(f"{server}/orgs/bookero/subprocessors")
        _check_page(page, "pl", width)
        with page.expect_navigation():
            page.get_by_role("link", name="English").click()
        _check_page(page, "en", width)
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
        page.screenshot(path=str(ARTIFACTS / f"public-subscribed-pl-{width}.png"), full_page=True)
    finally:
        context.close()
    assert problems == []
    assert outside == []


def _check_page(page, lang: str, width: int) -> None:
    assert page.locator("html").get_attribute("lang") == lang
    assert page.get_by_role("heading", level=1).inner_text() == HEADINGS[lang]
    current = page.locator("nav a[aria-current]")
    assert current.get_attribute("lang") == lang
    # Markup in a vendor's name is text: shown as typed, never run.
    assert page.get_by_text(SCRIPT, exact=True).is_visible()
    assert page.locator("table.vendors tbody tr").count() == 3
    assert "Smartsupp" in page.locator("#upcoming + ul").inner_text()
    # Readable at this width: nothing scrolls sideways, and on a phone rows are cards.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    display = page.evaluate(
        "getComputedStyle(document.querySelector('table.vendors tbody tr')).display"
    )
    assert display == ("block" if width < 600 else "table-row")
    assert page.evaluate(LOW_CONTRAST) == []
    assert page.evaluate("document.querySelectorAll('script, [style]').length") == 0
    page.screenshot(path=str(ARTIFACTS / f"public-{lang}-{width}.png"), full_page=True)
