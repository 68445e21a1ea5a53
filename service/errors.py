"""One error shape for the whole API: application/problem+json (RFC 9457)."""

from __future__ import annotations

import http
import logging

import marshmallow as ma
from flask import Response, json
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

PROBLEM_MIMETYPE = "application/problem+json"
PROBLEM_BASE = "https://dpa-registry.example/problems/"


class DomainError(Exception):
    """A rule of the domain was broken; the view layer maps it to a problem response."""

    status = 422
    slug = "domain-rule"
    title = "Request breaks a rule of the registry"
    # Names the message a person reads on a page (service/error_texts.py), in their language;
    # `detail` is the English text for API clients. None: the page says what the status means.
    key: str | None = None

    def __init__(
        self, detail: str, *, errors: dict | None = None, key: str | None = None, **extra: object
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.extra = extra
        if key is not None:
            self.key = key


class ValidationFailed(DomainError):
    slug = "validation"
    title = "Invalid request"


class NotFound(DomainError):
    status = 404
    slug = "not-found"
    title = "Not found"


class InvalidLink(NotFound):
    """A signed link that is forged, expired, foreign or names nothing any more."""

    key = "invalid_link"


class Conflict(DomainError):
    status = 409
    slug = "conflict"
    title = "Conflicts with the current state"


class PreconditionFailed(DomainError):
    status = 412
    slug = "precondition-failed"
    title = "The resource changed since it was read"


class Unauthorized(DomainError):
    status = 401
    slug = "unauthorized"
    title = "Authentication required"


class Forbidden(DomainError):
    status = 403
    slug = "forbidden"
    title = "Not allowed for this key"


class TooManyRequests(DomainError):
    status = 429
    slug = "too-many-requests"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, **extra: object) -> None:
        super().__init__(detail, retry_after=retry_after, **extra)
        self.headers = {"Retry-After": str(retry_after)}


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    slug: str | None = None,
    errors: dict | None = None,
    headers: dict | None = None,
    **extra: object,
) -> Response:
    body: dict = {
        "type": PROBLEM_BASE + (slug or str(status)),
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MIMETYPE)
    if headers:
        response.headers.update(headers)
    if status == 401:
        response.headers.setdefault("WWW-Authenticate", 'Bearer realm="dpa-registry"')
    return response


def _flatten_webargs_messages(messages: dict) -> dict:
    """webargs nests messages by location ({"json": {...}}); clients want field -> messages."""
    flat: dict = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            flat.update(fields)
        else:
            flat[location] = fields
    return flat


class ProblemSchema(ma.Schema):
    """An error as documented in the OpenAPI document (RFC 9457); only for documentation."""

    class Meta:
        unknown = ma.INCLUDE  # a problem may carry extension members (e.g. `retry_after`)

    type = ma.fields.String(required=True)
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String()
    errors = ma.fields.Dict(metadata={"description": "Field name to messages"})


class ProblemApi(Api):
    """flask-smorest Api whose error handler answers problem+json instead of its own shape."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        # flask-smorest documents its own error shape as application/json; ours is
        # application/problem+json, for every status and for the default error response.
        for status in http.HTTPStatus:
            response: dict = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_MIMETYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_MIMETYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def handle_http_exception(self, error: HTTPException) -> Response:
        if isinstance(error, InternalServerError):
            original = getattr(error, "original_exception", None)
            if original is not None:
                log.error("unhandled error", exc_info=original)
            return problem(500, "Internal error", "The error was logged.", slug="internal")
        data = getattr(error, "data", None) or {}
        messages = data.get("messages")
        status = error.code or 500
        if messages:
            return problem(
                status,
                "Invalid request",
                "One or more fields are invalid.",
                slug="validation",
                errors=_flatten_webargs_messages(messages),
            )
        headers = dict(data.get("headers") or {})
        if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
            headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
        return problem(
            status,
            error.name,
            data.get("message") or error.description,
            slug=str(status),
            headers=headers,
        )


def handle_domain_error(error: DomainError) -> Response:
    return problem(
        error.status,
        error.title,
        error.detail,
        slug=error.slug,
        errors=error.errors,
        headers=getattr(error, "headers", None),
        **error.extra,
    )


def handle_unexpected(error: Exception) -> Response:
    log.exception("unhandled error")
    return problem(500, "Internal error", "The error was logged.", slug="internal")


def handle_integrity_error(error: Exception) -> Response:
    # Services check uniqueness first; this answers the race two requests can still run.
    log.info("integrity error answered as 409: %s", type(error).__name__)
    return problem(
        409,
        "Conflicts with the current state",
        "Another request changed the same data at the same time; reload and try again.",
        slug="conflict",
    )


def handle_database_unavailable(error: Exception) -> Response:
    # A dropped connection, a restarting server, a failover: the client may simply retry.
    # pool_pre_ping replaces the dead connection on the next checkout.
    log.warning("database unavailable: %s", type(error).__name__)
    return problem(
        503,
        "Database unavailable",
        "The database could not be reached; nothing was written. Try again shortly.",
        slug="database-unavailable",
        headers={"Retry-After": "5"},
    )


def handle_data_error(error: Exception) -> Response:
    log.info("data error answered as 422: %s", type(error).__name__)
    return problem(
        422,
        "Invalid request",
        "A value cannot be stored (out of range or not representable).",
        slug="validation",
    )
