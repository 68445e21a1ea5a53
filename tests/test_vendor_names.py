"""One vendor per name as a reader sees it, by API and by import alike; one-line fields
hold no control, format or bidi characters."""

from __future__ import annotations

import pytest

from service.recipients.names import name_key
from tests.conftest import vendor

VENDORS = "/api/v1/orgs/bookero/subprocessors"
LOOK_ALIKES = {
    "same": "Stripe",
    "upper case": "STRIPE",
    "cyrillic S": "\u0405tripe",
    "full width": "\uff33\uff54\uff52\uff49\uff50\uff45",
    "zero-width space": "Stri\u200bpe",
    "right-to-left override": "\u202eStripe",
    "soft hyphen": "Stri\u00adpe",
    "extra spaces": "  Stripe ",
    "math bold": "\U0001d412\U0001d42d\U0001d42b\U0001d422\U0001d429\U0001d41e",
}
DIFFERENT = ["Stripe Payments", "Strip", "Stripe Inc."]


@pytest.mark.parametrize("name", list(LOOK_ALIKES.values()), ids=list(LOOK_ALIKES))
def test_look_alikes_share_the_key(name):
    assert name_key(name) == name_key("Stripe")


@pytest.mark.parametrize("name", DIFFERENT)
def test_other_names_do_not(name):
    assert name_key(name) != name_key("Stripe")


def _names(client, legal) -> list[str]:
    response = client.get(VENDORS, query_string={"status": "proposed"}, headers=legal)
    return [item["name"] for item in response.json["items"]]


@pytest.mark.parametrize("name", list(LOOK_ALIKES.values()), ids=list(LOOK_ALIKES))
def test_the_api_and_the_import_refuse_the_same_look_alikes(client, legal, name):
    assert client.post(VENDORS, json=vendor(name="Stripe"), headers=legal).status_code == 201
    by_api = client.post(VENDORS, json=vendor(name=name), headers=legal)
    assert by_api.status_code in (409, 422), by_api.json
    assert "name" in by_api.json["errors"]
    by_import = client.post(f"{VENDORS}/import", json=[vendor(name=name)], headers=legal)
    assert by_import.status_code == 422, by_import.json
    assert "name" in by_import.json["errors"]["rows"][0]["errors"]
    assert _names(client, legal) == ["Stripe"]


def test_a_rename_into_a_look_alike_is_refused_and_a_vendor_keeps_its_own(client, legal):
    client.post(VENDORS, json=vendor(name="Stripe"), headers=legal)
    other = client.post(VENDORS, json=vendor(name="Adyen"), headers=legal).json
    renamed = client.patch(f"{VENDORS}/{other['id']}", json={"name": "STRIPE"}, headers=legal)
    assert renamed.status_code == 409, renamed.json
    same = client.patch(f"{VENDORS}/{other['id']}", json={"name": "ADYEN"}, headers=legal)
    assert same.status_code == 200, same.json


def test_an_import_refuses_look_alikes_within_the_file(client, legal):
    body = [vendor(name="Stripe"), vendor(name="\u0405TRIPE")]
    response = client.post(f"{VENDORS}/import", json=body, headers=legal)
    assert response.status_code == 422, response.json
    assert response.json["errors"]["rows"][0]["row"] == 2


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\tb", "a\u2028b", "a\u202eb", "a\u2066b"])
@pytest.mark.parametrize(
    ("path", "field", "body"),
    [
        (VENDORS, "name", vendor),
        (VENDORS, "legal_entity", vendor),
        ("/api/v1/orgs/bookero/customers", "name", lambda **kw: {"external_ref": "C", **kw}),
    ],
)
def test_one_line_fields_refuse_control_and_format_characters(
    client, legal, bad, path, field, body
):
    response = client.post(path, json=body(**{field: bad}), headers=legal)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]


def test_a_change_reason_is_one_line(client, legal, world, org):
    recipient = client.post(VENDORS, json=vendor(), headers=legal).json
    response = client.post(
        "/api/v1/orgs/bookero/changes",
        json={
            "kind": "add",
            "recipient_id": recipient["id"],
            "effective_on": world.day(org, 60),
            "reason": "Cheaper\r\nBcc: victim@example.org",
        },
        headers=legal,
    )
    assert response.status_code == 422, response.json
    assert "reason" in response.json["errors"]
