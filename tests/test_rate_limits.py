"""Rate limits on subscribing and on the signed-link pages: 429 with Retry-After."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
import redis

from service import ratelimit
from tests.conftest import REDIS_URL
from tests.notice_kit import assert_problem

WINDOW = 3600


@pytest.fixture
def limited(app, monkeypatch, world):
    monkeypatch.setitem(app.config, "RATE_LIMIT_ENABLED", True)
    monkeypatch.setitem(app.config, "RATE_LIMIT_SUBSCRIBE", 3)
    monkeypatch.setitem(app.config, "RATE_LIMIT_LINKS", 4)
    # A long window, so a test's few requests never straddle a window boundary (with 60 s,
    # a run that crossed the minute reset the count and the test saw no 429).
    monkeypatch.setitem(app.config, "RATE_LIMIT_WINDOW_SECONDS", WINDOW)
    world.org("bookero")
    # Counters are per address: each test comes from an address of its own.
    return {"REMOTE_ADDR": f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"}


def test_api_subscribe_is_limited_per_address(client, limited):
    url = "/api/v1/orgs/bookero/subscriptions"
    for i in range(3):
        body = {"email": f"a{i}@example.com", "locale": "en"}
        assert client.post(url, json=body, environ_base=limited).status_code == 202
    refused = client.post(
        url, json={"email": "x@example.com", "locale": "en"}, environ_base=limited
    )
    body = assert_problem(refused, 429)
    assert body["type"].endswith("/rate-limited")
    assert 1 <= int(refused.headers["Retry-After"]) <= WINDOW
    # Another address is not affected.
    other = {"REMOTE_ADDR": "192.0.2.99"}
    assert (
        client.post(
            url, json={"email": "y@example.com", "locale": "en"}, environ_base=other
        ).status_code
        == 202
    )


def test_public_form_subscribe_answers_a_page(client, limited):
    url = "/orgs/bookero/subprocessors/subscribe"
    # A browser sending the form: it asks for HTML, in English.
    browser = {"Accept": "text/html,*/*;q=0.8", "Accept-Language": "en"}
    for i in range(3):
        response = client.post(
            url, data={"email": f"f{i}@example.com"}, headers=browser, environ_base=limited
        )
        assert response.status_code != 429
    last = {"email": "z@example.com"}
    refused = client.post(url, data=last, headers=browser, environ_base=limited)
    assert refused.status_code == 429
    assert refused.mimetype == "text/html"
    assert "Retry-After" in refused.headers
    text = refused.get_data(as_text=True)
    assert '<html lang="en">' in text
    assert "<script" not in text


@pytest.mark.parametrize(
    "path",
    [
        "/orgs/bookero/answers/abc",
        "/orgs/bookero/subscriptions/confirm/abc",
        "/orgs/bookero/unsubscribe/abc",
    ],
)
def test_signed_link_pages_are_limited(client, limited, path):
    for _ in range(4):
        assert client.get(path, environ_base=limited).status_code != 429
    refused = client.post(path, environ_base=limited)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1


def test_public_list_is_not_limited(client, limited):
    for _ in range(10):
        assert client.get("/orgs/bookero/subprocessors", environ_base=limited).status_code == 200
        response = client.get("/api/v1/orgs/bookero/subprocessors", environ_base=limited)
        assert response.status_code == 200


def _config(url: str) -> SimpleNamespace:
    return SimpleNamespace(config={"CELERY_ALWAYS_EAGER": False, "REDIS_URL": url})


def test_counters_are_shared_through_redis():
    key = f"test:{uuid.uuid4().hex}"
    first, second = ratelimit.Limiter(_config(REDIS_URL)), ratelimit.Limiter(_config(REDIS_URL))
    try:
        assert first.hit(key, 60, 1) == 1
        assert second.hit(key, 60, 1) == 2  # another process sees the same count
        assert second.hit(key, 60, 2) == 1  # a new window starts from zero
        ttl = redis.Redis.from_url(REDIS_URL).ttl(f"dpa:ratelimit:{key}:1")
        assert 0 < ttl <= 61
    finally:
        redis.Redis.from_url(REDIS_URL).delete(f"dpa:ratelimit:{key}:1", f"dpa:ratelimit:{key}:2")


def test_without_redis_each_process_counts_for_itself():
    limiter = ratelimit.Limiter(_config("redis://127.0.0.1:1/0"))
    assert [limiter.hit("k", 60, 1) for _ in range(3)] == [1, 2, 3]
