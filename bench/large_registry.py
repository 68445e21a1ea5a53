"""Targets 6 and 7: the as_of list, the diff and the CSV with many vendors and audit
events, then the same vendors with a history of many versions.

    .venv/bin/python bench/large_registry.py [--vendors 10000] [--events 1000000]
        [--requests 20] [--versions 1000] [--only csv]

Seeds by bulk SQL (vendors copied from the demo with their revisions and locations; audit
events by INSERT ... SELECT generate_series), serves with gunicorn in production settings,
and times sequential requests: a page of 50 of the as_of list, a diff between two dates
(a page of 50 of each of its lists, and, for reference, the whole 15 MB answer), and the
full list as CSV (the public file and the API export). Prints EXPLAIN (ANALYZE, BUFFERS)
of the queries behind the page and the diff. Then (unless `--versions 0`) it gives the
vendors the past a history import of that many versions writes (`common.add_history`:
revisions with validity windows, renames, earlier listing periods) and times a page of the
as_of list at dates across it and pages of the diff between them.
Writes bench/results/large_registry.json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from datetime import date, timedelta
from pathlib import Path

from common import (
    add_audit_events,
    add_history,
    bench_database,
    clone_vendors,
    fetch,
    median,
    p95,
    start_ours,
)

OUT = Path(__file__).resolve().parent / "results"


def timed(url: str, n: int) -> dict:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        status, _, body = fetch(url)
        times.append((time.perf_counter() - started) * 1000)
        assert status == 200, (status, body[:300])
    return {
        "n": n,
        "median_ms": median(times),
        "p95_ms": p95(times),
        "bytes": len(body),
        "times_ms": [round(t, 1) for t in times],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendors", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument(
        "--only", default="", help="run only the cases whose name contains this, e.g. csv"
    )
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    report: dict = {"args": vars(args)}
    with bench_database() as database:
        with database.connect() as conn:
            started = time.perf_counter()
            report["vendors"] = clone_vendors(conn, "bookero", args.vendors)
            add_audit_events(conn, "bookero", args.events)
            report["seed_seconds"] = time.perf_counter() - started
            report["audit_events"] = conn.execute("SELECT count(*) FROM audit_events").fetchone()[0]
        ours = start_ours(database)
        try:
            api = f"{ours.base}/api/v1/orgs/bookero/subprocessors"
            today = date.today()
            then = (today - timedelta(days=30)).isoformat()
            diff = f"{api}/diff?from=2023-06-01&to={today.isoformat()}"
            cases = {
                "as_of_page_50": f"{api}?as_of={then}&per_page=50&page=3",
                "diff_page_50": f"{diff}&per_page=50&page=3",
                "diff_month": f"{api}/diff?from={then}&to={today.isoformat()}",
                "diff_whole": diff,
                "csv_export": f"{api}/export?format=csv",
                "public_csv": f"{ours.base}/orgs/bookero/subprocessors.csv",
            }
            run_cases(report, chosen(cases, args.only), args.requests)
            if args.versions:
                with database.connect() as conn:
                    started = time.perf_counter()
                    history = add_history(conn, "bookero", args.versions)
                    report["history_seconds"] = time.perf_counter() - started
                report["history"] = {k: v for k, v in history.items() if k != "days"}
                cases = chosen(history_cases(api, history["days"]), args.only)
                run_cases(report, cases, args.requests)
        finally:
            ours.stop()
        with database.connect() as conn:
            org = conn.execute("SELECT id FROM organizations WHERE slug = 'bookero'").fetchone()[0]
            for name, sql in plans(org, then, today.isoformat()).items():
                rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql).fetchall()
                report[f"explain_{name}"] = "\n".join(row[0] for row in rows)
    (OUT / "large_registry.json").write_text(json.dumps(report, indent=2))
    for key in [k for k in report if k.startswith("explain_")]:
        print(f"--- {key}\n{report[key]}")


def chosen(cases: dict[str, str], only: str) -> dict[str, str]:
    return {name: url for name, url in cases.items() if only in name}


def run_cases(report: dict, cases: dict[str, str], requests: int) -> None:
    for name, url in cases.items():
        fetch(url)  # warm the worker and PostgreSQL's cache
        few = "csv" in name or name == "diff_whole"
        n = max(3, requests // 4) if few else requests
        report[name] = timed(url, n)
        print(f"{name}: {report[name]}", flush=True)
        (OUT / "large_registry.json").write_text(json.dumps(report, indent=2))


def history_cases(api: str, days: list[date]) -> dict[str, str]:
    """A page of 50 of the list as of a tenth, half and nine tenths through the versions and
    the last one; pages of the diff over each stretch between them, and across one version."""
    picked = [days[len(days) // 10], days[len(days) // 2], days[len(days) * 9 // 10], days[-1]]
    cases = {f"history_as_of_{d}": f"{api}?as_of={d}&per_page=50&page=3" for d in picked}
    pairs = [*itertools.pairwise(picked), (picked[0], picked[-1])]
    if len(days) > 1:
        pairs.append((days[len(days) // 2 - 1], days[len(days) // 2]))
    for since, until in pairs:
        url = f"{api}/diff?from={since}&to={until}&per_page=50"
        cases[f"history_diff_{since}_{until}"] = f"{url}&page=1"
    return cases


# The SQL SQLAlchemy sends for the page of the list (count, then the page) and for a page of
# the diff's added vendors, with the values of the run (the organization's id is known by
# then: the request loaded the organization first).
WINDOW = (
    "r.organization_id = {org} AND r.listed_from IS NOT NULL AND r.listed_from <= '{day}' "
    "AND (r.listed_until IS NULL OR r.listed_until > '{day}')"
)
REVISION = (
    "JOIN recipient_revisions v ON v.recipient_id = r.id AND (v.valid_from IS NULL OR "
    "v.valid_until IS NULL OR v.valid_from < v.valid_until) AND (v.valid_from IS NULL OR "
    "v.valid_from <= '{day}') AND (v.valid_until IS NULL OR v.valid_until > '{day}')"
)


def plans(org: int, then: str, today: str) -> dict[str, str]:
    window = WINDOW.format(org=org, day=then)
    return {
        "list_count": f"SELECT count(*) FROM recipients r WHERE {window}",
        "list_page": f"SELECT r.* FROM recipients r {REVISION.format(day=then)} WHERE {window} "
        "ORDER BY r.name, r.id LIMIT 50 OFFSET 100",
        "diff_added_page": f"SELECT r.* FROM recipients r WHERE "
        f"{WINDOW.format(org=org, day=today)} AND NOT ({WINDOW.format(org=org, day='2023-06-01')})"
        " ORDER BY r.name, r.id LIMIT 50 OFFSET 100",
    }


if __name__ == "__main__":
    main()
