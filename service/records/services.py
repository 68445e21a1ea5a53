"""The processor's record (GDPR Art. 30(2)), the DPA annexes and the privacy-policy section.

Nothing here is stored: each is derived from the register on a date, with the same rules as
the rest of the service. The list that applies to a customer is
`customers.subprocessors.customer_view` (with the vendors withheld from it and why);
whether a location is a transfer is `compliance.rules.transfer_places`; the words for a
mechanism are the public page's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from service import i18n
from service.audit import digests
from service.compliance import rules, wording
from service.compliance import services as compliance
from service.customers.models import Customer, CustomerAgreement
from service.customers.services import effective_terms
from service.customers.subprocessors import (
    CustomerView,
    Entry,
    context_for,
    customer_view,
    view_from,
)
from service.errors import Conflict
from service.extensions import db
from service.notices.texts import STATES
from service.organizations.models import Organization
from service.public.services import country_label, place, recipient_places
from service.public.services import risk_note as public_risk_note
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


def processor(org: Organization, lang: str = "en") -> dict:
    """The processor's own contact details, its DPO's and its representative's (Art. 30(2)(a))."""
    return {
        "name": org.legal_name,
        "address": org.address,
        "country": org.country,
        "country_label": country_label(org.country, lang),
        "contact_email": org.contact_email,
        "legal_contact_email": org.legal_contact_email,
        "dpo": {"name": org.dpo_name, "email": org.dpo_email},
        "representative": {"name": org.representative_name, "email": org.representative_email},
    }


# --- places and safeguards --------------------------------------------------------------------


def _tia(status: rules.TransferStatus, day: date) -> dict | None:
    """The transfer impact assessment of the location in force on `day`, if any."""
    assessment = rules.assessment_for(status.vendor, status.location, day)
    if assessment is None:
        return None
    return {
        name: assessment[name]
        for name in ("assessed_on", "outcome", "supplementary_measures", "review_on", "reference")
    }


def third_countries(status: rules.TransferStatus, lang: str) -> list[str]:
    """The places outside the EEA a transfer reaches, named in `lang`."""
    return [
        i18n.place_label(
            {
                "country": p.country,
                "international_organisation": p.organisation,
                "region": p.region,
            },
            lang,
        )
        for p in status.places
    ]


def transfers(recipient: Recipient, day: date, lang: str = "en", *, public: bool = False) -> list:
    """Each location of `recipient` on `day` through which data leaves the EEA, with its
    safeguard as the compliance status lets it be stated (internal: gaps named as gaps)."""
    found = []
    for status in compliance.statuses(compliance.vendor_facts(recipient, day), day):
        if status.state == rules.NO_TRANSFER:
            continue
        shown = place(status, day, lang, public=public)
        found.append(
            {
                "recipient_id": recipient.id,
                "recipient": recipient.name,
                "legal_entity": recipient.legal_entity,
                "importer_country": status.vendor.country,
                "location": shown.where,
                "third_countries": third_countries(status, lang),
                "activity": shown.activity,
                "mechanism": status.location["mechanism"],
                "scc_set": status.location.get("scc_set"),
                "scc_module": status.location.get("scc_module"),
                "scc_signed_on": status.location.get("scc_signed_on"),
                "status": status.state,
                "safeguard": shown.mechanism,
                "findings": [f.rule for f in status.findings if f.severity != "info"],
                "risk_note": wording.risk_note(lang) if shown.dpf else "",
                "tia": _tia(status, day),
                "tia_reference": recipient.tia_reference,
            }
        )
    return found


def _locations(
    recipient: Recipient, day: date, lang: str, public: bool, seen_on: date
) -> list[dict]:
    shown = []
    facts = compliance.vendor_facts(recipient, day, seen_on=seen_on)
    for status in compliance.statuses(facts, day):
        location = status.location
        where = place(status, day, lang, public=public)
        shown.append(
            {
                "country": location["country"],
                "international_organisation": location["international_organisation"],
                "where": where.where,
                "activity": where.activity,
                "mechanism": location["mechanism"],
                "mechanism_label": where.mechanism,
                "detail": where.detail,
                "status": where.public_state if public else where.state,
                "dpf": where.dpf,
            }
        )
    return shown


