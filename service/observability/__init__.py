"""Observability: structured logs with request ids, Prometheus metrics, proxy headers."""

from __future__ import annotations

import time

from flask import Flask, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from service.observability import logs

PROXY_HOPS = ("for", "proto", "host", "port", "prefix")


def init_app(app: Flask) -> None:
    """Configure logging, bind a request id to every request, count requests, serve
    /metrics, and trust the configured number of proxy hops."""
    from service.observability import metrics
    from service.observability.views import bp

    log_format = logs.resolve_format(app.config["LOG_FORMAT"], app.config["ENV"])
    logs.configure_logging(log_format, app.config["LOG_LEVEL"])
    app.extensions["dpa_log_format"] = log_format

    hops = {f"x_{name}": int(app.config[f"PROXY_FIX_X_{name.upper()}"]) for name in PROXY_HOPS}
    if any(hops.values()):
        app.wsgi_app = ProxyFix(app.wsgi_app, **hops)

    @app.before_request
    def bind_request_id() -> None:
        g.request_started = time.perf_counter()
        g.request_id = logs.accept_request_id(request.headers.get(logs.REQUEST_ID_HEADER))
        logs.request_id_var.set(g.request_id)

    @app.after_request
    def stamp_and_count(response):
        if "request_id" in g:
            response.headers[logs.REQUEST_ID_HEADER] = g.request_id
        if "request_started" in g:
            rule = request.url_rule.rule if request.url_rule else None
            elapsed = time.perf_counter() - g.request_started
            method = "HEAD" if request.environ.get("dpa.head") else request.method
            metrics.observe_request(method, rule, response.status_code, elapsed)
        return response

    @app.teardown_request
    def unbind_request_id(_exc: BaseException | None) -> None:
        logs.request_id_var.set(None)

    app.register_blueprint(bp)
