"""Pieces every domain package shares: field types, paging, org-local dates."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from flask import Response, current_app
from marshmallow import Schema, ValidationError, fields, pre_load, validate
from sqlalchemy import Select, func, select

from service import reference
from service.extensions import db

# Ids are PostgreSQL `integer`s: a larger number is no id, and binding it fails in the
# database, so schemas refuse it as a field error and lookups treat it as absent.
MAX_ID = 2**31 - 1


def _nul_errors(value: object) -> dict | list | None:
    if isinstance(value, str):
        return ["Contains a NUL character."] if "\x00" in value else None
    if isinstance(value, Mapping):
        found = {key: errors for key, item in value.items() if (errors := _nul_errors(item))}
    elif isinstance(value, list):
        found = {i: errors for i, item in enumerate(value) if (errors := _nul_errors(item))}
    else:
        return None
    return found or None


class ApiSchema(Schema):
    """Base of every input schema: PostgreSQL keeps no NUL character in text or JSON, so
    refuse it as a field error here instead of letting the statement fail."""

    @pre_load
    def refuse_nul(self, data: object, **_: object) -> object:
        if isinstance(data, Mapping) and (errors := _nul_errors(data)):
            raise ValidationError(errors)
        return data


def check_not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")


# Control characters (CR, LF, TAB...), format characters (bidi overrides and isolates,
# zero-width spaces and joiners) and line/paragraph separators: in a one-line field they
# reorder, hide or break what pages, CSV cells and e-mail headers show.
NOT_IN_A_LINE = frozenset({"Cc", "Cf", "Zl", "Zp"})


def check_single_line(value: str) -> None:
    for ch in value:
        if unicodedata.category(ch) in NOT_IN_A_LINE:
            raise ValidationError(
                f"Must be one line of visible text; U+{ord(ch):04X} "
                f"({unicodedata.name(ch, 'a control character')}) is not allowed."
            )


def Id(**kwargs: object) -> fields.Integer:
    return fields.Integer(validate=validate.Range(min=1, max=MAX_ID), **kwargs)


def check_country(value: str) -> None:
    if not reference.is_country(value):
        raise ValidationError("Not an ISO 3166-1 alpha-2 country code (e.g. 'PL', 'US').")


class Country(fields.String):
    """ISO 3166-1 alpha-2, upper case, validated against the reference list."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(validate=check_country, **kwargs)


def text(max_len: int, **kwargs: object) -> fields.String:
    return fields.String(validate=validate.Length(max=max_len), **kwargs)


def required_text(max_len: int, **kwargs: object) -> fields.String:
    return fields.String(
        required=True, validate=[validate.Length(min=1, max=max_len), check_not_blank], **kwargs
    )


def line(max_len: int, **kwargs: object) -> fields.String:
    """A one-line text: a name, an entity, a reason."""
    return fields.String(validate=[validate.Length(max=max_len), check_single_line], **kwargs)


def required_line(max_len: int, **kwargs: object) -> fields.String:
    return fields.String(
        required=True,
        validate=[validate.Length(min=1, max=max_len), check_not_blank, check_single_line],
        **kwargs,
    )


def text_list(max_items: int = 50, max_len: int = 300, **kwargs: object) -> fields.List:
    return fields.List(
        fields.String(validate=validate.Length(min=1, max=max_len)),
        validate=validate.Length(max=max_items),
        **kwargs,
    )


class PageArgs(ApiSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class PageSchema(Schema):
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


def as_response(schema: type[Schema], data: object) -> Response:
    """`data` dumped by `schema` as the JSON answer flask-smorest sends for it, for views
    that keep the bytes (a view may return a Response; flask-smorest passes it on)."""
    return current_app.json.response(schema().dump(data))


def page_body(items: list, total: int, page: int, per_page: int, **extra: object) -> dict:
    """The shape of every list answer: one page of items and the size of the whole list."""
    return {"items": items, "total": total, "page": page, "per_page": per_page, **extra}


def paginate(stmt: Select, page: int, per_page: int, *, scalars: bool = True) -> tuple[list, int]:
    """Run one page of `stmt` and count the whole result."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    paged = stmt.limit(per_page).offset((page - 1) * per_page)
    result = db.session.scalars(paged) if scalars else db.session.execute(paged)
    return list(result.unique().all() if scalars else result.all()), total or 0
