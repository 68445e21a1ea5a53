"""The compliance report of an organization on a date, and reminders of coming expiries.

The report is computed when it is read, from the register and the reference data in use at
that moment: nothing is stored, so replacing a reference file (the DPF falls, a decision is
renewed) changes the next report at once, and a past `as_of` is judged by the law of its day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload

from service import clock, reference
from service.agreements.models import AgreementAcceptance
from service.audit import services as audit
from service.audit.models import AuditEvent
from service.changes.models import Change, Notice
from service.compliance import rules
from service.compliance.items import item as report_item
from service.compliance.items import subject
from service.controller.compliance import controller_items, dpf_relying
from service.customers.models import Customer
from service.customers.services import join_terms, terms_sql
from service.extensions import db
from service.objections.models import Objection
from service.organizations.models import Organization
from service.outbox import services as outbox
from service.outbox.models import OutboxItem
from service.recipients import services as recipients
from service.recipients.assessments import FIELDS as RECORDED_ASSESSMENT_FIELDS
from service.recipients.models import Recipient, RecipientRevision, TransferAssessment

# An assessment as the rules judge it: what legal staff recorded, and the place as assessed.
ASSESSMENT_FIELDS = ("id", *RECORDED_ASSESSMENT_FIELDS, "location")
# Urgent changes stay in the report this long after they took effect.
URGENT_LOOKBACK_DAYS = 90
REMINDER_ACTION = "compliance.expiry_reminder"
# The agreement gap names this many customers; the acceptance status lists them all.
AGREEMENT_REFS_SHOWN = 20


def _day(value: object) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


# The vendor's due-diligence fields the rules read, beside its material data.
FACT_FIELDS = (
    "sub_dpa_signed_on",
    "tia_completed_on",
    "dpf_certified_until",
    "dpf_certified_from",
    "dpf_checked_on",
    "dpf_scope",
    "dpf_certified_entity",
    "next_review_on",
    "parent_company",
    "parent_company_country",
)


def assessment_dict(assessment: TransferAssessment) -> dict:
    return {name: getattr(assessment, name) for name in ASSESSMENT_FIELDS}


def _facts(
    recipient: Recipient | object,
    material: dict,
    parent_role: str | None,
    assessments: list[dict],
) -> rules.Vendor:
    return rules.Vendor(
        name=recipient.name,
        country=material["country"],
        role=material["role"],
        parent_role=parent_role,
        locations=tuple(material["locations"]),
        **{name: getattr(recipient, name) for name in FACT_FIELDS},
        # Stored as JSON, so expiry dates come back as ISO strings.
        certifications=tuple(
            {**cert, "expires_on": _day(cert.get("expires_on"))}
            for cert in recipient.certifications or []
        ),
        special_categories=tuple(recipient.special_categories or ()),
        assessments=tuple(assessments),
    )


def vendor_facts(recipient: Recipient, day: date, *, seen_on: date | None = None) -> rules.Vendor:
    """The plain data the rules judge: `recipient` as it stands on `day`, or as its revision
    of `seen_on` (the one that still applies to a customer whose consent is pending)."""
    revision = recipients.revision_on(recipient, seen_on or day)
    parent = recipient.parent
    material = {
        "country": revision.country,
        "role": revision.role,
        "locations": [recipients.location_dict(loc) for loc in revision.locations],
    }
    parent_role = recipients.revision_on(parent, day).role if parent is not None else None
    return _facts(
        recipient, material, parent_role, [assessment_dict(a) for a in recipient.assessments]
    )


def facts_of_presented(org: Organization, items: list[dict], day: date) -> dict[int, rules.Vendor]:
    """`vendor_facts` for presented vendors (`recipients.present_listed`), in two queries:
    the due-diligence columns and the assessments of those vendors."""
    if not items:
        return {}
    chosen = _presented_vendors(org, [item["id"] for item in items])
    columns = [getattr(Recipient, n) for n in ("id", "name", "certifications", *FACT_FIELDS)]
    rows = {
        row.id: row
        for row in db.session.execute(select(*columns, Recipient.special_categories).where(chosen))
    }
    assessments: dict[int, list[dict]] = {}
    for assessment in db.session.scalars(
        select(TransferAssessment)
        .join(Recipient, Recipient.id == TransferAssessment.recipient_id)
        .where(chosen)
        .order_by(TransferAssessment.assessed_on, TransferAssessment.id)
    ):
        assessments.setdefault(assessment.recipient_id, []).append(assessment_dict(assessment))
    roles = {item["id"]: item["role"] for item in items}
    return {
        item["id"]: _facts(
            rows[item["id"]],
            item,
            _parent_role(item["parent_id"], roles, day),
            assessments.get(item["id"], []),
        )
        for item in items
    }


# Up to this many vendors are named (a page of the list: 50); more are read as the whole
# organization (the CSV, the record), as binding 10,000 ids cost ~500 of 700 ms. Reading the
# whole organization for a page of 50 read every vendor and assessment on every page: at
# 10,000 vendors, a page of the as_of list through gunicorn took 198 ms (median, quiet
# machine), and 17.7 ms with the page's vendors named.
_NAMED_AT_MOST = 1000


def _presented_vendors(org: Organization, ids: list[int]):
    if len(ids) <= _NAMED_AT_MOST:
        return Recipient.id.in_(ids)
    return Recipient.organization_id == org.id


def _parent_role(parent_id: int | None, roles: dict[int, str], day: date) -> str | None:
    if parent_id is None:
        return None
    if parent_id in roles:
        return roles[parent_id]
    return recipients.revision_on(db.session.get(Recipient, parent_id), day).role


def statuses(vendor: rules.Vendor, day: date) -> list[rules.TransferStatus]:
    """Each location of `vendor` on `day` with what may be said of its transfer."""
    return [rules.transfer_status(vendor, location, day) for location in vendor.locations]


def owed_notice_days(org: Organization, day: date) -> int:
    """The longest notice the organization owes a customer on `day`.

    The same fallback as customers.services.effective_terms (negotiated override, else the
    accepted version's default, else the organization's), in one query for any number of
    customers. With no customer yet, the organization's default is what the next one gets.
    """
    longest = db.session.scalar(
        join_terms(select(func.max(terms_sql(org)["notice_days"])).select_from(Customer)).where(
            Customer.organization_id == org.id,
            Customer.started_on <= day,
            or_(Customer.ended_on.is_(None), Customer.ended_on >= day),
        )
    )
    return org.default_notice_days if longest is None else longest


def _recipients_judged(org: Organization, day: date, today: date) -> list[Recipient]:
    """Those on the list on `day`; for today or later also those proposed or announced,
    whose gaps are best closed before they join."""
    in_scope = recipients.listed_on(day)
    if day >= today:
        in_scope = or_(in_scope, Recipient.listed_from.is_(None), Recipient.listed_from > day)
    stmt = (
        select(Recipient)
        .where(Recipient.organization_id == org.id, in_scope)
        .order_by(Recipient.name, Recipient.id)
        .options(
            selectinload(Recipient.revisions).selectinload(RecipientRevision.locations),
            selectinload(Recipient.parent).selectinload(Recipient.revisions),
            selectinload(Recipient.assessments),
        )
    )
    return list(db.session.scalars(stmt).unique())


def _recipient_ref(recipient: Recipient, day: date) -> dict:
    return {
        "id": recipient.id,
        "name": recipient.name,
        "status": recipients.status_on(recipient, day),
    }


def _item(
    finding: rules.Finding,
    recipient: dict | None,
    change: dict | None = None,
    customer: Customer | None = None,
) -> dict:
    return report_item(
        finding,
        recipient=recipient,
        change=change,
        customer=(
            {"id": customer.id, "external_ref": customer.external_ref, "name": customer.name}
            if customer is not None
            else None
        ),
    )


def _change_ref(change: Change) -> dict:
    return {"id": change.id, "kind": change.kind, "effective_on": change.effective_on}


def _notice_items(org: Organization, day: date) -> list[dict]:
    """Notices of announced changes not delivered by the end of `day`, one item per change."""
    end = clock.start_of_day(day + timedelta(days=1), org.timezone)
    counts = db.session.execute(
        select(Notice.change_id, func.count(Notice.id))
        .join(Change, Change.id == Notice.change_id)
        .where(
            Change.organization_id == org.id,
            or_(Change.status == "announced", Change.withdrawn_at >= end),
            Notice.created_at < end,
            or_(Notice.delivered_at.is_(None), Notice.delivered_at >= end),
            or_(Notice.withdrawn_at.is_(None), Notice.withdrawn_at >= end),
        )
        .group_by(Notice.change_id)
    ).all()
    counts = dict(counts)
    # Announcements whose fan-out has not written all notices yet (workers down, or the
    # row failing): their customers are not notified either, whatever the count so far.
    for change_id in _unfinished_fanouts(org, end):
        counts.setdefault(change_id, None)
    if not counts:
        return []
    changes = {
        c.id: c
        for c in db.session.scalars(
            select(Change)
            .where(Change.id.in_(list(counts)))
            .options(selectinload(Change.recipient).selectinload(Recipient.revisions))
        )
    }
    items = []
    for change_id, count in counts.items():
        change = changes[change_id]
        if change.status != "announced" and change.withdrawn_at < end:
            continue  # withdrawn by then: nothing is owed
        in_effect = change.effective_on <= day
        how_many = (
            f"{count} notice(s)"
            if count is not None
            else "The notices (still being written by the fan-out)"
        )
        finding = rules.Finding(
            "error" if in_effect else "warning",
            "notice.undelivered",
            f"{how_many} of the {change.kind} of {change.recipient.name} effective "
            f"{change.effective_on} were not delivered"
            + (": the change applies to those customers without notice." if in_effect else "."),
            "Check the customers' contact addresses and deliver the notice again; a notice "
            "that bounced is no notice, and its period runs only from delivery.",
        )
        items.append(_item(finding, _recipient_ref(change.recipient, day), _change_ref(change)))
    return items


def _unfinished_fanouts(org: Organization, end: datetime) -> list[int]:
    """Changes announced before `end` whose notices the fan-out worker has not all written."""
    rows = db.session.scalars(
        select(OutboxItem.payload).where(
            OutboxItem.organization_id == org.id,
            OutboxItem.topic == "change.announced",
            OutboxItem.status != "done",
            OutboxItem.created_at < end,
        )
    ).all()
    return [p["change_id"] for p in rows if p.get("write_notices")]


def _urgent_items(org: Organization, day: date) -> list[dict]:
    """Urgent changes announced by `day`, not in effect yet or in effect for under 90 days:
    a warning while a customer may still object post hoc (a post-hoc notice undelivered,
    or its window open at the end of `day`), information afterwards."""
    end = clock.start_of_day(day + timedelta(days=1), org.timezone)
    changes = db.session.scalars(
        select(Change)
        .where(
            Change.organization_id == org.id,
            Change.urgent.is_(True),
            Change.status == "announced",
            Change.announced_at < end,
            Change.effective_on >= day - timedelta(days=URGENT_LOOKBACK_DAYS),
        )
        .order_by(Change.effective_on, Change.id)
        .options(selectinload(Change.recipient).selectinload(Recipient.revisions))
    ).all()
    window_open = _post_hoc_windows_open(end, [c.id for c in changes])
    items = []
    for change in changes:
        open_ = change.id in window_open
        finding = rules.Finding(
            "warning" if open_ else "info",
            "notice.urgent_change",
            f"The {change.kind} of {change.recipient.name} effective {change.effective_on} was "
            f"announced as urgent, with shortened notice: {change.urgent_justification}"
            + (" Customers may still object after it applies (post-hoc window)." if open_ else ""),
            "Keep the justification on file and resolve post-hoc objections at once; a "
            "customer with specific authorisation must still consent before it applies to it.",
        )
        items.append(_item(finding, _recipient_ref(change.recipient, day), _change_ref(change)))
    return items


def _post_hoc_windows_open(end: datetime, change_ids: list[int]) -> set[int]:
    """Of `change_ids`, those with a post-hoc notice still open to objection at `end`."""
    if not change_ids:
        return set()
    open_ = or_(Notice.objection_deadline.is_(None), Notice.objection_deadline > end)
    return set(
        db.session.scalars(
            select(Notice.change_id).where(
                Notice.change_id.in_(change_ids),
                Notice.post_hoc.is_(True),
                Notice.withdrawn_at.is_(None),
                or_(Notice.delivered_at.is_(None), open_),
            )
        )
    )


def _objection_items(org: Organization, day: date) -> list[dict]:
    """An error per objection still open on `day` to a change in effect by then: the vendor
    is kept off that customer's data (Decision 2021/915 clause 7.7) until it is resolved."""
    end = clock.start_of_day(day + timedelta(days=1), org.timezone)
    rows = db.session.scalars(
        select(Objection)
        .join(Change, Change.id == Objection.change_id)
        .where(
            Objection.organization_id == org.id,
            Objection.kind == "objection",
            Objection.filed_at < end,
            or_(Objection.status == "open", Objection.resolved_at >= end),
            Objection.status != "void",
            Change.status == "announced",
            Change.effective_on <= day,
        )
        .order_by(Change.effective_on, Objection.id)
    ).all()
    items = []
    for objection in rows:
        change = objection.change
        finding = rules.Finding(
            "error",
            "objection.open_in_effect",
            f"{objection.customer.name} objected to the {change.kind} of {change.recipient.name} "
            f"(effective {change.effective_on}); until the objection is resolved the vendor "
            "must not process that customer's data.",
            f"Resolve it (POST .../objections/{objection.id}/resolution): uphold it by the "
            "customer's remedy, reject it where its agreement allows, or agree an alternative.",
        )
        ref = _recipient_ref(change.recipient, day)
        items.append(_item(finding, ref, _change_ref(change), objection.customer))
    return items


