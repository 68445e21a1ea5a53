"""What every browser test shares: the app behind a real HTTP server, Debian's Chromium
driven by Playwright, pages that may reach only our server, and the checks a page must pass
at any width (axe-core, no sideways scrolling, contrast, no script or inline style).

Use the fixtures by naming them in the test module (`browser = browser_kit.browser`). In CI
(`CI` set) a missing browser, Playwright or axe-core fails the suite; locally the tests skip
with the reason. axe-core comes from npm (`package.json`; `make test` runs `npm ci`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
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
WIDTHS = (1280, 390)
# What axe-core reports that a person cannot work around; moderate and minor findings are
# left to review.
BLOCKING_IMPACTS = ("serious", "critical")

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
# Elements reaching past the window's right edge: what to fix when the page scrolls sideways.
WIDER_THAN_THE_WINDOW = """
() => [...document.querySelectorAll("body *")]
  .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
  .map((e) => `${e.tagName}.${e.className}`)
  .slice(0, 10)
"""
AXE_RUN = """
async (impacts) => {
  const found = await axe.run(document, { resultTypes: ["violations"] });
  return found.violations
    .filter((v) => impacts.includes(v.impact))
    .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.map((n) => n.target).join(", ")}`);
}
"""


def missing(reason: str) -> None:
    """Fail in CI, where the tool must be there; skip locally, saying what to install."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless; never a browser Playwright downloads."""
    if not CHROMIUM.exists():
        missing(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run installs it)")
    if not AXE.exists():
        missing("axe-core is missing: run `npm ci` (make test does when npm is installed)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Playwright is not installed: pip install -e '.[dev]'")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """`app` behind a real threaded HTTP server on a free port; yields its base URL."""
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
def server(app: Flask) -> Iterator[str]:
    """The test app behind a real HTTP server; links in its mail point at it."""
    with serving(app) as url:
        base = app.config["PUBLIC_BASE_URL"]
        app.config["PUBLIC_BASE_URL"] = url
        try:
            yield url
        finally:
            app.config["PUBLIC_BASE_URL"] = base


def new_page(browser, server: str, width: int, problems: list[str], locale: str = "pl-PL"):
    """A fresh context and page at `width`; requests leaving `server`, console errors,
    script errors and dialogs are blocked and noted in `problems`. Close the context."""
    context = browser.new_context(viewport={"width": width, "height": 900}, locale=locale)

    def only_our_server(route) -> None:
        if route.request.url.startswith(server):
            route.continue_()
        else:
            problems.append(f"request outside: {route.request.url}")
            route.abort()

    context.route("**/*", only_our_server)
    page = context.new_page()
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss())
    )
    return context, page


def check_axe(page) -> None:
    """Fail on any serious or critical axe-core violation, listing each with where it is."""
    # Evaluated rather than added as a <script>: the pages' CSP allows no script, and the
    # page must stay as the server sent it.
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    violations = page.evaluate(AXE_RUN, list(BLOCKING_IMPACTS))
    assert violations == [], "\n".join([page.url, *violations])


def no_horizontal_overflow(page) -> None:
    """Fail when the page scrolls sideways, naming the elements that reach past the edge."""
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, (page.url, page.evaluate(WIDER_THAN_THE_WINDOW))


def check_page(page, name: str, width: int) -> None:
    """What every page must pass at any width; keeps a screenshot under test-artifacts/."""
    no_horizontal_overflow(page)
    assert page.evaluate(LOW_CONTRAST) == [], page.url
    assert page.evaluate("document.querySelectorAll('script, [style]').length") == 0, page.url
    check_axe(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