def entry_of(entry: Entry, day: date, lang: str, *, public: bool) -> dict:
    """A vendor of a customer's list: as of the revision that applies to that customer, its
    safeguards judged on `day` (an older revision's safeguard may have ended since)."""
    return recipient_entry(entry.recipient, day, lang, public=public, seen_on=entry.seen_on)


def recipient_entry(
    recipient: Recipient, day: date, lang: str, *, public: bool, seen_on: date | None = None
) -> dict:
    """One recipient as the record (internal) and the annexes (`public`) describe it: its
    details as of `seen_on` (default `day`), its safeguards as they hold on `day`."""
    seen_on = seen_on or day
    revision = recipients.revision_on(recipient, seen_on)
    parent = recipient.parent
    return {
        "id": recipient.id,
        "name": recipient.name,
        "legal_entity": recipient.legal_entity,
        "address": recipient.address,
        "country": revision.country,
        "country_label": country_label(revision.country, lang),
        "website": recipient.website,
        "role": revision.role,
        "role_label": PUBLIC_TEXTS[lang]["roles"][revision.role],
        "purpose": i18n.text_in(lang, pl=revision.purpose_pl, en=revision.purpose_en),
        "data_categories": list(getattr(revision, f"data_categories_{lang}")),
        "data_subject_categories": i18n.list_in(
            lang,
            pl=revision.data_subject_categories_pl,
            en=revision.data_subject_categories_en,
        ),
        "locations": _locations(recipient, day, lang, public, seen_on),
        "parent": {"id": parent.id, "name": parent.name} if parent is not None else None,
        "special_categories": list(recipient.special_categories or ()),
        "parent_company": recipient.parent_company,
        "parent_company_country": recipient.parent_company_country,
    }


# --- the record of processing (Art. 30(2)) ----------------------------------------------------


def _in_relationship(org: Organization, day: date):
    return (
        Customer.organization_id == org.id,
        Customer.started_on <= day,
        or_(Customer.ended_on.is_(None), Customer.ended_on >= day),
    )


# What a controller's entry reads of its customer, loaded with it.
_CONTROLLER_LOADS = (
    selectinload(Customer.services),
    selectinload(Customer.contacts),
    selectinload(Customer.agreement).selectinload(CustomerAgreement.version),
)


def customers_on(org: Organization, day: date) -> list[Customer]:
    """Customers in a relationship on `day`: the controllers the processor acts for."""
    return list(
        db.session.scalars(
            select(Customer)
            .where(*_in_relationship(org, day))
            .order_by(Customer.name, Customer.id)
            .options(*_CONTROLLER_LOADS)
        )
    )


def customer_count_on(org: Organization, day: date) -> int:
    return db.session.scalar(select(func.count()).where(*_in_relationship(org, day)))


def customer_ids_on(org: Organization, day: date) -> list[int]:
    """The ids of `customers_on`, in its order: an export walks them a chunk at a time."""
    return list(
        db.session.scalars(
            select(Customer.id)
            .where(*_in_relationship(org, day))
            .order_by(Customer.name, Customer.id)
        )
    )


def customers_by_ids(ids: list[int]) -> list[Customer]:
    """Those customers in the order of `ids`, loaded as `customers_on` loads them."""
    found = {
        c.id: c
        for c in db.session.scalars(
            select(Customer).where(Customer.id.in_(ids)).options(*_CONTROLLER_LOADS)
        )
    }
    return [found[i] for i in ids if i in found]


def _remembered(memo: dict, key: tuple, make: Callable[[], object]):
    if key not in memo:
        memo[key] = make()
    return memo[key]


