"""Row schemas, CSV columns and result shapes of the bulk imports."""

from __future__ import annotations

from marshmallow import (
    INCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from service.common import line, text
from service.customers.schemas import CustomerCreateSchema
from service.recipients.schemas import RecipientCreateSchema

# Mechanism -> the detail fields a compact CSV location gives after it, in order
# ("US:scc:3:general:30:2023-01-10"; an old set: "US:scc::::2019-03-01:2010/87").
# Mechanisms not named take no details.
LOCATION_DETAILS: dict[str, tuple[str, ...]] = {
    "scc": (
        "scc_module",
        "scc_clause9_option",
        "scc_clause9_notice_days",
        "scc_signed_on",
        "scc_set",
    ),
    "adequacy": ("adequacy_reference",),
    "bcr": ("bcr_reference",),
    "code_of_conduct": ("code_of_conduct_name",),
    "certification": ("certification_name",),
    "ad_hoc_clauses": ("ad_hoc_authorisation",),
    "derogation": ("derogation_ground",),
}

VENDOR_LIST_COLUMNS = (
    "data_categories_pl",
    "data_categories_en",
    "data_subject_categories_pl",
    "data_subject_categories_en",
    # The column before the field was bilingual: given alone, it fills both languages.
    "data_subject_categories",
    "services",
    "special_categories",
)
VENDOR_COLUMNS = (
    "name",
    "legal_entity",
    "address",
    "country",
    "website",
    "role",
    "purpose_pl",
    "purpose_en",
    *VENDOR_LIST_COLUMNS,
    "locations",
    "listed_from",
    "parent",
    "sub_dpa_signed_on",
    "tia_completed_on",
    "tia_reference",
    "dpf_certified_until",
    "dpf_certified_entity",
    "dpf_certified_from",
    "dpf_checked_on",
    "dpf_scope",
    "parent_company",
    "parent_company_country",
    "next_review_on",
    "due_diligence_notes",
)
VENDOR_REQUIRED_COLUMNS = (
    "name",
    "legal_entity",
    "country",
    "role",
    "purpose_pl",
    "purpose_en",
    "locations",
)

CUSTOMER_CONTROLLER_COLUMNS = (
    "address",
    "country",
    "dpo_name",
    "dpo_email",
    "representative_name",
    "representative_email",
)
CUSTOMER_CONTACT_COLUMNS = {"email": "email", "contact_name": "name", "locale": "locale"}
CUSTOMER_TERM_COLUMNS = (
    "agreement_version_id",
    "authorisation",
    "notice_days",
    "objection_days",
    "objection_remedy",
)
CUSTOMER_COLUMNS = (
    "external_ref",
    "name",
    "started_on",
    "ended_on",
    "services",
    *CUSTOMER_CONTROLLER_COLUMNS,
    "special_categories",
    *CUSTOMER_CONTACT_COLUMNS,
    *CUSTOMER_TERM_COLUMNS,
)
CUSTOMER_REQUIRED_COLUMNS = ("external_ref", "name")


class VendorImportSchema(RecipientCreateSchema):
    """One vendor row: a registration body, plus how it stands on the list today."""

    class Meta:
        # Ids of the target database are unknown to whoever exported the list: a parent is
        # named instead, and may be a vendor registered earlier or an earlier row.
        exclude = ("parent_id",)

    listed_from = fields.Date(
        allow_none=True,
        metadata={
            "description": "In use since this date (today or earlier): listed without an "
            "announcement, because it records the existing state. Omitted: proposed."
        },
    )
    parent = line(
        200,
        allow_none=True,
        metadata={"description": "Name of the parent vendor: registered already or an earlier row"},
    )
    external_id = line(
        200,
        allow_none=True,
        metadata={"description": "The vendor's id in your own sheet or tool: upsert matches by it"},
    )
    # A list kept in one language is accepted: the other stays empty, and every output in it
    # shows this one, marked as written in the other language (service.i18n.text_in).
    purpose_pl = text(2000)
    purpose_en = text(2000)

    @post_load
    def fill_purpose(self, data: dict, **_: object) -> dict:
        """The language not given is empty (a vendor row always has both columns)."""
        data.setdefault("purpose_pl", "")
        data.setdefault("purpose_en", "")
        return data

    @validates_schema
    def check_purpose(self, data: dict, **_: object) -> None:
        if (
            not (data.get("purpose_pl") or "").strip()
            and not (data.get("purpose_en") or "").strip()
        ):
            raise ValidationError(
                {"purpose_pl": ["Give the purpose in Polish, in English, or both."]}
            )


MODES = ("create", "upsert")


class VendorImportArgs(Schema):
    """How a vendor file is read and applied (query parameters)."""

    mode = fields.String(
        load_default="create",
        validate=validate.OneOf(MODES),
        metadata={
            "description": "create: every vendor is new. upsert: a row matching a vendor "
            "(by external_id, else by name, case-insensitive) corrects it"
        },
    )
    mapping = fields.String(
        validate=validate.Length(max=20_000),
        metadata={
            "description": 'CSV: JSON object column -> field, e.g. {"Dostawca": "name", '
            '"Kraj": "country", "Kolor": null}; null or "ignore" skips a column'
        },
    )
    unknown_columns = fields.String(
        load_default="refuse",
        validate=validate.OneOf(("refuse", "ignore")),
        metadata={"description": "CSV: a column neither mapped nor recognised"},
    )
    list_separator = fields.String(
        validate=validate.OneOf((";", ",")),
        metadata={"description": "CSV: omitted, `;` if any list cell has one, else `,`"},
    )
    lang = fields.String(
        validate=validate.OneOf(("pl", "en")),
        metadata={
            "description": "CSV: the language of one-language columns (purpose, data "
            "categories); omitted, Polish when a recognised header is Polish"
        },
    )


class CustomerImportSchema(CustomerCreateSchema):
    """One customer row, upserted by `external_ref`; fields left out keep their value."""


class ImportResultSchema(Schema):
    import_id = fields.String(
        metadata={"description": "Entity id of the `import.completed` audit event"}
    )
    created = fields.Integer()
    updated = fields.Integer(metadata={"description": "Existing rows that changed"})
    unchanged = fields.Integer(metadata={"description": "Existing rows already up to date"})
    total = fields.Integer(metadata={"description": "Rows in the file"})


class RowErrorSchema(Schema):
    row = fields.Integer(
        metadata={
            "description": "1-based data row: CSV counts after the header, a JSON array by "
            "index + 1, JSON Lines by line"
        }
    )
    file = fields.String(metadata={"description": "A multi-file upload: the file of the row"})
    line = fields.Integer(metadata={"description": "CSV and JSON Lines: line where the row starts"})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Field (CSV: column; JSON: dotted path) -> messages"},
    )


