"""Target 3 and the fan-out half of 5: announcing to many customers, and sending the mail.

    .venv/bin/python bench/announce.py [--customers 100000] [--announcements 20]
                                       [--mail 10000] [--fanout 1000,10000]

1. API latency: `--customers` customers (one contact each, bulk SQL), delivery paused (no
   worker consumes the broker database), `--announcements` POST /changes (`add`, distinct
   proposed vendors, effective in 90 days) through gunicorn with production settings;
   median and p95.
2. Mail: for each size in `--mail` and `--fanout`, a fresh database with that many
   customers, our real Celery worker (prefork, 2 processes) and a local aiosmtpd sink; one
   announcement; time from the POST until the sink has accepted every e-mail, against a
   bare smtplib loop sending as many messages of the same size over one connection to the
   same sink, measured before and after ours. Peak worker RSS from /proc.
Writes bench/results/announce.json.
"""

from __future__ import annotations

import argparse
import json
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

OUT = Path(__file__).resolve().parent / "results"
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
        os.environ["TEST_REDIS_URL"] = broker
        database_env = database.env
        database.env = lambda: {**database_env(), "REDIS_URL": broker}  # type: ignore[method-assign]
        ours = start_ours(database)
        times = []
        try:
            url = f"{ours.base}/api/v1/orgs/bookero/changes"
            for vendor in vendors:
                status, ms, data = post(
                    url, announce_body(vendor), database.keys["BOOKERO_LEGAL_KEY"]
                )
                assert status == 201, (status, data[:1000])
                times.append(ms)
                print(f"  announce: {ms:.0f} ms")
            notices = database.scalar("SELECT count(*) FROM notices")
        finally:
            ours.stop()
            redis.Redis.from_url(broker).delete("celery")  # the paused tasks: ours only
    return {
        "customers": customers + 4,
        "announcements": len(times),
        "notices_written": notices,
        "median_ms": median(times),
        "p95_ms": p95(times),
        "max_ms": max(times),
        "times_ms": times,
    }


class Sink:
    def __init__(self) -> None:
        self.count = 0
        self.bytes = 0
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += len(envelope.rcpt_tos)
            self.bytes += len(envelope.content)
        return "250 2.0.0 Ok"


def bare_smtplib(port: int, messages: int, size: int) -> float:
    """Messages per second of a plain loop over one connection."""
    body = "From: notices@bench.example\r\nTo: x@bench.example\r\nSubject: bench\r\n\r\n" + (
        "x" * 76 + "\r\n"
    ) * max(1, size // 78)
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as client:
        for n in range(messages):
            client.sendmail("notices@bench.example", [f"r{n}@bench.example"], body)
    return messages / (time.perf_counter() - started)


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


def mail_run(customers: int) -> dict:
    broker = f"{REDIS_BASE}/12"
    sink = Sink()
    sink.controller.start()
    with bench_database() as database:
        with database.connect() as conn:
            clone_customers(conn, "bookero", customers)
            clone_vendors(conn, "bookero", 1, listed=False, tag="m")
            vendor = proposed_vendor_ids(conn, "bookero")[0]
        database_env = database.env
        extra = {
            "REDIS_URL": broker,
            "DPA_MAIL_BACKEND": "smtp",
            "DPA_SMTP_HOST": "127.0.0.1",
            "DPA_SMTP_PORT": str(sink.port),
        }
        database.env = lambda: {**database_env(), **extra}  # type: ignore[method-assign]
        ours = start_ours(database)
        worker_env = {
            **ours_env_for_worker(database),
            "DPA_ENV": "production",
            "DPA_LOG_FORMAT": "json",
        }
        log = (Path(ours.workdir) / "worker.log").open("ab")
        worker = subprocess.Popen(
            [
                str(BIN / "celery"),
                "-A",
                "workers.main",
                "worker",
                "--pool=prefork",
                "-c",
                "2",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=worker_env,
            stdout=log,
            stderr=log,
        )
        try:
            time.sleep(5)  # the worker's start
            url = f"{ours.base}/api/v1/orgs/bookero/changes"
            started = time.perf_counter()
            status, _, data = post(url, announce_body(vendor), database.keys["BOOKERO_LEGAL_KEY"])
            assert status == 201, (status, data[:1000])
            expected = database.scalar("SELECT count(*) FROM notices")
            peak_total = peak_one = 0.0
            deadline = time.monotonic() + 3600
            while sink.count < expected and time.monotonic() < deadline:
                total, one = tree_rss_mib(worker.pid)
                peak_total, peak_one = max(peak_total, total), max(peak_one, one)
                time.sleep(0.2)
            elapsed = time.perf_counter() - started
            received = sink.count
            size = sink.bytes // max(1, received)
        finally:
            worker.terminate()
            worker.wait(30)
            ours.stop()
    before = bare_smtplib(sink.port, received, size)
    after = bare_smtplib(sink.port, received, size)
    sink.controller.stop()
    ours_rate = received / elapsed
    base = median([before, after])
    return {
        "customers": customers,
        "emails_expected": expected,
        "emails_accepted": received,
        "mean_message_bytes": size,
        "seconds_post_to_last_accepted": elapsed,
        "ours_per_s": ours_rate,
        "bare_smtplib_per_s": [before, after],
        "ratio_to_bare_smtplib": ours_rate / base,
        "worker_peak_rss_total_mib": peak_total,
        "worker_peak_rss_one_process_mib": peak_one,
    }


def ours_env_for_worker(database) -> dict[str, str]:
    from common import SECRET

    return {
        **database.env(),
        "DPA_SECRET_KEY": SECRET,
        "DPA_PUBLIC_BASE_URL": "http://127.0.0.1:8000",
        "DPA_CELERY_ALWAYS_EAGER": "0",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--announcements", type=int, default=20)
    parser.add_argument("--mail", type=int, default=10_000)
    parser.add_argument("--fanout", default="1000")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    report: dict = {"args": vars(args)}
    if args.customers:
        report["api"] = api_latency(args.customers, args.announcements)
        print(f"api: {report['api']}")
    sizes = sorted({int(s) for s in args.fanout.split(",") if s} | {args.mail} - {0})
    report["mail"] = []
    for size in sizes:
        result = mail_run(size)
        print(f"mail: {result}")
        report["mail"].append(result)
        (OUT / "announce.json").write_text(json.dumps(report, indent=2))
    (OUT / "announce.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
