"""The processor's record (GDPR Art. 30(2)), the DPA annexes and the privacy-policy section.

Nothing here is stored: each is derived from the register on a date, with the same rules as
the rest of the service. The list that applies to a customer is
`customers.subprocessors.customer_list`; whether a location is a transfer is
`compliance.rules.transfer_places`; the words for a mechanism are the public page's.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from service import reference
from service.audit import digests
from service.compliance import rules
from service.customers.models import Customer, CustomerAgreement
from service.customers.services import effective_terms
from service.customers.subprocessors import customer_list
from service.errors import Conflict
from service.extensions import db
from service.organizations.models import Organization
from service.public.services import country_label, place
from service.public.texts import TEXTS as PUBLIC_TEXTS
from service.recipients import services as recipients
from service.recipients.models import Recipient
from service.records.texts import TEXTS

SUBPROCESSOR = "subprocessor"
CONTROLLER_ROLES = ("independent_controller", "joint_controller")
# Annex III of the 2021/914 clauses lists the sub-processors of a processor importer.
ANNEX_III_MODULE = 3


def unique(values) -> list:
    """The values in their first order, each once."""
    return list(dict.fromkeys(v for v in values if v))


def processor(org: Organization) -> dict:
    """The processor's own contact details, its DPO's and its representative's (Art. 30(2)(a))."""
    return {
        "name": org.legal_name,
        "address": org.address,
        "country": org.country,
        "contact_email": org.contact_email,
        "legal_contact_email": org.legal_contact_email,
        "dpo": {"name": org.dpo_name, "email": org.dpo_email},
        "representative": {"name": org.representative_name, "email": org.representative_email},
    }


# --- places and safeguards --------------------------------------------------------------------


def safeguard(location: dict, places: list[reference.Place], day: date) -> str:
    """The instrument a transfer rests on, named as the reference data names it."""
    mechanism = location["mechanism"]
    if mechanism == "scc":
        clauses = reference.scc_instrument(day, location.get("scc_signed_on"))
        text = clauses["decision"]
        if location.get("scc_module"):
            text += f", Module {location['scc_module']}"
        if location.get("scc_signed_on"):
            text += f", signed {location['scc_signed_on'].isoformat()}"
        return text
    if mechanism == "dpf":
        framework = reference.us_framework_on(day)
        return framework["decision"] if framework else ""
    if mechanism == "adequacy":
        decisions = [reference.adequacy_on(p, day) for p in places]
        return location.get("adequacy_reference") or "; ".join(
            d["decision"] for d in decisions if d
        )
    if mechanism == "derogation":
        ground = reference.derogation_grounds().get(location.get("derogation_ground"), {})
        return f"{ground.get('article', '')}: {ground.get('title', '')}".strip(": ")
    return place(location, "en").detail


def transfers(recipient: Recipient, day: date, lang: str = "en") -> list[dict]:
    """Each location of `recipient` on `day` through which data leaves the EEA."""
    revision = recipients.revision_on(recipient, day)
    found = []
    for loc in revision.locations:
        location = recipients.location_dict(loc)
        places = rules.transfer_places(revision.country, location, day)
        if not places:
            continue
        shown = place(location, lang)
        found.append(
            {
                "recipient_id": recipient.id,
                "recipient": recipient.name,
                "legal_entity": recipient.legal_entity,
                "importer_country": revision.country,
                "location": shown.where,
                "third_countries": [
                    country_label(p.country) if p.country else p.organisation for p in places
                ],
                "activity": shown.activity,
                "mechanism": location["mechanism"],
                "mechanism_label": shown.mechanism,
                "scc_module": location.get("scc_module"),
                "safeguard": safeguard(location, places, day),
                "tia_reference": recipient.tia_reference,
            }
        )
    return found


def _locations(recipient: Recipient, day: date, lang: str) -> list[dict]:
    shown = []
    for loc in recipients.revision_on(recipient, day).locations:
        location = recipients.location_dict(loc)
        where = place(location, lang)
        shown.append(
            {
                "country": location["country"],
                "international_organisation": location["international_organisation"],
                "where": where.where,
                "activity": where.activity,
                "mechanism": location["mechanism"],
                "mechanism_label": where.mechanism,
                "detail": where.detail,
            }
        )
    return shown


def recipient_entry(recipient: Recipient, day: date, lang: str) -> dict:
    """One recipient as the record and the annexes describe it."""
    revision = recipients.revision_on(recipient, day)
    parent = recipient.parent
    return {
        "id": recipient.id,
        "name": recipient.name,
        "legal_entity": recipient.legal_entity,
        "address": recipient.address,
        "country": revision.country,
        "country_label": country_label(revision.country),
        "website": recipient.website,
        "role": revision.role,
        "role_label": PUBLIC_TEXTS[lang]["roles"][revision.role],
        "purpose": getattr(revision, f"purpose_{lang}"),
        "data_categories": list(getattr(revision, f"data_categories_{lang}")),
        "data_subject_categories": list(revision.data_subject_categories),
        "locations": _locations(recipient, day, lang),
        "parent": {"id": parent.id, "name": parent.name} if parent is not None else None,
    }


# --- the record of processing (Art. 30(2)) ----------------------------------------------------


def customers_on(org: Organization, day: date) -> list[Customer]:
    """Customers in a relationship on `day`: the controllers the processor acts for."""
    return list(
        db.session.scalars(
            select(Customer)
            .where(
                Customer.organization_id == org.id,
                Customer.started_on <= day,
                or_(Customer.ended_on.is_(None), Customer.ended_on >= day),
            )
            .order_by(Customer.name, Customer.id)
            .options(
                selectinload(Customer.services),
                selectinload(Customer.contacts),
                selectinload(Customer.agreement).selectinload(CustomerAgreement.version),
            )
        )
    )


