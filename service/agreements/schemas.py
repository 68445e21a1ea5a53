from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from service.agreements.models import CHANNELS
from service.common import ApiSchema, PageArgs, PageSchema, required_text
from service.common import text as bounded_text
from service.customers.models import AUTHORISATIONS, LOCALES, OBJECTION_REMEDIES

LABEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"
SHA256 = validate.Regexp(r"^[0-9a-f]{64}$", error="64 lower-case hexadecimal digits.")


class AgreementTextSchema(ApiSchema):
    language = fields.String(required=True, validate=validate.OneOf(LOCALES))
    text = fields.String(
        validate=validate.Length(min=1, max=500_000), metadata={"description": "Markdown"}
    )
    document_ref = bounded_text(500, metadata={"description": "Where the signed document is kept"})
    text_sha256 = fields.String(
        validate=SHA256,
        metadata={"description": "SHA-256 of the document; computed from `text` when given"},
    )
    summary = bounded_text(
        10_000, metadata={"description": "What changed against the last version"}
    )

    @validates_schema
    def check(self, data: dict, **_: object) -> None:
        if data.get("text") is None and not (data.get("document_ref") and data.get("text_sha256")):
            raise ValidationError("Give the text, or a document_ref with its text_sha256.")


def _texts(required: bool) -> fields.List:
    return fields.List(
        fields.Nested(AgreementTextSchema),
        required=required,
        validate=validate.Length(min=1, max=len(LOCALES)),
    )


def _unique_languages(texts: list[dict] | None) -> None:
    languages = [t["language"] for t in texts or []]
    if len(languages) != len(set(languages)):
        raise ValidationError({"texts": ["One text per language."]})


class AgreementTermsDefaults(ApiSchema):
    effective_on = fields.Date(required=True)
    authorisation = fields.String(validate=validate.OneOf(AUTHORISATIONS))
    notice_days = fields.Integer(validate=validate.Range(min=0, max=365))
    objection_days = fields.Integer(validate=validate.Range(min=0, max=365))
    objection_remedy = fields.String(validate=validate.OneOf(OBJECTION_REMEDIES))
    rejects_unjustified_objections = fields.Boolean(
        metadata={"description": "Legal staff may reject an objection as unjustified"}
    )
    emergency_clause = fields.Boolean(
        metadata={"description": "Emergency replacement: urgent changes allowed"}
    )
    emergency_notice_days = fields.Integer(
        validate=validate.Range(min=0, max=365),
        metadata={"description": "Minimum notice of an urgent change (default 0)"},
    )
    post_hoc_objection_days = fields.Integer(
        validate=validate.Range(min=0, max=365),
        metadata={"description": "Objection window of an urgent change, from delivery"},
    )


class AgreementCreateSchema(AgreementTermsDefaults):
    version = fields.String(
        required=True,
        validate=validate.Regexp(LABEL_PATTERN, error="Letters, digits, '.', '_', '-'; 1-40."),
    )
    texts = _texts(required=True)
    publish = fields.Boolean(
        load_default=False, metadata={"description": "Publish at once instead of a draft"}
    )

    @validates_schema
    def check(self, data: dict, **_: object) -> None:
        _unique_languages(data.get("texts"))


class AgreementPatchSchema(AgreementTermsDefaults):
    """A draft's fields; `texts`, when given, replace the draft's texts as a set."""

    effective_on = fields.Date()
    texts = _texts(required=False)

    @validates_schema
    def check(self, data: dict, **_: object) -> None:
        _unique_languages(data.get("texts"))


class AgreementTextOutSchema(Schema):
    id = fields.Integer(
        metadata={
            "description": "This language's id: what a customer's `agreement_version_id` and "
            "an acceptance's `agreement_version_id` name"
        }
    )
    language = fields.String()
    summary = fields.String()
    document_ref = fields.String(allow_none=True)
    text_sha256 = fields.String()
    text = fields.String(allow_none=True)


