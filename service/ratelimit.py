"""A fixed-window rate limit on the endpoints anyone can call to make the service work.

Subscribing (API and the public page's form) and the portal's sign-in form mail a link,
and the signed-link pages (answers, subscription confirmation, unsubscribe, portal sign-in
links) check a token: both invite
scripted abuse. Each is limited per client address and route, to RATE_LIMIT_SUBSCRIBE and
RATE_LIMIT_LINKS requests per RATE_LIMIT_WINDOW_SECONDS. The counters live in Redis
(REDIS_URL), shared by every process; without Redis (eager mode, or Redis down) each
process counts for itself, which still bounds a single client. The public list and feeds
are not limited: they are cached and cheap. An exceeded limit answers 429 with
Retry-After: problem+json to programs, a page in the reader's language to browsers
(`service.error_pages`).
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from flask import Flask, Response, current_app, request

from service import clock, error_pages, errors

log = logging.getLogger(__name__)

# endpoint -> (methods limited, config setting holding the limit)
LIMITED: dict[str, tuple[frozenset[str], str]] = {
    "subscriptions.Subscriptions": (frozenset({"POST"}), "RATE_LIMIT_SUBSCRIBE"),
    "public.subscribe": (frozenset({"POST"}), "RATE_LIMIT_SUBSCRIBE"),
    "answers.answer_page": (frozenset({"GET", "POST"}), "RATE_LIMIT_LINKS"),
    "agreement_pages.accept_page": (frozenset({"GET", "POST"}), "RATE_LIMIT_LINKS"),
    "subscription_pages.confirm_page": (frozenset({"GET", "POST"}), "RATE_LIMIT_LINKS"),
    "subscription_pages.unsubscribe_page": (frozenset({"GET", "POST"}), "RATE_LIMIT_LINKS"),
    "portal.sign_in_request": (frozenset({"POST"}), "RATE_LIMIT_SIGN_IN"),
    "portal.sign_in_link": (frozenset({"GET", "POST"}), "RATE_LIMIT_LINKS"),
}
_EXTENSION = "dpa_registry.ratelimit"


class _Memory:
    """Per-process counters, the fallback when Redis cannot be used."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int], int] = {}

    def hit(self, key: str, window: int, index: int) -> int:
        with self._lock:
            if len(self._counts) > 10_000:
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= index}
            count = self._counts.get((key, index), 0) + 1
            self._counts[(key, index)] = count
            return count


class Limiter:
    def __init__(self, app: Flask) -> None:
        self.memory = _Memory()
        self._redis: redis.Redis | None = None
        self._redis_down_until = 0.0
        if not app.config["CELERY_ALWAYS_EAGER"]:
            self._redis = redis.Redis.from_url(
                app.config["REDIS_URL"], socket_connect_timeout=0.5, socket_timeout=0.5
            )

    def hit(self, key: str, window: int, index: int) -> int:
        if self._redis is not None and time.monotonic() >= self._redis_down_until:
            name = f"dpa:ratelimit:{key}:{index}"
            try:
                pipe = self._redis.pipeline()
                pipe.incr(name)
                pipe.expire(name, window + 1)
                return int(pipe.execute()[0])
            except redis.RedisError as exc:
                # Counting locally beats refusing everyone or limiting no one; retry later.
                log.warning("rate limit: Redis unavailable, counting in-process: %s", exc)
                self._redis_down_until = time.monotonic() + 30
        return self.memory.hit(key, window, index)


def init_app(app: Flask) -> None:
    app.extensions[_EXTENSION] = Limiter(app)
    app.before_request(_check)


def _check() -> Response | None:
    config = current_app.config
    limited = LIMITED.get(request.endpoint or "")
    if not config["RATE_LIMIT_ENABLED"] or limited is None or request.method not in limited[0]:
        return None
    setting = limited[1]
    window = max(1, int(config["RATE_LIMIT_WINDOW_SECONDS"]))
    now = clock.timestamp()
    index = int(now // window)
    key = f"{request.endpoint}:{request.remote_addr or '-'}"
    count = current_app.extensions[_EXTENSION].hit(key, window, index)
    if count <= int(config[setting]):
        return None
    retry_after = str(max(1, int((index + 1) * window - now)))
    log.info("rate limit exceeded on %s", request.endpoint)
    problem = errors.problem(
        429,
        "Too many requests",
        f"Too many requests from your address; try again in {retry_after} seconds.",
        slug="rate-limited",
        headers={"Retry-After": retry_after},
    )
    # A person opening a link or sending a form reads a page in their language.
    return error_pages.respond(problem, "rate_limited")