def _short_notice_items(org: Organization, day: date) -> list[dict]:
    """A warning per customer whose notice was delivered too late for the effective date,
    while the change does not apply to it yet: the day it does (`due_on`)."""
    from service.notices import services as notices  # notices imports compliance rules

    items = []
    for held in notices.delivered_short(org, day):
        change, customer = held.change, held.notice.customer
        applies = held.standing.applies_from
        finding = rules.Finding(
            "warning",
            "notice.delivered_short",
            f"The notice of the {change.kind} of {change.recipient.name} effective "
            f"{change.effective_on} reached {customer.name} only on "
            f"{clock.local_today(org.timezone, held.notice.delivered_at)}: it applies to that "
            f"customer from {applies}, after its {held.notice.notice_days} days' notice.",
            "Keep the vendor off that customer's data until then; the customer's list, annex "
            "and record already show it so.",
            due_on=applies,
        )
        items.append(
            _item(finding, _recipient_ref(change.recipient, day), _change_ref(change), customer)
        )
    return items


def _agreement_items(org: Organization, day: date) -> list[dict]:
    """Customers in a relationship on `day` that had not accepted the agreement version in
    force that day (its effective date passed): one item listing them."""
    from service.agreements.services import in_force  # the agreements package imports us

    version = in_force(org, day)
    if version is None:
        return []
    end = clock.start_of_day(day + timedelta(days=1), org.timezone)
    accepted = (
        select(AgreementAcceptance.id)
        .where(
            AgreementAcceptance.customer_id == Customer.id,
            AgreementAcceptance.version == version.label,
            AgreementAcceptance.accepted_at < end,
        )
        .exists()
    )
    refs = db.session.scalars(
        select(Customer.external_ref)
        .where(
            Customer.organization_id == org.id,
            Customer.started_on <= day,
            or_(Customer.ended_on.is_(None), Customer.ended_on >= day),
            ~accepted,
        )
        .order_by(Customer.external_ref)
    ).all()
    if not refs:
        return []
    shown = ", ".join(refs[:AGREEMENT_REFS_SHOWN])
    if len(refs) > AGREEMENT_REFS_SHOWN:
        shown += ", ..."
    finding = rules.Finding(
        "warning",
        "agreement.not_accepted",
        f"{len(refs)} customer(s) had not accepted agreement version {version.label}, in "
        f"effect since {version.first.effective_on}: {shown}.",
        f"Follow up with them (GET .../agreements/{version.label}/acceptances?accepted=false): "
        "until they accept, the terms of the version they accepted still apply to them.",
        due_on=version.first.effective_on,
    )
    return [_item(finding, None)]


