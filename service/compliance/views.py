"""HTTP glue for the compliance report."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from service import clock
from service.apidoc import operation
from service.compliance import services
from service.compliance.schemas import ComplianceArgs, ComplianceSchema
from service.keys.auth import access, load_organization, require_legal
from service.web import Blueprint

blp = Blueprint(
    "compliance",
    __name__,
    url_prefix="/api/v1/orgs/<org>/compliance",
    description="Transfer, residency, due-diligence and notice gaps",
)


@blp.route("")
class Compliance(MethodView):
    @access("legal")
    @blp.arguments(ComplianceArgs, location="query")
    @blp.response(200, ComplianceSchema)
    @blp.doc(**operation("legal"))
    def get(self, args: dict, org: str):
        """List the register's compliance gaps (legal key).

        Legal staff see every gap on `as_of` (today by default): missing sub-processing
        agreements, transfers without a valid mechanism, expired certifications, reviews
        due, judged by the reference data in use now.
        """
        organization = load_organization(org)
        require_legal(organization)
        day = args.get("as_of") or clock.local_today(organization.timezone)
        within = args.get("expiring_within")
        if within is None:
            within = current_app.config["COMPLIANCE_EXPIRY_WARNING_DAYS"]
        return services.compliance_report(
            organization,
            day,
            within_days=within,
            severity=args.get("severity"),
            rule=args.get("rule"),
            context=args.get("context"),
        )
