"""Bodies of the organization's own register (the organization as controller).

Locations are the subprocessors' own `LocationSchema`: one vendor is described the same way
in both contexts. Rules that need the stored row (a PATCH merges into it) or the database
(names, links) live in `service.controller.services`.
"""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from service.common import (
    ApiSchema,
    Country,
    Id,
    line,
    required_line,
    text,
    text_list,
)
from service.controller.models import CONTROLLER_SIDE_ROLES, LEGAL_BASES, RETENTION_FROM
from service.recipients.models import DPF_SCOPES, SPECIAL_CATEGORIES
from service.recipients.schemas import LocationSchema

KEY_PATTERN = r"[a-z0-9][a-z0-9-]*"


def _partial_of(schema: type[Schema], kwargs: dict) -> dict:
    """Every top-level field optional, nested ones whole (see RecipientPatchSchema: `partial=
    True` would reach into locations and let one without `mechanism` through)."""
    kwargs.setdefault("partial", tuple(schema._declared_fields))
    return kwargs


class ControllerRecipientFields(ApiSchema):
    """A recipient of the organization's own data, as written by the API and the import."""

    name = required_line(200)
    legal_entity = required_line(300)
    address = text(500)
    country = Country(required=True, metadata={"description": "Country of establishment"})
    website = fields.Url(allow_none=True, validate=validate.Length(max=500))
    role = fields.String(
        required=True,
        validate=validate.OneOf(CONTROLLER_SIDE_ROLES),
        metadata={
            "description": "Toward the organization as controller: processor (Art. 28(1)), "
            "independent_controller, or joint_controller (Art. 26)"
        },
    )
    purpose_pl = text(2000)
    purpose_en = text(2000)
    data_categories_pl = text_list()
    data_categories_en = text_list()
    locations = fields.List(
        fields.Nested(LocationSchema), required=True, validate=validate.Length(min=1, max=100)
    )
    in_product = fields.Boolean(
        metadata={
            "description": "Present in the service customers use (a script in their booking "
            "widget): it may reach customers' data"
        }
    )
    customer_data_statement_pl = text(5000)
    customer_data_statement_en = text(5000)
    customer_data_statement_on = fields.Date(allow_none=True)
    joint_arrangement_on = fields.Date(allow_none=True)
    joint_arrangement_reference = line(300, allow_none=True)
    joint_arrangement_essence_pl = text(10_000)
    joint_arrangement_essence_en = text(10_000)
    dpa_signed_on = fields.Date(
        allow_none=True, metadata={"description": "Art. 28(3) contract with a processor"}
    )
    tia_completed_on = fields.Date(allow_none=True)
    dpf_certified_entity = line(300, allow_none=True)
    dpf_certified_from = fields.Date(allow_none=True)
    dpf_certified_until = fields.Date(allow_none=True)
    dpf_checked_on = fields.Date(allow_none=True)
    dpf_scope = fields.String(allow_none=True, validate=validate.OneOf(DPF_SCOPES))
    parent_company = line(300, allow_none=True)
    parent_company_country = Country(allow_none=True)
    used_from = fields.Date(allow_none=True)
    used_until = fields.Date(allow_none=True)
    notes = text(10_000)
    external_id = line(200, allow_none=True)


class ControllerRecipientCreateSchema(ControllerRecipientFields):
    subprocessor_id = Id(
        allow_none=True,
        metadata={"description": "The same vendor on the customers'-data list (a subprocessor)"},
    )


class ControllerRecipientPatchSchema(ControllerRecipientCreateSchema):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(**_partial_of(ControllerRecipientCreateSchema, kwargs))


