#!/usr/bin/env bash
# `make test-dates`: the whole suite under Debian's faketime, at the moments where date bugs
# hide. The fake clock covers the whole process tree (the suite, its Celery workers, gunicorn,
# `make run`, Chromium); PostgreSQL and Redis keep the real clock, which is safe because the
# service never asks them for the time (service/clock.py).
#
#   make test-dates                      every moment below, one after the other
#   make test-dates DATES="new-year"     only the named ones (CI runs one)
#   make test-dates ARGS="-x tests/x.py" extra pytest arguments for each run
set -euo pipefail
cd "$(dirname "$0")/.."

# name | moment (UTC; the Warsaw wall time is in the comment) | TZ of the processes
year=$(date -u +%Y)  # the year-end moments are this year's, never in the past
MOMENTS=(
    "today|now|UTC"
    "plus-400-days|+400 days|UTC"
    "leap-day|2028-02-29 12:00:00|UTC"
    # 01:30 in Warsaw, half an hour before the clocks jump from 02:00 CET to 03:00 CEST.
    "spring-forward|2027-03-28 00:30:00|Europe/Warsaw"
    # 02:30 CEST in Warsaw, the first of the two 02:30s before the clocks fall back to CET.
    "fall-back|2027-10-31 00:30:00|Europe/Warsaw"
    # 23:30 on 31 December in Warsaw (22:30 UTC): the last half hour of the local year.
    "new-years-eve|$year-12-31 22:30:00|UTC"
    # 00:30 on 1 January in Warsaw while it is still 31 December in UTC: another date.
    "new-year|$year-12-31 23:30:00|UTC"
)

if ! command -v faketime >/dev/null; then
    sudo=""
    [[ $(id -u) == 0 ]] || sudo="sudo"
    $sudo apt-get update -qq && $sudo apt-get install -y -qq faketime
fi

wanted=" ${DATES:-} "
failed=()
for entry in "${MOMENTS[@]}"; do
    IFS='|' read -r name moment zone <<<"$entry"
    [[ -z "${DATES:-}" || "$wanted" == *" $name "* ]] || continue
    if [[ "$moment" == now ]]; then
        start=$(date -u '+%Y-%m-%d %H:%M:%S')
    else
        start=$(date -u -d "$moment" '+%Y-%m-%d %H:%M:%S')
    fi
    echo "=== make test-dates: $name, the clock starting at $start UTC, TZ=$zone"
    # The fake clock runs on from its start, as a real one would (no frozen time).
    # shellcheck disable=SC2086
    if TZ=UTC faketime "$start" env TZ="$zone" bash scripts/test.sh -q -p no:cacheprovider ${ARGS:-}; then
        echo "=== make test-dates: $name passed"
    else
        echo "=== make test-dates: $name FAILED"
        failed+=("$name")
    fi
done

if ((${#failed[@]})); then
    echo "make test-dates: failed at ${failed[*]}" >&2
    exit 1
fi
