"""Pieces every domain package shares: field types, paging, org-local dates."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import Select, func, select

from service import reference
from service.extensions import db


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
    return fields.String(required=True, validate=validate.Length(min=1, max=max_len), **kwargs)


def text_list(max_items: int = 50, max_len: int = 300, **kwargs: object) -> fields.List:
    return fields.List(
        fields.String(validate=validate.Length(min=1, max=max_len)),
        validate=validate.Length(max=max_items),
        **kwargs,
    )


class PageArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class PageSchema(Schema):
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)


def paginate(stmt: Select, page: int, per_page: int, *, scalars: bool = True) -> tuple[list, int]:
    """Run one page of `stmt` and count the whole result."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    paged = stmt.limit(per_page).offset((page - 1) * per_page)
    result = db.session.scalars(paged) if scalars else db.session.execute(paged)
    return list(result.unique().all() if scalars else result.all()), total or 0


def local_today(timezone: str, now: datetime | None = None) -> date:
    """The organization's calendar date: effective dates are local dates, not UTC ones."""
    moment = now or datetime.now(ZoneInfo("UTC"))
    return moment.astimezone(ZoneInfo(timezone)).date()
