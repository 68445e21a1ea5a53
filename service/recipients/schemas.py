from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

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
from service.recipients.models import (
    DPF_SCOPES,
    MECHANISMS,
    REGIONS,
    ROLES,
    SCC_2021,
    SCC_SETS,
    SPECIAL_CATEGORIES,
    TIA_OUTCOMES,
)

CLAUSE9_OPTIONS = ("specific", "general")
# Art. 49(1)(a)-(g), and the second subparagraph's compelling legitimate interests.
DEROGATION_GROUNDS = ("a", "b", "c", "d", "e", "f", "g", "compelling_legitimate_interests")
# Which detail fields each mechanism needs, and which it alone may carry.
MECHANISM_DETAILS: dict[str, tuple[str, ...]] = {
    "scc": ("scc_set",),
    "bcr": ("bcr_reference",),
    "code_of_conduct": ("code_of_conduct_name",),
    "certification": ("certification_name",),
    "ad_hoc_clauses": ("ad_hoc_authorisation",),
    "derogation": ("derogation_ground",),
}
OPTIONAL_DETAILS: dict[str, tuple[str, ...]] = {
    "scc": ("scc_module", "scc_clause9_option", "scc_clause9_notice_days", "scc_signed_on"),
    "adequacy": ("adequacy_reference",),
}
DETAIL_FIELDS = tuple(
    sorted(
        {f for group in (MECHANISM_DETAILS, OPTIONAL_DETAILS) for fs in group.values() for f in fs}
    )
)


LEGACY_INPUT = "Before the field was bilingual; given alone, it fills both languages"


def fill_both_languages(data: dict, old: str) -> dict:
    """An input under the old one-language name fills `<old>_pl` and `<old>_en` where they
    are not given: it was written in one language, but dropping it loses more than showing
    it in the other (the outputs fall back only to an empty field's twin)."""
    if old in data:
        value = data.pop(old)
        data.setdefault(f"{old}_pl", value)
        data.setdefault(f"{old}_en", value)
    return data


class LocationSchema(Schema):
    country = Country(allow_none=True)
    international_organisation = text(100, allow_none=True)
    region = fields.String(
        allow_none=True,
        validate=validate.OneOf(REGIONS),
        metadata={
            "description": "Instead of a country: 'EU' or 'EEA' when a list names only that, "
            "or 'not_stated' when it names no place (a compliance gap, never 'no transfer')"
        },
    )
    activity_pl = text(300, metadata={"description": "What is done there, in Polish"})
    activity_en = text(300, metadata={"description": "What is done there, in English"})
    activity = text(
        300,
        metadata={"description": f"Input: {LEGACY_INPUT}. Output: English, else Polish"},
    )
    mechanism = fields.String(required=True, validate=validate.OneOf(MECHANISMS))
    scc_set = fields.String(
        allow_none=True,
        validate=validate.OneOf(SCC_SETS),
        metadata={"description": "The SCC set signed; omitted with a module: 2021/914"},
    )
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

    @post_load
    def fill_activity(self, data: dict, **_: object) -> dict:
        return fill_both_languages(data, "activity")

    @post_load
    def infer_scc_set(self, data: dict, **_: object) -> dict:
        """Modules exist only in the 2021/914 clauses: a module without a set names them."""
        if data.get("mechanism") == "scc" and not data.get("scc_set") and data.get("scc_module"):
            data["scc_set"] = SCC_2021
        return data

    @validates_schema
    def check_place_and_details(self, data: dict, **_: object) -> None:
        errors: dict[str, list[str]] = _scc_errors(data)
        places = ("country", "international_organisation", "region")
        if sum(bool(data.get(name)) for name in places) != 1:
            errors["country"] = [
                "Give either a country, an international organisation or a region."
            ]
        mechanism = data.get("mechanism")
        for name in MECHANISM_DETAILS.get(mechanism, ()):
            if name == "scc_set":
                if not data.get("scc_set") and not data.get("scc_module"):
                    # The usual case is the 2021/914 clauses: ask for their module (an old
                    # set is named by scc_set instead).
                    errors["scc_module"] = [f"Required when the mechanism is '{mechanism}'."]
                continue
            if data.get(name) in (None, ""):
                errors[name] = [f"Required when the mechanism is '{mechanism}'."]
        allowed = MECHANISM_DETAILS.get(mechanism, ()) + OPTIONAL_DETAILS.get(mechanism, ())
        for name in DETAIL_FIELDS:
            if name not in allowed and data.get(name) not in (None, ""):
                errors[name] = [f"Does not apply to the mechanism '{mechanism}'."]
        if errors:
            raise ValidationError(errors)


def _scc_errors(data: dict) -> dict[str, list[str]]:
    """A module (and Clause 9) only with the 2021/914 clauses, and always with them."""
    if data.get("mechanism") != "scc":
        return {}
    chosen = data.get("scc_set") or (SCC_2021 if data.get("scc_module") else None)
    if chosen == SCC_2021 and not data.get("scc_module"):
        return {"scc_module": ["Required with the 2021/914 clauses: the module signed."]}
    if chosen not in (None, SCC_2021):
        return {
            name: [f"The {chosen} clauses have no modules; only 2021/914 does."]
            for name in ("scc_module", "scc_clause9_option", "scc_clause9_notice_days")
            if data.get(name) not in (None, "")
        }
    return {}


class CertificationSchema(Schema):
    name = required_text(200)
    expires_on = fields.Date(allow_none=True)


