"""HTTP glue for recipients, published under the contract's name `subprocessors`."""

from __future__ import annotations

from flask.views import MethodView

from service import clock
from service.common import page_body
from service.errors import Forbidden, NotFound
from service.etags import check_if_match, etag_of, with_etag
from service.extensions import db
from service.keys.auth import access, is_legal, load_organization, require_legal
from service.public import services as public
from service.recipients import assessments, services
from service.recipients.schemas import (
    AsOfArgs,
    AssessmentCreateSchema,
    AssessmentListSchema,
    AssessmentSchema,
    RecipientCreateSchema,
    RecipientListArgs,
    RecipientListSchema,
    RecipientPatchSchema,
    RecipientSchema,
)
from service.web import Blueprint

blp = Blueprint(
    "subprocessors",
    __name__,
    url_prefix="/api/v1/orgs/<org>/subprocessors",
    description="Recipients of personal data: subprocessors and controllers",
)


@blp.route("")
class Subprocessors(MethodView):
    @blp.arguments(RecipientListArgs, location="query")
    @blp.response(200, RecipientListSchema)
    def get(self, args: dict, org: str):
        """List the recipients in force on `as_of` (today, in the organization's time zone)."""
        organization = load_organization(org)
        legal = is_legal(organization)
        listed = args.pop("status", None) or "on"
        if listed != "on" and not legal:
            raise Forbidden("Only legal staff see proposed vendors.")
        day = args.pop("as_of", None) or clock.local_today(organization.timezone)
        page, per_page = args.pop("page"), args.pop("per_page")
        items, total = services.list_recipients(
            organization, day, services.ListFilters(**args), page, per_page, listed=listed
        )
        presented = [services.present(r, day, legal=legal) for r in items]
        places = {r.id: public.recipient_places(r, day, "en") for r in items}
        return page_body(
            public.with_safeguards(presented, places), total, page, per_page, as_of=day
        )

    @access("legal")
    @blp.arguments(RecipientCreateSchema)
    @blp.response(201, RecipientSchema)
    def post(self, data: dict, org: str):
        """Register a vendor (status `proposed`); announce an `add` change to list it."""
        organization = load_organization(org)
        principal = require_legal(organization)
        recipient = services.register_recipient(organization, data, actor=principal.actor)
        db.session.commit()
        return services.present(recipient, clock.local_today(organization.timezone), legal=True)


@blp.route("/<int:recipient_id>")
class Subprocessor(MethodView):
    @blp.arguments(AsOfArgs, location="query")
    @blp.response(200, RecipientSchema)
    def get(self, args: dict, org: str, recipient_id: int):
        """Show one recipient with its locations (proposed ones to legal staff only)."""
        organization = load_organization(org)
        legal = is_legal(organization)
        recipient = services.get_recipient(organization, recipient_id)
        if not legal and not services.is_public(recipient):
            raise NotFound("No such recipient.")
        day = args.get("as_of") or clock.local_today(organization.timezone)
        return with_etag(RecipientSchema(), services.present(recipient, day, legal=legal))

    @access("legal")
    @blp.arguments(RecipientPatchSchema)
    @blp.response(200, RecipientSchema)
    def patch(self, data: dict, org: str, recipient_id: int):
        """Edit non-material details; material ones of a public vendor need an `update`."""
        organization = load_organization(org)
        principal = require_legal(organization)
        recipient = services.get_recipient(organization, recipient_id)
        today = clock.local_today(organization.timezone)
        # The ETag legal staff saw: their GET's representation (today, proposed shown).
        check_if_match(etag_of(RecipientSchema(), services.present(recipient, today, legal=True)))
        services.edit_recipient(organization, recipient, data, actor=principal.actor)
        db.session.commit()
        return with_etag(RecipientSchema(), services.present(recipient, today, legal=True))


@blp.route("/<int:recipient_id>/transfer-assessments")
class TransferAssessments(MethodView):
    @access("legal")
    @blp.response(200, AssessmentListSchema)
    def get(self, org: str, recipient_id: int):
        """The vendor's transfer impact assessments, per place, oldest first."""
        organization = load_organization(org)
        recipient = services.get_recipient(organization, recipient_id)
        items = [assessments.present(a) for a in assessments.list_assessments(recipient)]
        return {"items": items, "total": len(items)}

    @access("legal")
    @blp.arguments(AssessmentCreateSchema)
    @blp.response(201, AssessmentSchema)
    def post(self, data: dict, org: str, recipient_id: int):
        """Record a transfer impact assessment of one place of the vendor (EDPB
        Recommendations 01/2020): its date, outcome, supplementary measures and review date."""
        organization = load_organization(org)
        principal = require_legal(organization)
        recipient = services.get_recipient(organization, recipient_id)
        assessment = assessments.record_assessment(
            organization, recipient, data, actor=principal.actor
        )
        db.session.commit()
        return assessments.present(assessment)
