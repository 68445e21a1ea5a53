"""HTTP glue for an organization's own API keys (admin keys exist only through the CLI)."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select

from service.apidoc import KEY_EXAMPLE, operation
from service.customers.models import Customer
from service.errors import ValidationFailed
from service.extensions import db
from service.keys import services
from service.keys.auth import access, load_organization, require_legal
from service.keys.models import ApiKey
from service.keys.schemas import KeyCreateSchema, KeyListSchema, KeySchema, NewKeySchema
from service.web import Blueprint

blp = Blueprint(
    "keys",
    __name__,
    url_prefix="/api/v1/orgs/<org>/keys",
    description="API keys of the organization's legal staff and customers",
)


@blp.route("")
class Keys(MethodView):
    @access("legal")
    @blp.response(200, KeyListSchema)
    @blp.doc(**operation("legal"))
    def get(self, org: str):
        """List the organization's keys (legal key).

        Legal staff see every key of the organization, revoked ones included, by prefix,
        role, name and dates; secrets are never shown.
        """
        organization = load_organization(org)
        require_legal(organization)
        items = db.session.scalars(
            select(ApiKey)
            .where(ApiKey.organization_id == organization.id)
            .order_by(ApiKey.created_at, ApiKey.id)
        ).all()
        return {"items": items, "total": len(items)}

    @access("legal")
    @blp.arguments(KeyCreateSchema)
    @blp.response(201, NewKeySchema)
    @blp.doc(**operation("legal", example=KEY_EXAMPLE))
    def post(self, data: dict, org: str):
        """Create a legal-staff or customer key (legal key).

        Legal staff create a key for a colleague or for one customer (`customer_id`); the
        response shows the secret once and it cannot be read again. 422: unknown customer.
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        customer_id = data.get("customer_id")
        if customer_id is not None:
            customer = db.session.get(Customer, customer_id)
            if customer is None or customer.organization_id != organization.id:
                raise ValidationFailed(
                    "Unknown customer.", errors={"customer_id": ["No such customer."]}
                )
        key, token = services.create_key(
            role=data["role"],
            name=data["name"],
            organization_id=organization.id,
            customer_id=customer_id,
            actor=principal.actor,
        )
        db.session.commit()
        return {name: getattr(key, name) for name in KeySchema().fields} | {"key": token}


@blp.route("/<prefix>")
class KeyResource(MethodView):
    @access("legal")
    @blp.response(200, KeySchema)
    @blp.doc(**operation("legal", {409: "The key is already revoked."}))
    def delete(self, org: str, prefix: str):
        """Revoke a key (legal key).

        Legal staff revoke a key by its prefix; requests with it get 401 from now on. 404:
        no such key in the organization; 409: it is already revoked.
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        key = services.revoke_key(prefix, actor=principal.actor, organization_id=organization.id)
        db.session.commit()
        return key
