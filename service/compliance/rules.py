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
  controller itself (Module 1). For a top-level `independent_controller` the registry does
  not record whether the organization passes its customers' data as a processor (Module 4)
  or its own data as a controller (Module 1), so either is accepted.
- `derogation` (Art. 49) cannot carry a sub-processor, which receives data systematically:
  an error. For a controller it is a warning to document why the transfer is occasional.
- `bcr`, `code_of_conduct`, `certification`, `ad_hoc_clauses` cover any place; like `scc`
  they are Art. 46 tools and need a transfer impact assessment from 16 July 2020 unless an
  adequacy decision covers every place anyway.

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

# Every rule the report can name, with what it means. Ids are stable: clients filter on them.
RULES: dict[str, str] = {
    "transfer.no_mechanism": "A transfer outside the EEA with mechanism 'none'.",
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
    "residency.outside_policy": "A location or establishment outside the residency policy.",
    "due_diligence.sub_dpa_missing": "A sub-processor without a sub-processing agreement.",
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
    return vendor.dpf_certified_until is not None and on <= vendor.dpf_certified_until


def _party(role: str) -> str:
    return "processor" if role == "subprocessor" else "controller"


def expected_modules(role: str, parent_role: str | None) -> frozenset[int]:
    """The 2021 SCC modules that fit a recipient of `role` under a parent of `parent_role`."""
    importer = _party(role)
    if parent_role is not None:
        exporters = {_party(parent_role)}
    elif role == "joint_controller":
        exporters = {"controller"}
    elif role == "independent_controller":
        exporters = {"processor", "controller"}
    else:
        exporters = {"processor"}
    return frozenset(reference.scc_module_for(exporter, importer) for exporter in exporters)


def _summary(location: dict) -> dict:
    return {
        "country": location.get("country") or None,
        "international_organisation": location.get("international_organisation") or None,
        "mechanism": location["mechanism"],
    }


def _label(place: Place) -> str:
    if place.country:
        return f"{reference.country_name(place.country)} ({place.country})"
    return place.organisation or "?"


def _modules_text(modules: Iterable[int]) -> str:
    return " or ".join(f"Module {m}" for m in sorted(modules))


# --- refusals --------------------------------------------------------------------------------


def impossible(importer_country: str, location: dict, on: date) -> str | None:
    """Why the location's mechanism can never apply, or None when it can."""
    mechanism = location.get("mechanism")
    where = place_of(location)
    if mechanism == "dpf" and where.country != "US":
        return (
            f"The EU-US Data Privacy Framework covers processing in the United States only, "
            f"not {_label(where)}."
        )
    if mechanism == "adequacy":
        for place in transfer_places(importer_country, location, on):
            if not reference.adequacy_ever(place):
                return f"No adequacy decision covers {_label(place)}."
    return None


def refusals(material: dict, on: date) -> dict:
    """Field errors for what registration refuses (see the module docstring), keyed like
    the schema's: {"locations": {index: {"mechanism": [message]}}}."""
    errors: dict[int, dict] = {}
    for index, location in enumerate(material.get("locations") or ()):
        reason = impossible(material["country"], location, on)
        if reason is not None:
            errors[index] = {"mechanism": [reason]}
    return {"locations": errors} if errors else {}


def check_registrable(revision: object, on: date, *, under: str | None = None) -> None:
    """Raise ValidationFailed when `revision` (a RecipientRevision) records a mechanism that
    cannot apply; `under` nests the errors where the client sent them (e.g. "update")."""
    material = {
        "country": revision.country,
        "locations": [
            {
                "country": loc.country,
                "international_organisation": loc.international_organisation,
                "mechanism": loc.mechanism,
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
    modules = expected_modules(vendor.role, vendor.parent_role)
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
            framework = reference.us_framework_on(on)
            if framework is None:
                found.append(
                    Finding(
                        "error",
                        "transfer.not_covered",
                        _not_covered_detail(place, on, f"No EU-US framework was in force on {on}."),
                        f"For this period the transfer needed {_suggested_mechanism(vendor)} "
                        "with a transfer impact assessment; record them, or the gap stands.",
                        loc,
                    )
                )
            elif not certified_on(vendor, on):
                expired = vendor.dpf_certified_until
                state = (
                    f"its certification expired on {expired}"
                    if expired
                    else "no certification is recorded (dpf_certified_until)"
                )
                found.append(
                    Finding(
                        "error",
                        "transfer.dpf_not_certified",
                        f"{framework['decision']} covers only certified organisations, and "
                        f"{state}.",
                        "Check the importer on the Data Privacy Framework List and record "
                        f"dpf_certified_until, or sign {_suggested_mechanism(vendor)}.",
                        loc,
                    )
                )
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


def _check_scc(vendor: Vendor, location: dict, on: date, owed_notice_days: int | None) -> list:
    found = []
    loc = _summary(location)
    signed = location.get("scc_signed_on")
    clauses = reference.scc_instrument(on, signed)
    module = location.get("scc_module")
    expected = expected_modules(vendor.role, vendor.parent_role)
    if signed is not None and signed > on:
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
                "scc_module and scc_signed_on.",
                loc,
            )
        )
    if clauses["id"] != "scc_2021" or module is None:
        return found
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
    if vendor.role == "subprocessor":
        return [
            Finding(
                "error",
                "transfer.derogation_systematic",
                f"{article} is a derogation for occasional transfers; a sub-processor "
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
    reason = impossible(vendor.country, location, on)
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
    covered_anyway = all(
        reference.adequacy_covers(p, on, dpf_certified=certified_on(vendor, on)) for p in places
    )
    tia = vendor.tia_completed_on
    if (
        mechanism in ART46_TOOLS
        and on >= reference.tia_required_from()
        and not covered_anyway
        and (tia is None or tia > on)
    ):
        found.append(
            Finding(
                "warning",
                "transfer.tia_missing",
                f"The transfer rests on an Art. 46 tool ({mechanism}) and no transfer impact "
                f"assessment is recorded as completed by {on}.",
                "Assess the destination's law and practice (EDPB Recommendations 01/2020, "
                "Clause 14 of the SCCs) and record tia_completed_on and tia_reference.",
                loc,
            )
        )
    return found


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
    fix = (
        f"Keep the processing within {words} (another region or vendor), or change the "
        "residency policy and tell customers before it applies."
    )
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
    return found


# --- due diligence ---------------------------------------------------------------------------


def _relies_on_us_framework(vendor: Vendor) -> bool:
    return any(
        loc["mechanism"] == "dpf" or (loc["mechanism"] == "adequacy" and loc.get("country") == "US")
        for loc in vendor.locations
    )


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