def controller_entries(
    org: Organization, customers: list[Customer], day: date, lang: str, memo: dict | None = None
) -> list[dict]:
    """What the processor does on behalf of each of the controllers (Art. 30(2)(a)-(c)).

    Their lists come from one context (`context_for`: the organization's list read once,
    the customers' exclusions and answers one query each), so the queries do not grow with
    the number of customers. A vendor's entry and transfers depend only on the vendor and
    the revision that applies (`seen_on`), not on the customer: `memo` keeps them across
    the customers of one record, so thousands of customers of the same few vendors judge
    each vendor once."""
    if not customers:
        return []  # no customers, nothing to read
    memo = {} if memo is None else memo
    context = context_for(org, customers, day)
    return [_controller(c, view_from(context, c), day, lang, memo) for c in customers]


def controller_entry(
    org: Organization, customer: Customer, day: date, lang: str, memo: dict | None = None
) -> dict:
    """What the processor does on behalf of one controller (`controller_entries`)."""
    return controller_entries(org, [customer], day, lang, memo)[0]


def _controller(customer: Customer, view: CustomerView, day: date, lang: str, memo: dict) -> dict:
    entries = [
        _remembered(
            memo,
            ("entry", e.recipient.id, e.seen_on),
            partial(entry_of, e, day, lang, public=False),
        )
        for e in view.applied
    ]
    services = [getattr(s, f"name_{lang}") for s in customer.services]
    return {
        "id": customer.id,
        "external_ref": customer.external_ref,
        "name": customer.name,
        "address": customer.address,
        "country": customer.country,
        "dpo": {"name": customer.dpo_name, "email": customer.dpo_email},
        "representative": {
            "name": customer.representative_name,
            "email": customer.representative_email,
        },
        "special_categories": list(customer.special_categories or ()),
        "contacts": [c.email for c in customer.contacts],
        "started_on": customer.started_on,
        "ended_on": customer.ended_on,
        "services": services,
        "processing_categories": unique([*services, *(e["purpose"] for e in entries)]),
        "data_categories": unique(c for e in entries for c in e["data_categories"]),
        "data_subject_categories": unique(c for e in entries for c in e["data_subject_categories"]),
        "recipients": entries,
        "transfers": [
            t
            for e in view.applied
            for t in _remembered(
                memo,
                ("transfers", e.recipient.id, e.seen_on),
                partial(transfers, e.recipient, e.seen_on, lang),
            )
        ],
        "withheld": withheld_entries(view, lang),
    }


def withheld_entries(
    view: CustomerView, lang: str, *, roles: tuple[str, ...] | None = None
) -> list[dict]:
    """Vendors on the list that do not process the customer's data, and why: the same words
    as its API list and the portal ("objected — pending")."""
    return [
        {
            "id": w.recipient.id,
            "name": w.recipient.name,
            "legal_entity": w.recipient.legal_entity,
            "state": w.state,
            "state_label": STATES[lang][w.state],
            "change_id": w.change_id,
            "applies_from": w.applies_from,
        }
        for w in view.withheld
        if roles is None or recipients.latest_revision(w.recipient).role in roles
    ]


def record_head(org: Organization, day: date, lang: str = "en") -> dict:
    """Everything in the record but its controllers."""
    return {
        "as_of": day,
        "lang": lang,
        "processor": processor(org, lang),
        "security_measures": org.security_measures,
        # The audit chain's signed head as last mailed, so the record anchors the trail too.
        "audit_digest": digests.latest(org.id),
    }


def record(org: Organization, day: date, lang: str = "en") -> dict:
    """The record of processing activities the processor keeps (GDPR Art. 30(2))."""
    memo: dict = {}
    controllers = controller_entries(org, customers_on(org, day), day, lang, memo)
    return {**record_head(org, day, lang), "controllers": controllers, "total": len(controllers)}


# --- annexes ----------------------------------------------------------------------------------


def _numbered(entries: list[dict]) -> list[dict]:
    return [{"number": n, **entry} for n, entry in enumerate(entries, start=1)]