class DueDiligenceFields(Schema):
    sub_dpa_signed_on = fields.Date(allow_none=True)
    tia_completed_on = fields.Date(allow_none=True)
    tia_reference = text(300, allow_none=True)
    dpf_certified_until = fields.Date(allow_none=True)
    dpf_certified_entity = text(300, allow_none=True)
    dpf_certified_from = fields.Date(allow_none=True)
    dpf_checked_on = fields.Date(
        allow_none=True, metadata={"description": "Last check of the entry on the DPF List"}
    )
    dpf_scope = fields.String(allow_none=True, validate=validate.OneOf(DPF_SCOPES))
    parent_company = text(300, allow_none=True)
    parent_company_country = Country(allow_none=True)
    special_categories = fields.List(
        fields.String(validate=validate.OneOf(SPECIAL_CATEGORIES)),
        validate=validate.Length(max=len(SPECIAL_CATEGORIES)),
        metadata={"description": "Special categories of data (Art. 9(1)) the vendor receives"},
    )
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
    data_subject_categories_pl = text_list()
    data_subject_categories_en = text_list()
    data_subject_categories = text_list(metadata={"description": LEGACY_INPUT})
    services = text_list(
        max_len=63, metadata={"description": "Service slugs; empty means every service"}
    )
    locations = fields.List(
        fields.Nested(LocationSchema), required=True, validate=validate.Length(min=1, max=100)
    )

    @post_load
    def fill_subject_categories(self, data: dict, **_: object) -> dict:
        return fill_both_languages(data, "data_subject_categories")


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

    renamed_on = fields.Date(
        metadata={
            "description": "With `name` or `legal_entity`: the day from which the new one holds "
            "(a dated rename, non-material: no notice); the list as of an earlier day shows "
            "the old one. Without it the name is corrected for every day."
        }
    )

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("partial", tuple(RecipientCreateSchema._declared_fields))
        super().__init__(**kwargs)

    @validates_schema
    def check_rename(self, data: dict, **_: object) -> None:
        if "renamed_on" in data and not ({"name", "legal_entity"} & data.keys()):
            raise ValidationError({"renamed_on": ["Only with a new name or legal_entity."]})


class MaterialUpdateSchema(MaterialFields):
    """The material fields an `update` changes; omitted ones stay (see RecipientPatchSchema)."""

    def __init__(self, **kwargs: object) -> None:
        kwargs.setdefault("partial", tuple(MaterialFields._declared_fields))
        super().__init__(**kwargs)


class LocationOutSchema(LocationSchema):
    safeguard_status = fields.String(
        metadata={"description": "Published files: valid, no_transfer or under_review"}
    )
    safeguard = fields.String(
        metadata={"description": "Published files: the safeguard as it may be stated that day"}
    )


class ListingPeriodSchema(Schema):
    listed_from = fields.Date()
    listed_until = fields.Date(allow_none=True)


class ControllerContextSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    role = fields.String(metadata={"description": "processor, independent_controller, ..."})


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
    data_subject_categories_pl = fields.List(fields.String())
    data_subject_categories_en = fields.List(fields.String())
    data_subject_categories = fields.List(
        fields.String(), metadata={"description": "English, else Polish (the one-language view)"}
    )
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
    listing_periods = fields.List(
        fields.Nested(ListingPeriodSchema),
        metadata={
            "description": "Every period the vendor was or is on the list, oldest first: "
            "several when it left and came back. `listed_from`/`listed_until` above are the "
            "period holding on the day asked for (else the current one)."
        },
    )
    locations = fields.List(fields.Nested(LocationOutSchema))
    due_diligence = fields.Nested(
        DueDiligenceFields, allow_none=True, metadata={"description": "Legal staff only"}
    )
    controller_contexts = fields.List(
        fields.Nested(ControllerContextSchema),
        metadata={
            "description": "Legal staff only: the same vendor as a recipient of the "
            "organization's own data (GET .../controller-recipients/{id})"
        },
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


MEASURE_KINDS = ("technical", "contractual", "organisational")


class MeasureSchema(Schema):
    """A supplementary measure (EDPB Recommendations 01/2020, Annex 2)."""

    kind = fields.String(required=True, validate=validate.OneOf(MEASURE_KINDS))
    description = required_text(1000)


class AssessmentCreateSchema(ApiSchema):
    country = Country(allow_none=True)
    international_organisation = text(100, allow_none=True)
    assessed_on = fields.Date(required=True)
    outcome = fields.String(
        required=True,
        validate=validate.OneOf(TIA_OUTCOMES),
        metadata={
            "description": "no_measures_needed, measures_effective (the measures listed "
            "make the protection essentially equivalent) or transfer_not_permitted"
        },
    )
    supplementary_measures = fields.List(
        fields.Nested(MeasureSchema), validate=validate.Length(max=50)
    )
    review_on = fields.Date(allow_none=True)
    reference = text(300, allow_none=True)

    @validates_schema
    def check(self, data: dict, **_: object) -> None:
        if bool(data.get("country")) == bool(data.get("international_organisation")):
            raise ValidationError(
                {"country": ["Give either a country or an international organisation."]}
            )
        if data["outcome"] == "measures_effective" and not data.get("supplementary_measures"):
            raise ValidationError(
                {"supplementary_measures": ["Name the measures the outcome relies on."]}
            )
        review = data.get("review_on")
        if review is not None and review <= data["assessed_on"]:
            raise ValidationError({"review_on": ["After assessed_on."]})


class AssessmentSchema(Schema):
    id = fields.Integer()
    country = fields.String(allow_none=True)
    international_organisation = fields.String(allow_none=True)
    assessed_on = fields.Date()
    outcome = fields.String()
    supplementary_measures = fields.List(fields.Nested(MeasureSchema))
    review_on = fields.Date(allow_none=True)
    reference = fields.String(allow_none=True)


class AssessmentListSchema(Schema):
    items = fields.List(fields.Nested(AssessmentSchema))
    total = fields.Integer()
