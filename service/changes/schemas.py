from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from service.changes.models import KINDS, STATUSES
from service.common import (
    MAX_ID,
    ApiSchema,
    PageArgs,
    PageSchema,
    line,
    required_line,
)
from service.recipients.schemas import MaterialUpdateSchema


class ChangeCreateSchema(ApiSchema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    recipient_id = fields.Integer(
        required=True,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "The vendor added, updated or removed; for replace, the new one"},
    )
    replaces_id = fields.Integer(
        allow_none=True,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "For replace: the vendor that leaves"},
    )
    effective_on = fields.Date(required=True)
    reason = line(5000)
    urgent = fields.Boolean(load_default=False)
    urgent_justification = line(5000, allow_none=True)
    update = fields.Nested(
        MaterialUpdateSchema,
        metadata={"description": "For update: the material fields as they will be"},
    )
    historical = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Record a change that already took effect (effective_on today or "
            "earlier), e.g. from the list's past versions: no notice, never shown as announced"
        },
    )
    source = line(300, allow_none=True, metadata={"description": "For historical: where from"})

    @validates_schema
    def check_kind(self, data: dict, **_: object) -> None:
        errors: dict[str, list[str]] = {}
        kind = data.get("kind")
        if kind == "replace" and not data.get("replaces_id"):
            errors["replaces_id"] = ["Required for a replace."]
        if kind != "replace" and data.get("replaces_id"):
            errors["replaces_id"] = ["Only a replace names the vendor it replaces."]
        if kind == "update" and not data.get("update"):
            errors["update"] = ["Required for an update: the material fields that change."]
        if kind != "update" and "update" in data:
            errors["update"] = ["Only an update carries new material fields."]
        if data.get("source") and not data.get("historical"):
            errors["source"] = ["Only a historical change names its source."]
        if data.get("urgent") and not (data.get("urgent_justification") or "").strip():
            errors["urgent_justification"] = ["An urgent change must say why."]
        if errors:
            raise ValidationError(errors)


class WithdrawSchema(ApiSchema):
    reason = required_line(5000)


class ChangeRecipientSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    legal_entity = fields.String()


class ChangeSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    recipient = fields.Nested(ChangeRecipientSchema)
    replaces = fields.Nested(ChangeRecipientSchema, allow_none=True)
    effective_on = fields.Date()
    in_effect = fields.Boolean(metadata={"description": "effective_on has come (org local date)"})
    reason = fields.String()
    urgent = fields.Boolean()
    urgent_justification = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "announced or withdrawn"})
    announced_at = fields.DateTime()
    withdrawn_at = fields.DateTime(allow_none=True)
    withdrawal_reason = fields.String(allow_none=True)
    update = fields.Dict(
        allow_none=True, metadata={"description": "For update: material fields before and after"}
    )
    historical = fields.Boolean(
        metadata={"description": "Recorded from the list's history: it gave no notice"}
    )
    source = fields.String(allow_none=True)


class ChangeListSchema(PageSchema):
    items = fields.List(fields.Nested(ChangeSchema), required=True)


class ChangeListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(STATUSES))
    kind = fields.String(validate=validate.OneOf(KINDS))
    recipient_id = fields.Integer(
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "Changes of this vendor, a replace that takes it off included"},
    )
    urgent = fields.Boolean()
    effective_from = fields.Date(metadata={"description": "effective_on on or after"})
    effective_until = fields.Date(metadata={"description": "effective_on on or before"})
    in_effect = fields.Boolean(metadata={"description": "Only changes in effect (or not yet)"})
