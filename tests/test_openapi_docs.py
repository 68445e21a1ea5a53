"""The API documentation: /docs in a real browser, and the OpenAPI document it reads.

The browser half drives Debian's Chromium through Playwright (tests/browser_kit.py, as every
browser test does): Swagger UI must render every operation of the document, and "Try it out"
with a key must really call the API. The document half walks /openapi.json: it is valid OpenAPI 3.1,
every operation explains itself, declares who may call it (checked against the
authorization matrix) and the errors it can answer, and its examples are accepted.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate

from service import apidoc
from tests.browser_kit import ARTIFACTS, browser, server  # noqa: F401 - fixtures
from tests.conftest import bearer
from tests.test_authorization_matrix import EXPECTED

ROOT = Path(__file__).resolve().parent.parent
SWAGGER_UI = ROOT / "service" / "static" / "docs" / "swagger-ui"
ORG_PREFIX = "/api/v1/orgs/{org}"
CUSTOMERS_PATH = ORG_PREFIX + "/customers"
METHODS = ("get", "put", "post", "patch", "delete")
PARAMETER = re.compile(r"\{(\w+)\}")
# The writes a newcomer makes first: each shows an example body.
MAIN_WRITES = {("POST", "/api/v1/orgs")} | {
    ("POST", ORG_PREFIX + suffix)
    for suffix in (
        "/services",
        "/subprocessors",
        "/changes",
        "/changes/{change_id}/withdraw",
        "/customers",
        "/keys",
        "/changes/{change_id}/objections",
        "/changes/{change_id}/consents",
        "/objections/{objection_id}/resolution",
        "/subscriptions",
        "/customers/{customer_id}/webhooks",
        "/agreements",
        "/agreements/{version}/acceptances",
    )
}


@pytest.fixture
def document(client) -> dict:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json


def _operations(document: dict) -> list[tuple[str, str, dict]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _matrix_kind(method: str, path: str) -> str:
    """The access kind tests/test_authorization_matrix.py proves for this operation."""
    if path == "/api/v1/orgs":
        return "admin"  # the one operation outside an organization
    by_openapi_path = {
        (m, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", p)): kind for (m, p), kind in EXPECTED.items()
    }
    return by_openapi_path[(method, path.removeprefix(ORG_PREFIX))]


def _response(document: dict, response: dict) -> dict:
    ref = response.get("$ref")
    return document["components"]["responses"][ref.rsplit("/", 1)[1]] if ref else response


def _url(path: str, org: str) -> str:
    values = {"org": org, "version": "v1", "prefix": "abcdef"}
    return PARAMETER.sub(lambda m: values.get(m[1], "1"), path)


def _call(client, method: str, path: str, operation: dict, org: str, **kwargs: object):
    """Call the operation with its required query parameters filled, so that what is
    checked is the key or the organization, not a missing parameter."""
    query = {
        p["name"]: "2026-01-01" if p["schema"].get("format") == "date" else "1"
        for p in operation.get("parameters", [])
        if p["in"] == "query" and p.get("required")
    }
    return client.open(_url(path, org), method=method, query_string=query, **kwargs)


# --- the document --------------------------------------------------------------------------


def test_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises on the first violation of the OpenAPI 3.1 schema


def test_spec_description_reaches_the_document(document):
    description = document["info"]["description"]
    assert "Authorization: Bearer" in description
    assert "application/problem+json" in description
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")


def test_every_operation_has_a_summary_and_a_description(document):
    for method, path, operation in _operations(document):
        summary = operation.get("summary", "")
        description = operation.get("description", "")
        assert summary.strip(), (method, path)
        assert "\n" not in summary, (method, path, summary)
        assert len(description) >= 60, (method, path, description)
        assert description.strip() != summary.strip(), (method, path)


def test_every_operation_declares_who_may_call_it(document):
    assert len(_operations(document)) >= 56
    for method, path, operation in _operations(document):
        kind = _matrix_kind(method, path)
        assert operation.get("x-access") == kind, (method, path)
        assert operation.get("security") == apidoc.SECURITY[kind], (method, path)
        if kind == "public":
            assert {} in operation["security"], "anonymous callers are allowed"
        else:
            assert operation["security"] == [{"bearer": []}]


def _expected_errors(document: dict, method: str, path: str, operation: dict) -> set[str]:
    kind = operation["x-access"]
    expected = {"401"}
    if kind in {"legal", "customer", "admin"}:
        expected.add("403")
    if path.startswith(ORG_PREFIX):
        expected.add("404")
    if "requestBody" in operation:
        expected |= {"413", "422"}
    if "requestBody" in operation and method in {"POST", "PUT", "PATCH"}:
        expected.add("415")
    if any(p.get("in") == "query" for p in operation.get("parameters", [])):
        expected.add("422")
    if (method, path) == ("POST", ORG_PREFIX + "/subscriptions"):
        expected.add("429")  # service/ratelimit.py limits it
    return expected


def test_every_operation_lists_its_error_answers_as_problem_json(document):
    for method, path, operation in _operations(document):
        responses = operation["responses"]
        missing = _expected_errors(document, method, path, operation) - set(responses)
        assert not missing, (method, path, missing)
        for status, response in responses.items():
            if status.startswith("4"):
                content = _response(document, response)["content"]
                schema = content["application/problem+json"]["schema"]
                # Imports answer an extended problem (ImportProblem) naming the rows.
                assert schema["$ref"].endswith("Problem"), (method, path, status)


def test_the_writes_that_check_if_match_document_412(document):
    documented = {
        (method, path)
        for method, path, operation in _operations(document)
        if "412" in operation["responses"]
    }
    assert documented == {
        ("PATCH", ORG_PREFIX),
        ("PATCH", ORG_PREFIX + "/customers/{customer_id}"),
        ("PATCH", ORG_PREFIX + "/subprocessors/{recipient_id}"),
    }


# --- what the document says, checked against what the API does --------------------------


def test_a_bad_key_meets_401_wherever_401_is_documented(client, document, org):
    for method, path, operation in _operations(document):
        bad_key = {"Authorization": "Bearer wrong"}
        response = _call(client, method, path, operation, org["slug"], headers=bad_key)
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.mimetype == apidoc.PROBLEM_MIMETYPE


def test_an_unknown_organization_meets_404_wherever_404_is_documented(client, document):
    for method, path, operation in _operations(document):
        if path.startswith(ORG_PREFIX):
            response = _call(client, method, path, operation, "no-such-org")
            assert response.status_code == 404, (method, path, response.status_code)


def test_a_body_that_is_not_json_meets_415_wherever_a_body_is_taken(client, document, org):
    for method, path, operation in _operations(document):
        if "415" in operation["responses"]:
            response = client.open(
                _url(path, org["slug"]), method=method, data="x", content_type="text/plain"
            )
            assert response.status_code == 415, (method, path, response.status_code)


def test_a_body_too_large_meets_413_wherever_413_is_documented(client, document, world, org):
    customer = client.post(
        CUSTOMERS_PATH.format(org=org["slug"]),
        json=CUSTOMER,
        headers=bearer(world.key("legal", org)),
    )
    # The caller each access kind lets through to reading the body.
    callers = {
        "customer": bearer(world.key("customer", org, customer_id=customer.json["id"])),
        "other": bearer(world.key("admin")),
    }
    too_large = b'"' + b"x" * (1024 * 1024) + b'"'
    for method, path, operation in _operations(document):
        if "413" not in operation["responses"] or path.endswith("/import"):
            continue  # imports take up to IMPORT_MAX_CONTENT_LENGTH: tests/test_imports.py
        headers = callers["customer" if operation["x-access"] == "customer" else "other"]
        response = _call(
            client,
            method,
            path,
            operation,
            org["slug"],
            data=too_large,
            content_type="application/json",
            headers=headers,
        )
        assert response.status_code == 413, (method, path, response.status_code)


# --- examples -------------------------------------------------------------------------------


def _example(operation: dict) -> tuple[object, dict] | None:
    content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    return (content["example"], content["schema"]) if "example" in content else None


def test_the_main_writes_show_an_example_that_fits_their_schema(document):
    with_example = set()
    for method, path, operation in _operations(document):
        found = _example(operation)
        if found is None:
            continue
        with_example.add((method, path))
        example, schema = found
        validator = Draft202012Validator(
            {**schema, "components": document["components"]}, format_checker=FormatChecker()
        )
        errors = [e.message for e in validator.iter_errors(example)]
        assert errors == [], (method, path, errors)
    assert with_example >= MAIN_WRITES, MAIN_WRITES - with_example


@pytest.mark.usefixtures("fixed_clock")  # the examples' dates are literals
def test_the_examples_are_accepted_by_the_api(client, world):
    admin = bearer(world.key("admin"))
    created = client.post("/api/v1/orgs", json=apidoc.ORGANIZATION_EXAMPLE, headers=admin)
    assert created.status_code == 201, created.json
    base = f"/api/v1/orgs/{created.json['slug']}"
    calls = (
        ("/services", apidoc.SERVICE_EXAMPLE, {}),
        ("/subprocessors", apidoc.VENDOR_EXAMPLE, {}),
        ("/changes", apidoc.CHANGE_EXAMPLE, {"recipient_id": "/subprocessors"}),
        ("/customers", apidoc.CUSTOMER_EXAMPLE, {}),
        ("/keys", apidoc.KEY_EXAMPLE, {"customer_id": "/customers"}),
        ("/agreements", apidoc.AGREEMENT_EXAMPLE, {}),
    )
    ids: dict[str, int] = {}
    for suffix, example, references in calls:
        body = {**example, **{field: ids[target] for field, target in references.items()}}
        response = client.post(base + suffix, json=body, headers=admin)
        assert response.status_code == 201, (suffix, response.json)
        ids[suffix] = response.json.get("id")
    withdrawn = client.post(
        f"{base}/changes/{ids['/changes']}/withdraw", json=apidoc.WITHDRAW_EXAMPLE, headers=admin
    )
    assert withdrawn.status_code == 200, withdrawn.json
    subscribed = client.post(base + "/subscriptions", json=apidoc.SUBSCRIBE_EXAMPLE)
    assert subscribed.status_code == 202, subscribed.json


# --- /docs: the page and its files --------------------------------------------------------


def test_docs_page_runs_under_a_strict_policy(client):
    page = client.get("/docs")
    assert page.status_code == 200
    policy = dict(
        part.strip().split(" ", 1) for part in page.headers["Content-Security-Policy"].split(";")
    )
    # Scripts and requests from this origin only, never inline or evaluated code.
    assert policy["default-src"] == "'self'"
    assert "script-src" not in policy
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    for asset, mimetype in (
        ("/docs/ui/swagger-ui-bundle.js", "text/javascript"),
        ("/docs/ui/swagger-ui.css", "text/css"),
        ("/docs/static/init.js", "text/javascript"),
    ):
        with client.get(asset) as response:
            assert (response.status_code, response.mimetype) == (200, mimetype), asset
    # Only the vendored folder is served: index.html beside it is not reachable through it.
    assert client.get("/docs/ui/..%2Findex.html").status_code == 404


def test_the_vendored_swagger_ui_is_the_pinned_release():
    vendored = json.loads((SWAGGER_UI / "package.json").read_text("utf-8"))
    script = (ROOT / "scripts" / "vendor-swagger-ui.sh").read_text("utf-8")
    pinned = re.search(r"^VERSION=(\S+)$", script, re.MULTILINE)[1]
    assert (vendored["name"], vendored["version"]) == ("swagger-ui-dist", pinned)
    assert int(pinned.split(".")[0]) >= 5, "Swagger UI 4 cannot read OpenAPI 3.1"
    assert f'"{pinned}"' in (SWAGGER_UI / "swagger-ui-bundle.js").read_text("utf-8")
    page = (SWAGGER_UI.parent / "index.html").read_text("utf-8")
    assert page.count(f"?v={pinned}") == 2, "the page asks for this release's files"


# --- /docs in Chromium ---------------------------------------------------------------------


@pytest.fixture
def docs_page(browser, server):  # noqa: F811 - the fixtures imported above
    """A page on /docs that fails the test on any console error or request elsewhere."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(f"{server}/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    yield page
    context.close()
    assert [url for url in requests if not url.startswith(server + "/")] == []
    assert problems == [], "console errors (a CSP violation shows here)"


