"""Target 4: the as_of list, the diff and the CSV with many vendors and audit events.

    .venv/bin/python bench/large_registry.py [--vendors 10000] [--events 1000000] [--requests 20]

Seeds by bulk SQL (vendors copied from the demo with their revisions and locations; audit
events by INSERT ... SELECT generate_series), serves with gunicorn in production settings,
and times sequential requests: a page of 50 of the as_of list, a diff between two dates,
and the full list as CSV (the public file and the API export). Prints EXPLAIN ANALYZE of
the list's main query. Writes bench/results/large_registry.json.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date, timedelta
from pathlib import Path

from common import add_audit_events, bench_database, clone_vendors, fetch, median, p95, start_ours

OUT = Path(__file__).resolve().parent / "results"


def timed(url: str, n: int) -> dict:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        status, _, body = fetch(url)
        times.append((time.perf_counter() - started) * 1000)
        assert status == 200, (status, body[:300])
    return {"n": n, "median_ms": median(times), "p95_ms": p95(times), "bytes": len(body)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vendors", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=20)
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
            cases = {
                "as_of_page_50": f"{api}?as_of={then}&per_page=50&page=3",
                "diff": f"{api}/diff?from=2023-06-01&to={today.isoformat()}",
                "csv_export": f"{api}/export?format=csv",
                "public_csv": f"{ours.base}/orgs/bookero/subprocessors.csv",
            }
            for name, url in cases.items():
                fetch(url)  # warm the worker and PostgreSQL's cache
                n = args.requests if "csv" not in name else max(3, args.requests // 4)
                report[name] = timed(url, n)
                print(f"{name}: {report[name]}", flush=True)
                (OUT / "large_registry.json").write_text(json.dumps(report, indent=2))
        finally:
            ours.stop()
        with database.connect() as conn:
            plan = conn.execute(
                "EXPLAIN (ANALYZE, BUFFERS) SELECT r.* FROM recipients r "
                "JOIN organizations o ON o.id = r.organization_id WHERE o.slug = 'bookero' "
                "AND r.listed_from <= %s AND (r.listed_until IS NULL OR r.listed_until > %s) "
                "ORDER BY r.name, r.id LIMIT 50 OFFSET 100",
                (then, then),
            ).fetchall()
            report["explain_listing_window"] = "\n".join(row[0] for row in plan)
    (OUT / "large_registry.json").write_text(json.dumps(report, indent=2))
    print(report["explain_listing_window"])


if __name__ == "__main__":
    main()
