"""Transfer, residency and due-diligence rules: pure functions over plain data.

A transfer is judged per (importer, location), as DESIGN.md defines it. The importer is the
recipient, established in its revision's `country`; the places a transfer reaches are the
location when it lies outside the EEA on the date judged (an international organisation
always does) and the importer's country when that does. No place outside the EEA, no
transfer: then any mechanism, `none` included, is fine. Every place a transfer reaches must
be covered by its mechanism on that date:

- `none` covers nothing. A vendor established outside the EEA is an importer even with
  servers in Frankfurt.
- `adequacy` and `dpf` cover a place that an adequacy decision covers on that date (see
  service/reference/data/adequacy.json). The US decisions cover certified organisations
  only: `dpf` means "certified under the EU-US framework in force on the date", which
  was the Privacy Shield until 15 July 2020, nothing from Schrems II (16 July 2020) until
  the Data Privacy Framework of 10 July 2023, and the DPF since. So a list as of 2019 is
  judged with the Privacy Shield valid, one as of 2021 has a gap on every `dpf` location,
  and no new mechanism value (nor migration) is needed for the old frameworks. The
  certification is the recipient's `dpf_certified_until` (for an EEA vendor processing in
  the US through a US affiliate: that affiliate's certification); its start is not
  recorded, so a certification is taken to hold on every date up to its expiry.
- `scc` is judged by the clauses of its signing date when `scc_signed_on` is recorded, else
  by the clauses in force on the date judged: the 2010 clauses before 27 June 2021 (valid
  until 27 December 2022), the 2021/914 clauses after. Only the 2021 clauses have modules,
  and the module must fit the pair of roles: the exporter is the recipient's parent when it
  has one (a `subprocessor` parent is a processor, a controller parent a controller), else
  the organization, a processor toward its customers; the importer is a processor when its
  role is `subprocessor`, else a controller. So a subprocessor is Module 3 (Module 2 under
  a controller parent). For a top-level `joint_controller` the organization acts as a
  controller itself (Module 1). A top-level `independent_controller` is a third party: Module 1
  (Module 4 carries only data a processor returns to its own controller, see below).
- `derogation` (Art. 49) cannot carry a sub-processor, which receives data systematically:
  an error. For a controller it is a warning to document why the transfer is occasional.
- `bcr`, `code_of_conduct`, `certification`, `ad_hoc_clauses` cover any place; like `scc`
  they are Art. 46 tools and need a transfer impact assessment from 16 July 2020 unless an
  adequacy decision covers every place anyway.

Evidence per transfer (issue 17):

- SCCs name the set signed (`scc_set`: 2001/497, 2002/16, 2004/915, 2010/87, 2021/914) and its
  signing date. An old set signed after 26 September 2021 was never valid (Decision 2021/914,
  Art. 4(2)-(3)): refused. An old set signed before then held until 27 December 2022 under
  Art. 4(4), provided the processing operations stayed unchanged: the condition is noted while
  it applied. An unknown signing date is a warning, and the transfer is "unverified": named in
  internal outputs with the date missing, never in public ones.
- The DPF covers a certified US organisation as importer wherever its servers are (Decision
  2023/1795, Annex I, Section I.2): `dpf` is possible where the location or the importer's
  establishment is the US. A DPF certification counts only from its start and never before
  the decision (10 July 2023): the Privacy Shield (12 July 2016 - 15 July 2020) was another
  instrument, and a `dpf` location in those years is a gap.
- A transfer impact assessment is per (vendor, place) (`TransferAssessment`); the vendor-wide
  `tia_completed_on` of older records still counts for a place without one of its own. An
  assessment whose location no longer matches the one in force (an `update` changed it) asks
  for a review, as does a passed review date; "transfer not permitted" is a gap.
- Module 4 (processor to controller) covers data a processor returns to its own controller,
  the customer; a vendor is never that customer, so Module 4 on a vendor is refused and the
  message names the module that fits.
- A vendor receiving special categories (Art. 9) with a transfer and no assessment is an error.

Refused at registration (422) versus accepted with a gap: a request is refused only when it
records something false by construction, which no paperwork and no date can make true --
`dpf` for a place other than the United States, and `adequacy` for a place that no decision
in the reference data has ever covered (e.g. China, or an international organisation other
than the European Patent Organisation). Everything else is accepted and reported as a gap,
because it is a true record of a state that paperwork, a date or a role fixes: `none` for a
vendor whose SCCs are not signed yet (legal staff register a vendor as `proposed` while its
contract is negotiated, and the gap is what tells them to finish it), a missing or expired
certification, an adequacy decision not yet or no longer in force, an SCC module that does
not fit the roles (the roles and the parent can change through an `update` while the
location stays), a derogation on a sub-processor, a short Clause 9 notice, a missing TIA or
sub-DPA. Refusals are checked on the date the data starts to apply (today on registration
and direct edits, the effective date of an `update`).

Severities: `error` is a transfer or promise without legal footing on that date; `warning`
needs action soon or paperwork is missing; `info` is worth knowing (scoped decisions,
upcoming expiries, urgent changes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from service import reference
from service.errors import ValidationFailed
from service.reference import Place

SEVERITIES = ("error", "warning", "info")
# Art. 46 tools: they need a transfer impact assessment since Schrems II.
ART46_TOOLS = ("scc", "bcr", "code_of_conduct", "certification", "ad_hoc_clauses")
FRAMEWORK_MECHANISMS = ("adequacy", "dpf")
SCC_2021 = "2021/914"
# The findings that mean no instrument covers the transfer on the date: an output must not
# name a safeguard then (DESIGN.md: nothing published states a safeguard that is not valid).
VOIDING_RULES = frozenset(
    {
        "transfer.no_mechanism",
        "transfer.location_not_stated",
        "transfer.mechanism_impossible",
        "transfer.not_covered",
        "transfer.dpf_not_certified",
        "transfer.scc_expired",
        "transfer.scc_not_signed",
        "transfer.scc_old_set_signed_late",
        "transfer.scc_module_mismatch",
        "transfer.scc_module4_third_party",
        "transfer.derogation_systematic",
        "transfer.tia_negative",
    }
)
# What a transfer is on a date, for every output that names its safeguard.
NO_TRANSFER, VALID, UNVERIFIED, GAP = "no_transfer", "valid", "unverified", "gap"
# The DPF List shows a certification's status today; a check older than this proves little.
DPF_CHECK_MAX_AGE_DAYS = 365

# Every rule the report can name, with what it means. Ids are stable: clients filter on them.
RULES: dict[str, str] = {
    "transfer.no_mechanism": "A transfer outside the EEA with mechanism 'none'.",
    "transfer.location_not_stated": (
        "A location not stated: whether data leaves the EEA, and so what must cover it, is unknown."
    ),
    "transfer.mechanism_impossible": (
        "A mechanism that cannot apply to the place at all (refused at registration)."
    ),
    "transfer.not_covered": "No adequacy decision or EU-US framework covers the place that day.",
    "transfer.dpf_not_certified": "The US framework covers certified importers only.",
    "transfer.adequacy_scope": "The adequacy decision covers part of the place's importers.",
    "transfer.scc_expired": "SCCs under the 2010 decisions, which ended on 27 December 2022.",
    "transfer.scc_not_signed": "The SCCs were signed after the date judged.",
    "transfer.scc_module_mismatch": "The SCC module does not fit the exporter and importer roles.",
    "transfer.scc_clause9_notice_short": (
        "The vendor's Clause 9 notice is shorter than the notice owed to customers."
    ),
    "transfer.scc_clause9_period_missing": "Clause 9 option 2 without its notice period.",
    "transfer.derogation_systematic": "An Art. 49 derogation used for a sub-processor.",
    "transfer.derogation_occasional": "An Art. 49 derogation, valid only for occasional transfers.",
    "transfer.tia_missing": "An Art. 46 transfer without a transfer impact assessment.",
    "transfer.tia_missing_special_categories": (
        "Special-category data (Art. 9) sent to a third country without a transfer impact "
        "assessment."
    ),
    "transfer.tia_negative": "The transfer impact assessment found the transfer not permitted.",
    "transfer.tia_outdated": "The location changed since its transfer impact assessment.",
    "transfer.tia_review_overdue": "The review date of the transfer impact assessment passed.",
    "transfer.scc_signing_date_unknown": "SCCs recorded without their signing date.",
    "transfer.scc_old_set_signed_late": "An old SCC set signed after it could be used.",
    "transfer.scc_transition": (
        "Old SCCs relied on under Art. 4(4) of Decision 2021/914 (processing unchanged)."
    ),
    "transfer.scc_module4_third_party": (
        "SCC Module 4 used for a recipient other than the customer."
    ),
    "transfer.dpf_scope": "The DPF certification does not cover non-HR data.",
    "due_diligence.dpf_check_missing": "No date of the last check on the DPF List.",
    "due_diligence.dpf_check_stale": "The last check on the DPF List is over a year old.",
    "residency.non_eu_group": "An EU entity of a group headquartered outside the EU.",
    "processing.special_categories_dpo": (
        "Customers entrust special-category data: assess the Art. 37(1)(c) DPO question."
    ),
    "residency.outside_policy": "A location or establishment outside the residency policy.",
    "due_diligence.sub_dpa_missing": "A sub-processor without a sub-processing agreement.",
    "due_diligence.dpa_missing": (
        "A processor of the organization's own data without an Art. 28(3) contract."
    ),
    "controller.subprocessor_candidate": (
        "A recipient of the organization's own processing that runs inside the service "
        "customers use, neither registered as a subprocessor nor documented as not touching "
        "customers' data."
    ),
    "controller.joint_arrangement_missing": (
        "A joint controller without a recorded Art. 26 arrangement (date, reference, essence)."
    ),
    "retention.rule_missing": (
        "Records of customers (contacts, proof of notice) kept with no retention rule."
    ),
    "retention.activity_rule_missing": "A processing activity with no retention rule.",
    "retention.records_rule_invalid": (
        "The activity covering customer records counts its period from a start the purge of "
        "ended relationships cannot apply: nothing is purged until it is corrected."
    ),
    "due_diligence.certification_expired": "A certification past its expiry.",
    "due_diligence.certification_expiring": "A certification expiring soon.",
    "due_diligence.dpf_certification_expired": "A DPF certification past its expiry.",
    "due_diligence.dpf_certification_expiring": "A DPF certification expiring soon.",
    "due_diligence.review_overdue": "The vendor's review date has passed.",
    "due_diligence.review_due": "The vendor's review is due soon.",
    "notice.undelivered": "Notices of an announced change not delivered.",
    "notice.urgent_change": (
        "An urgent change: a warning while its post-hoc objection window is open."
    ),
    "notice.delivered_short": (
        "A notice delivered too late for the effective date: the change applies to that "
        "customer only once its notice period ran from delivery."
    ),
    "objection.open_in_effect": (
        "An open objection to a change in effect: the vendor stays off that customer's data "
        "until it is resolved."
    ),
    "agreement.not_accepted": (
        "Customers in a relationship that have not accepted the agreement version in force."
    ),
}
POLICY_WORDS = {
    "eu_only": "the EU",
    "eea_only": "the EEA",
    "eea_or_adequate": "the EEA or a place with an adequacy decision",
}


@dataclass(frozen=True)
class Vendor:
    """What the rules need of one recipient on one date."""

    name: str
    country: str
    role: str
    locations: tuple[dict, ...]
    parent_role: str | None = None
    sub_dpa_signed_on: date | None = None
    tia_completed_on: date | None = None
    dpf_certified_until: date | None = None
    certifications: tuple[dict, ...] = ()
    next_review_on: date | None = None
    dpf_certified_from: date | None = None
    dpf_checked_on: date | None = None
    dpf_scope: str | None = None
    dpf_certified_entity: str | None = None
    # Per-place transfer impact assessments, oldest first (see `assessment_for`).
    assessments: tuple[dict, ...] = ()
    special_categories: tuple[str, ...] = ()
    parent_company: str | None = None
    parent_company_country: str | None = None
    # Who exports to this recipient when it has no parent: None for the customers'-data
    # context (the organization as processor), "controller" for the organization's own
    # processing (service/controller), where a processor is Module 2 and a controller Module 1.
    exporter: str | None = None


@dataclass(frozen=True)
class Finding:
    severity: str
    rule: str
    detail: str
    fix: str
    location: dict | None = None
    due_on: date | None = None


# --- places and roles ------------------------------------------------------------------------


def place_of(location: dict) -> Place:
    return Place(
        country=location.get("country") or None,
        organisation=location.get("international_organisation") or None,
        region=location.get("region") or None,
    )


def transfer_places(importer_country: str, location: dict, on: date) -> list[Place]:
    """The places outside the EEA that data reaches at `location` (empty: no transfer)."""
    where = place_of(location)
    places = [] if where.in_eea(on) else [where]
    importer = Place(country=importer_country)
    if not importer.in_eea(on) and importer != where:
        places.append(importer)
    return places


def certified_on(vendor: Vendor, on: date) -> bool:
    """Certified under the DPF on `on`: within the certification's window, and never before
    the DPF itself (a Privacy Shield certification was another instrument)."""
    until, start = vendor.dpf_certified_until, vendor.dpf_certified_from
    if until is None or on > until or (start is not None and on < start):
        return False
    return on >= date.fromisoformat(reference.dpf_decision()["from"])


# Roles of a processor: a subprocessor of customers' data (Art. 28(4)) or a processor of the
# organization's own data (Art. 28(1), the organization as controller).
PROCESSOR_ROLES = ("subprocessor", "processor")


def _party(role: str) -> str:
    return "processor" if role in PROCESSOR_ROLES else "controller"


def expected_modules(
    role: str, parent_role: str | None, exporter: str | None = None
) -> frozenset[int]:
    """The 2021 SCC modules that fit a recipient of `role` under a parent of `parent_role`."""
    importer = _party(role)
    if parent_role is not None:
        exporters = {_party(parent_role)}
    elif exporter is not None:
        exporters = {exporter}
    elif role in ("joint_controller", "independent_controller"):
        # A third-party controller: Module 1, whoever signs it (see `module4_refusal`).
        exporters = {"controller"}
    else:
        exporters = {"processor"}
    modules = {reference.scc_module_for(exporter, importer) for exporter in exporters}
    # Module 4 carries only data a processor returns to its own controller; to a third-party
    # controller the route is Module 1, concluded by (or for) the controller of the data.
    return frozenset({1} if 4 in modules else modules)


def _summary(location: dict) -> dict:
    return {
        "country": location.get("country") or None,
        "international_organisation": location.get("international_organisation") or None,
        "region": location.get("region") or None,
        "mechanism": location["mechanism"],
    }


REGION_LABELS = {"EU": "the EU", "EEA": "the EEA", "not_stated": "a place not stated"}


def _label(place: Place) -> str:
    if place.country:
        return f"{reference.country_name(place.country)} ({place.country})"
    return place.organisation or REGION_LABELS.get(place.region or "", "?")


def _modules_text(modules: Iterable[int]) -> str:
    return " or ".join(f"Module {m}" for m in sorted(modules))


# --- refusals --------------------------------------------------------------------------------


def impossible(
    importer_country: str, location: dict, on: date, role: str | None = None
) -> str | None:
    """Why the location's mechanism can never apply, or None when it can."""
    if location.get("mechanism") == "scc":
        return _scc_impossible(location, role)
    return _place_impossible(importer_country, location, on)


