"""HTTP glue for a customer's webhooks (its own key, or legal staff)."""

from __future__ import annotations

from flask.views import MethodView

from service.apidoc import WEBHOOK_EXAMPLE, operation
from service.customers import services as customers
from service.extensions import db
from service.keys.auth import access, actor, load_organization
from service.web import Blueprint
from service.webhooks import services
from service.webhooks.schemas import (
    NewWebhookSchema,
    WebhookCreateSchema,
    WebhookListSchema,
)

blp = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/api/v1/orgs/<org>/customers/<int:customer_id>/webhooks",
    description="Customers' HTTPS endpoints that receive notices as signed JSON",
)


@blp.route("")
class Webhooks(MethodView):
    @access("customer_or_legal")
    @blp.response(200, WebhookListSchema)
    @blp.doc(**operation("customer_or_legal"))
    def get(self, org: str, customer_id: int):
        """List a customer's webhooks.

        Legal staff, or the customer with its own key, see where notices are posted; signing
        secrets are never shown.
        """
        customer = customers.get_customer(load_organization(org), customer_id)
        items = [services.present(w) for w in services.list_webhooks(customer)]
        return {"items": items, "total": len(items)}

    @access("customer_or_legal")
    @blp.arguments(WebhookCreateSchema)
    @blp.response(201, NewWebhookSchema)
    @blp.doc(
        **operation(
            "customer_or_legal",
            {409: "The URL is registered, or the limit of webhooks is reached."},
            example=WEBHOOK_EXAMPLE,
        )
    )
    def post(self, data: dict, org: str, customer_id: int):
        """Register a webhook for a customer's notices.

        Legal staff, or the customer with its own key, register an https URL that receives
        each notice, signed; the response shows the signing secret once. 409: the URL is
        registered already, or the customer has as many webhooks as allowed.
        """
        organization = load_organization(org)
        customer = customers.get_customer(organization, customer_id)
        webhook, secret = services.register(organization, customer, data["url"], actor=actor())
        db.session.commit()
        return services.present(webhook) | {"secret": secret}


@blp.route("/<int:webhook_id>")
class WebhookResource(MethodView):
    @access("customer_or_legal")
    @blp.response(204)
    @blp.doc(**operation("customer_or_legal"))
    def delete(self, org: str, customer_id: int, webhook_id: int):
        """Remove a webhook.

        Legal staff, or the customer with its own key, remove a webhook; notices still
        queued for it are not sent.
        """
        organization = load_organization(org)
        customer = customers.get_customer(organization, customer_id)
        services.remove(organization, services.get_webhook(customer, webhook_id), actor=actor())
        db.session.commit()
