from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.common import ApiSchema


class WebhookCreateSchema(ApiSchema):
    url = fields.String(
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata={"description": "An https URL on a public address"},
    )


class WebhookSchema(Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    url = fields.String()
    status = fields.String(metadata={"description": "`active` or `disabled`"})
    failures = fields.Integer(metadata={"description": "Consecutive failed attempts"})
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    disabled_at = fields.DateTime(allow_none=True)


class NewWebhookSchema(WebhookSchema):
    secret = fields.String(
        metadata={"description": "The signing secret, shown this once and never again"}
    )


class WebhookListSchema(Schema):
    items = fields.List(fields.Nested(WebhookSchema), required=True)
    total = fields.Integer(required=True)