def _place_impossible(importer_country: str, location: dict, on: date) -> str | None:
    mechanism = location.get("mechanism")
    where = place_of(location)
    if mechanism == "dpf" and "US" not in (where.country, importer_country):
        return (
            "The EU-US Data Privacy Framework covers a certified organisation in the United "
            f"States as importer; neither {_label(where)} nor the importer's establishment "
            f"({_label(Place(country=importer_country))}) is there."
        )
    if mechanism == "adequacy":
        for place in transfer_places(importer_country, location, on):
            if not reference.adequacy_ever(place):
                return f"No adequacy decision covers {_label(place)}."
    return None


def _scc_impossible(location: dict, role: str | None) -> str | None:
    clauses = scc_clauses(location)
    signed = location.get("scc_signed_on")
    last = clauses.get("new_contracts_until")
    if signed is not None and last and signed > date.fromisoformat(last):
        return (
            f"The clauses of {clauses['decision']} could not be signed after {last} "
            f"(Decision 2021/914, Art. 4); clauses signed on {signed} are the 2021/914 ones."
        )
    if signed is not None and signed < date.fromisoformat(clauses["from"]):
        return f"The clauses of {clauses['decision']} did not exist on {signed}."
    if location.get("scc_module") == 4:
        return module4_refusal(role)
    return None


