"""The record export's own cost, in process: customers per second and SQL statements per
chunk, with a cProfile of the build (no server, no wrk: the lead's benchmark is
bench/record_export.py).

    .venv/bin/python bench/export_profile.py [--customers 2000] [--format json] [--keep]

Builds a throwaway database as bench/common.py does (the demo, plus `--customers` copies of
bookero's first customer), then runs `exports.build` as the worker does (a commit after each
chunk). `--database NAME` reuses a database kept by an earlier `--keep` run, so two versions
of the code are measured on the same data; `--copy PATH` keeps the file built, to compare.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import time
from pathlib import Path

from common import ADMIN_URL, BenchDatabase, clone_customers
from sqlalchemy import event


def existing(name: str) -> BenchDatabase:
    database = BenchDatabase()
    database.name = name
    database.url = ADMIN_URL.rpartition("/")[0] + "/" + name
    return database


def build(fmt: str, copy: str | None, with_profile: bool) -> dict:
    from service import create_app
    from service.extensions import db
    from service.organizations.models import Organization
    from service.records import exports

    app = create_app()
    with app.app_context():
        org = db.session.scalar(db.select(Organization).filter_by(slug="bookero"))
        export = exports.request_export(
            org, "bench", fmt, "en", exports.clock.local_today(org.timezone)
        )
        db.session.commit()
        export = exports.claim(export.id)
        db.session.commit()
        statements: list[int] = [0]

        def count(*_args) -> None:
            statements[-1] += 1

        event.listen(db.engine, "before_cursor_execute", count)
        # Only when asked: the profiler's own cost would be counted in `seconds`.
        profile = cProfile.Profile() if with_profile else None
        started = time.perf_counter()
        if profile:
            profile.enable()
        chunks = 0
        for _ in exports.build(export):
            db.session.commit()
            chunks += 1
            statements.append(0)
        db.session.commit()
        if profile:
            profile.disable()
        seconds = time.perf_counter() - started
        event.remove(db.engine, "before_cursor_execute", count)
        done = db.session.get(type(export), export.id)
        if copy:
            shutil.copyfile(Path(app.instance_path) / done.file_path, copy)
        text = io.StringIO()
        if profile:
            pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(45)
        per_chunk = statements[:chunks]
        return {
            "customers": done.progress_total,
            "seconds": round(seconds, 2),
            "customers_per_second": round(done.progress_total / seconds, 1),
            "chunks": chunks,
            "statements_per_chunk": sorted(per_chunk)[len(per_chunk) // 2] if per_chunk else 0,
            "statements_total": sum(statements),
            "sha256": done.sha256,
            "profile": text.getvalue(),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--format", choices=("json", "csv", "xlsx"), default="json")
    parser.add_argument("--database", help="reuse this database (kept by --keep)")
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument("--copy", help="copy the built file here")
    parser.add_argument("--profile", action="store_true", help="print the cProfile")
    args = parser.parse_args()
    database = existing(args.database) if args.database else BenchDatabase().create()
    if not args.database:
        with database.connect() as conn:
            clone_customers(conn, "bookero", args.customers)
    os.environ.update(database.env())
    try:
        report = build(args.format, args.copy, args.profile)
    finally:
        if args.database:  # a reused database: only this run's instance folder is ours
            shutil.rmtree(database.instance, ignore_errors=True)
        elif not args.keep:
            database.drop()
    if args.profile:
        print(report["profile"])
    print({k: v for k, v in report.items() if k != "profile"})
    if args.keep:
        print(f"kept database {database.name} (instance {database.instance})")


if __name__ == "__main__":
    main()
