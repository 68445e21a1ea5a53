"""HTTP glue for recipients, published under the contract's name `subprocessors`."""

from __future__ import annotations

from flask.views import MethodView

from service import clock
from service.apidoc import ASSESSMENT_EXAMPLE, STALE, VENDOR_EXAMPLE, operation
from service.common import as_response, page_body
from service.controller import services as controller
from service.errors import Forbidden, NotFound
from service.etags import check_if_match, etag_of, with_etag
from service.extensions import db
from service.keys.auth import access, is_legal, load_organization, require_legal
from service.public import services as public
from service.recipients import assessments, pages, services
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


def _presented(organization, recipients: list, day, *, legal: bool) -> list[dict]:
    """The vendors as the API shows them; legal staff also see each one's counterparts on
    the organization's own side (`controller_contexts`: the same vendor as a recipient of
    the organization's data), which is not part of the public list."""
    presented = [services.present(r, day, legal=legal) for r in recipients]
    if legal:
        contexts = controller.controller_contexts(organization, [r.id for r in recipients])
        for body in presented:
            body["controller_contexts"] = contexts.get(body["id"], [])
    return presented


def _public_page(organization, day, page: int, per_page: int) -> dict:
    """A page of the list as anyone may read it, from rows where it can be."""
    found = pages.list_page(organization, day, page, per_page)
    if found is None:
        return _object_page(organization, day, services.ListFilters(), page, per_page, "on", False)
    presented, total = found
    places = public.places_of(organization, presented, day, "en")
    return page_body(public.with_safeguards(presented, places), total, page, per_page, as_of=day)


def _object_page(organization, day, filters, page: int, per_page: int, listed: str, legal: bool):
    """A page of the list from loaded vendors: any filter, status and caller."""
    items, total = services.list_recipients(
        organization, day, filters, page, per_page, listed=listed
    )
    presented = _presented(organization, items, day, legal=legal)
    places = {r.id: public.recipient_places(r, day, "en") for r in items}
    return page_body(public.with_safeguards(presented, places), total, page, per_page, as_of=day)


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
    @blp.doc(**operation("public"))
    def get(self, args: dict, org: str):
        """List the recipients in force on `as_of`.

        Anyone may read the subprocessor list as it stands on `as_of` (today in the
        organization's time zone by default), filtered by country, mechanism, role or
        service. Legal staff may also ask for proposed and ended vendors with `status`.
        """
        organization = load_organization(org)
        legal = is_legal(organization)
        listed = args.pop("status", None) or "on"
        if listed != "on" and not legal:
            raise Forbidden("Only legal staff see proposed vendors.")
        day = args.pop("as_of", None) or clock.local_today(organization.timezone)
        page, per_page = args.pop("page"), args.pop("per_page")
        filters = services.ListFilters(**args)
        if legal or listed != "on" or filters != services.ListFilters() or not pages.fast():
            return _object_page(organization, day, filters, page, per_page, listed, legal)
        return pages.cached(
            organization,
            ("list", day, page, per_page),
            lambda: as_response(
                RecipientListSchema, _public_page(organization, day, page, per_page)
            ),
        )

    @access("legal")
    @blp.arguments(RecipientCreateSchema)
    @blp.response(201, RecipientSchema)
    @blp.doc(
        **operation(
            "legal",
            {409: "Another vendor has this name, or one that reads the same."},
            example=VENDOR_EXAMPLE,
        )
    )
    def post(self, data: dict, org: str):
        """Register a vendor (legal key).

        Legal staff register a recipient with its purpose, data categories and processing
        locations (each with its transfer mechanism). It starts as `proposed`: announce an
        `add` change to put it on the list. 409: another vendor has this name, or one that
        reads the same.
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        recipient = services.register_recipient(organization, data, actor=principal.actor)
        db.session.commit()
        today = clock.local_today(organization.timezone)
        return _presented(organization, [recipient], today, legal=True)[0]


@blp.route("/<int:recipient_id>")
class Subprocessor(MethodView):
    @blp.arguments(AsOfArgs, location="query")
    @blp.response(200, RecipientSchema)
    @blp.doc(**operation("public"))
    def get(self, args: dict, org: str, recipient_id: int):
        """Show one recipient with its locations.

        Anyone may read a listed vendor as it stands on `as_of`; proposed and ended ones
        only legal staff (others get 404). The ETag header is what `If-Match` on PATCH
        compares.
        """
        organization = load_organization(org)
        legal = is_legal(organization)
        recipient = services.get_recipient(organization, recipient_id)
        if not legal and not services.is_public(recipient):
            raise NotFound("No such recipient.")
        day = args.get("as_of") or clock.local_today(organization.timezone)
        return with_etag(
            RecipientSchema(), _presented(organization, [recipient], day, legal=legal)[0]
        )

    @access("legal")
    @blp.arguments(RecipientPatchSchema)
    @blp.response(200, RecipientSchema)
    @blp.doc(
        **operation(
            "legal", {409: "Another vendor has this name, or one that reads the same.", **STALE}
        )
    )
    def patch(self, data: dict, org: str, recipient_id: int):
        """Edit a vendor's details (legal key).

        Legal staff edit a vendor. Once it is on the list, material details (purpose, data,
        locations) change only through an announced `update` change, so customers can
        object; the rest is edited here. 409: the new name is taken; 412: `If-Match` is
        stale.
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        recipient = services.get_recipient(organization, recipient_id)
        today = clock.local_today(organization.timezone)
        # The ETag legal staff saw: their GET's representation (today, proposed shown).
        check_if_match(
            etag_of(RecipientSchema(), _presented(organization, [recipient], today, legal=True)[0])
        )
        services.edit_recipient(organization, recipient, data, actor=principal.actor)
        db.session.commit()
        shown = _presented(organization, [recipient], today, legal=True)[0]
        return with_etag(RecipientSchema(), shown)


@blp.route("/<int:recipient_id>/transfer-assessments")
class TransferAssessments(MethodView):
    @access("legal")
    @blp.response(200, AssessmentListSchema)
    @blp.doc(**operation("legal"))
    def get(self, org: str, recipient_id: int):
        """List a vendor's transfer impact assessments (legal key).

        Legal staff read the transfer impact assessments recorded for each place the vendor
        processes data in, oldest first.
        """
        organization = load_organization(org)
        recipient = services.get_recipient(organization, recipient_id)
        items = [assessments.present(a) for a in assessments.list_assessments(recipient)]
        return {"items": items, "total": len(items)}

    @access("legal")
    @blp.arguments(AssessmentCreateSchema)
    @blp.response(201, AssessmentSchema)
    @blp.doc(**operation("legal", example=ASSESSMENT_EXAMPLE))
    def post(self, data: dict, org: str, recipient_id: int):
        """Record a transfer impact assessment (legal key).

        Legal staff record the assessment of one place of the vendor (EDPB Recommendations
        01/2020): its date, outcome, supplementary measures and review date. 422: the place
        is not one of the vendor's.
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        recipient = services.get_recipient(organization, recipient_id)
        assessment = assessments.record_assessment(
            organization, recipient, data, actor=principal.actor
        )
        db.session.commit()
        return assessments.present(assessment)