class ActivityFields(ApiSchema):
    """One processing activity of the organization as controller (Art. 30(1))."""

    key = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=100), validate.Regexp(KEY_PATTERN)],
        metadata={"description": "Short stable name: lower-case letters, digits, hyphens"},
    )
    name_pl = required_line(300)
    name_en = required_line(300)
    purposes_pl = text_list(max_len=1000)
    purposes_en = text_list(max_len=1000)
    legal_bases = fields.List(
        fields.String(validate=validate.OneOf(LEGAL_BASES)),
        required=True,
        validate=validate.Length(min=1, max=len(LEGAL_BASES)),
        metadata={"description": 'Art. 6(1) bases and Art. 9(2) conditions: "6(1)(b)", "9(2)(a)"'},
    )
    legitimate_interests_pl = text(5000)
    legitimate_interests_en = text(5000)
    data_subjects_pl = text_list()
    data_subjects_en = text_list()
    data_categories_pl = text_list()
    data_categories_en = text_list()
    special_categories = fields.List(
        fields.String(validate=validate.OneOf(SPECIAL_CATEGORIES)),
        validate=validate.Length(max=len(SPECIAL_CATEGORIES)),
    )
    retention_years = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=100))
    retention_extra_years = fields.Integer(validate=validate.Range(min=0, max=100))
    retention_from = fields.String(allow_none=True, validate=validate.OneOf(RETENTION_FROM))
    retention_basis_pl = text(5000)
    retention_basis_en = text(5000)
    retention_note_pl = text(5000)
    retention_note_en = text(5000)
    covers_customer_records = fields.Boolean(
        metadata={
            "description": "This activity covers the registry's records of customers: its "
            "rule drives the purge of ended relationships (one activity at most)"
        }
    )
    security_measures_pl = text(10_000)
    security_measures_en = text(10_000)
    started_on = fields.Date(allow_none=True)
    ended_on = fields.Date(allow_none=True)


class ActivityCreateSchema(ActivityFields):
    recipient_ids = fields.List(Id(), validate=validate.Length(max=200))


class ActivityPatchSchema(ActivityCreateSchema):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(**_partial_of(ActivityCreateSchema, kwargs))


# --- output ---------------------------------------------------------------------------------


class RecipientRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    role = fields.String()


class ActivityRefSchema(Schema):
    id = fields.Integer()
    key = fields.String()
    name_pl = fields.String()
    name_en = fields.String()


class SubprocessorRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class ControllerRecipientSchema(ControllerRecipientFields):
    id = fields.Integer()
    subprocessor_id = fields.Integer(allow_none=True)
    subprocessor = fields.Nested(
        SubprocessorRefSchema,
        allow_none=True,
        metadata={"description": "The same vendor in the customers'-data context"},
    )
    activities = fields.List(fields.Nested(ActivityRefSchema))


class ControllerRecipientListSchema(Schema):
    items = fields.List(fields.Nested(ControllerRecipientSchema))
    total = fields.Integer()


class ActivitySchema(ActivityFields):
    id = fields.Integer()
    recipient_ids = fields.List(fields.Integer())
    recipients = fields.List(fields.Nested(RecipientRefSchema))


class ActivityListSchema(Schema):
    items = fields.List(fields.Nested(ActivitySchema))
    total = fields.Integer()


# --- import ---------------------------------------------------------------------------------

IMPORT_MODES = ("create", "upsert")


class RecipientImportSchema(ControllerRecipientFields):
    subprocessor = line(
        200,
        allow_none=True,
        metadata={"description": "Name of the same vendor on the customers'-data list"},
    )


class ActivityImportSchema(ActivityFields):
    recipients = fields.List(
        line(200),
        validate=validate.Length(max=200),
        metadata={"description": "Names of controller recipients: in this body or registered"},
    )


class ControllerImportSchema(Schema):
    """The body of `POST .../controller/import` (documentation; rows are loaded one by one)."""

    class Meta:
        unknown = RAISE

    activities = fields.List(fields.Nested(ActivityImportSchema))
    recipients = fields.List(fields.Nested(RecipientImportSchema))


class ControllerImportArgs(ApiSchema):
    mode = fields.String(
        load_default="create",
        validate=validate.OneOf(IMPORT_MODES),
        metadata={
            "description": "create: every row is new. upsert: an activity matching by key, a "
            "recipient by external_id else by name, is corrected"
        },
    )
    dry_run = fields.Boolean(
        load_default=False,
        metadata={"description": "Check everything and show what would be written; write nothing"},
    )


class ImportOutcomeSchema(Schema):
    name = fields.String()
    id = fields.Integer(allow_none=True)
    action = fields.String(metadata={"description": "created, updated or unchanged"})


class ControllerImportResultSchema(Schema):
    dry_run = fields.Boolean()
    mode = fields.String()
    recipients = fields.List(fields.Nested(ImportOutcomeSchema))
    activities = fields.List(fields.Nested(ImportOutcomeSchema))