def module4_refusal(role: str | None) -> str:
    """Why Module 4 cannot carry data to a vendor, and what can (Decision 2021/914)."""
    fits = (
        "Module 3 (processor to processor)"
        if role == "subprocessor"
        else "Module 2 (controller to processor), concluded by the organization for data it "
        "controls itself"
        if role == "processor"
        else "Module 1 (controller to controller), concluded by the customer as controller "
        "(the organization may sign on its behalf when mandated), or by the organization "
        "for data it controls itself"
    )
    return (
        "Module 4 (processor to controller) covers only data the processor returns to its own "
        "controller, the customer; it cannot carry data to a third party such as this "
        f"recipient. Use {fits}."
    )


def scc_clauses(location: dict) -> dict:
    """The SCC set a location records (older records: inferred from the signing date)."""
    signed = location.get("scc_signed_on")
    return reference.scc_instrument(signed or date.max, signed, location.get("scc_set"))


def refusals(material: dict, on: date) -> dict:
    """Field errors for what registration refuses (see the module docstring), keyed like
    the schema's: {"locations": {index: {"mechanism": [message]}}}."""
    errors: dict[int, dict] = {}
    for index, location in enumerate(material.get("locations") or ()):
        reason = impossible(material["country"], location, on, material.get("role"))
        if reason is not None:
            errors[index] = {"mechanism": [reason]}
    return {"locations": errors} if errors else {}


