"""Which retention rule governs the registry's own records of ended customer relationships.

The organization is the controller of those records (its customers' contacts, the notices
and their proof of delivery, objections): their time limit for erasure is part of its
Art. 30(1)(f) record. The processing activity that covers them (`covers_customer_records`)
states it: `retention_years` + `retention_extra_years` counted from `retention_from`. When
no activity in use does, the organization's own `retention_years` / `retention_from` apply,
as before activities were recorded. The purge can count only from the end of the
relationship or of its year: an activity counting from another start cannot be applied,
and then nothing is purged (deleting by the fallback could contradict the rule legal staff
meant) until it is corrected; the compliance report names it. The date arithmetic itself
is `service.retention.rules`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from service.controller.facts import activities_on
from service.controller.models import ProcessingActivity
from service.organizations.models import Organization
from service.retention.rules import deletion_due_on

# The starts the purge can count from: those of an ended relationship.
PURGE_STARTS = ("end_of_relationship", "end_of_year")
ACTIVITY, ORGANIZATION, NONE = "activity", "organization", "none"


@dataclass(frozen=True)
class RecordsRule:
    """The period the purge applies (`years` None: records are kept), and its source."""

    years: int | None
    retention_from: str | None
    source: str
    activity: ProcessingActivity | None = None
    # Why the covering activity's rule cannot be applied (then `years` is None).
    problem: str | None = None

    def due_on(self, ended_on: date | None) -> date | None:
        """The first day the records of a relationship that ended on `ended_on` may go."""
        if self.years is None:
            return None
        return deletion_due_on(ended_on, self.years, self.retention_from)

    def present(self) -> dict:
        activity = self.activity
        return {
            "source": self.source,
            "activity": activity_ref(activity) if activity is not None else None,
            "retention_years": self.years,
            "retention_from": self.retention_from,
            "problem": self.problem,
        }


def activity_ref(activity: ProcessingActivity) -> dict:
    return {
        "id": activity.id,
        "key": activity.key,
        "name": activity.name_en or activity.name_pl or activity.key,
    }


def _problem(activity: ProcessingActivity) -> str | None:
    if activity.retention_from in PURGE_STARTS:
        return None
    if activity.retention_years is None and activity.retention_from is None:
        return None  # no period at all: not a rule, the fallback applies
    start = activity.retention_from or "no start"
    return (
        f"The activity '{activity.key}' covers customer records but counts its period from "
        f"{start}; the records of an ended relationship can be counted only from "
        f"{' or '.join(PURGE_STARTS)}."
    )


def _total(activity: ProcessingActivity) -> tuple[int, bool]:
    """Orders rules by how long they keep records: whole years decide, and counting from
    the end of the year keeps less than a year longer than counting from the last day."""
    years = activity.retention_years + (activity.retention_extra_years or 0)
    return years, activity.retention_from == "end_of_year"


def records_rule(org: Organization, day: date) -> RecordsRule:
    """The rule for ended customer relationships that holds on `day`."""
    covering = [a for a in activities_on(org, day) if a.covers_customer_records]
    for activity in covering:
        problem = _problem(activity)
        if problem is not None:
            return RecordsRule(None, activity.retention_from, ACTIVITY, activity, problem)
    ruled = [a for a in covering if a.retention_years is not None]
    if ruled:
        # Several activities keep the same records (tax, claims): the longest one binds,
        # since deleting earlier would breach the legal obligation behind it.
        activity = max(ruled, key=_total)
        return RecordsRule(_total(activity)[0], activity.retention_from, ACTIVITY, activity)
    if org.retention_years is not None:
        return RecordsRule(org.retention_years, org.retention_from, ORGANIZATION)
    return RecordsRule(None, org.retention_from, NONE)
