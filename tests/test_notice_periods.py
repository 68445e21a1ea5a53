"""The notice-period check of an announcement: each source of the notice a customer is owed
(its agreement, its agreement version, the organization, an emergency clause's minimum)
still refuses a date that leaves it too little, while an announcement that leaves everyone
room reads no customer's row (the request's cost does not grow with the customers)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from service.extensions import db
from service.mail import delivery
from tests.notice_kit import Desk, assert_problem

LONG = 40  # days owed by the customer each case makes short
ROOM = 10  # days the refused date leaves


def _customer(desk: Desk, ref: str, agreement: dict, services=("bookings",)) -> dict:
    body = {
        "external_ref": ref,
        "name": f"Salon {ref}",
        "services": list(services),
        "contacts": [{"email": f"{ref.lower()}@salon.example", "locale": "pl"}],
        "agreement": agreement,
    }
    response = desk.client.post(desk.url("/customers"), json=body, headers=desk.legal)
    assert response.status_code == 201, response.json
    return response.json


def _version(desk: Desk, notice_days: int) -> int:
    body = {
        "version": "v2",
        "effective_on": desk.day(0),
        "notice_days": notice_days,
        "publish": True,
        "texts": [{"language": "en", "text": "# DPA", "summary": "The terms."}],
    }
    response = desk.client.post(desk.url("/agreements"), json=body, headers=desk.legal)
    assert response.status_code == 201, response.json
    return response.json["id"]


def _long_terms(desk: Desk, source: str) -> dict:
    """Agreement terms under which a customer is owed LONG days by `source` alone."""
    if source == "negotiated":
        return {"notice_days": LONG}
    if source == "version":
        return {"agreement_version_id": _version(desk, LONG)}
    if source == "organization":
        return {}
    return {"notice_days": 5, "emergency_clause": True, "emergency_notice_days": LONG}


@pytest.mark.parametrize("source", ["negotiated", "version", "organization", "emergency"])
def test_a_notice_longer_than_the_date_leaves_is_refused_whatever_its_source(client, world, source):
    default = LONG if source == "organization" else 5
    desk = Desk(client, world, "acme", default_notice_days=default)
    terms = _long_terms(desk, source)
    _customer(desk, "SHORT", terms)
    # Owed as much, but not held to it: consent instead of objection, or not concerned.
    _customer(desk, "SPEC", {**terms, "authorisation": "specific"})
    _customer(desk, "ELSEWHERE", terms, services=("payments",))
    _customer(desk, "FINE", {"notice_days": 5, "emergency_clause": True})
    mailer = desk.vendor(name="Mailer", services=["bookings"])
    urgent = {"urgent": True, "urgent_justification": "Provider shut down"}
    body = {
        "kind": "add",
        "recipient_id": mailer["id"],
        **(urgent if source == "emergency" else {}),
    }

    refused = assert_problem(desk.announce(**body, effective_on=desk.day(ROOM)), 422)
    assert [c["external_ref"] for c in refused["customers_short_of_notice"]] == ["SHORT"]
    assert refused["customers_short_of_notice"][0]["notice_days"] == LONG
    assert refused["customers_short_of_notice_total"] == 1
    assert refused["earliest_allowed"] == desk.day(LONG)
    assert desk.announce(**body, effective_on=desk.day(LONG)).status_code == 201


def _rows_read(statements: list[tuple[str, object]], tables: set[str]) -> dict[str, int]:
    """Rows each of `tables` yielded to the plans of the SELECT `statements`, run again
    under EXPLAIN ANALYZE in a transaction rolled back."""
    found = dict.fromkeys(tables, 0)

    def walk(node: dict) -> None:
        if node.get("Relation Name") in tables:
            found[node["Relation Name"]] += node["Actual Rows"] * node["Actual Loops"]
        for child in node.get("Plans", ()):
            walk(child)

    with db.engine.connect() as conn:
        for sql, params in statements:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor = conn.connection.cursor()
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
            walk(cursor.fetchone()[0][0]["Plan"])
            conn.rollback()
    return found


def test_an_announcement_that_leaves_everyone_room_reads_no_customer(
    client, world, app, monkeypatch
):
    desk = Desk(client, world)
    for n in range(12):
        desk.customer(f"C{n}", notice_days=30, emergency=n % 2 == 0)
    mailer = desk.vendor(name="Mailer")
    seen: list[tuple[str, object]] = []

    def note(_conn, _cursor, statement, parameters, _context, _many) -> None:
        seen.append((statement, parameters))

    # The fan-out (in process in tests) reads every concerned customer; the request must not.
    monkeypatch.setattr(delivery, "drain", lambda: None)
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        change = desk.add(mailer, 45)
    finally:
        event.remove(engine, "before_cursor_execute", note)
    customer_tables = {"customers", "customer_agreements", "customer_services"}
    with app.app_context():
        assert _rows_read(seen, customer_tables) == dict.fromkeys(customer_tables, 0)
        # The audience is the fan-out's to record, once it has written the notices.
        assert not db.session.scalar(
            text("SELECT count(*) FROM audit_events WHERE action = 'change.notices_written'")
        )
    monkeypatch.undo()
    with app.app_context():
        delivery.drain()
        recorded = db.session.execute(
            text(
                "SELECT entity_id, after FROM audit_events WHERE action = 'change.notices_written'"
            )
        ).all()
    assert [(r.entity_id, r.after["notices"]) for r in recorded] == [(str(change["id"]), 12)]


@pytest.mark.parametrize("source", ["negotiated", "emergency"])
def test_the_notice_check_refuses_on_sqlite_too(tmp_path, source):
    """`make run` uses SQLite, which has no LATERAL: there the candidates are read with IN,
    and the same customer is refused (the LATERAL statement failed there: a 500)."""
    from flask_migrate import upgrade

    from service import create_app
    from tests.conftest import World

    lite = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'notices.sqlite3'}",
            "CELERY_ALWAYS_EAGER": True,
            "PUBLIC_STATE_MAX_AGE_SECONDS": 0.0,
            "KEY_CACHE_MAX_AGE_SECONDS": 0.0,
        }
    )
    lite.instance_path = str(tmp_path)
    with lite.app_context():
        upgrade()
    try:
        desk = Desk(lite.test_client(), World(lite), "acme", default_notice_days=5)
        _customer(desk, "SHORT", _long_terms(desk, source))
        _customer(desk, "FINE", {"notice_days": 5, "emergency_clause": True})
        mailer = desk.vendor(name="Mailer", services=["bookings"])
        urgent = {"urgent": True, "urgent_justification": "Provider shut down"}
        body = {"kind": "add", "recipient_id": mailer["id"]}
        body |= urgent if source == "emergency" else {}
        refused = assert_problem(desk.announce(**body, effective_on=desk.day(ROOM)), 422)
        assert [c["external_ref"] for c in refused["customers_short_of_notice"]] == ["SHORT"]
        assert desk.announce(**body, effective_on=desk.day(LONG)).status_code == 201
    finally:
        with lite.app_context():
            db.engine.dispose()
