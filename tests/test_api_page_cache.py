"""Pages of the API's list and diff as anyone may read them are kept per process under the
list token (service/recipients/pages.py `cached`): the same bytes as rendering them, served
without rendering, and never after a write to anything they show."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import event, text

from service.extensions import db
from service.recipients import pages
from tests.notice_kit import Desk


@pytest.fixture
def desk(client, world) -> Desk:
    desk = Desk(client, world, "paged")
    for name in ("Alfa", "Beta", "Gamma"):
        desk.listed(offset=0, name=name, legal_entity=f"{name} Ltd", country="FR")
    return desk


@pytest.fixture
def statements(app):
    seen: list[str] = []
    with app.app_context():
        engine = db.engine
    listener = lambda *args: seen.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    yield seen
    event.remove(engine, "before_cursor_execute", listener)


def _get(desk: Desk, path: str, **query) -> bytes:
    response = desk.client.get(desk.url(path), query_string=query)
    assert response.status_code == 200, response.json
    assert response.mimetype == "application/json"
    return response.get_data()


QUESTIONS = [
    ("/subprocessors", {"per_page": 2}),
    ("/subprocessors", {"per_page": 2, "page": 2}),
    ("/subprocessors", {"per_page": 50, "as_of": -5}),
    ("/subprocessors", {"per_page": 50, "as_of": -20}),
    ("/subprocessors/diff", {"from": -20, "to": 0}),
    ("/subprocessors/diff", {"from": -20, "to": 0, "per_page": 2}),
    ("/subprocessors/diff", {"from": -20, "to": 0, "per_page": 2, "page": 2}),
]


def _asked(desk: Desk, query: dict) -> dict:
    dated = {"as_of", "from", "to"}
    return {k: desk.day(v) if k in dated else v for k, v in query.items()}


def test_a_kept_page_is_what_rendering_sends_and_costs_one_statement(desk, statements, monkeypatch):
    for path, query in QUESTIONS:
        asked = _asked(desk, query)
        first = _get(desk, path, **asked)
        statements.clear()
        assert _get(desk, path, **asked) == first
        # The key check, the token: one statement (and a pre-ping, where the pool does one).
        assert len([s for s in statements if "list_versions" in s]) == 1, statements
        assert not [s for s in statements if "recipients" in s], statements
        with monkeypatch.context() as undo:  # the objects, through flask-smorest's own dump
            undo.setattr(pages, "fast", lambda: False)
            assert json.loads(_get(desk, path, **asked)) == json.loads(first)
    # Every question has its own entry: no two of them answered alike.
    answers = {_get(desk, path, **_asked(desk, q)) for path, q in QUESTIONS}
    assert len(answers) == len(QUESTIONS)


def test_a_write_through_the_api_or_around_it_is_seen_at_once(desk, app):
    def names() -> list[str]:
        return [i["name"] for i in desk.client.get(desk.url("/subprocessors")).json["items"]]

    def diff() -> dict:
        dates = {"from": desk.day(-20), "to": desk.day(0)}
        return desk.client.get(desk.url("/subprocessors/diff"), query_string=dates).json

    assert names() == ["Alfa", "Beta", "Gamma"] == names()
    assert [i["name"] for i in diff()["added"]] == ["Alfa", "Beta", "Gamma"]
    desk.listed(offset=0, name="Delta", legal_entity="Delta Ltd", country="FR")
    assert names() == ["Alfa", "Beta", "Delta", "Gamma"]
    assert [i["name"] for i in diff()["added"]] == ["Alfa", "Beta", "Delta", "Gamma"]
    with app.app_context():  # raw SQL another process might run
        db.session.execute(text("UPDATE recipients SET listed_from = NULL WHERE name = 'Beta'"))
        db.session.commit()
    assert names() == ["Alfa", "Delta", "Gamma"]
    assert [i["name"] for i in diff()["added"]] == ["Alfa", "Delta", "Gamma"]


def test_legal_staff_and_filters_are_never_served_a_kept_page(desk):
    public = desk.client.get(desk.url("/subprocessors")).json
    as_legal = desk.client.get(desk.url("/subprocessors"), headers=desk.legal).json
    assert "controller_contexts" not in public["items"][0]
    assert "controller_contexts" in as_legal["items"][0]
    filtered = desk.client.get(desk.url("/subprocessors"), query_string={"country": "JP"}).json
    assert filtered["items"] == []


def test_a_page_rendered_by_one_process_serves_the_others_through_redis(desk, statements):
    from service.public import cache

    asked = _asked(desk, {"from": -20, "to": 0, "per_page": 2})
    first = _get(desk, "/subprocessors/diff", **asked)
    cache.api_pages.clear()  # as another process finds it: nothing of its own
    statements.clear()
    assert _get(desk, "/subprocessors/diff", **asked) == first
    assert not [s for s in statements if "recipients" in s], statements
    assert len(cache.api_pages) == 1  # kept in this process from then on


def test_with_redis_down_pages_are_rendered_and_kept_per_process(desk, app, monkeypatch):
    from service.public import cache

    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens
    monkeypatch.setattr(cache, "shared_pages", cache.SharedBodies())
    cache.api_pages.clear()
    first = _get(desk, "/subprocessors", per_page=2)
    assert cache.shared_pages._down_until > 0  # gave up on Redis for a while
    cache.api_pages.clear()
    assert _get(desk, "/subprocessors", per_page=2) == first


def test_sharing_can_be_turned_off(desk, app, monkeypatch, statements):
    from service.public import cache

    monkeypatch.setitem(app.config, "API_PAGE_SHARE_SECONDS", 0)
    first = _get(desk, "/subprocessors", per_page=3)
    cache.api_pages.clear()
    statements.clear()
    assert _get(desk, "/subprocessors", per_page=3) == first
    assert [s for s in statements if "recipients" in s]  # rendered again


def test_pages_share_at_most_their_budget_of_redis_per_period(desk, app, monkeypatch, statements):
    """Redis is also the broker and never evicts: whatever dates and pages are asked for,
    the bytes shared per period stay within the budget; past it, pages stay per process."""
    import redis

    from service.public import cache

    period = 7777  # a period of its own: its counter holds only this test's pages
    monkeypatch.setitem(app.config, "API_PAGE_SHARE_SECONDS", period)
    client = redis.Redis.from_url(app.config["REDIS_URL"])
    client.delete(*client.keys(f"dpa:page:bytes:{period}:*") or ["-"])
    size = len(_get(desk, "/subprocessors", per_page=1, as_of=desk.day(1)))
    monkeypatch.setitem(app.config, "API_PAGE_SHARE_MAX_BYTES", size * 2)

    def shared(**query) -> bool:
        first = _get(desk, "/subprocessors", **query)
        cache.api_pages.clear()
        statements.clear()
        assert _get(desk, "/subprocessors", **query) == first
        return not [s for s in statements if "recipients" in s]

    assert shared(per_page=1, as_of=desk.day(2))  # within the budget: 2 pages
    assert not shared(per_page=1, as_of=desk.day(3))  # past it: kept in the process only
    assert client.ttl(client.keys(f"dpa:page:bytes:{period}:*")[0]) > period
