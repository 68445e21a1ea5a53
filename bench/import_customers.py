"""Time a customer import of 100,000 CSV rows and report the process's peak memory.

Runs the real app through Flask's test client against a throwaway PostgreSQL database,
streaming the CSV from a file on disk so the body itself is not held in memory:

    .venv/bin/python bench/import_customers.py [--rows 100000]

TEST_DATABASE_URL names a server where databases may be created (as for the test suite);
the script creates its own database and drops it at the end.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def write_csv(path: Path, rows: int, edition: int) -> int:
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("external_ref,name,started_on,services,email,contact_name,locale,notice_days\r\n")
        for n in range(rows):
            # The second edition renames every tenth customer, so an upsert has work to do.
            suffix = f" (ed. {edition})" if edition > 1 and n % 10 == 0 else ""
            out.write(
                f"C-{n:07d},Salon {n}{suffix},2023-01-01,bookings;payments,"
                f"owner{n}@salon{n % 97}.example,Owner {n},pl,30\r\n"
            )
    return path.stat().st_size


def run(rows: int) -> None:
    from flask_migrate import upgrade

    from service import create_app
    from service.extensions import db
    from service.keys import services as keys
    from service.organizations.services import create_organization, create_service

    name = f"dpa_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        app = create_app(
            {"TESTING": True, "SQLALCHEMY_DATABASE_URI": ADMIN_URL.rpartition("/")[0] + "/" + name}
        )
        with app.app_context():
            upgrade()
            org = create_organization(
                {
                    "slug": "bookero",
                    "legal_name": "SAFI STUDIO",
                    "country": "PL",
                    "contact_email": "legal@bookero.example",
                },
                actor="bench",
            )
            for slug in ("bookings", "payments"):
                create_service(org, {"slug": slug, "name_pl": slug, "name_en": slug}, actor="bench")
            _, token = keys.create_key(
                role="legal", name="bench", organization_id=org.id, actor="bench"
            )
            db.session.commit()
        client = app.test_client()
        print(f"rows: {rows}, chunk size: {app.config['IMPORT_CHUNK_SIZE']}")
        print(f"peak RSS before importing: {peak_rss_mib():.1f} MiB")
        with tempfile.TemporaryDirectory() as tmp:
            for edition, label in ((1, "create"), (2, "upsert")):
                path = Path(tmp) / f"customers-{edition}.csv"
                size = write_csv(path, rows, edition)
                with path.open("rb") as body:
                    started = time.perf_counter()
                    response = client.post(
                        "/api/v1/orgs/bookero/customers/import",
                        input_stream=body,
                        content_length=size,
                        content_type="text/csv",
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    elapsed = time.perf_counter() - started
                assert response.status_code == 200, response.get_data(as_text=True)[:2000]
                print(
                    f"{label}: {size / 1e6:.1f} MB in {elapsed:.1f} s "
                    f"({rows / elapsed:,.0f} rows/s), result {response.json}, "
                    f"peak RSS so far {peak_rss_mib():.1f} MiB"
                )
        with app.app_context():
            db.engine.dispose()
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    run(parser.parse_args().rows)


if __name__ == "__main__":
    main()
