"""The application's one clock: every "now" and "today" in the service is read here.

Nothing else calls `datetime.now()`, `date.today()` or `time.time()` for a date a person or a
rule depends on, so a frozen clock (time-machine in tests, faketime for a whole process tree)
reaches the API, the Celery tasks and every timestamp written to the database alike. SQL never
asks the database server for the time (no `now()` or `CURRENT_DATE` in queries or column
defaults): the server may run on another clock than the application, and all rules compare
against values this module produced.

Calendar dates that decide something (effective dates, objection deadlines, reminders,
retention) are the organization's local dates, never the UTC date: at 00:30 in Warsaw on
1 January it is still 31 December in UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def now() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return datetime.now(UTC)


def local_today(timezone: str, moment: datetime | None = None) -> date:
    """The calendar date in `timezone` at `moment` (default: now)."""
    return (moment or now()).astimezone(ZoneInfo(timezone)).date()


def local_date_of(moment: datetime, timezone: str) -> date:
    """The date a person in `timezone` saw at `moment` (a template filter)."""
    return local_today(timezone, moment)


def local_moment(moment: datetime, timezone: str) -> str:
    """`moment` as a person in `timezone` reads it, with the zone named: 2026-12-05 14:30 CET."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M %Z")


def start_of_day(day: date, timezone: str) -> datetime:
    """Midnight at the start of `day` in `timezone`, as an aware UTC datetime."""
    return datetime.combine(day, datetime.min.time(), ZoneInfo(timezone)).astimezone(UTC)


def timestamp() -> float:
    """Seconds since the epoch of the same clock (for signed headers and rate windows)."""
    return now().timestamp()
