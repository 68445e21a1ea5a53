from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.common import ApiSchema
from service.public.texts import LANGUAGES

AS_OF = {"description": "The register as of this date (default: today, organization's zone)"}
LANG = {"description": "Language of the register's bilingual fields (default: Accept-Language)"}


def _format(*choices: str, what: str) -> fields.String:
    return fields.String(
        validate=validate.OneOf(choices),
        metadata={"description": f"{what}: {', '.join(choices)} (else from Accept)"},
    )


class DatedArgs(ApiSchema):
    """An output of the register on a date, in a language."""

    as_of = fields.Date(metadata=AS_OF)
    lang = fields.String(validate=validate.OneOf(LANGUAGES), metadata=LANG)


class RecordArgs(DatedArgs):
    format = _format("json", "csv", "xlsx", what="Rendering")


class AnnexArgs(DatedArgs):
    format = _format("json", "html", what="Rendering; html is a printable page")


class ExportArgs(ApiSchema):
    as_of = fields.Date(metadata=AS_OF)
    format = _format("json", "csv", what="Rendering")


class PolicySectionArgs(DatedArgs):
    format = _format("text", "markdown", "html", what="Rendering")


class PolicyArgs(DatedArgs):
    format = _format(
        "json", "md", "html", what="Rendering; md is Markdown to paste, html an escaped fragment"
    )


class PartyContactSchema(Schema):
    name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)


class ProcessorSchema(Schema):
    name = fields.String()
    address = fields.String()
    country = fields.String()
    country_label = fields.String()
    contact_email = fields.String()
    legal_contact_email = fields.String(allow_none=True)
    dpo = fields.Nested(PartyContactSchema)
    representative = fields.Nested(PartyContactSchema)


class PlaceSchema(Schema):
    country = fields.String(allow_none=True)
    international_organisation = fields.String(allow_none=True)
    where = fields.String()
    activity = fields.String()
    mechanism = fields.String()
    mechanism_label = fields.String(
        metadata={"description": "The safeguard as the compliance status lets it be stated"}
    )
    detail = fields.String()
    status = fields.String(
        metadata={"description": "no_transfer, valid, unverified or gap (annexes: under_review)"}
    )
    dpf = fields.Boolean(metadata={"description": "Relies on the EU-US Data Privacy Framework"})


class ParentSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class RecipientBaseSchema(Schema):
    """What every output says of a recipient, in either context."""

    id = fields.Integer()
    name = fields.String()
    legal_entity = fields.String()
    address = fields.String()
    country = fields.String()
    country_label = fields.String()
    website = fields.String(allow_none=True)
    role = fields.String()
    role_label = fields.String()
    purpose = fields.String()
    data_categories = fields.List(fields.String())


class RecipientEntrySchema(RecipientBaseSchema):
    number = fields.Integer(metadata={"description": "Position in an annex"})
    data_subject_categories = fields.List(fields.String())
    locations = fields.List(fields.Nested(PlaceSchema))
    parent = fields.Nested(ParentSchema, allow_none=True)
    special_categories = fields.List(fields.String())
    parent_company = fields.String(allow_none=True)
    parent_company_country = fields.String(allow_none=True)


class WithheldEntrySchema(Schema):
    id = fields.Integer()
    name = fields.String()
    legal_entity = fields.String()
    state = fields.String(metadata={"description": "e.g. objected_pending, awaiting_consent"})
    state_label = fields.String(metadata={"description": "The state in the record's language"})
    change_id = fields.Integer(allow_none=True)
    applies_from = fields.Date(allow_none=True)


class TransferSchema(Schema):
    recipient_id = fields.Integer()
    recipient = fields.String()
    legal_entity = fields.String()
    importer_country = fields.String()
    location = fields.String()
    third_countries = fields.List(fields.String())
    activity = fields.String()
    mechanism = fields.String(metadata={"description": "The mechanism recorded"})
    scc_set = fields.String(allow_none=True)
    scc_module = fields.Integer(allow_none=True)
    scc_signed_on = fields.Date(allow_none=True)
    status = fields.String(metadata={"description": "valid, unverified or gap on as_of"})
    safeguard = fields.String(
        metadata={"description": "The documented safeguard, or 'no valid safeguard recorded'"}
    )
    findings = fields.List(fields.String(), metadata={"description": "Compliance rule ids"})
    risk_note = fields.String()
    tia = fields.Dict(allow_none=True, metadata={"description": "The assessment of this place"})
    tia_reference = fields.String(allow_none=True)


