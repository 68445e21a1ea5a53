"""The PostgreSQL connection dropped between requests and in the middle of one.

The server really closes the session (pg_terminate_backend from another connection), so
the app meets exactly what a restart, failover or idle-timeout kill looks like.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import event

from service.extensions import db
from tests.notice_kit import Desk, assert_problem


@pytest.fixture
def desk(client, world) -> Desk:
    return Desk(client, world, "home")


def _terminate(database_url: str, pids: list[int] | None = None) -> int:
    """End the sessions `pids` (default: every other session on the test database)."""
    with psycopg.connect(database_url, autocommit=True) as admin:
        if pids is None:
            rows = admin.execute(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
        else:
            rows = [
                admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,)).fetchone()
                for pid in pids
            ]
    return sum(1 for (done,) in rows if done)


@pytest.fixture
def drop_connection_at(app, database_url) -> Iterator:
    """Arm a kill of the request's own connection just before its statement number n."""
    state = {"armed": None, "seen": 0, "killed": False}

    def before(conn, cursor, statement, parameters, context, executemany):
        if state["armed"] is None or state["killed"]:
            return
        state["seen"] += 1
        if state["seen"] == state["armed"]:
            pid = conn.connection.dbapi_connection.info.backend_pid
            state["killed"] = _terminate(database_url, [pid]) == 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)

    def arm(n: int) -> dict:
        state.update(armed=n, seen=0, killed=False)
        return state

    yield arm
    event.remove(engine, "before_cursor_execute", before)


def test_connections_dropped_between_requests_are_replaced(client, desk, database_url):
    assert client.get(desk.url(""), headers=desk.legal).status_code == 200
    assert _terminate(database_url) >= 1
    # pool_pre_ping finds the dead connection and opens another: no error reaches anyone.
    for _ in range(3):
        assert client.get(desk.url("/customers"), headers=desk.legal).status_code == 200


@pytest.mark.parametrize("statement", [1, 2, 3])
def test_a_read_whose_connection_drops_answers_503_then_recovers(
    client, desk, drop_connection_at, statement
):
    customer = desk.customer("C1")
    state = drop_connection_at(statement)
    response = client.get(desk.url(f"/customers/{customer['id']}"), headers=desk.legal)
    assert state["killed"]
    body = assert_problem(response, 503)
    assert body["type"].endswith("/database-unavailable")
    assert response.headers["Retry-After"] == "5"
    assert "Traceback" not in response.get_data(as_text=True)
    drop_connection_at(0)  # disarmed
    again = client.get(desk.url(f"/customers/{customer['id']}"), headers=desk.legal)
    assert again.status_code == 200


def test_a_write_whose_connection_drops_writes_nothing(client, desk, drop_connection_at):
    before = client.get(desk.url("")).json["legal_name"]
    events = len(desk.audit())
    # Kill late in the request: after the key and organization were read, within the write.
    state = drop_connection_at(4)
    response = client.patch(desk.url(""), json={"legal_name": "Changed"}, headers=desk.legal)
    assert state["killed"]
    assert_problem(response, 503)
    drop_connection_at(0)
    assert client.get(desk.url("")).json["legal_name"] == before
    assert len(desk.audit()) == events
    assert desk.chain_ok()
    retried = client.patch(desk.url(""), json={"legal_name": "Changed"}, headers=desk.legal)
    assert retried.status_code == 200
    assert client.get(desk.url("")).json["legal_name"] == "Changed"