class AgreementSchema(Schema):
    id = fields.Integer(
        metadata={
            "description": "The id of the version's first language (`texts[].id` gives each "
            "language's): a customer's `agreement_version_id` names one of them"
        }
    )
    version = fields.String()
    status = fields.String(metadata={"description": "draft or published"})
    published_at = fields.DateTime(allow_none=True)
    effective_on = fields.Date()
    authorisation = fields.String()
    notice_days = fields.Integer()
    objection_days = fields.Integer()
    objection_remedy = fields.String()
    rejects_unjustified_objections = fields.Boolean()
    emergency_clause = fields.Boolean()
    emergency_notice_days = fields.Integer()
    post_hoc_objection_days = fields.Integer()
    languages = fields.List(fields.String())
    texts = fields.List(fields.Nested(AgreementTextOutSchema))


class AgreementListSchema(PageSchema):
    items = fields.List(fields.Nested(AgreementSchema), required=True)


class AgreementListArgs(PageArgs):
    status = fields.String(
        load_default="published",
        validate=validate.OneOf(("published", "draft", "all")),
        metadata={"description": "Legal staff may ask for drafts"},
    )


class AcceptanceCreateSchema(ApiSchema):
    name = required_text(200, metadata={"description": "Who accepts for the customer"})
    email = fields.Email(required=True, validate=validate.Length(max=320))
    language = fields.String(
        validate=validate.OneOf(LOCALES),
        metadata={"description": "The language of the text read; default the contact's"},
    )
    text_sha256 = fields.String(
        validate=SHA256, metadata={"description": "The hash of the text read, if known"}
    )


class AcceptanceSchema(Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    agreement_version_id = fields.Integer()
    version = fields.String()
    language = fields.String()
    effective_on = fields.Date()
    accepted_at = fields.DateTime()
    accepted_by_name = fields.String()
    accepted_by_email = fields.String()
    text_sha256 = fields.String()
    document_ref = fields.String(allow_none=True)
    ip_address = fields.String(allow_none=True)
    user_agent = fields.String(allow_none=True)
    link_address = fields.String(
        allow_none=True, metadata={"description": "Signed link: the contact it was sent to"}
    )
    link_message_id = fields.String(
        allow_none=True, metadata={"description": "Signed link: the Message-ID of its e-mail"}
    )
    channel = fields.String(validate=validate.OneOf(CHANNELS))


class StatusArgs(PageArgs):
    accepted = fields.Boolean(metadata={"description": "Only those that did (or did not)"})


class AcceptingCustomerSchema(Schema):
    id = fields.Integer()
    external_ref = fields.String()
    name = fields.String()


class AcceptanceStatusSchema(Schema):
    customer = fields.Nested(AcceptingCustomerSchema)
    current_version = fields.String(allow_none=True)
    accepted = fields.Boolean()
    accepted_at = fields.DateTime(allow_none=True)
    requested_at = fields.DateTime(allow_none=True)
    reminders = fields.Integer()
    reminded_at = fields.DateTime(allow_none=True)
    request_closed = fields.String(allow_none=True)


class StatusSummarySchema(Schema):
    customers = fields.Integer()
    accepted = fields.Integer()
    pending = fields.Integer()


class AcceptanceStatusListSchema(PageSchema):
    version = fields.String()
    summary = fields.Nested(StatusSummarySchema)
    items = fields.List(fields.Nested(AcceptanceStatusSchema), required=True)


class EvidenceArgs(ApiSchema):
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "html")))
    lang = fields.String(load_default="en", validate=validate.OneOf(LOCALES))


class EvidenceCustomerSchema(Schema):
    id = fields.Integer()
    external_ref = fields.String()
    name = fields.String()
    started_on = fields.Date()
    ended_on = fields.Date(allow_none=True)


class EvidenceOrgSchema(Schema):
    slug = fields.String()
    legal_name = fields.String()


class EvidenceSchema(Schema):
    organization = fields.Nested(EvidenceOrgSchema)
    customer = fields.Nested(EvidenceCustomerSchema)
    current_acceptance_id = fields.Integer(allow_none=True)
    acceptances = fields.List(fields.Nested(AcceptanceSchema))
    generated_at = fields.DateTime()
