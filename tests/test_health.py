from __future__ import annotations


def test_healthz_answers_without_dependencies(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_checks_database_and_broker(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "CELERY_ALWAYS_EAGER", False)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"] == {"database": "ok", "broker": "ok"}


def test_readyz_reports_unreachable_broker(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "CELERY_ALWAYS_EAGER", False)
    previous = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/readyz")
    finally:
        app.config["REDIS_URL"] = previous
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.json["checks"]["broker"] != "ok"
    assert response.json["checks"]["database"] == "ok"


def test_openapi_document_lists_the_contract(client):
    spec = client.get("/openapi.json").json
    paths = spec["paths"]
    for path in (
        "/api/v1/orgs/{org}/subprocessors",
        "/api/v1/orgs/{org}/subprocessors/{recipient_id}",
        "/api/v1/orgs/{org}/changes",
        "/api/v1/orgs/{org}/customers",
        "/api/v1/orgs/{org}/audit",
    ):
        assert path in paths


def test_docs_page_serves_swagger_ui_without_inline_script(client):
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<script>" not in html
    for asset in ("/docs/ui/swagger-ui-bundle.js", "/docs/static/init.js"):
        with client.get(asset) as response:
            assert response.status_code == 200
