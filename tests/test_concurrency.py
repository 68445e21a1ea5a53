"""Requests racing each other on real PostgreSQL: one winner, no duplicate, no 5xx.

Each thread has its own test client (and so its own session and connection); a barrier
releases them together.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.notice_kit import Desk

RACERS = 6


@pytest.fixture
def desk(client, world) -> Desk:
    return Desk(client, world)


def _race(app, method: str, url: str, bodies: list[dict], headers: list[dict]) -> list:
    barrier = threading.Barrier(len(bodies))

    def run(i: int):
        client = app.test_client()
        barrier.wait()
        response = client.open(url, method=method, json=bodies[i], headers=headers[i])
        return response.status_code, response.get_json(silent=True)

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(run, range(len(bodies))))


def test_concurrent_announcements_for_one_vendor_resolve_to_one(app, desk):
    for round_ in range(3):
        vendor = desk.vendor(name=f"Racer {round_}", legal_entity=f"Racer {round_} GmbH")
        body = {"kind": "add", "recipient_id": vendor["id"], "effective_on": desk.day(40)}
        results = _race(app, "POST", desk.url("/changes"), [body] * RACERS, [desk.legal] * RACERS)
        statuses = sorted(status for status, _ in results)
        assert all(status < 500 for status in statuses), results
        assert statuses.count(201) == 1, results
        assert set(statuses) - {201} <= {409, 422}, results
        listed = desk.client.get(
            desk.url("/changes"), query_string={"recipient_id": vendor["id"]}, headers=desk.legal
        ).json
        assert listed["total"] == 1
    assert desk.chain_ok()


def test_concurrent_objections_of_one_customer_file_one(app, desk):
    desk.customer("C1")
    change = desk.add(desk.vendor(name="Mailer", services=["bookings"]), 31)
    key = desk.customers["C1"]["key"]
    url = desk.url(f"/changes/{change['id']}/objections")
    results = _race(
        app, "POST", url, [{"reason": f"no {i}"} for i in range(RACERS)], [key] * RACERS
    )
    statuses = sorted(status for status, _ in results)
    assert all(status < 500 for status in statuses), results
    assert statuses.count(201) == 1, results
    assert desk.objections(change_id=change["id"])["total"] == 1
    assert desk.chain_ok()


def test_concurrent_consents_and_refusals_keep_one_answer(app, desk):
    desk.customer("S1", authorisation="specific")
    change = desk.add(desk.vendor(name="Mailer", services=["bookings"]), 31)
    key = desk.customers["S1"]["key"]
    url = desk.url(f"/changes/{change['id']}/consents")
    bodies = [{"decision": "consent" if i % 2 else "refuse"} for i in range(RACERS)]
    results = _race(app, "POST", url, bodies, [key] * RACERS)
    statuses = sorted(status for status, _ in results)
    assert all(status < 500 for status in statuses), results
    assert statuses.count(201) == 1, results
    assert desk.objections(change_id=change["id"])["total"] == 1
    assert desk.chain_ok()
