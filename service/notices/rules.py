"""The rule table of docs/notices.md as pure functions: what a notice asks of a customer,
and from which day a change applies to that customer. No database, no clock.

Where they come from:
- GDPR Art. 28(2): no other processor without the controller's prior authorisation,
  specific or general; under general authorisation the controller is told of each intended
  addition or replacement and may object.
- GDPR Art. 28(3)(a) and 29: the processor acts only on the controller's documented
  instructions, so disclosing a customer's data to any recipient (a controller too) needs
  that customer's instruction: additions of controller recipients are asked like those of
  subprocessors.
- Commission Decision 2021/915 (Art. 28(7) clauses), clause 7.7(a): the notice gives the
  controller enough time to object before the engagement; an objection that is pending
  therefore keeps the vendor off the customer's data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

# Every role in the register receives customers' data within its service scope: a
# subprocessor under Art. 28(4), a controller by disclosure (Art. 28(3)(a), 29).
RECEIVING_ROLES = ("subprocessor", "independent_controller", "joint_controller")
RESPONSES = ("none", "objection", "consent")

# How a change stands for one customer on a day (`Standing.state`).
APPLIES = "applies"
NOTICE_RUNNING = "notice_running"  # delivered short: its notice period has not run yet
UNDELIVERED = "notice_undelivered"  # no delivered notice: no notice, no instruction
OBJECTED = "objected_pending"  # an open objection (clause 7.7)
AWAITING_CONSENT = "awaiting_consent"  # specific authorisation, not given yet
REFUSED = "consent_refused"
EXCLUDED = "excluded"  # an objection upheld, or an alternative accepted
WITHHELD = (NOTICE_RUNNING, UNDELIVERED, OBJECTED, AWAITING_CONSENT, REFUSED, EXCLUDED)


def asks(kind: str, authorisation: str, *, widens: bool, receives: bool = True) -> str:
    """What a notice of a `kind` change asks a customer with `authorisation`.

    `widens`: an update that adds a place, an establishment, a data category or a service.
    `receives`: whether the customer's data reaches the vendor after the change (a customer
    of a replaced vendor outside the new vendor's scope is only told the old one leaves).
    """
    if kind == "remove" or not receives:
        return "none"
    if authorisation == "specific":
        # Prior specific authorisation (Art. 28(2)): every new recipient, and every new
        # part of a known one, waits for consent; a narrowing update is information.
        return "consent" if kind in ("add", "replace") or widens else "none"
    return "objection"


def widening(before: dict, after: dict, scope_before, scope_after) -> list[str]:
    """What an update adds to what the customer authorised (material snapshots and
    effective scopes, None = every service): new places, a new establishment, new data
    or data-subject categories, new services."""
    added = []

    def places(snapshot: dict) -> set[str]:
        return {
            loc.get("country") or loc.get("international_organisation") or loc.get("region")
            for loc in snapshot["locations"]
        }

    if places(after) - places(before):
        added.append("locations")
    if after["country"] != before["country"]:
        added.append("country")
    for name in (
        "data_categories_en",
        "data_categories_pl",
        "data_subject_categories_en",
        "data_subject_categories_pl",
    ):
        if set(after[name]) - set(before[name]):
            added.append(name)
    if scope_before is not None and (scope_after is None or scope_after - scope_before):
        added.append("services")
    if after["role"] != before["role"]:
        added.append("role")
    return added


@dataclass(frozen=True)
class Facts:
    """What is stored about one customer's notice of one change."""

    kind: str
    effective_on: date
    response: str
    notice_days: int | None
    delivered_on: date | None
    answer: str | None = None  # objection, consent, refusal
    answer_status: str | None = None  # open, resolved, recorded, void
    resolution: str | None = None
    answered_on: date | None = None  # filed
    resolved_on: date | None = None


@dataclass(frozen=True)
class Standing:
    """How a change stands for one customer: `applies_from` is the first day it applies
    (None: not foreseeable yet), `state` what holds on the day asked about."""

    state: str
    applies_from: date | None


def standing(facts: Facts, day: date) -> Standing:
    """The one place that says whether a notified change applies to its customer on `day`.

    An objection counts from the day it was filed: one filed after the change took effect
    (the post-hoc window of an urgent change) takes the vendor off from then, and leaves
    the days before as they were, so history does not change under the reader.
    """
    objected = (
        facts.answer == "objection"
        and facts.answer_status in ("open", "resolved")
        and facts.answered_on <= day
    )
    start = _after_objection(facts) if objected else _applies_from(facts)
    if start is not None and start <= day:
        return Standing(APPLIES, start)
    return Standing(_why_not(facts, objected), start)


def _applies_from(f: Facts) -> date | None:
    if f.response == "none":
        return f.effective_on  # information only (removals, narrowing updates)
    if f.response == "consent":
        given = f.answer == "consent" and f.answer_status == "recorded"
        return max(f.effective_on, f.answered_on) if given else None
    if f.delivered_on is None:
        return None  # a notice that never arrived is no notice
    # The notice period runs from delivery, not from the announcement (Art. 28(2)).
    return max(f.effective_on, f.delivered_on + timedelta(days=f.notice_days or 0))


def _after_objection(f: Facts) -> date | None:
    """Rejected or withdrawn: the vendor applies from the resolution (not before the
    effective date); open, upheld or settled by an alternative: it does not."""
    if f.answer_status == "resolved" and f.resolution in ("rejected", "withdrawn"):
        return max(f.effective_on, f.resolved_on)
    return None


def _why_not(f: Facts, objected: bool) -> str:
    if f.response == "consent":
        refused = f.answer == "refusal" and f.answer_status == "recorded"
        return REFUSED if refused else AWAITING_CONSENT
    if objected:
        return OBJECTED if f.answer_status == "open" else EXCLUDED
    if f.delivered_on is None:
        return UNDELIVERED
    return NOTICE_RUNNING