class RowErrorsSchema(Schema):
    """Row errors of a refused file; a refused query parameter (or body that is no file)
    is named by its own key instead, as in every other 422."""

    class Meta:
        unknown = INCLUDE  # documents `additionalProperties`: those other keys

    rows = fields.List(fields.Nested(RowErrorSchema))
    columns = fields.List(
        fields.String(), metadata={"description": "CSV header problems: unknown or missing"}
    )


class ImportProblemSchema(Schema):
    """problem+json (RFC 9457) of a refused import; nothing was written."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Nested(RowErrorsSchema)
    invalid_rows = fields.Integer(metadata={"description": "Rows with errors, reported or not"})
    unreported_rows = fields.Integer(
        metadata={"description": "Rows with errors beyond IMPORT_MAX_REPORTED_ERRORS"}
    )


class HistoryImportArgs(Schema):
    dry_run = fields.Boolean(
        load_default=False,
        metadata={"description": "Show the versions and the changes derived; write nothing"},
    )
    source = line(
        300,
        load_default="",
        metadata={"description": "Where the versions come from (recorded on each change)"},
    )


class DerivedChangeSchema(Schema):
    kind = fields.String(metadata={"description": "add, remove, update or rename"})
    effective_on = fields.Date()
    vendor = fields.String()
    returning = fields.Boolean(metadata={"description": "An add of a vendor that left before"})
    fields_ = fields.List(
        fields.String(),
        data_key="fields",
        attribute="fields",
        metadata={"description": "update: the material fields; rename: name, legal_entity"},
    )


class HistoryVersionSchema(Schema):
    valid_on = fields.Date()
    vendors = fields.Integer()


class HistoryResultSchema(Schema):
    import_id = fields.String()
    dry_run = fields.Boolean()
    source = fields.String()
    versions = fields.List(fields.Nested(HistoryVersionSchema))
    vendors = fields.Integer(metadata={"description": "Distinct vendors over all versions"})
    changes = fields.List(fields.Nested(DerivedChangeSchema))
    totals = fields.Dict(keys=fields.String(), values=fields.Integer())
