"""Write and verify the audit trail. Every domain write calls `record` in its transaction."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

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


def _locked_chain(organization_id: int) -> AuditChain:
    stmt = select(AuditChain).where(AuditChain.organization_id == organization_id)
    chain = db.session.execute(stmt.with_for_update()).scalar_one_or_none()
    if chain is not None:
        return chain
    try:
        with db.session.begin_nested():
            db.session.add(AuditChain(organization_id=organization_id, seq=0, head=""))
    except IntegrityError:
        pass  # another transaction created it first; lock theirs below
    return db.session.execute(stmt.with_for_update()).scalar_one()


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
    chain = _locked_chain(chain_id)
    event = AuditEvent(
        organization_id=chain_id,
        seq=chain.seq + 1,
        # Truncated to microseconds, which both databases keep, so the hash survives a reload.
        at=utcnow(),
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None,
        prev_hash=chain.head,
    )
    event.hash = _digest(event)
    chain.seq = event.seq
    chain.head = event.hash
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
    for event in _events(organization_id):
        count += 1
        if event.seq != expected_seq:
            return ChainReport(
                organization_id, count, False, f"event {expected_seq} is missing", expected_seq
            )
        if event.prev_hash != expected_prev:
            return ChainReport(
                organization_id, count, False, "link to previous event broken", event.seq
            )
        if _digest(event) != event.hash:
            return ChainReport(organization_id, count, False, "event content altered", event.seq)
        expected_prev = event.hash
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
