from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from service.changes.schemas import ChangeSchema
from service.common import ApiSchema, PageArgs, PageSchema
from service.objections.schemas import PartyRefSchema
from service.recipients.schemas import RecipientSchema


class AnswerSchema(Schema):
    kind = fields.String()
    status = fields.String()
    filed_at = fields.DateTime()
    resolution = fields.String(allow_none=True)


class DeliverySchema(Schema):
    channel = fields.String()
    address = fields.String()
    status = fields.String(metadata={"description": "pending, sent or failed"})
    message_id = fields.String()
    attempts = fields.Integer()
    accepted_at = fields.DateTime(allow_none=True)
    last_response = fields.String(allow_none=True, metadata={"description": "Server's answer"})


class NoticeSchema(Schema):
    id = fields.Integer()
    change_id = fields.Integer()
    customer = fields.Nested(PartyRefSchema)
    response = fields.String(metadata={"description": "none (information), objection or consent"})
    notice_days = fields.Integer(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    objection_deadline = fields.DateTime(allow_none=True)
    withdrawn_at = fields.DateTime(allow_none=True)
    answer = fields.Nested(AnswerSchema, allow_none=True)
    status = fields.String(
        metadata={"description": "Legal staff: delivered, pending or undeliverable"}
    )
    deliveries = fields.List(
        fields.Nested(DeliverySchema), metadata={"description": "Legal staff: proof of notice"}
    )
    answer_url = fields.String(
        allow_none=True, metadata={"description": "Signed link to answer without a key"}
    )
    post_hoc = fields.Boolean(
        metadata={"description": "Urgent under the emergency clause: may object after it applies"}
    )
    standing = fields.String(
        metadata={
            "description": "For this customer today: applies, notice_running, "
            "notice_undelivered, objected_pending, awaiting_consent, consent_refused, "
            "excluded, or not_in_effect"
        }
    )
    applies_from = fields.Date(
        allow_none=True,
        metadata={
            "description": "The day the change applies to this customer (null: not yet known)"
        },
    )


class NoticeListSchema(PageSchema):
    items = fields.List(fields.Nested(NoticeSchema), required=True)


class UpcomingSchema(Schema):
    change = fields.Nested(ChangeSchema)
    notice = fields.Nested(NoticeSchema)


class WithheldSchema(Schema):
    recipient = fields.Nested(PartyRefSchema)
    state = fields.String(
        metadata={
            "description": "objected_pending, awaiting_consent, consent_refused, "
            "notice_running, notice_undelivered or excluded"
        }
    )
    labels = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "The state in words: pl, en"},
    )
    change_id = fields.Integer(allow_none=True)
    applies_from = fields.Date(allow_none=True)


class CustomerSubprocessorsSchema(Schema):
    as_of = fields.Date()
    items = fields.List(fields.Nested(RecipientSchema))
    total = fields.Integer()
    withheld = fields.List(
        fields.Nested(WithheldSchema),
        metadata={"description": "Vendors on the list that do not process this customer's data"},
    )
    upcoming = fields.List(fields.Nested(UpcomingSchema))


class DiffArgs(ApiSchema):
    since = fields.Date(required=True, data_key="from")
    until = fields.Date(required=True, data_key="to")

    @validates_schema
    def check_order(self, data: dict, **_: object) -> None:
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise ValidationError({"from": ["Must not be after 'to'."]})


class OrganizationDiffArgs(DiffArgs):
    # Without per_page the whole difference, as before; with it, page `page` of each list.
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(validate=validate.Range(min=1, max=500))


class ChangedSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    changes = fields.Dict(metadata={"description": "field -> {before, after}"})


class DiffSchema(Schema):
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    added = fields.List(fields.Nested(RecipientSchema))
    removed = fields.List(fields.Nested(RecipientSchema))
    changed = fields.List(fields.Nested(ChangedSchema))
    totals = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "sizes of added, removed and changed, whatever the page"},
    )
    page = fields.Integer()
    per_page = fields.Integer()


class NoticeListArgs(PageArgs):
    pass
