from __future__ import annotations

import pytest

from service import create_app
from service.errors import PROBLEM_BASE

PROBLEM = "application/problem+json"


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status
    assert response.mimetype == PROBLEM
    body = response.json
    assert body["status"] == status
    assert body["type"].startswith(PROBLEM_BASE)
    assert body["title"]
    return body


@pytest.mark.parametrize("path", ["/nope", "/api/v1/nope", "/api/v1/orgs/bookero/nothing/here"])
def test_unknown_route_is_problem_json(client, path):
    body = assert_problem(client.get(path), 404)
    assert "<html" not in str(body).lower()


def test_unknown_customer_id_type_is_404(client, org, legal):
    # The converter is <int:...>: a non-number is no route, not a 500.
    assert_problem(client.get("/api/v1/orgs/bookero/customers/abc", headers=legal), 404)


def test_method_not_allowed_lists_allowed_methods(client, org):
    response = client.delete("/api/v1/orgs/bookero")
    assert_problem(response, 405)
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert {"GET", "PATCH"} <= allowed
    assert "DELETE" not in allowed


def test_malformed_json_is_400_problem(client, org, legal):
    response = client.post(
        "/api/v1/orgs/bookero/customers",
        data='{"external_ref": "x", ',
        content_type="application/json",
        headers=legal,
    )
    body = assert_problem(response, 400)
    assert "Traceback" not in response.get_data(as_text=True)
    assert body.get("errors")


def test_wrong_content_type_is_415(client, org, legal):
    response = client.post(
        "/api/v1/orgs/bookero/customers",
        data="external_ref=x&name=y",
        content_type="application/x-www-form-urlencoded",
        headers=legal,
    )
    body = assert_problem(response, 415)
    assert "application/json" in body["detail"]
    response = client.patch(
        "/api/v1/orgs/bookero", data="<org/>", content_type="text/xml", headers=legal
    )
    assert_problem(response, 415)


def test_json_with_charset_is_accepted(client, org, legal):
    response = client.post(
        "/api/v1/orgs/bookero/services",
        data='{"slug": "chat", "name_pl": "Czat", "name_en": "Chat"}',
        content_type="application/json; charset=utf-8",
        headers=legal,
    )
    assert response.status_code == 201


def test_body_over_one_mebibyte_is_413_problem(client, org, legal):
    payload = '{"name": "' + "x" * (1024 * 1024) + '"}'
    response = client.patch(
        "/api/v1/orgs/bookero", data=payload, content_type="application/json", headers=legal
    )
    assert_problem(response, 413)
    # Nothing was applied.
    assert client.get("/api/v1/orgs/bookero").json["legal_name"] == "bookero sp. z o.o."


def test_unknown_json_field_is_422_naming_it(client, org, legal):
    response = client.patch("/api/v1/orgs/bookero", json={"colour": "pink"}, headers=legal)
    body = assert_problem(response, 422)
    assert "colour" in body["errors"]


def test_validation_errors_map_fields_to_messages(client, org, legal):
    response = client.patch(
        "/api/v1/orgs/bookero",
        json={"default_notice_days": -1, "timezone": "Mars/Olympus"},
        headers=legal,
    )
    body = assert_problem(response, 422)
    assert set(body["errors"]) == {"default_notice_days", "timezone"}
    assert all(isinstance(m, list) and m for m in body["errors"].values())


def test_unknown_query_parameters_are_named_not_ignored(client, org, legal):
    # A typo such as `activ=false` must not silently return everything.
    response = client.get(
        "/api/v1/orgs/bookero/customers", query_string={"activ": "false"}, headers=legal
    )
    body = assert_problem(response, 422)
    assert "activ" in body["errors"]


def test_a_strangers_malformed_body_learns_nothing_about_the_endpoint(client, org, world):
    # Access is checked before the body is validated: 401/404, never a 422 with field names.
    other = world.org("other")
    for headers, status in (
        (None, 401),
        ({"Authorization": f"Bearer {world.key('legal', other)}"}, 404),
    ):
        response = client.post(
            "/api/v1/orgs/bookero/customers", json={"nonsense": True}, headers=headers
        )
        body = assert_problem(response, status)
        assert "errors" not in body


def test_invalid_query_parameter_value_is_422(client, org, legal):
    response = client.get(
        "/api/v1/orgs/bookero/customers", query_string={"page": "first"}, headers=legal
    )
    body = assert_problem(response, 422)
    assert "page" in body["errors"]


def test_security_headers_on_success_and_error(client, org):
    for response in (client.get("/api/v1/orgs/bookero"), client.get("/nope")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_unauthorized_carries_www_authenticate(client, org):
    response = client.patch(
        "/api/v1/orgs/bookero", json={"legal_name": "x"}, headers={"Authorization": "Basic x"}
    )
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.fixture
def fresh_app(app, database_url):
    fresh = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})
    yield from _with_boom_routes(fresh)
    # create_app makes its Celery app the default; give that back to the shared app.
    app.extensions["celery"].set_default()


def _with_boom_routes(app):

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals: password=hunter2")

    @app.route("/api/v1/boom", methods=["POST"])
    def boom_api():
        raise KeyError("internal-key-name")

    yield app


def test_unexpected_exception_is_problem_500_without_traceback(fresh_app, caplog):
    client = fresh_app.test_client()
    for response in (
        client.get("/boom"),
        client.post("/api/v1/boom", json={}),
    ):
        body = assert_problem(response, 500)
        text = response.get_data(as_text=True)
        assert "Traceback" not in text
        assert "hunter2" not in text
        assert "internal-key-name" not in text
        assert "RuntimeError" not in text
        assert set(body) <= {"type", "title", "status", "detail"}
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    # The details go to the log instead.
    assert "hunter2" in caplog.text
