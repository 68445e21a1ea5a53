"""HTTP glue for retention: the report of ended relationships and the manual legal hold."""

from __future__ import annotations

from flask.views import MethodView

from service import clock
from service.apidoc import LEGAL_HOLD_EXAMPLE, operation
from service.customers.services import get_customer
from service.extensions import db
from service.keys.auth import access, load_organization, require_legal
from service.retention import services
from service.retention.schemas import (
    LegalHoldBodySchema,
    LegalHoldSchema,
    RetentionArgs,
    RetentionReportSchema,
)
from service.web import Blueprint

blp = Blueprint(
    "retention",
    __name__,
    url_prefix="/api/v1/orgs/<org>",
    description="Retention of ended customer relationships, legal holds and deletion dates",
)


@blp.route("/retention")
class Retention(MethodView):
    @access("legal")
    @blp.arguments(RetentionArgs, location="query")
    @blp.response(200, RetentionReportSchema)
    @blp.doc(**operation("legal"))
    def get(self, args: dict, org: str):
        """List ended relationships and their deletion dates (legal key).

        Legal staff see, for each ended relationship, when its data is due for deletion,
        what is already due, and what a legal hold keeps and why.
        """
        organization = load_organization(org)
        day = args.get("as_of") or clock.local_today(organization.timezone)
        return services.report(organization, day)


@blp.route("/customers/<int:customer_id>/legal-hold")
class LegalHold(MethodView):
    @access("legal")
    @blp.arguments(LegalHoldBodySchema)
    @blp.response(200, LegalHoldSchema)
    @blp.doc(**operation("legal", example=LEGAL_HOLD_EXAMPLE))
    def patch(self, data: dict, org: str, customer_id: int):
        """Place or lift a legal hold on a customer (legal key).

        Legal staff hold a customer's records (a held customer is never purged) or lift the
        hold, with a reason; the change is audited.
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        customer = get_customer(organization, customer_id)
        services.set_legal_hold(
            organization, customer, data["hold"], data.get("reason"), actor=principal.actor
        )
        db.session.commit()
        return services.hold_view(organization, customer)