def _special_category_items(org: Organization, day: date) -> list[dict]:
    """Customers that entrust special categories (Art. 9): a processor whose core activity is
    processing them on a large scale must designate a DPO (Art. 37(1)(c))."""
    if org.dpo_name or org.dpo_email:
        return []
    entrusting = [
        customer.external_ref
        for customer in db.session.scalars(
            select(Customer)
            .where(
                Customer.organization_id == org.id,
                Customer.started_on <= day,
                or_(Customer.ended_on.is_(None), Customer.ended_on >= day),
            )
            .order_by(Customer.external_ref)
        )
        if customer.special_categories
    ]
    if not entrusting:
        return []
    finding = rules.Finding(
        "warning",
        "processing.special_categories_dpo",
        f"{len(entrusting)} customer(s) entrust special categories of data (Art. 9): "
        f"{', '.join(entrusting[:AGREEMENT_REFS_SHOWN])}. No data protection officer is "
        "recorded for the organization.",
        "Assess and document whether the processing of special categories is a core activity "
        "on a large scale (Art. 37(1)(c) GDPR; WP243 rev.01): if so, designate a DPO and "
        "record dpo_name and dpo_email; if not, keep the assessment on file.",
    )
    return [_item(finding, None)]


def risk_notes(org: Organization, day: date) -> list[dict]:
    """The instruments relied on by a vendor judged on `day` that a court case puts at risk
    (the DPF: T-553/23 upheld it, the appeal C-703/25 P is pending)."""
    today = clock.local_today(org.timezone)
    relying = [
        recipient.name
        for recipient in _recipients_judged(org, day, today)
        if any(status.relies_on_dpf for status in statuses(vendor_facts(recipient, day), day))
    ]
    # The organization's own recipients rely on it too (one name once, whatever the register).
    relying += [name for name in dpf_relying(org, day) if name not in relying]
    if not relying:
        return []
    decision = reference.dpf_decision()
    return [
        {
            "instrument": decision["id"],
            "decision": decision["decision"],
            "cases": reference.litigation(decision),
            "recipients": relying,
        }
    ]


