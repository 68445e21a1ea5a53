"""Write and verify the audit trail. Every domain write calls `record` in its transaction."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import Row, event, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service import clock
from service.audit.models import AuditChain, AuditEvent
from service.errors import Conflict
from service.extensions import db

DEPLOYMENT_CHAIN = 0
# The event a retention purge records before it pseudonymises earlier events: the seals
# that let verification accept exactly those rewrites and nothing else.
CHECKPOINT_ACTION = "audit.checkpoint"
CHECKPOINT_ENTITY = "audit_chain"


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


def _digest(event, sealed_from: str | None = None) -> str:
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
    if sealed_from is not None:
        # The seal of a redacted event binds its new content to the hash it replaced.
        body["sealed_from"] = sealed_from
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
        # Read from the events in the UPDATE itself: one round trip per chain, not two.
        newest = _newest_query(organization_id)
        session.execute(
            update(AuditChain)
            .where(AuditChain.organization_id == organization_id)
            .values(
                seq=func.coalesce(newest.with_only_columns(AuditEvent.seq).scalar_subquery(), 0),
                head=func.coalesce(newest.with_only_columns(AuditEvent.hash).scalar_subquery(), ""),
            )
        )


def _newest_query(organization_id: int):
    return (
        select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.organization_id == organization_id)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )


def _newest(organization_id: int) -> tuple[int, str]:
    """(seq, hash) of the chain's newest event: one index lookup on (organization, seq)."""
    row = db.session.execute(_newest_query(organization_id)).first()
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
    stmt = select(AuditChain.organization_id).where(AuditChain.organization_id == organization_id)
    if db.session.execute(stmt.with_for_update()).first() is None:
        try:
            with db.session.begin_nested():
                db.session.add(AuditChain(organization_id=organization_id, seq=0, head=""))
        except IntegrityError:
            pass  # another transaction created it first; lock theirs below
        db.session.execute(stmt.with_for_update()).one()
    db.session.info.setdefault(_LOCKED_KEY, set()).add(organization_id)


def locked_head(organization_id: int) -> tuple[int, str]:
    """(seq, hash) of the chain's newest event, with the chain locked until the commit."""
    _lock_chain(organization_id)
    return _newest(organization_id)


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
        at=clock.now(),
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


def events(organization_id: int, batch: int = 5000) -> Iterator:
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


def _seals(organization_id: int) -> dict[int, tuple[int, str, str]]:
    """seq -> (checkpoint seq, original hash, sealed hash) of every event a checkpoint lists.

    Read before the walk; each checkpoint is itself checked when the walk reaches it, so a
    forged or edited list breaks the chain there. A later checkpoint supersedes an earlier
    one for the same event (redacted twice).
    """
    seals: dict[int, tuple[int, str, str]] = {}
    rows = db.session.execute(
        select(AuditEvent.seq, AuditEvent.after)
        .where(
            # The entity columns are indexed; checkpoints are about the chain itself.
            AuditEvent.organization_id == organization_id,
            AuditEvent.entity_type == CHECKPOINT_ENTITY,
            AuditEvent.entity_id == str(organization_id),
            AuditEvent.action == CHECKPOINT_ACTION,
        )
        .order_by(AuditEvent.seq)
    )
    for seq, after in rows:
        try:
            for item in after["redacted"]:
                seals[int(item["seq"])] = (seq, str(item["hash"]), str(item["sealed_hash"]))
        except (KeyError, TypeError, ValueError):
            continue  # an altered checkpoint: its own content check fails
    return seals


def _seal_problem(row, seal: tuple[int, str, str] | None) -> str | None:
    """Why a redacted event is not one a recorded checkpoint accounts for, or None."""
    if seal is None or row.action == CHECKPOINT_ACTION:
        return "event marked redacted without a checkpoint that lists it"
    checkpoint_seq, original, sealed = seal
    if checkpoint_seq <= row.seq or original != row.hash:
        return "redacted event does not match its checkpoint"
    if row.sealed_hash != sealed or _digest(row, sealed_from=row.hash) != sealed:
        return "redacted event altered after its checkpoint"
    return None


def verify_chain(organization_id: int) -> ChainReport:
    """Recompute the chain: any edited, inserted or deleted event breaks it.

    An event pseudonymised by a retention purge keeps its original `hash`, so every link
    still holds; its content is checked against the seal that the purge's checkpoint event
    recorded instead of against that hash. Nothing else may differ from its hash.
    """
    head = db.session.get(AuditChain, organization_id)
    seals = _seals(organization_id)
    expected_prev = ""
    expected_seq = 1
    count = 0
    for row in events(organization_id):
        count += 1
        if row.seq != expected_seq:
            return ChainReport(
                organization_id, count, False, f"event {expected_seq} is missing", expected_seq
            )
        if row.prev_hash != expected_prev:
            return ChainReport(
                organization_id, count, False, "link to previous event broken", row.seq
            )
        if row.redacted_at is None and row.sealed_hash is None:
            if _digest(row) != row.hash:
                return ChainReport(organization_id, count, False, "event content altered", row.seq)
        elif problem := _seal_problem(row, seals.get(row.seq)):
            return ChainReport(organization_id, count, False, problem, row.seq)
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


def redact(
    organization_id: int, rewrite: Callable[[Row], dict | None], *, actor: str, reason: str
) -> AuditEvent | None:
    """Replace the content of past events and keep the chain verifiable.

    `rewrite` gets each event (a plain row) and returns the new `actor`, `entity_id`,
    `before` and `after` (those it changes), or None to leave it. Under the chain's lock the
    chain must verify first: a redaction never launders earlier tampering. Then an
    `audit.checkpoint` event records, for each event rewritten, its original hash and the
    seal (digest) of its new content, and the events are rewritten, keeping their `hash`.
    Call it before recording anything else in the transaction (the check compares the
    stored head). Returns the checkpoint, or None when nothing changed.
    """
    _lock_chain(organization_id)
    report = verify_chain(organization_id)
    if not report.ok:
        raise Conflict(
            f"The audit chain is broken at event {report.first_bad_seq} ({report.problem}); "
            "nothing is redacted over it."
        )
    rewrites: dict[int, dict] = {}
    for row in events(organization_id):
        changes = None if row.action == CHECKPOINT_ACTION else rewrite(row)
        if not changes:
            continue
        new = {**row._asdict(), **{k: jsonable(v) for k, v in changes.items()}}
        if all(new[k] == getattr(row, k) for k in changes):
            continue
        new["sealed_hash"] = _digest(SimpleNamespace(**new), sealed_from=row.hash)
        rewrites[row.seq] = new
    if not rewrites:
        return None
    checkpoint = record(
        organization_id,
        actor,
        CHECKPOINT_ACTION,
        CHECKPOINT_ENTITY,
        organization_id,
        after={
            "reason": reason,
            "verified_through": report.events,
            "redacted": [
                {"seq": seq, "hash": new["hash"], "sealed_hash": new["sealed_hash"]}
                for seq, new in rewrites.items()
            ],
        },
    )
    now = clock.now()
    for seq, new in rewrites.items():
        db.session.execute(
            update(AuditEvent)
            .where(AuditEvent.organization_id == organization_id, AuditEvent.seq == seq)
            .values(
                actor=new["actor"],
                entity_id=new["entity_id"],
                before=new["before"],
                after=new["after"],
                redacted_at=now,
                sealed_hash=new["sealed_hash"],
            )
            .execution_options(synchronize_session=False)
        )
    return checkpoint


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