def check_registrable(revision: object, on: date, *, under: str | None = None) -> None:
    """Raise ValidationFailed when `revision` (a RecipientRevision) records a mechanism that
    cannot apply; `under` nests the errors where the client sent them (e.g. "update")."""
    material = {
        "country": revision.country,
        "role": revision.role,
        "locations": [
            {
                "country": loc.country,
                "international_organisation": loc.international_organisation,
                "mechanism": loc.mechanism,
                "scc_set": loc.scc_set,
                "scc_module": loc.scc_module,
                "scc_signed_on": loc.scc_signed_on,
            }
            for loc in revision.locations
        ],
    }
    errors = refusals(material, on)
    if errors:
        raise ValidationFailed(
            "A location records a transfer mechanism that cannot apply to it.",
            errors={under: errors} if under else errors,
        )


# --- transfers -------------------------------------------------------------------------------


def _suggested_mechanism(vendor: Vendor) -> str:
    modules = expected_modules(vendor.role, vendor.parent_role, vendor.exporter)
    return f"SCCs ({_modules_text(modules)} of Decision 2021/914)"


def _not_covered_detail(place: Place, on: date, lead: str | None = None) -> str:
    decisions = reference.adequacy_decisions(place)
    past = [d for d in decisions if d.get("until") and date.fromisoformat(d["until"]) < on]
    future = [d for d in decisions if date.fromisoformat(d["from"]) > on]
    text = lead or f"No adequacy decision covers {_label(place)} on {on}."
    if past:
        text += f" {past[-1]['decision']} covered it until {past[-1]['until']}."
    if future:
        text += f" {future[0]['decision']} covers it from {future[0]['from']}."
    return text


def _check_framework(vendor: Vendor, location: dict, places: list[Place], on: date) -> list:
    found = []
    loc = _summary(location)
    for place in places:
        if place.country == "US":
            found += _check_us(vendor, loc, place, on)
            continue
        decision = reference.adequacy_on(place, on)
        if decision is None:
            found.append(
                Finding(
                    "error",
                    "transfer.not_covered",
                    _not_covered_detail(place, on),
                    f"Sign {_suggested_mechanism(vendor)} with a transfer impact assessment, "
                    "or stop processing there.",
                    loc,
                )
            )
        elif decision.get("scope"):
            found.append(
                Finding(
                    "info",
                    "transfer.adequacy_scope",
                    f"{decision['decision']} is limited: {decision['scope']}",
                    "Confirm that the importer falls within the decision's scope and note it "
                    "in due_diligence_notes.",
                    loc,
                )
            )
    return found


def _check_us(vendor: Vendor, loc: dict, place: Place, on: date) -> list[Finding]:
    """A US place under `adequacy` or `dpf`: only the DPF, and only a certified importer."""
    framework = reference.us_framework_on(on)
    if framework is None or framework.get("instrument") != "dpf":
        lead = (
            f"No EU-US framework was in force on {on}."
            if framework is None
            else f"On {on} the EU-US framework was {framework['decision']}, a separate "
            "instrument: a Data Privacy Framework certification does not count for it."
        )
        return [
            Finding(
                "error",
                "transfer.not_covered",
                _not_covered_detail(place, on, lead),
                f"For this period the transfer needed {_suggested_mechanism(vendor)} "
                "with a transfer impact assessment; record them, or the gap stands.",
                loc,
            )
        ]
    if not certified_on(vendor, on):
        return [
            Finding(
                "error",
                "transfer.dpf_not_certified",
                f"{framework['decision']} covers only certified organisations, and "
                f"{_certification_state(vendor, on)}.",
                "Check the importer on the Data Privacy Framework List and record "
                f"dpf_certified_until, or sign {_suggested_mechanism(vendor)}.",
                loc,
            )
        ]
    if vendor.dpf_scope == "hr":
        return [
            Finding(
                "warning",
                "transfer.dpf_scope",
                f"The DPF certification of {vendor.name} covers HR data only; "
                + (
                    "customers' data is non-HR data unless it is about their employees."
                    if vendor.exporter is None
                    else "the organization's data is non-HR data unless it is about its "
                    "own employees."
                ),
                "Confirm the data is HR data, or ask the importer to certify for non-HR data "
                "(or sign SCCs).",
                loc,
            )
        ]
    return []


