"""HTTP glue for an organization's own API keys (admin keys exist only through the CLI)."""

from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select

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
    def get(self, org: str):
        """List the organization's keys, revoked ones included; secrets are never shown."""
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
    def post(self, data: dict, org: str):
        """Create a legal-staff key or a customer's key; the response shows the secret once."""
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
    def delete(self, org: str, prefix: str):
        """Revoke a key at once; requests with it get 401 from now on."""
        organization = load_organization(org)
        principal = require_legal(organization)
        key = services.revoke_key(prefix, actor=principal.actor, organization_id=organization.id)
        db.session.commit()
        return key
