"""Target 3 and the fan-out half of 5: announcing to many customers, and sending the mail.

    .venv/bin/python bench/announce.py [--customers 100000] [--announcements 20]
                                       [--mail 10000] [--fanout 1000,10000]

1. API latency: `--customers` customers (one contact each, bulk SQL), delivery paused (no
   worker consumes the broker database), `--announcements` POST /changes (`add`, distinct
   proposed vendors, effective in 90 days) through gunicorn with production settings;
   median and p95.
2. Mail: for each size in `--mail` and `--fanout`, a fresh database with that many
   customers, our real Celery worker (`--pool`: prefork or threads, `--concurrency` each;
   `--workers 1,2` runs the same e-mails with one, then two separate worker processes, as
   two hosts would) and a local aiosmtpd sink; one announcement; time from the POST until
   the sink has accepted every e-mail, against a bare smtplib loop sending as many messages
   of the same size over one connection to the same sink, measured twice right after ours
   (and once over `--concurrency` connections in parallel: whether the sink is the limit).
   Peak worker RSS from /proc.
Writes bench/results/announce.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import smtplib
import subprocess
import threading
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import redis
from aiosmtpd.controller import Controller
from common import (
    BIN,
    ROOT,
    bench_database,
    clone_customers,
    clone_vendors,
    free_port,
    median,
    p95,
    proposed_vendor_ids,
    start_ours,
)
from cpu_groups import cpu_seconds, machine_cpu

OUT = Path(__file__).resolve().parent / "results"
PLOT = Path(__file__).resolve().parent / "fanout.png"
# What `scripts/entrypoint.sh worker` runs by default (DPA_WORKER_CONCURRENCY).
CONCURRENCY = 8
REDIS_BASE = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")


def post(url: str, body: dict, token: str) -> tuple[int, float, bytes]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            data = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        data, status = error.read(), error.code
    return status, (time.perf_counter() - started) * 1000, data


def reach_everyone(conn, vendors: list[int]) -> None:
    """Unscope the announced vendors: the demo copies are scoped to services the cloned
    customers may not use, and a change that concerns a handful of customers measures
    nothing."""
    conn.execute(
        "DELETE FROM recipient_revision_services WHERE revision_id IN "
        "(SELECT id FROM recipient_revisions WHERE recipient_id = ANY(%s))",
        (vendors,),
    )


def audiences(database, change_ids: list[int]) -> list[int]:
    """Customers each announcement concerns, counted by the app's own query after the timed
    calls: the request no longer counts them, and the fan-out worker that records them
    (`change.notices_written`) does not run in this part."""
    saved = dict(os.environ)
    os.environ.update(database.env())
    try:
        from service import create_app
        from service.changes.models import Change
        from service.extensions import db
        from service.notices.services import concerned_count
        from service.organizations.models import Organization

        with create_app().app_context():
            changes = [db.session.get(Change, i) for i in change_ids]
            return [
                concerned_count(db.session.get(Organization, c.organization_id), c) for c in changes
            ]
    finally:
        os.environ.clear()
        os.environ.update(saved)


def announce_body(vendor: int) -> dict:
    return {
        "kind": "add",
        "recipient_id": vendor,
        "effective_on": (date.today() + timedelta(days=90)).isoformat(),
    }


def api_latency(customers: int, announcements: int) -> dict:
    broker = f"{REDIS_BASE}/11"
    with bench_database() as database:
        with database.connect() as conn:
            clone_customers(conn, "bookero", customers)
            clone_vendors(conn, "bookero", announcements, listed=False, tag="p")
            vendors = proposed_vendor_ids(conn, "bookero")[:announcements]
            reach_everyone(conn, vendors)
        os.environ["TEST_REDIS_URL"] = broker
        database_env = database.env
        database.env = lambda: {**database_env(), "REDIS_URL": broker}  # type: ignore[method-assign]
        ours = start_ours(database)
        times, change_ids = [], []
        try:
            url = f"{ours.base}/api/v1/orgs/bookero/changes"
            for vendor in vendors:
                status, ms, data = post(
                    url, announce_body(vendor), database.keys["BOOKERO_LEGAL_KEY"]
                )
                assert status == 201, (status, data[:1000])
                times.append(ms)
                change_ids.append(json.loads(data)["id"])
                print(f"  announce: {ms:.0f} ms")
            notices = database.scalar("SELECT count(*) FROM notices")
            reached = audiences(database, change_ids)
        finally:
            ours.stop()
            redis.Redis.from_url(broker).delete("celery")  # the paused tasks: ours only
    return {
        "customers": customers + 4,
        "announcements": len(times),
        "customers_concerned_per_announcement": reached,
        "notices_written_in_requests": notices,
        "median_ms": median(times),
        "p95_ms": p95(times),
        "max_ms": max(times),
        "times_ms": times,
    }


class Sink:
    def __init__(self) -> None:
        self.count = 0
        self.bytes = 0
        self.last = 0.0  # perf_counter() of the last accepted message
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += len(envelope.rcpt_tos)
            self.bytes += len(envelope.content)
            self.last = time.perf_counter()
        return "250 2.0.0 Ok"


def _bare_loop(port: int, share: range, body: str) -> None:
    with smtplib.SMTP("127.0.0.1", port) as client:
        for n in share:
            client.sendmail("notices@bench.example", [f"r{n}@bench.example"], body)


def bare_smtplib(port: int, messages: int, size: int, connections: int = 1) -> float:
    """Messages per second of a plain loop over one connection (in this process, beside the
    sink, as measured since the first run), or over several connections each from its own
    process (as our workers' are): whether the sink itself limits parallel senders."""
    body = "From: notices@bench.example\r\nTo: x@bench.example\r\nSubject: bench\r\n\r\n" + (
        "x" * 76 + "\r\n"
    ) * max(1, size // 78)
    if connections == 1:
        started = time.perf_counter()
        _bare_loop(port, range(messages), body)
        return messages / (time.perf_counter() - started)
    with multiprocessing.get_context("fork").Pool(connections) as pool:
        pool.map(abs, range(connections))  # the processes are up before the clock starts
        started = time.perf_counter()
        pool.starmap(
            _bare_loop, [(port, range(k, messages, connections), body) for k in range(connections)]
        )
        return messages / (time.perf_counter() - started)


def trees_rss_mib(pids: list[int]) -> tuple[float, float]:
    """(sum over every worker's tree, largest single process) in MiB."""
    sizes = [tree_rss_mib(pid) for pid in pids]
    return sum(s[0] for s in sizes), max((s[1] for s in sizes), default=0.0)


def tree_rss_mib(pid: int) -> tuple[float, float]:
    """(sum over the process and its children, largest single process) in MiB."""
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        return 0.0, 0.0
    sizes = []
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        except OSError:
            pass
    return sum(sizes), max(sizes, default=0.0)


def worker_env(database, workdir: Path, extra: dict[str, str]) -> dict[str, str]:
    """What production gives a worker: a real public address (links in notices are signed
    credentials), JSON logs at INFO and Prometheus metrics, the broker, SMTP."""
    from common import SECRET

    metrics = workdir / "worker-metrics"
    metrics.mkdir(parents=True, exist_ok=True)
    return {
        **database.env(),
        **extra,
        "DPA_ENV": "production",
        "DPA_SECRET_KEY": SECRET,
        "DPA_PUBLIC_BASE_URL": "https://dpa.bench.example",
        "DPA_LOG_FORMAT": "json",
        "DPA_LOG_LEVEL": "INFO",
        "DPA_CELERY_ALWAYS_EAGER": "0",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
    }


def start_workers(
    database, workdir: Path, extra: dict[str, str], pool: str, concurrency: int, workers: int
) -> list[subprocess.Popen]:
    """`workers` separate worker processes, each with its own name, as separate hosts run
    them; their logs go to one file."""
    log = (workdir / "worker.log").open("ab")
    command = (
        f"worker --pool={pool} --concurrency={concurrency} --loglevel=INFO"
        " --without-gossip --without-mingle --without-heartbeat"
    ).split()
    return [
        subprocess.Popen(
            [str(BIN / "celery"), "-A", "workers.main", *command, f"--hostname=bench{n}@%h"],
            cwd=ROOT,
            env=worker_env(database, workdir, extra),
            stdout=log,
            stderr=log,
        )
        for n in range(workers)
    ]


def mail_run(
    customers: int,
    timeout: float,
    pool: str = "prefork",
    concurrency: int = 2,
    workers: int = 1,
) -> dict:
    broker = f"{REDIS_BASE}/12"
    redis.Redis.from_url(broker).delete("celery")
    sink = Sink()
    sink.controller.start()
    with bench_database() as database:
        with database.connect() as conn:
            clone_customers(conn, "bookero", customers)
            clone_vendors(conn, "bookero", 1, listed=False, tag="m")
            vendor = proposed_vendor_ids(conn, "bookero")[0]
            reach_everyone(conn, [vendor])
        contacts = database.scalar(
            "SELECT count(*) FROM customer_contacts cc JOIN customers c ON c.id = cc.customer_id "
            "JOIN organizations o ON o.id = c.organization_id "
            "WHERE o.slug = 'bookero' AND (c.ended_on IS NULL OR c.ended_on > now())"
        )
        database_env = database.env
        extra = {
            "REDIS_URL": broker,
            "DPA_MAIL_BACKEND": "smtp",
            "DPA_SMTP_HOST": "127.0.0.1",
            "DPA_SMTP_PORT": str(sink.port),
        }
        database.env = lambda: {**database_env(), **extra}  # type: ignore[method-assign]
        ours = start_ours(database)
        started_workers = start_workers(
            database, Path(ours.workdir), extra, pool, concurrency, workers
        )
        try:
            time.sleep(8)  # the workers' start
            assert all(w.poll() is None for w in started_workers), "a worker did not start"
            url = f"{ours.base}/api/v1/orgs/bookero/changes"
            # The demo seed leaves rows of its own that no worker was told of: only the
            # announcement's row counts.
            seeded = database.scalar("SELECT coalesce(max(id), 0) FROM outbox")
            # Where the 2 cores go: the workers' CPU, and this process's (the sink's thread,
            # and this loop's polling, which is small).
            workers_cpu = sum(cpu_seconds(w.pid) for w in started_workers)
            bench_cpu = time.process_time()
            machine = machine_cpu()
            started = time.perf_counter()
            status, post_ms, data = post(
                url, announce_body(vendor), database.keys["BOOKERO_LEGAL_KEY"]
            )
            assert status == 201, (status, data[:1000])
            peak_total = peak_one = 0.0
            notices_at = audience = None
            deadline = time.monotonic() + timeout
            polled = 0.0
            while time.monotonic() < deadline:
                total, one = trees_rss_mib([w.pid for w in started_workers])
                peak_total, peak_one = max(peak_total, total), max(peak_one, one)
                time.sleep(0.2)
                if time.monotonic() - polled < 2:
                    continue
                polled = time.monotonic()
                with database.connect() as conn:
                    # The worker records the audience when it has written every notice.
                    written, outbox_open, pending = conn.execute(
                        "SELECT (SELECT (after->>'notices')::int FROM audit_events "
                        " WHERE action = 'change.notices_written'), "
                        "(SELECT count(*) FROM outbox WHERE status = 'pending' "
                        " AND topic = 'change.announced' AND id > %s), "
                        "(SELECT count(*) FROM deliveries WHERE status = 'pending')",
                        (seeded,),
                    ).fetchone()
                if notices_at is None and written is not None:
                    notices_at, audience = time.perf_counter() - started, written
                if not outbox_open and not pending and sink.count >= contacts:
                    break
            received = sink.count
            elapsed = sink.last - started
            workers_cpu = sum(cpu_seconds(w.pid) for w in started_workers) - workers_cpu
            bench_cpu = time.process_time() - bench_cpu
            # Whether the cores were the limit: the share of the machine's CPU time that
            # was busy from the POST to the last check (database, Redis, sink, workers).
            machine = [now - then for now, then in zip(machine_cpu(), machine, strict=True)]
            size = sink.bytes // max(1, received)
            with database.connect() as conn:
                statuses = dict(
                    conn.execute("SELECT status, count(*) FROM deliveries GROUP BY status")
                )
                delivered = conn.execute(
                    "SELECT count(*) FROM notices WHERE delivered_at IS NOT NULL"
                ).fetchone()[0]
        finally:
            for worker in started_workers:
                worker.terminate()
            for worker in started_workers:
                worker.wait(60)
            ours.stop()
    before = bare_smtplib(sink.port, received, size)
    after = bare_smtplib(sink.port, received, size)
    parallel = bare_smtplib(sink.port, received, size, concurrency * workers)
    sink.controller.stop()
    ours_rate = received / elapsed
    base = median([before, after])
    return {
        "customers": customers,
        "pool": pool,
        "concurrency": concurrency,
        "workers": workers,
        "customers_concerned": audience,
        "emails_expected": contacts,
        "emails_accepted": received,
        "deliveries_by_status": statuses,
        "notices_delivered": delivered,
        "mean_message_bytes": size,
        "post_ms": post_ms,
        "seconds_post_to_notices_written": notices_at,
        "seconds_post_to_last_accepted": elapsed,
        "ours_per_s": ours_rate,
        "bare_smtplib_per_s": [before, after],
        "bare_smtplib_parallel_connections": concurrency * workers,
        "bare_smtplib_parallel_per_s": parallel,
        "ratio_to_bare_smtplib": ours_rate / base,
        "worker_peak_rss_total_mib": peak_total,
        "worker_peak_rss_one_process_mib": peak_one,
        "workers_cpu_ms_per_message": 1000 * workers_cpu / max(1, received),
        "sink_cpu_ms_per_message": 1000 * bench_cpu / max(1, received),
        "machine_busy_share": machine[0] / max(machine[1], 1e-9),
        "machine_cpu_ms_per_message": 1000 * machine[0] / max(1, received),
        "load_average": os.getloadavg(),
    }


def pool_label(run: dict) -> str:
    label = f"{run.get('pool', 'prefork')} x {run.get('concurrency', 2)}"
    return label + (f", {run['workers']} workers" if run.get("workers", 1) > 1 else "")


def busy(run: dict) -> str:
    share = run.get("machine_busy_share")  # absent in runs before it was measured
    return "" if share is None else f"{share:.0%}"


def fanout_table(runs: list[dict]) -> str:
    """The growth table of RESULTS.md section 5, from the JSON."""
    lines = [
        "| recipients | pool | notices written (s) | last e-mail accepted (s) | ours msg/s "
        "| bare smtplib msg/s | ratio | worker peak RSS, one process / all (MiB) "
        "| machine busy |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in runs:
        notices, last = r["seconds_post_to_notices_written"], r["seconds_post_to_last_accepted"]
        lines.append(
            f"| {r['emails_accepted']:,} | {pool_label(r)} "
            f"| {notices:.1f} | {last:.1f} "
            f"| {r['ours_per_s']:.0f} | {median(r['bare_smtplib_per_s']):.0f} "
            f"| {r['ratio_to_bare_smtplib']:.2f} | {r['worker_peak_rss_one_process_mib']:.0f} / "
            f"{r['worker_peak_rss_total_mib']:.0f} | {busy(r)} |"
            if notices is not None
            else f"| {r['emails_accepted']:,} | {pool_label(r)} | - "
            f"| {r['seconds_post_to_last_accepted']:.1f} | "
            f"{r['ours_per_s']:.0f} | | {r['ratio_to_bare_smtplib']:.2f} | | {busy(r)} |"
        )
    return "\n".join(lines)


def plot(runs: list[dict], path: Path) -> bool:
    """Seconds and messages per second against recipients, log-log; False without the
    optional `bench` extra (matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no plot: pip install -e '.[bench]' for matplotlib")
        return False
    runs = sorted(runs, key=lambda r: r["emails_accepted"])
    sizes = [r["emails_accepted"] for r in runs]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.loglog(sizes, [r["seconds_post_to_last_accepted"] for r in runs], "o-", label="ours")
    left.loglog(
        sizes,
        [r["emails_accepted"] / median(r["bare_smtplib_per_s"]) for r in runs],
        "s--",
        label="bare smtplib loop",
    )
    left.set_xlabel("recipients")
    left.set_ylabel("seconds until the last e-mail is accepted")
    left.legend()
    right.semilogx(sizes, [r["ours_per_s"] for r in runs], "o-", label="ours")
    right.semilogx(sizes, [median(r["bare_smtplib_per_s"]) for r in runs], "s--", label="bare")
    right.set_xlabel("recipients")
    right.set_ylabel("messages per second")
    right.set_ylim(bottom=0)
    right.legend()
    fig.suptitle("Fan-out of one announcement to an aiosmtpd sink (2 cores)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--announcements", type=int, default=20)
    parser.add_argument("--mail", type=int, default=10_000)
    parser.add_argument("--fanout", default="1000,10000,100000")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per mail run")
    parser.add_argument(
        "--pool", default="threads", help="worker pools to measure, e.g. prefork,threads"
    )
    parser.add_argument(
        "--concurrency", type=int, default=CONCURRENCY, help="pool size of each worker process"
    )
    parser.add_argument(
        "--workers",
        default="1",
        help="worker processes, e.g. 1,2: the same e-mails with one, then two (scale-out)",
    )
    parser.add_argument("--plot-only", action="store_true", help="redraw from the JSON")
    parser.add_argument(
        "--out", default="announce.json", help="file under bench/results (--plot-only: a,b,...)"
    )
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    if args.plot_only:
        # Runs of several invocations (e.g. 1k and 10k, then 100k alone) in one table.
        runs = [
            r for name in args.out.split(",") for r in json.loads((OUT / name).read_text())["mail"]
        ]
        runs.sort(key=lambda r: r["emails_accepted"])
        print(fanout_table(runs))
        plot(runs, PLOT)
        return
    report: dict = {"args": vars(args)}
    if args.customers:
        report["api"] = api_latency(args.customers, args.announcements)
        print(f"api: {report['api']}")
    sizes = sorted({int(s) for s in args.fanout.split(",") if s} | {args.mail} - {0})
    report["mail"] = []
    for size in sizes:
        for pool, workers in [
            (p, int(w)) for p in args.pool.split(",") for w in args.workers.split(",")
        ]:
            result = mail_run(size, args.timeout, pool, args.concurrency, workers)
            print(f"mail: {result}")
            report["mail"].append(result)
            (OUT / args.out).write_text(json.dumps(report, indent=2))
    (OUT / args.out).write_text(json.dumps(report, indent=2))
    if report["mail"]:
        print(fanout_table(report["mail"]))
        plot(report["mail"], PLOT)


if __name__ == "__main__":
    main()