def _certification_state(vendor: Vendor, on: date) -> str:
    until, start = vendor.dpf_certified_until, vendor.dpf_certified_from
    if until is None:
        return "no certification is recorded (dpf_certified_until)"
    if on > until:
        return f"its certification expired on {until}"
    if start is not None and on < start:
        return f"its certification began only on {start}"
    return f"the DPF did not exist on {on}"


def _check_scc(vendor: Vendor, location: dict, on: date, owed_notice_days: int | None) -> list:
    loc = _summary(location)
    clauses = scc_clauses(location)
    module = location.get("scc_module")
    expected = expected_modules(vendor.role, vendor.parent_role, vendor.exporter)
    found = _scc_dates(vendor, location, clauses, on)
    if clauses["set"] != SCC_2021 or module is None:
        return found
    if module == 4:
        found.append(
            Finding(
                "error",
                "transfer.scc_module4_third_party",
                module4_refusal(vendor.role),
                f"Sign {_modules_text(expected)} of the 2021/914 clauses and record it.",
                loc,
            )
        )
        return found
    return found + _check_scc_module(vendor, location, module, expected, owed_notice_days)


def _scc_dates(vendor: Vendor, location: dict, clauses: dict, on: date) -> list[Finding]:
    """The set's window on `on`, from its signing date: not yet, expired, or in transition."""
    loc = _summary(location)
    signed = location.get("scc_signed_on")
    expected = expected_modules(vendor.role, vendor.parent_role, vendor.exporter)
    found = []
    late = _scc_impossible({**location, "scc_module": None}, vendor.role)
    if late is not None:
        found.append(
            Finding(
                "error",
                "transfer.scc_old_set_signed_late",
                late,
                f"Sign {_modules_text(expected)} of the 2021/914 clauses.",
                loc,
            )
        )
    if signed is None:
        found.append(
            Finding(
                "warning",
                "transfer.scc_signing_date_unknown",
                f"The clauses of {clauses['decision']} are recorded without their signing "
                "date: whether they covered the transfer on a date cannot be checked.",
                "Record scc_signed_on from the signed clauses.",
                loc,
            )
        )
    elif signed > on:
        found.append(
            Finding(
                "error",
                "transfer.scc_not_signed",
                f"The SCCs were signed on {signed}, after {on}: on that date nothing covered "
                "the transfer.",
                "Record the mechanism that covered the transfer before the SCCs, if any.",
                loc,
            )
        )
    until = clauses.get("until")
    if until and on > date.fromisoformat(until):
        found.append(
            Finding(
                "error",
                "transfer.scc_expired",
                f"The clauses of {clauses['decision']}"
                + (f", signed on {signed}," if signed else "")
                + f" ceased to provide appropriate safeguards after {until}.",
                f"Sign {_modules_text(expected)} of the 2021/914 clauses and record "
                "scc_set, scc_module and scc_signed_on.",
                loc,
            )
        )
    elif until and on > date.fromisoformat(clauses["new_contracts_until"]):
        found.append(
            Finding(
                "info",
                "transfer.scc_transition",
                f"The clauses of {clauses['decision']} held until {until} only provided the "
                "processing operations they cover remained unchanged (Decision 2021/914, "
                "Art. 4(4)).",
                f"Sign {_modules_text(expected)} of the 2021/914 clauses before {until}.",
                loc,
                due_on=date.fromisoformat(until),
            )
        )
    return found


def _check_scc_module(
    vendor: Vendor,
    location: dict,
    module: int,
    expected: frozenset[int],
    owed_notice_days: int | None,
) -> list[Finding]:
    loc = _summary(location)
    found = []
    modules = reference.scc_modules()
    if module not in expected:
        wanted = modules[min(expected)]
        found.append(
            Finding(
                "error",
                "transfer.scc_module_mismatch",
                f"{modules[module]['title']} does not fit this transfer: the exporter is a "
                f"{wanted['exporter']} and {vendor.name} a {wanted['importer']}, which "
                f"needs {_modules_text(expected)}.",
                f"Sign {_modules_text(expected)} of the 2021/914 clauses and record it.",
                loc,
            )
        )
    if module in reference.clause9_modules() and location.get("scc_clause9_option") == "general":
        days = location.get("scc_clause9_notice_days")
        if days is None:
            found.append(
                Finding(
                    "info",
                    "transfer.scc_clause9_period_missing",
                    "Clause 9(a) option 2 (general written authorisation) is recorded "
                    "without its notice period.",
                    "Record scc_clause9_notice_days from the signed clauses.",
                    loc,
                )
            )
        elif owed_notice_days is not None and days < owed_notice_days:
            found.append(
                Finding(
                    "warning",
                    "transfer.scc_clause9_notice_short",
                    f"{vendor.name} must announce a new sub-processor {days} days ahead "
                    f"(Clause 9(a)), but the organization owes customers up to "
                    f"{owed_notice_days} days' notice of the same change.",
                    f"Negotiate at least {owed_notice_days} days in Clause 9(a), or shorten "
                    "the notice promised to customers in the next agreement version.",
                    loc,
                )
            )
    return found


