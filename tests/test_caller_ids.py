"""The ids an integrator needs and cannot otherwise find: a key's own customer
(`GET /customers/me`) and the agreement version ids customers are linked by."""

from __future__ import annotations

from tests.conftest import bearer
from tests.notice_kit import Desk, assert_problem


def test_a_customer_key_finds_its_own_customer_and_uses_the_id(client, world):
    desk = Desk(client, world)
    desk.customer("BK-0001")
    mine = desk.customer("BK-0002")
    me = client.get(desk.url("/customers/me"), headers=mine["key"])
    assert me.status_code == 200, me.json
    assert me.json["role"] == "customer"
    assert me.json["organization"] == "bookero"
    assert me.json["customer"] == {
        "id": mine["id"],
        "external_ref": "BK-0002",
        "name": "Salon BK-0002",
    }
    # The id it learnt opens its own resources.
    own = client.get(desk.url(f"/customers/{me.json['customer']['id']}"), headers=mine["key"])
    assert own.status_code == 200
    assert own.json["external_ref"] == "BK-0002"


def test_every_key_learns_its_role_and_no_key_is_refused(client, world):
    desk = Desk(client, world)
    legal = client.get(desk.url("/customers/me"), headers=desk.legal)
    assert legal.status_code == 200
    assert (legal.json["role"], legal.json["customer"]) == ("legal", None)
    assert legal.json["key_prefix"]
    admin = client.get(desk.url("/customers/me"), headers=bearer(world.key("admin")))
    assert (admin.json["role"], admin.json["customer"]) == ("admin", None)
    assert_problem(client.get(desk.url("/customers/me")), 401)
    # A key of another organization learns nothing here.
    other = Desk(client, world, "bezkalkulatora")
    assert_problem(client.get(desk.url("/customers/me"), headers=other.legal), 404)


def test_agreement_versions_show_the_ids_customers_are_linked_by(client, world):
    desk = Desk(client, world)
    body = {
        "version": "2027-01",
        "effective_on": desk.day(0),
        "publish": True,
        "texts": [
            {"language": "en", "text": "Terms."},
            {"language": "pl", "text": "Warunki."},
        ],
    }
    assert client.post(desk.url("/agreements"), json=body, headers=desk.legal).status_code == 201
    listed = client.get(desk.url("/agreements")).json["items"]
    ids = {text["language"]: text["id"] for text in listed[0]["texts"]}
    assert listed[0]["id"] in ids.values()
    assert len(set(ids.values())) == 2
    # A customer linked by one of those ids shows it back.
    linked = desk.customer("BK-0003", agreement={"agreement_version_id": ids["pl"]})
    assert linked["agreement"]["agreement_version_id"] == ids["pl"]
    one = client.get(desk.url("/agreements/2027-01")).json
    assert {text["id"] for text in one["texts"]} == set(ids.values())
