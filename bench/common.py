"""Shared pieces of the benchmarks: a throwaway database, fast SQL seeding, gunicorn servers
(ours and the baseline) under the project's gunicorn.conf.py, and wrk.

TEST_DATABASE_URL names a PostgreSQL server where databases may be created (as for the
test suite); TEST_REDIS_URL a Redis. Every script creates its own database and drops it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
SECRET = secrets.token_urlsafe(48)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


# --- database -----------------------------------------------------------------------------


class BenchDatabase:
    """A fresh database, migrated and seeded with the demo (which writes the demo keys)."""

    def __init__(self) -> None:
        self.name = f"dpa_bench_{uuid.uuid4().hex[:10]}"
        self.url = ADMIN_URL.rpartition("/")[0] + "/" + self.name
        self.instance = Path(tempfile.mkdtemp(prefix="dpa-bench-instance-"))
        self.keys: dict[str, str] = {}

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.url,
            "REDIS_URL": REDIS_URL,
            "DPA_INSTANCE_PATH": str(self.instance),
            "DPA_LOG_LEVEL": "WARNING",
        }

    def create(self) -> BenchDatabase:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        for args in (["db", "upgrade"], ["seed", "demo"]):
            subprocess.run(
                [str(BIN / "flask"), "--app", "service", *args],
                cwd=ROOT,
                env=self.env(),
                check=True,
                capture_output=True,
            )
        for line in (self.instance / "demo-keys.env").read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                key, _, value = line.partition("=")
                self.keys[key] = value
        return self

    def drop(self) -> None:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        shutil.rmtree(self.instance, ignore_errors=True)

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True)

    def scalar(self, sql: str, *params: object) -> object:
        with self.connect() as conn:
            return conn.execute(sql, params).fetchone()[0]


@contextmanager
def bench_database():
    database = BenchDatabase().create()
    try:
        yield database
    finally:
        database.drop()


def _columns(conn: psycopg.Connection, table: str) -> list[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
        "ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return [r[0] for r in rows]


def _copy(conn: psycopg.Connection, table: str, source: str, overrides: dict[str, str]) -> int:
    """INSERT INTO table SELECT every column from `source` (alias t), some overridden."""
    cols = _columns(conn, table)
    select = ", ".join(overrides.get(c, f't."{c}"') for c in cols)
    names = ", ".join(f'"{c}"' for c in cols)
    return conn.execute(f'INSERT INTO "{table}" ({names}) SELECT {select} {source}').rowcount


def bump_public_token(conn: psycopg.Connection) -> None:
    """What the app's session events do on a write: bulk SQL must do it by hand."""
    conn.execute(
        "UPDATE public_list_versions SET version = version + 1, changed_at = now(), "
        "token = substr(md5(random()::text), 1, 32)"
    )


def clone_vendors(
    conn: psycopg.Connection, org: str, total: int, *, listed: bool = True, tag: str = "v"
) -> int:
    """Grow the organization's vendors to `total` (listed) or add `total` proposed ones, by
    copying its top-level demo vendors with their revisions, scopes and locations."""
    org_id = conn.execute("SELECT id FROM organizations WHERE slug = %s", (org,)).fetchone()[0]
    have = conn.execute(
        "SELECT count(*) FROM recipients WHERE organization_id = %s AND listed_from IS NOT NULL",
        (org_id,),
    ).fetchone()[0]
    wanted = total - have if listed else total
    if wanted <= 0:
        return have
    conn.execute("DROP TABLE IF EXISTS bench_map, bench_rev_map")
    conn.execute(
        "CREATE TEMP TABLE bench_map AS SELECT src, g, nextval('recipients_id_seq') AS dst FROM ("
        " SELECT r.id AS src, g FROM recipients r, generate_series(1, %s) g"
        " WHERE r.organization_id = %s AND r.parent_id IS NULL AND r.name NOT LIKE '%%#%%'"
        " ORDER BY g, r.id LIMIT %s) s",
        (wanted, org_id, wanted),
    )
    listed_from = "t.listed_from" if listed else "NULL"
    _copy(
        conn,
        "recipients",
        "FROM bench_map m JOIN recipients t ON t.id = m.src",
        {
            "id": "m.dst",
            "name": f"t.name || ' #{tag}' || m.g",
            "listed_from": listed_from,
            "listed_until": "NULL",
        },
    )
    conn.execute(
        "CREATE TEMP TABLE bench_rev_map AS SELECT t.id AS src, m.dst AS recipient, "
        "nextval('recipient_revisions_id_seq') AS dst "
        "FROM bench_map m JOIN recipient_revisions t ON t.recipient_id = m.src"
    )
    _copy(
        conn,
        "recipient_revisions",
        "FROM bench_rev_map m JOIN recipient_revisions t ON t.id = m.src",
        {"id": "m.dst", "recipient_id": "m.recipient"},
    )
    _copy(
        conn,
        "recipient_revision_services",
        "FROM bench_rev_map m JOIN recipient_revision_services t ON t.revision_id = m.src",
        {"revision_id": "m.dst"},
    )
    _copy(
        conn,
        "processing_locations",
        "FROM bench_rev_map m JOIN processing_locations t ON t.revision_id = m.src",
        {"id": "nextval('processing_locations_id_seq')", "revision_id": "m.dst"},
    )
    # VACUUM as well: autovacuum would have set the visibility map of a table that old,
    # and without it no index-only scan (the list's count) is possible.
    for table in ("recipients", "recipient_revisions", "processing_locations"):
        conn.execute(f"VACUUM ANALYZE {table}")
    bump_public_token(conn)
    return have + wanted if listed else wanted


