"""Create, find and revoke API keys."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select

from service.audit import services as audit
from service.customers.models import Customer
from service.db_types import utcnow
from service.errors import Conflict, NotFound, ValidationFailed
from service.extensions import db
from service.keys.models import ROLES, ApiKey

KEY_PREFIX = "dpa"
_PREFIX = re.compile(r"[0-9a-f]{12}")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the holder a key is named after is the audit actor."""

    key_id: int | None
    name: str
    role: str
    organization_id: int | None
    customer_id: int | None

    prefix: str | None = None

    @property
    def actor(self) -> str:
        # Names need not be unique; the key prefix tells two holders of one name apart.
        suffix = f" [{self.prefix}]" if self.prefix else ""
        return f"{self.role}:{self.name}{suffix}"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(
    *,
    role: str,
    name: str,
    organization_id: int | None = None,
    customer_id: int | None = None,
    actor: str,
) -> tuple[ApiKey, str]:
    """Make a key; the plaintext is returned once and never stored."""

    if role not in ROLES:
        raise ValidationFailed("Unknown role.", errors={"role": [f"One of {', '.join(ROLES)}."]})
    if not name.strip():
        raise ValidationFailed("A key is named after its holder.", errors={"name": ["Required."]})
    if len(name.strip()) > 200:
        raise ValidationFailed(
            "The holder's name is too long.", errors={"name": ["At most 200 characters."]}
        )
    _check_scope(role, organization_id, customer_id)
    # The prefix is public (it finds the row); the secret has 256 bits of entropy, so a fast
    # hash is enough and no slow KDF runs on every request.
    prefix = secrets.token_hex(6)
    token = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        prefix=prefix,
        secret_sha256=_hash(token),
        name=name.strip(),
        role=role,
        organization_id=organization_id,
        customer_id=customer_id,
    )
    db.session.add(key)
    db.session.flush()
    audit.record(
        organization_id,
        actor,
        "key.created",
        "api_key",
        key.id,
        after={"prefix": prefix, "name": key.name, "role": role, "customer_id": customer_id},
    )
    return key, token


def _check_scope(role: str, organization_id: int | None, customer_id: int | None) -> None:
    """An admin key is deployment-wide, a legal key belongs to one organization, a customer
    key to one customer of that organization; a mismatch is refused, never stored."""
    if role == "admin":
        if organization_id is not None or customer_id is not None:
            raise ValidationFailed(
                "An admin key is deployment-wide.",
                errors={"organization_id": ["An admin key belongs to no organization."]},
            )
        return
    if organization_id is None:
        raise ValidationFailed(
            f"A {role} key belongs to an organization.",
            errors={"organization_id": ["Required."]},
        )
    if role == "legal":
        if customer_id is not None:
            raise ValidationFailed(
                "Only customer keys belong to a customer.",
                errors={"customer_id": ["Only customer keys belong to a customer."]},
            )
        return
    owner = (
        db.session.scalar(select(Customer.organization_id).where(Customer.id == customer_id))
        if customer_id is not None
        else None
    )
    if owner is None or owner != organization_id:
        raise ValidationFailed(
            "A customer key belongs to a customer of its organization.",
            errors={"customer_id": ["No such customer in this organization."]},
        )


def authenticate(token: str) -> Principal | None:
    """The principal of a valid, unrevoked key; None for anything else."""
    parts = token.split("_", 2)
    if len(parts) < 3 or parts[0] != KEY_PREFIX or not _PREFIX.fullmatch(parts[1]):
        return None
    key = db.session.execute(select(ApiKey).where(ApiKey.prefix == parts[1])).scalar_one_or_none()
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.secret_sha256, _hash(token)):
        return None
    return Principal(
        key.id, key.name, key.role, key.organization_id, key.customer_id, prefix=key.prefix
    )


def revoke_key(prefix: str, *, actor: str, organization_id: int | None = None) -> ApiKey:

    stmt = select(ApiKey).where(ApiKey.prefix == prefix)
    if organization_id is not None:
        stmt = stmt.where(ApiKey.organization_id == organization_id)
    key = db.session.execute(stmt).scalar_one_or_none()
    if key is None:
        raise NotFound("No such key.")
    if key.revoked_at is not None:
        raise Conflict("The key is already revoked.")
    key.revoked_at = utcnow()
    audit.record(
        key.organization_id,
        actor,
        "key.revoked",
        "api_key",
        key.id,
        before={"revoked_at": None},
        after={"revoked_at": key.revoked_at},
    )
    return key
