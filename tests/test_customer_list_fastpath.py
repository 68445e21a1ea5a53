"""The WSGI fast path of a customer's own list (service/notices/fastpath.py): its hits are
Flask's answers byte for byte, never stale after any write, never another customer's or
tenant's, never without the key checked in full; everything else goes to Flask."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, text

from service import clock
from service.extensions import db
from service.notices import fastpath
from service.notices.fastpath import CustomerListFastPath
from service.observability import metrics
from service.public import cache
from tests.conftest import bearer, fast_and_flask
from tests.notice_kit import Desk, assert_problem


@pytest.fixture
def desk(client, world) -> Desk:
    return Desk(client, world)


def _layer(app) -> CustomerListFastPath:
    return app.extensions[fastpath.EXTENSION]


@pytest.fixture
def paths(app, monkeypatch):
    """(fast, flask, calls): a client through the fast path, one straight to Flask, and the
    requests the fast path handed to Flask."""
    return fast_and_flask(_layer(app), monkeypatch)


def _answer(response) -> tuple:
    headers = [(k, v) for k, v in response.headers.items() if k != "X-Request-ID"]
    return response.status_code, headers, response.get_data()


def _fast(paths, url: str, headers: dict, method: str = "GET"):
    """The fast path's answer, checked to be its own (Flask not called)."""
    fast, _flask, calls = paths
    calls.clear()
    response = fast.open(url, method=method, headers=headers)
    assert calls == [], "the fast path handed this to Flask"
    return response


def _through_flask(paths, url: str, headers: dict, method: str = "GET"):
    fast, _flask, calls = paths
    calls.clear()
    response = fast.open(url, method=method, headers=headers)
    assert len(calls) == 1, "the fast path answered this itself"
    return response


def test_a_hit_is_flasks_answer_in_one_statement(desk, app, paths, monkeypatch):
    desk.listed(0, name="Hosting")
    mine = desk.customer("MINE")
    url = desk.url(f"/customers/{mine['id']}/subprocessors")
    _fast_client, flask, _calls = paths
    assert _through_flask(paths, url, mine["key"]).status_code == 200  # renders, caches
    theirs = flask.get(url, headers=mine["key"])
    fast = _layer(app)
    reads: list[dict] = []
    read = fast._read
    monkeypatch.setattr(fast, "_read", lambda params: reads.append(params) or read(params))
    seen: list[str] = []

    def note(conn, cursor, statement, *args) -> None:
        seen.append(statement)

    with app.app_context():
        flasks = db.engine
    event.listen(flasks, "before_cursor_execute", note)
    try:
        ours = _fast(paths, url, mine["key"])
    finally:
        event.remove(flasks, "before_cursor_execute", note)
    assert (len(reads), seen) == (1, [])  # key, customer, time zone and tokens together
    assert _answer(ours) == _answer(theirs)
    assert ours.json["items"][0]["name"] == "Hosting"
    assert ours.headers["X-Request-ID"]
    head = _fast(paths, url, mine["key"], "HEAD")
    assert _answer(head) == _answer(flask.head(url, headers=mine["key"]))
    assert head.get_data() == b""


def test_every_write_and_the_date_show_at_once(desk, app, paths, time_machine):
    hosting = desk.listed(0, name="Hosting", services=["bookings"])
    desk.listed(0, name="Payments", services=["payments"])
    mine = desk.customer("MINE", services=("bookings",))
    url = desk.url(f"/customers/{mine['id']}/subprocessors")

    def names(response) -> set[str]:
        assert response.status_code == 200, response.json
        return {item["name"] for item in response.json["items"]}

    _through_flask(paths, url, mine["key"])
    assert names(_fast(paths, url, mine["key"])) == {"Hosting"}
    # The customer side: its services (customers token).
    response = desk.client.patch(
        desk.url(f"/customers/{mine['id']}"),
        json={"services": ["bookings", "payments"]},
        headers=desk.legal,
    )
    assert response.status_code == 200, response.json
    assert names(_through_flask(paths, url, mine["key"])) == {"Hosting", "Payments"}
    assert names(_fast(paths, url, mine["key"])) == {"Hosting", "Payments"}
    # Around the ORM, as another process or a script would write (no event of this process).
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO customer_exclusions (customer_id, recipient_id, since, created_at)"
                " VALUES (:c, :r, :d, now())"
            ),
            {"c": mine["id"], "r": hosting["id"], "d": desk.today()},
        )
        connection.execute(text("UPDATE public_list_versions SET customers_token = 'elsewhere'"))
    assert names(_through_flask(paths, url, mine["key"])) == {"Payments"}
    # The organization's list (list token).
    desk.listed(0, name="Courier", services=["payments"])
    assert names(_through_flask(paths, url, mine["key"])) == {"Payments", "Courier"}
    assert names(_fast(paths, url, mine["key"])) == {"Payments", "Courier"}
    # The organization's midnight: the day is in the key (and in the body).
    time_machine.move_to(clock.now() + timedelta(days=1))
    moved = _through_flask(paths, url, mine["key"])
    assert moved.json["as_of"] == desk.day(0)
    assert _fast(paths, url, mine["key"]).json["as_of"] == desk.day(0)


