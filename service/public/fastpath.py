"""A WSGI layer in front of Flask for the public list's cache hits and 304s.

It answers `GET`/`HEAD` of `/orgs/<slug>/subprocessors{,.json,.csv}` and `changes.atom`
only when everything it needs is at hand: the organization's state held by this process
and fresh (`cache.states`, the same bounded age as the Flask path), and for a 200 the body
in `cache.bodies`. The day, key, headers and validators come from the view's own
`prepare`, so the answer is the Flask path's, byte for byte; the request is still counted
in Prometheus under its route, and carries its request id to gunicorn's access log.

Anything else goes to Flask untouched: another method, an `Authorization` header (keys
are checked in full there), a query string other than `lang=pl|en` on the page and feed,
a path it does not know, an unknown or stale state, a body not cached, and any error.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable

from flask import Flask
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import is_resource_modified, parse_accept_header

from service import SECURITY_HEADERS, clock
from service.keys.auth import SLUG
from service.observability import logs, metrics
from service.public import cache, views
from service.public.texts import LANGUAGES, negotiate

PREFIX = "/orgs/"
# Last path segment -> (form, URL rule as Flask names it in metrics).
ROUTES = {
    "subprocessors": ("html", "/orgs/<org>/subprocessors"),
    "subprocessors.json": ("json", "/orgs/<org>/subprocessors.json"),
    "subprocessors.csv": ("csv", "/orgs/<org>/subprocessors.csv"),
    "changes.atom": ("atom", "/orgs/<org>/changes.atom"),
}
NEGOTIATED = frozenset({"html", "atom"})
LANGUAGE_QUERIES = {f"lang={code}": code for code in LANGUAGES}


@functools.lru_cache(maxsize=256)
def _language(accept_language: str | None) -> str:
    # As Flask's `request.accept_languages`; few distinct headers, so remembered (bounded).
    return negotiate(None, parse_accept_header(accept_language, LanguageAccept))


class FastPath:
    """A WSGI layer that answers some requests before Flask, as Flask would (security
    headers, request id, counted under the route), and hands every other one to Flask.
    A subclass's `_answer` gives (status, URL rule, headers, body) or None."""

    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        try:
            answer = self._answer(environ)
        except Exception:  # never a 500 from here: Flask answers, and reports, instead
            answer = None
        if answer is None:
            return self.wsgi_app(environ, start_response)
        status, rule, headers, body = answer
        headers.extend(SECURITY_HEADERS)
        headers.append(
            (logs.REQUEST_ID_HEADER, logs.accept_request_id(environ.get("HTTP_X_REQUEST_ID")))
        )
        method = environ["REQUEST_METHOD"]
        metrics.observe_request(method, rule, status, time.perf_counter() - started)
        start_response("200 OK" if status == 200 else "304 NOT MODIFIED", headers)
        return [] if method == "HEAD" or status == 304 else [body]

    def _answer(self, environ: dict) -> tuple[int, str, list, bytes] | None:
        raise NotImplementedError


class PublicFastPath(FastPath):
    def _answer(self, environ: dict) -> tuple[int, str, list, bytes] | None:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD") or "HTTP_AUTHORIZATION" in environ:
            return None
        path = environ.get("PATH_INFO", "")
        if environ.get("SCRIPT_NAME") or not path.startswith(PREFIX):
            return None
        slug, _, name = path[len(PREFIX) :].partition("/")
        route = ROUTES.get(name)
        if route is None or not SLUG.fullmatch(slug):
            return None
        form, rule = route
        query = environ.get("QUERY_STRING", "")
        if form in NEGOTIATED:
            lang = LANGUAGE_QUERIES.get(query) if query else None
            if query and lang is None:
                return None
            lang = lang or _language(environ.get("HTTP_ACCEPT_LANGUAGE"))
        elif query:
            return None
        else:
            lang = "-"
        state = cache.states.peek(slug, self.app.config["PUBLIC_STATE_MAX_AGE_SECONDS"])
        if state is None:
            return None
        _today, key, headers, last_modified = views.prepare(state, form, lang, clock.now())
        if key is None:
            return None
        if not is_resource_modified(environ, etag=key.etag, last_modified=last_modified):
            # As Werkzeug sends a 304: without its entity headers.
            del headers["Content-Type"]
            headers.pop("Last-Modified", None)
            return 304, rule, list(headers.items()), b""
        body = cache.bodies.get(key)
        if body is None:
            return None
        headers["X-Cache"] = "hit"
        headers["Content-Length"] = str(len(body))
        return 200, rule, list(headers.items()), body
