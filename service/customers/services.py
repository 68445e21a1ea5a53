"""Customers: register, edit, upsert by external reference, and their effective terms."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, exists, func, or_, select, update
from sqlalchemy.orm import selectinload

from service import clock
from service.agreements.models import AgreementRequest, AgreementVersion
from service.audit import services as audit
from service.changes.models import Change, Notice
from service.common import MAX_ID, paginate
from service.customers.models import Customer, CustomerAgreement, CustomerContact, customer_services
from service.errors import Conflict, NotFound, ValidationFailed
from service.extensions import db
from service.organizations.models import Organization, Service
from service.organizations.services import resolve_services
from service.outbox.models import Delivery
from service.retention.policy import RecordsRule, records_rule

TERM_FIELDS = (
    "authorisation",
    "notice_days",
    "objection_days",
    "objection_remedy",
    "rejects_unjustified_objections",
    "emergency_clause",
    "emergency_notice_days",
    "post_hoc_objection_days",
)
# The controller's details in the processor's record (Art. 30(2)(a)) and its Art. 9 data.
CONTROLLER_FIELDS = (
    "address",
    "country",
    "dpo_name",
    "dpo_email",
    "representative_name",
    "representative_email",
    "special_categories",
)
# Without an agreement that says otherwise: no emergency clause (so no urgent change for
# the customer), no rejection of objections, a 14-day post-hoc window if a clause is added.
FALLBACK_TERMS = {
    "authorisation": "general",
    "objection_remedy": "exclude",
    "rejects_unjustified_objections": False,
    "emergency_clause": False,
    "emergency_notice_days": 0,
    "post_hoc_objection_days": 14,
}


def effective_terms(org: Organization, agreement: CustomerAgreement | None) -> dict:
    """Negotiated override, else the accepted version's default, else the organization's."""
    version = agreement.version if agreement else None
    org_defaults = {
        "notice_days": org.default_notice_days,
        "objection_days": org.default_objection_days,
        **FALLBACK_TERMS,
    }
    terms = {}
    for name in TERM_FIELDS:
        override = getattr(agreement, name) if agreement else None
        if override is not None:
            terms[name] = override
        elif version is not None:
            terms[name] = getattr(version, name)
        else:
            terms[name] = org_defaults[name]
    return terms


def terms_sql(org: Organization) -> dict:
    """`effective_terms` as SQL columns, for a query over customers joined by `join_terms`
    (versions always carry their own defaults, so a NULL there means no version)."""
    agreement, version = CustomerAgreement, AgreementVersion
    return {
        "authorisation": func.coalesce(
            agreement.authorisation, version.authorisation, FALLBACK_TERMS["authorisation"]
        ),
        "notice_days": func.coalesce(
            agreement.notice_days, version.notice_days, org.default_notice_days
        ),
        "objection_days": func.coalesce(
            agreement.objection_days, version.objection_days, org.default_objection_days
        ),
        **{
            name: func.coalesce(
                getattr(agreement, name), getattr(version, name), FALLBACK_TERMS[name]
            )
            for name in ("emergency_clause", "emergency_notice_days", "post_hoc_objection_days")
        },
    }


def join_terms(stmt: Select) -> Select:
    """Outer-join each customer's agreement and its version, as `terms_sql` reads them."""
    return stmt.outerjoin(
        CustomerAgreement, CustomerAgreement.customer_id == Customer.id
    ).outerjoin(AgreementVersion, AgreementVersion.id == CustomerAgreement.agreement_version_id)


def present(org: Organization, customer: Customer, rule: RecordsRule | None = None) -> dict:
    """The customer's JSON; `rule` (the retention rule of today) saves a query per customer
    when a page of them is presented."""
    rule = rule or records_rule(org, clock.local_today(org.timezone))
    agreement = customer.agreement
    return {
        "id": customer.id,
        "external_ref": customer.external_ref,
        "name": customer.name,
        "started_on": customer.started_on,
        "ended_on": customer.ended_on,
        "end_reason": customer.end_reason,
        **{name: getattr(customer, name) for name in CONTROLLER_FIELDS},
        "services": [s.slug for s in customer.services],
        "contacts": [
            {"email": c.email, "name": c.name, "locale": c.locale} for c in customer.contacts
        ],
        "agreement": {
            "agreement_version_id": agreement.agreement_version_id if agreement else None,
            "version": agreement.version.version if agreement and agreement.version else None,
            "accepted_at": agreement.accepted_at if agreement else None,
            **{name: getattr(agreement, name) if agreement else None for name in TERM_FIELDS},
            "effective": effective_terms(org, agreement),
        },
        "deletion_due_on": rule.due_on(customer.ended_on),
    }


