"""The suite's own separation when pytest-xdist runs it in several processes."""

from __future__ import annotations

import pytest

from tests.conftest import _redis_of_this_worker


@pytest.mark.parametrize(
    ("worker", "url", "expected"),
    [
        (None, "redis://127.0.0.1:6379/14", "redis://127.0.0.1:6379/14"),
        ("gw0", "redis://127.0.0.1:6379/14", "redis://127.0.0.1:6379/14"),
        ("gw1", "redis://127.0.0.1:6379/14", "redis://127.0.0.1:6379/15"),
        ("gw2", "redis://127.0.0.1:6379/14", "redis://127.0.0.1:6379/0"),
        ("gw1", "redis://:secret@host:7000/3", "redis://:secret@host:7000/4"),
        ("gw1", "redis://127.0.0.1:6379", "redis://127.0.0.1:6379/1"),
    ],
)
def test_each_process_has_its_own_redis_database(monkeypatch, worker, url, expected):
    if worker is None:
        monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    else:
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
    assert _redis_of_this_worker(url) == expected
