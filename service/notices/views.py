"""HTTP glue for per-customer lists, notices and diffs."""

from __future__ import annotations

import json
from datetime import date

from flask import Response
from flask.views import MethodView
from sqlalchemy import select

from service import clock
from service.apidoc import operation
from service.changes import services as changes
from service.changes.models import Notice
from service.common import as_response, page_body, paginate
from service.customers import services as customers
from service.customers.subprocessors import CustomerView, cached_items, customer_view, upcoming
from service.extensions import db
from service.keys.auth import access, is_legal, load_organization
from service.notices import services as notice_services
from service.notices import texts as notice_texts
from service.notices.links import answer_url
from service.notices.schemas import (
    CustomerSubprocessorsSchema,
    DiffArgs,
    DiffSchema,
    NoticeListArgs,
    NoticeListSchema,
    OrganizationDiffArgs,
    WithheldSchema,
)
from service.objections.services import answer_of
from service.outbox.models import Delivery
from service.public import services as public
from service.recipients import pages
from service.recipients import services as recipients
from service.recipients.schemas import AsOfArgs, RecipientSchema
from service.web import Blueprint

# Dumped by hand for the customer's list, whose items are cached already dumped.
_ITEMS = RecipientSchema(many=True)
_UPCOMING = CustomerSubprocessorsSchema(only=("upcoming",))
_WITHHELD = WithheldSchema(many=True)

blp = Blueprint(
    "notices",
    __name__,
    url_prefix="/api/v1/orgs/<org>",
    description="Per-customer lists, notices given, and differences between dates",
)


def _deliveries(notice: Notice) -> list[Delivery]:
    return list(
        db.session.scalars(
            select(Delivery).where(Delivery.notice_id == notice.id).order_by(Delivery.id)
        )
    )


def delivery_status(notice: Notice, deliveries: list[Delivery]) -> str:
    """delivered once any message was accepted; undeliverable once none can be."""
    if notice.delivered_at is not None:
        return "delivered"
    if deliveries and all(d.status == "failed" for d in deliveries):
        return "undeliverable"
    return "pending"


def present_notice(org, notice: Notice, *, with_deliveries: bool = False) -> dict:
    answer = answer_of(notice)
    closed = notice.objection_deadline is not None and clock.now() > notice.objection_deadline
    answerable = (
        notice.response != "none" and notice.withdrawn_at is None and answer is None and not closed
    )
    return {
        "id": notice.id,
        "change_id": notice.change_id,
        "customer": {
            "id": notice.customer.id,
            "name": notice.customer.name,
            "external_ref": notice.customer.external_ref,
        },
        "response": notice.response,
        "notice_days": notice.notice_days,
        "delivered_at": notice.delivered_at,
        "objection_deadline": notice.objection_deadline,
        "withdrawn_at": notice.withdrawn_at,
        "answer": answer,
        "answer_url": answer_url(org, notice) if answerable else None,
        **notice_services.standing_fields(org, notice, answer),
    } | (_with_deliveries(notice) if with_deliveries else {})


def _with_deliveries(notice: Notice) -> dict:
    """Proof of notice for legal staff: each message, its Message-ID and the server's answer."""
    deliveries = _deliveries(notice)
    return {
        "status": delivery_status(notice, deliveries),
        "deliveries": [
            {
                "channel": d.channel,
                "address": d.address,
                "status": d.status,
                "message_id": d.message_id,
                "attempts": d.attempts,
                "accepted_at": d.accepted_at,
                "last_response": d.last_response,
            }
            for d in deliveries
        ],
    }


def present_withheld(withheld) -> dict:
    recipient = withheld.recipient
    return {
        "recipient": {"id": recipient.id, "name": recipient.name},
        "state": withheld.state,
        "labels": notice_texts.labels(withheld.state),
        "change_id": withheld.change_id,
        "applies_from": withheld.applies_from,
    }


@blp.route("/customers/<int:customer_id>/subprocessors")
class CustomerSubprocessors(MethodView):
    @access("customer_or_legal")
    @blp.arguments(AsOfArgs, location="query")
    @blp.response(200, CustomerSubprocessorsSchema)
    @blp.doc(**operation("customer_or_legal"))
    def get(self, args: dict, org: str, customer_id: int):
        """Show the list that applies to one customer.

        Legal staff, or the customer with its own key, read the subprocessors that apply to
        the customer on `as_of` (its services, its exclusions after objections) and the
        changes ahead of it with their objection deadlines.
        """
        organization = load_organization(org)
        customer, tokens = customers.get_customer_with_tokens(organization, customer_id)
        day = args.get("as_of") or clock.local_today(organization.timezone)
        legal = is_legal(organization)

        def render(view: CustomerView) -> bytes:
            # Each location says what may be stated of its safeguard on the day shown, as
            # the organization's own list does; `mechanism` stays what legal staff recorded.
            presented = _ITEMS.dump(
                public.with_safeguards(
                    [recipients.present(e.recipient, e.seen_on, legal=legal) for e in view.applied],
                    {
                        e.recipient.id: public.recipient_places(
                            e.recipient, day, "en", seen_on=e.seen_on
                        )
                        for e in view.applied
                    },
                )
            )
            withheld = _WITHHELD.dump([present_withheld(w) for w in view.withheld])
            return (
                f'"items":{json.dumps(presented)},"total":{len(presented)},'
                f'"withheld":{json.dumps(withheld)}'
            ).encode()

        # The items come from a cache keyed by the list's and the customers' tokens; the
        # notices ahead are read every time (their answers and deadlines move by the hour),
        # unless the same tokens already found none ahead on this day.
        items = cached_items(organization, customer, day, legal=legal, render=render, tokens=tokens)
        ahead = _UPCOMING.dump(
            {
                "upcoming": [
                    {
                        "change": changes.present(change, day),
                        "notice": present_notice(organization, notice),
                    }
                    for notice, change in upcoming(organization, customer, day, tokens=tokens)
                ]
            }
        )
        return Response(list_body(day, items, ahead["upcoming"]), mimetype="application/json")


