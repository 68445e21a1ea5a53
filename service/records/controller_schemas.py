"""Schemas of the organization's outputs as controller: the Art. 30(1) record and the
privacy policy for both hats (service/controller/record.py, policy.py)."""

from __future__ import annotations

from marshmallow import Schema, fields

from service.records.schemas import DatedSchema, ProcessorSchema, RecipientBaseSchema


class LegalBasisSchema(Schema):
    code = fields.String(metadata={"description": "As the GDPR numbers it: 6(1)(b), 9(2)(a)"})
    article = fields.String(metadata={"description": "Cited: 'art. 6 ust. 1 lit. b RODO'"})
    label = fields.String(metadata={"description": "Cited, with what the basis is"})


class LabelSchema(Schema):
    code = fields.String()
    label = fields.String()


class JointArrangementSchema(Schema):
    on = fields.Date(allow_none=True)
    on_text = fields.String()
    reference = fields.String(allow_none=True)
    essence = fields.String(metadata={"description": "Made available to data subjects (26(2))"})


class OwnPlaceSchema(Schema):
    where = fields.String()
    activity = fields.String()
    status = fields.String(metadata={"description": "no_transfer, valid or under_review"})
    safeguard = fields.String(metadata={"description": "Named only when valid on as_of"})


class OwnTransferSchema(Schema):
    recipient_id = fields.Integer()
    recipient = fields.String()
    legal_entity = fields.String()
    where = fields.String()
    third_countries = fields.List(fields.String())
    status = fields.String(metadata={"description": "valid or under_review on as_of"})
    status_label = fields.String()
    safeguard = fields.String(metadata={"description": "Named only when valid on as_of"})
    dpf = fields.Boolean(metadata={"description": "Relies on the EU-US Data Privacy Framework"})


class OwnRecipientSchema(RecipientBaseSchema):
    role = fields.String(
        metadata={"description": "processor, independent_controller or joint_controller"}
    )
    joint_arrangement = fields.Nested(JointArrangementSchema, allow_none=True)
    locations = fields.List(fields.Nested(OwnPlaceSchema))
    transfers = fields.List(fields.Nested(OwnTransferSchema))
    locations_recorded = fields.Boolean()


class RetentionSchema(Schema):
    set = fields.Boolean(metadata={"description": "False: no retention period was recorded"})
    years = fields.Integer(allow_none=True)
    extra_years = fields.Integer()
    from_ = fields.String(data_key="from", attribute="from", allow_none=True)
    text = fields.String(metadata={"description": "The rule in words"})


class RecordActivitySchema(Schema):
    id = fields.Integer()
    key = fields.String()
    name = fields.String()
    purposes = fields.List(fields.String())
    legal_bases = fields.List(fields.Nested(LegalBasisSchema))
    legitimate_interests = fields.String()
    data_subjects = fields.List(fields.String())
    data_categories = fields.List(fields.String())
    special_categories = fields.List(fields.Nested(LabelSchema))
    special_category_conditions = fields.List(fields.Nested(LegalBasisSchema))
    recipients = fields.List(fields.Nested(OwnRecipientSchema))
    transfers = fields.List(fields.Nested(OwnTransferSchema))
    retention = fields.Nested(RetentionSchema)
    security_measures = fields.String()
    security_measures_own = fields.Boolean(
        metadata={"description": "False: the organization's summary stands in"}
    )
    started_on = fields.Date(allow_none=True)
    ended_on = fields.Date(allow_none=True)


class ControllerRecordSchema(DatedSchema):
    title = fields.String()
    controller = fields.Nested(ProcessorSchema)
    security_measures = fields.String()
    activities = fields.List(fields.Nested(RecordActivitySchema))
    total = fields.Integer()


# --- the privacy policy -----------------------------------------------------------------------


class PolicyTransferSchema(Schema):
    recipient = fields.String()
    where = fields.String()
    safeguard = fields.String()


class EntrustedItemSchema(Schema):
    name = fields.String()
    legal_entity = fields.String()
    country_label = fields.String()
    role_label = fields.String()
    purpose = fields.String()
    transfers = fields.List(fields.Nested(PolicyTransferSchema))


class EntrustedGroupSchema(Schema):
    key = fields.String(metadata={"description": "processors or controllers"})
    heading = fields.String()
    items = fields.List(fields.Nested(EntrustedItemSchema))


class EntrustedPartSchema(Schema):
    heading = fields.String()
    intro = fields.String()
    groups = fields.List(fields.Nested(EntrustedGroupSchema))
    transfers_note = fields.String()
    risk_note = fields.String()


class PolicyRecipientSchema(Schema):
    name = fields.String()
    legal_entity = fields.String()
    country_label = fields.String()
    role = fields.String()
    role_label = fields.String()
    purpose = fields.String()


class JointControllerSchema(Schema):
    recipient = fields.String()
    legal_entity = fields.String()
    arrangement_on = fields.String()
    essence = fields.String()


class PolicyActivitySchema(Schema):
    key = fields.String()
    name = fields.String()
    purposes = fields.List(fields.String())
    legal_bases = fields.List(fields.String())
    special_category_conditions = fields.List(fields.String())
    legitimate_interests = fields.String()
    data_categories = fields.List(fields.String())
    special_categories = fields.List(fields.String())
    recipients = fields.List(fields.Nested(PolicyRecipientSchema))
    transfers = fields.List(fields.Nested(PolicyTransferSchema))
    retention = fields.String()
    joint_controllers = fields.List(fields.Nested(JointControllerSchema))


class OwnPartSchema(Schema):
    heading = fields.String()
    intro = fields.String()
    controller = fields.Nested(ProcessorSchema)
    activities = fields.List(fields.Nested(PolicyActivitySchema))
    transfers_note = fields.String()
    risk_note = fields.String()


class PrivacyPolicySchema(DatedSchema):
    title = fields.String()
    org = fields.String()
    entrusted = fields.Nested(
        EntrustedPartSchema,
        allow_none=True,
        metadata={"description": "The processor hat; null without a customers'-data list"},
    )
    own = fields.Nested(
        OwnPartSchema,
        allow_none=True,
        metadata={"description": "The controller hat; null without processing activities"},
    )
