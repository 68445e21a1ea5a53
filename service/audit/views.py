"""HTTP glue for the audit trail."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select

from service.apidoc import operation
from service.audit import services
from service.audit.models import AuditEvent
from service.audit.schemas import AuditListArgs, AuditListSchema, ChainReportSchema
from service.common import page_body, paginate
from service.keys.auth import access, load_organization, require_legal
from service.web import Blueprint

blp = Blueprint(
    "audit",
    __name__,
    url_prefix="/api/v1/orgs/<org>/audit",
    description="The organization's append-only, hash-chained audit trail",
)


@blp.route("")
class Audit(MethodView):
    @access("legal")
    @blp.arguments(AuditListArgs, location="query")
    @blp.response(200, AuditListSchema)
    @blp.doc(**operation("legal"))
    def get(self, args: dict, org: str):
        """List audit events, newest first (legal key).

        Legal staff read the organization's audit trail: every write, who made it (the key's
        prefix) and when. Filters narrow it by entity, action or actor.
        """
        organization = load_organization(org)
        require_legal(organization)
        page, per_page = args.pop("page"), args.pop("per_page")
        stmt = select(AuditEvent).where(AuditEvent.organization_id == organization.id)
        for name, value in args.items():
            stmt = stmt.where(getattr(AuditEvent, name) == value)
        items, total = paginate(stmt.order_by(AuditEvent.seq.desc()), page, per_page)
        return page_body(items, total, page, per_page)


@blp.route("/verification")
class AuditVerification(MethodView):
    @access("legal")
    @blp.response(200, ChainReportSchema)
    @blp.doc(**operation("legal"))
    def get(self, org: str):
        """Verify the audit trail's hash chain (legal key).

        Legal staff recompute the chain of hashes over every event and learn whether any
        event was altered or removed, and where the chain first breaks.
        """
        organization = load_organization(org)
        require_legal(organization)
        return services.verify_chain(organization.id)
