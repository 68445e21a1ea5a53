"""Create, find and revoke API keys."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass

from flask import current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from service import clock
from service.audit import services as audit
from service.customers.models import Customer
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


class KeyCache:
    """Valid keys by prefix, each (its stored hash and principal) reused for at most
    `max_age` seconds; what was revoked or deleted meanwhile is refused after that bound.

    Only keys that authenticated are held, so a stream of unknown or wrong keys neither
    grows it nor learns anything from it (each is looked up in the database, as before);
    the presented secret is still compared with the stored hash, in constant time.
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, str, Principal]] = {}
        self._lock = threading.Lock()
        self.clock = time.monotonic  # tests move it
        # Moved by every clear: a key read before a clear is not put back after it.
        self.generation = 0

    def get(self, prefix: str, max_age: float) -> tuple[str, Principal] | None:
        found = self._entries.get(prefix) if max_age > 0 else None
        if found is not None and self.clock() - found[0] < max_age:
            return found[1], found[2]
        return None

    def put(self, prefix: str, secret_sha256: str, principal: Principal, generation: int) -> None:
        with self._lock:
            if generation != self.generation:
                return
            if len(self._entries) >= MAX_CACHED_KEYS:
                self._entries.clear()  # a crude bound; one lookup refills an entry
            self._entries[prefix] = (self.clock(), secret_sha256, principal)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()


MAX_CACHED_KEYS = 10_000
cached_keys = KeyCache()
_WROTE = "dpa_keys_wrote"


def _key_max_age() -> float:
    return float(current_app.config["KEY_CACHE_MAX_AGE_SECONDS"]) if has_app_context() else 0.0


def authenticate(token: str) -> Principal | None:
    """The principal of a valid, unrevoked key; None for anything else."""
    parts = token.split("_", 2)
    if len(parts) < 3 or parts[0] != KEY_PREFIX or not _PREFIX.fullmatch(parts[1]):
        return None
    digest = _hash(token)
    max_age = _key_max_age()
    cached = cached_keys.get(parts[1], max_age)
    if cached is not None:
        return cached[1] if hmac.compare_digest(cached[0], digest) else None
    generation = cached_keys.generation
    key = db.session.execute(select(ApiKey).where(ApiKey.prefix == parts[1])).scalar_one_or_none()
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.secret_sha256, digest):
        return None
    principal = Principal(
        key.id, key.name, key.role, key.organization_id, key.customer_id, prefix=key.prefix
    )
    if max_age > 0:
        cached_keys.put(key.prefix, key.secret_sha256, principal, generation)
    return principal


# A process that commits any write forgets every key it holds, after the commit: a key it
# revoked (or deleted, with its customer or organization, by cascade) is refused at once
# here, and by every other process within KEY_CACHE_MAX_AGE_SECONDS.
@event.listens_for(Session, "after_flush")
def _note_write(session: Session, _context: object) -> None:
    if session.new or session.dirty or session.deleted:
        session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _note_statement(state) -> None:
    if not state.is_select:
        session = state.session
        session.info[_WROTE] = True


@event.listens_for(Session, "after_commit")
def _forget_keys(session: Session) -> None:
    if session.info.pop(_WROTE, False):
        cached_keys.clear()


def revoke_key(prefix: str, *, actor: str, organization_id: int | None = None) -> ApiKey:

    stmt = select(ApiKey).where(ApiKey.prefix == prefix)
    if organization_id is not None:
        stmt = stmt.where(ApiKey.organization_id == organization_id)
    key = db.session.execute(stmt).scalar_one_or_none()
    if key is None:
        raise NotFound("No such key.")
    if key.revoked_at is not None:
        raise Conflict("The key is already revoked.")
    key.revoked_at = clock.now()
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
