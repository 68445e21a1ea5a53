"""The service's one clock: a frozen clock reaches the API, the tasks and what they write, and
the calendar date that decides anything is the organization's local date."""

from __future__ import annotations

import ast
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import time_machine

from service import clock
from service.changes.models import Change
from service.extensions import db
from service.notices.services import deadline
from tests.conftest import bearer
from tests.test_public import announce, api, page_url, register

ROOT = Path(__file__).resolve().parents[1]
# 23:30 on 31 December in UTC is already 00:30 on 1 January in Warsaw.
NEW_YEAR_IN_WARSAW = datetime(2027, 12, 31, 23, 30, tzinfo=UTC)

# Calls that read the wall clock; only service/clock.py may make them.
CLOCK_CALLS = {
    ("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
    ("time", "time"), ("time", "time_ns"), ("func", "now"), ("func", "current_date"),
    ("func", "current_timestamp"), ("func", "localtimestamp"), ("func", "clock_timestamp"),
}  # fmt: skip
# SQL that would ask the database server for the time (its clock is not the service's).
SERVER_CLOCK_SQL = re.compile(
    r"\b(now\(\)|current_date|current_timestamp|localtimestamp|clock_timestamp|statement_timestamp)",
    re.IGNORECASE,
)


def _sources() -> list[Path]:
    files = [*ROOT.glob("service/**/*.py"), *ROOT.glob("workers/**/*.py")]
    return [f for f in files if f.name != "clock.py" or f.parent.name != "service"]


def _owner(node: ast.expr) -> str | None:
    """`datetime` for `datetime.now`, `func` for `db.func.now` and `sa.func.now`."""
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


def _is_clock_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and (_owner(node.func.value), node.func.attr) in CLOCK_CALLS
    )


def _is_server_clock_sql(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and "SELECT" in node.value.upper()
        and SERVER_CLOCK_SQL.search(node.value) is not None
    )


