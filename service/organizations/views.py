"""HTTP glue for organizations and services."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select

from service.apidoc import ORGANIZATION_EXAMPLE, SERVICE_EXAMPLE, STALE, operation
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
    @blp.doc(
        **operation(
            "admin", {409: "An organization with this slug exists."}, example=ORGANIZATION_EXAMPLE
        )
    )
    def post(self, data: dict):
        """Create an organization (admin key).

        Only the operator's admin key may do this (admin keys come from the command line,
        `flask --app service keys create --role admin`). The organization is the processor
        whose register this is; its slug names it in every other URL. 409: the slug is
        taken.
        """
        require_admin()
        org = services.create_organization(data, actor=actor())
        db.session.commit()
        return org


@blp.route("/<org>")
class OrganizationResource(MethodView):
    @blp.response(200, OrganizationSchema)
    @blp.doc(**operation("public"))
    def get(self, org: str):
        """Show an organization's public details.

        Anyone may read it: the processor's name, address, contacts, time zone and default
        notice terms. The ETag header is what `If-Match` on PATCH compares against.
        """
        return with_etag(OrganizationSchema(), load_organization(org))

    @access("legal")
    @blp.arguments(OrganizationPatchSchema(partial=True))
    @blp.response(200, OrganizationSchema)
    @blp.doc(**operation("legal", STALE))
    def patch(self, data: dict, org: str):
        """Edit an organization's details (legal key).

        Legal staff of the organization change its name, contacts, time zone and default
        terms; the edit is audited. Send `If-Match` with the ETag of your GET to refuse a
        lost update: 412 when someone changed it since.
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        check_if_match(etag_of(OrganizationSchema(), organization))
        services.update_organization(organization, data, actor=principal.actor)
        db.session.commit()
        return with_etag(OrganizationSchema(), organization)


@blp.route("/<org>/services")
class Services(MethodView):
    @blp.response(200, ServiceListSchema)
    @blp.doc(**operation("public"))
    def get(self, org: str):
        """List the organization's services.

        Anyone may read them. A service (for example bookings or payments) scopes which
        vendors a customer's list includes.
        """
        organization = load_organization(org)
        items = db.session.scalars(
            select(Service).where(Service.organization_id == organization.id).order_by(Service.slug)
        ).all()
        return {"items": items, "total": len(items)}

    @access("legal")
    @blp.arguments(ServiceCreateSchema)
    @blp.response(201, ServiceSchema)
    @blp.doc(
        **operation("legal", {409: "A service with this slug exists."}, example=SERVICE_EXAMPLE)
    )
    def post(self, data: dict, org: str):
        """Add a service (legal key).

        Legal staff name a service of the organization in Polish and English; vendors and
        customers are then tied to it by slug. 409: the slug is taken.
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        svc = services.create_service(organization, data, actor=principal.actor)
        db.session.commit()
        return svc