@pytest.mark.browser
def test_docs_render_every_operation(docs_page, document):
    assert docs_page.get_by_text("Unable to render this definition").count() == 0
    assert docs_page.locator(".opblock").count() == len(_operations(document))
    first_sentence = document["info"]["description"].split(".")[0].strip()
    assert first_sentence in docs_page.locator(".info .description").inner_text()
    # Every operation declares its security, so each shows the lock Authorize fills.
    locks = docs_page.locator(".opblock .authorization__btn")
    assert locks.count() == len(_operations(document))
    ARTIFACTS.mkdir(exist_ok=True)
    docs_page.screenshot(path=str(ARTIFACTS / "docs.png"))


@pytest.mark.browser
def test_try_it_out_with_a_key_calls_the_api(docs_page, client, world, org, legal):
    created = client.post(CUSTOMERS_PATH.format(org=org["slug"]), json=CUSTOMER, headers=legal)
    assert created.status_code == 201, created.json
    key = world.key("legal", org)
    page = docs_page
    page.locator("button.authorize").first.click()
    page.locator(".modal-ux input").first.fill(key)
    page.locator(".modal-ux button.authorize").click()
    page.locator(".modal-ux button.btn-done").click()

    operation = page.locator(
        f".opblock-get:has(.opblock-summary-path[data-path='{CUSTOMERS_PATH}'])"
    )
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("input[placeholder='org']").fill(org["slug"])
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status").first
    status.wait_for(timeout=20_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs-try-it-out.png"))
    assert status.inner_text().strip() == "200"
    assert "BK-0042" in operation.locator(".live-responses-table").inner_text()
    assert f"Bearer {key}" in operation.locator(".curl-command").inner_text()


CUSTOMER = {"external_ref": "BK-0042", "name": "Salon Ewa", "started_on": "2024-01-15"}
