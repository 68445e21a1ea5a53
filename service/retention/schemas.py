from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validates_schema

from service.common import ApiSchema, text


class RetentionArgs(ApiSchema):
    as_of = fields.Date(
        metadata={"description": "Judge due dates as of this date (default: today)"}
    )


class LegalHoldBodySchema(ApiSchema):
    hold = fields.Boolean(required=True, metadata={"description": "Place (true) or lift (false)"})
    reason = text(2000, allow_none=True, metadata={"description": "Required to place a hold"})

    @validates_schema
    def check(self, data: dict, **_: object) -> None:
        if data["hold"] and not (data.get("reason") or "").strip():
            raise ValidationError({"reason": ["Say why the records must be kept."]})


class HoldSchema(Schema):
    kind = fields.String(metadata={"description": "legal_hold or open_objection"})
    since = fields.DateTime(allow_none=True)
    reason = fields.String(allow_none=True)
    objection_id = fields.Integer()
    change_id = fields.Integer()


class LegalHoldSchema(Schema):
    customer_id = fields.Integer()
    legal_hold = fields.Boolean()
    since = fields.DateTime(allow_none=True)
    reason = fields.String(allow_none=True)
    deletion_due_on = fields.Date(allow_none=True)
    holds = fields.List(fields.Nested(HoldSchema))


class RetainedCustomerSchema(Schema):
    id = fields.Integer()
    external_ref = fields.String()
    name = fields.String()


class RetentionItemSchema(Schema):
    customer = fields.Nested(RetainedCustomerSchema)
    ended_on = fields.Date()
    deletion_due_on = fields.Date(allow_none=True)
    status = fields.String(
        metadata={"description": "due, held, scheduled, or kept (no retention period set)"}
    )
    holds = fields.List(fields.Nested(HoldSchema))


class RuleActivitySchema(Schema):
    id = fields.Integer()
    key = fields.String()
    name = fields.String()


class RetentionRuleSchema(Schema):
    source = fields.String(
        metadata={
            "description": "Where the period comes from: activity (the processing activity "
            "covering customer records), organization (its own setting) or none (kept)"
        }
    )
    activity = fields.Nested(RuleActivitySchema, allow_none=True)
    retention_years = fields.Integer(
        allow_none=True,
        metadata={"description": "Years counted (an activity's years plus its extra years)"},
    )
    retention_from = fields.String(allow_none=True)
    problem = fields.String(
        allow_none=True,
        metadata={"description": "Why the activity's rule cannot be applied (nothing purged)"},
    )
    retention_policy = fields.String()


class RetentionReportSchema(Schema):
    as_of = fields.Date()
    rule = fields.Nested(RetentionRuleSchema)
    summary = fields.Dict(keys=fields.String(), values=fields.Integer())
    next_deletion_on = fields.Date(allow_none=True)
    total = fields.Integer()
    items = fields.List(fields.Nested(RetentionItemSchema))
