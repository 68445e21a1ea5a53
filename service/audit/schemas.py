from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.common import PageArgs, PageSchema


class AuditEventSchema(Schema):
    seq = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    entity_type = fields.String()
    entity_id = fields.String()
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)
    prev_hash = fields.String()
    hash = fields.String()
    redacted_at = fields.DateTime(
        allow_none=True, metadata={"description": "When a retention purge pseudonymised it"}
    )
    sealed_hash = fields.String(
        allow_none=True, metadata={"description": "Digest of the pseudonymised content"}
    )


class AuditListSchema(PageSchema):
    items = fields.List(fields.Nested(AuditEventSchema), required=True)


class AuditListArgs(PageArgs):
    entity_type = fields.String(validate=validate.Length(max=40))
    entity_id = fields.String(validate=validate.Length(max=64))
    action = fields.String(validate=validate.Length(max=60))
    actor = fields.String(validate=validate.Length(max=200))


class ChainReportSchema(Schema):
    ok = fields.Boolean()
    events = fields.Integer()
    problem = fields.String(allow_none=True)
    first_bad_seq = fields.Integer(allow_none=True)
