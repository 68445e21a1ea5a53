from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from service.common import (
    MAX_ID,
    ApiSchema,
    Country,
    PageArgs,
    PageSchema,
    required_line,
    required_text,
    text,
    text_list,
)
from service.recipients.models import MECHANISMS, ROLES

CLAUSE9_OPTIONS = ("specific", "general")
# Art. 49(1)(a)-(g), and the second subparagraph's compelling legitimate interests.
DEROGATION_GROUNDS = ("a", "b", "c", "d", "e", "f", "g", "compelling_legitimate_interests")
# Which detail fields each mechanism needs, and which it alone may carry.
MECHANISM_DETAILS: dict[str, tuple[str, ...]] = {
    "scc": ("scc_module",),
    "bcr": ("bcr_reference",),
    "code_of_conduct": ("code_of_conduct_name",),
    "certification": ("certification_name",),
    "ad_hoc_clauses": ("ad_hoc_authorisation",),
    "derogation": ("derogation_ground",),
}
OPTIONAL_DETAILS: dict[str, tuple[str, ...]] = {
    "scc": ("scc_clause9_option", "scc_clause9_notice_days", "scc_signed_on"),
    "adequacy": ("adequacy_reference",),
}
DETAIL_FIELDS = tuple(
    sorted(
        {f for group in (MECHANISM_DETAILS, OPTIONAL_DETAILS) for fs in group.values() for f in fs}
    )
)


class LocationSchema(Schema):
    country = Country(allow_none=True)
    international_organisation = text(100, allow_none=True)
    activity = text(300)
    mechanism = fields.String(required=True, validate=validate.OneOf(MECHANISMS))
    scc_module = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=4))
    scc_clause9_option = fields.String(allow_none=True, validate=validate.OneOf(CLAUSE9_OPTIONS))
    scc_clause9_notice_days = fields.Integer(
        allow_none=True, validate=validate.Range(min=0, max=365)
    )
    scc_signed_on = fields.Date(allow_none=True)
    adequacy_reference = text(100, allow_none=True)
    bcr_reference = text(300, allow_none=True)
    code_of_conduct_name = text(300, allow_none=True)
    certification_name = text(300, allow_none=True)
    ad_hoc_authorisation = text(300, allow_none=True)
    derogation_ground = fields.String(allow_none=True, validate=validate.OneOf(DEROGATION_GROUNDS))

    @validates_schema
    def check_place_and_details(self, data: dict, **_: object) -> None:
        errors: dict[str, list[str]] = {}
        has_country = bool(data.get("country"))
        has_io = bool(data.get("international_organisation"))
        if has_country == has_io:
            errors["country"] = ["Give either a country or an international organisation."]
        mechanism = data.get("mechanism")
        for name in MECHANISM_DETAILS.get(mechanism, ()):
            if data.get(name) in (None, ""):
                errors[name] = [f"Required when the mechanism is '{mechanism}'."]
        allowed = MECHANISM_DETAILS.get(mechanism, ()) + OPTIONAL_DETAILS.get(mechanism, ())
        for name in DETAIL_FIELDS:
            if name not in allowed and data.get(name) not in (None, ""):
                errors[name] = [f"Does not apply to the mechanism '{mechanism}'."]
        if errors:
            raise ValidationError(errors)


class CertificationSchema(Schema):
    name = required_text(200)
    expires_on = fields.Date(allow_none=True)


class DueDiligenceFields(Schema):
    sub_dpa_signed_on = fields.Date(allow_none=True)
    tia_completed_on = fields.Date(allow_none=True)
    tia_reference = text(300, allow_none=True)
    dpf_certified_until = fields.Date(allow_none=True)
    certifications = fields.List(
        fields.Nested(CertificationSchema), validate=validate.Length(max=50)
    )
    next_review_on = fields.Date(allow_none=True)
    due_diligence_notes = text(10_000)


class MaterialFields(Schema):
    """Fields that, on a public vendor, change only through an announced `update`."""

    country = Country(required=True, metadata={"description": "Country of establishment"})
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    purpose_pl = required_text(2000)
    purpose_en = required_text(2000)
    data_categories_pl = text_list()
    data_categories_en = text_list()
    data_subject_categories = text_list()
    services = text_list(
        max_len=63, metadata={"description": "Service slugs; empty means every service"}
    )
    locations = fields.List(
        fields.Nested(LocationSchema), required=True, validate=validate.Length(min=1, max=100)
    )


class RecipientCreateSchema(ApiSchema, MaterialFields, DueDiligenceFields):
    name = required_line(200)
    legal_entity = required_line(300)
    address = text(500)
    website = fields.Url(allow_none=True, validate=validate.Length(max=500))
    parent_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))


class RecipientPatchSchema(RecipientCreateSchema):
    """Every top-level field optional; a location or certification given must be whole.

    `partial=True` would propagate into the nested schemas and let a location without
    `mechanism` through to a NOT NULL column (a 500); naming the top-level fields does not.
    """

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("partial", tuple(RecipientCreateSchema._declared_fields))
        super().__init__(**kwargs)


class MaterialUpdateSchema(MaterialFields):
    """The material fields an `update` changes; omitted ones stay (see RecipientPatchSchema)."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("partial", tuple(MaterialFields._declared_fields))
        super().__init__(**kwargs)


class LocationOutSchema(LocationSchema):
    pass


class RecipientSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    legal_entity = fields.String()
    address = fields.String()
    website = fields.String(allow_none=True)
    country = fields.String()
    role = fields.String()
    purpose_pl = fields.String()
    purpose_en = fields.String()
    data_categories_pl = fields.List(fields.String())
    data_categories_en = fields.List(fields.String())
    data_subject_categories = fields.List(fields.String())
    services = fields.List(fields.String())
    effective_services = fields.List(
        fields.String(), metadata={"description": "Own scope narrowed by the parent's"}
    )
    parent_id = fields.Integer(allow_none=True)
    status = fields.String(
        metadata={"description": "proposed, announced, active or removed (on the as_of date)"}
    )
    listed_from = fields.Date(allow_none=True)
    listed_until = fields.Date(allow_none=True)
    locations = fields.List(fields.Nested(LocationOutSchema))
    due_diligence = fields.Nested(
        DueDiligenceFields, allow_none=True, metadata={"description": "Legal staff only"}
    )


class RecipientListSchema(PageSchema):
    items = fields.List(fields.Nested(RecipientSchema), required=True)
    as_of = fields.Date(required=True)


class RecipientListArgs(PageArgs):
    as_of = fields.Date()
    country = Country(metadata={"description": "Processing location country"})
    established_in = Country()
    mechanism = fields.String(validate=validate.OneOf(MECHANISMS))
    role = fields.String(validate=validate.OneOf(ROLES))
    scope = fields.String(validate=validate.Length(min=1, max=63))
    status = fields.String(
        validate=validate.OneOf(("proposed", "all")),
        metadata={"description": "Legal staff only: 'proposed' or 'all' instead of the list"},
    )


class AsOfArgs(ApiSchema):
    as_of = fields.Date()
