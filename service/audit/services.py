"""Write and verify the audit trail. Every domain write calls `record` in its transaction."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import event, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.audit.models import AuditChain, AuditEvent
from service.db_types import utcnow
from service.extensions import db

DEPLOYMENT_CHAIN = 0


def jsonable(value: object) -> object:
    """Make a value JSON-safe the same way every time, so stored data equals hashed data."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=json.dumps) if isinstance(value, set | frozenset) else items
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _digest(event) -> str:
    body = {
        "organization_id": event.organization_id,
        "seq": event.seq,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "before": event.before,
        "after": event.after,
        "prev_hash": event.prev_hash,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


_LOCKED_KEY = "dpa_audit_locked_chains"


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_locked_chains(session: Session) -> None:
    session.info.pop(_LOCKED_KEY, None)


@event.listens_for(Session, "before_commit")
def _move_heads(session: Session) -> None:
    """Move each touched chain's head once per transaction, to its newest event."""
    for organization_id in session.info.get(_LOCKED_KEY, ()):
        newest = _newest(organization_id, session)
        session.execute(
            update(AuditChain)
            .where(AuditChain.organization_id == organization_id)
            .values(seq=newest[0], head=newest[1])
        )


def _newest(organization_id: int, session: Session | None = None) -> tuple[int, str]:
    """(seq, hash) of the chain's newest event: one index lookup on (organization, seq)."""
    row = (session or db.session).execute(
        select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.organization_id == organization_id)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    return (row.seq, row.hash) if row else (0, "")


def _lock_chain(organization_id: int) -> None:
    """Row-lock the chain head until the transaction ends, once per transaction.

    The lock serialises writers per chain, so the chain never forks. The head row is
    updated only at commit: updating it for every event of a bulk import made PostgreSQL
    walk an ever longer chain of row versions in that one transaction.
    """
    locked = db.session.info.setdefault(_LOCKED_KEY, set())
    if organization_id in locked:
        return
    stmt = select(AuditChain.organization_id).where(
        AuditChain.organization_id == organization_id
    )
    if db.session.execute(stmt.with_for_update()).first() is None:
        try:
            with db.session.begin_nested():
                db.session.add(AuditChain(organization_id=organization_id, seq=0, head=""))
        except IntegrityError:
            pass  # another transaction created it first; lock theirs below
        db.session.execute(stmt.with_for_update()).one()
    db.session.info.setdefault(_LOCKED_KEY, set()).add(organization_id)


def record(
    organization_id: int | None,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: object,
    *,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    """Append one event to the organization's chain (flush only; the caller commits)."""
    chain_id = DEPLOYMENT_CHAIN if organization_id is None else organization_id
    _lock_chain(chain_id)
    # Read from the events themselves, so a rolled-back savepoint can never leave a gap.
    seq, head = _newest(chain_id)
    event = AuditEvent(
        organization_id=chain_id,
        seq=seq + 1,
        at=utcnow(),
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None,
        prev_hash=head,
    )
    event.hash = _digest(event)
    db.session.add(event)
    db.session.flush()
    return event


def changed(before: dict, after: dict) -> tuple[dict, dict]:
    """Keep only the keys whose value changed, for compact update events."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


@dataclass(frozen=True)
class ChainReport:
    organization_id: int
    events: int
    ok: bool
    problem: str | None = None
    first_bad_seq: int | None = None


def _events(organization_id: int, batch: int = 5000) -> Iterator:
    """Yield plain rows in seq order, a batch at a time (no ORM identity map growth)."""
    table = AuditEvent.__table__
    last = 0
    while True:
        rows = db.session.execute(
            select(table)
            .where(table.c.organization_id == organization_id, table.c.seq > last)
            .order_by(table.c.seq)
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify_chain(organization_id: int) -> ChainReport:
    """Recompute the chain: any edited, inserted or deleted event breaks it."""
    head = db.session.get(AuditChain, organization_id)
    expected_prev = ""
    expected_seq = 1
    count = 0
    for row in _events(organization_id):
        count += 1
        if row.seq != expected_seq:
            return ChainReport(
                organization_id, count, False, f"event {expected_seq} is missing", expected_seq
            )
        if row.prev_hash != expected_prev:
            return ChainReport(
                organization_id, count, False, "link to previous event broken", row.seq
            )
        if _digest(row) != row.hash:
            return ChainReport(organization_id, count, False, "event content altered", row.seq)
        expected_prev = row.hash
        expected_seq += 1
    head_seq = head.seq if head else 0
    head_hash = head.head if head else ""
    if head_seq != count or head_hash != expected_prev:
        # Deleting the newest events leaves a consistent chain; the head catches it.
        return ChainReport(
            organization_id, count, False, "events after the last one were deleted", count + 1
        )
    return ChainReport(organization_id, count, True)


def verify_all() -> list[ChainReport]:
    # Events whose chain head was deleted must still be checked (and then fail), so take
    # the chains named by events as well as those with a head.
    ids = set(db.session.scalars(select(AuditChain.organization_id)))
    ids.update(db.session.scalars(select(AuditEvent.organization_id).distinct()))
    return [verify_chain(i) for i in sorted(ids)]


def count_events(organization_id: int) -> int:
    return db.session.scalar(
        select(func.count()).where(AuditEvent.organization_id == organization_id)
    )
