from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select, text

from service.audit import services as audit
from service.audit.models import AuditEvent
from service.errors import Conflict, NotFound, ValidationFailed
from service.extensions import db
from service.keys import services as keys
from service.keys.models import ApiKey
from tests.conftest import bearer

PROTECTED = "/api/v1/orgs/bookero/customers"


def test_created_key_authenticates(client, world, org):
    token = world.key("legal", org)
    assert token.startswith("dpa_")
    response = client.get(PROTECTED, headers=bearer(token))
    assert response.status_code == 200
    # The scheme name is case-insensitive (RFC 9110).
    assert client.get(PROTECTED, headers={"Authorization": f"bearer {token}"}).status_code == 200


def test_keys_are_stored_only_as_sha256(app, world, org):
    token = world.key("legal", org)
    with app.app_context():
        rows = db.session.execute(text("SELECT * FROM api_keys")).mappings().all()
    assert len(rows) == 1
    row = rows[0]
    secret = token.split("_", 2)[2]
    for column, value in row.items():
        assert token not in str(value), column
        assert secret not in str(value), column
    assert row["secret_sha256"] == hashlib.sha256(token.encode()).hexdigest()
    assert row["prefix"] == token.split("_")[1]
    assert row["role"] == "legal"
    assert row["organization_id"] == org["id"]


def test_keys_are_unique_and_high_entropy(world, org):
    tokens = {world.key("legal", org) for _ in range(5)}
    assert len(tokens) == 5
    assert len({t.split("_")[1] for t in tokens}) == 5
    assert all(len(t.split("_", 2)[2]) >= 43 for t in tokens)  # 32 random bytes


def test_revoked_key_is_refused(app, client, world, org):
    token = world.key("legal", org)
    with app.app_context():
        keys.revoke_key(token.split("_")[1], actor="test")
        db.session.commit()
    response = client.get(PROTECTED, headers=bearer(token))
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    # A revoked key is not anonymity either: public endpoints refuse it too.
    assert client.get("/api/v1/orgs/bookero", headers=bearer(token)).status_code == 401


def test_right_prefix_wrong_secret_is_refused(client, world, org):
    token = world.key("legal", org)
    prefix = token.split("_")[1]
    forged = f"dpa_{prefix}_{'A' * 43}"
    assert client.get(PROTECTED, headers=bearer(forged)).status_code == 401
    assert client.get(PROTECTED, headers=bearer(token + "x")).status_code == 401
    assert client.get(PROTECTED, headers=bearer(token[:-1])).status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        "Basic x",
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer ",
        "Bearer    ",
        "Token dpa_x_y",
        "dpa_abc_def",
        "Bearer nonsense",
        "Bearer dpa__",
        "Bearer xyz_abc_def",
    ],
)
def test_malformed_authorization_is_401(client, org, header):
    response = client.get(PROTECTED, headers={"Authorization": header})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    # Even on a public endpoint: a bad credential is an error, not anonymity.
    assert client.get("/api/v1/orgs/bookero", headers={"Authorization": header}).status_code == 401


def test_key_prefix_alone_or_with_correct_secret_from_other_key(client, world, org):
    one = world.key("legal", org)
    two = world.key("legal", org)
    spliced = "dpa_" + one.split("_")[1] + "_" + two.split("_", 2)[2]
    assert client.get(PROTECTED, headers=bearer(spliced)).status_code == 401


def test_key_creation_and_revocation_are_audited(app, client, world, org):
    token = world.key("legal", org)
    prefix = token.split("_")[1]
    with app.app_context():
        key = db.session.scalars(select(ApiKey)).one()
        keys.revoke_key(prefix, actor="cli:operator")
        db.session.commit()
        events = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.organization_id == org["id"], AuditEvent.entity_type == "api_key")
            .order_by(AuditEvent.seq)
        ).all()
        assert [e.action for e in events] == ["key.created", "key.revoked"]
        assert all(e.entity_id == str(key.id) for e in events)
        created, revoked = events
        assert created.after["prefix"] == prefix
        assert created.after["role"] == "legal"
        assert token not in str(created.after)
        assert revoked.actor == "cli:operator"
        assert revoked.before == {"revoked_at": None}
        assert revoked.after["revoked_at"] is not None
        assert audit.verify_chain(org["id"]).ok


def test_revoking_twice_or_unknown_prefix(app, world, org):
    token = world.key("legal", org)
    prefix = token.split("_")[1]
    with app.app_context():
        keys.revoke_key(prefix, actor="test")
        db.session.commit()
        with pytest.raises(Conflict):
            keys.revoke_key(prefix, actor="test")
        with pytest.raises(NotFound):
            keys.revoke_key("000000000000", actor="test")
        other = {"id": org["id"] + 1000}
        with pytest.raises(NotFound):
            keys.revoke_key(prefix, actor="test", organization_id=other["id"])