def snapshot(customer: Customer) -> dict:
    # Services and contacts are sets: sorted, so that a new order alone is no edit.
    agreement = customer.agreement
    return {
        "external_ref": customer.external_ref,
        "name": customer.name,
        "started_on": customer.started_on,
        "ended_on": customer.ended_on,
        **{name: getattr(customer, name) for name in CONTROLLER_FIELDS},
        "services": sorted(s.slug for s in customer.services),
        "contacts": sorted([c.email, c.name, c.locale] for c in customer.contacts),
        "agreement": {
            "agreement_version_id": agreement.agreement_version_id if agreement else None,
            **{name: getattr(agreement, name) if agreement else None for name in TERM_FIELDS},
        },
    }


def _with_children() -> list:
    return [
        selectinload(Customer.services),
        selectinload(Customer.contacts),
        selectinload(Customer.agreement).selectinload(CustomerAgreement.version),
    ]


def get_customer(org: Organization, customer_id: int, *, children: bool = True) -> Customer:
    """The customer, or 404; `children=False` leaves its services, contacts and agreement to
    load when first used (three round trips a cached answer never needs)."""
    customer = db.session.scalars(
        _customer_query(org, customer_id).options(*(_with_children() if children else ()))
    ).one_or_none()
    if customer is None:
        raise NotFound("No such customer.")
    return customer


def get_customer_with_tokens(
    org: Organization, customer_id: int
) -> tuple[Customer, tuple[str, str | None] | None]:
    """`get_customer(children=False)` and the organization's list and customers tokens
    (`service.public.cache.tokens`) in one round trip, read in one snapshot."""
    from service.public.models import ListVersion

    row = db.session.execute(
        _customer_query(org, customer_id)
        .add_columns(ListVersion.token, ListVersion.customers_token)
        .outerjoin(ListVersion, ListVersion.organization_id == Customer.organization_id)
    ).one_or_none()
    if row is None:
        raise NotFound("No such customer.")
    customer, token, customers_token = row
    return customer, ((token, customers_token) if token is not None else None)


def _customer_query(org: Organization, customer_id: int):
    if not 0 < customer_id <= MAX_ID:  # from the URL: beyond `integer` it names nothing
        raise NotFound("No such customer.")
    return select(Customer).where(Customer.id == customer_id, Customer.organization_id == org.id)