def _check_derogation(vendor: Vendor, location: dict) -> list:
    ground = location.get("derogation_ground")
    article = reference.derogation_grounds().get(ground, {}).get("article", f"Art. 49 ({ground})")
    loc = _summary(location)
    if vendor.role in PROCESSOR_ROLES:
        return [
            Finding(
                "error",
                "transfer.derogation_systematic",
                f"{article} is a derogation for occasional transfers; a processor "
                "receives data systematically, which no derogation can carry (EDPB "
                "Guidelines 2/2018).",
                f"Put {_suggested_mechanism(vendor)}, an adequacy decision or BCRs in place.",
                loc,
            )
        ]
    return [
        Finding(
            "warning",
            "transfer.derogation_occasional",
            f"{article} covers only occasional, non-repetitive transfers.",
            "Document why these transfers are occasional, or use an Art. 46 tool.",
            loc,
        )
    ]


def check_transfer(
    vendor: Vendor, location: dict, on: date, *, owed_notice_days: int | None = None
) -> list[Finding]:
    """Judge one (importer, location) pair on `on`."""
    loc = _summary(location)
    # SCC refusals come back from `_check_scc` under rules of their own.
    reason = _place_impossible(vendor.country, location, on)
    if reason is not None:
        return [
            Finding(
                "error",
                "transfer.mechanism_impossible",
                reason,
                f"Record the mechanism that really covers it, e.g. {_suggested_mechanism(vendor)}.",
                loc,
            )
        ]
    places = transfer_places(vendor.country, location, on)
    if not places:
        return []
    if location.get("region") == "not_stated":
        return [_not_stated(vendor, loc)]
    mechanism = location["mechanism"]
    if mechanism == "none":
        where = ", ".join(_label(p) for p in places)
        return [
            Finding(
                "error",
                "transfer.no_mechanism",
                f"Data reaches {vendor.name} outside the EEA ({where}) with no transfer mechanism.",
                f"Put in place and record a mechanism: an adequacy decision where one applies, "
                f"otherwise {_suggested_mechanism(vendor)} with a transfer impact assessment.",
                loc,
            )
        ]
    found: list[Finding] = []
    if mechanism in FRAMEWORK_MECHANISMS:
        found += _check_framework(vendor, location, places, on)
    elif mechanism == "scc":
        found += _check_scc(vendor, location, on, owed_notice_days)
    elif mechanism == "derogation":
        found += _check_derogation(vendor, location)
    return found + _check_tia(vendor, location, places, on)


def _not_stated(vendor: Vendor, loc: dict) -> Finding:
    return Finding(
        "error",
        "transfer.location_not_stated",
        f"The list does not state where {vendor.name} processes data: whether it leaves the "
        "EEA, and what must cover it, cannot be judged.",
        "Ask the vendor (its DPA or sub-processor list names the places) and record them "
        "through an 'update' change.",
        loc,
    )


# --- transfer impact assessments --------------------------------------------------------------


def assessment_for(vendor: Vendor, location: dict, on: date) -> dict | None:
    """The latest assessment of the vendor's transfer to the location's place made by `on`."""
    where = place_of(location)
    made = [a for a in vendor.assessments if place_of(a) == where and a["assessed_on"] <= on]
    return made[-1] if made else None


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def location_changed(assessed: dict, location: dict) -> bool:
    """Whether a detail of the location differs from the one assessed (mechanism, SCC set,
    module, signing date, activity...): a material update of it re-opens the assessment."""
    keys = set(assessed) | {k for k, v in location.items() if v not in (None, "")}
    # A presented location also carries `activity`, the API's one-language view of
    # activity_pl/activity_en, which are compared themselves.
    keys.discard("activity")
    return any(_plain(assessed.get(k)) != _plain(location.get(k)) for k in keys)


def _check_tia(vendor: Vendor, location: dict, places: list[Place], on: date) -> list[Finding]:
    """Art. 46 tools need an assessment of the destination's law (Schrems II; Clause 14)."""
    mechanism = location["mechanism"]
    certified = certified_on(vendor, on)
    if (
        mechanism not in ART46_TOOLS
        or on < reference.tia_required_from()
        or all(reference.adequacy_covers(p, on, dpf_certified=certified) for p in places)
    ):
        return []
    loc = _summary(location)
    assessment = assessment_for(vendor, location, on)
    if assessment is None:
        legacy = vendor.tia_completed_on  # vendor-wide, from before per-place assessments
        return [] if legacy is not None and legacy <= on else [_tia_missing(vendor, loc, on)]
    found = []
    if assessment["outcome"] == "transfer_not_permitted":
        found.append(
            Finding(
                "error",
                "transfer.tia_negative",
                f"The transfer impact assessment of {assessment['assessed_on']} found that "
                f"{vendor.name} cannot keep the clauses' commitments there, even with "
                "supplementary measures.",
                "Suspend the transfer (Clause 16 of the SCCs) or move the processing.",
                loc,
            )
        )
    if location_changed(assessment.get("location") or {}, location):
        found.append(
            Finding(
                "warning",
                "transfer.tia_outdated",
                f"The location changed after its transfer impact assessment of "
                f"{assessment['assessed_on']}.",
                "Review the assessment for the location as it is now and record it.",
                loc,
            )
        )
    review = assessment.get("review_on")
    if review is not None and review < on:
        found.append(
            Finding(
                "warning",
                "transfer.tia_review_overdue",
                f"The transfer impact assessment was due for review on {review}.",
                "Review it (EDPB Recommendations 01/2020, step 6) and record the new one.",
                loc,
                due_on=review,
            )
        )
    return found