def _clock_reads(path: Path) -> list[str]:
    """`line: what` for each read of the wall clock or of the database server's clock."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if _is_clock_call(node):
            found.append(f"{node.lineno}: {_owner(node.func.value)}.{node.func.attr}()")
        elif _is_server_clock_sql(node):
            found.append(f"{node.lineno}: SQL reads the server clock")
    return sorted(found)


def test_only_service_clock_reads_the_clock():
    sources = _sources()
    assert len(sources) > 100  # the scan really covers the service and the workers
    offenders = [f"{p.relative_to(ROOT)}:{hit}" for p in sources for hit in _clock_reads(p)]
    assert offenders == []


def test_tests_never_ask_the_database_server_for_the_time():
    """Tests may compute dates from today, but a value from the server's clock would escape
    a frozen or faked clock (the server keeps the real one)."""
    offenders = [
        f"{path.name}:{hit}"
        for path in ROOT.glob("tests/*.py")
        if path.name != "test_clock.py"
        for hit in _clock_reads(path)
        if "SQL" in hit or "func." in hit
    ]
    assert offenders == []


def test_the_scan_finds_a_clock_read(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from datetime import datetime\n"
        "def f():\n"
        "    return datetime.now()\n"
        "Q = 'SELECT id FROM changes WHERE effective_on <= CURRENT_DATE'\n"
        "stmt = update(Notice).values(delivered_at=db.func.now())\n"
    )
    assert _clock_reads(sample) == [
        "3: datetime.now()",
        "4: SQL reads the server clock",
        "5: func.now()",
    ]


@pytest.mark.parametrize(
    ("moment", "shown"),
    [
        (datetime(2027, 3, 28, 0, 30, tzinfo=UTC), "2027-03-28 01:30 CET"),
        (datetime(2027, 3, 28, 1, 30, tzinfo=UTC), "2027-03-28 03:30 CEST"),
        (datetime(2027, 10, 31, 0, 30, tzinfo=UTC), "2027-10-31 02:30 CEST"),
        (datetime(2027, 10, 31, 1, 30, tzinfo=UTC), "2027-10-31 02:30 CET"),
        (NEW_YEAR_IN_WARSAW, "2028-01-01 00:30 CET"),
    ],
)
@pytest.mark.usefixtures("fixed_clock")  # pure, but its dates are literals
def test_moments_are_shown_in_the_organizations_zone_named(moment, shown):
    assert clock.local_moment(moment, "Europe/Warsaw") == shown


def test_local_today_is_the_organizations_date_not_the_utc_one():
    with time_machine.travel(NEW_YEAR_IN_WARSAW, tick=False):
        assert clock.now() == NEW_YEAR_IN_WARSAW
        assert clock.local_today("UTC").isoformat() == "2027-12-31"
        assert clock.local_today("Europe/Warsaw").isoformat() == "2028-01-01"
        assert clock.start_of_day(clock.local_today("Europe/Warsaw"), "Europe/Warsaw") == (
            datetime(2027, 12, 31, 23, 0, tzinfo=UTC)
        )


def test_a_frozen_clock_reaches_the_api_pages_and_tasks(app, client, world):
    """At 00:30 on 1 January in Warsaw, a vendor added for 1 January is in force, everywhere."""
    with time_machine.travel(NEW_YEAR_IN_WARSAW, tick=False):
        org = world.org("warsaw")
        legal = bearer(world.key("legal", org))
        vendor = register(client, org, legal)
        change = announce(
            client, org, legal, kind="add", recipient_id=vendor["id"],
            effective_on="2028-01-01", reason="Hosting",
        )  # fmt: skip
        assert change["announced_at"].startswith("2027-12-31T23:30:00")

        listed = client.get(api(org, "/subprocessors")).json
        assert [item["id"] for item in listed["items"]] == [vendor["id"]]
        page = client.get(page_url(org, "?lang=en")).get_data(as_text=True)
        # The changelog dates the announcement by Warsaw's calendar.
        assert '<time datetime="2028-01-01">' in page
        assert '<time datetime="2027-12-31">' not in page

        task = app.extensions["celery"].tasks["workers.tasks.record_change_milestones"]
        assert task.apply().get()["in_effect"] == 1
        with app.app_context():
            stored = db.session.get(Change, change["id"])
            assert stored.in_effect_recorded_at == NEW_YEAR_IN_WARSAW


@pytest.mark.parametrize(
    ("delivered_at", "days", "ends"),
    [
        # 17:00 CET on 20 March; 14 days later the clocks have jumped: local midnight, CEST.
        (datetime(2027, 3, 20, 16, 0, tzinfo=UTC), 14, datetime(2027, 4, 3, 22, 0, tzinfo=UTC)),
        # 00:30 on 1 January in Warsaw is the first day's event: the count starts on the 2nd.
        (NEW_YEAR_IN_WARSAW, 7, datetime(2028, 1, 8, 23, 0, tzinfo=UTC)),
        # Back to CET in the window: the deadline is midnight in Warsaw, 23:00 UTC.
        (datetime(2027, 10, 20, 9, 0, tzinfo=UTC), 14, datetime(2027, 11, 3, 23, 0, tzinfo=UTC)),
    ],
)
@pytest.mark.usefixtures("fixed_clock")  # pure, but its dates are literals
def test_objection_windows_end_at_local_midnight_after_their_last_day(delivered_at, days, ends):
    org = SimpleNamespace(timezone="Europe/Warsaw")
    far = date(2030, 1, 1)
    assert deadline(org, delivered_at, days, far) == ends
    # Capped where the change takes effect (the start of that local day), unless post hoc.
    effective = clock.local_today("Europe/Warsaw", delivered_at) + timedelta(days=3)
    assert deadline(org, delivered_at, days, effective) == clock.start_of_day(
        effective, "Europe/Warsaw"
    )
    assert deadline(org, delivered_at, days, effective, post_hoc=True) == ends
