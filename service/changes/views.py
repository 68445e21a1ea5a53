"""HTTP glue for announced changes."""

from __future__ import annotations

from flask.views import MethodView

from service import clock
from service.apidoc import CHANGE_EXAMPLE, WITHDRAW_EXAMPLE, operation
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
    @blp.doc(**operation("public"))
    def get(self, args: dict, org: str):
        """List announced (and withdrawn) changes, newest first.

        Anyone may read the changes of the subprocessor list: what is added, replaced,
        updated or removed, from which date, and whether customers may still object.
        """
        organization = load_organization(org)
        page, per_page = args.pop("page"), args.pop("per_page")
        items, total = services.list_changes(organization, args, page, per_page)
        today = clock.local_today(organization.timezone)
        return page_body([services.present(c, today) for c in items], total, page, per_page)

    @access("legal")
    @blp.arguments(ChangeCreateSchema)
    @blp.response(201, ChangeSchema)
    @blp.doc(
        **operation(
            "legal",
            {409: "The change contradicts the list or another announced change."},
            example=CHANGE_EXAMPLE,
        )
    )
    def post(self, data: dict, org: str):
        """Announce a change of the subprocessor list (legal key).

        Legal staff announce an `add`, `replace`, `update` or `remove` of a registered
        vendor with its effective date; every customer it concerns is notified and may
        object until its deadline. 409: the change contradicts the list (already listed, not
        listed, another change of the vendor pending, or a date before one already
        announced).
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        change = services.announce_change(organization, data, actor=principal.actor)
        # Presented before the commit, which expires every loaded object: presenting after
        # it read the organization, the change and the vendor again (18 -> 15 statements).
        body = services.present(change, clock.local_today(organization.timezone))
        db.session.commit()
        return body


@blp.route("/<int:change_id>")
class ChangeResource(MethodView):
    @blp.response(200, ChangeSchema)
    @blp.doc(**operation("public"))
    def get(self, org: str, change_id: int):
        """Show one change.

        Anyone may read it: the vendor, kind, effective date, reason and status.
        """
        organization = load_organization(org)
        change = services.get_change(organization, change_id)
        return services.present(change, clock.local_today(organization.timezone))


@blp.route("/<int:change_id>/withdraw")
class ChangeWithdrawal(MethodView):
    @access("legal")
    @blp.arguments(WithdrawSchema)
    @blp.response(200, ChangeSchema)
    @blp.doc(
        **operation(
            "legal",
            {409: "Already withdrawn, already in effect, or a later change depends on it."},
            example=WITHDRAW_EXAMPLE,
        )
    )
    def post(self, data: dict, org: str, change_id: int):
        """Withdraw a change before its effective date (legal key).

        Legal staff withdraw an announced change; the list reverts and customers who were
        notified are told. 409: it is already withdrawn, already in effect, or a later
        change of the same vendor must be withdrawn first.
        """
        organization = load_organization(org)
        principal = require_legal(organization)
        change = services.get_change(organization, change_id)
        services.withdraw_change(organization, change, data["reason"], actor=principal.actor)
        db.session.commit()
        return services.present(change, clock.local_today(organization.timezone))
