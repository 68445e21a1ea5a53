"""Command line: `flask --app service orgs|keys|seed|audit ...`."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from service.audit import services as audit
from service.customers.models import Customer
from service.errors import DomainError
from service.extensions import db
from service.keys import services as keys
from service.organizations.models import Organization
from service.organizations.schemas import OrganizationCreateSchema
from service.organizations.services import create_organization

CLI_ACTOR = "cli:operator"

orgs_cli = AppGroup("orgs", help="Manage organizations (tenants).")
keys_cli = AppGroup("keys", help="Create and revoke API keys.")
seed_cli = AppGroup("seed", help="Load demo data.")
audit_cli = AppGroup("audit", help="Check the audit trail.")


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def _org(slug: str) -> Organization:
    org = db.session.scalar(select(Organization).where(Organization.slug == slug))
    if org is None:
        _fail(f"no organization '{slug}'")
    return org


@orgs_cli.command("create")
@click.option("--slug", required=True)
@click.option("--legal-name", required=True)
@click.option("--country", required=True)
@click.option("--contact-email", required=True)
@click.option("--address", default="")
@click.option("--timezone", default="Europe/Warsaw")
@click.option("--residency-policy", default="none")
def create_org(**options: str) -> None:
    """Create an organization and print its slug."""
    errors = OrganizationCreateSchema().validate(options)
    if errors:
        _fail("; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in errors.items()))
    try:
        org = create_organization(OrganizationCreateSchema().load(options), actor=CLI_ACTOR)
    except DomainError as exc:
        _fail(exc.detail)
    db.session.commit()
    click.echo(org.slug)


@keys_cli.command("create")
@click.option("--role", type=click.Choice(["admin", "legal", "customer"]), required=True)
@click.option("--org", "org_slug", help="Organization slug (legal and customer keys).")
@click.option(
    "--customer",
    "customer_ref",
    help="The customer's reference (e.g. BK-0002) or its id (customer keys).",
)
@click.option("--name", help="Holder of the key, shown as the actor in the audit trail.")
def create_key(role: str, org_slug: str | None, customer_ref: str | None, name: str | None) -> None:
    """Create a key and print it alone on stdout; it is never shown again."""
    org = _org(org_slug) if org_slug else None
    if role == "admin" and (org or customer_ref):
        _fail("an admin key is deployment-wide: give neither --org nor --customer")
    if role != "admin" and org is None:
        _fail(f"a {role} key needs --org")
    customer_id = None
    if role == "customer":
        customer_id = _customer(org, customer_ref).id
    elif customer_ref:
        _fail("--customer applies to customer keys only")
    holder = name or (f"{role}@{org.slug}" if org else role)
    try:
        _, token = keys.create_key(
            role=role,
            name=holder,
            organization_id=org.id if org else None,
            customer_id=customer_id,
            actor=CLI_ACTOR,
        )
    except DomainError as exc:
        _fail(exc.detail)
    db.session.commit()
    click.echo(token)


def _customer(org, reference: str | None) -> Customer:
    """The customer of `org` known by its reference, or else by its id; never a guess."""
    if not reference:
        _fail(f"a customer key needs --customer with a reference or id of a customer of {org.slug}")
    by_ref = db.session.scalar(
        select(Customer).where(
            Customer.organization_id == org.id, Customer.external_ref == reference
        )
    )
    by_id = db.session.get(Customer, int(reference)) if reference.isdigit() else None
    if by_id is not None and by_id.organization_id != org.id:
        by_id = None
    if by_ref is not None and by_id is not None and by_ref.id != by_id.id:
        _fail(
            f"'{reference}' is the reference of customer {by_ref.id} and the id of another "
            "customer: create this key through the API with customer_id"
        )
    found = by_ref or by_id
    if found is None:
        _fail(f"no customer of {org.slug} has the reference or id '{reference}'")
    return found


@keys_cli.command("revoke")
@click.argument("prefix")
def revoke_key(prefix: str) -> None:
    """Revoke the key whose prefix (the part after 'dpa_') is PREFIX."""
    try:
        keys.revoke_key(prefix, actor=CLI_ACTOR)
    except DomainError as exc:
        _fail(exc.detail)
    db.session.commit()
    click.echo(f"revoked {prefix}")


@seed_cli.command("demo")
def seed_demo() -> None:
    """Load the demo organizations; running it again changes nothing."""
    from service.demo.seed import seed

    created = seed(current_app.instance_path, actor="cli:seed")
    db.session.commit()
    click.echo("seeded: " + (", ".join(created) if created else "nothing new"), err=True)


@audit_cli.command("verify")
@click.option("--org", "org_slug", help="Only this organization's chain.")
@click.option(
    "--against", "digest", help="A digest e-mailed earlier: prove the chain kept its events."
)
def verify(org_slug: str | None, digest: str | None) -> None:
    """Recompute the hash chains; exit 1 if any event was altered or removed."""
    if digest is not None:
        _verify_against(digest)
    reports = [audit.verify_chain(_org(org_slug).id)] if org_slug else audit.verify_all()
    bad = False
    for report in reports:
        label = "deployment" if report.organization_id == 0 else f"org {report.organization_id}"
        if report.ok:
            click.echo(f"{label}: ok, {report.events} events")
        else:
            bad = True
            click.echo(f"{label}: BROKEN at seq {report.first_bad_seq}: {report.problem}")
    sys.exit(1 if bad else 0)


def _verify_against(token: str) -> None:
    from service.audit import digests

    result = digests.check(token)
    label = f"org {result.organization_id}" if result.organization_id else "digest"
    click.echo(f"{label}: {'ok' if result.ok else 'REWRITTEN'}: {result.detail}")
    sys.exit(0 if result.ok else 1)


def register_cli(app: Flask) -> None:
    for group in (orgs_cli, keys_cli, seed_cli, audit_cli):
        app.cli.add_command(group)
