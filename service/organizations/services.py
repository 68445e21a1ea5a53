"""Create and edit organizations and their services."""

from __future__ import annotations

from sqlalchemy import select

from service.audit import services as audit
from service.errors import Conflict, ValidationFailed
from service.extensions import db
from service.organizations.models import Organization, Service

ORG_FIELDS = (
    "slug",
    "legal_name",
    "display_name",
    "address",
    "country",
    "contact_email",
    "legal_contact_email",
    "dpo_name",
    "dpo_email",
    "representative_name",
    "representative_email",
    "security_measures",
    "retention_policy",
    "retention_years",
    "retention_from",
    "timezone",
    "default_notice_days",
    "default_objection_days",
    "residency_policy",
)


def snapshot(org: Organization) -> dict:
    return {name: getattr(org, name) for name in ORG_FIELDS}


def create_organization(data: dict, *, actor: str) -> Organization:
    exists = db.session.scalar(select(Organization.id).where(Organization.slug == data["slug"]))
    if exists:
        raise Conflict(f"Organization '{data['slug']}' exists.", errors={"slug": ["Taken."]})
    org = Organization(**data)
    db.session.add(org)
    db.session.flush()
    # Creation is recorded twice: in the deployment chain (who created tenants) and as the
    # first event of the organization's own chain.
    audit.record(None, actor, "organization.created", "organization", org.id, after=snapshot(org))
    audit.record(org.id, actor, "organization.created", "organization", org.id, after=snapshot(org))
    return org


def update_organization(org: Organization, data: dict, *, actor: str) -> Organization:
    before = snapshot(org)
    for name, value in data.items():
        setattr(org, name, value)
    old, new = audit.changed(before, snapshot(org))
    if new:
        audit.record(
            org.id, actor, "organization.updated", "organization", org.id, before=old, after=new
        )
    return org


def create_service(org: Organization, data: dict, *, actor: str) -> Service:
    exists = db.session.scalar(
        select(Service.id).where(Service.organization_id == org.id, Service.slug == data["slug"])
    )
    if exists:
        raise Conflict(f"Service '{data['slug']}' exists.", errors={"slug": ["Taken."]})
    svc = Service(organization_id=org.id, **data)
    db.session.add(svc)
    db.session.flush()
    audit.record(org.id, actor, "service.created", "service", svc.id, after=data)
    return svc


def resolve_services(org: Organization, slugs: list[str], field: str = "services") -> list[Service]:
    """Map service slugs to the organization's services; unknown ones are a field error."""
    if not slugs:
        return []
    found = db.session.scalars(
        select(Service).where(Service.organization_id == org.id, Service.slug.in_(slugs))
    ).all()
    by_slug = {s.slug: s for s in found}
    unknown = [s for s in dict.fromkeys(slugs) if s not in by_slug]
    if unknown:
        raise ValidationFailed(
            "Unknown service.",
            errors={field: [f"Unknown service '{s}' of {org.slug}." for s in unknown]},
        )
    return [by_slug[s] for s in dict.fromkeys(slugs)]
