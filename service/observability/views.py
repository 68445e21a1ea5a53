"""GET /metrics: the Prometheus exposition of this deployment's counters and outbox gauges."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, request

from service.errors import problem
from service.observability import metrics

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics_page() -> Response:
    """Prometheus text format; behind a bearer token when METRICS_TOKEN is set."""
    token = current_app.config["METRICS_TOKEN"]
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return problem(
                401,
                "Unauthorized",
                "Metrics need the bearer token of DPA_METRICS_TOKEN.",
                slug="unauthorized",
                headers={"WWW-Authenticate": "Bearer"},
            )
    body, content_type = metrics.render()
    response = Response(body, content_type=content_type)
    response.headers["Cache-Control"] = "no-store"
    return response