def _order(item: dict) -> tuple:
    about = subject(item)
    location = item["location"] or {}
    return (
        rules.SEVERITIES.index(item["severity"]),
        (about.get("name") or "").casefold(),
        item["context"],
        about.get("id") or 0,
        item["rule"],
        location.get("country") or location.get("international_organisation") or "",
    )


def compliance_items(org: Organization, day: date, *, within_days: int) -> list[dict]:
    """Every gap of `org` on `day`, errors first: in the customers' data it processes and in
    its own processing as a controller (`service.controller.compliance`)."""
    today = clock.local_today(org.timezone)
    owed = owed_notice_days(org, day)
    items = []
    for recipient in _recipients_judged(org, day, today):
        findings = rules.check_vendor(
            vendor_facts(recipient, day),
            day,
            policy=org.residency_policy,
            owed_notice_days=owed,
            within_days=within_days,
        )
        ref = _recipient_ref(recipient, day)
        items += [_item(finding, ref) for finding in findings]
    items += _special_category_items(org, day)
    items += _notice_items(org, day)
    items += _urgent_items(org, day)
    items += _objection_items(org, day)
    items += _short_notice_items(org, day)
    items += _agreement_items(org, day)
    items += controller_items(org, day, within_days=within_days)
    return sorted(items, key=_order)


