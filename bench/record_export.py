"""Issue 22, point 3: the record (Art. 30(2)) of a large organization as an export job,
while the public list keeps answering.

    .venv/bin/python bench/record_export.py [--customers 100000] [--format xlsx] \
        [--cpu-shares 256] [--nice 0] [--pause 0] [--seconds 10]

Bulk-loads customers by SQL (copies of a demo customer), serves with gunicorn in production
settings and runs a real Celery worker as docs/records.md recommends for exports (prefork,
one process, its own queue; `--cpu-shares` puts it in a CPU cgroup of that weight, as
compose's `cpu_shares` or systemd's `CPUWeight=` would, where the machine lets us make one).
Measures the public list's latency with wrk before the export (3 windows), then window
after window while the job runs; each role's share of the machine's CPU during the job
(export worker, web server, PostgreSQL, wrk); the worker's RSS from /proc and the load
average; and finally fetches the file through its signed link.
Writes bench/results/record_export_<customers>_<format>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from announce import tree_rss_mib, worker_env
from common import (
    BIN,
    ROOT,
    bench_database,
    clone_customers,
    fetch,
    machine,
    median,
    start_ours,
    wrk,
)
from cpu_groups import cpu_group, place_command, remove_group, sample, shares_between

OUT = Path(__file__).resolve().parent / "results"
EXPORTS = "/api/v1/orgs/bookero/record/exports"
WORKER = ("worker", "--pool=prefork", "-c", "1", "--loglevel=WARNING", "--without-gossip")


def api(base: str, path: str, token: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def start_worker(
    database, workdir: Path, args: argparse.Namespace, group: Path | None
) -> subprocess.Popen:
    """The export worker as docs/records.md recommends it: its own queue, at lower CPU
    priority (`nice`, and in `group` the low CPU weight of its own service), sleeping
    `pause` seconds after each chunk (RECORD_EXPORT_PAUSE)."""
    log = (workdir / "worker.log").open("ab")
    celery = [str(BIN / "celery"), "-A", "workers.main", *WORKER, "-Q", "exports"]
    command = ["nice", "-n", str(args.nice), *celery, "--without-mingle"]
    return subprocess.Popen(
        place_command(group, command),
        cwd=ROOT,
        env=worker_env(
            database,
            workdir,
            {"DPA_RECORD_EXPORT_QUEUE": "exports", "DPA_RECORD_EXPORT_PAUSE": str(args.pause)},
        ),
        stdout=log,
        stderr=log,
    )


class Sampler(threading.Thread):
    """The worker tree's peak RSS and the highest 1-minute load average, until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_mib, self.peak_load = pid, 0.0, 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak_mib = max(self.peak_mib, tree_rss_mib(self.pid)[0])
            self.peak_load = max(self.peak_load, os.getloadavg()[0])
            time.sleep(0.2)


