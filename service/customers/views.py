"""HTTP glue for customers."""

from __future__ import annotations

from flask.views import MethodView

from service import clock
from service.apidoc import CUSTOMER_EXAMPLE, OFFBOARDING_EXAMPLE, STALE, operation
from service.common import page_body
from service.customers import services
from service.customers.schemas import (
    CallerSchema,
    CustomerCreateSchema,
    CustomerListArgs,
    CustomerListSchema,
    CustomerPatchSchema,
    CustomerSchema,
    OffboardingResultSchema,
    OffboardingSchema,
)
from service.errors import Unauthorized
from service.etags import check_if_match, etag_of, with_etag
from service.extensions import db
from service.keys.auth import (
    access,
    current_principal,
    load_organization,
    require_customer_or_legal,
    require_legal,
)
from service.retention.policy import records_rule
from service.web import Blueprint

blp = Blueprint(
    "customers",
    __name__,
    url_prefix="/api/v1/orgs/<org>/customers",
    description="Customers (controllers) with their contacts and agreement terms",
)


@blp.route("")
class Customers(MethodView):
    @access("legal")
    @blp.arguments(CustomerListArgs, location="query")
    @blp.response(200, CustomerListSchema)
    @blp.doc(**operation("legal"))
    def get(self, args: dict, org: str):
        """List customers (legal key).

        Legal staff page through the organization's customers (the controllers it processes
        data for), with their contacts, services and agreement terms; filters narrow the
        list.
        """
        organization = load_organization(org)
        require_legal(organization)
        page, per_page = args.pop("page"), args.pop("per_page")
        items, total = services.list_customers(organization, args, page, per_page)
        rule = records_rule(organization, clock.local_today(organization.timezone))
        presented = [services.present(organization, c, rule) for c in items]
        return page_body(presented, total, page, per_page)

    @access("legal")
    @blp.arguments(CustomerCreateSchema)
    @blp.response(201, CustomerSchema)
    @blp.doc(
        **operation(
            "legal", {409: "A customer with this external_ref exists."}, example=CUSTOMER_EXAMPLE
        )
    )
    def post(self, data: dict, org: str):
        """Register a customer (legal key).

        Legal staff register a controller with its own reference (`external_ref`, unique in
        the organization), contacts who receive notices, services and negotiated terms. 409:
        the reference is taken (`existing_id` names that customer).
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        customer = services.create_customer(organization, data, actor=principal.actor)
        db.session.commit()
        return services.present(organization, customer)


@blp.route("/me")
class Caller(MethodView):
    @access("public")
    @blp.response(200, CallerSchema)
    @blp.doc(**operation("any_key"))
    def get(self, org: str):
        """Tell a key who it belongs to (any key).

        Its role and, for a customer key, the customer's id, reference and name: the id is
        what the /customers/{customer_id} paths take. Any key of the organization (or an
        admin key); without a key it is 401.
        """
        organization = load_organization(org)
        principal = current_principal()
        if principal is None:
            raise Unauthorized("Send the key to ask about: 'Authorization: Bearer <key>'.")
        customer = None
        if principal.customer_id is not None:
            customer = services.get_customer(organization, principal.customer_id, children=False)
        return {
            "role": principal.role,
            "key_name": principal.name,
            "key_prefix": principal.prefix,
            "organization": organization.slug,
            "customer": customer,
        }


@blp.route("/<int:customer_id>")
class CustomerResource(MethodView):
    @access("customer_or_legal")
    @blp.response(200, CustomerSchema)
    @blp.doc(**operation("customer_or_legal"))
    def get(self, org: str, customer_id: int):
        """Show one customer.

        Legal staff, or the customer itself with its own key, read its details and terms.
        The ETag header is what `If-Match` on PATCH compares against.
        """
        organization = load_organization(org)
        require_customer_or_legal(organization, customer_id)
        customer = services.get_customer(organization, customer_id)
        return with_etag(CustomerSchema(), services.present(organization, customer))

    @access("legal")
    @blp.arguments(CustomerPatchSchema)
    @blp.response(200, CustomerSchema)
    @blp.doc(**operation("legal", {409: "The external_ref is taken.", **STALE}))
    def patch(self, data: dict, org: str, customer_id: int):
        """Edit a customer (legal key).

        Legal staff change a customer's contacts, services and negotiated terms; the edit is
        audited. 409: the new external_ref is taken; 412: `If-Match` is stale.
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        customer = services.get_customer(organization, customer_id)
        check_if_match(etag_of(CustomerSchema(), services.present(organization, customer)))
        services.edit_customer(organization, customer, data, actor=principal.actor)
        db.session.commit()
        return with_etag(CustomerSchema(), services.present(organization, customer))


@blp.route("/<int:customer_id>/offboarding")
class CustomerOffboarding(MethodView):
    @access("legal")
    @blp.arguments(OffboardingSchema)
    @blp.response(200, OffboardingResultSchema)
    @blp.doc(
        **operation(
            "legal", {409: "The relationship already has an end date."}, example=OFFBOARDING_EXAMPLE
        )
    )
    def post(self, data: dict, org: str, customer_id: int):
        """End the relationship with a customer (legal key).

        Legal staff record the relationship's last day: the retention period runs from it,
        and notices, agreement requests and unsent mail to the customer stop. 409: it
        already has an end date.
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        customer = services.get_customer(organization, customer_id)
        ended_on = data.get("ended_on") or clock.local_today(organization.timezone)
        stopped = services.offboard_customer(
            organization, customer, ended_on, data["reason"], actor=principal.actor
        )
        db.session.commit()
        return {"customer": services.present(organization, customer), **stopped}
