"""HTTP glue for announced changes."""

from __future__ import annotations

from flask.views import MethodView

from service import clock
from service.changes import services
from service.changes.schemas import (
    ChangeCreateSchema,
    ChangeListArgs,
    ChangeListSchema,
    ChangeSchema,
    WithdrawSchema,
)
from service.common import page_body
from service.extensions import db
from service.keys.auth import access, load_organization, require_legal
from service.web import Blueprint

blp = Blueprint(
    "changes",
    __name__,
    url_prefix="/api/v1/orgs/<org>/changes",
    description="Announced changes of the subprocessor list",
)


@blp.route("")
class Changes(MethodView):
    @blp.arguments(ChangeListArgs, location="query")
    @blp.response(200, ChangeListSchema)
    def get(self, args: dict, org: str):
        """List announced (and withdrawn) changes, newest first."""
        organization = load_organization(org)
        page, per_page = args.pop("page"), args.pop("per_page")
        items, total = services.list_changes(organization, args, page, per_page)
        today = clock.local_today(organization.timezone)
        return page_body([services.present(c, today) for c in items], total, page, per_page)

    @access("legal")
    @blp.arguments(ChangeCreateSchema)
    @blp.response(201, ChangeSchema)
    def post(self, data: dict, org: str):
        """Announce an add, replace, update or remove with its effective date."""
        organization = load_organization(org)
        principal = require_legal(organization)
        change = services.announce_change(organization, data, actor=principal.actor)
        db.session.commit()
        return services.present(change, clock.local_today(organization.timezone))


@blp.route("/<int:change_id>")
class ChangeResource(MethodView):
    @blp.response(200, ChangeSchema)
    def get(self, org: str, change_id: int):
        """Show one change."""
        organization = load_organization(org)
        change = services.get_change(organization, change_id)
        return services.present(change, clock.local_today(organization.timezone))


@blp.route("/<int:change_id>/withdraw")
class ChangeWithdrawal(MethodView):
    @access("legal")
    @blp.arguments(WithdrawSchema)
    @blp.response(200, ChangeSchema)
    def post(self, data: dict, org: str, change_id: int):
        """Withdraw a change before its effective date; the list reverts."""
        organization = load_organization(org)
        principal = require_legal(organization)
        change = services.get_change(organization, change_id)
        services.withdraw_change(organization, change, data["reason"], actor=principal.actor)
        db.session.commit()
        return services.present(change, clock.local_today(organization.timezone))
