"""Optimistic locking: an ETag on the representations legal staff edit, and If-Match on PATCH.

The ETag is a hash of the JSON representation the response carries, so any change to the
resource (by this API, an import or a change taking effect) changes it. A PATCH with an
If-Match that names none of the current tags answers 412 and writes nothing; a PATCH
without If-Match is still accepted (last write wins), for clients written before ETags.
"""

from __future__ import annotations

import hashlib

from flask import json, request
from marshmallow import Schema

from service.errors import PreconditionFailed


def etag_of(schema: Schema, obj: object) -> str:
    body = json.dumps(schema.dump(obj), sort_keys=True, default=str)
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


def check_if_match(current: str) -> None:
    """Refuse the write when If-Match is sent and names a representation that is gone."""
    header = request.headers.get("If-Match")
    if header is None:
        return
    tags = {tag.strip() for tag in header.split(",")}
    if "*" in tags or current in tags:
        return
    raise PreconditionFailed(
        "The resource changed since you read it (If-Match does not match its ETag); "
        "GET it again and reapply your edit."
    )


def with_etag(schema: Schema, obj: object) -> tuple[object, int, dict]:
    """A view's return value carrying the ETag of `obj` as `schema` dumps it."""
    return obj, 200, {"ETag": etag_of(schema, obj)}
