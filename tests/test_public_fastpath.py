"""The WSGI fast path in front of Flask (service/public/fastpath.py): for the public list's
cache hits and 304s it answers exactly as Flask does, counted and logged the same, and it
hands everything else to Flask."""

# ruff: noqa: F811 - the fixtures imported from tests/test_public.py are parameters here
from __future__ import annotations

from datetime import timedelta

import pytest

from service import clock
from service.observability import metrics
from service.public import fastpath
from service.public.fastpath import PublicFastPath
from tests.conftest import bearer, fast_and_flask
from tests.test_public import listed, org, page_url, remembered  # noqa: F401 - fixtures


@pytest.fixture
def paths(app, monkeypatch, remembered):
    """(fast, flask, calls): a client through the fast path, one straight to Flask, and the
    requests the fast path handed to Flask."""
    assert isinstance(app.wsgi_app, PublicFastPath)
    return fast_and_flask(app.wsgi_app, monkeypatch)


def _answer(response) -> tuple:
    headers = [(k, v) for k, v in response.headers.items() if k != "X-Request-ID"]
    return response.status_code, headers, response.get_data()


def _same(paths, url: str, method: str = "GET", **kwargs) -> tuple:
    fast, flask, calls = paths
    calls.clear()
    ours = fast.open(url, method=method, **kwargs)
    theirs = flask.open(url, method=method, **kwargs)
    assert calls == [], "the fast path handed this to Flask"
    assert _answer(ours) == _answer(theirs)
    assert ours.headers["X-Request-ID"]
    return _answer(ours)


@pytest.mark.parametrize(
    ("suffix", "headers"),
    [
        (".json", {}),
        (".csv", {}),
        ("", {}),
        ("", {"Accept-Language": "en-GB,en;q=0.8"}),
        ("", {"Accept-Language": "de, pl;q=0.5"}),
        ("?lang=en", {"Accept-Language": "pl"}),
        ("?lang=pl", {}),
        ("atom", {"Accept-Language": "en"}),
        ("atom?lang=pl", {}),
    ],
)
def test_hits_304s_and_heads_are_flasks_answers(
    client, world, org, legal, paths, suffix, headers, time_machine
):
    listed(client, world, org, legal)
    # Last-Modified is only sent for writes before the current second: be a minute later.
    time_machine.move_to(clock.now() + timedelta(minutes=1))
    url = (
        f"/orgs/{org['slug']}/changes.atom{suffix[4:]}"
        if suffix.startswith("atom")
        else (page_url(org, suffix))
    )
    _fast, flask, _calls = paths
    first = flask.get(url, headers=headers)  # renders and caches the body
    assert first.headers["X-Cache"] == "miss"
    status, hit_headers, body = _same(paths, url, headers=headers)
    assert (status, dict(hit_headers)["X-Cache"], body) == (200, "hit", first.get_data())
    assert "Last-Modified" in dict(hit_headers)
    assert _same(paths, url, "HEAD", headers=headers)[2] == b""
    etag = first.headers["ETag"]
    for conditional in (
        {"If-None-Match": etag},
        {"If-None-Match": f'"other", {etag}'},
        {"If-Modified-Since": first.headers["Last-Modified"]},
    ):
        status, revalidated, body = _same(paths, url, headers={**headers, **conditional})
        assert (status, body) == (304, b"")
        assert dict(revalidated)["ETag"] == etag
    assert _same(paths, url, "HEAD", headers={**headers, "If-None-Match": etag})[0] == 304
    # A stale validator gets the body.
    assert _same(paths, url, headers={**headers, "If-None-Match": '"stale"'})[0] == 200