def _tia_missing(vendor: Vendor, loc: dict, on: date) -> Finding:
    special = ", ".join(vendor.special_categories)
    if special:
        return Finding(
            "error",
            "transfer.tia_missing_special_categories",
            f"{vendor.name} receives special categories of data ({special}, Art. 9 GDPR) in "
            f"a third country, and no transfer impact assessment is recorded by {on}.",
            "Assess the transfer before any special-category data goes (EDPB Recommendations "
            "01/2020), with the supplementary measures such data needs, and record it.",
            loc,
        )
    return Finding(
        "warning",
        "transfer.tia_missing",
        f"The transfer rests on an Art. 46 tool ({loc['mechanism']}) and no transfer impact "
        f"assessment is recorded as completed by {on}.",
        "Assess the destination's law and practice (EDPB Recommendations 01/2020, Clause 14 "
        "of the SCCs) and record it (POST .../transfer-assessments).",
        loc,
    )


# --- what a transfer is on a date ------------------------------------------------------------


@dataclass(frozen=True)
class TransferStatus:
    """One location of one vendor on one date, as every output must state it."""

    state: str
    places: tuple[Place, ...]
    location: dict
    findings: tuple[Finding, ...]
    vendor: Vendor

    @property
    def relies_on_dpf(self) -> bool:
        mechanism = self.location["mechanism"]
        return self.state in (VALID, UNVERIFIED) and (
            mechanism == "dpf" or (mechanism == "adequacy" and Place(country="US") in self.places)
        )


def transfer_status(vendor: Vendor, location: dict, on: date) -> TransferStatus:
    """Whether data leaves the EEA at `location` on `on`, and if so whether a valid
    safeguard covers it (VALID), one is recorded without the facts to check it
    (UNVERIFIED), or none does (GAP)."""
    places = tuple(transfer_places(vendor.country, location, on))
    findings = tuple(check_transfer(vendor, location, on))
    if not places:
        state = NO_TRANSFER
    elif any(f.severity == "error" and f.rule in VOIDING_RULES for f in findings):
        state = GAP
    elif any(f.rule == "transfer.scc_signing_date_unknown" for f in findings):
        state = UNVERIFIED
    else:
        state = VALID
    return TransferStatus(state, places, location, findings, vendor)


# --- residency -------------------------------------------------------------------------------


def check_residency(policy: str, vendor: Vendor, on: date) -> list[Finding]:
    """Every recipient, controllers and sub-processors alike, against the organization's
    residency promise: its establishment and each of its locations."""
    if policy not in POLICY_WORDS:
        return []
    certified = certified_on(vendor, on)

    def allowed(place: Place) -> bool:
        if policy == "eu_only":
            return place.in_eu(on)
        if place.in_eea(on):
            return True
        return policy == "eea_or_adequate" and reference.adequacy_covers(
            place, on, dpf_certified=certified
        )

    words = POLICY_WORDS[policy]
    fix = _residency_fix(vendor, words)
    found = []
    home = Place(country=vendor.country)
    if not allowed(home):
        found.append(
            Finding(
                "error",
                "residency.outside_policy",
                f"{vendor.name} is established in {_label(home)}, outside {words}, which the "
                f"'{policy}' policy promises: whatever its servers, data reaches it there.",
                fix,
            )
        )
    for location in vendor.locations:
        place = place_of(location)
        if not allowed(place):
            found.append(
                Finding(
                    "error",
                    "residency.outside_policy",
                    f"{vendor.name} processes data in {_label(place)}, outside {words}, which "
                    f"the '{policy}' policy promises.",
                    fix,
                    _summary(location),
                )
            )
    return found + _check_group(policy, vendor, on)


def _residency_fix(vendor: Vendor, words: str) -> str:
    if vendor.role == "subprocessor":
        return (
            f"Keep the processing within {words} (another region or vendor), or change the "
            "residency policy and tell customers before it applies."
        )
    # The organization acts as a controller toward these recipients: its promise is the
    # transfer statement of its own privacy policy (Art. 13(1)(f)), not a customer term.
    return (
        f"Keep the processing within {words} (another vendor or setting), or correct the "
        "transfer statement of the privacy policy: name the third country and the safeguard "
        "(Art. 13(1)(f) GDPR)."
    )


def _check_group(policy: str, vendor: Vendor, on: date) -> list[Finding]:
    """An EU entity of a non-EU group: its parent's law may reach the data (e.g. a US
    parent under the CLOUD Act), which an "EU only" promise does not say."""
    home = vendor.parent_company_country
    if policy not in ("eu_only", "eea_only") or not home or Place(country=home).in_eea(on):
        return []
    parent = f"{vendor.parent_company or 'its parent company'} ({_label(Place(country=home))})"
    if vendor.role == "subprocessor":
        fix = (
            "Assess access by the parent's authorities in the vendor's TIA, and tell "
            "customers that the vendor belongs to a group outside the EU."
        )
    else:
        fix = (
            "Correct the transfer statement of the privacy policy: say the recipient belongs "
            f"to a group headquartered in {_label(Place(country=home))} and that access from "
            "there cannot be excluded, or choose a recipient outside such a group."
        )
    return [
        Finding(
            "warning",
            "residency.non_eu_group",
            f"{vendor.name} is an EU entity of a group headquartered outside the EU: {parent}. "
            f"The '{policy}' promise says nothing of access under that country's law.",
            fix,
        )
    ]


