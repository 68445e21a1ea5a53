"""Every endpoint of an organization x every kind of caller, from one table of expectations.

A new endpoint under /api/v1/orgs/<org> fails `test_every_endpoint_has_an_entry` until it is
given a row here: that is the point. Kinds:

- public: anyone, a key of the organization included; a key of another organization 404s.
- legal: the organization's legal staff and admins; anonymous 401, its customers 403.
- customer: the organization's customer keys only; anonymous 401, legal staff 403.
- customer_or_legal: legal staff, admins, and the customer named in the path (another
  customer of the same organization gets 404).
- any_key: every key of the organization and admins; anonymous 401.

Every key of another organization gets 404 everywhere and never a byte of this
organization's data.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from service import clock
from tests.conftest import bearer
from tests.notice_kit import Desk

PREFIX = "/api/v1/orgs/<org>"

EXPECTED: dict[tuple[str, str], str] = {
    ("GET", ""): "public",
    ("PATCH", ""): "legal",
    ("GET", "/agreements"): "public",
    ("POST", "/agreements"): "legal",
    ("GET", "/agreements/<version>"): "public",
    ("PATCH", "/agreements/<version>"): "legal",
    ("DELETE", "/agreements/<version>"): "legal",
    ("GET", "/agreements/<version>/acceptances"): "legal",
    ("POST", "/agreements/<version>/acceptances"): "customer",
    ("POST", "/agreements/<version>/publish"): "legal",
    ("GET", "/activities"): "legal",
    ("POST", "/activities"): "legal",
    ("GET", "/activities/<int:activity_id>"): "legal",
    ("PATCH", "/activities/<int:activity_id>"): "legal",
    ("DELETE", "/activities/<int:activity_id>"): "legal",
    ("GET", "/audit"): "legal",
    ("GET", "/audit/verification"): "legal",
    ("GET", "/changes"): "public",
    ("POST", "/changes"): "legal",
    ("GET", "/changes/<int:change_id>"): "public",
    ("POST", "/changes/<int:change_id>/consents"): "customer",
    ("GET", "/changes/<int:change_id>/notices"): "legal",
    ("POST", "/changes/<int:change_id>/objections"): "customer",
    ("POST", "/changes/<int:change_id>/withdraw"): "legal",
    ("GET", "/compliance"): "legal",
    ("POST", "/controller/import"): "legal",
    ("GET", "/controller-recipients"): "legal",
    ("POST", "/controller-recipients"): "legal",
    ("GET", "/controller-recipients/<int:controller_recipient_id>"): "legal",
    ("PATCH", "/controller-recipients/<int:controller_recipient_id>"): "legal",
    ("DELETE", "/controller-recipients/<int:controller_recipient_id>"): "legal",
    ("GET", "/customers"): "legal",
    ("POST", "/customers"): "legal",
    ("GET", "/customers/me"): "any_key",
    ("GET", "/customers/<int:customer_id>"): "customer_or_legal",
    ("PATCH", "/customers/<int:customer_id>"): "legal",
    ("GET", "/customers/<int:customer_id>/agreement-evidence"): "customer_or_legal",
    ("GET", "/customers/<int:customer_id>/annex"): "customer_or_legal",
    ("PATCH", "/customers/<int:customer_id>/legal-hold"): "legal",
    ("GET", "/customers/<int:customer_id>/notices"): "customer_or_legal",
    ("POST", "/customers/<int:customer_id>/offboarding"): "legal",
    ("GET", "/customers/<int:customer_id>/subprocessors"): "customer_or_legal",
    ("GET", "/customers/<int:customer_id>/subprocessors/diff"): "customer_or_legal",
    ("GET", "/customers/<int:customer_id>/webhooks"): "customer_or_legal",
    ("POST", "/customers/<int:customer_id>/webhooks"): "customer_or_legal",
    ("DELETE", "/customers/<int:customer_id>/webhooks/<int:webhook_id>"): "customer_or_legal",
    ("POST", "/customers/import"): "legal",
    ("GET", "/keys"): "legal",
    ("POST", "/keys"): "legal",
    ("DELETE", "/keys/<prefix>"): "legal",
    ("GET", "/objections"): "legal",
    ("POST", "/objections/<int:objection_id>/resolution"): "legal",
    ("POST", "/objections/<int:objection_id>/withdrawal"): "customer",
    ("GET", "/privacy-policy"): "legal",
    ("GET", "/privacy-policy-section"): "public",
    ("GET", "/record"): "legal",
    ("GET", "/record/controller"): "legal",
    ("POST", "/record/exports"): "legal",
    ("GET", "/record/exports/<int:export_id>"): "legal",
    # The signed link is the credential; without a valid one every caller meets 404.
    ("GET", "/record/exports/<int:export_id>/download"): "public",
    ("GET", "/retention"): "legal",
    ("GET", "/services"): "public",
    ("POST", "/services"): "legal",
    ("GET", "/subprocessors"): "public",
    ("POST", "/subprocessors"): "legal",
    ("GET", "/subprocessors/<int:recipient_id>"): "public",
    ("PATCH", "/subprocessors/<int:recipient_id>"): "legal",
    ("GET", "/subprocessors/<int:recipient_id>/scc-annex-iii"): "legal",
    ("GET", "/subprocessors/<int:recipient_id>/transfer-assessments"): "legal",
    ("POST", "/subprocessors/<int:recipient_id>/transfer-assessments"): "legal",
    ("GET", "/subprocessors/diff"): "public",
    ("GET", "/subprocessors/export"): "public",
    ("POST", "/subprocessors/import"): "legal",
    ("POST", "/subprocessors/history/import"): "legal",
    ("DELETE", "/subscriptions"): "legal",
    ("POST", "/subscriptions"): "public",
}

CONTROLLER_RECIPIENT = {
    "name": "Secretprocessor",
    "legal_entity": "Secretprocessor GmbH",
    "country": "DE",
    "role": "processor",
    "locations": [{"country": "DE", "mechanism": "none"}],
}
ACTIVITY = {
    "key": "secret-activity",
    "name_pl": "Newsletter",
    "name_en": "Newsletter",
    "purposes_en": ["Newsletter"],
    "legal_bases": ["6(1)(a)"],
}

CALLERS = (
    "anonymous",
    "legal",
    "customer",
    "other customer",
    "admin",
    "stranger legal",
    "stranger customer",
)
# Who may pass the access rule of each kind (may: any answer but 401/403, 404 only for a
# missing object; may not: the status named).
REFUSED: dict[str, dict[str, int]] = {
    "public": {"stranger legal": 404, "stranger customer": 404},
    "legal": {
        "anonymous": 401,
        "customer": 403,
        "other customer": 403,
        "stranger legal": 404,
        "stranger customer": 404,
    },
    "customer": {
        "anonymous": 401,
        "legal": 403,
        "admin": 403,
        "stranger legal": 404,
        "stranger customer": 404,
    },
    "any_key": {"anonymous": 401, "stranger legal": 404, "stranger customer": 404},
    "customer_or_legal": {
        "anonymous": 401,
        "other customer": 404,
        "stranger legal": 404,
        "stranger customer": 404,
    },
}


def _org_rules(app) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule == PREFIX or rule.rule.startswith(PREFIX + "/"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                found.add((method, rule.rule.removeprefix(PREFIX)))
    return found


def test_every_endpoint_has_an_entry(app):
    found = _org_rules(app)
    assert found - EXPECTED.keys() == set(), "new endpoints need a row in EXPECTED"
    assert EXPECTED.keys() - found == set(), "EXPECTED names endpoints that are gone"


@pytest.fixture
def setup(client, world) -> dict:
    desk = Desk(client, world, "home")
    customer = desk.customer("C1")
    desk.customer("C2")
    vendor = desk.listed(offset=0, name="Secretvendor", legal_entity="Secretvendor GmbH")
    change = desk.add(desk.vendor(name="Othervendor", legal_entity="Othervendor SA"), 40)
    published = client.post(
        desk.url("/agreements"),
        json={
            "version": "v1",
            "effective_on": desk.day(0),
            "texts": [{"language": "en", "text": "Terms."}],
            "publish": True,
        },
        headers=desk.legal,
    )
    assert published.status_code == 201, published.json
    recipient = client.post(
        desk.url("/controller-recipients"), json=CONTROLLER_RECIPIENT, headers=desk.legal
    )
    assert recipient.status_code == 201, recipient.json
    activity = client.post(
        desk.url("/activities"),
        json={**ACTIVITY, "recipient_ids": [recipient.json["id"]]},
        headers=desk.legal,
    )
    assert activity.status_code == 201, activity.json
    stranger = world.org("stranger")
    stranger_customer = Desk(client, world, "stranger-two").customer("S1")
    keys = {
        "anonymous": {},
        "legal": desk.legal,
        "customer": desk.customers["C1"]["key"],
        "other customer": desk.customers["C2"]["key"],
        "admin": bearer(world.key("admin")),
        "stranger legal": bearer(world.key("legal", stranger)),
        "stranger customer": stranger_customer["key"],
    }
    values = {
        "org": "home",
        "customer_id": customer["id"],
        "change_id": change["id"],
        "recipient_id": vendor["id"],
        "objection_id": 1,
        "webhook_id": 1,
        "export_id": 1,
        "prefix": "nosuchkey",
        "version": "v1",
        "activity_id": activity.json["id"],
        "controller_recipient_id": recipient.json["id"],
    }
    secrets = ("Secretvendor", "Salon C1", "c1@", "Secretprocessor", "secret-activity")
    return {"keys": keys, "values": values, "secrets": secrets}


def _url(rule: str, values: dict) -> str:
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), PREFIX + rule)
    # Queries an endpoint requires, so that an allowed caller gets past validation.
    if path.endswith("/diff"):
        today = clock.local_today("Europe/Warsaw")
        path += f"?from={today - timedelta(days=365)}&to={today + timedelta(days=365)}"
    return path


@pytest.mark.parametrize(("method", "rule"), sorted(EXPECTED))
def test_authorization_matrix(client, setup, method, rule):
    kind = EXPECTED[(method, rule)]
    url = _url(rule, setup["values"])
    deleted = False
    for caller in CALLERS:
        headers = setup["keys"][caller]
        body = {} if method in {"POST", "PATCH", "DELETE"} else None
        response = client.open(url, method=method, json=body, headers=headers)
        status = response.status_code
        where = f"{method} {url} as {caller}: {status} {response.get_data(as_text=True)[:300]}"
        assert status < 500, where
        refused = REFUSED[kind].get(caller)
        if refused is not None:
            assert status == refused, where
            text = response.get_data(as_text=True)
            assert not any(secret in text for secret in setup["secrets"]), where
        else:
            assert status not in {401, 403}, where
            deleted = deleted or (method == "DELETE" and status == 204)
            if status == 404 and not deleted:
                # Allowed callers meet 404 only for an object the setup does not have.
                assert any(
                    name in rule for name in ("objection_id", "webhook_id", "export_id", "prefix")
                ), where
