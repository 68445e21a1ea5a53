"""The announcement's own cost, in process: SQL statements and milliseconds per
POST /changes through Flask's test client, with a cProfile and, on request, the plan of
every statement (no server, no worker: the lead's benchmark is bench/announce.py).

    .venv/bin/python bench/announce_profile.py [--customers 100000] [--announcements 20]
                                               [--keep] [--database NAME] [--explain]

Builds a throwaway database as bench/announce.py does (`--customers` copies of bookero's
first customer, `--announcements` proposed vendors unscoped so that each addition concerns
everyone). `--keep` leaves it with spare vendors; `--database NAME` announces the next
unannounced ones of a kept database, so two versions of the code are measured on the same
data. Delivery stays paused: tasks go to the Redis database of TEST_REDIS_URL, and the
queue is emptied afterwards.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import time

import redis
from announce import announce_body, reach_everyone
from common import (
    ADMIN_URL,
    REDIS_URL,
    BenchDatabase,
    clone_customers,
    clone_vendors,
    median,
    p95,
    proposed_vendor_ids,
)
from sqlalchemy import event


def existing(name: str) -> BenchDatabase:
    database = BenchDatabase()
    database.name = name
    database.url = ADMIN_URL.rpartition("/")[0] + "/" + name
    return database


def legal_key(database: BenchDatabase) -> str:
    """The demo legal key: kept in the database's note when the database is reused."""
    if database.keys:
        return database.keys["BOOKERO_LEGAL_KEY"]
    return database.scalar("SELECT value FROM bench_note WHERE name = 'legal_key'")


def fresh(customers: int, vendors: int) -> BenchDatabase:
    database = BenchDatabase().create()
    with database.connect() as conn:
        clone_customers(conn, "bookero", customers)
        clone_vendors(conn, "bookero", vendors, listed=False, tag="p")
        reach_everyone(conn, proposed_vendor_ids(conn, "bookero"))
        conn.execute("CREATE TABLE bench_note (name text PRIMARY KEY, value text)")
        conn.execute(
            "INSERT INTO bench_note VALUES ('legal_key', %s)",
            (database.keys["BOOKERO_LEGAL_KEY"],),
        )
        conn.execute("CHECKPOINT")
    return database


def unannounced(database: BenchDatabase) -> list[int]:
    with database.connect() as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT r.id FROM recipients r JOIN organizations o ON o.id = r.organization_id "
                "WHERE o.slug = 'bookero' AND r.listed_from IS NULL AND r.parent_id IS NULL "
                "ORDER BY r.id"
            )
        ]


def explain_all(engine, statements: list[tuple[str, object]]) -> str:
    """EXPLAIN ANALYZE of each captured statement, in a transaction rolled back."""
    out = []
    with engine.connect() as conn:
        for sql, params in statements:
            head = sql.split()[0].upper()
            if head not in ("SELECT", "INSERT", "UPDATE", "DELETE"):
                continue
            trans = conn.begin()
            try:
                cursor = conn.connection.cursor()
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                plan = "\n".join(r[0] for r in cursor.fetchall())
                out.append(f"--- {' '.join(sql.split())[:300]}\n{plan}")
            except Exception as error:  # a statement that needs the request's own rows
                out.append(f"--- {' '.join(sql.split())[:300]}\n(not explained: {error})")
            finally:
                trans.rollback()
    return "\n".join(out)


def run(
    database: BenchDatabase, announcements: int, explain: bool, profiled: bool, dump: str | None
) -> dict:
    from service import create_app
    from service.extensions import db

    app = create_app()
    client = app.test_client()
    token = legal_key(database)
    vendors = unannounced(database)[:announcements]
    assert len(vendors) == announcements, "too few vendors left: build a new database"
    counts, times, cpu, captured = [], [], [], []

    def count(_conn, _cursor, statement, parameters, _context, _many) -> None:
        counts[-1] += 1
        captured.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    profile = cProfile.Profile()
    for n, vendor in enumerate(vendors):
        counts.append(0)
        captured.clear()
        started, used = time.perf_counter(), time.process_time()
        if n and profiled:  # the first call warms the caches and the pool; profile the rest
            profile.enable()
        response = client.post(
            "/api/v1/orgs/bookero/changes",
            json=announce_body(vendor),
            headers={"Authorization": f"Bearer {token}"},
        )
        profile.disable()
        times.append((time.perf_counter() - started) * 1000)
        # This process's CPU alone: what the machine's load does not inflate as much.
        cpu.append((time.process_time() - used) * 1000)
        assert response.status_code == 201, response.get_data(as_text=True)[:1000]
    event.remove(engine, "before_cursor_execute", count)
    plans = ""
    if explain:
        with app.app_context():
            plans = explain_all(db.engine, list(captured))
    text = io.StringIO()
    if profiled:
        stats = pstats.Stats(profile, stream=text)
        if dump:
            stats.dump_stats(dump)
        stats.sort_stats("cumulative").print_stats(40)
    redis.Redis.from_url(REDIS_URL).delete("celery")  # the paused tasks: ours only
    return {
        "announcements": len(times),
        "statements_per_post": counts,
        "statements_last_post": [" ".join(s.split())[:160] for s, _ in captured],
        "median_ms": round(median(times), 1),
        "p95_ms": round(p95(times), 1),
        "times_ms": [round(t, 1) for t in times],
        "cpu_median_ms": round(median(cpu[1:] or cpu), 1),
        "profile": text.getvalue(),
        "plans": plans,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--announcements", type=int, default=20)
    parser.add_argument("--vendors", type=int, default=60, help="proposed vendors to create")
    parser.add_argument("--database", help="reuse this database (kept by --keep)")
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the last POST")
    parser.add_argument("--profile", action="store_true", help="print the cProfile")
    parser.add_argument("--dump", help="write the cProfile's stats to this file")
    args = parser.parse_args()
    database = existing(args.database) if args.database else fresh(args.customers, args.vendors)
    os.environ.update({**database.env(), "REDIS_URL": REDIS_URL, "DPA_LOG_LEVEL": "WARNING"})
    try:
        report = run(
            database, args.announcements, args.explain, args.profile or bool(args.dump), args.dump
        )
    finally:
        if not args.database and not args.keep:
            database.drop()
    if args.profile:
        print(report["profile"])
    if args.explain:
        print(report["plans"])
    print({k: v for k, v in report.items() if k not in ("profile", "plans")})
    if args.keep:
        print(f"kept database {database.name}")


if __name__ == "__main__":
    main()
