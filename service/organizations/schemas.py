from __future__ import annotations

from zoneinfo import available_timezones

from marshmallow import Schema, ValidationError, fields, validate

from service.common import ApiSchema, Country, line, required_line, text
from service.organizations.models import RESIDENCY_POLICIES, RETENTION_FROM

SLUG = validate.Regexp(
    r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", error="Lower-case letters, digits and '-'."
)


def check_timezone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError("Unknown IANA time zone (e.g. 'Europe/Warsaw').")


class OrganizationFields(ApiSchema):
    legal_name = required_line(300)
    display_name = line(200, allow_none=True)
    address = text(500)
    country = Country(required=True)
    contact_email = fields.Email(required=True)
    legal_contact_email = fields.Email(allow_none=True)
    dpo_name = text(200, allow_none=True)
    dpo_email = fields.Email(allow_none=True)
    representative_name = text(200, allow_none=True)
    representative_email = fields.Email(allow_none=True)
    security_measures = text(20_000)
    retention_policy = text(5_000)
    retention_years = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=100))
    retention_from = fields.String(validate=validate.OneOf(RETENTION_FROM))
    timezone = fields.String(validate=check_timezone)
    default_notice_days = fields.Integer(validate=validate.Range(min=0, max=365))
    default_objection_days = fields.Integer(validate=validate.Range(min=0, max=365))
    residency_policy = fields.String(validate=validate.OneOf(RESIDENCY_POLICIES))


class OrganizationCreateSchema(OrganizationFields):
    slug = fields.String(required=True, validate=SLUG)


class OrganizationPatchSchema(OrganizationFields):
    pass


class ServiceRefSchema(Schema):
    slug = fields.String(dump_only=True)
    name_pl = fields.String(dump_only=True)
    name_en = fields.String(dump_only=True)


class OrganizationSchema(OrganizationCreateSchema):
    id = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    services = fields.List(fields.Nested(ServiceRefSchema), dump_only=True)


class ServiceCreateSchema(ApiSchema):
    slug = fields.String(required=True, validate=SLUG)
    name_pl = required_line(200)
    name_en = required_line(200)


class ServiceSchema(ServiceCreateSchema):
    id = fields.Integer(dump_only=True)


class ServiceListSchema(Schema):
    items = fields.List(fields.Nested(ServiceSchema), required=True)
    total = fields.Integer(required=True)