def list_customers(org: Organization, args: dict, page: int, per_page: int) -> tuple[list, int]:
    stmt = select(Customer).where(Customer.organization_id == org.id)
    if args.get("external_ref"):
        stmt = stmt.where(Customer.external_ref == args["external_ref"])
    if args.get("q"):
        pattern = (
            "%" + args["q"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        )
        stmt = stmt.where(Customer.name.ilike(pattern, escape="\\"))
    if args.get("service"):
        stmt = stmt.where(
            exists().where(
                customer_services.c.customer_id == Customer.id,
                customer_services.c.service_id == Service.id,
                Service.slug == args["service"],
            )
        )
    if args.get("active") is not None:
        today = clock.local_today(org.timezone)
        still = or_(Customer.ended_on.is_(None), Customer.ended_on >= today)
        stmt = stmt.where(still if args["active"] else ~still)
    stmt = stmt.order_by(Customer.name, Customer.id).options(*_with_children())
    return paginate(stmt, page, per_page)


def _check_version(org: Organization, version_id: int | None) -> None:
    if version_id is None:
        return
    found = db.session.scalar(
        select(AgreementVersion.id).where(
            AgreementVersion.id == version_id,
            AgreementVersion.organization_id == org.id,
            AgreementVersion.published_at.is_not(None),
        )
    )
    if found is None:
        raise ValidationFailed(
            "Unknown agreement version.",
            errors={"agreement": {"agreement_version_id": ["No such version."]}},
        )


def apply_customer(
    org: Organization,
    customer: Customer,
    data: dict,
    *,
    services_by_slug: dict[str, Service] | None = None,
) -> None:
    """Write `data` onto `customer`; `services_by_slug` spares imports a query per row."""
    for name in ("external_ref", "name", "started_on", "ended_on", *CONTROLLER_FIELDS):
        if name in data:
            setattr(customer, name, data[name])
    if customer.ended_on and customer.started_on and customer.ended_on < customer.started_on:
        raise ValidationFailed(
            "The relationship ends before it starts.", errors={"ended_on": ["Before started_on."]}
        )
    if "services" in data:
        if services_by_slug is None:
            customer.services = resolve_services(org, data["services"])
        else:
            customer.services = [services_by_slug[s] for s in dict.fromkeys(data["services"])]
    if "contacts" in data:
        # Contacts are replaced as a set; keep existing rows whose address stays.
        existing = {c.email.lower(): c for c in customer.contacts}
        contacts = []
        for item in data["contacts"]:
            contact = existing.get(item["email"].lower()) or CustomerContact()
            contact.email = item["email"]
            contact.name = item.get("name") or ""
            contact.locale = item.get("locale") or "pl"
            contacts.append(contact)
        customer.contacts = contacts
    if "agreement" in data:
        terms = data["agreement"] or {}
        if services_by_slug is None:
            _check_version(org, terms.get("agreement_version_id"))
        agreement = customer.agreement or CustomerAgreement()
        for name in ("agreement_version_id", *TERM_FIELDS):
            if name in terms:
                setattr(agreement, name, terms[name])
        customer.agreement = agreement


def new_customer(org: Organization) -> Customer:
    return Customer(
        organization_id=org.id,
        started_on=clock.local_today(org.timezone),
        services=[],
        contacts=[],
    )


def create_customer(org: Organization, data: dict, *, actor: str) -> Customer:
    taken = db.session.scalar(
        select(Customer.id).where(
            Customer.organization_id == org.id, Customer.external_ref == data["external_ref"]
        )
    )
    if taken:
        raise Conflict(
            f"A customer with external_ref '{data['external_ref']}' exists.",
            errors={"external_ref": ["Taken in this organization."]},
            existing_id=taken,
        )
    customer = new_customer(org)
    apply_customer(org, customer, data)
    db.session.add(customer)
    db.session.flush()
    audit.record(
        org.id, actor, "customer.created", "customer", customer.id, after=snapshot(customer)
    )
    ask_consents_owed(org, customer)
    return customer


def ask_consents_owed(org: Organization, customer: Customer) -> int:
    """A new customer under specific authorisation owes consent to the changes announced
    before it came and taking effect after: it is asked (see notices.ask_late_customer)."""
    if effective_terms(org, customer.agreement)["authorisation"] != "specific":
        return 0
    from service.notices.services import ask_late_customer  # notices reads our terms

    return ask_late_customer(org, customer)


def edit_customer(org: Organization, customer: Customer, data: dict, *, actor: str) -> Customer:
    if "external_ref" in data and data["external_ref"] != customer.external_ref:
        taken = db.session.scalar(
            select(Customer.id).where(
                Customer.organization_id == org.id,
                Customer.external_ref == data["external_ref"],
            )
        )
        if taken:
            raise Conflict("external_ref is taken.", errors={"external_ref": ["Taken."]})
    before = snapshot(customer)
    was_ended = customer.ended_on is not None
    apply_customer(org, customer, data)
    if customer.ended_on is not None and not was_ended:
        stop_notices(customer)
    db.session.flush()
    old, new = audit.changed(before, snapshot(customer))
    if new:
        audit.record(
            org.id, actor, "customer.edited", "customer", customer.id, before=old, after=new
        )
    return customer


def stop_notices(customer: Customer) -> dict[str, int]:
    """Close the customer's open requests to accept an agreement and cancel the mail still
    waiting for it, except notices of changes that take effect while it is still there."""
    now = clock.now()
    closed = db.session.execute(
        update(AgreementRequest)
        .where(AgreementRequest.customer_id == customer.id, AgreementRequest.closed_at.is_(None))
        .values(closed_at=now, closed_because="ended")
    ).rowcount
    still_owed = (
        select(Notice.id)
        .join(Change, Change.id == Notice.change_id)
        .where(Notice.id == Delivery.notice_id, Change.effective_on <= customer.ended_on)
        .exists()
    )
    cancelled = db.session.execute(
        update(Delivery)
        .where(Delivery.customer_id == customer.id, Delivery.status == "pending", ~still_owed)
        .values(
            status="cancelled",
            lease_until=None,
            last_response=f"cancelled: the customer's relationship ends on {customer.ended_on}",
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    return {"agreement_requests_closed": closed or 0, "deliveries_cancelled": cancelled or 0}


def offboard_customer(
    org: Organization, customer: Customer, ended_on: date, reason: str, *, actor: str
) -> dict[str, int]:
    """End the relationship on `ended_on` (its last day): retention runs from it, and from
    now on the customer gets no agreement requests, reminders or notices it no longer
    needs; mail not yet sent to it is cancelled."""
    if customer.ended_on is not None:
        raise Conflict(
            f"The relationship already ends on {customer.ended_on}.",
            errors={"ended_on": ["Already set."]},
        )
    if ended_on < customer.started_on:
        raise ValidationFailed(
            "The relationship ends before it starts.", errors={"ended_on": ["Before started_on."]}
        )
    customer.ended_on, customer.end_reason = ended_on, reason
    stopped = stop_notices(customer)
    db.session.flush()
    audit.record(
        org.id, actor, "customer.offboarded", "customer", customer.id,
        before={"ended_on": None, "end_reason": None},
        after={"ended_on": ended_on, "end_reason": reason, **stopped},
    )  # fmt: skip
    return stopped


def ended(customer: Customer, today: date) -> bool:
    return customer.ended_on is not None and customer.ended_on < today
