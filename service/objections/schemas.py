from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.common import ApiSchema, Id, PageArgs, PageSchema, required_text, text
from service.objections.models import KINDS, STATUSES


class ObjectionCreateSchema(ApiSchema):
    reason = text(5000, load_default="")


class ConsentCreateSchema(ApiSchema):
    decision = fields.String(required=True, validate=validate.OneOf(("consent", "refuse")))
    reason = text(5000, load_default="")


class ResolutionSchema(ApiSchema):
    outcome = fields.String(
        load_default="upheld",
        validate=validate.OneOf(("upheld", "rejected", "alternative")),
        metadata={
            "description": "upheld (the customer's remedy), rejected (where its agreement "
            "allows it; the note gives the reasons), alternative (offered and accepted; the "
            "note says what)"
        },
    )
    note = required_text(5000)
    termination_on = fields.Date(
        metadata={"description": "Remedy `terminate`: the day the agreement ends"}
    )


class WithdrawalSchema(ApiSchema):
    reason = text(5000, load_default="")


class PartyRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    external_ref = fields.String()


class ObjectionSchema(Schema):
    id = fields.Integer()
    change_id = fields.Integer()
    customer = fields.Nested(PartyRefSchema)
    recipient = fields.Nested(PartyRefSchema)
    kind = fields.String(metadata={"description": "objection, consent or refusal"})
    reason = fields.String()
    channel = fields.String(metadata={"description": "api, link or portal"})
    filed_at = fields.DateTime()
    status = fields.String(metadata={"description": "open, resolved, recorded or void"})
    resolution = fields.String(
        allow_none=True,
        metadata={"description": "excluded, termination_right, rejected, withdrawn or alternative"},
    )
    resolution_note = fields.String(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    termination_on = fields.Date(allow_none=True)


class ObjectionListSchema(PageSchema):
    items = fields.List(fields.Nested(ObjectionSchema), required=True)


class ObjectionListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(STATUSES))
    kind = fields.String(validate=validate.OneOf(KINDS))
    change_id = Id()
    customer_id = Id()
