from __future__ import annotations

import pytest
from sqlalchemy import select, text

from service.audit.models import AuditEvent
from service.extensions import db
from service.keys.models import ApiKey
from tests.conftest import bearer


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args: str):
        return runner.invoke(args=list(args))

    return invoke


def create_org(cli, slug: str = "salonowo", *extra: str):
    return cli(
        "orgs",
        "create",
        "--slug",
        slug,
        "--legal-name",
        f"{slug} sp. z o.o.",
        "--country",
        "PL",
        "--contact-email",
        f"legal@{slug}.example",
        *extra,
    )


def key_lines(result) -> list[str]:
    return result.stdout.splitlines()


def test_orgs_create_then_legal_key_works_against_the_api(cli, client):
    result = create_org(cli, "salonowo", "--timezone", "Europe/Berlin")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "salonowo"
    org = client.get("/api/v1/orgs/salonowo").json
    assert org["timezone"] == "Europe/Berlin"

    result = cli("keys", "create", "--org", "salonowo", "--role", "legal")
    assert result.exit_code == 0, result.output
    lines = key_lines(result)
    assert len(lines) == 1
    token = lines[0]
    assert token.startswith("dpa_")
    assert token == token.strip()
    response = client.get("/api/v1/orgs/salonowo/customers", headers=bearer(token))
    assert response.status_code == 200
    audit = client.get("/api/v1/orgs/salonowo/audit", headers=bearer(token)).json["items"]
    assert [(e["action"], e["actor"]) for e in reversed(audit)] == [
        ("organization.created", "cli:operator"),
        ("key.created", "cli:operator"),
    ]
    # The default holder name is the actor of what the key does.
    assert audit[0]["after"]["name"] == "legal@salonowo"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--slug", "Bad Slug"), "slug"),
        (("--country", "Poland"), "country"),
        (("--timezone", "Mars/Base"), "timezone"),
        (("--residency-policy", "moon"), "residency_policy"),
    ],
)
def test_orgs_create_validates(app, cli, args, message):
    base = {
        "--slug": "salonowo",
        "--legal-name": "Salonowo",
        "--country": "PL",
        "--contact-email": "a@salonowo.example",
    }
    options = dict(base)
    options.update(dict(zip(args[::2], args[1::2], strict=True)))
    result = cli("orgs", "create", *[x for kv in options.items() for x in kv])
    assert result.exit_code != 0
    assert message in result.stderr
    assert result.stdout == ""
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM organizations")).scalar() == 0


def test_orgs_create_duplicate_slug_fails(cli):
    assert create_org(cli).exit_code == 0
    result = create_org(cli)
    assert result.exit_code != 0
    assert "salonowo" in result.stderr


def test_customer_key_needs_a_customer_of_that_org(app, cli, client, world):
    org = world.org("bookero")
    other = world.org("bezkalkulatora")
    legal = bearer(world.key("legal", org))
    other_legal = bearer(world.key("legal", other))
    own = client.post(
        "/api/v1/orgs/bookero/customers",
        json={"external_ref": "c1", "name": "Salon"},
        headers=legal,
    ).json
    foreign = client.post(
        "/api/v1/orgs/bezkalkulatora/customers",
        json={"external_ref": "c1", "name": "Foreign"},
        headers=other_legal,
    ).json
    with app.app_context():
        keys_before = db.session.execute(text("SELECT count(*) FROM api_keys")).scalar()

    for args in (
        ("--role", "customer", "--org", "bookero"),
        ("--role", "customer", "--org", "bookero", "--customer", str(foreign["id"])),
        ("--role", "customer", "--org", "bookero", "--customer", "999999"),
        ("--role", "customer", "--customer", str(own["id"])),
        ("--role", "legal", "--org", "bookero", "--customer", str(own["id"])),
        ("--role", "legal"),
        ("--role", "legal", "--org", "nobody"),
        ("--role", "admin", "--org", "bookero"),
        ("--role", "owner", "--org", "bookero"),
    ):
        result = cli("keys", "create", *args)
        assert result.exit_code != 0, args
        assert result.stdout == "", args
        assert result.stderr.strip(), args
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM api_keys")).scalar() == keys_before

    result = cli(
        "keys", "create", "--role", "customer", "--org", "bookero", "--customer", str(own["id"])
    )
    assert result.exit_code == 0, result.output
    token = key_lines(result)[0]
    own_url = f"/api/v1/orgs/bookero/customers/{own['id']}"
    assert client.get(own_url, headers=bearer(token)).status_code == 200
    assert client.get("/api/v1/orgs/bookero/customers", headers=bearer(token)).status_code == 403


def test_customer_key_by_the_customers_reference(cli, client, world):
    org = world.org("bookero")
    legal = bearer(world.key("legal", org))

    def customer(ref: str) -> dict:
        url = "/api/v1/orgs/bookero/customers"
        return client.post(url, json={"external_ref": ref, "name": ref}, headers=legal).json

    salon, other = customer("BK-0002"), customer("BK-0003")
    result = cli(
        "keys", "create", "--role", "customer", "--org", "bookero", "--customer", "BK-0002"
    )
    assert result.exit_code == 0, result.output
    token = key_lines(result)[0]
    salon_url = f"/api/v1/orgs/bookero/customers/{salon['id']}"
    assert client.get(salon_url, headers=bearer(token)).status_code == 200
    other_url = f"/api/v1/orgs/bookero/customers/{other['id']}"
    assert client.get(other_url, headers=bearer(token)).status_code in (403, 404)

    # A reference that is also another customer's id is refused, never guessed.
    customer(str(other["id"]))
    ambiguous = cli(
        "keys", "create", "--role", "customer", "--org", "bookero", "--customer", str(other["id"])
    )
    assert ambiguous.exit_code != 0
    assert "reference of customer" in ambiguous.stderr
    unknown = cli("keys", "create", "--role", "customer", "--org", "bookero", "--customer", "BK-9")
    assert unknown.exit_code != 0
    assert "BK-9" in unknown.stderr