class ControllerSchema(Schema):
    id = fields.Integer()
    external_ref = fields.String()
    name = fields.String()
    address = fields.String()
    country = fields.String(allow_none=True)
    dpo = fields.Nested(PartyContactSchema)
    representative = fields.Nested(PartyContactSchema)
    special_categories = fields.List(fields.String())
    contacts = fields.List(fields.String())
    started_on = fields.Date()
    ended_on = fields.Date(allow_none=True)
    services = fields.List(fields.String())
    processing_categories = fields.List(fields.String())
    data_categories = fields.List(fields.String())
    data_subject_categories = fields.List(fields.String())
    recipients = fields.List(fields.Nested(RecipientEntrySchema))
    transfers = fields.List(fields.Nested(TransferSchema))
    withheld = fields.List(
        fields.Nested(WithheldEntrySchema),
        metadata={"description": "Listed vendors that do not process this controller's data"},
    )


class DatedSchema(Schema):
    """An output of the register on a date, in a language."""

    as_of = fields.Date()
    as_of_text = fields.String()
    lang = fields.String()


class RecordSchema(DatedSchema):
    processor = fields.Nested(ProcessorSchema)
    controllers = fields.List(fields.Nested(ControllerSchema))
    total = fields.Integer()
    security_measures = fields.String()
    audit_digest = fields.Dict(
        allow_none=True,
        metadata={"description": "Signed head of the audit chain as last e-mailed to legal"},
    )


class CustomerRefSchema(Schema):
    id = fields.Integer()
    external_ref = fields.String()
    name = fields.String()


class AnnexSchema(DatedSchema):
    title = fields.String()
    intro = fields.String()
    processor = fields.Nested(ProcessorSchema)
    customer = fields.Nested(CustomerRefSchema)
    authorisation = fields.String()
    items = fields.List(fields.Nested(RecipientEntrySchema))
    total = fields.Integer()
    withheld = fields.List(
        fields.Nested(WithheldEntrySchema),
        metadata={"description": "Sub-processors not authorised for this customer yet, and why"},
    )
    risk_note = fields.String()


class ClausesSchema(Schema):
    where = fields.String()
    scc_module = fields.Integer()
    scc_signed_on = fields.Date(allow_none=True)
    scc_clause9_option = fields.String(allow_none=True)
    scc_clause9_notice_days = fields.Integer(allow_none=True)


class AnnexIIISchema(DatedSchema):
    title = fields.String()
    intro = fields.String()
    processor = fields.Nested(ProcessorSchema)
    importer = fields.Nested(RecipientEntrySchema)
    clauses = fields.List(fields.Nested(ClausesSchema))
    items = fields.List(fields.Nested(RecipientEntrySchema))
    total = fields.Integer()


class ExportRequestSchema(ApiSchema):
    format = fields.String(
        required=True,
        validate=validate.OneOf(("json", "csv", "xlsx")),
        metadata={"description": "The file's format: json, csv or xlsx"},
    )
    as_of = fields.Date(metadata=AS_OF)
    lang = fields.String(validate=validate.OneOf(LANGUAGES), metadata=LANG)


class ProgressSchema(Schema):
    done = fields.Integer(metadata={"description": "Customers written so far"})
    total = fields.Integer(allow_none=True, metadata={"description": "Customers in the record"})


class RecordExportSchema(Schema):
    id = fields.Integer()
    format = fields.String()
    lang = fields.String()
    as_of = fields.Date()
    status = fields.String(metadata={"description": "queued, running, done or failed"})
    progress = fields.Nested(ProgressSchema)
    requested_by = fields.String()
    size = fields.Integer(allow_none=True, metadata={"description": "Bytes, once done"})
    sha256 = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime(
        allow_none=True, metadata={"description": "When the file (and this job) is deleted"}
    )
    download_url = fields.String(
        allow_none=True, metadata={"description": "Signed link to the file, once done"}
    )
    download_expires_at = fields.DateTime(allow_none=True)


class DownloadArgs(ApiSchema):
    token = fields.String(
        required=True,
        validate=validate.Length(max=1000),
        metadata={"description": "The signed token of the export's download_url"},
    )