def matches(
    item: dict,
    *,
    severity: str | None = None,
    rule: str | None = None,
    context: str | None = None,
) -> bool:
    """`rule` names one rule or a family: 'transfer' matches 'transfer.no_mechanism';
    `context` one register (customers' data, or the organization's own as controller)."""
    if severity is not None and item["severity"] != severity:
        return False
    if context is not None and item["context"] != context:
        return False
    return rule is None or item["rule"] == rule or item["rule"].startswith(rule + ".")


def compliance_report(
    org: Organization,
    day: date,
    *,
    within_days: int,
    severity: str | None = None,
    rule: str | None = None,
    context: str | None = None,
) -> dict:
    items = [
        item
        for item in compliance_items(org, day, within_days=within_days)
        if matches(item, severity=severity, rule=rule, context=context)
    ]
    return {
        "as_of": day,
        "residency_policy": org.residency_policy,
        "summary": {s: sum(1 for i in items if i["severity"] == s) for s in rules.SEVERITIES},
        "total": len(items),
        "items": items,
        "risks": risk_notes(org, day),
        "reference_data": reference.retrieved_on(),
    }


# --- reminders -------------------------------------------------------------------------------


def _expiries(recipient: Recipient, today: date, horizon: date) -> list[tuple[str, str, date]]:
    """(item key, what, due date) of everything of `recipient` expiring in [today, horizon]."""
    found = [
        (f"certification:{cert['name']}", cert["name"], _day(cert.get("expires_on")))
        for cert in recipient.certifications or []
    ]
    found.append(("dpf_certification", "DPF certification", recipient.dpf_certified_until))
    found.append(("review", "review", recipient.next_review_on))
    return [(key, what, due) for key, what, due in found if due and today <= due <= horizon]


