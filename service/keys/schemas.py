from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from service.common import ApiSchema, required_line


class KeyCreateSchema(ApiSchema):
    role = fields.String(required=True, validate=validate.OneOf(("legal", "customer")))
    name = required_line(200, metadata={"description": "Holder; the audit trail's actor"})
    customer_id = fields.Integer(
        allow_none=True, metadata={"description": "Required for a customer key"}
    )

    @validates_schema
    def check_customer(self, data: dict, **_: object) -> None:
        if data.get("role") == "customer" and not data.get("customer_id"):
            raise ValidationError({"customer_id": ["Required for a customer key."]})
        if data.get("role") == "legal" and data.get("customer_id"):
            raise ValidationError({"customer_id": ["Only customer keys belong to a customer."]})


class KeySchema(Schema):
    prefix = fields.String()
    name = fields.String()
    role = fields.String()
    customer_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)


class NewKeySchema(KeySchema):
    key = fields.String(metadata={"description": "The secret, shown this once and never again"})


class KeyListSchema(Schema):
    items = fields.List(fields.Nested(KeySchema), required=True)
    total = fields.Integer(required=True)
