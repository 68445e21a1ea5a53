"""The API documentation: /docs in a real browser, and the OpenAPI document it reads.

The browser half drives Debian's Chromium through Playwright (as tests/test_public_browser.py
does): Swagger UI must render every operation of the document and "Try it out" with a key
must really call the API. The document half walks /openapi.json: every operation explains
itself, declares who may call it and the errors it can answer, and its examples are accepted.
"""

from __future__ import annotations

import pytest

from tests.test_public_browser import ARTIFACTS, browser, server  # noqa: F401 - fixtures

CUSTOMERS_PATH = "/api/v1/orgs/{org}/customers"


def _operations(document: dict) -> list[tuple[str, str, dict]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in {"get", "put", "post", "patch", "delete"}
    ]


@pytest.fixture
def docs_page(browser, server):  # noqa: F811 - the fixtures imported above
    """A page on /docs that fails the test on any console error or request elsewhere."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    outside: list[str] = []
    problems: list[str] = []

    def only_our_server(route) -> None:
        if route.request.url.startswith(server):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_our_server)
    page = context.new_page()
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(f"{server}/docs")
    yield page
    context.close()
    assert outside == [], "the docs page must load nothing from elsewhere"
    assert problems == [], "console errors (a CSP violation shows here)"


@pytest.mark.browser
def test_docs_render_every_operation(docs_page, client):
    document = client.get("/openapi.json").json
    docs_page.wait_for_selector(".opblock", timeout=20_000)
    assert docs_page.get_by_text("Unable to render this definition").count() == 0
    assert docs_page.locator(".opblock").count() == len(_operations(document))
    description = document["info"]["description"].split(".")[0]
    assert description in docs_page.locator(".info .description").inner_text()


@pytest.mark.browser
def test_try_it_out_with_a_key_lists_customers(docs_page, client, world, org, legal):
    created = client.post(
        f"/api/v1/orgs/{org['slug']}/customers",
        json={"external_ref": "BK-0042", "name": "Salon Ewa", "started_on": "2024-01-15"},
        headers=legal,
    )
    assert created.status_code == 201, created.json
    key = world.key("legal", org)
    page = docs_page
    page.wait_for_selector(".opblock", timeout=20_000)
    page.locator("button.authorize").first.click()
    page.locator(".modal-ux input[type=text], .modal-ux input[type=password]").first.fill(key)
    page.locator(".modal-ux button.authorize").click()
    page.locator(".modal-ux button.btn-done").click()

    operation = page.locator(
        f".opblock-get:has(.opblock-summary-path[data-path='{CUSTOMERS_PATH}'])"
    )
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("input[placeholder='org']").fill(org["slug"])
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status")
    status.first.wait_for(timeout=20_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs-try-it-out.png"), full_page=False)
    assert status.first.inner_text().strip() == "200"
    assert "BK-0042" in operation.locator(".live-responses-table").inner_text()
    assert f"Authorization: Bearer {key}" in operation.locator(".curl-command").inner_text()