def customer_annex(org: Organization, customer: Customer, day: date, lang: str) -> dict:
    """The authorised sub-processors of one customer: the DPA's annex (compare Annex IV of
    Decision 2021/915). Controllers receiving data are not sub-processors and stay out."""
    view = customer_view(org, customer, day)
    vendors = [
        e
        for e in view.applied
        if recipients.revision_on(e.recipient, e.seen_on).role == SUBPROCESSOR
    ]
    t = TEXTS[lang]
    return {
        "title": t["annex_title"],
        "intro": t["annex_intro"].format(org=org.legal_name, customer=customer.name),
        "as_of": day,
        "as_of_text": i18n.day(day, lang),
        "lang": lang,
        "processor": processor(org, lang),
        "customer": {
            "id": customer.id,
            "external_ref": customer.external_ref,
            "name": customer.name,
        },
        "authorisation": effective_terms(org, customer.agreement)["authorisation"],
        "items": _numbered([entry_of(e, day, lang, public=True) for e in vendors]),
        "total": len(vendors),
        "withheld": withheld_entries(view, lang, roles=(SUBPROCESSOR,)),
        "risk_note": _risk_note(vendors, day, lang),
    }


def _risk_note(vendors: list[Entry], day: date, lang: str) -> str:
    places = [
        p for e in vendors for p in recipient_places(e.recipient, day, lang, seen_on=e.seen_on)
    ]
    return public_risk_note(places, lang)


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
        "as_of_text": i18n.day(day, lang),
        "lang": lang,
        "processor": processor(org, lang),
        "importer": recipient_entry(importer, day, lang, public=False),
        "clauses": [
            {
                "where": i18n.place_label(location, lang),
                "scc_module": location["scc_module"],
                "scc_signed_on": location["scc_signed_on"],
                "scc_signed_on_text": i18n.day(location["scc_signed_on"], lang)
                if location["scc_signed_on"]
                else "",
                "scc_clause9_option": location["scc_clause9_option"],
                "scc_clause9_notice_days": location["scc_clause9_notice_days"],
            }
            for location in clauses
        ],
        "items": _numbered([recipient_entry(r, day, lang, public=False) for r in children]),
        "total": len(children),
    }


# --- the privacy-policy section ---------------------------------------------------------------


def _transfers_note(t: dict, entries: list[dict]) -> str:
    """The closing sentence on transfers, said only where it is known to be true: about the
    recipients listed, never about the organization as a whole (it may transfer its own
    data as a controller: service/controller/policy.py), and not at all for an empty list
    or a recipient whose places are not recorded."""
    if any(entry["transfers"] for entry in entries):
        return t["transfers_note"]
    if entries and all(entry["locations"] for entry in entries):
        return t["no_transfers"]
    return ""


def policy_section(org: Organization, day: date, lang: str) -> dict:
    """The 'recipients / trusted partners' section of a privacy policy, from the register:
    processors (Art. 28) apart from the controllers that receive data, each with its
    purpose, entity, country and, for a transfer outside the EEA, its safeguard in words."""
    t = TEXTS[lang]
    groups: dict[str, list[dict]] = {"processors": [], "controllers": []}
    for recipient in recipients.all_listed(org, day):
        entry = recipient_entry(recipient, day, lang, public=True)
        entry["transfers"] = [
            {"where": ", ".join(x["third_countries"]), "safeguard": x["safeguard"]}
            for x in transfers(recipient, day, lang, public=True)
        ]
        group = "processors" if entry["role"] == SUBPROCESSOR else "controllers"
        groups[group].append(entry)
    return {
        "org": org.legal_name,
        "as_of": day,
        "as_of_text": i18n.day(day, lang),
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
        "transfers_note": _transfers_note(t, [e for group in groups.values() for e in group]),
        "risk_note": public_risk_note(
            [p for r in recipients.all_listed(org, day) for p in recipient_places(r, day, lang)],
            lang,
        ),
    }
