#!/usr/bin/env bash
# `make bench`: every benchmark, ours against its baseline in the same run. Needs wrk,
# PostgreSQL at TEST_DATABASE_URL (databases are created and dropped) and Redis at
# BENCH_REDIS_URL (databases 11 and 12). Figures land in bench/results/; see bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")"
PY=../.venv/bin/python
command -v wrk >/dev/null || { echo "make bench: wrk is needed (apt-get install wrk)" >&2; exit 2; }
mkdir -p results
$PY -u http_list.py "$@"
$PY -u announce.py --workers 1,2   # scale-out: the same e-mails with two worker processes
$PY -u large_registry.py
$PY -u record_export.py  # the record of 100,000 customers as a job, beside the public list
