"""Targets 1, 2 and the list half of 5: the lists under gunicorn against a baseline.

    .venv/bin/python bench/http_list.py [--rounds 3] [--seconds 10] [--growth 10,100,1000,10000]

Our app and the baseline (bench/baseline_app.py: the same bytes from memory) run side by
side under gunicorn.conf.py with production settings (DPA_ENV=production, JSON logs to a
file, Prometheus multiprocess metrics); wrk -t2 -c16 alternates between them, round after
round, and the medians are compared. Writes bench/results/http_list.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from common import (
    bench_database,
    clone_vendors,
    fetch,
    machine,
    median,
    start_baseline,
    start_ours,
    wrk,
)

OUT = Path(__file__).resolve().parent / "results"


def compare(cases: dict, baseline_url: str, rounds: int, seconds: int, warmup: int = 2) -> dict:
    """Interleave baseline and every case, `rounds` times; medians per case.

    Each case is first run for `warmup` seconds, not counted: the cache is per process, so
    until every worker has answered once, some render (a 50-vendor list: ~110 ms in a fresh
    process, ~50 ms warm). Without it the first round measured start-up: under load,
    public p99 866 ms in round 1, 90 and 119 ms in rounds 2 and 3 (the baseline's 100,
    88, 110), and the median of 2 rounds is their mean."""
    for url, headers in [(baseline_url, None), *cases.values()]:
        if warmup > 0:
            wrk(url, seconds=warmup, headers=headers)
    runs: dict[str, list[dict]] = {"baseline": [], **{name: [] for name in cases}}
    for n in range(rounds):
        runs["baseline"].append(wrk(baseline_url, seconds=seconds))
        for name, (url, headers) in cases.items():
            runs[name].append(wrk(url, seconds=seconds, headers=headers))
        print(
            f"  round {n + 1}: " + ", ".join(f"{k} {v[-1]['rps']:.0f}/s" for k, v in runs.items())
        )
    summary = {}
    base = median([r["rps"] for r in runs["baseline"]])
    for name, results in runs.items():
        rps = median([r["rps"] for r in results])
        summary[name] = {
            "rps_median": rps,
            "p50_ms_median": median([r["p50_ms"] for r in results]),
            "p99_ms_median": median([r["p99_ms"] for r in results]),
            "ratio_to_baseline": rps / base,
            "non_2xx": sum(r["non_2xx"] for r in results),
            "runs": results,
        }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--growth", default="10,100,1000,10000")
    parser.add_argument("--warmup", type=int, default=2, help="seconds per case, not counted")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    report: dict = {"machine": machine(), "args": vars(args)}
    with bench_database() as database:
        with database.connect() as conn:
            vendors = clone_vendors(conn, "bookero", 50)
        ours = start_ours(database)
        try:
            public = f"{ours.base}/orgs/bookero/subprocessors.json"
            status, headers, body = fetch(public)
            assert status == 200, (status, body[:500])
            etag = headers["ETag"]
            customer = database.scalar(
                "SELECT customer_id FROM api_keys WHERE customer_id IS NOT NULL LIMIT 1"
            )
            own = f"{ours.base}/api/v1/orgs/bookero/customers/{customer}/subprocessors"
            auth = {"Authorization": f"Bearer {database.keys['BOOKERO_CUSTOMER_KEY']}"}
            status, _, own_body = fetch(own, auth)
            assert status == 200, (status, own_body[:500])
            status, _, _ = fetch(public, {"If-None-Match": etag})
            assert status == 304, status
            baseline = start_baseline(database, body, headers)
            try:
                print(f"lists: {vendors} vendors, public JSON {len(body)} bytes")
                report["list"] = {
                    "vendors": vendors,
                    "public_json_bytes": len(body),
                    "own_list_bytes": len(own_body),
                    "results": compare(
                        {
                            "public_json": (public, None),
                            "public_json_304": (public, {"If-None-Match": etag}),
                            "customer_own_list": (own, auth),
                        },
                        f"{baseline.base}/orgs/bookero/subprocessors.json",
                        args.rounds,
                        args.seconds,
                        args.warmup,
                    ),
                }
                (OUT / "http_list.json").write_text(json.dumps(report, indent=2))
            finally:
                baseline.stop()
        finally:
            ours.stop()

    # Cost growth: each size in a fresh server (bodies cached per process), one round each
    # of the cached public JSON and the uncached API list (first page of 50).
    growth = []
    for size in [int(s) for s in args.growth.split(",") if s]:
        with bench_database() as database:
            with database.connect() as conn:
                vendors = clone_vendors(conn, "bookero", size)
            ours = start_ours(database)
            try:
                public = f"{ours.base}/orgs/bookero/subprocessors.json"
                api = f"{ours.base}/api/v1/orgs/bookero/subprocessors?per_page=50"
                _, _, body = fetch(public)
                seconds = max(3, args.seconds // 2)
                row = {"vendors": vendors, "public_json_bytes": len(body)}
                for name, url in (("public_json", public), ("api_page_50", api)):
                    fetch(url)
                    results = [wrk(url, seconds=seconds) for _ in range(args.rounds)]
                    row[name] = {
                        "rps_median": median([r["rps"] for r in results]),
                        "p50_ms_median": median([r["p50_ms"] for r in results]),
                        "p99_ms_median": median([r["p99_ms"] for r in results]),
                    }
                print(f"  growth {row}")
                growth.append(row)
                report["growth"] = growth
                (OUT / "http_list.json").write_text(json.dumps(report, indent=2))
            finally:
                ours.stop()
    report["growth"] = growth
    (OUT / "http_list.json").write_text(json.dumps(report, indent=2))
    plot(growth)
    for name, r in report["list"]["results"].items():
        print(
            f"{name:20s} {r['rps_median']:8.0f} req/s  p99 {r['p99_ms_median']:6.1f} ms  "
            f"ratio {r['ratio_to_baseline']:.2f}  non-2xx/3xx {r['non_2xx']}"
        )


def plot(growth: list[dict]) -> None:
    """bench/list_growth.png from the growth rows, if matplotlib (the `bench` extra) is there."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no matplotlib (pip install -e '.[bench]'): no plot")
        return
    if not growth:
        return
    sizes = [row["vendors"] for row in growth]
    fig, (rps, p99) = plt.subplots(1, 2, figsize=(10, 4))
    for name, label in (("public_json", "public JSON"), ("api_page_50", "API page of 50")):
        rps.plot(sizes, [row[name]["rps_median"] for row in growth], marker="o", label=label)
        # wrk reports no latency when no request finished in its 2 s timeout: left out.
        latency = [(n, row[name]["p99_ms_median"]) for n, row in zip(sizes, growth, strict=True)]
        latency = [(n, ms) for n, ms in latency if ms > 0]
        p99.plot([n for n, _ in latency], [ms for _, ms in latency], marker="o", label=label)
    rps.set_yscale("symlog", linthresh=10)
    for axis, title in ((rps, "requests/s (median of rounds)"), (p99, "p99 latency, ms")):
        axis.set_xscale("log")
        axis.set_xlabel("vendors on the list")
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend()
    p99.set_yscale("log")
    fig.suptitle("List endpoint cost growth (wrk -t2 -c16, gunicorn, 2 cores)")
    fig.tight_layout()
    fig.savefig(Path(__file__).resolve().parent / "list_growth.png", dpi=100)
    print("wrote bench/list_growth.png")


if __name__ == "__main__":
    main()