def test_admin_key_creation_lands_in_deployment_chain(app, client, world, org):
    token = world.key("admin")
    with app.app_context():
        key = db.session.scalars(select(ApiKey).where(ApiKey.role == "admin")).one()
        assert key.organization_id is None
        events = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.entity_type == "api_key", AuditEvent.entity_id == str(key.id)
            )
        ).all()
        assert [(e.organization_id, e.action) for e in events] == [
            (audit.DEPLOYMENT_CHAIN, "key.created")
        ]
        assert audit.verify_chain(audit.DEPLOYMENT_CHAIN).ok
    with app.app_context():
        keys.revoke_key(token.split("_")[1], actor="cli:operator")
        db.session.commit()
        actions = db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.organization_id == audit.DEPLOYMENT_CHAIN)
            .order_by(AuditEvent.seq)
        ).all()
        assert actions[-2:] == ["key.created", "key.revoked"]
        assert audit.verify_chain(audit.DEPLOYMENT_CHAIN).ok
    assert client.get(PROTECTED, headers=bearer(token)).status_code == 401


def test_admin_key_works_across_organizations(client, world, org):
    token = world.key("admin")
    # The admin key works across organizations.
    assert client.get(PROTECTED, headers=bearer(token)).status_code == 200
    other = world.org("bezkalkulatora")
    assert (
        client.get(f"/api/v1/orgs/{other['slug']}/customers", headers=bearer(token)).status_code
        == 200
    )
    # Admin key events do not show in an organization's trail.
    trail = client.get("/api/v1/orgs/bookero/audit", headers=bearer(token)).json["items"]
    assert [e for e in trail if e["entity_type"] == "api_key"] == []


def test_audit_actor_is_the_key_name_and_prefix(app, client, world, org):
    with app.app_context():
        _, token = keys.create_key(
            role="legal", name="  Anna DPO ", organization_id=org["id"], actor="test"
        )
        db.session.commit()
    response = client.patch(
        "/api/v1/orgs/bookero", json={"dpo_name": "Anna"}, headers=bearer(token)
    )
    assert response.status_code == 200
    trail = client.get(
        "/api/v1/orgs/bookero/audit",
        query_string={"action": "organization.updated"},
        headers=bearer(token),
    ).json["items"]
    # Named after its holder, with the key's prefix: two holders of one name stay apart.
    assert [e["actor"] for e in trail] == [f"legal:Anna DPO [{token.split('_')[1]}]"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"role": "owner", "name": "x", "organization_id": None}, "role"),
        ({"role": "legal", "name": "   ", "organization_id": "ORG"}, "name"),
        ({"role": "legal", "name": "x", "organization_id": None}, "organization_id"),
        ({"role": "admin", "name": "x", "organization_id": "ORG"}, "organization_id"),
        ({"role": "customer", "name": "x", "organization_id": "ORG"}, "customer_id"),
        (
            {"role": "legal", "name": "x", "organization_id": "ORG", "customer_id": "CUST"},
            "customer_id",
        ),
    ],
)
def test_create_key_refuses_bad_scopes(app, client, world, org, kwargs, field):
    legal = bearer(world.key("legal", org))
    customer = client.post(
        PROTECTED, json={"external_ref": "c1", "name": "Salon"}, headers=legal
    ).json
    kwargs = {
        k: org["id"] if v == "ORG" else customer["id"] if v == "CUST" else v
        for k, v in kwargs.items()
    }
    with app.app_context():
        with pytest.raises(ValidationFailed) as caught:
            keys.create_key(actor="test", **kwargs)
        assert field in caught.value.errors
        db.session.rollback()
        assert db.session.scalars(select(ApiKey)).all() != []  # only the fixture's legal key
        assert len(db.session.scalars(select(ApiKey)).all()) == 1


def test_customer_key_must_belong_to_a_customer_of_its_organization(app, client, world, org):
    other = world.org("bezkalkulatora")
    other_legal = bearer(world.key("legal", other))
    foreign = client.post(
        "/api/v1/orgs/bezkalkulatora/customers",
        json={"external_ref": "f1", "name": "Foreign"},
        headers=other_legal,
    ).json
    with app.app_context():
        with pytest.raises(ValidationFailed) as caught:
            keys.create_key(
                role="customer",
                name="x",
                organization_id=org["id"],
                customer_id=foreign["id"],
                actor="test",
            )
        assert "customer_id" in caught.value.errors
