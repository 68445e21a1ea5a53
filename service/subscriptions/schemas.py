from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.common import ApiSchema
from service.customers.models import LOCALES


class SubscribeSchema(ApiSchema):
    email = fields.Email(required=True, validate=validate.Length(max=320))
    locale = fields.String(load_default="pl", validate=validate.OneOf(LOCALES))


class AcceptedSchema(Schema):
    status = fields.String(required=True)
    detail = fields.String(required=True)


class ErasureRequestSchema(ApiSchema):
    email = fields.Email(required=True, validate=validate.Length(max=320))


class ErasureSchema(Schema):
    suppressed = fields.Boolean(
        required=True, metadata={"description": "The address will never be written to again"}
    )
    subscription_erased = fields.Boolean(
        required=True, metadata={"description": "Whether a subscription of it existed"}
    )