def record_expiry_reminders(within_days: int, *, actor: str = "system:reminders") -> int:
    """Record one audit event per certification, DPF certification or review of a vendor
    still in use that expires within `within_days`; never twice for one item and date."""
    recorded = 0
    for org in db.session.scalars(select(Organization).order_by(Organization.id)):
        today = clock.local_today(org.timezone)
        horizon = today + timedelta(days=within_days)
        vendors = db.session.scalars(
            select(Recipient)
            .where(
                Recipient.organization_id == org.id,
                or_(Recipient.listed_until.is_(None), Recipient.listed_until > today),
            )
            .order_by(Recipient.id)
        ).all()
        due = [(r, *expiry) for r in vendors for expiry in _expiries(r, today, horizon)]
        if not due:
            continue
        # Serialise runs per organization, so two workers cannot both record one reminder.
        db.session.execute(
            select(Organization.id).where(Organization.id == org.id).with_for_update()
        )
        done = {
            (event.entity_id, (event.after or {}).get("item"), (event.after or {}).get("due_on"))
            for event in db.session.scalars(
                select(AuditEvent).where(
                    and_(
                        AuditEvent.organization_id == org.id,
                        AuditEvent.entity_type == "recipient",
                        AuditEvent.entity_id.in_({str(r.id) for r, *_ in due}),
                        AuditEvent.action == REMINDER_ACTION,
                    )
                )
            )
        }
        for recipient, key, what, due_on in due:
            if (str(recipient.id), key, due_on.isoformat()) in done:
                continue
            audit.record(
                org.id,
                actor,
                REMINDER_ACTION,
                "recipient",
                recipient.id,
                after={
                    "item": key,
                    "vendor": recipient.name,
                    "what": what,
                    "due_on": due_on,
                    "days_left": (due_on - today).days,
                },
            )
            # The reminder reaches legal staff by e-mail, through the outbox like any alert.
            alert = {
                "kind": "expiry_reminder",
                "vendor": recipient.name,
                "what": what,
                "due_on": due_on.isoformat(),
                "days_left": (due_on - today).days,
            }
            outbox.enqueue("alert.legal", alert, org.id)
            recorded += 1
    return recorded
