"""When the records of an ended customer relationship are due for deletion: pure date rules.

The organization keeps them `retention_years` counted from `retention_from`: the last day of
the relationship, or the last day of the calendar year in which it ended. A period of years
ends on the day that corresponds to its start (Art. 112 of the Polish Civil Code), and the
records are deleted on the first day after it: 6+1 years from the end of 2024 keeps them
through 31 December 2031 and deletes them on 1 January 2032.
"""

from __future__ import annotations

from datetime import date, timedelta


def add_years(day: date, years: int) -> date:
    """The same calendar day `years` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def retention_start(ended_on: date, retention_from: str) -> date:
    if retention_from == "end_of_year":
        return date(ended_on.year, 12, 31)
    return ended_on


def deletion_due_on(
    ended_on: date | None, retention_years: int | None, retention_from: str
) -> date | None:
    """The first day on which the records may be deleted; None while the relationship goes
    on or while the organization has set no retention period."""
    if ended_on is None or retention_years is None:
        return None
    return add_years(retention_start(ended_on, retention_from), retention_years) + timedelta(days=1)
