"""Liveness, readiness and the browsable API documentation."""

from __future__ import annotations

from pathlib import Path

import redis
from flask import Blueprint, Response, current_app, jsonify, send_from_directory
from sqlalchemy import text

from service.errors import problem
from service.extensions import db

bp = Blueprint("health", __name__)
docs_bp = Blueprint(
    "docs", __name__, static_folder="../static/docs", static_url_path="/docs/static"
)


@bp.get("/healthz")
def healthz() -> Response:
    """The process is up; says nothing about its dependencies."""
    return jsonify(status="ok")


def _check_database() -> str | None:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:
        db.session.rollback()
        return type(exc).__name__
    return None


def _check_broker() -> str | None:
    if current_app.config["CELERY_ALWAYS_EAGER"]:
        return None  # tasks run in-process; there is no broker to reach
    try:
        client = redis.Redis.from_url(
            current_app.config["REDIS_URL"], socket_connect_timeout=1, socket_timeout=1
        )
        client.ping()
    except redis.RedisError as exc:
        return type(exc).__name__
    return None


@bp.get("/readyz")
def readyz() -> Response:
    """Ready to serve: the database answers and the broker answers."""
    checks = {"database": _check_database(), "broker": _check_broker()}
    if any(checks.values()):
        failing = ", ".join(f"{name}: {err}" for name, err in checks.items() if err)
        return problem(
            503,
            "Not ready",
            failing,
            slug="not-ready",
            checks={k: v or "ok" for k, v in checks.items()},
        )
    return jsonify(status="ok", checks=dict.fromkeys(checks, "ok"))


DOCS_DIR = Path(__file__).parent.parent / "static" / "docs"
DOCS_PAGE = (DOCS_DIR / "index.html").read_text("utf-8")
# swagger-ui-dist, pinned and vendored by scripts/vendor-swagger-ui.sh (docs/api.md).
SWAGGER_UI_DIR = DOCS_DIR / "swagger-ui"
# Swagger UI sets inline styles from its scripts, so only this page allows them; "Try it
# out" fetches this origin only, and no form or <base> may point anywhere else.
DOCS_CSP = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:;"
    " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@docs_bp.get("/docs")
def docs() -> Response:
    """The browsable API documentation (Swagger UI reading /openapi.json)."""
    response = Response(DOCS_PAGE, mimetype="text/html")
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


@docs_bp.get("/docs/ui/<path:filename>")
def docs_assets(filename: str) -> Response:
    """Swagger UI's own files, vendored in this repository: no CDN."""
    return send_from_directory(SWAGGER_UI_DIR, filename, max_age=86400)