def controller_entry(org: Organization, customer: Customer, day: date, lang: str) -> dict:
    """What the processor does on behalf of one controller (Art. 30(2)(a)-(c))."""
    applied = customer_list(org, customer, day)
    entries = [recipient_entry(r, day, lang) for r in applied]
    services = [getattr(s, f"name_{lang}") for s in customer.services]
    return {
        "id": customer.id,
        "external_ref": customer.external_ref,
        "name": customer.name,
        "contacts": [c.email for c in customer.contacts],
        "started_on": customer.started_on,
        "ended_on": customer.ended_on,
        "services": services,
        "processing_categories": unique([*services, *(e["purpose"] for e in entries)]),
        "data_categories": unique(c for e in entries for c in e["data_categories"]),
        "data_subject_categories": unique(c for e in entries for c in e["data_subject_categories"]),
        "recipients": entries,
        "transfers": [t for r in applied for t in transfers(r, day, lang)],
    }


def record(org: Organization, day: date, lang: str = "en") -> dict:
    """The record of processing activities the processor keeps (GDPR Art. 30(2))."""
    controllers = [controller_entry(org, c, day, lang) for c in customers_on(org, day)]
    return {
        "as_of": day,
        "lang": lang,
        "processor": processor(org),
        "controllers": controllers,
        "total": len(controllers),
        "security_measures": org.security_measures,
        # The audit chain's signed head as last mailed, so the record anchors the trail too.
        "audit_digest": digests.latest(org.id),
    }


# --- annexes ----------------------------------------------------------------------------------


def _numbered(entries: list[dict]) -> list[dict]:
    return [{"number": n, **entry} for n, entry in enumerate(entries, start=1)]


def customer_annex(org: Organization, customer: Customer, day: date, lang: str) -> dict:
    """The authorised sub-processors of one customer: the DPA's annex (compare Annex IV of
    Decision 2021/915). Controllers receiving data are not sub-processors and stay out."""
    vendors = [
        r
        for r in customer_list(org, customer, day)
        if recipients.revision_on(r, day).role == SUBPROCESSOR
    ]
    t = TEXTS[lang]
    return {
        "title": t["annex_title"],
        "intro": t["annex_intro"].format(org=org.legal_name, customer=customer.name),
        "as_of": day,
        "lang": lang,
        "processor": processor(org),
        "customer": {
            "id": customer.id,
            "external_ref": customer.external_ref,
            "name": customer.name,
        },
        "authorisation": effective_terms(org, customer.agreement)["authorisation"],
        "items": _numbered([recipient_entry(r, day, lang) for r in vendors]),
        "total": len(vendors),
    }


def module3_locations(recipient: Recipient, day: date) -> list[dict]:
    return [
        recipients.location_dict(loc)
        for loc in recipients.revision_on(recipient, day).locations
        if loc.mechanism == "scc" and loc.scc_module == ANNEX_III_MODULE
    ]


def scc_annex_iii(org: Organization, importer: Recipient, day: date, lang: str) -> dict:
    """Annex III of the 2021/914 clauses signed with a processor importer (Module 3): the
    sub-processors it engages, i.e. its children in the register, with their locations."""
    clauses = module3_locations(importer, day)
    if not clauses:
        raise Conflict(
            f"{importer.name} has no processing location under SCC Module 3 on {day}: "
            "Annex III belongs to the clauses signed with a processor importer."
        )
    children = [
        r
        for r in recipients.all_listed(org, day)
        if r.parent_id == importer.id and r.id != importer.id
    ]
    t = TEXTS[lang]
    return {
        "title": t["annex_iii_title"],
        "intro": t["annex_iii_intro"].format(importer=importer.legal_entity),
        "as_of": day,
        "lang": lang,
        "processor": processor(org),
        "importer": recipient_entry(importer, day, lang),
        "clauses": [
            {
                "where": place(location, lang).where,
                "scc_module": location["scc_module"],
                "scc_signed_on": location["scc_signed_on"],
                "scc_clause9_option": location["scc_clause9_option"],
                "scc_clause9_notice_days": location["scc_clause9_notice_days"],
            }
            for location in clauses
        ],
        "items": _numbered([recipient_entry(r, day, lang) for r in children]),
        "total": len(children),
    }


# --- the privacy-policy section ---------------------------------------------------------------


def policy_section(org: Organization, day: date, lang: str) -> dict:
    """The 'recipients / trusted partners' section of a privacy policy, from the register:
    processors (Art. 28) apart from the controllers that receive data, each with its
    purpose, entity, country and, for a transfer outside the EEA, its safeguard in words."""
    t = TEXTS[lang]
    groups: dict[str, list[dict]] = {"processors": [], "controllers": []}
    for recipient in recipients.all_listed(org, day):
        entry = recipient_entry(recipient, day, lang)
        entry["transfers"] = [
            {"where": ", ".join(x["third_countries"]), "safeguard": x["mechanism_label"]}
            for x in transfers(recipient, day, lang)
        ]
        group = "processors" if entry["role"] == SUBPROCESSOR else "controllers"
        groups[group].append(entry)
    any_transfer = any(e["transfers"] for group in groups.values() for e in group)
    return {
        "org": org.legal_name,
        "as_of": day,
        "lang": lang,
        "t": t,
        "heading": t["policy_heading"],
        "groups": [
            {
                "key": key,
                "heading": t[f"{key}_heading"],
                "intro": t[f"{key}_intro"],
                "items": items,
            }
            for key, items in groups.items()
            if items
        ],
        "transfers_note": t["transfers_note"] if any_transfer else t["no_transfers"],
    }