def add_history(conn: psycopg.Connection, org: str, versions: int, *, step_days: int = 3) -> dict:
    """Give the organization's cloned vendors (`clone_vendors`) the past that the history
    import (service/imports/history.py) writes for `versions` dated versions of a list, by
    set-based SQL: the vendors join over the versions (10 per version at 10,000), every
    150 versions after joining a vendor's purpose is updated (a revision valid from that
    version's day, closing its predecessor), a tenth are renamed (the earlier revisions keep
    the old name), one in twenty leaves and comes back (its first period moves to
    `recipient_listing_periods`) and one in twenty leaves for good. The last version is
    today; returns the versions' days (oldest first) and what was written."""
    org_id = conn.execute("SELECT id FROM organizations WHERE slug = %s", (org,)).fetchone()[0]
    span = step_days * (versions - 1)
    first = conn.execute("SELECT current_date - %s::int", (span,)).fetchone()[0]
    days = [first + timedelta(days=step_days * k) for k in range(versions)]
    conn.execute("DROP TABLE IF EXISTS bench_hist, bench_events")
    # Each clone: its rank, the version it joins at, and the revision it was cloned with.
    conn.execute(
        "CREATE TEMP TABLE bench_hist AS SELECT r.id, v.id AS base, "
        " (row_number() OVER (ORDER BY r.id) - 1) AS i, 0 AS joins FROM recipients r "
        "JOIN recipient_revisions v ON v.recipient_id = r.id "
        "WHERE r.organization_id = %s AND r.name LIKE '%% #v%%'",
        (org_id,),
    )
    total = conn.execute("SELECT count(*) FROM bench_hist").fetchone()[0]
    conn.execute("UPDATE bench_hist SET joins = i * %s / %s", (versions, max(total, 1)))
    day = f"(DATE '{first.isoformat()}' + {step_days} * (%s))"
    conn.execute(
        f"UPDATE recipients r SET listed_from = {day % 'h.joins'}, listed_until = NULL "
        "FROM bench_hist h WHERE h.id = r.id"
    )
    # Leaving and coming back 250 versions later (or not, if that is past the last one).
    conn.execute(
        "INSERT INTO recipient_listing_periods (recipient_id, listed_from, listed_until) "
        f"SELECT id, {day % 'joins'}, {day % '(joins + 100)'} FROM bench_hist "
        f"WHERE i % 20 = 3 AND joins + 250 < {versions}"
    )
    conn.execute(
        f"UPDATE recipients r SET listed_from = {day % '(h.joins + 250)'} FROM bench_hist h "
        f"WHERE h.id = r.id AND h.i % 20 = 3 AND h.joins + 250 < {versions}"
    )
    conn.execute(
        f"UPDATE recipients r SET listed_until = {day % '(h.joins + 100)'} FROM bench_hist h "
        f"WHERE h.id = r.id AND h.i % 20 = 3 AND h.joins + 250 >= {versions} "
        f"AND h.joins + 100 < {versions}"
    )
    conn.execute(
        f"UPDATE recipients r SET listed_until = {day % '(h.joins + 300)'} FROM bench_hist h "
        f"WHERE h.id = r.id AND h.i % 20 = 7 AND h.joins + 300 < {versions}"
    )
    # Dated revisions: an update every 150 versions from the 75th after joining, a rename
    # at the 50th for a tenth of the vendors (a copy of the data under the new name).
    conn.execute(
        "CREATE TEMP TABLE bench_events AS "
        f"SELECT h.id, h.base, {day % 'k'} AS valid_from, (k - h.joins + 75) / 150 AS n, "
        " false AS rename FROM bench_hist h, "
        f" generate_series(h.joins + 75, {versions - 1}, 150) k "
        f"UNION ALL SELECT h.id, h.base, {day % '(h.joins + 50)'}, 0, true FROM bench_hist h "
        f"WHERE h.i % 10 = 5 AND h.joins + 50 < {versions}"
    )
    conn.execute("ALTER TABLE bench_events ADD COLUMN dst int")
    conn.execute("UPDATE bench_events SET dst = nextval('recipient_revisions_id_seq')")
    _copy(
        conn,
        "recipient_revisions",
        "FROM bench_events e JOIN recipient_revisions t ON t.id = e.base",
        {
            "id": "e.dst",
            "valid_from": "e.valid_from",
            "valid_until": "NULL",
            "purpose_en": "CASE WHEN e.rename THEN t.purpose_en "
            "ELSE t.purpose_en || ' (update ' || e.n || ')' END",
        },
    )
    _copy(
        conn,
        "recipient_revision_services",
        "FROM bench_events e JOIN recipient_revision_services t ON t.revision_id = e.base",
        {"revision_id": "e.dst"},
    )
    _copy(
        conn,
        "processing_locations",
        "FROM bench_events e JOIN processing_locations t ON t.revision_id = e.base",
        {"id": "nextval('processing_locations_id_seq')", "revision_id": "e.dst"},
    )
    # Each revision holds until the next one starts (the import's updates close the last).
    conn.execute(
        "UPDATE recipient_revisions v SET valid_until = w.next FROM ("
        " SELECT id, lead(valid_from) OVER (PARTITION BY recipient_id "
        "  ORDER BY valid_from NULLS FIRST) AS next FROM recipient_revisions "
        " WHERE recipient_id IN (SELECT id FROM bench_hist)) w WHERE w.id = v.id"
    )
    # A dated rename: revisions before it keep the old name; the vendor has the new one.
    conn.execute(
        "UPDATE recipient_revisions v SET name = r.name, legal_entity = r.legal_entity "
        "FROM bench_events e JOIN recipients r ON r.id = e.id "
        "WHERE e.rename AND v.recipient_id = e.id AND (v.valid_from IS NULL "
        " OR v.valid_from < e.valid_from)"
    )
    conn.execute(
        "UPDATE recipients r SET name = r.name || ' (renamed)' FROM bench_events e "
        "WHERE e.rename AND e.id = r.id"
    )
    for table in (
        "recipients",
        "recipient_revisions",
        "recipient_listing_periods",
        "recipient_revision_services",
        "processing_locations",
    ):
        conn.execute(f"VACUUM ANALYZE {table}")
    bump_public_token(conn)
    written = conn.execute(
        "SELECT (SELECT count(*) FROM bench_events), (SELECT count(*) FROM bench_events "
        "WHERE rename), (SELECT count(*) FROM recipient_listing_periods)"
    ).fetchone()
    return {
        "days": days,
        "vendors": total,
        "dated_revisions": written[0],
        "renames": written[1],
        "returns": written[2],
    }


