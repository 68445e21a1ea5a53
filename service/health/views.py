"""Liveness, readiness and the browsable API documentation."""

from __future__ import annotations

from pathlib import Path

import redis
from flask import Blueprint, Response, current_app, jsonify, send_from_directory
from sqlalchemy import text
from swagger_ui_bundle import swagger_ui_path

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


DOCS_PAGE = (Path(__file__).parent.parent / "static" / "docs" / "index.html").read_text("utf-8")


@docs_bp.get("/docs")
def docs() -> Response:
    response = Response(DOCS_PAGE, mimetype="text/html")
    # Swagger UI sets inline styles from its scripts; only this page allows them.
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:;"
        " frame-ancestors 'none'"
    )
    return response


@docs_bp.get("/docs/ui/<path:filename>")
def docs_assets(filename: str) -> Response:
    """Swagger UI's own files, served from the installed package: no CDN."""
    return send_from_directory(str(swagger_ui_path), filename, max_age=86400)