def test_a_list_with_changes_ahead_is_always_flasks(desk, paths):
    mine = desk.customer("MINE", notice_days=30)
    url = desk.url(f"/customers/{mine['id']}/subprocessors")
    _through_flask(paths, url, mine["key"])
    _fast(paths, url, mine["key"])
    change = desk.add(desk.vendor(name="Mailer", services=["bookings"]), 40)
    for _ in range(2):  # deadlines and answers move with the clock: read every time
        ahead = _through_flask(paths, url, mine["key"]).json["upcoming"]
        assert [u["change"]["id"] for u in ahead] == [change["id"]]
    assert desk.withdraw(change["id"]).status_code == 200
    assert _through_flask(paths, url, mine["key"]).json["upcoming"] == []
    assert _fast(paths, url, mine["key"]).json["upcoming"] == []


def test_keys_are_checked_in_full_and_tenants_kept_apart(desk, world, client, app, paths):
    desk.listed(0, name="Hosting")
    mine = desk.customer("MINE")
    other = desk.customer("OTHER")
    url = desk.url(f"/customers/{mine['id']}/subprocessors")
    for customer in (mine, other):
        own = desk.url(f"/customers/{customer['id']}/subprocessors")
        _through_flask(paths, own, customer["key"])
        assert _fast(paths, own, customer["key"]).status_code == 200
    token = mine["key"]["Authorization"].removeprefix("Bearer ")
    prefix = token.split("_")[1]
    stranger = Desk(client, world, slug="bezkalkulatora")
    theirs = stranger.customer("X")
    cases = [
        (other["key"], url, 404),  # another customer's key, though its own list is cached
        (theirs["key"], url, 404),  # another tenant's customer
        (mine["key"], f"/api/v1/orgs/bezkalkulatora/customers/{mine['id']}/subprocessors", 404),
        (desk.legal, url, 200),  # legal staff: Flask (due diligence shown)
        ({}, url, 401),
        (bearer(f"dpa_{prefix}_{'A' * 43}"), url, 401),  # a forged secret on a known prefix
        (bearer(token + "x"), url, 401),
        (bearer(token[:-1]), url, 401),
        ({"Authorization": f"bearer {token}"}, url, 200),  # Flask's to parse
        ({"Authorization": f"Bearer {token} "}, url, 200),
        (mine["key"], url + "?as_of=" + desk.day(0), 200),
        (mine["key"], url + "/", 404),
        (mine["key"], url.replace(f"/{mine['id']}/", f"/0{mine['id']}/"), 200),
        (mine["key"], desk.url(f"/customers/{2**40}/subprocessors"), 404),
    ]
    for headers, address, status in cases:
        response = _through_flask(paths, address, headers)
        assert response.status_code == status, (headers, address)
    for method in ("POST", "PUT", "DELETE", "OPTIONS"):
        assert _through_flask(paths, url, mine["key"], method).status_code in (200, 405)
    # Revoked through another process (around this one's events): refused at once, with no
    # max age, since the key is read with the tokens.
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(
            text("UPDATE api_keys SET revoked_at = now() WHERE prefix = :p"), {"p": prefix}
        )
    assert_problem(_through_flask(paths, url, mine["key"]), 401)
    own = desk.url(f"/customers/{other['id']}/subprocessors")
    assert _fast(paths, own, other["key"]).status_code == 200


def test_errors_and_dropped_connections_fall_through(desk, app, paths, monkeypatch):
    mine = desk.customer("MINE")
    url = desk.url(f"/customers/{mine['id']}/subprocessors")
    _through_flask(paths, url, mine["key"])
    _fast(paths, url, mine["key"])
    fast = _layer(app)
    with fast.engine.connect() as connection:
        pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})
    assert _through_flask(paths, url, mine["key"]).status_code == 200
    assert _fast(paths, url, mine["key"]).status_code == 200  # a new connection

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(fastpath, "_admits", broken)
    assert _through_flask(paths, url, mine["key"]).status_code == 200


def test_fast_answers_are_counted_and_carry_request_ids(desk, paths, monkeypatch):
    mine = desk.customer("MINE")
    url = desk.url(f"/customers/{mine['id']}/subprocessors")
    _through_flask(paths, url, mine["key"])
    seen: list[tuple] = []
    monkeypatch.setattr(metrics, "observe_request", lambda *args: seen.append(args[:3]))
    hit = _fast(paths, url, {**mine["key"], "X-Request-ID": "caller-1"})
    _fast(paths, url, mine["key"], "HEAD")
    rule = "/api/v1/orgs/<org>/customers/<int:customer_id>/subprocessors"
    assert seen == [("GET", rule, 200), ("HEAD", rule, 200)]
    assert hit.headers["X-Request-ID"] == "caller-1"
    forged = _fast(paths, url, {**mine["key"], "X-Request-ID": "bad id;<x>"})
    assert forged.headers["X-Request-ID"] != "bad id;<x>"


def test_nothing_cached_means_flask(desk, paths):
    mine = desk.customer("MINE")
    url = desk.url(f"/customers/{mine['id']}/subprocessors")
    _through_flask(paths, url, mine["key"])
    cache.customer_lists.clear()
    _through_flask(paths, url, mine["key"])
    cache.nothing_ahead.clear()
    _through_flask(paths, url, mine["key"])
    assert _fast(paths, url, mine["key"]).status_code == 200


def test_the_fast_path_can_be_switched_off():
    from service import create_app

    layer = create_app({"TESTING": True, "CUSTOMER_LIST_FAST_PATH": False}).wsgi_app
    while layer is not None:
        assert not isinstance(layer, CustomerListFastPath)
        layer = getattr(layer, "wsgi_app", None)
