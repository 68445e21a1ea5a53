"""HTTP plumbing every package shares: the API Blueprint with a stricter argument parser,
and the one rule on which methods may act."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable

import flask_smorest
from flask import current_app, request
from marshmallow import RAISE
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from service.errors import DomainError

# No document of the API nests deeper than a handful of levels; 32 leaves room and keeps
# every recursive walk (NUL check, marshmallow, audit JSON) far from Python's limit.
MAX_JSON_DEPTH = 32
# A number longer than this is no id, count or amount; Python refuses to convert integers
# over 4300 digits (CVE-2020-10735), which must be a 400 here, not a 500 deep inside.
MAX_NUMBER_LENGTH = 40


class UnreadableJson(DomainError):
    status = 400
    slug = "validation"
    title = "Invalid request"

    def __init__(self, reason: str) -> None:
        super().__init__(f"The JSON body cannot be read: {reason}", errors={"json": [reason]})


def _number(convert: Callable[[str], float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        if len(text) > MAX_NUMBER_LENGTH:
            raise UnreadableJson(f"A number longer than {MAX_NUMBER_LENGTH} characters.")
        value = convert(text)
        if not math.isfinite(value):
            raise UnreadableJson("A number out of range.")
        return value

    return parse


def _no_constant(name: str) -> None:
    raise UnreadableJson(f"{name} is not JSON.")


def check_json_depth(value: object) -> object:
    """Refuse a parsed document nested deeper than MAX_JSON_DEPTH (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if not isinstance(item, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            raise UnreadableJson(f"Nested deeper than {MAX_JSON_DEPTH} levels.")
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children)
    return value


def load_json(data: str | bytes) -> object:
    """Parse a JSON document from outside: the one parser every request body goes through."""
    try:
        value = json.loads(
            data,
            parse_int=_number(int),
            parse_float=_number(float),
            parse_constant=_no_constant,
        )
    except RecursionError:
        raise UnreadableJson(f"Nested deeper than {MAX_JSON_DEPTH} levels.") from None
    except UnicodeDecodeError:
        raise UnreadableJson("Not UTF-8 text.") from None
    except json.JSONDecodeError as exc:
        raise UnreadableJson(f"Not valid JSON ({exc.msg}, character {exc.pos}).") from None
    return check_json_depth(value)


class StrictParser(FlaskParser):
    # webargs drops unknown query parameters by default; a typo such as `?activ=false`
    # would then silently return everything. Name it instead.
    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": RAISE,
        "querystring": RAISE,
    }

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        data = req.get_data(cache=True)
        # An empty body is a missing one (required fields answer), as in webargs.
        return load_json(data) if data.strip() else core.missing


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = StrictParser()


# Paths only programs read: their errors stay problem+json whatever the Accept header says.
MACHINE_PATHS = ("/api/", "/openapi.json", "/healthz", "/readyz", "/metrics")
# Listed in the order preferred when a client accepts them equally (`*/*`, or no Accept).
ERROR_TYPES = ("application/problem+json", "application/json", "text/html")


def negotiable() -> bool:
    """Whether this path's errors depend on the Accept header (a path people open)."""
    return not request.path.startswith(MACHINE_PATHS)


def wants_html() -> bool:
    """Whether an error is answered as a page: a browser (Accept prefers text/html) asking
    for a path people open. The one place that decides; API clients keep problem+json."""
    return negotiable() and request.accept_mimetypes.best_match(ERROR_TYPES) == "text/html"


# Methods that only read (RFC 9110 9.2.1). Every layer asks `acts()`, never `== "GET"`.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def acts() -> bool:
    """Whether this request may change anything: only an unsafe method (a form's POST)."""
    return request.method not in SAFE_METHODS


class HeadAsGet:
    """Serve HEAD as the GET it mirrors, minus the body, before Flask sees it.

    Flask routes HEAD to the GET view, where `request.method` is "HEAD"; a view, the rate
    limiter or a CSRF check that branches on "GET" would then treat HEAD as a POST (link
    scanners send HEAD). Turning HEAD into GET here makes every layer behind it take the
    reading path, and RFC 9110 9.3.2 asks for exactly GET's answer without content.
    """

    def __init__(self, wsgi_app: Callable) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "HEAD":
            return self.wsgi_app(environ, start_response)
        environ["REQUEST_METHOD"] = "GET"
        environ["dpa.head"] = True  # metrics and logs still name the method the client sent
        body = self.wsgi_app(environ, start_response)
        close = getattr(body, "close", None)
        if close is not None:
            close()  # a streamed body is never generated, only released
        return []


def warm_worker() -> None:
    """Make a web worker's first request cost what its others do (gunicorn's
    `post_worker_init`, in an app context): the mappers configured, a database connection
    in the pool and the shared pages' Redis connection open. A fresh worker's first page
    of the list took 54-74 ms against 3-9 ms for the next ones (bench/large_registry.py)."""
    from sqlalchemy import text
    from sqlalchemy.orm import configure_mappers

    from service.extensions import db
    from service.public import cache

    configure_mappers()
    db.session.execute(text("SELECT 1"))
    db.session.remove()
    config = current_app.config
    if int(config["API_PAGE_SHARE_SECONDS"]) > 0:
        cache.shared_pages.get(config["REDIS_URL"], ("warm",))