def test_anything_unusual_goes_to_flask(client, world, org, legal, paths, remembered):
    fast, _flask, calls = paths
    slug = org["slug"]
    assert fast.get(f"/orgs/{slug}/subprocessors.json").status_code == 200  # no state yet
    assert calls == [f"/orgs/{slug}/subprocessors.json"]
    listed(client, world, org, legal)  # a write in this process drops the states
    fast.get(f"/orgs/{slug}/subprocessors.csv")  # state read, body rendered: through Flask
    etag = fast.get(f"/orgs/{slug}/subprocessors.json").headers["ETag"]
    calls.clear()
    cases = [
        ("GET", f"/orgs/{slug}/subprocessors", {}, 200),  # the page's body is not cached yet
        ("GET", f"/orgs/{slug}/subprocessors.json", legal, 200),  # a key: checked in full
        ("GET", f"/orgs/{slug}/subprocessors.json", bearer("nope"), 401),
        ("GET", f"/orgs/{slug}/subprocessors.json?x=1", {}, 200),
        ("GET", f"/orgs/{slug}/subprocessors?lang=de", {}, 200),
        ("GET", f"/orgs/{slug}/subprocessors?lang=en&x=1", {}, 200),
        ("GET", f"/orgs/{slug}/subprocessors.json/", {}, 404),
        ("GET", f"/orgs/{slug}/subprocessors/x", {}, 404),
        ("GET", "/orgs/Bad%00Slug/subprocessors.json", {}, 404),
        ("GET", "/orgs/nobody/subprocessors.json", {}, 404),
        ("POST", f"/orgs/{slug}/subprocessors.json", {}, 405),
        ("OPTIONS", f"/orgs/{slug}/subprocessors.json", {}, 200),
    ]
    for method, url, headers, status in cases:
        calls.clear()
        response = fast.open(url, method=method, headers=headers)
        assert (response.status_code, len(calls)) == (status, 1), (method, url)
    # Stale state: Flask reads it again (and then the fast path can answer again).
    remembered["now"] += 5
    calls.clear()
    conditional = {"If-None-Match": etag}
    assert fast.get(f"/orgs/{slug}/subprocessors.json", headers=conditional).status_code == 304
    assert len(calls) == 1
    assert fast.get(f"/orgs/{slug}/subprocessors.json", headers=conditional).status_code == 304
    assert len(calls) == 1
    # Mounted under a prefix: not ours to answer.
    calls.clear()
    fast.get(f"/orgs/{slug}/subprocessors.json", environ_overrides={"SCRIPT_NAME": "/x"})
    assert len(calls) == 1


def test_an_error_in_the_fast_path_falls_through(client, world, org, legal, paths, monkeypatch):
    fast, _flask, calls = paths
    listed(client, world, org, legal)
    fast.get(page_url(org, ".json"))
    calls.clear()

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(fastpath, "is_resource_modified", broken)  # used by the fast path only
    response = fast.get(page_url(org, ".json"))
    assert (response.status_code, calls) == (200, [page_url(org, ".json")])


def test_fast_answers_are_counted_and_carry_request_ids(
    client, world, org, legal, paths, monkeypatch
):
    fast, _flask, calls = paths
    listed(client, world, org, legal)
    etag = fast.get(page_url(org, ".json")).headers["ETag"]
    seen: list[tuple] = []
    monkeypatch.setattr(
        metrics,
        "observe_request",
        lambda *args: seen.append(args[:3]),
    )
    calls.clear()
    hit = fast.get(page_url(org, ".json"), headers={"X-Request-ID": "caller-1"})
    head = fast.head(page_url(org, ".json"))
    revalidated = fast.get(page_url(org, ".json"), headers={"If-None-Match": etag})
    assert calls == []
    assert seen == [
        ("GET", "/orgs/<org>/subprocessors.json", 200),
        ("HEAD", "/orgs/<org>/subprocessors.json", 200),
        ("GET", "/orgs/<org>/subprocessors.json", 304),
    ]
    # The request id is what gunicorn's access log records (gunicorn.conf.py, JsonLogger).
    assert hit.headers["X-Request-ID"] == "caller-1"
    assert head.headers["X-Request-ID"] != revalidated.headers["X-Request-ID"]
    forged = fast.get(page_url(org, ".json"), headers={"X-Request-ID": "bad id;<x>"})
    assert forged.headers["X-Request-ID"] != "bad id;<x>"


def test_the_fast_path_can_be_switched_off():
    from service import create_app

    assert not isinstance(
        create_app({"TESTING": True, "PUBLIC_FAST_PATH": False}).wsgi_app, PublicFastPath
    )
