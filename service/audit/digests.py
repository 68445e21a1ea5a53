"""The audit chain's head, anchored outside the database.

Anyone who can write to the database can rewrite events and recompute every hash after
them, head included: the chain then verifies. A digest (organization, sequence number, head
hash, event count, time), signed with SECRET_KEY, is therefore e-mailed to the
organization's legal contact once a day when the chain moved, recorded in the chain and
carried by the Art. 30(2) record's exports. `flask audit verify --against DIGEST` checks a
digest kept outside (the e-mail) against the chain as it now stands: an event up to the
digest's sequence number that was rewritten, inserted or deleted changes the hash found at
that number, however carefully the chain after it was recomputed.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from service import clock
from service.audit import services as audit
from service.audit.models import AuditEvent
from service.config import signing_keys
from service.extensions import db
from service.organizations.models import Organization
from service.outbox import services as outbox

SALT = "dpa-registry/audit-digest"
DIGEST_ACTION = "audit.digest"
ACTOR = "system:audit-digest"


@dataclass
class DigestCheck:
    organization_id: int | None
    ok: bool
    detail: str


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(signing_keys(current_app.config), salt=SALT)


def latest(organization_id: int) -> dict | None:
    """The newest digest recorded in the organization's chain (what exports carry)."""
    return db.session.scalar(
        select(AuditEvent.after)
        .where(
            AuditEvent.organization_id == organization_id,
            AuditEvent.entity_type == audit.CHECKPOINT_ENTITY,
            AuditEvent.action == DIGEST_ACTION,
        )
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )


def issue(org: Organization) -> dict | None:
    """Sign the head of `org`'s chain, record it and mail it to legal staff; None when
    nothing but the previous digest was recorded since (flush only; the caller commits)."""
    seq, head = audit.locked_head(org.id)
    previous = latest(org.id)
    if seq == 0 or (previous is not None and previous["seq"] + 1 == seq):
        return None
    digest = {
        "organization": org.slug,
        "seq": seq,
        "head": head,
        "count": audit.count_events(org.id),
        "issued_at": clock.now().isoformat(timespec="seconds"),
    }
    digest["digest"] = _serializer().dumps({"o": org.id, **digest})
    audit.record(org.id, ACTOR, DIGEST_ACTION, audit.CHECKPOINT_ENTITY, org.id, after=digest)
    outbox.enqueue("alert.legal", {"kind": "audit_digest", **digest}, org.id)
    return digest


def check(token: str) -> DigestCheck:
    """Whether the chain as it stands still holds what the digest `token` saw."""
    try:
        data = _serializer().loads(token.strip())
        org_id, seq, head = int(data["o"]), int(data["seq"]), str(data["head"])
    except (BadSignature, KeyError, TypeError, ValueError):
        return DigestCheck(None, False, "not a digest signed by this deployment")
    report = audit.verify_chain(org_id)
    if not report.ok:
        return DigestCheck(org_id, False, f"chain broken at seq {report.first_bad_seq}")
    found = db.session.scalar(
        select(AuditEvent.hash).where(AuditEvent.organization_id == org_id, AuditEvent.seq == seq)
    )
    if found is None:
        return DigestCheck(org_id, False, f"event {seq} of the digest is gone")
    if found != head:
        return DigestCheck(
            org_id,
            False,
            f"rewritten after the digest of {data.get('issued_at')}: event {seq} no longer "
            "has the hash the digest recorded",
        )
    return DigestCheck(org_id, True, f"events 1 to {seq} are those of the digest")
