"""HTTP glue for retention: the report of ended relationships and the manual legal hold."""

from __future__ import annotations

from flask.views import MethodView

from service import clock
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
    def get(self, args: dict, org: str):
        """Ended relationships: deletion dates, what is due, what is held and why."""
        organization = load_organization(org)
        day = args.get("as_of") or clock.local_today(organization.timezone)
        return services.report(organization, day)


@blp.route("/customers/<int:customer_id>/legal-hold")
class LegalHold(MethodView):
    @access("legal")
    @blp.arguments(LegalHoldBodySchema)
    @blp.response(200, LegalHoldSchema)
    def patch(self, data: dict, org: str, customer_id: int):
        """Place or lift a legal hold: a held customer is never purged."""
        organization = load_organization(org)
        principal = require_legal(organization)
        customer = get_customer(organization, customer_id)
        services.set_legal_hold(
            organization, customer, data["hold"], data.get("reason"), actor=principal.actor
        )
        db.session.commit()
        return services.hold_view(organization, customer)