def list_body(day: date, items: bytes, upcoming: list) -> bytes:
    """A customer's list as sent: the day, its cached items, the changes ahead. Shared with
    the WSGI fast path (service/notices/fastpath.py), so both send the same bytes."""
    return b"".join(
        (
            f'{{"as_of":"{day.isoformat()}",'.encode(),
            items,
            f',"upcoming":{json.dumps(upcoming)}}}'.encode(),
        )
    )


@blp.route("/customers/<int:customer_id>/subprocessors/diff")
class CustomerDiff(MethodView):
    @access("customer_or_legal")
    @blp.arguments(DiffArgs, location="query")
    @blp.response(200, DiffSchema)
    @blp.doc(**operation("customer_or_legal"))
    def get(self, args: dict, org: str, customer_id: int):
        """Compare one customer's list between two dates.

        Legal staff, or the customer with its own key, see what was added, removed or
        changed in the customer's list between `from` and `to`.
        """
        organization = load_organization(org)
        customer = customers.get_customer(organization, customer_id)
        legal = is_legal(organization)
        lists = [
            [
                recipients.present(e.recipient, e.seen_on, legal=legal)
                for e in customer_view(organization, customer, day).applied
            ]
            for day in (args["since"], args["until"])
        ]
        return {"from_": args["since"], "to": args["until"], **recipients.diff_lists(*lists)}


@blp.route("/subprocessors/diff")
class OrganizationDiff(MethodView):
    @blp.arguments(OrganizationDiffArgs, location="query")
    @blp.response(200, DiffSchema)
    @blp.doc(**operation("public"))
    def get(self, args: dict, org: str):
        """Compare the public list between two dates.

        Anyone may see what was added, removed or changed in the organization's list between
        two dates; with `per_page` the answer is paged.
        """
        organization = load_organization(org)
        if not pages.fast():
            return _organization_diff(organization, args)
        question = ("diff", args["since"], args["until"], args["page"], args.get("per_page"))
        return pages.cached(
            organization,
            question,
            lambda: as_response(DiffSchema, _organization_diff(organization, args)),
        )


def _organization_diff(organization, args: dict) -> dict:
    per_page = args.get("per_page")
    dates = (organization, args["since"], args["until"])
    body = None
    if pages.fast():
        body = pages.diff_between(*dates, page=args["page"], per_page=per_page)
    if body is None:
        body = recipients.diff_between(*dates, page=args["page"], per_page=per_page)
    paging = {"page": args["page"], "per_page": per_page} if per_page else {}
    return {"from_": args["since"], "to": args["until"], **body, **paging}


@blp.route("/customers/<int:customer_id>/notices")
class CustomerNotices(MethodView):
    @access("customer_or_legal")
    @blp.arguments(NoticeListArgs, location="query")
    @blp.response(200, NoticeListSchema)
    @blp.doc(**operation("customer_or_legal"))
    def get(self, args: dict, org: str, customer_id: int):
        """List the notices a customer was given.

        Legal staff, or the customer with its own key, read the change notices sent to the
        customer, newest first, with their deadlines and the links to answer them.
        """
        organization = load_organization(org)
        customers.get_customer(organization, customer_id)
        stmt = (
            select(Notice)
            .where(Notice.customer_id == customer_id)
            .order_by(Notice.created_at.desc(), Notice.id.desc())
        )
        items, total = paginate(stmt, args["page"], args["per_page"])
        presented = [present_notice(organization, n) for n in items]
        return page_body(presented, total, args["page"], args["per_page"])


@blp.route("/changes/<int:change_id>/notices")
class ChangeNotices(MethodView):
    @access("legal")
    @blp.arguments(NoticeListArgs, location="query")
    @blp.response(200, NoticeListSchema)
    @blp.doc(**operation("legal"))
    def get(self, args: dict, org: str, change_id: int):
        """List who was notified of a change (legal key).

        Legal staff see every customer notified of the change, when and how (e-mail,
        webhook), what they were asked and what they answered.
        """
        organization = load_organization(org)
        change = changes.get_change(organization, change_id)
        stmt = select(Notice).where(Notice.change_id == change.id).order_by(Notice.id)
        items, total = paginate(stmt, args["page"], args["per_page"])
        presented = [present_notice(organization, n, with_deliveries=True) for n in items]
        return page_body(presented, total, args["page"], args["per_page"])
