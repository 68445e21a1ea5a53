from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from service.common import (
    ApiSchema,
    Country,
    PageArgs,
    PageSchema,
    line,
    required_line,
    required_text,
    text,
    text_list,
)
from service.customers.models import AUTHORISATIONS, LOCALES, OBJECTION_REMEDIES
from service.recipients.models import SPECIAL_CATEGORIES


class ContactSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=320))
    name = line(200)
    locale = fields.String(load_default="pl", validate=validate.OneOf(LOCALES))


class AgreementTermsSchema(Schema):
    """Negotiated overrides; null falls back to the agreement version, then the organization."""

    agreement_version_id = fields.Integer(allow_none=True)
    authorisation = fields.String(allow_none=True, validate=validate.OneOf(AUTHORISATIONS))
    notice_days = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=365))
    objection_days = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=365))
    objection_remedy = fields.String(allow_none=True, validate=validate.OneOf(OBJECTION_REMEDIES))
    rejects_unjustified_objections = fields.Boolean(allow_none=True)
    emergency_clause = fields.Boolean(allow_none=True)
    emergency_notice_days = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=365))
    post_hoc_objection_days = fields.Integer(
        allow_none=True, validate=validate.Range(min=0, max=365)
    )


def _unique_emails(contacts: list[dict]) -> None:
    emails = [c["email"].lower() for c in contacts]
    if len(emails) != len(set(emails)):
        raise ValidationError({"contacts": ["Each e-mail address once."]})


class ControllerFields(Schema):
    """The controller as the processor's record names it (GDPR Art. 30(2)(a)), and the
    special categories (Art. 9(1)) it entrusts."""

    address = text(500)
    country = Country(allow_none=True)
    dpo_name = text(200, allow_none=True)
    dpo_email = fields.Email(allow_none=True, validate=validate.Length(max=320))
    representative_name = text(200, allow_none=True)
    representative_email = fields.Email(allow_none=True, validate=validate.Length(max=320))
    special_categories = fields.List(
        fields.String(validate=validate.OneOf(SPECIAL_CATEGORIES)),
        validate=validate.Length(max=len(SPECIAL_CATEGORIES)),
    )


class CustomerCreateSchema(ApiSchema, ControllerFields):
    external_ref = required_line(100)
    name = required_line(300)
    started_on = fields.Date()
    ended_on = fields.Date(allow_none=True)
    services = text_list(max_len=63)
    contacts = fields.List(fields.Nested(ContactSchema), validate=validate.Length(max=20))
    agreement = fields.Nested(AgreementTermsSchema)

    @validates_schema
    def check(self, data: dict, **_: object) -> None:
        _unique_emails(data.get("contacts") or [])
        start, end = data.get("started_on"), data.get("ended_on")
        if start and end and end < start:
            raise ValidationError({"ended_on": ["Before started_on."]})


class CustomerPatchSchema(CustomerCreateSchema):
    """Any top-level field may be left out. `partial=True` would also reach into the nested
    contacts, but a contact that is sent must be complete: contacts are replaced as a set."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("partial", tuple(self._declared_fields))
        super().__init__(**kwargs)


class TermsOutSchema(AgreementTermsSchema):
    version = fields.String(
        allow_none=True, metadata={"description": "Label of the agreement version in force"}
    )
    accepted_at = fields.DateTime(allow_none=True)
    effective = fields.Dict(metadata={"description": "Terms in force after the fallbacks"})


class CustomerSchema(ControllerFields):
    id = fields.Integer()
    external_ref = fields.String()
    name = fields.String()
    started_on = fields.Date()
    ended_on = fields.Date(allow_none=True)
    end_reason = fields.String(allow_none=True)
    services = fields.List(fields.String())
    contacts = fields.List(fields.Nested(ContactSchema))
    agreement = fields.Nested(TermsOutSchema)
    deletion_due_on = fields.Date(
        allow_none=True,
        metadata={"description": "When the records of the ended relationship are purged"},
    )


class OffboardingSchema(ApiSchema):
    ended_on = fields.Date(
        metadata={"description": "The relationship's last day; default today (local)"}
    )
    reason = required_text(2000)


class OffboardingResultSchema(Schema):
    customer = fields.Nested(CustomerSchema)
    agreement_requests_closed = fields.Integer()
    deliveries_cancelled = fields.Integer()


class CustomerListSchema(PageSchema):
    items = fields.List(fields.Nested(CustomerSchema), required=True)


class CustomerListArgs(PageArgs):
    external_ref = fields.String(validate=validate.Length(max=100))
    q = fields.String(
        validate=validate.Length(min=1, max=100), metadata={"description": "Name contains"}
    )
    service = fields.String(validate=validate.Length(max=63))
    active = fields.Boolean(
        metadata={"description": "Only customers whose relationship has not ended"}
    )


class CallerCustomerSchema(Schema):
    id = fields.Integer(metadata={"description": "The id in /customers/{customer_id} paths"})
    external_ref = fields.String(metadata={"description": "The organization's reference"})
    name = fields.String()


class CallerSchema(Schema):
    """Who the key in the request belongs to."""

    role = fields.String(metadata={"description": "admin, legal or customer"})
    key_name = fields.String(metadata={"description": "The holder the key is named after"})
    key_prefix = fields.String(
        allow_none=True, metadata={"description": "The key's public prefix (never the secret)"}
    )
    organization = fields.String(metadata={"description": "The organization's slug"})
    customer = fields.Nested(
        CallerCustomerSchema,
        allow_none=True,
        metadata={"description": "For a customer key, the customer it acts for; else null"},
    )
