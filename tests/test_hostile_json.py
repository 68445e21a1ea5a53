"""Deep and huge JSON, from anonymous callers and from keys, on every operation that takes a
body: always a 4xx problem+json, never a 500 or a traceback in the log.

Operations come from the app's URL map, so an operation added later is covered too.
"""

from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service import create_app
from service.web import MAX_JSON_DEPTH, MAX_NUMBER_LENGTH
from tests.notice_kit import PROBLEM, Desk

WRITES = ("POST", "PUT", "PATCH", "DELETE")
# Values for path parameters: the seeded organization, its first rows, a version label.
PATH_VALUES = {"org": "bookero", "version": "v1"}


def _operations() -> list[tuple[str, str]]:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = rule.rule
        for name in rule.arguments:
            value = PATH_VALUES.get(name, "1")
            path = path.replace(f"<int:{name}>", value).replace(f"<{name}>", value)
        found += [(method, path) for method in sorted(rule.methods & set(WRITES))]
    return sorted(found)


OPERATIONS = _operations()


def _nested(depth: int, opener: str, leaf: str) -> str:
    closer = {"[": "]", '{"a":': "}"}[opener]
    return opener * depth + leaf + closer * depth


def _huge_fields(leaf: str) -> str:
    return f'{{"name": {leaf}, "email": {leaf}}}'


leaves = st.one_of(
    st.just("1"),
    st.integers(MAX_NUMBER_LENGTH + 1, 20_000).map(lambda n: "9" * n),  # huge integer
    st.integers(MAX_NUMBER_LENGTH + 1, 5_000).map(lambda n: "-" + "1" * n),
    st.integers(309, 100_000).map(lambda e: f"1e{e}"),  # a float that overflows
    st.sampled_from(["NaN", "Infinity", "-Infinity"]),
)
hostile = st.builds(
    _nested,
    st.integers(MAX_JSON_DEPTH + 1, 20_000),
    st.sampled_from(["[", '{"a":']),
    leaves,
) | st.builds(_huge_fields, leaves.filter(lambda leaf: leaf != "1"))


@pytest.fixture
def callers(client, world) -> dict[str, dict]:
    desk = Desk(client, world)
    customer = desk.customer("C1")
    desk.listed(offset=0)
    return {"anonymous": {}, "legal": desk.legal, "customer": customer["key"]}


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=hostile)
def test_hostile_json_is_a_client_error(client, callers, caplog, method, path, body):
    for caller, headers in callers.items():
        caplog.clear()
        with caplog.at_level(logging.ERROR):
            response = client.open(
                path, method=method, data=body, content_type="application/json", headers=headers
            )
        assert 400 <= response.status_code < 500, (caller, response.get_data(as_text=True))
        assert response.mimetype == PROBLEM
        assert "Traceback" not in response.get_data(as_text=True)
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caller


def test_every_operation_is_walked():
    assert len(OPERATIONS) >= 25


@pytest.mark.parametrize(
    "body",
    [
        "[" * 600 + "]" * 600,
        '{"email": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"email": "a@b.example", "locale": ' + "9" * 4301 + "}",
        '{"email": "a@b.example", "locale": 1e999}',
    ],
    ids=["600-deep", "100000-deep", "4301-digits", "overflowing-float"],
)
def test_anonymous_subscribe_refuses_deep_and_huge_json_with_400(client, world, body):
    world.org("bookero")
    response = client.post(
        "/api/v1/orgs/bookero/subscriptions", data=body, content_type="application/json"
    )
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    assert response.json["errors"]["json"]


@pytest.mark.parametrize("content_type", ["application/json", "application/x-ndjson"])
def test_the_import_refuses_deep_and_huge_rows(client, world, content_type):
    desk = Desk(client, world)
    deep = '{"external_ref": "A", "name": ' + "[" * 5000 + "]" * 5000 + "}"
    huge = '{"external_ref": "B", "name": "x", "services": ' + "9" * 5000 + "}"
    body = f"[{deep},{huge}]" if content_type == "application/json" else f"{deep}\n{huge}\n"
    response = client.post(
        desk.url("/customers/import"), data=body, content_type=content_type, headers=desk.legal
    )
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
