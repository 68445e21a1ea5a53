"""HTTP glue for organizations and services."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select

from service.etags import check_if_match, etag_of, with_etag
from service.extensions import db
from service.keys.auth import access, actor, load_organization, require_admin, require_legal
from service.organizations import services
from service.organizations.models import Service
from service.organizations.schemas import (
    OrganizationCreateSchema,
    OrganizationPatchSchema,
    OrganizationSchema,
    ServiceCreateSchema,
    ServiceListSchema,
    ServiceSchema,
)
from service.web import Blueprint

blp = Blueprint(
    "organizations",
    __name__,
    url_prefix="/api/v1/orgs",
    description="Organizations (processors) and their services",
)


@blp.route("")
class Organizations(MethodView):
    @access("admin")
    @blp.arguments(OrganizationCreateSchema)
    @blp.response(201, OrganizationSchema)
    def post(self, data: dict):
        """Create an organization (admin key)."""
        require_admin()
        org = services.create_organization(data, actor=actor())
        db.session.commit()
        return org


@blp.route("/<org>")
class OrganizationResource(MethodView):
    @blp.response(200, OrganizationSchema)
    def get(self, org: str):
        """Show an organization's public details, with an ETag for `If-Match` on PATCH."""
        return with_etag(OrganizationSchema(), load_organization(org))

    @access("legal")
    @blp.arguments(OrganizationPatchSchema(partial=True))
    @blp.response(200, OrganizationSchema)
    def patch(self, data: dict, org: str):
        """Edit an organization's details (legal key); `If-Match` with a stale ETag: 412."""
        organization = load_organization(org)
        principal = require_legal(organization)
        check_if_match(etag_of(OrganizationSchema(), organization))
        services.update_organization(organization, data, actor=principal.actor)
        db.session.commit()
        return with_etag(OrganizationSchema(), organization)


@blp.route("/<org>/services")
class Services(MethodView):
    @blp.response(200, ServiceListSchema)
    def get(self, org: str):
        """List the organization's services."""
        organization = load_organization(org)
        items = db.session.scalars(
            select(Service).where(Service.organization_id == organization.id).order_by(Service.slug)
        ).all()
        return {"items": items, "total": len(items)}

    @access("legal")
    @blp.arguments(ServiceCreateSchema)
    @blp.response(201, ServiceSchema)
    def post(self, data: dict, org: str):
        """Add a service (legal key)."""
        organization = load_organization(org)
        principal = require_legal(organization)
        svc = services.create_service(organization, data, actor=principal.actor)
        db.session.commit()
        return svc