def server_side(access_log: Path, path: str, start: datetime, end: datetime) -> dict:
    """The public page's own latency in [start, end), as gunicorn logged it: what the
    server spent, without the time a request waited for a worker or for wrk's own turn on
    the CPU (wrk shares the 2 cores; its p99 also holds those waits)."""
    durations = []
    with access_log.open(encoding="utf-8") as lines:
        for line in lines:
            entry = json.loads(line)
            when = datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
            if entry.get("path") == path and start <= when < end:
                durations.append(entry["duration_ms"])
    durations.sort()
    if not durations:
        return {"requests": 0}
    return {
        "requests": len(durations),
        "p50_ms": durations[len(durations) // 2],
        "p99_ms": durations[int(len(durations) * 0.99)],
        "p999_ms": durations[int(len(durations) * 0.999)],
    }


def utcnow() -> datetime:
    return datetime.now(UTC)


def during_job(base: str, token: str, job: dict, public: str, seconds: int) -> tuple:
    """wrk windows on the public list until the job ends; (windows, final job)."""
    windows = []
    while job["status"] in ("queued", "running"):
        windows.append({**wrk(public, connections=8, seconds=seconds), "load": os.getloadavg()})
        job = api(base, f"{EXPORTS}/{job['id']}", token)
        print(f"progress {job['progress']}, public p99 {windows[-1]['p99_ms']} ms", flush=True)
    return windows, job


def run(args: argparse.Namespace) -> dict:
    report: dict = {"args": vars(args), "machine": machine(), "load_before": os.getloadavg()}
    with bench_database() as database:
        with database.connect() as conn:
            started = time.perf_counter()
            clone_customers(conn, "bookero", args.customers)
            report["seed_seconds"] = time.perf_counter() - started
            # Write the bulk load out now, not in a checkpoint in the middle of a window.
            conn.execute("CHECKPOINT")
        # The web server must route the job to the same queue the worker reads.
        database_env = database.env
        queue = {"DPA_RECORD_EXPORT_QUEUE": "exports"}
        database.env = lambda: {**database_env(), **queue}  # type: ignore[method-assign]
        ours = start_ours(database)
        group = cpu_group("dpa-bench-exports", args.cpu_shares) if args.cpu_shares else None
        report["worker_cpu_group"] = str(group) if group else None
        if args.cpu_shares and group is None:
            print("no CPU cgroup could be made here: the worker shares the bench's group")
        worker = start_worker(database, Path(ours.workdir), args, group)
        token = database.keys["BOOKERO_LEGAL_KEY"]
        public = f"{ours.base}/orgs/bookero/subprocessors"
        try:
            time.sleep(8)  # the worker's start
            assert worker.poll() is None, "the worker did not start; see its log"
            fetch(public)
            marks = [utcnow()]
            report["public_before"] = [
                {**wrk(public, connections=8, seconds=args.seconds), "load": os.getloadavg()}
                for _ in range(3)
            ]
            marks.append(utcnow())
            sampler = Sampler(worker.pid)
            sampler.start()
            started = time.perf_counter()
            roles = {"export_worker": worker.pid, "web": ours.proc.pid}
            cpu_before = sample(roles)
            job = api(ours.base, EXPORTS, token, {"format": args.format})
            windows, job = during_job(ours.base, token, job, public, args.seconds)
            report["cpu_share_during"] = shares_between(cpu_before, sample(roles))
            marks.append(utcnow())
            report["job_seconds_polled"] = time.perf_counter() - started
            report["job_seconds"] = seconds_between(job["created_at"], job["finished_at"])
            sampler.done.set()
            report["public_during"] = windows
            report["worker_peak_rss_mib"] = sampler.peak_mib
            report["peak_load_1min"] = sampler.peak_load
            report["job"] = {k: job[k] for k in ("status", "progress", "size", "error")}
            report["download"] = download(job)
            log, page = Path(ours.workdir) / "access.log", "/orgs/bookero/subprocessors"
            report["server_before"] = server_side(log, page, marks[0], marks[1])
            report["server_during"] = server_side(log, page, marks[1], marks[2])
        finally:
            worker.terminate()
            worker.wait(60)
            ours.stop()
            remove_group(group)
    report["load_after"] = os.getloadavg()
    return report


def seconds_between(start: str, end: str | None) -> float | None:
    """The job's own duration, as the service recorded it (polling adds a wrk window)."""
    if end is None:
        return None
    parse = datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))).total_seconds()


def download(job: dict) -> dict:
    if not job.get("download_url"):
        return {}
    started = time.perf_counter()
    status, _, body = fetch(job["download_url"])
    return {"status": status, "bytes": len(body), "seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--format", choices=("json", "csv", "xlsx"), default="xlsx")
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk window")
    parser.add_argument(
        "--nice", type=int, default=0, help="the export worker's niceness (inside its group)"
    )
    parser.add_argument(
        "--pause", type=float, default=0.0, help="seconds the job sleeps after each chunk"
    )
    parser.add_argument(
        "--cpu-shares",
        type=int,
        default=256,
        help="run the worker in a CPU cgroup of this weight (1024 = a default group; "
        "compose's cpu_shares, as docker-compose.yml gives the exports service); 0: no group",
    )
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    report = run(args)
    for phase in ("before", "during"):
        p99s = sorted(w["p99_ms"] for w in report[f"public_{phase}"])
        report[f"public_p99_{phase}"] = {
            "windows": len(p99s),
            "median_ms": median(p99s),
            "max_ms": max(p99s, default=None),
            "under_50_ms": sum(p < 50 for p in p99s),
        }
    (OUT / f"record_export_{args.customers}_{args.format}.json").write_text(
        json.dumps(report, indent=2)
    )
    hidden = ("public_during", "public_before", "machine")
    print(json.dumps({k: v for k, v in report.items() if k not in hidden}, indent=2))


if __name__ == "__main__":
    main()
