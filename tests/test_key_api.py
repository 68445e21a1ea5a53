from __future__ import annotations

from tests.conftest import bearer


def _customer(client, org: dict, legal: str, ref: str = "C-1") -> int:
    response = client.post(
        f"/api/v1/orgs/{org['slug']}/customers",
        json={"external_ref": ref, "name": "Salon", "contacts": [{"email": "a@salon.example"}]},
        headers=bearer(legal),
    )
    assert response.status_code == 201, response.json
    return response.json["id"]


def test_legal_creates_a_customer_key_that_sees_only_its_customer(client, world):
    org = world.org()
    legal = world.key("legal", org)
    mine = _customer(client, org, legal, "C-1")
    other = _customer(client, org, legal, "C-2")

    created = client.post(
        "/api/v1/orgs/bookero/keys",
        json={"role": "customer", "name": "Salon owner", "customer_id": mine},
        headers=bearer(legal),
    )
    assert created.status_code == 201
    token = created.json["key"]
    assert token.startswith("dpa_" + created.json["prefix"] + "_")

    assert (
        client.get(f"/api/v1/orgs/bookero/customers/{mine}", headers=bearer(token)).status_code
        == 200
    )
    assert (
        client.get(f"/api/v1/orgs/bookero/customers/{other}", headers=bearer(token)).status_code
        == 404
    )

    listing = client.get("/api/v1/orgs/bookero/keys", headers=bearer(legal)).json
    assert created.json["prefix"] in {k["prefix"] for k in listing["items"]}
    assert all("key" not in k for k in listing["items"])


def test_revoked_key_is_refused_at_once_and_revocation_is_audited(client, world):
    org = world.org()
    legal = world.key("legal", org)
    created = client.post(
        "/api/v1/orgs/bookero/keys", json={"role": "legal", "name": "DPO"}, headers=bearer(legal)
    ).json
    headers = bearer(created["key"])
    assert client.get("/api/v1/orgs/bookero/customers", headers=headers).status_code == 200

    revoked = client.delete(f"/api/v1/orgs/bookero/keys/{created['prefix']}", headers=bearer(legal))
    assert revoked.status_code == 200
    assert revoked.json["revoked_at"]
    refused = client.get("/api/v1/orgs/bookero/customers", headers=headers)
    assert refused.status_code == 401
    assert refused.mimetype == "application/problem+json"
    again = client.delete(f"/api/v1/orgs/bookero/keys/{created['prefix']}", headers=bearer(legal))
    assert again.status_code == 409

    actions = [
        e["action"]
        for e in client.get("/api/v1/orgs/bookero/audit", headers=bearer(legal)).json["items"]
    ]
    assert "key.revoked" in actions


def test_customer_key_needs_a_customer_of_this_organization(client, world):
    org, other = world.org("bookero"), world.org("other")
    legal, other_legal = world.key("legal", org), world.key("legal", other)
    foreign_customer = _customer(client, other, other_legal)
    missing = client.post(
        "/api/v1/orgs/bookero/keys", json={"role": "customer", "name": "x"}, headers=bearer(legal)
    )
    assert missing.status_code == 422
    assert "customer_id" in missing.json["errors"]
    foreign = client.post(
        "/api/v1/orgs/bookero/keys",
        json={"role": "customer", "name": "x", "customer_id": foreign_customer},
        headers=bearer(legal),
    )
    assert foreign.status_code == 422
    admin = client.post(
        "/api/v1/orgs/bookero/keys", json={"role": "admin", "name": "x"}, headers=bearer(legal)
    )
    assert admin.status_code == 422  # admin keys come from the CLI only


def test_keys_of_one_organization_cannot_touch_another(client, world):
    org, other = world.org("bookero"), world.org("other")
    legal, other_legal = world.key("legal", org), world.key("legal", other)
    created = client.post(
        "/api/v1/orgs/bookero/keys", json={"role": "legal", "name": "DPO"}, headers=bearer(legal)
    ).json
    assert client.get("/api/v1/orgs/bookero/keys", headers=bearer(other_legal)).status_code == 404
    attempt = client.delete(
        f"/api/v1/orgs/bookero/keys/{created['prefix']}", headers=bearer(other_legal)
    )
    assert attempt.status_code == 404
    # Through its own organization's path, the prefix of a foreign key is unknown too.
    attempt = client.delete(
        f"/api/v1/orgs/other/keys/{created['prefix']}", headers=bearer(other_legal)
    )
    assert attempt.status_code == 404
    assert (
        client.get("/api/v1/orgs/bookero/keys", headers=bearer(created["key"])).status_code == 200
    )
