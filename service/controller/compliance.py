"""The compliance findings of the organization's own processing as a controller.

They join the report of `service.compliance.services` with `context: "controller"`: the
recipients of its own data judged by the same transfer, residency and due-diligence rules
(the organization exporting as controller), the Art. 26 arrangement of joint controllers,
vendors inside the service customers use that may reach customers' data unannounced, and
the Art. 30(1)(f) time limits for erasure of its activities and of its records of
customers.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from service.compliance import rules
from service.compliance.items import CONTROLLER, item
from service.controller import facts, retention
from service.controller.models import ControllerRecipient, ProcessingActivity
from service.customers.models import Customer
from service.extensions import db
from service.organizations.models import Organization
from service.recipients import services as recipients
from service.recipients.models import Recipient
from service.retention.policy import NONE, activity_ref, records_rule


def recipient_ref(recipient: ControllerRecipient) -> dict:
    return {"id": recipient.id, "name": recipient.name, "role": recipient.role}


def controller_items(org: Organization, day: date, *, within_days: int) -> list[dict]:
    """Every gap of the organization's own processing on `day`, as report items."""
    found = []
    for recipient in facts.recipients_on(org, day):
        findings = rules.check_vendor(
            facts.vendor_facts(recipient),
            day,
            policy=org.residency_policy,
            within_days=within_days,
        )
        findings += _joint_arrangement(recipient, day)
        findings += _subprocessor_candidate(org, recipient, day)
        ref = recipient_ref(recipient)
        found += [item(f, context=CONTROLLER, controller_recipient=ref) for f in findings]
    for activity in facts.activities_on(org, day):
        if not retention.has_rule(activity):
            finding = _activity_rule_missing(activity)
            found.append(item(finding, context=CONTROLLER, activity=activity_ref(activity)))
    found += _records_items(org, day)
    return found


def dpf_relying(org: Organization, day: date) -> list[str]:
    """Names of the recipients of the organization's own data whose transfer rests on the
    EU-US Data Privacy Framework on `day` (for the report's risk note)."""
    return [
        recipient.name
        for recipient in facts.recipients_on(org, day)
        if any(status.relies_on_dpf for status in facts.statuses(recipient, day))
    ]


# --- recipients ------------------------------------------------------------------------------


def _joint_arrangement(recipient: ControllerRecipient, day: date) -> list[rules.Finding]:
    """Art. 26(1): joint controllers determine their responsibilities in an arrangement;
    Art. 26(2): its essence is made available to the data subject, so in both languages
    the privacy policy is published in."""
    if recipient.role != "joint_controller":
        return []
    missing = []
    signed = recipient.joint_arrangement_on
    if signed is None or signed > day:
        missing.append(f"its date (on or before {day})")
    if not (recipient.joint_arrangement_reference or "").strip():
        missing.append("its reference")
    for lang in ("pl", "en"):
        if not getattr(recipient, f"joint_arrangement_essence_{lang}").strip():
            missing.append(f"its essence ({lang})")
    if not missing:
        return []
    return [
        rules.Finding(
            "warning",
            "controller.joint_arrangement_missing",
            f"{recipient.name} is a joint controller, and the arrangement determining each "
            f"one's responsibilities (Art. 26(1) GDPR) lacks {', '.join(missing)}.",
            "Conclude the arrangement and record joint_arrangement_on and "
            "joint_arrangement_reference, and its essence in both languages "
            "(joint_arrangement_essence_pl/_en): Art. 26(2) makes it available to the data "
            "subjects through the privacy policy.",
        )
    ]


def _listed_subprocessor(
    org: Organization, recipient: ControllerRecipient, day: date
) -> tuple[Recipient | None, bool]:
    """The linked subprocessor of the organization, and whether it is listed on `day`."""
    if recipient.subprocessor_id is None:
        return None, False
    linked = db.session.get(Recipient, recipient.subprocessor_id)
    if linked is None or linked.organization_id != org.id:
        return None, False
    return linked, recipients.period_on(linked, day) is not None


def _statement_recorded(recipient: ControllerRecipient, day: date) -> bool:
    said = (recipient.customer_data_statement_pl + recipient.customer_data_statement_en).strip()
    on = recipient.customer_data_statement_on
    return bool(said) and on is not None and on <= day


def _subprocessor_candidate(
    org: Organization, recipient: ControllerRecipient, day: date
) -> list[rules.Finding]:
    """A script inside the service customers use may reach their clients' data: engaging a
    processor for them needs their authorisation, and their chance to object, before it
    does (Art. 28(2)), under a contract binding it like the organization (Art. 28(4))."""
    if not recipient.in_product:
        return []
    linked, listed = _listed_subprocessor(org, recipient, day)
    if listed or _statement_recorded(recipient, day):
        return []
    status = (
        f" It is linked to the subprocessor {linked.name}, which is not on the list on {day} "
        f"({recipients.status_on(linked, day)})."
        if linked is not None
        else ""
    )
    return [
        rules.Finding(
            "warning",
            "controller.subprocessor_candidate",
            f"{recipient.name} runs inside the service customers use, so it may reach their "
            "clients' data: customers must be told of a new subprocessor before it does "
            "(Art. 28(2) and (4) GDPR). It is neither a listed subprocessor nor documented "
            f"as not touching customers' data by {day}." + status,
            "Register it as a subprocessor, announce it to customers and link it "
            "(subprocessor_id); or, if it cannot reach customers' data, record why "
            "(customer_data_statement_pl/_en) and since when (customer_data_statement_on).",
        )
    ]


# --- retention -------------------------------------------------------------------------------


def _activity_rule_missing(activity: ProcessingActivity) -> rules.Finding:
    return rules.Finding(
        "warning",
        "retention.activity_rule_missing",
        f"The processing activity '{activity.key}' states no time limit for erasure: data "
        "may be kept no longer than its purposes need (Art. 5(1)(e) GDPR), and the record "
        "of processing activities states the limit (Art. 30(1)(f)); the privacy policy "
        "tells the data subjects (Art. 13(2)(a)).",
        "Record retention_years (with retention_extra_years and retention_from) and its "
        "basis, or a retention note for what years cannot say.",
    )


def _has_customers(org: Organization) -> bool:
    return db.session.scalar(
        select(select(Customer.id).where(Customer.organization_id == org.id).exists())
    )


def _records_items(org: Organization, day: date) -> list[dict]:
    """The registry's own records of customers (contacts, notices and their proof of
    delivery) are the organization's data as controller: they need a time limit too."""
    rule = records_rule(org, day)
    if rule.problem is not None:
        finding = rules.Finding(
            "warning",
            "retention.records_rule_invalid",
            rule.problem + " Until that is corrected nothing is purged: the records are kept.",
            "Set the activity's retention_from to end_of_relationship or end_of_year (the "
            "records of a relationship are counted from its end), or stop it covering customer "
            "records (covers_customer_records).",
        )
        return [item(finding, context=CONTROLLER, activity=activity_ref(rule.activity))]
    if rule.source != NONE or not _has_customers(org):
        return []
    finding = rules.Finding(
        "warning",
        "retention.rule_missing",
        "The registry keeps the records of customers (their contacts, notices and proof of "
        "delivery) and no retention rule applies to them: those of ended relationships are "
        "kept forever, against storage limitation (Art. 5(1)(e) GDPR), and the record of "
        "processing activities states no time limit for erasure (Art. 30(1)(f)).",
        "Give the processing activity that covers customer records (covers_customer_records) "
        "a period (retention_years, retention_extra_years, retention_from), or set the "
        "organization's retention_years and retention_from.",
    )
    return [item(finding, context=CONTROLLER)]