def test_admin_key_from_cli(app, cli, client):
    result = cli("keys", "create", "--role", "admin", "--name", "ops")
    assert result.exit_code == 0, result.output
    token = key_lines(result)[0]
    response = client.post(
        "/api/v1/orgs",
        json={
            "slug": "salonowo",
            "legal_name": "Salonowo",
            "country": "PL",
            "contact_email": "a@salonowo.example",
        },
        headers=bearer(token),
    )
    assert response.status_code == 201
    with app.app_context():
        created = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.organization_id == 0, AuditEvent.action == "key.created"
            )
        ).one()
        assert created.after["name"] == "ops"
        assert created.after["role"] == "admin"


def test_keys_revoke(app, cli, client, world):
    org = world.org("bookero")
    token = key_lines(cli("keys", "create", "--org", "bookero", "--role", "legal"))[0]
    prefix = token.split("_")[1]
    assert client.get("/api/v1/orgs/bookero/customers", headers=bearer(token)).status_code == 200

    result = cli("keys", "revoke", prefix)
    assert result.exit_code == 0, result.output
    assert prefix in result.stdout
    assert client.get("/api/v1/orgs/bookero/customers", headers=bearer(token)).status_code == 401
    with app.app_context():
        key = db.session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).one()
        assert key.revoked_at is not None
        actions = db.session.scalars(
            select(AuditEvent.action)
            .where(
                AuditEvent.organization_id == org["id"],
                AuditEvent.entity_type == "api_key",
                AuditEvent.entity_id == str(key.id),
            )
            .order_by(AuditEvent.seq)
        ).all()
        assert actions == ["key.created", "key.revoked"]

    again = cli("keys", "revoke", prefix)
    assert again.exit_code != 0
    assert "revoked" in again.stderr
    unknown = cli("keys", "revoke", "000000000000")
    assert unknown.exit_code != 0


def test_audit_verify_intact_then_tampered(app, cli, client, world):
    org = world.org("bookero")
    legal = bearer(world.key("legal", org))
    client.patch("/api/v1/orgs/bookero", json={"dpo_name": "Anna"}, headers=legal)
    world.key("admin")

    result = cli("audit", "verify")
    assert result.exit_code == 0, result.output
    assert "deployment: ok" in result.stdout
    assert f"org {org['id']}: ok" in result.stdout
    assert "BROKEN" not in result.stdout
    assert cli("audit", "verify", "--org", "bookero").exit_code == 0

    with app.app_context():
        db.session.execute(
            text(
                "UPDATE audit_events SET actor = 'someone:else' "
                "WHERE organization_id = :org AND action = 'organization.updated'"
            ),
            {"org": org["id"]},
        )
        db.session.commit()

    result = cli("audit", "verify")
    assert result.exit_code == 1
    assert f"org {org['id']}: BROKEN" in result.stdout
    assert "deployment: ok" in result.stdout
    assert cli("audit", "verify", "--org", "bookero").exit_code == 1
    report = client.get("/api/v1/orgs/bookero/audit/verification", headers=legal).json
    assert report["ok"] is False


@pytest.mark.parametrize(
    "tamper",
    [
        'UPDATE audit_events SET after = \'{"dpo_name": "Eve"}\' WHERE seq = 2',
        "DELETE FROM audit_events WHERE seq = 2",
        "DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events"
        " WHERE organization_id = {org})",
        "UPDATE audit_events SET at = at + interval '1 second' WHERE seq = 1",
    ],
)
def test_audit_verify_catches_each_kind_of_tampering(app, cli, client, world, tamper):
    org = world.org("bookero")
    legal = bearer(world.key("legal", org))
    client.patch("/api/v1/orgs/bookero", json={"dpo_name": "Anna"}, headers=legal)
    assert cli("audit", "verify", "--org", "bookero").exit_code == 0
    with app.app_context():
        db.session.execute(
            text(tamper.replace("{org}", str(org["id"])) + f" AND organization_id = {org['id']}")
        )
        db.session.commit()
    result = cli("audit", "verify", "--org", "bookero")
    assert result.exit_code == 1, result.output


def test_audit_verify_unknown_org(cli):
    result = cli("audit", "verify", "--org", "nobody")
    # 2 is a usage error; 1 is reserved for "the trail is broken".
    assert result.exit_code == 2
    assert "nobody" in result.stderr


@pytest.mark.parametrize(
    "tamper",
    [
        "DELETE FROM audit_chains WHERE organization_id = {org}",
        "UPDATE audit_events SET organization_id = 999 WHERE organization_id = {org}",
    ],
)
def test_audit_verify_sees_events_whose_chain_head_is_gone(app, cli, world, tamper):
    org = world.org("bookero")
    assert cli("audit", "verify").exit_code == 0
    with app.app_context():
        db.session.execute(text(tamper.replace("{org}", str(org["id"]))))
        db.session.commit()
    result = cli("audit", "verify")
    assert result.exit_code == 1, result.output
    assert "BROKEN" in result.stdout


@pytest.mark.parametrize("name", ["   ", "x" * 201])
def test_keys_create_refuses_a_bad_holder_name_cleanly(app, cli, world, name):
    world.org("bookero")
    result = cli("keys", "create", "--role", "legal", "--org", "bookero", "--name", name)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert result.stdout == ""
    assert result.stderr.startswith("error:")
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM api_keys")).scalar() == 0