def proposed_vendor_ids(conn: psycopg.Connection, org: str) -> list[int]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT r.id FROM recipients r JOIN organizations o ON o.id = r.organization_id "
            "WHERE o.slug = %s AND r.listed_from IS NULL AND r.parent_id IS NULL ORDER BY r.id",
            (org,),
        )
    ]


def clone_customers(conn: psycopg.Connection, org: str, total: int) -> int:
    """Add `total` customers copied from the organization's first demo customer (its
    services, agreement and one contact each, every address distinct)."""
    org_id = conn.execute("SELECT id FROM organizations WHERE slug = %s", (org,)).fetchone()[0]
    src = conn.execute(
        "SELECT min(id) FROM customers WHERE organization_id = %s", (org_id,)
    ).fetchone()[0]
    conn.execute("DROP TABLE IF EXISTS bench_cmap")
    conn.execute(
        "CREATE TEMP TABLE bench_cmap AS SELECT g, nextval('customers_id_seq') AS dst "
        "FROM generate_series(1, %s) g",
        (total,),
    )
    _copy(
        conn,
        "customers",
        f"FROM bench_cmap m JOIN customers t ON t.id = {src}",
        {"id": "m.dst", "external_ref": "'BENCH-' || m.g", "name": "'Bench customer ' || m.g"},
    )
    _copy(
        conn,
        "customer_services",
        f"FROM bench_cmap m JOIN customer_services t ON t.customer_id = {src}",
        {"customer_id": "m.dst"},
    )
    if conn.execute(f"SELECT 1 FROM customer_agreements WHERE customer_id = {src}").fetchone():
        _copy(
            conn,
            "customer_agreements",
            f"FROM bench_cmap m JOIN customer_agreements t ON t.customer_id = {src}",
            {"id": "nextval('customer_agreements_id_seq')", "customer_id": "m.dst"},
        )
    first_contact = conn.execute(
        f"SELECT min(id) FROM customer_contacts WHERE customer_id = {src}"
    ).fetchone()[0]
    _copy(
        conn,
        "customer_contacts",
        f"FROM bench_cmap m JOIN customer_contacts t ON t.id = {first_contact}",
        {
            "id": "nextval('customer_contacts_id_seq')",
            "customer_id": "m.dst",
            "email": "'contact' || m.g || '@bench.example'",
        },
    )
    for table in ("customers", "customer_contacts", "customer_services", "customer_agreements"):
        conn.execute(f"ANALYZE {table}")
    return total


