"""Optimistic locking: GET gives an ETag, PATCH with a stale If-Match answers 412."""

from __future__ import annotations

import pytest

from tests.notice_kit import Desk, assert_problem


@pytest.fixture
def desk(client, world) -> Desk:
    return Desk(client, world)


def _resources(desk: Desk) -> dict[str, tuple[str, dict, dict]]:
    """name -> (url, first edit, second edit)"""
    vendor = desk.vendor()
    customer = desk.customer("C1")
    return {
        "organization": (desk.url(""), {"legal_name": "A"}, {"legal_name": "B"}),
        "subprocessor": (
            desk.url(f"/subprocessors/{vendor['id']}"),
            {"website": "https://a.example"},
            {"website": "https://b.example"},
        ),
        "customer": (
            desk.url(f"/customers/{customer['id']}"),
            {"name": "Salon A"},
            {"name": "Salon B"},
        ),
    }


@pytest.mark.parametrize("name", ["organization", "subprocessor", "customer"])
def test_stale_if_match_is_refused_and_a_current_one_accepted(client, desk, name):
    url, first, second = _resources(desk)[name]
    read = client.get(url, headers=desk.legal)
    assert read.status_code == 200
    etag = read.headers["ETag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert client.get(url, headers=desk.legal).headers["ETag"] == etag  # stable

    # Someone else edits in between: the representation, and so the ETag, change.
    edited = client.patch(url, json=first, headers={**desk.legal, "If-Match": etag})
    assert edited.status_code == 200, edited.json
    new_etag = edited.headers["ETag"]
    assert new_etag != etag
    assert client.get(url, headers=desk.legal).headers["ETag"] == new_etag

    stale = client.patch(url, json=second, headers={**desk.legal, "If-Match": etag})
    body = assert_problem(stale, 412)
    assert body["type"].endswith("/precondition-failed")
    after = client.get(url, headers=desk.legal)
    assert after.headers["ETag"] == new_etag  # nothing written
    key = next(iter(first))
    assert after.json[key] == first[key]

    # A list of tags and `*` match as RFC 9110 says; no If-Match is last write wins.
    listed = client.patch(
        url, json=second, headers={**desk.legal, "If-Match": f'"nope", {new_etag}'}
    )
    assert listed.status_code == 200
    assert client.patch(url, json=first, headers={**desk.legal, "If-Match": "*"}).status_code == 200
    assert client.patch(url, json=second, headers=desk.legal).status_code == 200


def test_a_refused_stale_write_leaves_no_audit_event(client, desk):
    url = desk.url("")
    etag = client.get(url).headers["ETag"]
    assert client.patch(url, json={"legal_name": "A"}, headers=desk.legal).status_code == 200
    before = len(desk.audit())
    stale = client.patch(url, json={"legal_name": "B"}, headers={**desk.legal, "If-Match": etag})
    assert_problem(stale, 412)
    assert len(desk.audit()) == before
