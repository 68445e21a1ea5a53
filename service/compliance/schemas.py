from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from service.common import ApiSchema
from service.compliance.items import CONTEXTS
from service.compliance.rules import RULES, SEVERITIES

RULE_FAMILIES = frozenset(rule.split(".", 1)[0] for rule in RULES)


def check_rule(value: str) -> None:
    if value not in RULES and value not in RULE_FAMILIES:
        raise ValidationError(
            f"Unknown rule; use one of {', '.join(sorted(RULE_FAMILIES))} or a full rule id."
        )


class ComplianceArgs(ApiSchema):
    as_of = fields.Date(metadata={"description": "Judge the register as of this date"})
    severity = fields.String(validate=validate.OneOf(SEVERITIES))
    rule = fields.String(
        validate=check_rule,
        metadata={"description": "A rule id (transfer.no_mechanism) or a family (transfer)"},
    )
    context = fields.String(
        validate=validate.OneOf(CONTEXTS),
        metadata={
            "description": "One register: customers_data (the organization as processor) "
            "or controller (its own data)"
        },
    )
    expiring_within = fields.Integer(
        validate=validate.Range(min=0, max=3650),
        metadata={"description": "Days ahead that count as expiring (default 60)"},
    )


class ComplianceRecipientSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    status = fields.String()


class ComplianceLocationSchema(Schema):
    country = fields.String(allow_none=True)
    international_organisation = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    mechanism = fields.String()


class ComplianceChangeSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    effective_on = fields.Date()


class ComplianceCustomerSchema(Schema):
    id = fields.Integer()
    external_ref = fields.String()
    name = fields.String()


class ComplianceControllerRecipientSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    role = fields.String(
        metadata={"description": "processor, independent_controller or joint_controller"}
    )


class ComplianceActivitySchema(Schema):
    id = fields.Integer()
    key = fields.String()
    name = fields.String()


class ComplianceItemSchema(Schema):
    severity = fields.String(metadata={"description": "error, warning or info"})
    rule = fields.String(metadata={"description": "Stable rule id, e.g. transfer.no_mechanism"})
    context = fields.String(
        validate=validate.OneOf(CONTEXTS),
        metadata={
            "description": "customers_data (the organization as processor of its customers' "
            "data) or controller (its own processing, Art. 30(1))"
        },
    )
    recipient = fields.Nested(
        ComplianceRecipientSchema,
        allow_none=True,
        metadata={"description": "A subprocessor or other recipient of customers' data"},
    )
    controller_recipient = fields.Nested(
        ComplianceControllerRecipientSchema,
        allow_none=True,
        metadata={"description": "A recipient of the organization's own data"},
    )
    activity = fields.Nested(
        ComplianceActivitySchema,
        allow_none=True,
        metadata={"description": "A processing activity of the organization as controller"},
    )
    location = fields.Nested(ComplianceLocationSchema, allow_none=True)
    change = fields.Nested(ComplianceChangeSchema, allow_none=True)
    customer = fields.Nested(
        ComplianceCustomerSchema,
        allow_none=True,
        metadata={"description": "For items about one customer (an objection, a late notice)"},
    )
    due_on = fields.Date(allow_none=True)
    detail = fields.String()
    fix = fields.String()


class RiskSchema(Schema):
    instrument = fields.String(metadata={"description": "Reference id, e.g. US-dpf"})
    decision = fields.String()
    cases = fields.List(fields.Dict(), metadata={"description": "Court cases, with status"})
    recipients = fields.List(fields.String(), metadata={"description": "Vendors relying on it"})


class ComplianceSchema(Schema):
    as_of = fields.Date(required=True)
    residency_policy = fields.String()
    summary = fields.Dict(keys=fields.String(), values=fields.Integer())
    total = fields.Integer()
    items = fields.List(fields.Nested(ComplianceItemSchema), required=True)
    risks = fields.List(
        fields.Nested(RiskSchema),
        metadata={"description": "Instruments relied on that a pending court case puts at risk"},
    )
    reference_data = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "Reference files used, with the day each was retrieved"},
    )