# --- due diligence ---------------------------------------------------------------------------


def _relies_on_us_framework(vendor: Vendor) -> bool:
    return any(
        loc["mechanism"] == "dpf" or (loc["mechanism"] == "adequacy" and loc.get("country") == "US")
        for loc in vendor.locations
    )


def _check_dpf_list(vendor: Vendor, on: date) -> list[Finding]:
    """The DPF List is the proof of certification (Decision 2023/1795, Annex I, Section
    I.3): whoever relies on it checks it, and records when."""
    if not _relies_on_us_framework(vendor) or not certified_on(vendor, on):
        return []
    checked = vendor.dpf_checked_on
    if checked is None:
        return [
            Finding(
                "info",
                "due_diligence.dpf_check_missing",
                f"No check of {vendor.name} on the Data Privacy Framework List is recorded.",
                "Check the importer's entry on the DPF List and record dpf_checked_on, "
                "dpf_certified_entity, dpf_certified_from and dpf_scope.",
            )
        ]
    if (on - checked).days > DPF_CHECK_MAX_AGE_DAYS:
        return [
            Finding(
                "warning",
                "due_diligence.dpf_check_stale",
                f"{vendor.name} was last checked on the DPF List on {checked}.",
                "Check the DPF List again (certifications are re-certified yearly) and "
                "record dpf_checked_on.",
                due_on=checked + timedelta(days=DPF_CHECK_MAX_AGE_DAYS),
            )
        ]
    return []


def check_due_diligence(vendor: Vendor, on: date, within_days: int) -> list[Finding]:
    """Sub-DPA (Art. 28(4)), certifications, DPF certification and reviews on `on`."""
    soon = on + timedelta(days=within_days)
    found = []
    signed = vendor.sub_dpa_signed_on
    if vendor.role == "subprocessor" and (signed is None or signed > on):
        chained = vendor.parent_role is not None
        found.append(
            Finding(
                "warning" if chained else "error",
                "due_diligence.sub_dpa_missing",
                f"No sub-processing agreement with {vendor.name} is recorded as signed by {on} "
                "(Art. 28(4): the same data protection obligations must bind it by contract)."
                + (
                    " It is engaged by its parent, whose contract must flow them down."
                    if chained
                    else ""
                ),
                "Sign the agreement (for a chained vendor, obtain the parent's flow-down terms) "
                "and record sub_dpa_signed_on.",
            )
        )
    if vendor.role == "processor" and (signed is None or signed > on):
        found.append(
            Finding(
                "error",
                "due_diligence.dpa_missing",
                f"No processing agreement with {vendor.name} is recorded as signed by {on} "
                "(Art. 28(3): processing by a processor is governed by a contract).",
                "Sign the agreement (or accept the vendor's data processing terms) and record "
                "dpa_signed_on.",
            )
        )
    for cert in vendor.certifications:
        expires = cert.get("expires_on")
        if expires is None:
            continue
        if expires < on:
            found.append(
                Finding(
                    "warning",
                    "due_diligence.certification_expired",
                    f"{cert['name']} of {vendor.name} expired on {expires}.",
                    "Obtain the renewed certificate and record its expiry, or remove it.",
                    due_on=expires,
                )
            )
        elif expires <= soon:
            found.append(
                Finding(
                    "info",
                    "due_diligence.certification_expiring",
                    f"{cert['name']} of {vendor.name} expires on {expires}.",
                    "Ask the vendor for the renewed certificate.",
                    due_on=expires,
                )
            )
    dpf = vendor.dpf_certified_until
    if dpf is not None and dpf < on and not _relies_on_us_framework(vendor):
        # When a location relies on it, the transfer rule already reports the expiry.
        found.append(
            Finding(
                "info",
                "due_diligence.dpf_certification_expired",
                f"The DPF certification of {vendor.name} expired on {dpf}.",
                "Check the Data Privacy Framework List and update dpf_certified_until.",
                due_on=dpf,
            )
        )
    elif dpf is not None and on <= dpf <= soon:
        found.append(
            Finding(
                "warning",
                "due_diligence.dpf_certification_expiring",
                f"The DPF certification of {vendor.name} is recorded until {dpf}; "
                "transfers resting on it stop being covered after that.",
                "Check the renewal on the Data Privacy Framework List and update "
                "dpf_certified_until, or prepare SCCs.",
                due_on=dpf,
            )
        )
    found += _check_dpf_list(vendor, on)
    review = vendor.next_review_on
    if review is not None and review < on:
        found.append(
            Finding(
                "warning",
                "due_diligence.review_overdue",
                f"The review of {vendor.name} was due on {review}.",
                "Review the vendor (contract, locations, certifications) and set next_review_on.",
                due_on=review,
            )
        )
    elif review is not None and review <= soon:
        found.append(
            Finding(
                "info",
                "due_diligence.review_due",
                f"The review of {vendor.name} is due on {review}.",
                "Plan the review.",
                due_on=review,
            )
        )
    return found


def check_vendor(
    vendor: Vendor,
    on: date,
    *,
    policy: str = "none",
    owed_notice_days: int | None = None,
    within_days: int = 60,
) -> list[Finding]:
    """Every rule about one recipient on `on`."""
    found: list[Finding] = []
    for location in vendor.locations:
        found += check_transfer(vendor, location, on, owed_notice_days=owed_notice_days)
    found += check_residency(policy, vendor, on)
    found += check_due_diligence(vendor, on, within_days)
    return found