def add_audit_events(conn: psycopg.Connection, org: str, total: int) -> int:
    """Append `total` audit events to the organization's trail (copies of its latest event
    with their own sequence numbers; the hash chain is not recomputed, so verification of
    the bench trail fails by design)."""
    org_id = conn.execute("SELECT id FROM organizations WHERE slug = %s", (org,)).fetchone()[0]
    top = conn.execute(
        "SELECT max(seq), max(id) FROM audit_events WHERE organization_id = %s", (org_id,)
    ).fetchone()
    _copy(
        conn,
        "audit_events",
        f"FROM generate_series(1, {total}) g JOIN audit_events t ON t.id = {top[1]}",
        {
            "id": "nextval('audit_events_id_seq')",
            "seq": f"{top[0]} + g",
            "entity_id": "(g % 10000)::text",
        },
    )
    conn.execute("ANALYZE audit_events")
    return total


# --- servers ------------------------------------------------------------------------------


class Server:
    def __init__(self, proc: subprocess.Popen, port: int, workdir: Path) -> None:
        self.proc, self.port, self.workdir = proc, port, workdir
        self.base = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


def production_env(database: BenchDatabase, port: int, workdir: Path) -> dict[str, str]:
    metrics = workdir / "metrics"
    metrics.mkdir(parents=True, exist_ok=True)
    return {
        **database.env(),
        "DPA_ENV": "production",
        "DPA_SECRET_KEY": SECRET,
        "DPA_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "DPA_LOG_FORMAT": "json",
        "DPA_LOG_LEVEL": "INFO",
        "DPA_MAIL_BACKEND": "smtp",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_ACCESS_LOG": str(workdir / "access.log"),
        # Never recycled in the middle of a run (a recycle costs an app start).
        "GUNICORN_MAX_REQUESTS": os.environ.get("GUNICORN_MAX_REQUESTS", "0"),
    }


def _wait(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def start_gunicorn(app: str, env: dict[str, str], port: int, workdir: Path, probe: str) -> Server:
    log = (workdir / "gunicorn.log").open("ab")
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), app],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    server = Server(proc, port, workdir)
    try:
        _wait(server.base + probe, proc)
    except Exception:
        server.stop()
        raise
    return server


def start_ours(database: BenchDatabase) -> Server:
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="dpa-bench-ours-"))
    env = production_env(database, port, workdir)
    return start_gunicorn("service:create_app()", env, port, workdir, "/healthz")


def start_baseline(database: BenchDatabase, body: bytes, headers: dict[str, str]) -> Server:
    """A minimal Flask app serving `body` from memory, with the same headers, under the
    same gunicorn settings and logging."""
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="dpa-bench-base-"))
    (workdir / "body").write_bytes(body)
    keep = {"content-type", "cache-control", "etag", "last-modified", "vary", "x-cache"}
    kept = {k: v for k, v in headers.items() if k.lower() in keep}
    (workdir / "headers.json").write_text(json.dumps(kept))
    env = {**production_env(database, port, workdir), "BENCH_BASELINE_DIR": str(workdir)}
    env["PYTHONPATH"] = str(ROOT / "bench")
    return start_gunicorn("baseline_app:app", env, port, workdir, "/healthz")


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(
            request, timeout=float(os.environ.get("BENCH_FETCH_TIMEOUT", "600"))
        ) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


# --- wrk ----------------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def wrk(
    url: str,
    *,
    connections: int = 16,
    threads: int = 2,
    seconds: int = 10,
    headers: dict[str, str] | None = None,
) -> dict[str, float]:
    args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50_ms": p50,
        "p99_ms": p99,
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def machine() -> dict[str, str]:
    def run(*args: str) -> str:
        try:
            return subprocess.run(args, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "?"

    mem = run("free", "-m").splitlines()
    return {
        "cpus": run("nproc"),
        "cpu": next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            "?",
        ),
        "memory_mib": mem[1].split()[1] if len(mem) > 1 else "?",
        "python": sys.version.split()[0],
        "postgresql": str(psycopg.connect(ADMIN_URL).execute("SHOW server_version").fetchone()[0]),
        "wrk": run("wrk", "--version").splitlines()[0] if shutil.which("wrk") else "missing",
        "kernel": run("uname", "-r"),
    }
